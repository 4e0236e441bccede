/**
 * Machinery shared by every behaviour (OTP's `gen.erl`, with the parts of `proc_lib` and `sys`
 * a behaviour needs): resolving a server reference, the call with monitor, alias and timeout,
 * the reply, `sendRequest`/`waitResponse`, and — for whoever writes a behaviour — starting
 * with acknowledgement, stopping, and system messages.
 *
 * A call creates one ref that is both the monitor on the server and the alias the reply is
 * addressed to (OTP 24+). The reply goes straight to the waiting caller, not through its
 * mailbox; once the call is over the alias is removed, so a late reply is dropped instead
 * of landing in the caller's mailbox.
 *
 * **Writing a behaviour** (gen_server, gen_statem, …) takes one constant `Behaviour<D>` object,
 * where `D` is the record a process of that behaviour keeps (its state and bookkeeping):
 * - `start(mode, caller, behaviour, data, options)` (OTP's `gen:start/6`) spawns the process
 *   with `behaviour.loop` and `data(parent)` as its record, registers its name, runs
 *   `behaviour.init(self, record)` inside it and resolves with OTP's start values
 *   (`{ ok: pid }`, `'ignore'`, `{ error: reason }`); messages wait until init has
 *   acknowledged, then `behaviour.enter` runs before the first one.
 * - the loop hands every `{ $gen: 'system' }` message to `handleSystem(self, record, behaviour,
 *   msg)` (OTP's `sys:handle_system_msg/6`), which answers `sys.getState`/`getStatus`/
 *   `replaceState` through the hooks `getState`, `getStatus`, `replaceState`, and runs
 *   `behaviour.terminate` for the `{ terminate }` request that `stop` sends.
 * - `stop(caller, server, reason, timeout)` (OTP's `gen:stop/3`) stops any behaviour process.
 * - in the loop, `dataOf(self)` is the process's record; `isParentExit` tells when an `EXIT`
 *   from its parent must end the process; `exitBehaviour`/`exitReasonOf` end it with the right
 *   reason (OTP's `exit/1` in the loop).
 * The smallest complete behaviour on this API is the `cell` in test/gen.test.ts (40 lines).
 */
import { CallError, coreError, RigilError, type CoreErrorCode } from './errors.js';
import { Node } from './node.js';
import { Pid, Ref } from './pid.js';
import { ProcessExited, type AliasHandler, type MonitorHandler, type Process } from './process.js';
import { addCleanup, ProcessRecord, removeCleanup, type BehaviourLoop, type CallMonitor } from './internal/process.js';
import { isExit, reasonFromThrown, type ExitMessage, type ExitReason } from './reason.js';
import type { Timer } from './timer.js';

/** How a caller names a server: pid, local name, `[name, node]`, or `{ global: name }`. */
export type ServerRef = Pid | string | readonly [name: string, node: string] | { readonly global: string };

/** Where a gen call comes from: a process (`self`) or code outside any process (the node). */
export type Caller = Process | Node;

/** Call message on the wire (OTP's `{'$gen_call', From, Request}`). */
export interface GenCallMessage {
  readonly $gen: 'call' | 'system';
  /** The caller's pid (the node's system pid for calls from outside a process). */
  readonly pid: Pid;
  /** Monitor ref and alias the reply goes to. */
  readonly tag: Ref;
  readonly req: unknown;
}

/** Cast message on the wire (OTP's `{'$gen_cast', Msg}`). */
export interface GenCastMessage {
  readonly $gen: 'cast';
  readonly msg: unknown;
}

/** True for a call or system message. */
export function isGenCall(m: unknown): m is GenCallMessage {
  const g = (m as { $gen?: unknown } | null)?.$gen;
  return g === 'call' || g === 'system';
}

/** True for a cast message. */
export function isGenCast(m: unknown): m is GenCastMessage {
  return (m as { $gen?: unknown } | null)?.$gen === 'cast';
}

/** The caller of a call, as handed to `handleCall` (OTP's `From`). */
export class From<R = unknown> {
  constructor(
    /** @internal */ readonly _node: Node,
    /** The caller's pid. */
    readonly pid: Pid,
    /** The call's tag (monitor ref and alias). */
    readonly tag: Ref,
  ) {}

  /** Sends the reply (OTP's `gen_server:reply/2`). */
  reply(value: R): void {
    this._node.sendAlias(this.tag, value);
  }
}

/** Sends `value` as the reply of the call from `from` (OTP's `gen:reply/2`). */
export function reply<R>(from: From<R>, value: R): void {
  from.reply(value);
}

/** The node a caller belongs to. */
export function nodeOf(caller: Caller): Node {
  return caller instanceof ProcessRecord ? caller.node : (caller as Node);
}

/**
 * Sends a cast to a behaviour process; always returns, whether or not it exists, and a dead
 * caller sends nothing (OTP's `gen:cast/2`, behind `gen_server:cast/2` and `gen_statem:cast/2`).
 */
export function cast(caller: Caller, server: ServerRef, msg: unknown): void {
  if (caller instanceof ProcessRecord && !caller.alive) return;
  const node = nodeOf(caller);
  const target = whereisServer(node, server);
  if (target === undefined) return;
  const m: GenCastMessage = { $gen: 'cast', msg };
  try {
    node.send(target, m);
  } catch {
    // cast never fails (OTP)
  }
}

/** Resolves a server reference to a pid, or undefined if nobody holds that name. */
export function whereisServer(node: Node, server: ServerRef): Pid | readonly [string, string] | undefined {
  if (server instanceof Pid) return server;
  if (typeof server === 'string') return node.whereis(server);
  if (Array.isArray(server)) {
    const [name, at] = server as readonly [string, string];
    return at === node.name ? node.whereis(name) : (server as readonly [string, string]);
  }
  if (typeof server === 'object' && server !== null && typeof (server as { global?: unknown }).global === 'string') {
    return node.globalNames?.whereis((server as { global: string }).global);
  }
  return undefined;
}

/** The outcome of a request (OTP's `wait_response/2` result). */
export type Response<R = unknown> =
  | { readonly reply: R }
  | { readonly error: readonly [reason: ExitReason, server: ServerRef] }
  | 'timeout';

/**
 * A request in flight (OTP's request id): the monitor and alias of one call, and the waiter.
 * @internal the fields are the runtime's; use `waitResponse`/`receiveResponse`.
 */
export class RequestId<R = unknown> implements MonitorHandler, AliasHandler {
  /** The outcome, once known. */
  outcome: { reply: R } | { error: readonly [ExitReason, ServerRef] } | undefined = undefined;
  private waiter: ((r: Response<R>) => void) | undefined = undefined;
  private timer: Timer | undefined = undefined;
  private abandonOnTimeout = false;
  private active = true;
  /** The monitor on a local server (removed directly); undefined for a remote one (removed by ref). */
  monitor: CallMonitor | undefined = undefined;
  /**
   * For `call`: the request, and the promise's settlers. The call's promise is settled right
   * here with the reply or the `CallError` (one promise and one microtask hop per call rather
   * than a `Response` promise and a `then` that unwraps it).
   */
  private req: unknown = undefined;
  private callResolve: ((v: R) => void) | undefined = undefined;
  private callReject: ((e: unknown) => void) | undefined = undefined;

  constructor(
    readonly node: Node,
    readonly tag: Ref,
    readonly server: ServerRef,
    readonly owner: ProcessRecord | undefined,
  ) {}

  onAlias(msg: unknown): void {
    if (this.outcome !== undefined) return;
    const resolve = this.callResolve;
    if (resolve !== undefined) {
      // A call: no `Response` object, the reply goes straight to the caller's promise.
      this.outcome = CALL_DONE;
      this.callResolve = this.callReject = undefined;
      this.abandon();
      resolve(msg as R);
      return;
    }
    this.outcome = { reply: msg as R };
    this.finish();
  }

  onDown(_ref: Ref, reason: ExitReason): void {
    this.active = false;
    if (this.outcome !== undefined) return;
    this.node._registry.removeAlias(this.tag);
    this.outcome = { error: [reason, this.server] };
    this.finish();
  }

  /**
   * @internal Waits for the reply of a call up to `ms`: resolves with it, or rejects with the
   * `CallError` (OTP's `gen:do_call/4` receive). A timeout abandons the request.
   */
  callWait(ms: number, req: unknown): Promise<R> {
    const o = this.outcome;
    if (o !== undefined) {
      // Settled before the wait (noproc at once).
      return 'reply' in o ? Promise.resolve(o.reply) : Promise.reject(callFailure(o.error[0], this.server, req));
    }
    const p = new Promise<R>((resolve, reject) => {
      this.callResolve = resolve;
      this.callReject = reject;
    });
    this.req = req;
    this.abandonOnTimeout = true;
    if (ms === 0) this.timedOut();
    else if (ms !== Infinity) this.timer = this.node.timers.schedule(ms, requestTimedOut, this);
    return p;
  }

  /** The caller died: forget the request. */
  onOwnerExit(): void {
    this.abandon();
  }

  /** @internal Waits for the outcome up to `ms`; `abandon` makes a timeout final. */
  wait(ms: number, abandon: boolean): Promise<Response<R>> {
    if (this.outcome !== undefined) {
      const o = this.outcome;
      return Promise.resolve(o);
    }
    if (ms === 0) {
      if (abandon) this.abandon();
      return Promise.resolve('timeout');
    }
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.abandonOnTimeout = abandon;
      if (ms !== Infinity) this.timer = this.node.timers.schedule(ms, requestTimedOut, this);
    });
  }

  /** @internal The waiter's time is up. */
  timedOut(): void {
    this.timer = undefined;
    const reject = this.callReject;
    if (reject !== undefined) {
      this.outcome = CALL_DONE;
      this.callResolve = this.callReject = undefined;
      this.abandon();
      reject(new CallError('ERR_CALL_TIMEOUT', 'timeout', this.server, this.req));
      return;
    }
    const w = this.waiter;
    this.waiter = undefined;
    if (this.abandonOnTimeout) this.abandon();
    w?.('timeout');
  }

  /** Removes the monitor and the alias: later replies are dropped (OTP's `demonitor(Ref, [flush])` on the alias). */
  abandon(): void {
    this.node._registry.removeAlias(this.tag);
    if (this.active) {
      this.active = false;
      if (this.monitor !== undefined) this.node._monitors.dropCallMonitor(this.monitor);
      else this.node.demonitor(this.tag);
    }
    if (this.owner !== undefined) removeCleanup(this.owner, this);
    if (this.timer !== undefined) {
      this.node.timers.drop(this.timer);
      this.timer = undefined;
    }
  }

  private finish(): void {
    this.abandon();
    const reject = this.callReject;
    if (reject !== undefined) {
      // A call whose server went down: the outcome is `{ error }`.
      this.callResolve = this.callReject = undefined;
      const o = this.outcome as { error: readonly [ExitReason, ServerRef] };
      reject(callFailure(o.error[0], this.server, this.req));
      return;
    }
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      w(this.outcome!);
    }
  }
}

function requestTimedOut(r: RequestId<any>): void {
  r.timedOut();
}

/** The outcome a settled call keeps: its promise has the value, nobody reads this. */
const CALL_DONE: { readonly reply: never } = { reply: undefined as never };

/**
 * Sends a request and returns its id without waiting (OTP's `gen:send_request/3`). A server
 * that cannot be resolved gives an id whose outcome is already `{ error: ['noproc', server] }`.
 */
export function sendRequest<R = unknown>(caller: Caller, server: ServerRef, req: unknown, kind: 'call' | 'system' = 'call'): RequestId<R> {
  const node = nodeOf(caller);
  const owner = caller instanceof ProcessRecord ? caller : undefined;
  const tag = node.makeRef();
  const r = new RequestId<R>(node, tag, server, owner);
  const target = whereisServer(node, server);
  if (target === undefined) {
    r.outcome = { error: ['noproc', server] };
    return r;
  }
  node._registry.addAlias(tag, r);
  r.monitor = node._monitors.monitorForCall(r, target, tag);
  if (r.outcome !== undefined) return r;
  if (owner !== undefined) addCleanup(owner, r);
  const msg: GenCallMessage = { $gen: kind, pid: owner?.pid ?? node.systemPid, tag, req };
  node.send(target, msg);
  return r;
}

/** Waits up to `timeoutMs` for the response; on timeout the request stays active (OTP's `gen:wait_response/2`). */
export function waitResponse<R>(id: RequestId<R>, timeoutMs: number = Infinity): Promise<Response<R>> {
  return id.wait(timeoutMs, false);
}

/** Like `waitResponse`, but a timeout abandons the request (OTP's `gen:receive_response/2`). */
export function receiveResponse<R>(id: RequestId<R>, timeoutMs: number = Infinity): Promise<Response<R>> {
  return id.wait(timeoutMs, true);
}

/**
 * Calls a server and waits for the reply (OTP's `gen:call/4`). Rejects with a `CallError`:
 * `ERR_CALL_TIMEOUT`, `ERR_CALL_NOPROC`, `ERR_CALL_NODEDOWN`, `ERR_CALL_EXIT`, `ERR_CALLING_SELF`.
 */
export function call<R = unknown>(caller: Caller, server: ServerRef, req: unknown, timeoutMs = 5000, kind: 'call' | 'system' = 'call'): Promise<R> {
  if (caller instanceof ProcessRecord && server instanceof Pid && server === caller.pid) {
    return Promise.reject(new CallError('ERR_CALLING_SELF', 'calling_self', server, req));
  }
  if (caller instanceof ProcessRecord && typeof server === 'string' && caller.registeredName === server) {
    return Promise.reject(new CallError('ERR_CALLING_SELF', 'calling_self', server, req));
  }
  return sendRequest<R>(caller, server, req, kind).callWait(timeoutMs, req);
}

/** The `CallError` for a call whose server went down with `reason`. */
export function callFailure(reason: ExitReason, server: ServerRef, req: unknown): CallError {
  let code: CoreErrorCode = 'ERR_CALL_EXIT';
  let r = reason;
  if (reason === 'noproc') code = 'ERR_CALL_NOPROC';
  else if (reason === 'noconnection') {
    code = 'ERR_CALL_NODEDOWN';
    r = { nodedown: server instanceof Pid ? server.node : Array.isArray(server) ? (server as readonly string[])[1] : undefined };
  } else if (reason instanceof Error) code = 'ERR_NODE_STOPPED';
  return new CallError(code, r, server, req);
}

// ---------------------------------------------------------------- behaviours: start, stop, system messages

/** How `start` ties the new process to its caller (OTP's `link | nolink | monitor` of `gen:start/6`). */
export type StartMode = 'nolink' | 'link' | 'monitor';

/** The options every behaviour's start takes (OTP's `{local, Name} | {global, Name}` and start options). */
export interface BehaviourStartOptions {
  /** Register the process under a local name, or `{ global: name }`, before its init runs. */
  name?: string | { global: string };
  /** Milliseconds init may take (default: no limit); past it, start gives `{ error: 'timeout' }` and the process is killed. */
  timeout?: number;
  /** Start with trap_exit set (OTP's behaviours set it in init; both work). */
  trapExit?: boolean;
}

/** What `start` resolves with (OTP's `{ok, Pid} | ignore | {error, Reason}`). */
export type StartResult = { ok: Pid } | { error: ExitReason } | 'ignore';
/** What `start('monitor', …)` resolves with (OTP's `{ok, {Pid, Mon}} | ignore | {error, Reason}`). */
export type StartMonitorResult = { ok: Pid; ref: Ref } | { error: ExitReason } | 'ignore';

/**
 * What a behaviour gives the shared machinery: its loop, its init, and the hooks of the
 * system messages. Write it once per behaviour as a constant (nothing here is allocated per
 * process or per message); `D` is the record each process of the behaviour keeps, created by
 * `start`'s `data` and handed back to every hook (the loop reads it with `recordOf(self)`).
 */
export interface Behaviour<D> {
  /** The name `sys.getStatus` shows as `module` (`'gen_server'`, `'gen_statem'`). */
  readonly module: string;
  /** The message loop, which gets messages once init has acknowledged. */
  readonly loop: BehaviourLoop;
  /**
   * Runs the behaviour's init in the new process (OTP's `Mod:init_it/6` up to
   * `proc_lib:init_ack`). Return (or resolve with) an object with `ok` to acknowledge,
   * `'ignore'`, `{ stop: reason }` (the process exits with it) or `{ error: reason }` (the
   * start fails with it, the process exits `normal`: OTP 26's `init_fail`); anything else fails the start with
   * `{ badReturnValue: value }`. A throw fails the start with the thrown reason.
   */
  init(self: Process, data: D): unknown;
  /**
   * Runs once the start is acknowledged, before the first message, with init's `ok` result
   * (gen_server: store the state, run `handleContinue`, arm the idle timeout). A returned promise
   * holds messages back until it settles; a rejection or throw crashes the process.
   */
  enter(self: Process, data: D, ack: { readonly ok: unknown }): void | PromiseLike<void>;
  /** The state `sys.getState` returns (OTP's `system_get_state/1`). */
  getState(data: D): unknown;
  /** Replaces the state with `fn(state)` and returns the new state (OTP's `system_replace_state/2`). */
  replaceState(data: D, fn: (state: unknown) => unknown): unknown;
  /** The state as `sys.getStatus` shows it (OTP's `format_status/1`). */
  getStatus(data: D): unknown;
  /**
   * Ends the process with `reason`, running the behaviour's terminate callback first (OTP's
   * `system_terminate/4`); used for the `{ terminate }` request of `stop`. May return a
   * promise; the loop must return it.
   */
  terminate(self: Process, data: D, reason: ExitReason, lastMsg: unknown): void | PromiseLike<void>;
}

/** The status `sys.getStatus` returns (OTP's `sys:get_status/1`, the useful part). */
export interface SystemStatus {
  readonly pid: Pid;
  readonly module: string;
  readonly status: 'running';
  readonly name: string | undefined;
  readonly state: unknown;
  readonly messageQueueLen: number;
}

/** The reply a system message gets when a behaviour's hook throws (OTP's `{error, {callback_failed, …}}`). */
export interface SystemCallbackFailed {
  readonly $gen: 'sys_error';
  /** The hook that threw: `getState`, `getStatus` or `replaceState`. */
  readonly callback: string;
  readonly reason: ExitReason;
}

/**
 * Throws `ERR_BADARG` unless `caller` is a process (a linked or monitored start needs one).
 * `api` names the function for the message, e.g. `'genServer.startLink'`; the message points
 * to `start()`, which works from outside a process.
 */
export function requireProcess(caller: unknown, api: string): asserts caller is Process {
  if (caller instanceof ProcessRecord) return;
  const alt = api.includes('.') ? `${api.slice(0, api.lastIndexOf('.'))}.start()` : 'start()';
  throw coreError(
    'ERR_BADARG',
    `${api} needs the calling process (self) as its first argument, got ${describeCaller(caller)}; from outside a process use ${alt}`,
    'badarg',
  );
}

/** Throws `ERR_BADARG` unless `caller` is a process or a node (`api` names the function for the message). */
export function requireCaller(caller: unknown, api: string): asserts caller is Caller {
  if (caller instanceof ProcessRecord || caller instanceof Node) return;
  throw coreError('ERR_BADARG', `${api} needs a process (self) or a node as its first argument, got ${describeCaller(caller)}`, 'badarg');
}

function describeCaller(x: unknown): string {
  if (x instanceof Node) return `the node ${x.name}`;
  if (x === null) return 'null';
  if (typeof x === 'object') return `an object (${x.constructor?.name ?? 'no prototype'})`;
  return typeof x;
}

/** The parent of a process started by `caller`: the caller's pid, or the node's system pid from outside a process. */
export function parentOf(caller: Caller): Pid {
  return caller instanceof ProcessRecord ? caller.pid : (caller as Node).systemPid;
}

/**
 * Starts a behaviour process and waits for its init to acknowledge (OTP's `gen:start/6` with
 * `proc_lib:start_link`'s ack). `mode`: `'link'` links it to `caller` (which must be a
 * process) at spawn; `'monitor'` monitors it from `caller` once started (OTP monitors at
 * spawn; the result is the same for a start that succeeds); `'nolink'` neither. `data(parent)`
 * makes the process's record; the parent is the caller's pid, or the node's system pid from
 * outside a process, so `node.exit(pid, 'shutdown')` stops a trapping server as its parent would.
 *
 * Resolves with `{ ok: pid }` (`{ ok: pid, ref }` for `'monitor'`), `'ignore'` (the process
 * exited `normal`), or `{ error: reason }`: a name already taken (`{ alreadyStarted: pid }`,
 * nothing spawned), `{ stop: reason }` or a throw from init (the process exits with that
 * reason), `'timeout'` past `options.timeout` (the process is killed), or the reason the
 * process died of during init. A linked caller that init's failure has killed is unwound with
 * `ProcessExited`, as OTP's caller would be dead. Bad arguments reject with `ERR_BADARG`.
 * `api` names the public function in those errors.
 */
export function start<D>(mode: 'monitor', caller: Caller, behaviour: Behaviour<D>, data: (parent: Pid) => D, options?: BehaviourStartOptions, api?: string): Promise<StartMonitorResult>;
export function start<D>(mode: 'link' | 'nolink', caller: Caller, behaviour: Behaviour<D>, data: (parent: Pid) => D, options?: BehaviourStartOptions, api?: string): Promise<StartResult>;
export async function start<D>(
  mode: StartMode,
  caller: Caller,
  behaviour: Behaviour<D>,
  data: (parent: Pid) => D,
  options: BehaviourStartOptions = {},
  api = `${behaviour.module}.start`,
): Promise<StartResult | StartMonitorResult> {
  if (mode === 'nolink') requireCaller(caller, api);
  else requireProcess(caller, api);
  if (typeof options !== 'object' || options === null) throw coreError('ERR_BADARG', `${api}: options must be an object`, 'badarg');
  const { name, timeout } = options;
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout >= 0)) {
    throw coreError('ERR_BADARG', `${api}: bad init timeout ${String(timeout)}`, 'badarg');
  }
  const node = nodeOf(caller);
  const linkTo = mode === 'link' ? (caller as ProcessRecord) : null;
  if (typeof name === 'string') {
    const holder = node.whereis(name);
    if (holder !== undefined) return { error: { alreadyStarted: holder } };
  } else if (name !== undefined) {
    if (typeof name !== 'object' || name === null || typeof name.global !== 'string') throw coreError('ERR_BADARG', `bad server name: ${String(name)}`);
    const holder = requireGlobal(node).whereis(name.global);
    if (holder !== undefined) return { error: { alreadyStarted: holder } };
  }
  linkTo?._checkAlive();
  const record = data(parentOf(caller));
  const self = node._spawnBehaviour(behaviour.loop, record, linkTo, caller instanceof ProcessRecord ? caller : null, options.trapExit ? { trapExit: true } : undefined);
  self._busy = true; // messages wait until init has acknowledged
  if (typeof name === 'string') node.register(name, self.pid);
  else if (name !== undefined) {
    if ((await requireGlobal(node).register(name.global, self.pid)) === 'no') {
      node._terminate(self, 'normal');
      return { error: { alreadyStarted: requireGlobal(node).whereis(name.global) } };
    }
  }
  const result = await runInit(self, behaviour, record, timeout);
  // A linked caller killed by the failed init must not run on (OTP: it is dead).
  linkTo?._checkAlive();
  if (mode === 'monitor' && typeof result === 'object' && 'ok' in result) {
    return { ok: result.ok, ref: (caller as Process).monitor(result.ok) };
  }
  return result;
}

function requireGlobal(node: Node): NonNullable<Node['globalNames']> {
  const g = node.globalNames;
  if (g === undefined) throw coreError('ERR_BADARG', `{ global } names need @rigil/net's global registry on ${node.name}`);
  return g;
}

/** Runs init in `self` and settles the start (OTP's `proc_lib:sync_start`). */
function runInit<D>(self: ProcessRecord, behaviour: Behaviour<D>, record: D, timeoutMs: number | undefined): Promise<StartResult> {
  return new Promise<StartResult>((resolve) => {
    const w = new InitWait(self, behaviour, record, resolve);
    // If the new process dies during init (killed, linked parent died), start fails with its reason.
    w.ref = self.node.monitor(self.pid, w);
    if (timeoutMs !== undefined && timeoutMs !== Infinity) w.timer = self.node.timers.schedule(timeoutMs, initTimedOut, w);
    try {
      const r = behaviour.init(self, record);
      if (r instanceof Promise) r.then((v: unknown) => w.result(v), (e: unknown) => w.error(e));
      else w.result(r);
    } catch (e) {
      w.error(e);
    }
  });
}

/**
 * One start waiting for its init (the state of `runInit`). A class rather than closures: a
 * start is a hot path (a supervisor starting thousands of children), and one object with
 * methods costs less than four closures per start.
 */
class InitWait<D> implements MonitorHandler {
  done = false;
  timer: Timer | undefined = undefined;
  ref: Ref | undefined = undefined;

  constructor(
    readonly self: ProcessRecord,
    readonly behaviour: Behaviour<D>,
    readonly record: D,
    readonly resolve: (r: StartResult) => void,
  ) {}

  /** The new process died during init. */
  onDown(_ref: Ref, reason: ExitReason): void {
    this.end({ error: reason });
  }

  /** What init returned (or resolved with). */
  result(r: unknown): void {
    const self = this.self;
    const node = self.node;
    if (this.done || self._dead) return;
    if (r === 'ignore') {
      this.end('ignore');
      node._terminate(self, 'normal');
      return;
    }
    if (typeof r === 'object' && r !== null && 'ok' in r) {
      this.end({ ok: self.pid });
      self._busy = false;
      let entered: void | PromiseLike<void>;
      try {
        entered = this.behaviour.enter(self, this.record, r);
      } catch (e) {
        node._crash(self, e);
        return;
      }
      if (entered !== undefined && typeof entered.then === 'function') {
        self._busy = true;
        entered.then(() => self._resume(), (e: unknown) => node._crash(self, e));
      } else self._resume();
      return;
    }
    if (typeof r === 'object' && r !== null && 'error' in r) {
      // OTP's `proc_lib:init_fail(…, {error, R}, {exit, normal})` (gen_server and gen_statem
      // since OTP 26): the start fails with `{ error: R }`, the process exits quietly.
      this.end({ error: r.error });
      node._terminate(self, 'normal');
      return;
    }
    const reason = typeof r === 'object' && r !== null && 'stop' in r ? r.stop : { badReturnValue: r };
    this.end({ error: reason });
    node._terminate(self, reason);
  }

  /** init threw (or rejected). */
  error(e: unknown): void {
    if (this.done || this.self._dead) return;
    const reason = exitReasonOf(e);
    this.end({ error: reason });
    this.self.node._terminate(this.self, reason);
  }

  end(r: StartResult): void {
    if (this.done) return;
    this.done = true;
    const self = this.self;
    const node = self.node;
    if (this.timer !== undefined) node.timers.cancel(this.timer);
    if (this.ref !== undefined) node.demonitor(this.ref);
    // An idle process should not carry the table of the start's own monitor.
    if (self._monitoredBy?.size === 0) {
      self._monitoredBy = null;
      self._compact();
    }
    this.resolve(r);
  }
}

function initTimedOut(w: InitWait<unknown>): void {
  w.timer = undefined;
  w.end({ error: 'timeout' });
  w.self.node._terminate(w.self, 'killed');
}

/**
 * Stops a behaviour process: it runs its terminate with `reason` and exits; resolves `'ok'`
 * once it is gone (OTP's `gen:stop/3`, i.e. `proc_lib:stop/3`). Rejects with a `CallError`:
 * `ERR_CALL_NOPROC` (no such process), `ERR_CALL_NODEDOWN`, `ERR_CALL_TIMEOUT` (still alive after
 * `timeoutMs`), or `ERR_CALL_EXIT` when it exited with another reason than `reason`.
 */
export function stop(caller: Caller, server: ServerRef, reason: ExitReason = 'normal', timeoutMs = Infinity): Promise<'ok'> {
  try {
    requireCaller(caller, 'stop');
  } catch (e) {
    return Promise.reject(e);
  }
  const node = nodeOf(caller);
  const target = whereisServer(node, server);
  if (target === undefined) return Promise.reject(callFailure('noproc', server, 'stop'));
  return new Promise<'ok'>((resolve, reject) => {
    let timer: Timer | undefined;
    const ref = node.monitor(target, {
      onDown(_ref, why) {
        if (timer !== undefined) node.timers.cancel(timer);
        if (why === 'noproc' || why === 'noconnection') {
          reject(callFailure(why, server, 'stop'));
        } else if (sameReason(why, reason)) {
          resolve('ok');
        } else {
          reject(new RigilError('ERR_CALL_EXIT', `server exited with another reason`, why));
        }
      },
    });
    if (timeoutMs !== Infinity) {
      timer = node.timers.schedule(timeoutMs, () => {
        node.demonitor(ref);
        reject(callFailure('timeout', server, 'stop'));
      }, undefined);
    }
    const msg: GenCallMessage = { $gen: 'system', pid: node.systemPid, tag: ref, req: { terminate: reason } };
    node.send(target, msg);
  });
}

function sameReason(a: ExitReason, b: ExitReason): boolean {
  if (a === b) return true;
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}

/**
 * Handles a system message in a behaviour's loop (OTP's `sys:handle_system_msg/6`):
 * `{ getState }`, `{ getStatus }`, `{ replaceState: fn }` are answered through the behaviour's
 * hooks; `{ terminate: reason }` runs `behaviour.terminate`, whose result the loop must return.
 * Anything else gets the reply `{ error: 'unknown_system_message' }`, a hook that throws gets a
 * `SystemCallbackFailed` reply, and a message without a valid reply tag is dropped with a
 * report: a malformed system message never ends the process.
 */
export function handleSystem<D>(self: Process, data: D, behaviour: Behaviour<D>, msg: GenCallMessage): void | PromiseLike<void> {
  const node = self.node;
  const tag = msg.tag;
  const req = msg.req as { terminate?: ExitReason; getState?: unknown; getStatus?: unknown; replaceState?: unknown } | null;
  if (!(tag instanceof Ref)) {
    node.report({ kind: behaviour.module, pid: self.pid, name: self.registeredName, message: 'dropped a system message without a reply tag', reason: 'badarg', lastMessage: msg });
    return;
  }
  if (typeof req !== 'object' || req === null) {
    node.sendAlias(tag, { error: 'unknown_system_message' });
    return;
  }
  if ('terminate' in req) return behaviour.terminate(self, data, req.terminate, req);
  let callback = 'getState';
  try {
    if (req.getState) node.sendAlias(tag, behaviour.getState(data));
    else if (req.getStatus) {
      callback = 'getStatus';
      const status: SystemStatus = {
        pid: self.pid,
        module: behaviour.module,
        status: 'running',
        name: self.registeredName,
        state: behaviour.getStatus(data),
        messageQueueLen: self.queueLength,
      };
      node.sendAlias(tag, status);
    } else if (typeof req.replaceState === 'function') {
      callback = 'replaceState';
      node.sendAlias(tag, behaviour.replaceState(data, req.replaceState as (s: unknown) => unknown));
    } else node.sendAlias(tag, { error: 'unknown_system_message' });
  } catch (e) {
    // OTP's sys catches a failing callback and answers `{error, {callback_failed, …}}`; the process runs on.
    const failed: SystemCallbackFailed = { $gen: 'sys_error', callback, reason: exitReasonOf(e) };
    node.sendAlias(tag, failed);
  }
}

/** True for a system message (`{ $gen: 'system' }`), which the loop hands to `handleSystem`. */
export function isSystemMessage(m: unknown): m is GenCallMessage {
  return (m as { $gen?: unknown } | null)?.$gen === 'system';
}

/**
 * True when `msg` is an `EXIT` from the process's parent while it traps exits: the behaviour
 * must then terminate with the `EXIT`'s reason (OTP's `{'EXIT', Parent, Reason}` clause of
 * every behaviour loop).
 */
export function isParentExit(self: Process, parent: Pid | undefined, msg: unknown): msg is ExitMessage {
  return isExit(msg) && parent !== undefined && msg.from === parent && (self as ProcessRecord)._trap;
}

/**
 * Runs a behaviour's terminate callback (if any), then ends the process with `reason` — or with
 * what the callback threw or rejected with (OTP's `terminate/2,3` in every behaviour's loop).
 */
export function terminateThenExit(self: Process, reason: ExitReason, terminate: (() => unknown) | undefined): void | Promise<void> {
  if (terminate === undefined) return exitBehaviour(self, reason);
  let r: unknown;
  try {
    r = terminate();
  } catch (e) {
    return exitBehaviour(self, exitReasonOf(e));
  }
  if (r instanceof Promise) {
    return r.then(
      () => exitBehaviour(self, reason),
      (e: unknown) => exitBehaviour(self, exitReasonOf(e)),
    );
  }
  exitBehaviour(self, reason);
}

/** The exit reason of a value a callback threw: `self.exit(reason)`'s reason, or the error as a reason. */
export function exitReasonOf(e: unknown): ExitReason {
  return e instanceof ProcessExited ? e.reason : reasonFromThrown(e);
}

/** The record `start` gave a behaviour process (what its `data` made); its loop reads it once per message. */
export function dataOf<D>(self: Process): D {
  return (self as ProcessRecord)._data as D;
}

/** Ends a behaviour process now with `reason` (what OTP's loop does with `exit(Reason)`). */
export function exitBehaviour(self: Process, reason: ExitReason): void {
  self.node._terminate(self as ProcessRecord, reason);
}
