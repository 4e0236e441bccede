/**
 * Every error @rigil/net raises or reports, in one place, each with a stable `code`.
 *
 * Connection-level errors close that one connection (never the node) and are reported to
 * the node's subscribers (`node.onReport`, kind `dist`) with the code; API-level errors are
 * thrown (or returned, where OTP returns a value). A connection refused before its handshake
 * finished (any code of a handshake: a bad cookie, version, name, frame, a timeout) is reported
 * once per peer address and code and interval, then summarised (`RefusalLog`, refusal_log.ts).
 *
 * A dial that fails before the transport connection opens is `ERR_NOT_CONNECTED` with `reason`
 * `{ cause }`, the OS's code when there is one (`ECONNREFUSED`: nothing listens there;
 * `ENOTFOUND`, `ETIMEDOUT`, `EHOSTUNREACH`, …); a dial the peer refused in its handshake is
 * `ERR_NOT_CONNECTED` with `reason` `{ peerCode }`, the code the peer closed it with
 * (`ERR_BAD_COOKIE`: it does not share our cookie). `NetKernel.dialError(name)` returns the last one.
 *
 * | code | when | the node |
 * |---|---|---|
 * | `ERR_BAD_COOKIE` | the peer's proof (the dialler's answer, or the acceptor's ack) does not match our cookie and the handshake's transcript | closes the connection |
 * | `ERR_BAD_VERSION` | the peer speaks a protocol version we do not understand (below `MIN_PROTOCOL_VERSION`: protocol 1 peers are refused) | closes the connection |
 * | `ERR_DUPLICATE_NAME` | an authenticated peer connects with the name and creation of a node already connected, or while a connection with it is already being set up | closes the new connection |
 * | `ERR_REPLACED` | a new incarnation of a connected node (same name, new creation) authenticated: the old connection is closed at once (nodedown, `noconnection`) | closes the old connection (reported), admits the new one |
 * | `ERR_TOO_MANY_HANDSHAKES` | an inbound connection while `maxHandshakes` unauthenticated ones are open | closes it at once (counted in `stats.handshakesRefused`, not reported) |
 * | `ERR_HANDSHAKE_TIMEOUT` | the handshake did not finish within `handshakeTimeout` | closes the connection |
 * | `ERR_BAD_NAME` | a node name that is not `name@host` | refuses (throws or closes) |
 * | `ERR_BAD_FRAME` | a frame that does not decode | closes the connection |
 * | `ERR_FRAME_TOO_LARGE` | a received frame above `handshakeFrameSize` before the handshake finished, or above `maxFrameSize` after / a message too large to send | closes that connection / drops that message (reported), the rest of its frame still goes out |
 * | `ERR_PROTOCOL_STATE` | a message that does not belong to the connection's state (in the handshake also: a nonce that is not exactly 32 bytes, a bad creation or flags) | closes the connection |
 * | `ERR_TICK_TIMEOUT` | the peer was silent for 3/4 of `tickTime` (so a frozen peer is down within `tickTime`) | closes the connection (nodedown) |
 * | `ERR_BAD_SEED` | a seed that is neither `name@host:port` nor a `ws(s)://` URL | throws at start |
 * | `ERR_NOT_CONNECTED` | an operation needs a connection that cannot be made | returns/throws |
 * | `ERR_UNKNOWN_PROCEDURE` | `rpc` of a procedure the node does not expose | throws `RpcError` |
 * | `ERR_RPC_NODEDOWN` | the rpc target node is down or went down | throws `RpcError` |
 * | `ERR_RPC_TIMEOUT` | no rpc answer within the timeout | throws `RpcError` |
 * | `ERR_RPC_FAILED` | the procedure threw (`reason` carries why) | throws `RpcError` |
 * | `ERR_RPC_BAD_ARGS` | a procedure was called with arguments of the wrong number or type (a built-in, or a procedure that threw `badArgs`) | throws `RpcError` |
 * | `ERR_NOT_DISTRIBUTED` | `distNode`/`globalOf`/`rpcOf` asked for the services of a node that is not a `DistNode` | throws |
 * | `ERR_BAD_CONFIG` | invalid distribution options (also: `unixSockets` with `tls` or `transport`, or a socket path over 103 bytes) | throws |
 * | `ERR_BADARG` | a bad argument to a `global` function (OTP's `badarg`): a name that is not a non-empty string, a pid that is not a `Pid`, a lock id that is not `[resource, requester]`, retries that are not a non-negative integer or `Infinity`, an unknown resolver | throws (or rejects, for the async functions) |
 * | `ERR_GLOBAL_NOT_REGISTERED` | `global.send` to a name nobody holds (OTP's `{badarg, {Name, Msg}}`) | throws |
 * | `ERR_BAD_ADDRESS` | a peer's member list holds entries that are not `[name@host, url]` with a URL this node would dial (not a URL, no host, not ws/wss, plain ws for a TLS node), or more than the limits (see `MembersLimits`); also a DNS discovery answer's records that are malformed or beyond `DiscoveryLimits` (kind `discovery`) | ignores those entries, one report per announcement (per poll) |
 * | `ERR_BAD_DISCOVERY` | an invalid `discovery` option (unknown strategy or key, a query that is not a DNS name, a bad type, basename, port, `pollMs` or server; A/AAAA without `port` on a node that does not listen) — the message names the strategy and the key | throws at start |
 * | `ERR_DISCOVERY_DNS` | a dns discovery lookup failed (timeout, refused, SERVFAIL, …): not thrown; one report (kind `discovery`, logged under `rigil:discovery`) per poll, the nodes of the last answer are kept | reports, polls again after `pollMs` |
 * | `ERR_ADDRESS_IN_USE` | `DistNode.start`: another process already listens on the node's `host:port` (the OS's `EADDRINUSE`); the message names the host and port, `reason` is `{ host, port }` | throws at start (nothing is left running) |
 * | `ERR_LISTEN` | `DistNode.start`: the node cannot listen on `host:port` for another reason (`EACCES`: a privileged port; `EADDRNOTAVAIL`/`ENOTFOUND`: a host that is not one of this machine's addresses), or cannot listen on its `unixSockets` socket (`reason` `{ path, cause }`); `reason` is `{ host, port, cause }` with the OS's code | throws at start |
 * | `ERR_BLOCKED` | a transport refused the peer (a firewalling or fault-injecting transport, e.g. the tests' `FaultyTransport`; the WebSocket transport never does) | closes the connection |
 */
import { RigilError } from '@rigil/core';
import { renderUntrusted } from './render.js';

/** The stable error codes of @rigil/net (see the table above). */
export type DistErrorCode =
  | 'ERR_BAD_COOKIE'
  | 'ERR_BAD_VERSION'
  | 'ERR_DUPLICATE_NAME'
  | 'ERR_REPLACED'
  | 'ERR_TOO_MANY_HANDSHAKES'
  | 'ERR_HANDSHAKE_TIMEOUT'
  | 'ERR_BAD_NAME'
  | 'ERR_BAD_FRAME'
  | 'ERR_FRAME_TOO_LARGE'
  | 'ERR_PROTOCOL_STATE'
  | 'ERR_TICK_TIMEOUT'
  | 'ERR_BAD_SEED'
  | 'ERR_NOT_CONNECTED'
  | 'ERR_UNKNOWN_PROCEDURE'
  | 'ERR_RPC_NODEDOWN'
  | 'ERR_RPC_TIMEOUT'
  | 'ERR_RPC_FAILED'
  | 'ERR_RPC_BAD_ARGS'
  | 'ERR_NOT_DISTRIBUTED'
  | 'ERR_BAD_CONFIG'
  | 'ERR_BADARG'
  | 'ERR_GLOBAL_NOT_REGISTERED'
  | 'ERR_BLOCKED'
  | 'ERR_ADDRESS_IN_USE'
  | 'ERR_LISTEN'
  | 'ERR_BAD_DISCOVERY'
  | 'ERR_DISCOVERY_DNS'
  | 'ERR_BAD_ADDRESS';

/** An error of the distribution layer. */
export class DistError extends RigilError {
  override name = 'DistError';
  constructor(code: DistErrorCode, message: string, reason?: unknown) {
    super(code, message, reason);
  }
}

/** An rpc that did not return a value: unknown procedure, node down, timeout, or the procedure threw. */
export class RpcError extends RigilError {
  override name = 'RpcError';
  constructor(
    code: DistErrorCode,
    message: string,
    reason: unknown,
    /** The node called. */
    readonly node: string,
    /** The procedure called. */
    readonly procedure: string,
  ) {
    super(code, message, reason);
  }
}

/** Creates a dist error. */
export function distError(code: DistErrorCode, message: string, reason?: unknown): DistError {
  return new DistError(code, message, reason);
}

/**
 * The error a procedure throws to refuse its arguments: the caller gets an `RpcError` with
 * code `ERR_RPC_BAD_ARGS` and this message (OTP's `{badrpc, {'EXIT', {badarg, _}}}`, made a
 * stable code). Used by every built-in procedure; user procedures may throw it too.
 */
export function badArgs(procedure: string, message: string): RpcError {
  return new RpcError('ERR_RPC_BAD_ARGS', `${procedure}: ${message}`, { badArgs: message }, '', procedure);
}

/**
 * A short, printable description of a bad input for a report: its type and a bounded, escaped
 * rendering (`renderUntrusted`), never the whole term.
 */
export function describeBadInput(x: unknown): string {
  return `${x === null ? 'null' : Array.isArray(x) ? 'array' : typeof x} ${renderUntrusted(x, { maxLength: 120, maxDepth: 2 })}`;
}
