/**
 * The transport interface: what the distribution needs from the network underneath it, and no
 * more (OTP's distribution carrier, the `-proto_dist` module such as `inet_tcp_dist` or
 * `inet_tls_dist`, which listens, accepts and sets up connections while `dist_util` and
 * `net_kernel` run the handshake and the protocol on top).
 *
 * A transport moves whole binary frames between two endpoints, in order, and says when a
 * connection opens, fails or closes. It knows nothing of node names (beyond an optional hint),
 * cookies, pids or batching: `connection.ts` runs the handshake and the data protocol over any
 * `TransportConnection`, and `net_kernel.ts` only calls `listen` and `dial`.
 *
 * The WebSocket implementation is `WebSocketTransport` (ws_transport.ts), the default of
 * `DistNode`; pass `transport` in `DistNode.start` options to use another one — an in-memory
 * transport for fast deterministic tests, or a wrapper that injects faults.
 *
 * Contract, for implementors:
 * - `dial` returns at once; the outcome comes later through the handlers (`open`, or `closed`
 *   with an error for a dial that failed). Handlers are never called before the turn in which
 *   `dial` returned, or the listener handed over an accepted connection, has ended: the owner
 *   binds its handlers synchronously in that turn.
 * - Frames arrive whole and in the order they were sent; a frame above the connection's limit
 *   is not delivered (the transport reports `ERR_FRAME_TOO_LARGE` through `error`). The limit is
 *   `handshakeFrameSize` until the owner calls `authenticated(maxFrameSize)`, and a transport
 *   that can refuses a frame over the limit from its header, before buffering it: a stranger
 *   must not make the node hold a large frame before the handshake proved it knows the cookie.
 * - After the owner calls `close`, the transport calls none of its handlers again.
 * - `closed` is called at most once, when the connection ended without the owner asking.
 * - Backpressure: `bufferedAmount` counts the bytes `send` accepted that have not yet been
 *   handed to the network (the WebSocket's `bufferedAmount`); after `notifyDrain(low)` the
 *   transport calls `drain` once, when that count is at or below `low` (asynchronously, even
 *   if it already is). A transport that cannot tell may report 0 and call `drain` at once.
 */
import type { DistError, DistErrorCode } from './errors.js';

/** A way for nodes to reach each other (OTP's distribution carrier module). */
export interface Transport {
  /**
   * Starts accepting connections (OTP's `inet_tcp_dist:listen/1` and its acceptor):
   * `onConnection` is called with each new inbound connection, whose owner must `bind` it at once.
   */
  listen(options: ListenOptions, onConnection: (conn: TransportConnection) => void): Promise<Listener>;

  /**
   * Opens a connection to `address` (OTP's `inet_tcp_dist:setup/5`). Returns at once; the
   * owner learns through its handlers whether it opened (`open`) or failed (`closed` with an error).
   */
  dial(address: string, options: DialOptions): TransportConnection;

  /**
   * The address of a node listening on `host:port` with this transport: how a seed written
   * `name@host:port` becomes something `dial` accepts (e.g. `ws://host:port`).
   */
  address(host: string, port: number): string;

  /**
   * Why this transport will not dial `address` (a scheme it does not speak; plaintext for a
   * transport configured for TLS), or undefined if it will. Optional: without it the net
   * kernel only checks that an address is a URL with a host. Peers' member lists and seeds
   * go through it, so a refused address is never dialled.
   */
  checkAddress?(address: string): string | undefined;
}

/**
 * A dial that failed before it started (e.g. the carrier's constructor threw on a malformed
 * address): honours the contract — returns at once, then reports `closed` with `error` in a
 * later turn, once bound — so no exception reaches the caller of `dial`.
 */
export function failedDial(error: DistError): TransportConnection {
  let ended = false;
  return {
    bind(h: TransportHandlers): void {
      setImmediate(() => {
        if (ended) return;
        ended = true;
        h.closed(error);
      });
    },
    send(): void {},
    close(): void {
      ended = true;
    },
    bufferedAmount: 0,
    notifyDrain(): void {},
    authenticated(): void {},
  };
}

/** What `listen` needs. */
export interface ListenOptions {
  /** Interface to bind. */
  readonly host: string;
  /** Port to bind; 0 picks a free one. */
  readonly port: number;
  /** Largest frame to accept, in bytes; larger ones end the connection with `ERR_FRAME_TOO_LARGE`. */
  readonly maxFrameSize: number;
  /** Largest frame to accept before the connection's `authenticated` (the handshake's frames). */
  readonly handshakeFrameSize: number;
}

/** What `dial` needs. */
export interface DialOptions {
  /** Largest frame to accept, in bytes. */
  readonly maxFrameSize: number;
  /** Largest frame to accept before the connection's `authenticated` (the handshake's frames). */
  readonly handshakeFrameSize: number;
  /** Milliseconds the transport's own connection setup may take before the dial fails. */
  readonly timeout: number;
  /**
   * The node expected at the address, when known (OTP's carrier `setup` is given the node name
   * too); transports may use it to route or to log, and must not rely on it being there.
   */
  readonly peer?: string | undefined;
}

/** A bound listening endpoint. */
export interface Listener {
  /** The bound port (the real one when 0 was asked for). */
  readonly port: number;
  /** The address peers dial to reach this listener (e.g. `ws://127.0.0.1:4369`). */
  readonly url: string;
  /** Stops accepting and ends every connection it accepted that is still open. */
  close(): Promise<void>;
}

/** One connection between two endpoints: frames both ways, then an end. */
export interface TransportConnection {
  /** Sets the owner's handlers; called once, synchronously, when the connection is handed over. */
  bind(handlers: TransportHandlers): void;
  /** Sends one binary frame; the frame may be sent later, but in order. No-op once closed. */
  send(frame: Uint8Array): void;
  /**
   * The peer's network address (an IP address for the WebSocket transport), for accepted
   * connections, if the transport knows it: refusals are logged per address (refusal_log.ts).
   * Optional; never trusted for anything else.
   */
  readonly remoteAddress?: string | undefined;
  /** Bytes given to `send` and not yet handed to the network (what a peer that stops reading piles up). */
  readonly bufferedAmount: number;
  /**
   * Asks for one `drain` call once `bufferedAmount` is at or below `lowWater` (never from
   * inside this call). A later call replaces the request. Nothing is called once closed.
   */
  notifyDrain(lowWater: number): void;
  /**
   * The handshake proved the peer knows the cookie: from now on accept frames up to
   * `maxFrameSize` (until now: `handshakeFrameSize`). Called once, before the first data frame
   * can arrive; a wrapping transport passes it on to the connection it wraps.
   */
  authenticated(maxFrameSize: number): void;
  /**
   * Ends the connection. Without `code` the peer sees an orderly close; with one, an abnormal
   * close carrying the code. Idempotent; no handler is called afterwards.
   */
  close(code?: DistErrorCode): void;
}

/** What a connection tells its owner (the owner's side of a `TransportConnection`). */
export interface TransportHandlers {
  /** An outbound connection is open: frames can go both ways. */
  open(): void;
  /** A frame arrived. */
  frame(data: Uint8Array): void;
  /** `bufferedAmount` fell to the level asked for with `notifyDrain` (an owner that never asks may omit it). */
  drain?(): void;
  /**
   * The connection cannot go on (a frame too large, a frame the protocol cannot carry, an I/O
   * error, a peer the transport refuses): the owner reports it and calls `close(error.code)`.
   */
  error(error: DistError): void;
  /**
   * The connection ended without the owner asking: `undefined` for an orderly close by the
   * peer, an error otherwise (a failed dial is `closed` before `open`).
   */
  closed(error: DistError | undefined): void;
}
