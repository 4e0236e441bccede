/**
 * A node: one runtime instance with its own process table, scheduler and timers — its
 * identity, spawn, send, lifecycle and the façade users call.
 *
 * Several nodes can live in one OS process; nothing here is a module-level singleton. The
 * node's other roles live in parts of their own, each handed the node's `Kernel`:
 * `links.ts` (links and exit signals, spec §a.2), `monitors.ts` (monitors and `DOWN`),
 * `registry.ts` (registered names and aliases). Anything addressed to another node goes
 * through the `RemoteRouter` seam, and the network reaches the node only through the
 * `RemoteHost` that `attach` returns (remote.ts; DESIGN §1).
 */
import { ApplicationController } from './application_controller.js';
import { RealClock, type Clock } from './clock.js';
import { coreError, RigilError } from './errors.js';
import { writeReport, type Report, type ReportHandler } from './logger.js';
import { Links } from './links.js';
import { Monitors } from './monitors.js';
import { Pid, Ref } from './pid.js';
import { cryptoRandom, type Random } from './random.js';
import {
  ProcessExited,
  type AliasHandler,
  type Destination,
  type MonitorHandler,
  type MonitorTarget,
  type Process,
  type ProcessFunction,
  type SpawnOptions,
} from './process.js';
import { isQuietReason, reasonFromThrown, type ExitReason } from './reason.js';
import { Registry } from './registry.js';
import type { RemoteHost, RemoteRouter } from './remote.js';
import { Scheduler } from './scheduler.js';
import { TimerService, type Timer } from './timer.js';
import type { Kernel } from './internal/kernel.js';
import { ProcessRecord, type BehaviourLoop } from './internal/process.js';

declare module './process.js' {
  /** `self.node` (and every `NodeType` below node.ts) is this module's `Node`. */
  interface NodeRegister {
    node: Node;
  }
}

/**
 * The seam through which gen_server reaches the cluster-wide name registry for
 * `{ global: name }` server names (implemented by @rigil/net's `global`).
 */
export interface GlobalNames {
  /** The pid holding `name`, from the local replica (OTP's `global:whereis_name/1`). */
  whereis(name: string): Pid | undefined;
  /** Registers `name` cluster-wide (OTP's `global:register_name/2`). */
  register(name: string, pid: Pid): Promise<'yes' | 'no'>;
}

/** Options of `new Node`. */
export interface NodeOptions {
  /** Node name `name@host` (default `nonode@nohost`, OTP's name for a node without distribution). */
  name?: string;
  /** Incarnation number (default: random); a restarted node gets a new one. */
  creation?: number;
  /** Time source (default: the real clock). */
  clock?: Clock;
  /**
   * Source of every random choice the node and the services on it make (its creation, the
   * handshake's challenges, back-offs). Default: the OS's CSPRNG; a simulation passes a seeded one.
   */
  random?: Random;
}

/** What `processInfo` returns (OTP's `process_info/1`, the useful part). */
export interface ProcessInfo {
  readonly pid: Pid;
  readonly status: 'starting' | 'running' | 'waiting' | 'suspended';
  readonly messageQueueLen: number;
  readonly links: Pid[];
  /** Monitors this process holds: the monitored pid or `[name, node]` of each. */
  readonly monitors: Array<Pid | readonly [string, string]>;
  /** Pids of the processes monitoring this one. */
  readonly monitoredBy: Pid[];
  /** Monitors held on this process by anyone: processes, calls, code outside processes, other nodes. */
  readonly monitoredByCount: number;
  readonly registeredName: string | undefined;
  readonly trapExit: boolean;
  readonly kind: 'function' | 'behaviour';
}

/** A hook run by `node.stop()` before processes are killed (applications stop here). */
export type StopHook = () => Promise<void> | void;


/** One runtime instance (OTP's node). */
export class Node {
  /** This node's name, `name@host`. */
  readonly name: string;
  /** This incarnation's number. */
  readonly creation: number;
  /** The node's time source. */
  readonly clock: Clock;
  /** The node's source of randomness (see `NodeOptions.random`). */
  readonly random: Random;
  /** The node's timers (receive timeouts, `sendAfter`, call timeouts). */
  readonly timers: TimerService;
  /** A pid that is never alive: the sender of signals made from outside any process. */
  readonly systemPid: Pid;
  /** The application controller (OTP's `application` module): load, start, stop, env. */
  readonly application: ApplicationController;
  /** The cluster-wide registry, once @rigil/net installs one (used for `{ global: name }`). */
  globalNames: GlobalNames | undefined = undefined;

  /** @internal The run queue. */
  readonly _scheduler = new Scheduler();
  /** @internal Links and exit signals. */
  readonly _links: Links;
  /** @internal Monitors and `DOWN`s. */
  readonly _monitors: Monitors;
  /** @internal Registered names and aliases. */
  readonly _registry: Registry;

  /** Live processes by pid id. */
  private readonly table = new Map<number, ProcessRecord>();
  private readonly reportHandlers = new Set<ReportHandler>();
  private readonly stopHooks: StopHook[] = [];
  /** The node as its parts see it. */
  private readonly kernel: Kernel & { router: RemoteRouter };
  private readonly localRouter: RemoteRouter;
  private nextPid = 1;
  private nextRef = 1;
  /** Processes whose exit signals still have to go out (see `_terminate`). */
  private readonly dying: ProcessRecord[] = [];
  private flushing = false;
  private stopping: Promise<void> | undefined;
  private readonly stoppedSignal = signal();
  /** Set once the applications and stop hooks have run: no new process may start. */
  private closed = false;

  constructor(options: NodeOptions = {}) {
    const name = options.name ?? 'nonode@nohost';
    if (!/^[^@\s]+@[^@\s]+$/.test(name)) throw coreError('ERR_BADARG', `bad node name ${JSON.stringify(name)}: expected name@host`);
    this.name = name;
    this.random = options.random ?? cryptoRandom;
    this.creation = options.creation ?? this.random.int(1, 2 ** 31 - 1);
    this.clock = options.clock ?? new RealClock();
    this.timers = new TimerService(this.clock);
    this.timers.onError = (e) => {
      if (!(e instanceof ProcessExited)) this.report({ kind: 'node', message: 'a timer callback threw', reason: reasonFromThrown(e) });
    };
    this.systemPid = new Pid(this.name, 0, this.creation);
    this.localRouter = noDistribution(this);
    this.kernel = {
      name: this.name,
      creation: this.creation,
      systemPid: this.systemPid,
      router: this.localRouter,
      local: (pid) => this.local(pid),
      terminate: (p, reason) => this._terminate(p, reason),
      report: (r) => this.report(r),
    };
    this._registry = new Registry(this.kernel);
    this._monitors = new Monitors(this.kernel, this._registry);
    this._links = new Links(this.kernel);
    this.application = new ApplicationController(this);
  }

  // ---------------------------------------------------------------- processes

  /**
   * Spawns an async-function process (OTP's `spawn/1`); it starts running on the next
   * scheduler turn.
   * @example node.spawn(async (self) => { const m = await self.receive(); console.log(m); });
   */
  spawn(fn: ProcessFunction, options?: SpawnOptions): Pid {
    return this._spawn(fn, null, options, null, undefined, null);
  }

  /** True while `pid` names a live process of this node (OTP's `is_process_alive/1`). */
  isAlive(pid: Pid): boolean {
    return this.local(pid) !== undefined;
  }

  /** The pids of every live process (OTP's `processes/0`). */
  processes(): Pid[] {
    return [...this.table.values()].map((p) => p.pid);
  }

  /** Number of live processes. */
  get processCount(): number {
    return this.table.size;
  }

  /** Facts about a live local process, or undefined (OTP's `process_info/1`). */
  processInfo(pid: Pid): ProcessInfo | undefined {
    const p = this.local(pid);
    if (p === undefined) return undefined;
    return {
      pid: p.pid,
      status: p.status as ProcessInfo['status'],
      messageQueueLen: p.queueLength,
      links: p._links ? [...p._links] : [],
      monitors: p._monitors ? [...p._monitors.values()].map((m) => m.object) : [],
      monitoredBy: p._monitoredBy
        ? [...p._monitoredBy.values()].flatMap((m) => (m.owner instanceof ProcessRecord ? [m.owner.pid] : []))
        : [],
      monitoredByCount: (p._monitoredBy?.size ?? 0) + p._callCount(),
      registeredName: p._name,
      trapExit: p._trap,
      kind: p._loop !== null ? 'behaviour' : 'function',
    };
  }

  /** The live local process of `pid` as its own code sees it, if any. */
  process(pid: Pid): Process | undefined {
    return this.local(pid);
  }

  /** Makes a unique reference (OTP's `make_ref/0`). */
  makeRef(): Ref {
    return new Ref(this.name, this.nextRef++, this.creation);
  }

  // ---------------------------------------------------------------- messages

  /**
   * Sends `msg` (OTP's `erlang:send/2`). To a pid: always succeeds (dropped if dead).
   * To a local name: throws `ERR_NOT_REGISTERED` if nobody holds it. To `[name, node]`:
   * never throws; dropped when nobody there holds the name.
   *
   * To a node whose connection is busy (see remote.ts), a send made while a process's code runs
   * (a behaviour's callback) suspends that process until the connection drains. A send from
   * outside any process cannot wait: the message is queued, bounded only by the caller.
   */
  send(dest: Destination, msg: unknown): void {
    this._send(dest, msg, null);
  }

  /** @internal `send`, naming the sending process when it is known (`self.send`). */
  _send(dest: Destination, msg: unknown, from: ProcessRecord | null): void {
    if (dest instanceof Pid) {
      const p = dest._proc as ProcessRecord | undefined;
      if (p !== undefined && p.node === this) {
        p._deliver(msg);
        return;
      }
      if (dest.node === this.name) {
        if (dest.creation === this.creation) this.table.get(dest.id)?._deliver(msg);
        return;
      }
      if (this.kernel.router.send(dest, msg)) this.suspendSender(from, dest.node);
      return;
    }
    if (typeof dest === 'string') {
      const p = this._registry.lookup(dest);
      if (p === undefined) throw coreError('ERR_NOT_REGISTERED', `no process is registered as ${JSON.stringify(dest)}`, 'badarg');
      p._deliver(msg);
      return;
    }
    if (Array.isArray(dest) && dest.length === 2) {
      const [name, node] = dest;
      if (node === this.name) this._registry.lookup(name)?._deliver(msg);
      else if (this.kernel.router.sendNamed(name, node, msg)) this.suspendSender(from, node);
      return;
    }
    throw coreError('ERR_BADARG', `bad destination: ${String(dest)}`, 'badarg');
  }

  /** Sends `msg` to `dest` after `ms` milliseconds (OTP's `erlang:send_after/3`). */
  sendAfter(ms: number, dest: Destination, msg: unknown): Timer {
    if (!(ms >= 0)) throw coreError('ERR_BADARG', `bad timeout: ${ms}`);
    return this.timers.schedule(ms, sendLater, { node: this, dest, msg });
  }

  /**
   * Resolves after `ms` milliseconds on the node's clock, or as soon as the node stops (at once
   * if it has): the pause of back-offs and retries run outside processes (OTP's `timer:sleep/1`,
   * which only processes have). On the node's timers, so a simulated clock drives it.
   */
  delay(ms: number): Promise<void> {
    if (!(ms >= 0)) throw coreError('ERR_BADARG', `bad timeout: ${ms}`);
    if (this.stopping !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.onStop(() => {
        this.timers.drop(timer);
        resolve();
      });
      const timer = this.timers.schedule(ms, () => {
        off();
        resolve();
      }, undefined);
    });
  }

  /** Cancels a timer; returns the milliseconds left, or false (OTP's `erlang:cancel_timer/1`). */
  cancelTimer(timer: Timer): number | false {
    return this.timers.cancel(timer);
  }

  /** Sends `msg` to an alias (OTP's `Alias ! Msg`), e.g. a call reply; dropped if inactive. */
  sendAlias(tag: Ref, msg: unknown): void {
    if (tag.node === this.name) this._registry.deliverAlias(tag, msg);
    else if (this.kernel.router.sendAlias(tag, msg)) this.suspendSender(null, tag.node);
  }

  // ---------------------------------------------------------------- registry

  /** Registers `pid` under `name` (OTP's `register/2`); throws as OTP's `badarg` cases do. */
  register(name: string, pid: Pid): true {
    return this._registry.register(name, pid);
  }

  /** Removes a registered name (OTP's `unregister/1`); throws `ERR_NOT_REGISTERED` if unknown. */
  unregister(name: string): true {
    return this._registry.unregister(name);
  }

  /** The pid registered as `name`, or undefined (OTP's `whereis/1`). */
  whereis(name: string): Pid | undefined {
    return this._registry.lookup(name)?.pid;
  }

  /** Every registered name (OTP's `registered/0`). */
  registered(): string[] {
    return this._registry.registered();
  }

  // ---------------------------------------------------------------- signals from outside processes

  /** Sends `pid` an exit signal from outside any process (OTP's `exit/2`). */
  exit(pid: Pid, reason: ExitReason): void {
    this._links.exitSignal(this.systemPid, pid, reason, false);
  }

  /**
   * Monitors a process from outside any process: `handler.onDown` is called once it exits
   * (immediately with `noproc` if it is dead). Returns the monitor ref (OTP's `monitor/2`).
   */
  monitor(target: MonitorTarget, handler: MonitorHandler): Ref {
    return this._monitors.monitor(handler, target, this.makeRef());
  }

  /**
   * Makes a new alias whose messages go to `handler` until `unalias` (OTP's `erlang:alias/0`,
   * for a service that is not a process: messages sent to the returned ref with `sendAlias`,
   * from this node or another, call `handler.onAlias`). A caller can then take replies without a
   * monitor per request, e.g. one monitor per peer for many calls (`global`'s peer calls).
   */
  alias(handler: AliasHandler): Ref {
    const tag = this.makeRef();
    this._registry.addAlias(tag, handler);
    return tag;
  }

  /** Deactivates an alias made with `alias`: later messages to it are dropped (OTP's `erlang:unalias/1`). */
  unalias(tag: Ref): void {
    this._registry.removeAlias(tag);
  }

  /**
   * Calls `fn` with every local process that exits, and its reason, before any monitor of it
   * fires; returns a function that stops it. No OTP counterpart (OTP's nearest is tracing
   * every process's exits): a node service that follows many processes — `global` follows
   * every named pid of its node — holds one observer and a set of pid numbers instead of a
   * monitor per process (~400 bytes each). `fn` must be cheap: it runs at every exit.
   */
  onLocalExit(fn: (pid: Pid, reason: ExitReason) => void): () => void {
    const list = this._monitors.exitObservers;
    list.push(fn);
    return () => {
      const i = list.indexOf(fn);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Removes a monitor made with `monitor` (OTP's `demonitor/1`); false if already gone. */
  demonitor(ref: Ref): boolean {
    return this._monitors.demonitor(ref, undefined);
  }

  // ---------------------------------------------------------------- reports

  /** Subscribes to this node's reports (crash, supervisor, …); returns an unsubscribe function. */
  onReport(handler: ReportHandler): () => void {
    this.reportHandlers.add(handler);
    return () => this.reportHandlers.delete(handler);
  }

  /** Emits a report to the `debug` logger and to subscribers (OTP's `logger:log/2`). */
  report(r: Omit<Report, 'node'>): void {
    const full = { ...r, node: this.name } as Report;
    writeReport(full);
    for (const h of this.reportHandlers) {
      try {
        h(full);
      } catch {
        // a broken subscriber must not break the node
      }
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /** Registers a hook that `stop()` runs (last registered first) before killing processes. */
  onStop(hook: StopHook): () => void {
    this.stopHooks.push(hook);
    return () => {
      const i = this.stopHooks.indexOf(hook);
      if (i >= 0) this.stopHooks.splice(i, 1);
    };
  }

  /** Resolves once the node has stopped, whoever stopped it (`stop()`, or a permanent application's death). */
  whenStopped(): Promise<void> {
    return this.stoppedSignal.promise;
  }

  /** True once `stop()` has been called. */
  get stopped(): boolean {
    return this.stopping !== undefined;
  }

  /**
   * Stops the node (OTP's `init:stop/0`): stops the applications (most recent first), runs the
   * stop hooks (the distribution disconnects there), kills
   * every remaining process, cancels every timer and leaves no handle behind.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  // ---------------------------------------------------------------- the network seam

  /**
   * Attaches the network layer (OTP's `net_kernel` taking over a node's distribution): from now
   * on signals to other nodes go through `router`, and the returned `RemoteHost` is the one way
   * the network acts on this node. `attach(undefined)` detaches (other nodes unreachable again).
   */
  attach(router: RemoteRouter | undefined): RemoteHost {
    this.kernel.router = router ?? this.localRouter;
    return remoteHost(this, this.kernel, this.table);
  }

  /**
   * The canonical `Pid` object for `{node, id, creation}`: a live local process's own pid, or a
   * new value (the distribution layer interns remote pids on top of this).
   */
  internPid(node: string, id: number, creation: number): Pid {
    if (node === this.name && creation === this.creation) {
      const p = this.table.get(id);
      if (p !== undefined) return p.pid;
    }
    return new Pid(node, id, creation);
  }

  // ---------------------------------------------------------------- internals used by core's behaviours

  /** @internal The live processes that belong to `group` (an application master). */
  _groupMembers(group: unknown): ProcessRecord[] {
    const out: ProcessRecord[] = [];
    for (const p of this.table.values()) if (p._group === group) out.push(p);
    return out;
  }

  /** @internal The live local process record of `pid`, if any. */
  _record(pid: Pid): ProcessRecord | undefined {
    return this.local(pid);
  }

  /**
   * @internal Spawns a process: an async function or (with `loop`) a behaviour. The new process
   * belongs to the spawner's application (OTP's group leader is inherited).
   */
  _spawn(fn: ProcessFunction | null, loop: BehaviourLoop | null, options: SpawnOptions | undefined, linkTo: ProcessRecord | null, data: unknown, spawner: ProcessRecord | null): Pid {
    if (this.closed) throw coreError('ERR_NODE_STOPPED', `node ${this.name} is stopped`);
    const id = this.nextPid++;
    const pid = new Pid(this.name, id, this.creation);
    const p = new ProcessRecord(this, pid);
    pid._proc = p;
    if (options?.trapExit) p._trap = true;
    this.table.set(id, p);
    if (spawner !== null) p._group = spawner._group;
    if (linkTo !== null) {
      p._links = new Set([linkTo.pid]);
      (linkTo._links ??= new Set()).add(pid);
    }
    if (loop !== null) {
      p._loop = loop;
      p._data = data;
    } else if (fn !== null) {
      p._setBody(fn);
      this._scheduler.enqueue(p);
    }
    return pid;
  }

  /** @internal Spawns a behaviour process (gen_server & co.) whose messages go to `loop`. */
  _spawnBehaviour(loop: BehaviourLoop, data: unknown, linkTo: ProcessRecord | null, spawner: ProcessRecord | null, options?: SpawnOptions): ProcessRecord {
    const pid = this._spawn(null, loop, options, linkTo, data, spawner);
    return pid._proc as ProcessRecord;
  }

  /**
   * @internal Ends `p` with `reason` now, for everyone: its name is freed and its mailbox
   * dropped at once, then its links and monitors are signalled. Cascades are processed
   * iteratively so a long chain of links never grows the stack.
   */
  _terminate(p: ProcessRecord, reason: ExitReason): void {
    if (p._dead) return;
    p._reason = reason;
    if (p._suspended) this._scheduler.forget(p);
    p._release();
    this.table.delete(p.pid.id);
    this._registry.release(p);
    if (!isQuietReason(reason) && reason !== 'killed') {
      this.report({ kind: 'crash', pid: p.pid, name: p._name, message: 'process exited', reason });
    }
    this.dying.push(p);
    if (!this.flushing) this.flushDying();
  }

  /** @internal A process's code threw: it exits with the structured reason. */
  _crash(p: ProcessRecord, e: unknown): void {
    // `self.exit(reason)` in a behaviour unwinds with ProcessExited; the process ends with that reason.
    this._terminate(p, e instanceof ProcessExited ? e.reason : reasonFromThrown(e));
  }

  // ---------------------------------------------------------------- private helpers

  /**
   * A send to `node` found its connection busy: the sending process — named by the send, or
   * the one whose slice is running — is suspended until the connection drains (OTP's busy
   * dist port). Without one (code outside any process) there is nobody to hold.
   */
  private suspendSender(from: ProcessRecord | null, node: string): void {
    const p = from ?? this._scheduler.current;
    if (p !== null && p.node === this) this._scheduler.suspend(p, node);
  }

  private local(pid: Pid): ProcessRecord | undefined {
    const p = pid._proc as ProcessRecord | undefined;
    if (p !== undefined && p.node === this) return p._dead ? undefined : p;
    if (pid.node !== this.name || pid.creation !== this.creation) return undefined;
    return this.table.get(pid.id);
  }

  /** Sends out the exit signals of every process that died, until none is left. */
  private flushDying(): void {
    this.flushing = true;
    try {
      for (let i = 0; i < this.dying.length; i++) {
        const p = this.dying[i]!;
        this.dying[i] = undefined as unknown as ProcessRecord;
        const reason = p._reason;
        this._links.exited(p, reason);
        this._monitors.exited(p, reason);
        const cleanups = p._cleanups;
        p._cleanups = null;
        if (cleanups instanceof Set) for (const c of cleanups) c.onOwnerExit();
        else if (cleanups !== null) cleanups.onOwnerExit();
        p.pid._proc = undefined;
      }
    } finally {
      this.dying.length = 0;
      this.flushing = false;
    }
  }

  private async doStop(): Promise<void> {
    try {
      await this.application.stopAll();
    } catch (e) {
      this.report({ kind: 'node', message: 'stopping applications failed', reason: reasonFromThrown(e) });
    }
    for (const hook of [...this.stopHooks].reverse()) {
      try {
        await hook();
      } catch (e) {
        this.report({ kind: 'node', message: 'stop hook failed', reason: reasonFromThrown(e) });
      }
    }
    this.closed = true;
    for (const p of [...this.table.values()]) this._terminate(p, 'killed');
    this._scheduler.stop();
    this.timers.stop();
    this._monitors.abortHandlers(new RigilError('ERR_NODE_STOPPED', `node ${this.name} stopped`, 'node_stopped'));
    this._registry.clear();
    this.stoppedSignal.resolve();
  }
}

/** The `RemoteHost` of a node: what the network may do to it (remote.ts). */
function remoteHost(node: Node, kernel: Kernel, table: Map<number, ProcessRecord>): RemoteHost {
  return {
    name: node.name,
    creation: node.creation,
    deliver: (to, msg) => {
      if (to.node === node.name) node.send(to, msg);
    },
    deliverNamed: (name, msg) => node._registry.lookup(name)?._deliver(msg),
    deliverAlias: (tag, msg) => {
      if (tag.node === node.name) node._registry.deliverAlias(tag, msg);
    },
    acceptLink: (from, to) => node._links.acceptRemote(from, to),
    acceptUnlink: (from, to) => node._links.acceptRemoteUnlink(from, to),
    acceptMonitor: (owner, target, ref) => node._monitors.acceptRemote(owner, target, ref),
    cancelMonitor: (ref) => node._monitors.demonitor(ref, undefined),
    exitSignal: (from, to, reason, linked) => {
      if (to.node === node.name) node._links.exitSignal(from, to, reason, linked);
    },
    remoteDown: (ref, reason) => node._monitors.remoteDown(ref, reason),
    remoteMonitorEnded: (ref) => node._monitors.remoteEnded(ref),
    nodeDown: (name) => {
      node._scheduler.resume(name);
      node._links.nodeDown(name, table.values());
      node._monitors.nodeDown(name);
    },
    resume: (name) => node._scheduler.resume(name),
    internPid: (n, id, creation) => node.internPid(n, id, creation),
    isAlive: (pid) => kernel.local(pid) !== undefined,
  };
}

/** True for a process handle (`self`), false for a node or anything else. */
export function isProcess(x: unknown): x is Process {
  return x instanceof ProcessRecord;
}

function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function sendLater(t: { node: Node; dest: Destination; msg: unknown }): void {
  try {
    t.node.send(t.dest, t.msg);
  } catch {
    // OTP: a timer to a name nobody holds is silently dropped.
  }
}

/**
 * The router of a node without distribution: other nodes are unreachable, so sends are
 * dropped, links fire `noconnection` and monitors `DOWN noconnection` at once (as for a node
 * that cannot be connected to).
 */
function noDistribution(node: Node): RemoteRouter {
  return {
    send: () => false,
    sendNamed: () => false,
    sendAlias: () => false,
    link(from, to) {
      node._links.exitSignal(to, from, 'noconnection', true);
    },
    unlink() {},
    exit() {},
    monitor(_owner, _target, ref) {
      node._monitors.remoteDown(ref, 'noconnection');
    },
    demonitor() {},
  };
}
