/**
 * Monitors of one node (OTP's `monitor/2`, `demonitor/2`): monitors owned by processes or by
 * handlers (code outside any process, e.g. a call), monitors of remote processes, and the
 * `DOWN` they produce. A monitor is one object shared by its owner's and its target's tables.
 */
import { Pid, type Ref } from './pid.js';
import { ProcessExited, type MonitorHandler, type MonitorTarget } from './process.js';
import { reasonFromThrown, type DownMessage, type ExitReason } from './reason.js';
import type { Kernel } from './internal/kernel.js';
import { ProcessRecord, type CallMonitor, type Monitor } from './internal/process.js';
import type { Registry } from './registry.js';

/** The monitors of one node. */
export class Monitors {
  /** Monitors whose owner is a handler (not a process), by ref. */
  private readonly handlerMonitors = new Map<Ref, Monitor>();
  /** Monitors on processes of other nodes, by the id of their (local) ref. */
  private readonly remoteMonitors = new Map<number, Monitor>();
  /** Called with every local process that exits (`Node.onLocalExit`). */
  readonly exitObservers: Array<(pid: Pid, reason: ExitReason) => void> = [];

  constructor(
    private readonly kernel: Kernel,
    private readonly registry: Registry,
  ) {}

  /** Creates a monitor owned by a process or a handler (OTP's `monitor(process, Target)`). */
  monitor(owner: ProcessRecord | MonitorHandler, target: MonitorTarget, ref: Ref): Ref {
    const k = this.kernel;
    let object: Pid | readonly [string, string];
    let proc: ProcessRecord | undefined;
    if (target instanceof Pid) {
      object = target;
      if (target.node !== k.name) {
        this.remoteMonitor(owner, ref, target);
        return ref;
      }
      proc = k.local(target);
    } else if (typeof target === 'string') {
      object = [target, k.name];
      proc = this.registry.lookup(target);
    } else {
      object = target;
      if (target[1] !== k.name) {
        this.remoteMonitor(owner, ref, target);
        return ref;
      }
      proc = this.registry.lookup(target[0]);
    }
    if (proc === undefined) {
      this.deliverDown(owner, ref, object, 'noproc');
      return ref;
    }
    const m: Monitor = { ref, owner, target: proc.pid, object };
    (proc._monitoredBy ??= new Map()).set(ref, m);
    if (owner instanceof ProcessRecord) (owner._monitors ??= new Map()).set(ref, m);
    else this.handlerMonitors.set(ref, m);
    return ref;
  }

  /**
   * The monitor of a call (gen's request) on a local target: linked into the target's `_calls`
   * list, in no Map (neither the handler table nor the target's `_monitoredBy`), and removed
   * with `dropCallMonitor`. It fires like any monitor when the target exits. Returns undefined
   * when the monitor is not local (or fired at once); the caller then falls back to
   * `demonitor(ref)`.
   */
  monitorForCall(owner: MonitorHandler, target: Pid | readonly [string, string], ref: Ref): CallMonitor | undefined {
    const k = this.kernel;
    let proc: ProcessRecord | undefined;
    if (target instanceof Pid) {
      if (target.node !== k.name) {
        this.monitor(owner, target, ref);
        return undefined;
      }
      proc = k.local(target);
    } else {
      if (target[1] !== k.name) {
        this.monitor(owner, target, ref);
        return undefined;
      }
      proc = this.registry.lookup(target[0]);
    }
    if (proc === undefined) {
      this.deliverDown(owner, ref, target, 'noproc');
      return undefined;
    }
    const head = proc._calls;
    const m: CallMonitor = { ref, owner, target: proc.pid, object: target, prev: null, next: head };
    if (head !== null) head.prev = m;
    proc._calls = m;
    return m;
  }

  /** Removes a monitor made by `monitorForCall` (nothing if it already fired). */
  dropCallMonitor(m: CallMonitor): void {
    const prev = m.prev;
    const next = m.next;
    if (prev !== null) prev.next = next;
    else {
      const proc = this.kernel.local(m.target);
      if (proc === undefined || proc._calls !== m) return; // not linked: fired, or the target is gone
      proc._calls = next;
    }
    if (next !== null) next.prev = prev;
    m.prev = m.next = null;
  }

  /** Removes a monitor by ref (owned by `owner`, or by a handler); false if it was not active. */
  demonitor(ref: Ref, owner: ProcessRecord | undefined): boolean {
    const m = owner !== undefined ? owner._monitors?.get(ref) : this.handlerMonitors.get(ref);
    if (m === undefined) return false;
    this.drop(m);
    if (m.target.node !== this.kernel.name) this.kernel.router.demonitor(this.ownerPid(m.owner), m.object, ref);
    return true;
  }

  /** A remote process monitors a local target (see `RemoteHost.acceptMonitor`). */
  acceptRemote(owner: MonitorHandler, target: Pid | readonly [string, string], ref: Ref): void {
    const proc = target instanceof Pid ? this.kernel.local(target) : this.registry.lookup(target[0]);
    if (proc === undefined) {
      owner.onDown(ref, 'noproc', target);
      return;
    }
    const m: Monitor = { ref, owner, target: proc.pid, object: target };
    (proc._monitoredBy ??= new Map()).set(ref, m);
    this.handlerMonitors.set(ref, m);
  }

  /** A remote monitored process went down (or was never there). */
  remoteDown(ref: Ref, reason: ExitReason): void {
    if (ref.node !== this.kernel.name || ref.creation !== this.kernel.creation) return;
    const m = this.remoteMonitors.get(ref.id);
    if (m !== undefined) this.fire(m, reason);
  }

  /** The peer ended a monitor this node holds on one of its processes: forget it without telling the peer. */
  remoteEnded(ref: Ref): void {
    if (ref.node !== this.kernel.name || ref.creation !== this.kernel.creation) return;
    const m = this.remoteMonitors.get(ref.id);
    if (m !== undefined) this.drop(m);
  }

  /** `node` went down: every monitor on its processes fires `noconnection`. */
  nodeDown(node: string): void {
    for (const m of [...this.remoteMonitors.values()]) if (m.target.node === node) this.fire(m, 'noconnection');
  }

  /** `p` exited with `reason`: its own monitors end, and its watchers get `DOWN`. */
  exited(p: ProcessRecord, reason: ExitReason): void {
    const k = this.kernel;
    const owned = p._monitors;
    p._monitors = null;
    if (owned !== null) {
      for (const m of owned.values()) {
        if (m.target.node === k.name) k.local(m.target)?._monitoredBy?.delete(m.ref);
        else {
          this.remoteMonitors.delete(m.ref.id);
          k.router.demonitor(p.pid, m.object, m.ref);
        }
      }
    }
    // The node's exit observers (`Node.onLocalExit`) before any DOWN: a service that follows
    // the process (global drops its names) has done so when its watchers hear of the death.
    const observers = this.exitObservers;
    for (let i = 0; i < observers.length; i++) {
      try {
        observers[i]!(p.pid, reason);
      } catch (e) {
        this.kernel.report({ kind: 'node', message: 'an exit observer threw', reason: reasonFromThrown(e) });
      }
    }
    const watchers = p._monitoredBy;
    p._monitoredBy = null;
    if (watchers !== null) {
      for (const m of watchers.values()) {
        if (m.owner instanceof ProcessRecord) m.owner._monitors?.delete(m.ref);
        else this.handlerMonitors.delete(m.ref);
        this.deliverDown(m.owner, m.ref, m.object, reason);
      }
    }
    // Calls in flight, oldest first; all are unlinked before the first DOWN goes out (their
    // abandon then finds nothing to drop).
    if (p._calls !== null) {
      const calls: CallMonitor[] = [];
      for (let m: CallMonitor | null = p._calls; m !== null; m = m.next) calls.push(m);
      p._calls = null;
      for (let i = calls.length - 1; i >= 0; i--) {
        const m = calls[i]!;
        m.prev = m.next = null;
      }
      for (let i = calls.length - 1; i >= 0; i--) {
        const m = calls[i]!;
        this.deliverDown(m.owner, m.ref, m.object, reason);
      }
    }
  }

  /** The node stopped: every handler's monitor is told with `reason` (pending calls fail). */
  abortHandlers(reason: ExitReason): void {
    for (const h of [...this.handlerMonitors.values()]) {
      this.handlerMonitors.delete(h.ref);
      (h.owner as MonitorHandler).onDown(h.ref, reason, h.object);
    }
  }

  private remoteMonitor(owner: ProcessRecord | MonitorHandler, ref: Ref, target: Pid | readonly [string, string]): void {
    const pid = target instanceof Pid ? target : new Pid(target[1], 0, 0);
    const m: Monitor = { ref, owner, target: pid, object: target };
    if (owner instanceof ProcessRecord) (owner._monitors ??= new Map()).set(ref, m);
    else this.handlerMonitors.set(ref, m);
    this.remoteMonitors.set(ref.id, m);
    this.kernel.router.monitor(this.ownerPid(owner), target, ref);
  }

  private drop(m: Monitor): void {
    // Emptied tables are kept: a server that is called keeps being monitored and demonitored,
    // and a fresh Map per call would cost more than the table.
    if (m.owner instanceof ProcessRecord) m.owner._monitors?.delete(m.ref);
    else this.handlerMonitors.delete(m.ref);
    if (m.target.node === this.kernel.name) this.kernel.local(m.target)?._monitoredBy?.delete(m.ref);
    else this.remoteMonitors.delete(m.ref.id);
  }

  private fire(m: Monitor, reason: ExitReason): void {
    this.drop(m);
    this.deliverDown(m.owner, m.ref, m.object, reason);
  }

  /** Delivers a `DOWN`: a message to a process, a call to a handler. */
  deliverDown(owner: ProcessRecord | MonitorHandler, ref: Ref, object: Pid | readonly [string, string], reason: ExitReason): void {
    if (owner instanceof ProcessRecord) {
      owner._deliver({ tag: 'DOWN', ref, type: 'process', object, reason } satisfies DownMessage);
      return;
    }
    try {
      owner.onDown(ref, reason, object);
    } catch (e) {
      // A handler's bug must not break the signalling of everyone else.
      if (!(e instanceof ProcessExited)) this.kernel.report({ kind: 'node', message: 'a monitor handler threw', reason: reasonFromThrown(e) });
    }
  }

  private ownerPid(owner: ProcessRecord | MonitorHandler): Pid {
    return owner instanceof ProcessRecord ? owner.pid : this.kernel.systemPid;
  }
}
