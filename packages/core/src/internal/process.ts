/**
 * The process record: one object that is both the runtime's bookkeeping (mailbox, links,
 * monitors, flags) and the `self` handle a process's own code uses — typed for that code as
 * the public `Process` interface (../process.ts), so none of the fields below is part of the
 * API. One object, not a handle and a record, because a million processes must stay small.
 *
 * Two kinds share this record (DESIGN §2):
 * - an async function, `node.spawn(async (self) => { … await self.receive(…) … })`;
 * - a behaviour (gen_server, supervisor, …) whose `BehaviourLoop.handle` the scheduler
 *   calls once per message, with no Promise unless the handler is itself async.
 */
import { coreError } from '../errors.js';
import type { Pid, Ref } from '../pid.js';
import {
  ProcessExited,
  TIMEOUT,
  type Destination,
  type Matcher,
  type MonitorHandler,
  type MonitorTarget,
  type NodeType,
  type Process,
  type ProcessFunction,
  type ProcessStatus,
  type SpawnOptions,
  type Timeout,
} from '../process.js';
import type { ExitReason } from '../reason.js';
import type { Timer } from '../timer.js';

/** A behaviour's message loop: called by the scheduler for each message, in order. */
export interface BehaviourLoop {
  /** Handles one message; a returned promise makes the process take no message until it settles. */
  handle(self: ProcessRecord, msg: unknown): void | PromiseLike<void>;
  /**
   * What introspection shows of a process of this behaviour, from its record (`_data`): read
   * only when a tool asks (`processStats`), never on the message path.
   */
  describe?(data: unknown): BehaviourDescription;
}

/** A behaviour process as introspection shows it (introspect.ts). */
export interface BehaviourDescription {
  /** `'gen_server'`, `'gen_statem'`, `'supervisor'`, … */
  readonly behaviour: string;
  /** The callback module's name, when it has one (a class instance's class, or a `name` property). */
  readonly module: string | undefined;
  /** For a supervisor: the restarts it made since it started. */
  readonly restarts?: number;
  /** The value the memory estimate weighs (the behaviour's state). */
  readonly state?: unknown;
}

/**
 * A callback object may carry this key with a function that describes the process from its
 * state (the supervisor does: its callbacks are gen_server callbacks). Internal to core.
 */
export const DESCRIBE: unique symbol = Symbol('rigil.describe');

/** A monitor, shared by the owner's and the target's tables. */
export interface Monitor {
  readonly ref: Ref;
  /** Owner: a process (gets a `DOWN` message) or a handler. */
  readonly owner: ProcessRecord | MonitorHandler;
  /** The monitored pid. */
  readonly target: Pid;
  /** What the `DOWN` names: the pid, or `[name, node]`. */
  readonly object: Pid | readonly [string, string];
}

/**
 * The monitor of a call on a local server (gen.ts): linked into the server's `_calls` list
 * rather than its `_monitoredBy` Map, so a call costs no hash-table insert and delete (a Map
 * with an entry added and removed per call rehashes every few calls).
 */
export interface CallMonitor extends Monitor {
  /** @internal Neighbours in the target's `_calls` list (null at the ends, and once unlinked). */
  prev: CallMonitor | null;
  next: CallMonitor | null;
}

/**
 * Something to undo when its owner process exits (a request in flight). A process holds one
 * directly, more in a Set: a process mostly has one call in flight, and a Set entry added and
 * removed per call costs hashing and rehashing.
 */
export interface Cleanup {
  onOwnerExit(): void;
}

/** Registers `c` to run when `p` exits (see `Cleanup`). */
export function addCleanup(p: ProcessRecord, c: Cleanup): void {
  const cs = p._cleanups;
  if (cs === null) p._cleanups = c;
  else if (cs instanceof Set) cs.add(c);
  else p._cleanups = new Set([cs, c]);
}

/** Forgets a cleanup registered with `addCleanup`. */
export function removeCleanup(p: ProcessRecord, c: Cleanup): void {
  const cs = p._cleanups;
  if (cs === c) p._cleanups = null;
  else if (cs instanceof Set) cs.delete(c);
}

/** A never-settling promise: what a dead process's `receive` returns. */
const NEVER: Promise<never> = new Promise<never>(() => undefined);

const QUEUED = 1;
const BUSY = 2;
const DEAD = 4;
const TRAP = 8;
/** Suspended on a busy distribution connection (see scheduler.ts). */
const SUSPENDED = 16;
/** An async-function process whose body (in `_data`) has not been entered yet. */
const STARTING = 32;

/** The mailbox of a process that never got a message, and of a dead one (shared, frozen). */
const EMPTY: unknown[] = [];
Object.freeze(EMPTY);

/** The value of `_m1` when it holds no message. */
const NONE: unique symbol = Symbol('rigil.none');

/** Messages a behaviour handles in one scheduler slice before others get a turn. */
const SLICE = 64;

/**
 * The rarely used part of a process record, allocated on first use: most processes (a
 * million idle ones in the spawn benchmark) have no link, monitor, name, application or
 * cleanup, and have not exited.
 */
class ProcessExtra {
  reason: ExitReason = undefined;
  links: Set<Pid> | null = null;
  monitors: Map<Ref, Monitor> | null = null;
  monitoredBy: Map<Ref, Monitor> | null = null;
  name: string | undefined = undefined;
  group: unknown = undefined;
  cleanups: Cleanup | Set<Cleanup> | null = null;
}

/** The record of one process (see the module comment). */
export class ProcessRecord implements Process {
  /** This process's pid (OTP's `self()`). */
  readonly pid: Pid;
  /** The node the process runs on. */
  readonly node: NodeType;

  /**
   * @internal A behaviour's oldest pending message when it arrived to an empty mailbox, else
   * `NONE`: the mailbox is this one, then `_q` from `_h` on. A behaviour that gets one message
   * at a time (a ring, a server called by one client) never touches an array — one cache line
   * less per message, and no mailbox array per process. `receive` and `flush` spill it into
   * `_q` first (`_spill`), so selective receive only ever sees the array.
   */
  _m1: unknown = NONE;
  /** @internal Mailbox: messages from `_h` on are pending, in arrival order (a shared empty array until the first message). */
  _q: unknown[] = EMPTY;
  /** @internal Index of the oldest pending message. */
  _h = 0;
  /** @internal The pending receive has tested every message before this index. */
  _scan = 0;
  /** @internal Resolver of the pending `receive`, or null. */
  _resolve: ((m: unknown) => void) | null = null;
  /** @internal Pattern of the pending `receive` (undefined: any message). */
  _match: Matcher | undefined = undefined;
  /** @internal Timeout of the pending `receive`. */
  _timer: Timer | null = null;
  /** @internal Behaviour loop, for behaviour processes. */
  _loop: BehaviourLoop | null = null;
  /**
   * @internal Behaviour state (e.g. the gen_server's server record); for an async-function
   * process not yet started (flag `STARTING`), its body — one field for both, as no process
   * is both at once.
   */
  _data: unknown = undefined;
  /** @internal Monitors of calls in flight to this process, most recent first (see `CallMonitor`). */
  _calls: CallMonitor | null = null;
  /**
   * @internal What most processes never use — links, monitors, a name, an application, exit
   * cleanups, the exit reason — allocated on first use (see `ProcessExtra`): an idle process
   * is 48 bytes smaller with one field here instead of seven.
   */
  private _x: ProcessExtra | null = null;
  /**
   * @internal Messages taken from the mailbox (by `receive` or the behaviour loop): the
   * introspection's "messages handled", counted with one increment in `_take`. OTP counts
   * reductions instead, which JavaScript cannot.
   */
  _handled = 0;

  /** @internal The boolean flags below, packed (one field instead of four per process). */
  private _flags = 0;

  constructor(node: NodeType, pid: Pid) {
    this.node = node;
    this.pid = pid;
  }

  /** @internal On the run queue. */
  get _queued(): boolean {
    return (this._flags & QUEUED) !== 0;
  }
  set _queued(v: boolean) {
    this._flags = v ? this._flags | QUEUED : this._flags & ~QUEUED;
  }

  /** @internal A behaviour handler's promise is in flight. */
  get _busy(): boolean {
    return (this._flags & BUSY) !== 0;
  }
  set _busy(v: boolean) {
    this._flags = v ? this._flags | BUSY : this._flags & ~BUSY;
  }

  /** @internal Exited. */
  get _dead(): boolean {
    return (this._flags & DEAD) !== 0;
  }
  set _dead(v: boolean) {
    this._flags = v ? this._flags | DEAD : this._flags & ~DEAD;
  }

  /**
   * @internal Suspended by a send to a busy connection (scheduler.ts): takes no message and
   * runs no code until the connection drains (OTP's `suspended` status).
   */
  get _suspended(): boolean {
    return (this._flags & SUSPENDED) !== 0;
  }
  set _suspended(v: boolean) {
    this._flags = v ? this._flags | SUSPENDED : this._flags & ~SUSPENDED;
  }

  /** @internal Trapping exits (OTP's `process_flag(trap_exit, true)`). */
  get _trap(): boolean {
    return (this._flags & TRAP) !== 0;
  }
  set _trap(v: boolean) {
    this._flags = v ? this._flags | TRAP : this._flags & ~TRAP;
  }

  /** @internal Why it exited. */
  get _reason(): ExitReason {
    return this._x === null ? undefined : this._x.reason;
  }
  set _reason(v: ExitReason) {
    if (v !== undefined || this._x !== null) this._extra().reason = v;
  }

  /** @internal Linked pids (both directions hold the link). */
  get _links(): Set<Pid> | null {
    return this._x === null ? null : this._x.links;
  }
  set _links(v: Set<Pid> | null) {
    if (v !== null || this._x !== null) this._extra().links = v;
  }

  /** @internal Monitors this process owns, by ref. */
  get _monitors(): Map<Ref, Monitor> | null {
    return this._x === null ? null : this._x.monitors;
  }
  set _monitors(v: Map<Ref, Monitor> | null) {
    if (v !== null || this._x !== null) this._extra().monitors = v;
  }

  /** @internal Monitors others hold on this process, by ref. */
  get _monitoredBy(): Map<Ref, Monitor> | null {
    return this._x === null ? null : this._x.monitoredBy;
  }
  set _monitoredBy(v: Map<Ref, Monitor> | null) {
    if (v !== null || this._x !== null) this._extra().monitoredBy = v;
  }

  /** @internal Registered name. */
  get _name(): string | undefined {
    return this._x === null ? undefined : this._x.name;
  }
  set _name(v: string | undefined) {
    if (v !== undefined || this._x !== null) this._extra().name = v;
  }

  /** @internal Owner for group-leader-like bookkeeping (the application that spawned it). */
  get _group(): unknown {
    return this._x === null ? undefined : this._x.group;
  }
  set _group(v: unknown) {
    if (v !== undefined || this._x !== null) this._extra().group = v;
  }

  /** @internal Cleanups to run at exit (pending calls, application bookkeeping). */
  get _cleanups(): Cleanup | Set<Cleanup> | null {
    return this._x === null ? null : this._x.cleanups;
  }
  set _cleanups(v: Cleanup | Set<Cleanup> | null) {
    if (v !== null || this._x !== null) this._extra().cleanups = v;
  }

  private _extra(): ProcessExtra {
    return (this._x ??= new ProcessExtra());
  }

  /**
   * @internal Frees the rarely used part once nothing is left in it (a gen_server after the
   * monitor of its start): called where a process goes idle, not on every emptying, so a
   * process that keeps linking or calling does not allocate it again and again.
   */
  _compact(): void {
    const x = this._x;
    if (
      x !== null &&
      x.reason === undefined &&
      x.links === null &&
      x.monitors === null &&
      x.monitoredBy === null &&
      x.name === undefined &&
      x.group === undefined &&
      x.cleanups === null
    ) {
      this._x = null;
    }
  }

  // ---------------------------------------------------------------- public API (self)

  /**
   * Takes the oldest message that `match` accepts, waiting up to `timeoutMs` (OTP's `receive`).
   * Unmatched messages stay in the mailbox in order. `timeoutMs = 0` polls; omitted or
   * `Infinity` waits forever; on timeout the promise resolves to `TIMEOUT`. A process suspended
   * by a send to a busy node starts its receive (and its timeout) only once it runs again.
   * @example const m = await self.receive((m): m is Ping => isPing(m), 1000);
   */
  receive(): Promise<unknown>;
  receive<T>(match: ((m: unknown) => m is T) | undefined): Promise<T>;
  receive(match: ((m: unknown) => boolean) | undefined): Promise<unknown>;
  receive<T>(match: ((m: unknown) => m is T) | undefined, timeoutMs: number): Promise<T | Timeout>;
  receive(match: ((m: unknown) => boolean) | undefined, timeoutMs: number): Promise<unknown>;
  receive(match?: Matcher, timeoutMs?: number): Promise<unknown> {
    if (this._dead) return NEVER;
    if (this._resolve !== null) throw coreError('ERR_BADARG', `${this.pid} is already waiting in receive`);
    // Suspended by a busy remote send: the receive begins once the connection drains — the one
    // point where an async function can be held, as a send cannot block in JavaScript.
    if (this._suspended) return this.node._scheduler.whenResumed(this).then(() => this.receive(match, timeoutMs!));
    if (this._m1 !== NONE) this._spill();
    const i = this._find(match, this._h);
    if (this._dead) return NEVER; // the pattern threw: the process has crashed
    if (i >= 0) return Promise.resolve(this._take(i));
    if (timeoutMs === 0) return Promise.resolve(TIMEOUT);
    if (timeoutMs !== undefined && !(timeoutMs > 0)) throw coreError('ERR_BADARG', `bad receive timeout: ${timeoutMs}`);
    return new Promise((resolve) => {
      this._resolve = resolve;
      this._match = match;
      this._scan = this._q.length;
      if (timeoutMs !== undefined && timeoutMs !== Infinity) {
        this._timer = this.node.timers.schedule(timeoutMs, receiveTimedOut, this);
      }
    });
  }

  /**
   * Sends `msg` to a pid, a local name or `[name, node]` (OTP's `erlang:send/2`); a dead sender
   * sends nothing. A send to a node whose connection is busy suspends this process (see receive).
   */
  send(dest: Destination, msg: unknown): void {
    if (!this._dead) this.node._send(dest, msg, this);
  }

  /** Links this process to `pid` (OTP's `link/1`); a dead `pid` sends this process an exit `noproc`. */
  link(pid: Pid): void {
    this._checkAlive();
    this.node._links.link(this, pid);
    this._checkAlive();
  }

  /** Removes the link to `pid` (OTP's `unlink/1`). */
  unlink(pid: Pid): void {
    this.node._links.unlink(this, pid);
  }

  /** Monitors a pid or `[name, node]` (OTP's `monitor(process, X)`); returns the monitor ref. */
  monitor(target: MonitorTarget): Ref {
    this._checkAlive();
    return this.node._monitors.monitor(this, target, this.node.makeRef());
  }

  /**
   * Removes a monitor (OTP's `demonitor/2`); with `flush` also drops a `DOWN` already queued.
   * Returns false when the monitor was already gone.
   */
  demonitor(ref: Ref, options?: { flush?: boolean }): boolean {
    const active = this.node._monitors.demonitor(ref, this);
    if (options?.flush) this.flush((m) => (m as { tag?: string; ref?: Ref }).tag === 'DOWN' && (m as { ref?: Ref }).ref === ref);
    return active;
  }

  /**
   * `exit(reason)` ends this process now with `reason` (OTP's `exit/1`) and never returns;
   * `exit(pid, reason)` sends `pid` an exit signal (OTP's `exit/2`).
   */
  exit(reason: ExitReason): never;
  exit(pid: Pid, reason: ExitReason): void;
  exit(a: unknown, b?: unknown): void {
    if (arguments.length >= 2) {
      this._checkAlive();
      this.node._links.exitSignal(this.pid, a as Pid, b, false);
      this._checkAlive();
      return;
    }
    // An async-function process ends now. A behaviour unwinds to its loop, which runs its
    // terminate callback and then ends the process (OTP catches exit/1 in callbacks).
    if (this._loop === null) this.node._terminate(this, a);
    throw new ProcessExited(a);
  }

  /** Sets trap_exit and returns the previous value (OTP's `process_flag(trap_exit, Flag)`). */
  trapExit(flag: boolean): boolean {
    const old = this._trap;
    this._trap = flag;
    return old;
  }

  /** Spawns a process (OTP's `spawn/1`). */
  spawn(fn: ProcessFunction, options?: SpawnOptions): Pid {
    this._checkAlive();
    return this.node._spawn(fn, null, options, null, undefined, this);
  }

  /** Spawns a process linked to this one, atomically (OTP's `spawn_link/1`). */
  spawnLink(fn: ProcessFunction): Pid {
    this._checkAlive();
    return this.node._spawn(fn, null, undefined, this, undefined, this);
  }

  /** Spawns a process and monitors it, atomically (OTP's `spawn_monitor/1`). */
  spawnMonitor(fn: ProcessFunction): { pid: Pid; ref: Ref } {
    this._checkAlive();
    const pid = this.node._spawn(fn, null, undefined, null, undefined, this);
    return { pid, ref: this.monitor(pid) };
  }

  /** Sends `msg` to `dest` after `ms` milliseconds (OTP's `erlang:send_after/3`). */
  sendAfter(ms: number, dest: Destination, msg: unknown): Timer {
    this._checkAlive();
    return this.node.sendAfter(ms, dest, msg);
  }

  /** Removes and returns every queued message that `match` accepts (all when omitted). */
  flush(match?: Matcher): unknown[] {
    const out: unknown[] = [];
    if (this._m1 !== NONE) this._spill();
    if (this._dead || this._q.length === 0) return out;
    const q = this._q;
    let w = this._h;
    for (let r = this._h; r < q.length; r++) {
      const m = q[r];
      if (match === undefined || match(m)) out.push(m);
      else q[w++] = m;
    }
    q.length = w;
    if (this._scan > w) this._scan = w;
    return out;
  }

  /** True while this process is alive (OTP's `is_process_alive(self())`). */
  get alive(): boolean {
    return !this._dead;
  }

  /** Number of messages waiting in the mailbox. */
  get queueLength(): number {
    return this._q.length - this._h + (this._m1 !== NONE ? 1 : 0);
  }

  /** Lifecycle status of this process. */
  get status(): ProcessStatus {
    if (this._dead) return 'dead';
    if (this._suspended) return 'suspended';
    if ((this._flags & STARTING) !== 0) return 'starting';
    if (this._resolve !== null) return 'waiting';
    if (this._loop !== null && !this._busy && !this._queued) return 'waiting';
    return 'running';
  }

  /** Registered name, if any. */
  get registeredName(): string | undefined {
    return this._name;
  }

  toString(): string {
    return this.pid.toString();
  }

  // ---------------------------------------------------------------- runtime internals

  /** @internal Appends a message and wakes the process if it can use it. */
  _deliver(msg: unknown): void {
    if (this._dead) return;
    let q = this._q;
    if (q === EMPTY) {
      if (this._loop !== null && this._m1 === NONE && this._resolve === null) {
        // A behaviour's first pending message: no array yet (see `_m1`).
        this._m1 = msg;
        if ((this._flags & (BUSY | QUEUED | SUSPENDED)) === 0) this.node._scheduler.enqueue(this);
        return;
      }
      this._q = q = [];
    }
    const resolve = this._resolve;
    if (resolve !== null) {
      if (this._suspended) {
        // Woken by `Scheduler.resume`, which re-queues a process with work.
        q.push(msg);
        return;
      }
      if (this._scan === q.length) {
        let ok: boolean;
        try {
          ok = this._match === undefined || this._match(msg);
        } catch (e) {
          this.node._crash(this, e);
          return;
        }
        if (!ok) {
          q.push(msg);
          this._scan = q.length;
          return;
        }
        if (this.node._scheduler.take()) {
          this._wake(resolve, msg);
          return;
        }
      }
      q.push(msg);
      this.node._scheduler.enqueue(this);
      return;
    }
    if (this._loop !== null) {
      if (this._m1 === NONE && this._h === q.length) this._m1 = msg;
      else q.push(msg);
      if ((this._flags & (BUSY | QUEUED | SUSPENDED)) === 0) this.node._scheduler.enqueue(this);
      return;
    }
    q.push(msg);
  }

  /** @internal Number of calls in flight to this process (the length of `_calls`). */
  _callCount(): number {
    let n = 0;
    for (let m = this._calls; m !== null; m = m.next) n++;
    return n;
  }

  /** @internal Work is pending for the scheduler. */
  _hasWork(): boolean {
    if ((this._flags & (DEAD | SUSPENDED)) !== 0) return false;
    if (this._loop !== null) return !this._busy && (this._m1 !== NONE || this._h < this._q.length);
    return this._resolve !== null && this._scan < this._q.length;
  }

  /** @internal Runs one scheduler slice; returns how many messages it used. */
  _runSlice(budget: number): number {
    if ((this._flags & (DEAD | SUSPENDED)) !== 0) return 0;
    if ((this._flags & STARTING) !== 0) {
      const fn = this._data as ProcessFunction;
      this._flags &= ~STARTING;
      this._data = undefined;
      start(this, fn);
      return 1;
    }
    const loop = this._loop;
    if (loop !== null) {
      let n = 0;
      const limit = budget < SLICE ? budget : SLICE;
      // A send in the handler may suspend the process: it then takes no next message.
      while (n < limit && (this._flags & (BUSY | DEAD | SUSPENDED)) === 0) {
        let msg = this._m1;
        if (msg !== NONE) {
          this._m1 = NONE;
          this._handled++;
        } else if (this._h < this._q.length) msg = this._take(this._h);
        else break;
        n++;
        let r: void | PromiseLike<void>;
        try {
          r = loop.handle(this, msg);
        } catch (e) {
          this.node._crash(this, e);
          break;
        }
        if (r !== undefined && typeof r.then === 'function') {
          this._busy = true;
          r.then(
            () => this._resume(),
            (e: unknown) => this.node._crash(this, e),
          );
        }
      }
      return n;
    }
    const resolve = this._resolve;
    if (resolve !== null) {
      const i = this._find(this._match, this._scan);
      if (i >= 0) this._wake(resolve, this._take(i));
      else this._scan = this._q.length;
      return 1;
    }
    return 0;
  }

  /** @internal An async behaviour handler settled: take the next message. */
  _resume(): void {
    this._busy = false;
    if ((this._flags & (DEAD | SUSPENDED)) === 0 && (this._m1 !== NONE || this._h < this._q.length)) this.node._scheduler.enqueue(this);
  }

  /** @internal Makes this an async-function process that enters `fn` on its first slice. */
  _setBody(fn: ProcessFunction): void {
    this._data = fn;
    this._flags |= STARTING;
  }

  /** @internal Becomes a behaviour process with `loop` (used by gen_server & co.). */
  _becomeBehaviour(loop: BehaviourLoop, data: unknown): void {
    this._loop = loop;
    this._data = data;
    if ((this._m1 !== NONE || this._h < this._q.length) && (this._flags & (BUSY | SUSPENDED)) === 0) this.node._scheduler.enqueue(this);
  }

  /**
   * @internal Throws the unwinding sentinel when this process has died: code of a killed
   * process that resumes later (after an outside await) can no longer act.
   */
  _checkAlive(): void {
    if (this._dead) throw new ProcessExited(this._reason);
  }

  /** @internal Clears mailbox, receive and timers at exit. */
  _release(): void {
    this._dead = true;
    this._resolve = null;
    this._match = undefined;
    if ((this._flags & STARTING) !== 0) {
      this._flags &= ~STARTING;
      this._data = undefined;
    }
    if (this._timer !== null) {
      this.node.timers.drop(this._timer);
      this._timer = null;
    }
    this._m1 = NONE;
    this._q = EMPTY;
    this._h = 0;
    this._scan = 0;
  }

  /**
   * @internal Moves the inline oldest message (`_m1`) to the head of `_q`, where receive,
   * flush and introspection read the mailbox.
   */
  _spill(): void {
    const m = this._m1;
    if (m === NONE) return;
    this._m1 = NONE;
    if (this._q === EMPTY) this._q = [];
    if (this._h > 0) this._q[--this._h] = m;
    else this._q.unshift(m);
  }

  private _wake(resolve: (m: unknown) => void, msg: unknown): void {
    this._resolve = null;
    this._match = undefined;
    if (this._timer !== null) {
      this.node.timers.drop(this._timer);
      this._timer = null;
    }
    resolve(msg);
  }

  private _find(match: Matcher | undefined, from: number): number {
    const q = this._q;
    if (match === undefined) return from < q.length ? from : -1;
    try {
      for (let i = from; i < q.length; i++) if (match(q[i])) return i;
    } catch (e) {
      this.node._crash(this, e);
    }
    return -1;
  }

  /** @internal Removes and returns the message at index `i`. */
  _take(i: number): unknown {
    this._handled++;
    const q = this._q;
    if (i === 0 && q.length === 1) {
      // The common case of a mailbox holding one message: no hole, no truncation.
      this._scan = 0;
      return q.pop();
    }
    const m = q[i];
    if (i === this._h) {
      q[i] = undefined;
      const h = ++this._h;
      if (h === q.length) {
        q.length = 0;
        this._h = 0;
        this._scan = 0;
      } else if (h > 1024 && h * 2 > q.length) {
        q.splice(0, h);
        this._h = 0;
        this._scan = Math.max(0, this._scan - h);
      }
    } else {
      q.splice(i, 1);
      if (this._scan > i) this._scan--;
    }
    return m;
  }
}


function receiveTimedOut(p: ProcessRecord): void {
  p._timer = null;
  const resolve = p._resolve;
  if (resolve === null || p._dead) return;
  p._resolve = null;
  p._match = undefined;
  resolve(TIMEOUT);
}

/**
 * Enters an async-function process. Its promise settles into the exit: `normal` on return, a
 * structured reason on throw. The two reactions are `bind`s of shared functions with the
 * process as `this`: 96 bytes per idle process, where two arrows and their shared context take
 * 152 (and an async wrapper frame more still).
 */
function start(p: ProcessRecord, fn: ProcessFunction): void {
  let r: unknown;
  try {
    r = fn(p);
  } catch (e) {
    p.node._crash(p, e);
    return;
  }
  if (r instanceof Promise) r.then(SETTLED.returned.bind(p), SETTLED.threw.bind(p));
  else p.node._terminate(p, 'normal');
}

/**
 * The reactions `start` binds. Methods of an object rather than named functions: tsx's
 * keepNames redefines a named function's `name`, and `bind` of such a function takes V8's slow
 * path, which gives every bound function its own property dictionary (500 bytes).
 */
const SETTLED = {
  returned(this: ProcessRecord): void {
    this.node._terminate(this, 'normal');
  },
  threw(this: ProcessRecord, e: unknown): void {
    this.node._crash(this, e);
  },
};

/** True for a process handle (rather than a node or anything else). */
export function isProcess(x: unknown): x is ProcessRecord {
  return x instanceof ProcessRecord;
}

/**
 * The record behind a `Process` handle (the same object, seen with its internals); throws
 * `ERR_BADARG` for anything else — a JavaScript caller may pass a `Node` where a process is due.
 */
export function recordOf(p: Process, what = 'a process'): ProcessRecord {
  if (p instanceof ProcessRecord) return p;
  throw coreError('ERR_BADARG', `expected ${what} (self), got ${describe(p)}`, 'badarg');
}

function describe(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  if (typeof x === 'object') return `an object of class ${x.constructor?.name ?? 'Object'}`;
  return typeof x;
}

/**
 * The name of a callback object, for introspection: its own `name` data property if it is a
 * string, else its class's name when it is a class instance; undefined for a plain object
 * literal (JavaScript gives those no name; OTP's callback modules always have one).
 */
export function callbackName(cb: unknown): string | undefined {
  if (typeof cb !== 'object' || cb === null) return undefined;
  const own = Object.getOwnPropertyDescriptor(cb, 'name');
  if (own !== undefined && 'value' in own && typeof own.value === 'string') return own.value.slice(0, 200);
  const proto = Object.getPrototypeOf(cb) as object | null;
  if (proto === null || proto === Object.prototype) return undefined;
  const ctor = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value as unknown;
  const name = typeof ctor === 'function' ? (Object.getOwnPropertyDescriptor(ctor, 'name')?.value as unknown) : undefined;
  return typeof name === 'string' && name !== '' ? name.slice(0, 200) : undefined;
}
