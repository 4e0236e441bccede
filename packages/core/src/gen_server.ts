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
  callFailure,
  From,
  isGenCall,
  isGenCast,
  nodeOf,
  whereisServer,
  type Caller,
  type GenCastMessage,
} from './gen.js';
import type { GlobalNames, Node } from './node.js';
import { Pid, Ref } from './pid.js';
import { ProcessExited, type Process } from './process.js';
import { ProcessRecord, recordOf, type BehaviourLoop } from './internal/process.js';
import { isExit, isQuietReason, reasonFromThrown, type ExitReason } from './reason.js';
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
/** A local name that knows its server's protocol. */
export type ServerName<P extends Protocol = Protocol> = string & { readonly __protocol?: P };
/** How to address a server of protocol `P`. */
export type ServerRef<P extends Protocol = Protocol> =
  | ServerPid<P>
  | ServerName<P>
  | readonly [name: string, node: string]
  | { readonly global: string };

/** Declares a typed local server name (no runtime effect). */
export function serverName<P extends Protocol>(name: string): ServerName<P> {
  return name;
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

/** Options of `start`. */
export interface StartOptions {
  /** Register the server under a local name, or `{ global: name }`, before `init` runs. */
  name?: string | { global: string };
  /** Milliseconds `init` may take (default: no limit); past it, start gives `{ error: 'timeout' }` and the server is killed. */
  timeout?: number;
  /** Start with trap_exit set (OTP servers set it in `init`; both work). */
  trapExit?: boolean;
}

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
  options: StartOptions = {},
): Promise<StartResult<P>> {
  return doStart(caller, behaviour, args, options, null);
}

/** Starts a server linked to the calling process (OTP's `gen_server:start_link/3,4`). */
export function startLink<S, A, P extends Protocol>(
  self: Process,
  behaviour: GenServerBehaviour<S, A, P>,
  args: A,
  options: StartOptions = {},
): Promise<StartResult<P>> {
  return doStart(self, behaviour, args, options, recordOf(self, 'the parent process'));
}

/** Starts a server and monitors it (OTP's `gen_server:start_monitor/3,4`). */
export async function startMonitor<S, A, P extends Protocol>(
  self: Process,
  behaviour: GenServerBehaviour<S, A, P>,
  args: A,
  options: StartOptions = {},
): Promise<{ ok: ServerPid<P>; ref: Ref } | { error: ExitReason } | 'ignore'> {
  const r = await doStart(self, behaviour, args, options, null);
  if (typeof r === 'object' && 'ok' in r) return { ok: r.ok, ref: self.monitor(r.ok) };
  return r;
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
export async function stop(caller: Caller, server: ServerRef, reason: ExitReason = 'normal', timeoutMs = Infinity): Promise<'ok'> {
  const node = nodeOf(caller);
  const target = whereisServer(node, server);
  if (target === undefined) throw callFailure('noproc', server, 'stop');
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
    node.send(target, { $gen: 'system', pid: node.systemPid, tag: ref, req: { terminate: reason } });
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
  /** The global name it holds, if any. */
  globalName: string | undefined;

  constructor(behaviour: GenServerBehaviour<S, any, any>, parent: Pid | undefined) {
    this.behaviour = behaviour;
    this.parent = parent;
  }
}

/** The idle-timeout marker a server sends itself. */
interface IdleTimeout {
  readonly $gen: 'idle';
  readonly seq: number;
}

const LOOP: BehaviourLoop = {
  handle(self: ProcessRecord, msg: unknown): void | Promise<void> {
    const s = self._data as Server<unknown>;
    if (s.idle !== null) {
      self.node.timers.cancel(s.idle);
      s.idle = null;
    }
    s.idleSeq++;
    if (isGenCall(msg) && (!(msg.tag instanceof Ref) || (msg.$gen === 'system' && !(typeof msg.req === 'object' && msg.req !== null && 'terminate' in msg.req)))) {
      // A system message re-enters the loop with the same timeout (OTP's sys protocol); a call
      // without a tag cannot be answered, so it is dropped with a report instead of crashing the reply.
      if (msg.tag instanceof Ref) void system(self, s, msg.req, new From(self.node, msg.pid, msg.tag));
      else self.node.report({ kind: 'gen_server', pid: self.pid, name: self.registeredName, message: 'gen_server dropped a call without a reply tag', lastMessage: msg });
      if (s.idleMs !== undefined) armIdle(self, s, s.idleMs);
      return;
    }
    s.idleMs = undefined;
    try {
      return dispatch(self, s, msg);
    } catch (e) {
      return crash(self, s, e, msg);
    }
  },
};

function dispatch(self: ProcessRecord, s: Server<unknown>, msg: unknown): void | Promise<void> {
  const b = s.behaviour;
  if (isGenCall(msg)) {
    const from = new From(self.node, msg.pid, msg.tag);
    if (msg.$gen === 'system') return system(self, s, msg.req, from);
    if (b.handleCall === undefined) throw new RigilError('ERR_BAD_RETURN', 'handleCall is not defined', { undef: 'handleCall' });
    return settle(self, s, b.handleCall(msg.req, from, s.state, self), from, msg);
  }
  if (isGenCast(msg)) {
    if (b.handleCast === undefined) return;
    return settle(self, s, b.handleCast(msg.msg, s.state, self), undefined, msg);
  }
  if ((msg as IdleTimeout | null)?.$gen === 'idle') {
    if ((msg as IdleTimeout).seq !== s.idleSeq - 1) return;
    msg = 'timeout';
  }
  if (isExit(msg) && s.parent !== undefined && msg.from === s.parent && self._trap) {
    return finish(self, s, msg.reason, msg);
  }
  if (b.handleInfo === undefined) return;
  return settle(self, s, b.handleInfo(msg, s.state, self), undefined, msg);
}

/** Applies a callback result, waiting for it when it is a promise. */
function settle(self: ProcessRecord, s: Server<unknown>, r: unknown, from: From | undefined, msg: unknown): void | Promise<void> {
  if (r instanceof Promise) {
    return r.then(
      (v) => apply(self, s, v, from, msg),
      (e: unknown) => crash(self, s, e, msg),
    );
  }
  return apply(self, s, r, from, msg);
}

function apply(self: ProcessRecord, s: Server<unknown>, r: unknown, from: From | undefined, msg: unknown): void | Promise<void> {
  if (self._dead) return;
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
function after(self: ProcessRecord, s: Server<unknown>, o: After, msg: unknown): void | Promise<void> {
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

function armIdle(self: ProcessRecord, s: Server<unknown>, ms: number): void {
  s.idleMs = ms;
  s.idle = self.node.timers.schedule(ms, fireIdle, { self, seq: s.idleSeq });
}

function fireIdle(a: { self: ProcessRecord; seq: number }): void {
  const s = a.self._data as Server<unknown>;
  if (s === undefined || a.self._dead) return;
  s.idle = null;
  a.self._deliver({ $gen: 'idle', seq: a.seq } satisfies IdleTimeout);
}

function badReturn(self: ProcessRecord, s: Server<unknown>, r: unknown, msg: unknown): void | Promise<void> {
  return finish(self, s, { badReturnValue: r }, msg);
}

function crash(self: ProcessRecord, s: Server<unknown>, e: unknown, msg: unknown): void | Promise<void> {
  // `self.exit(reason)` inside a callback ends the server through terminate (OTP catches exit/1).
  if (e instanceof ProcessExited) return finish(self, s, e.reason, msg);
  return finish(self, s, reasonFromThrown(e), msg);
}

/** Runs `terminate` and exits with `reason` (OTP's `gen_server:terminate/…`). */
function finish(self: ProcessRecord, s: Server<unknown>, reason: ExitReason, lastMsg: unknown): void | Promise<void> {
  if (self._dead) return;
  if (!isQuietReason(reason)) {
    self.node.report({ kind: 'gen_server', pid: self.pid, name: self.registeredName, message: 'gen_server terminating', reason, lastMessage: lastMsg });
  }
  if (s.behaviour.terminate === undefined) return void self.node._terminate(self, reason);
  let r: unknown;
  try {
    r = s.behaviour.terminate(reason, s.state, self);
  } catch (e) {
    return void self.node._terminate(self, reasonFromThrown(e));
  }
  if (r instanceof Promise) {
    return r.then(
      () => self.node._terminate(self, reason),
      (e: unknown) => self.node._terminate(self, reasonFromThrown(e)),
    );
  }
  self.node._terminate(self, reason);
}

/** System messages (OTP's `sys` protocol): `getState`, `getStatus`, `terminate`, `replaceState`. */
function system(self: ProcessRecord, s: Server<unknown>, req: unknown, from: From): void | Promise<void> {
  const r = (typeof req === 'object' && req !== null ? req : {}) as { terminate?: ExitReason; getState?: true; getStatus?: true; replaceState?: (s: unknown) => unknown };
  if ('terminate' in r) return finish(self, s, r.terminate, req);
  if (r.getState) from.reply(s.state);
  else if (r.getStatus) {
    from.reply({
      pid: self.pid,
      module: 'gen_server',
      status: 'running',
      name: self.registeredName,
      state: s.behaviour.formatStatus ? s.behaviour.formatStatus(s.state) : s.state,
      messageQueueLen: self.queueLength,
    });
  } else if (typeof r.replaceState === 'function') {
    s.state = r.replaceState(s.state);
    from.reply(s.state);
  } else from.reply({ error: 'unknown_system_message' });
}

// ---------------------------------------------------------------- start

async function doStart<S, A, P extends Protocol>(
  caller: Caller,
  behaviour: GenServerBehaviour<S, A, P>,
  args: A,
  options: StartOptions,
  linkTo: ProcessRecord | null,
): Promise<StartResult<P>> {
  const node = nodeOf(caller);
  const name = options.name;
  if (typeof name === 'string') {
    const holder = node.whereis(name);
    if (holder !== undefined) return { error: { alreadyStarted: holder } };
  } else if (name !== undefined) {
    if (typeof name !== 'object' || typeof name.global !== 'string') throw coreError('ERR_BADARG', `bad server name: ${String(name)}`);
    const g = requireGlobal(node);
    const holder = g.whereis(name.global);
    if (holder !== undefined) return { error: { alreadyStarted: holder } };
  }
  if (linkTo !== null && linkTo._dead) throw new ProcessExited(linkTo._reason);
  // Code outside any process counts as the parent through the node's system pid, so `node.exit(pid, 'shutdown')` stops a trapping server as its parent would.
  const server = new Server(behaviour as GenServerBehaviour<unknown, any, any>, caller instanceof ProcessRecord ? caller.pid : node.systemPid);
  const self = node._spawnBehaviour(LOOP, server, linkTo, caller instanceof ProcessRecord ? caller : null, options.trapExit ? { trapExit: true } : undefined);
  self._busy = true; // messages wait until init has returned
  if (typeof name === 'string') node.register(name, self.pid);
  else if (name !== undefined) {
    if ((await requireGlobal(node).register(name.global, self.pid)) === 'no') {
      node._terminate(self, 'normal');
      const holder = requireGlobal(node).whereis(name.global);
      return { error: { alreadyStarted: holder } };
    }
    server.globalName = name.global;
  }
  const result = await runInit(node, self, server, behaviour, args, options.timeout);
  // A linked caller killed by the failed init must not run on (OTP: it is dead).
  if (linkTo !== null && linkTo._dead) throw new ProcessExited(linkTo._reason);
  return result;
}

function requireGlobal(node: Node): GlobalNames {
  const g = node.globalNames;
  if (g === undefined) throw coreError('ERR_BADARG', `{ global } names need @rigil/net's global registry on ${node.name}`);
  return g;
}

function runInit<S, A, P extends Protocol>(
  node: Node,
  self: ProcessRecord,
  server: Server<unknown>,
  behaviour: GenServerBehaviour<S, A, P>,
  args: A,
  timeoutMs: number | undefined,
): Promise<StartResult<P>> {
  return new Promise<StartResult<P>>((resolve) => {
    let done = false;
    let timer: Timer | undefined;
    const end = (r: StartResult<P>): void => {
      if (done) return;
      done = true;
      if (timer !== undefined) node.timers.cancel(timer);
      node.demonitor(ref);
      // An idle server should not carry the table of the start's own monitor.
      if (self._monitoredBy?.size === 0) self._monitoredBy = null;
      resolve(r);
    };
    // If the new process dies during init (killed, linked parent died), start fails with its reason.
    const ref = node.monitor(self.pid, { onDown: (_r, reason) => end({ error: reason }) });
    if (timeoutMs !== undefined && timeoutMs !== Infinity) {
      timer = node.timers.schedule(timeoutMs, () => {
        end({ error: 'timeout' });
        node._terminate(self, 'killed');
      }, undefined);
    }
    const onResult = (r: unknown): void => {
      if (done || self._dead) return;
      if (r === 'ignore') {
        end('ignore');
        node._terminate(self, 'normal');
        return;
      }
      if (typeof r === 'object' && r !== null && 'ok' in r) {
        server.state = (r).ok;
        end({ ok: self.pid });
        self._busy = false;
        const o = r as After;
        const a = o.continue !== undefined || o.timeout !== undefined ? after(self, server, o, 'init') : undefined;
        if (a instanceof Promise) {
          self._busy = true;
          a.then(() => self._resume(), (e: unknown) => node._crash(self, e));
        } else self._resume();
        return;
      }
      const reason = typeof r === 'object' && r !== null && 'stop' in r ? (r).stop : { badReturnValue: r };
      end({ error: reason });
      node._terminate(self, reason);
    };
    const onError = (e: unknown): void => {
      if (done || self._dead) return;
      const reason = e instanceof ProcessExited ? e.reason : reasonFromThrown(e);
      end({ error: reason });
      node._terminate(self, reason);
    };
    try {
      const r = behaviour.init(args, self);
      if (r instanceof Promise) r.then(onResult, onError);
      else onResult(r);
    } catch (e) {
      onError(e);
    }
  });
}
