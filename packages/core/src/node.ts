/**
 * A node: one runtime instance with its own process table, registry, scheduler and timers.
 *
 * Several nodes can live in one OS process; nothing here is a module-level singleton.
 * Signals (messages, links, monitors, exits) between local processes are applied by the
 * node directly; anything addressed to another node goes through the `RemoteRouter` seam,
 * which @rigil/net fills (DESIGN §1). Exit semantics follow spec §a.2.
 */
import { randomInt } from 'node:crypto';
import { ApplicationController } from './application_controller.js';
import { RealClock, type Clock } from './clock.js';
import { coreError, RigilError } from './errors.js';
import { writeReport, type Report, type ReportHandler } from './logger.js';
import { Pid, Ref } from './pid.js';
import { Process, ProcessExited, type BehaviourLoop, type ProcessFunction } from './process.js';
import { isQuietReason, reasonFromThrown, type DownMessage, type ExitMessage, type ExitReason } from './reason.js';
import { Scheduler } from './scheduler.js';
import { TimerService, type Timer } from './timer.js';

/** Where a message can be sent: a pid, a local registered name, or `[name, node]`. */
export type Destination = Pid | string | readonly [name: string, node: string];

/** What a monitor can watch: a pid, a local name, or `[name, node]`. */
export type MonitorTarget = Pid | string | readonly [name: string, node: string];

/** Options of `spawn`. */
export interface SpawnOptions {
  /** Start with trap_exit set. */
  trapExit?: boolean;
}

/** Receives `DOWN` for a monitor held by code outside any process (calls, supervisors' helpers). */
export interface MonitorHandler {
  onDown(ref: Ref, reason: ExitReason, object: Pid | readonly [string, string]): void;
}

/** Receives messages sent to an alias (OTP's process alias), e.g. a call's reply. */
export interface AliasHandler {
  onAlias(msg: unknown): void;
}

/** @internal A monitor, shared by the owner's and the target's tables. */
export interface Monitor {
  readonly ref: Ref;
  /** Owner: a process (gets a `DOWN` message) or a handler. */
  readonly owner: Process | MonitorHandler;
  /** The monitored pid. */
  readonly target: Pid;
  /** What the `DOWN` names: the pid, or `[name, node]`. */
  readonly object: Pid | readonly [string, string];
}

/**
 * The seam through which a node reaches other nodes (implemented by @rigil/net).
 * Every method is fire-and-forget; failures come back as signals (`noconnection`).
 */
export interface RemoteRouter {
  /** Delivers `msg` to a pid on another node. */
  send(to: Pid, msg: unknown): void;
  /** Delivers `msg` to `name` on `node` (dropped silently when nobody has the name). */
  sendNamed(name: string, node: string, msg: unknown): void;
  /** Delivers a message to an alias (a call reply) made on another node. */
  sendAlias(tag: Ref, msg: unknown): void;
  /** Creates the remote half of a link. */
  link(from: Pid, to: Pid): void;
  /** Removes the remote half of a link. */
  unlink(from: Pid, to: Pid): void;
  /** Sends an exit signal (`linked`: because `from` died while linked). */
  exit(from: Pid, to: Pid, reason: ExitReason, linked: boolean): void;
  /** Asks `node` to monitor `target` for the local monitor `ref` owned by `owner`. */
  monitor(owner: Pid, target: Pid | readonly [string, string], ref: Ref): void;
  /** Cancels a remote monitor. */
  demonitor(owner: Pid, target: Pid | readonly [string, string], ref: Ref): void;
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
}

/** What `processInfo` returns (OTP's `process_info/1`, the useful part). */
export interface ProcessInfo {
  readonly pid: Pid;
  readonly status: 'starting' | 'running' | 'waiting';
  readonly messageQueueLen: number;
  readonly links: Pid[];
  /** Monitors this process holds: the monitored pid or `[name, node]` of each. */
  readonly monitors: Array<Pid | readonly [string, string]>;
  /** Pids of the processes monitoring this one. */
  readonly monitoredBy: Pid[];
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
  /** The node's timers (receive timeouts, `sendAfter`, call timeouts). */
  readonly timers: TimerService;
  /** @internal */
  readonly _scheduler = new Scheduler();
  /** A pid that is never alive: the sender of signals made from outside any process. */
  readonly systemPid: Pid;
  /** The application controller (OTP's `application` module): load, start, stop, env. */
  readonly application: ApplicationController;
  /** The cluster-wide registry, once @rigil/net installs one (used for `{ global: name }`). */
  globalNames: GlobalNames | undefined = undefined;

  private readonly table = new Map<number, Process>();
  private readonly names = new Map<string, Process>();
  /** Monitors whose owner is a handler (not a process), by ref. */
  private readonly handlerMonitors = new Map<Ref, Monitor>();
  /** Monitors on processes of other nodes, by the id of their (local) ref. */
  private readonly remoteMonitors = new Map<number, Monitor>();
  /** @internal Live aliases by ref id. */
  private readonly aliases = new Map<number, AliasHandler>();
  private readonly reportHandlers = new Set<ReportHandler>();
  private readonly stopHooks: StopHook[] = [];
  private readonly localRouter: RemoteRouter = noDistribution(this);
  private router: RemoteRouter = this.localRouter;
  private nextPid = 1;
  private nextRef = 1;
  /** Processes whose exit signals still have to go out (see `_terminate`). */
  private readonly dying: Process[] = [];
  private flushing = false;
  private stopping: Promise<void> | undefined;
  private readonly stoppedSignal = signal();
  /** Set once the applications and stop hooks have run: no new process may start. */
  private closed = false;

  constructor(options: NodeOptions = {}) {
    const name = options.name ?? 'nonode@nohost';
    if (!/^[^@\s]+@[^@\s]+$/.test(name)) throw coreError('ERR_BADARG', `bad node name ${JSON.stringify(name)}: expected name@host`);
    this.name = name;
    this.creation = options.creation ?? randomInt(1, 2 ** 31 - 1);
    this.clock = options.clock ?? new RealClock();
    this.timers = new TimerService(this.clock);
    this.timers.onError = (e) => {
      if (!(e instanceof ProcessExited)) this.report({ kind: 'node', message: 'a timer callback threw', reason: reasonFromThrown(e) });
    };
    this.systemPid = new Pid(this.name, 0, this.creation);
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
        ? [...p._monitoredBy.values()].flatMap((m) => (m.owner instanceof Process ? [m.owner.pid] : []))
        : [],
      registeredName: p._name,
      trapExit: p._trap,
      kind: p._loop !== null ? 'behaviour' : 'function',
    };
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
   */
  send(dest: Destination, msg: unknown): void {
    if (dest instanceof Pid) {
      const p = dest._proc as Process | undefined;
      if (p !== undefined && p.node === this) {
        p._deliver(msg);
        return;
      }
      if (dest.node === this.name) {
        if (dest.creation === this.creation) this.table.get(dest.id)?._deliver(msg);
        return;
      }
      this.router.send(dest, msg);
      return;
    }
    if (typeof dest === 'string') {
      const p = this.names.get(dest);
      if (p === undefined) throw coreError('ERR_NOT_REGISTERED', `no process is registered as ${JSON.stringify(dest)}`, 'badarg');
      p._deliver(msg);
      return;
    }
    if (Array.isArray(dest) && dest.length === 2) {
      const [name, node] = dest;
      if (node === this.name) this.names.get(name)?._deliver(msg);
      else this.router.sendNamed(name, node, msg);
      return;
    }
    throw coreError('ERR_BADARG', `bad destination: ${String(dest)}`, 'badarg');
  }

  /** Sends `msg` to `dest` after `ms` milliseconds (OTP's `erlang:send_after/3`). */
  sendAfter(ms: number, dest: Destination, msg: unknown): Timer {
    if (!(ms >= 0)) throw coreError('ERR_BADARG', `bad timeout: ${ms}`);
    return this.timers.schedule(ms, sendLater, { node: this, dest, msg });
  }

  /** Cancels a timer; returns the milliseconds left, or false (OTP's `erlang:cancel_timer/1`). */
  cancelTimer(timer: Timer): number | false {
    return this.timers.cancel(timer);
  }

  // ---------------------------------------------------------------- registry

  /** Registers `pid` under `name` (OTP's `register/2`); throws as OTP's `badarg` cases do. */
  register(name: string, pid: Pid): true {
    if (typeof name !== 'string' || name === '' || name === 'undefined') {
      throw coreError('ERR_BADARG', `bad name: ${JSON.stringify(name)}`, 'badarg');
    }
    if (pid.node !== this.name) throw coreError('ERR_NOT_LOCAL', `${pid} is not a process of ${this.name}`, 'badarg');
    const p = this.local(pid);
    if (p === undefined) throw coreError('ERR_NOPROC', `${pid} is not alive`, 'badarg');
    const holder = this.names.get(name);
    if (holder !== undefined) throw coreError('ERR_NAME_TAKEN', `${JSON.stringify(name)} is already registered to ${holder.pid}`, 'badarg');
    if (p._name !== undefined) throw coreError('ERR_ALREADY_NAMED', `${pid} is already registered as ${JSON.stringify(p._name)}`, 'badarg');
    this.names.set(name, p);
    p._name = name;
    return true;
  }

  /** Removes a registered name (OTP's `unregister/1`); throws `ERR_NOT_REGISTERED` if unknown. */
  unregister(name: string): true {
    const p = this.names.get(name);
    if (p === undefined) throw coreError('ERR_NOT_REGISTERED', `no process is registered as ${JSON.stringify(name)}`, 'badarg');
    this.names.delete(name);
    p._name = undefined;
    return true;
  }

  /** The pid registered as `name`, or undefined (OTP's `whereis/1`). */
  whereis(name: string): Pid | undefined {
    return this.names.get(name)?.pid;
  }

  /** Every registered name (OTP's `registered/0`). */
  registered(): string[] {
    return [...this.names.keys()];
  }

  // ---------------------------------------------------------------- signals from outside processes

  /** Sends `pid` an exit signal from outside any process (OTP's `exit/2`). */
  exit(pid: Pid, reason: ExitReason): void {
    this._exitSignal(this.systemPid, pid, reason, false);
  }

  /**
   * Monitors a process from outside any process: `handler.onDown` is called once it exits
   * (immediately with `noproc` if it is dead). Returns the monitor ref.
   */
  monitor(target: MonitorTarget, handler: MonitorHandler): Ref {
    return this._monitor(handler, target);
  }

  /** Removes a monitor made with `monitor` (OTP's `demonitor/1`); false if already gone. */
  demonitor(ref: Ref): boolean {
    return this._demonitor(ref, undefined);
  }

  // ---------------------------------------------------------------- aliases (call replies)

  /** @internal Activates an alias: messages sent to `tag` go to `handler` until it is removed. */
  _addAlias(tag: Ref, handler: AliasHandler): void {
    this.aliases.set(tag.id, handler);
  }

  /** @internal Deactivates an alias: later messages to it are dropped. */
  _removeAlias(tag: Ref): void {
    this.aliases.delete(tag.id);
  }

  /** Sends `msg` to an alias (OTP's `Alias ! Msg`), e.g. a call reply; dropped if inactive. */
  sendAlias(tag: Ref, msg: unknown): void {
    if (tag.node === this.name) {
      if (tag.creation === this.creation) this.aliases.get(tag.id)?.onAlias(msg);
      return;
    }
    this.router.sendAlias(tag, msg);
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

  /** Installs the remote router (called by @rigil/net). */
  setRouter(router: RemoteRouter | undefined): void {
    this.router = router ?? this.localRouter;
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

  /** @internal The live processes that belong to `group` (an application master). */
  _groupMembers(group: unknown): Process[] {
    const out: Process[] = [];
    for (const p of this.table.values()) if (p._group === group) out.push(p);
    return out;
  }

  /** The live local process of `pid`, if any. */
  process(pid: Pid): Process | undefined {
    return this.local(pid);
  }

  // ---------------------------------------------------------------- internals used by Process & behaviours

  /**
   * @internal Spawns a process: an async function or (with `loop`) a behaviour. The new process
   * belongs to the spawner's application (OTP's group leader is inherited).
   */
  _spawn(fn: ProcessFunction | null, loop: BehaviourLoop | null, options: SpawnOptions | undefined, linkTo: Process | null, data: unknown, spawner: Process | null): Pid {
    if (this.closed) throw coreError('ERR_NODE_STOPPED', `node ${this.name} is stopped`);
    const id = this.nextPid++;
    const pid = new Pid(this.name, id, this.creation);
    const p = new Process(this, pid);
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
      p._fn = fn;
      this._scheduler.enqueue(p);
    }
    return pid;
  }

  /** @internal Spawns a behaviour process (gen_server & co.) whose messages go to `loop`. */
  _spawnBehaviour(loop: BehaviourLoop, data: unknown, linkTo: Process | null, spawner: Process | null, options?: SpawnOptions): Process {
    const pid = this._spawn(null, loop, options, linkTo, data, spawner);
    return pid._proc as Process;
  }

  /** @internal Link between a local process and any pid. */
  _link(p: Process, pid: Pid): void {
    if (p._dead || pid === p.pid) return;
    if (pid.node !== this.name) {
      if (p._links?.has(pid)) return;
      (p._links ??= new Set()).add(pid);
      this.router.link(p.pid, pid);
      return;
    }
    const q = this.local(pid);
    if (q === undefined) {
      // OTP: linking to a dead process sends the linker an exit signal `noproc`.
      this._exitSignal(pid, p.pid, 'noproc', false);
      return;
    }
    (p._links ??= new Set()).add(q.pid);
    (q._links ??= new Set()).add(p.pid);
  }

  /** @internal */
  _unlink(p: Process, pid: Pid): void {
    if (p._links === null || !deletePid(p._links, pid)) return;
    if (pid.node !== this.name) {
      this.router.unlink(p.pid, pid);
      return;
    }
    this.local(pid)?._links?.delete(p.pid);
  }

  /** @internal Creates a monitor owned by a process or a handler (with `ref`, when the caller made it). */
  _monitor(owner: Process | MonitorHandler, target: MonitorTarget, ref: Ref = this.makeRef()): Ref {
    let object: Pid | readonly [string, string];
    let proc: Process | undefined;
    if (target instanceof Pid) {
      object = target;
      if (target.node !== this.name) {
        this.remoteMonitor(owner, ref, target, target);
        return ref;
      }
      proc = this.local(target);
    } else if (typeof target === 'string') {
      object = [target, this.name];
      proc = this.names.get(target);
    } else {
      object = target;
      if (target[1] !== this.name) {
        this.remoteMonitor(owner, ref, target, target);
        return ref;
      }
      proc = this.names.get(target[0]);
    }
    if (proc === undefined) {
      this.deliverDown(owner, ref, object, 'noproc');
      return ref;
    }
    const m: Monitor = { ref, owner, target: proc.pid, object };
    (proc._monitoredBy ??= new Map()).set(ref, m);
    if (owner instanceof Process) (owner._monitors ??= new Map()).set(ref, m);
    else this.handlerMonitors.set(ref, m);
    return ref;
  }

  /**
   * @internal The monitor of a call (gen's request) on a local target: kept only in the target's
   * table, not in the node's handler table, and removed with `_dropCallMonitor` — one Map
   * insert and delete less per call. Returns undefined when the monitor is not local (or fired
   * at once); the caller then falls back to `demonitor(ref)`.
   */
  _monitorForCall(owner: MonitorHandler, target: Pid | readonly [string, string], ref: Ref): Monitor | undefined {
    let proc: Process | undefined;
    if (target instanceof Pid) {
      if (target.node !== this.name) {
        this._monitor(owner, target, ref);
        return undefined;
      }
      proc = this.local(target);
    } else {
      if (target[1] !== this.name) {
        this._monitor(owner, target, ref);
        return undefined;
      }
      proc = this.names.get(target[0]);
    }
    if (proc === undefined) {
      this.deliverDown(owner, ref, target, 'noproc');
      return undefined;
    }
    const m: Monitor = { ref, owner, target: proc.pid, object: target };
    (proc._monitoredBy ??= new Map()).set(ref, m);
    return m;
  }

  /** @internal Removes a monitor made by `_monitorForCall`. */
  _dropCallMonitor(m: Monitor): void {
    this.local(m.target)?._monitoredBy?.delete(m.ref);
  }

  /** @internal Removes a monitor by ref (owned by `owner`, or by a handler); false if it was not active. */
  _demonitor(ref: Ref, owner: Process | undefined): boolean {
    const m = owner !== undefined ? owner._monitors?.get(ref) : this.handlerMonitors.get(ref);
    if (m === undefined) return false;
    this.dropMonitor(m);
    if (m.target.node !== this.name) this.router.demonitor(ownerPid(m.owner, this), m.object, ref);
    return true;
  }

  /**
   * @internal Delivers an exit signal to `to` (spec §a.2). `linked`: sent because `from`
   * died while linked to `to`.
   */
  _exitSignal(from: Pid, to: Pid, reason: ExitReason, linked: boolean): void {
    if (to.node !== this.name) {
      this.router.exit(from, to, reason, linked);
      return;
    }
    const r = this.local(to);
    if (r === undefined) return;
    if (linked) {
      // A link-caused signal only counts while the link exists; the link is consumed.
      if (r._links === null || !deletePid(r._links, from)) return;
    } else if (reason === 'kill') {
      this._terminate(r, 'killed');
      return;
    }
    if (r._trap) {
      r._deliver({ tag: 'EXIT', from, reason } satisfies ExitMessage);
      return;
    }
    if (reason === 'normal') {
      if (from === r.pid) this._terminate(r, 'normal');
      return;
    }
    this._terminate(r, reason);
  }

  /**
   * @internal Ends `p` with `reason` now, for everyone: its name is freed and its mailbox
   * dropped at once, then its links and monitors are signalled. Cascades are processed
   * iteratively so a long chain of links never grows the stack.
   */
  _terminate(p: Process, reason: ExitReason): void {
    if (p._dead) return;
    p._reason = reason;
    p._release();
    this.table.delete(p.pid.id);
    if (p._name !== undefined) {
      this.names.delete(p._name);
    }
    if (!isQuietReason(reason) && reason !== 'killed') {
      this.report({ kind: 'crash', pid: p.pid, name: p._name, message: 'process exited', reason });
    }
    this.dying.push(p);
    if (!this.flushing) this.flushDying();
  }

  /** @internal A process's code threw: it exits with the structured reason. */
  _crash(p: Process, e: unknown): void {
    // `self.exit(reason)` in a behaviour unwinds with ProcessExited; the process ends with that reason.
    if (e instanceof ProcessExited) this._terminate(p, e.reason);
    else this._terminate(p, this._thrownReason(e));
  }

  /** @internal The exit reason for a thrown value. */
  _thrownReason(e: unknown): ExitReason {
    return reasonFromThrown(e);
  }

  // ---------------------------------------------------------------- inbound from the distribution

  /**
   * @internal Called by the distribution when a node goes down: remote links fire
   * `noconnection`, remote monitors `DOWN noconnection`.
   */
  _nodeDown(node: string): void {
    for (const p of [...this.table.values()]) {
      if (p._links !== null) {
        for (const pid of [...p._links]) if (pid.node === node) this._exitSignal(pid, p.pid, 'noconnection', true);
      }
    }
    for (const m of [...this.remoteMonitors.values()]) if (m.target.node === node) this.fireMonitor(m, 'noconnection');
  }

  /** @internal A remote monitored process went down (or was never there). */
  _remoteDown(ref: Ref, reason: ExitReason): void {
    if (ref.node !== this.name || ref.creation !== this.creation) return;
    const m = this.remoteMonitors.get(ref.id);
    if (m !== undefined) this.fireMonitor(m, reason);
  }

  /**
   * @internal The peer ended a monitor we hold on one of its processes (a call's reply ends the
   * call's monitor): forget it locally without telling the peer.
   */
  _remoteMonitorEnded(ref: Ref): void {
    if (ref.node !== this.name || ref.creation !== this.creation) return;
    const m = this.remoteMonitors.get(ref.id);
    if (m !== undefined) this.dropMonitor(m);
  }

  /** @internal A remote process wants to monitor a local target; returns the monitor or undefined if it fired at once. */
  _acceptRemoteMonitor(owner: MonitorHandler, target: Pid | readonly [string, string], ref: Ref): void {
    let proc: Process | undefined;
    let object: Pid | readonly [string, string];
    if (target instanceof Pid) {
      object = target;
      proc = this.local(target);
    } else {
      object = target;
      proc = this.names.get(target[0]);
    }
    if (proc === undefined) {
      owner.onDown(ref, 'noproc', object);
      return;
    }
    const m: Monitor = { ref, owner, target: proc.pid, object };
    (proc._monitoredBy ??= new Map()).set(ref, m);
    this.handlerMonitors.set(ref, m);
  }

  /** @internal A remote process linked to a local one; false if the local one is dead. */
  _acceptRemoteLink(from: Pid, to: Pid): boolean {
    const p = this.local(to);
    if (p === undefined) return false;
    (p._links ??= new Set()).add(from);
    return true;
  }

  /** @internal A remote process removed its link. */
  _acceptRemoteUnlink(from: Pid, to: Pid): void {
    const links = this.local(to)?._links;
    if (links != null) deletePid(links, from);
  }

  // ---------------------------------------------------------------- private helpers

  private local(pid: Pid): Process | undefined {
    const p = pid._proc as Process | undefined;
    if (p !== undefined && p.node === this) return p._dead ? undefined : p;
    if (pid.node !== this.name || pid.creation !== this.creation) return undefined;
    return this.table.get(pid.id);
  }

  private remoteMonitor(owner: Process | MonitorHandler, ref: Ref, target: Pid | readonly [string, string], object: Pid | readonly [string, string]): void {
    const pid = target instanceof Pid ? target : new Pid(target[1], 0, 0);
    const m: Monitor = { ref, owner, target: pid, object };
    if (owner instanceof Process) (owner._monitors ??= new Map()).set(ref, m);
    else this.handlerMonitors.set(ref, m);
    this.remoteMonitors.set(ref.id, m);
    this.router.monitor(ownerPid(owner, this), target, ref);
  }

  private dropMonitor(m: Monitor): void {
    // Emptied tables are kept: a server that is called keeps being monitored and demonitored,
    // and a fresh Map per call would cost more than the table.
    if (m.owner instanceof Process) m.owner._monitors?.delete(m.ref);
    else this.handlerMonitors.delete(m.ref);
    if (m.target.node === this.name) this.local(m.target)?._monitoredBy?.delete(m.ref);
    else this.remoteMonitors.delete(m.ref.id);
  }

  private fireMonitor(m: Monitor, reason: ExitReason): void {
    this.dropMonitor(m);
    this.deliverDown(m.owner, m.ref, m.object, reason);
  }

  private deliverDown(owner: Process | MonitorHandler, ref: Ref, object: Pid | readonly [string, string], reason: ExitReason): void {
    if (owner instanceof Process) {
      owner._deliver({ tag: 'DOWN', ref, type: 'process', object, reason } satisfies DownMessage);
      return;
    }
    try {
      owner.onDown(ref, reason, object);
    } catch (e) {
      // A handler's bug must not break the signalling of everyone else.
      if (!(e instanceof ProcessExited)) this.report({ kind: 'node', message: 'a monitor handler threw', reason: reasonFromThrown(e) });
    }
  }

  /** Sends out the exit signals of every process that died, until none is left. */
  private flushDying(): void {
    this.flushing = true;
    try {
      for (let i = 0; i < this.dying.length; i++) {
        const p = this.dying[i]!;
        this.dying[i] = undefined as unknown as Process;
        const reason = p._reason;
        const pid = p.pid;
        const links = p._links;
        p._links = null;
        if (links !== null) for (const other of links) this._exitSignal(pid, other, reason, true);
        const owned = p._monitors;
        p._monitors = null;
        if (owned !== null) {
          for (const m of owned.values()) {
            if (m.target.node === this.name) this.local(m.target)?._monitoredBy?.delete(m.ref);
            else {
              this.remoteMonitors.delete(m.ref.id);
              this.router.demonitor(pid, m.object, m.ref);
            }
          }
        }
        const watchers = p._monitoredBy;
        p._monitoredBy = null;
        if (watchers !== null) {
          for (const m of watchers.values()) {
            if (m.owner instanceof Process) m.owner._monitors?.delete(m.ref);
            else this.handlerMonitors.delete(m.ref);
            this.deliverDown(m.owner, m.ref, m.object, reason);
          }
        }
        const cleanups = p._cleanups;
        p._cleanups = null;
        if (cleanups !== null) for (const c of cleanups) c.onOwnerExit();
        pid._proc = undefined;
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
    const aborted = new RigilError('ERR_NODE_STOPPED', `node ${this.name} stopped`, 'node_stopped');
    for (const h of [...this.handlerMonitors.values()]) {
      this.handlerMonitors.delete(h.ref);
      (h.owner as MonitorHandler).onDown(h.ref, aborted, h.object);
    }
    this.aliases.clear();
    this.names.clear();
    this.stoppedSignal.resolve();
  }
}

function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Removes `pid` from a link set: by identity (pids of live processes and of connected nodes are
 * canonical objects), else by value — a pid of a node's earlier incarnation may come back from
 * the wire as another object.
 */
function deletePid(set: Set<Pid>, pid: Pid): boolean {
  if (set.delete(pid)) return true;
  for (const x of set) {
    if (x.equals(pid)) {
      set.delete(x);
      return true;
    }
  }
  return false;
}

function ownerPid(owner: Process | MonitorHandler, node: Node): Pid {
  return owner instanceof Process ? owner.pid : node.systemPid;
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
    send() {},
    sendNamed() {},
    sendAlias() {},
    link(from, to) {
      node._exitSignal(to, from, 'noconnection', true);
    },
    unlink() {},
    exit() {},
    monitor(_owner, _target, ref) {
      node._remoteDown(ref, 'noconnection');
    },
    demonitor() {},
  };
}
