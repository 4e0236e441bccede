/**
 * gen_server: a process that serves calls, casts and plain messages with callbacks
 * (OTP's `gen_server`). Semantics: spec §b.
 *
 * A server is a behaviour process: the scheduler hands it one message at a time and the
 * callbacks run directly, with no Promise per message unless a callback is async (then the
 * server takes no new message until it settles). Results are plain objects:
 * `{ reply, state }`, `{ noreply: state }`, `{ stop: reason, state }`, each optionally with
 * `timeout` (idle timeout, ms) or `continue` (run `handleContinue` before the next message).
 *
 * Start with acknowledgement, `stop` and system messages (`sys`) are gen.ts's, shared with
 * every behaviour; this file supplies gen_server's hooks for them (`GEN_SERVER` below).
 *
 * @example
 * const counter: GenServerBehaviour<number, number, { call: 'get'; reply: number; cast: 'inc' }> = {
 *   init: (start) => ({ ok: start }),
 *   handleCall: (_req, _from, n) => ({ reply: n, state: n }),
 *   handleCast: (_msg, n) => ({ noreply: n + 1 }),
 * };
 * const { ok: pid } = await genServer.start(node, counter, 0) as { ok: ServerPid<…> };
 */
import { coreError, RigilError } from './errors.js';
import {
  call as genCall,
  cast as genCast,
  exitReasonOf,
  From,
  handleSystem,
  isParentExit,
  dataOf,
  requireCaller,
  requireProcess,
  start as genStart,
  terminateThenExit,
  stop as genStop,
  type Behaviour,
  type BehaviourStartOptions,
  type Caller,
  type GenCallMessage,
  type GenCastMessage,
} from './gen.js';
import { Ref, type Pid } from './pid.js';
import type { Process } from './process.js';
import { callbackName, DESCRIBE, type BehaviourDescription, type BehaviourLoop } from './internal/process.js';
import { isQuietReason, type ExitReason } from './reason.js';
import type { Timer } from './timer.js';

export { reply, sendRequest, waitResponse, receiveResponse, From, type Response, type RequestId } from './gen.js';

/** A server's message types: what it is called with, what it replies, what it is cast. */
export interface Protocol {
  call?: unknown;
  reply?: unknown;
  cast?: unknown;
}
type CallOf<P extends Protocol> = P extends { call: infer C } ? C : unknown;
type ReplyOf<P extends Protocol> = P extends { reply: infer R } ? R : any;
type CastOf<P extends Protocol> = P extends { cast: infer C } ? C : unknown;

/** A pid that knows its server's protocol, so calls to it are type-checked. */
export type ServerPid<P extends Protocol = Protocol> = Pid & { readonly __protocol?: P };
/** A local name that knows its server's protocol (see `serverName`). */
export type ServerName<P extends Protocol = Protocol> = string & { readonly __protocol?: P };
/** A global name, `{ global: name }`, that knows its server's protocol (see `globalName`). */
export type GlobalName<P extends Protocol = Protocol> = { readonly global: string } & { readonly __protocol?: P };
/** A name registered on a given node, `[name, node]`, that knows its server's protocol (see `remoteName`). */
export type RemoteName<P extends Protocol = Protocol> = readonly [name: string, node: string] & { readonly __protocol?: P };
/**
 * How to address a server of protocol `P`: pid, local name, `[name, node]` or `{ global: name }`.
 * Plain strings, tuples and `{ global }` objects are accepted too; they carry no protocol, so a
 * call through them is unchecked (its reply is `any`) — declare the name once with
 * `serverName`/`globalName`/`remoteName` to have it checked like a call by pid.
 */
export type ServerRef<P extends Protocol = Protocol> = ServerPid<P> | ServerName<P> | RemoteName<P> | GlobalName<P>;

// Typed names are a compile-time aid with no OTP counterpart (Erlang has no types on names):
// `P` lives only in an optional phantom property, so at run time a name is still the plain
// string, tuple or `{ global }` object OTP's `{local, N}`, `{N, Node}` and `{global, N}` are.
// The phantom is covariant: a name declared for a protocol is accepted where a name for a
// wider one is expected (e.g. `stop`, which takes any server).

/**
 * Declares a local server name with its protocol once, so `call`/`cast` through it are
 * checked like calls by pid and `start` with it as `name` only accepts a behaviour of that
 * protocol: `const counter = serverName<Counter>('counter')`. Returns `name` unchanged (a
 * typing aid with no OTP counterpart; OTP's `{local, Name}`).
 */
export function serverName<P extends Protocol>(name: string): ServerName<P> {
  return name;
}

/**
 * Declares a global name with its protocol: returns `{ global: name }` (OTP's
 * `{global, Name}`), typed like `serverName`'s names. A typing aid with no OTP counterpart.
 */
export function globalName<P extends Protocol>(name: string): GlobalName<P> {
  return { global: name };
}

/**
 * Declares the name `name` on node `node` with its protocol: returns `[name, node]` (OTP's
 * `{Name, Node}`). Given a typed local name (`remoteName(counter, 'b@host')`) it keeps that
 * name's protocol. A typing aid with no OTP counterpart.
 */
export function remoteName<P extends Protocol>(name: ServerName<P>, node: string): RemoteName<P> {
  return [name, node];
}

/** Extras a callback result may carry: an idle timeout or a continuation. */
export interface After {
  /** Milliseconds without a message before `handleInfo('timeout')` (OTP's `Timeout`). */
  timeout?: number;
  /** Value for `handleContinue`, run before the next message (OTP's `{continue, C}`). */
  continue?: unknown;
  /** Accepted for OTP parity; has no effect. */
  hibernate?: boolean;
}

/** What `init` returns (OTP's `{ok, S} | {stop, R} | ignore`). */
export type InitResult<S> = ({ ok: S } & After) | { stop: ExitReason } | 'ignore';
/** What `handleCall` returns. */
export type CallResult<S, R> =
  | ({ reply: R; state: S } & After)
  | ({ noreply: S } & After)
  | { stop: ExitReason; reply: R; state: S }
  | { stop: ExitReason; state: S };
/** What `handleCast`, `handleInfo` and `handleContinue` return. */
export type NoReplyResult<S> = ({ noreply: S } & After) | { stop: ExitReason; state: S };

type MaybeAsync<T> = T | Promise<T>;

/** The callbacks of a server (OTP's gen_server callback module). */
export interface GenServerBehaviour<S, A = undefined, P extends Protocol = Protocol> {
  /** Initialises the state; runs before `start` returns (OTP's `init/1`). */
  init(args: A, self: Process): MaybeAsync<InitResult<S>>;
  /** Handles a call (OTP's `handle_call/3`); reply now, or later with `from.reply`. */
  handleCall?(req: CallOf<P>, from: From<ReplyOf<P>>, state: S, self: Process): MaybeAsync<CallResult<S, ReplyOf<P>>>;
  /** Handles a cast (OTP's `handle_cast/2`). */
  handleCast?(msg: CastOf<P>, state: S, self: Process): MaybeAsync<NoReplyResult<S>>;
  /** Handles any other message, and `'timeout'` after an idle timeout (OTP's `handle_info/2`). */
  handleInfo?(msg: unknown, state: S, self: Process): MaybeAsync<NoReplyResult<S>>;
  /** Handles a continuation (OTP's `handle_continue/2`). */
  handleContinue?(cont: unknown, state: S, self: Process): MaybeAsync<NoReplyResult<S>>;
  /** Runs when the server stops, crashes, or (when trapping exits) its parent exits (OTP's `terminate/2`). */
  terminate?(reason: ExitReason, state: S, self: Process): MaybeAsync<void>;
  /** Shapes the state shown by `sys.getStatus` (OTP's `format_status/1`). */
  formatStatus?(state: S): unknown;
}

/**
 * Options of `start`: `name` (local or `{ global }`), init `timeout` (ms), `trapExit` — gen.ts's
 * start options, with `name` typed: a name declared for another protocol is a type error.
 */
export type StartOptions<P extends Protocol = Protocol> = Omit<BehaviourStartOptions, 'name'> & {
  /** Register the server under a local name, or `{ global: name }`, before its init runs. */
  name?: ServerName<P> | GlobalName<P>;
};

/** What `start` returns (OTP's `{ok, Pid} | ignore | {error, Reason}`). */
export type StartResult<P extends Protocol = Protocol> = { ok: ServerPid<P> } | { error: ExitReason } | 'ignore';

/**
 * Starts a server; resolves after `init` has returned (OTP's `gen_server:start/3,4`).
 * A name already taken gives `{ error: { alreadyStarted: pid } }`.
 */
export function start<S, A, P extends Protocol>(
  caller: Caller,
  behaviour: GenServerBehaviour<S, A, P>,
  args: A,
  options: StartOptions<NoInfer<P>> = {},
): Promise<StartResult<P>> {
  return startServer('nolink', caller, behaviour, args, options, 'genServer.start') as Promise<StartResult<P>>;
}

/**
 * Starts a server linked to the calling process (OTP's `gen_server:start_link/3,4`). `self`
 * must be the calling process: anything else (a `Node`, say) rejects with `ERR_BADARG`; from
 * outside a process, use `start`.
 */
export function startLink<S, A, P extends Protocol>(
  self: Process,
  behaviour: GenServerBehaviour<S, A, P>,
  args: A,
  options: StartOptions<NoInfer<P>> = {},
): Promise<StartResult<P>> {
  return startServer('link', self, behaviour, args, options, 'genServer.startLink') as Promise<StartResult<P>>;
}

/** Starts a server and monitors it from the calling process `self` (OTP's `gen_server:start_monitor/3,4`). */
export function startMonitor<S, A, P extends Protocol>(
  self: Process,
  behaviour: GenServerBehaviour<S, A, P>,
  args: A,
  options: StartOptions<NoInfer<P>> = {},
): Promise<{ ok: ServerPid<P>; ref: Ref } | { error: ExitReason } | 'ignore'> {
  return startServer('monitor', self, behaviour, args, options, 'genServer.startMonitor') as Promise<{ ok: ServerPid<P>; ref: Ref } | { error: ExitReason } | 'ignore'>;
}

/**
 * Calls a server and waits for its reply (OTP's `gen_server:call/3`); default timeout 5000 ms.
 * Throws `CallError` (`ERR_CALL_TIMEOUT`, `ERR_CALL_NOPROC`, `ERR_CALL_EXIT`,
 * `ERR_CALL_NODEDOWN`, `ERR_CALLING_SELF`).
 */
export function call<P extends Protocol>(caller: Caller, server: ServerRef<P>, req: CallOf<P>, timeoutMs = 5000): Promise<ReplyOf<P>> {
  return genCall<ReplyOf<P>>(caller, server, req, timeoutMs);
}

/** Sends a cast; always returns, whether or not the server exists (OTP's `gen_server:cast/2`). */
export function cast<P extends Protocol>(caller: Caller, server: ServerRef<P>, msg: CastOf<P>): void {
  genCast(caller, server, msg);
}

/** Casts `msg` to the server registered as `name` on each of `nodes` (OTP's `gen_server:abcast/3`). */
export function abcast(caller: Caller, nodes: readonly string[], name: string, msg: unknown): 'abcast' {
  for (const n of nodes) cast(caller, [name, n], msg);
  return 'abcast';
}

/**
 * Calls the server registered as `name` on each of `nodes` in parallel (OTP's
 * `gen_server:multi_call/4`): the replies of those that answered, and the nodes that did not
 * (down, no such server, or no reply within `timeoutMs`).
 */
export async function multiCall<R = unknown>(
  caller: Caller,
  nodes: readonly string[],
  name: string,
  req: unknown,
  timeoutMs = Infinity,
): Promise<{ replies: Array<[node: string, reply: R]>; badNodes: string[] }> {
  const settled = await Promise.allSettled(nodes.map((n) => genCall<R>(caller, [name, n], req, timeoutMs)));
  const replies: Array<[string, R]> = [];
  const badNodes: string[] = [];
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') replies.push([nodes[i]!, s.value]);
    else badNodes.push(nodes[i]!);
  });
  return { replies, badNodes };
}

/**
 * Stops a server: it runs `terminate(reason)` and exits; resolves once it is gone
 * (OTP's `gen_server:stop/3`). Unknown server: `CallError` `ERR_CALL_NOPROC`.
 */
export function stop(caller: Caller, server: ServerRef, reason: ExitReason = 'normal', timeoutMs = Infinity): Promise<'ok'> {
  return genStop(caller, server, reason, timeoutMs);
}

// ---------------------------------------------------------------- behaviour loop

/** A live server's record (the behaviour state of its process). */
class Server<S> {
  /** The callback module. */
  readonly behaviour: GenServerBehaviour<S, any, any>;
  /** The user state. */
  state: S = undefined as S;
  /** The pending idle timeout, if any. */
  idle: Timer | null = null;
  /** The idle timeout (ms) the last callback asked for; system messages restart it. */
  idleMs: number | undefined = undefined;
  /** Bumped whenever a message arrives, so a stale idle-timeout marker is ignored. */
  idleSeq = 0;
  /** The process that started the server (its parent), for `EXIT` handling when trapping. */
  readonly parent: Pid | undefined;
  /** The arguments of `init`, kept until init has run. */
  args: unknown;

  constructor(behaviour: GenServerBehaviour<S, any, any>, args: unknown, parent: Pid | undefined) {
    this.behaviour = behaviour;
    this.args = args;
    this.parent = parent;
  }
}

/** The idle-timeout marker a server sends itself. */
interface IdleTimeout {
  readonly $gen: 'idle';
  readonly seq: number;
}

const LOOP: BehaviourLoop = {
  // For introspection only (processStats): a behaviour built on gen_server (the supervisor)
  // describes itself through its callbacks' DESCRIBE hook.
  describe(data: unknown): BehaviourDescription {
    const s = data as Server<unknown>;
    const d = (s.behaviour as { [DESCRIBE]?: (state: unknown) => BehaviourDescription })[DESCRIBE];
    return typeof d === 'function' ? d(s.state) : { behaviour: 'gen_server', module: callbackName(s.behaviour), state: s.state };
  },
  handle(self: Process, msg: unknown): void | PromiseLike<void> {
    const s = dataOf<Server<unknown>>(self);
    if (s.idle !== null) {
      self.node.timers.cancel(s.idle);
      s.idle = null;
    }
    s.idleSeq++;
    // The `$gen` tag is read once per message (and not at all for a primitive), not once per
    // kind tested: a plain info message (a number, a string) goes straight to handleInfo.
    if (typeof msg !== 'object' || msg === null) {
      s.idleMs = undefined;
      try {
        return info(self, s, msg);
      } catch (e) {
        return crash(self, s, e, msg);
      }
    }
    const g = (msg as { $gen?: unknown }).$gen;
    if (g === 'system') {
      const sys = msg as GenCallMessage;
      const r = handleSystem(self, s, GEN_SERVER, sys);
      // A system message re-enters the loop with the same timeout (OTP's sys protocol); a
      // terminate request has ended the server (or is running its terminate).
      if (r === undefined && self.alive && s.idleMs !== undefined) armIdle(self, s, s.idleMs);
      return r;
    }
    s.idleMs = undefined;
    try {
      return dispatch(self, s, msg, g);
    } catch (e) {
      return crash(self, s, e, msg);
    }
  },
};

/** Dispatches an object message whose `$gen` tag is `g`. */
function dispatch(self: Process, s: Server<unknown>, msg: unknown, g: unknown): void | Promise<void> {
  const b = s.behaviour;
  if (g === 'call') {
    const c = msg as GenCallMessage;
    if (!(c.tag instanceof Ref)) {
      // A call nobody could be answered on (forged, or from a broken peer): dropped with a
      // report, never a crash of the server when it replies.
      self.node.report({ kind: 'gen_server', pid: self.pid, name: self.registeredName, message: 'dropped a call without a reply tag', reason: 'badarg' });
      return;
    }
    const from = new From(self.node, c.pid, c.tag);
    if (b.handleCall === undefined) throw new RigilError('ERR_BAD_RETURN', 'handleCall is not defined', { undef: 'handleCall' });
    return settle(self, s, b.handleCall(c.req, from, s.state, self), from, msg);
  }
  if (g === 'cast') {
    if (b.handleCast === undefined) return;
    return settle(self, s, b.handleCast((msg as GenCastMessage).msg, s.state, self), undefined, msg);
  }
  if (g === 'idle') {
    if ((msg as IdleTimeout).seq !== s.idleSeq - 1) return;
    return info(self, s, 'timeout');
  }
  if (isParentExit(self, s.parent, msg)) return finish(self, s, msg.reason, msg);
  return info(self, s, msg);
}

/** Hands `msg` to handleInfo (OTP's `handle_info/2`); dropped when there is none. */
function info(self: Process, s: Server<unknown>, msg: unknown): void | Promise<void> {
  const b = s.behaviour;
  if (b.handleInfo === undefined) return;
  return settle(self, s, b.handleInfo(msg, s.state, self), undefined, msg);
}

/** Applies a callback result, waiting for it when it is a promise. */
function settle(self: Process, s: Server<unknown>, r: unknown, from: From | undefined, msg: unknown): void | Promise<void> {
  if (r instanceof Promise) {
    return r.then(
      (v) => apply(self, s, v, from, msg),
      (e: unknown) => crash(self, s, e, msg),
    );
  }
  return apply(self, s, r, from, msg);
}

function apply(self: Process, s: Server<unknown>, r: unknown, from: From | undefined, msg: unknown): void | Promise<void> {
  if (!self.alive) return;
  if (typeof r !== 'object' || r === null) return badReturn(self, s, r, msg);
  const o = r as Record<string, unknown>;
  if ('noreply' in o) {
    s.state = o.noreply;
  } else if ('stop' in o) {
    if ('state' in o) s.state = o.state;
    if (from !== undefined && 'reply' in o) from.reply(o.reply);
    return finish(self, s, o.stop, msg);
  } else if ('reply' in o && 'state' in o && from !== undefined) {
    s.state = o.state;
    from.reply(o.reply);
  } else {
    return badReturn(self, s, r, msg);
  }
  return after(self, s, o, msg);
}

/** Handles `continue` and `timeout` of a result. */
function after(self: Process, s: Server<unknown>, o: After, msg: unknown): void | Promise<void> {
  if (o.continue !== undefined) {
    const b = s.behaviour;
    if (b.handleContinue === undefined) return badReturn(self, s, o, msg);
    try {
      return settle(self, s, b.handleContinue(o.continue, s.state, self), undefined, msg);
    } catch (e) {
      return crash(self, s, e, msg);
    }
  }
  const t = o.timeout;
  if (t !== undefined && t !== Infinity) {
    if (typeof t !== 'number' || !(t >= 0)) return badReturn(self, s, o, msg);
    armIdle(self, s, t);
  }
}

function armIdle(self: Process, s: Server<unknown>, ms: number): void {
  s.idleMs = ms;
  s.idle = self.node.timers.schedule(ms, fireIdle, { self, seq: s.idleSeq });
}

function fireIdle(a: { self: Process; seq: number }): void {
  const s = dataOf<Server<unknown> | undefined>(a.self);
  if (s === undefined || !a.self.alive) return;
  s.idle = null;
  a.self.node.send(a.self.pid, { $gen: 'idle', seq: a.seq } satisfies IdleTimeout);
}

function badReturn(self: Process, s: Server<unknown>, r: unknown, msg: unknown): void | Promise<void> {
  return finish(self, s, { badReturnValue: r }, msg);
}

function crash(self: Process, s: Server<unknown>, e: unknown, msg: unknown): void | Promise<void> {
  // `self.exit(reason)` inside a callback ends the server through terminate (OTP catches exit/1).
  return finish(self, s, exitReasonOf(e), msg);
}

/** Runs `terminate` and exits with `reason` (OTP's `gen_server:terminate/…`). */
function finish(self: Process, s: Server<unknown>, reason: ExitReason, lastMsg: unknown): void | Promise<void> {
  if (!self.alive) return;
  if (!isQuietReason(reason)) {
    self.node.report({ kind: 'gen_server', pid: self.pid, name: self.registeredName, message: 'gen_server terminating', reason, lastMessage: lastMsg });
  }
  const b = s.behaviour;
  return terminateThenExit(self, reason, b.terminate && (() => b.terminate!(reason, s.state, self)));
}

// ---------------------------------------------------------------- start and system messages

/** gen_server as a behaviour of gen.ts: its loop, init, and the hooks `sys` uses. */
const GEN_SERVER: Behaviour<Server<unknown>> = {
  module: 'gen_server',
  loop: LOOP,
  init(self, s) {
    const args = s.args;
    s.args = undefined;
    return s.behaviour.init(args, self);
  },
  enter(self, s, ack) {
    s.state = ack.ok;
    const o = ack as After & { ok: unknown };
    if (o.continue !== undefined || o.timeout !== undefined) return after(self, s, o, 'init');
  },
  getState: (s) => s.state,
  replaceState(s, fn) {
    s.state = fn(s.state);
    return s.state;
  },
  getStatus: (s) => (s.behaviour.formatStatus ? s.behaviour.formatStatus(s.state) : s.state),
  terminate: (self, s, reason, lastMsg) => finish(self, s, reason, lastMsg),
};

function startServer<S, A, P extends Protocol>(
  mode: 'nolink' | 'link' | 'monitor',
  caller: Caller,
  behaviour: GenServerBehaviour<S, A, P>,
  args: A,
  options: StartOptions,
  api: string,
): Promise<unknown> {
  try {
    if (mode === 'nolink') requireCaller(caller, api);
    else requireProcess(caller, api);
    if (typeof behaviour !== 'object' || behaviour === null) throw coreError('ERR_BADARG', `${api}: the behaviour must be an object of callbacks, got ${behaviour === null ? 'null' : typeof behaviour}`, 'badarg');
    if (typeof behaviour.init !== 'function') throw coreError('ERR_BADARG', `${api}: the behaviour has no init function`, 'badarg');
  } catch (e) {
    return Promise.reject(e);
  }
  const b = behaviour as GenServerBehaviour<unknown, any, any>;
  // One call for every mode (the overloads only type the result); an inline arrow, not a named
  // const, since tsx's keepNames wraps a named closure with a defineProperty on every start.
  return genStart(mode as 'link', caller, GEN_SERVER, (parent: Pid) => new Server(b, args, parent), options, api);
}
