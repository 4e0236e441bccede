/**
 * Machinery shared by every behaviour (OTP's `gen.erl`): resolving a server reference, the
 * call with monitor, alias and timeout, the reply, and `sendRequest`/`waitResponse`.
 *
 * A call creates one ref that is both the monitor on the server and the alias the reply is
 * addressed to (OTP 24+). The reply goes straight to the waiting caller, not through its
 * mailbox; once the call is over the alias is removed, so a late reply is dropped instead
 * of landing in the caller's mailbox.
 */
import { CallError, type CoreErrorCode } from './errors.js';
import type { Node } from './node.js';
import { Pid, type Ref } from './pid.js';
import type { AliasHandler, MonitorHandler, Process } from './process.js';
import { ProcessRecord, type Monitor } from './internal/process.js';
import type { ExitReason } from './reason.js';
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
  monitor: Monitor | undefined = undefined;

  constructor(
    readonly node: Node,
    readonly tag: Ref,
    readonly server: ServerRef,
    readonly owner: ProcessRecord | undefined,
  ) {}

  onAlias(msg: unknown): void {
    if (this.outcome !== undefined) return;
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
    this.owner?._cleanups?.delete(this);
    if (this.timer !== undefined) {
      this.node.timers.drop(this.timer);
      this.timer = undefined;
    }
  }

  private finish(): void {
    this.abandon();
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
  if (owner !== undefined) (owner._cleanups ??= new Set()).add(r);
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
  const id = sendRequest<R>(caller, server, req, kind);
  return id.wait(timeoutMs, true).then((r) => unwrap(r, server, req));
}

function unwrap<R>(r: Response<R>, server: ServerRef, req: unknown): R {
  if (r === 'timeout') throw new CallError('ERR_CALL_TIMEOUT', 'timeout', server, req);
  if ('reply' in r) return r.reply;
  throw callFailure(r.error[0], server, req);
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
