/**
 * The WebSocket transport (OTP's `inet_tcp_dist`, and `inet_tls_dist` with `tls`): the default
 * carrier of a `DistNode`, and the only file of @rigil/net that knows `ws`.
 *
 * One WebSocket per connection, binary frames only, no compression (frames are msgpack already,
 * and deflate would cost more CPU than it saves on loopback and LANs). It maps what `ws` says
 * onto the transport contract (transport.ts): a text frame, a frame above `maxPayload` or a
 * socket error is an `error`; a close by the peer is `closed` (orderly for 1000/1001/1005); a
 * dial that fails before the upgrade is `closed` with `ERR_NOT_CONNECTED` before `open`.
 *
 * Frame limits: `ws` refuses a message above its `maxPayload` from the frame header (close
 * 1009), before buffering it, and buffers anything below whole. So every socket starts with
 * `maxPayload` = `handshakeFrameSize` (a few KiB: a stranger cannot make the node hold more
 * than that) and `authenticated(maxFrameSize)` raises it once the handshake proved the peer.
 *
 * Backpressure: `bufferedAmount` is the WebSocket's (bytes not yet written to the socket). `ws`
 * has no drain event, so every frame is sent with one shared write callback (no allocation):
 * while a drain is asked for, each completed write compares the level with the low-water mark.
 */
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { distError, type DistError, type DistErrorCode } from './errors.js';
import { failedDial, type DialOptions, type Listener, type ListenOptions, type Transport, type TransportConnection, type TransportHandlers } from './transport.js';
import { escapeUntrusted } from './render.js';

/** TLS settings (`wss`): the user's key and certificate, and optional client-certificate checks. */
export interface TlsOptions {
  key: string | Buffer;
  cert: string | Buffer;
  /** CA(s) to verify the peer's certificate with (both directions). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Ask dialling nodes for a client certificate and refuse those without a valid one. */
  requireClientCert?: boolean;
  /** Verify the certificate of nodes we dial (default true). */
  rejectUnauthorized?: boolean;
  /**
   * Also dial plain `ws://` addresses (seeds, peers' member lists). Default false: a TLS node
   * talks TLS only, so a peer cannot downgrade it to plaintext by announcing a `ws://` address.
   */
  allowPlain?: boolean;
}

/** Options of `new WebSocketTransport`. */
export interface WebSocketTransportOptions {
  /** TLS for `wss` (listening and dialling); plain `ws` without it. */
  tls?: TlsOptions | undefined;
}

/** Options of every `ws.send`: shared, so a frame costs no options object. */
const BINARY = { binary: true } as const;

/**
 * The masking key of frames we send where no intermediary can read them: all zeros, which
 * `ws` (8.x) recognises on both ends and skips — no copy of each frame into a masked buffer,
 * no XOR loop over its bytes on either side (together about a tenth of a bulk sender's time).
 *
 * RFC 6455 has a client mask every frame with a fresh random key, so that a script that
 * chooses a frame's bytes cannot make a transparent HTTP proxy on the path read them as a
 * request (cache poisoning). That concern needs an intermediary that sees the bytes: there is
 * none over TLS (`wss`, whose records an intermediary cannot read) nor on a loopback address
 * (the bytes never leave this machine's kernel). So those dials use the zero key, and a plain
 * `ws` dial to any other host keeps `ws`'s random keys. Erlang's distribution, raw TCP or TLS,
 * has no masking at all.
 */
function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

/**
 * Connections over WebSocket (OTP's `inet_tcp_dist` / `inet_tls_dist`).
 *
 * @example
 * const node = await DistNode.start({ name: 'a@127.0.0.1', cookie: 'c', transport: new WebSocketTransport({ tls: { key, cert } }) });
 */
export class WebSocketTransport implements Transport {
  /** `ws` or `wss`. */
  readonly scheme: 'ws' | 'wss';

  /** Creates the transport; throws `ERR_BAD_CONFIG` for `tls` without key or cert. */
  constructor(readonly options: WebSocketTransportOptions = {}) {
    const tls = options.tls;
    if (tls !== undefined && (typeof tls !== 'object' || tls === null || tls.key === undefined || tls.cert === undefined)) {
      throw distError('ERR_BAD_CONFIG', 'tls needs key and cert');
    }
    this.scheme = tls !== undefined ? 'wss' : 'ws';
  }

  /** Listens on `host:port` (an HTTPS server underneath with `tls`); mirrors `inet_tcp_dist:listen/1`. */
  async listen(options: ListenOptions, onConnection: (conn: TransportConnection) => void): Promise<Listener> {
    const { host, port, handshakeFrameSize } = options;
    const tls = this.options.tls;
    const accept = (ws: WebSocket, req: IncomingMessage): void => onConnection(new WsConnection(ws, false, req.socket.remoteAddress));
    let server: WebSocketServer;
    let https: HttpsServer | undefined;
    let bound: number;
    if (tls !== undefined) {
      https = createHttpsServer({
        key: tls.key,
        cert: tls.cert,
        ca: tls.ca,
        requestCert: tls.requireClientCert ?? false,
        rejectUnauthorized: tls.requireClientCert ?? false,
      });
      server = new WebSocketServer({ server: https, maxPayload: handshakeFrameSize, perMessageDeflate: false });
      server.on('connection', accept);
      const h = https;
      await bind(server, h, new Promise<void>((resolve, reject) => {
        h.once('error', reject);
        h.listen(port, host, () => resolve());
      }));
      bound = (h.address() as AddressInfo).port;
    } else {
      server = new WebSocketServer({ host, port, maxPayload: handshakeFrameSize, perMessageDeflate: false });
      server.on('connection', accept);
      const s = server;
      await bind(s, undefined, new Promise<void>((resolve, reject) => {
        s.once('listening', () => resolve());
        s.once('error', reject);
      }));
      bound = (server.address() as AddressInfo).port;
    }
    return new WsListener(server, https, bound, `${this.scheme}://${urlHost(host)}:${bound}`);
  }

  /** Opens a WebSocket to `address` (`ws(s)://host:port`); mirrors `inet_tcp_dist:setup/5`. */
  dial(address: string, options: DialOptions): TransportConnection {
    const tls = this.options.tls;
    const refused = this.checkAddress(address);
    if (refused !== undefined) return failedDial(distError('ERR_NOT_CONNECTED', refused));
    let ws: WebSocket;
    try {
      ws = new WebSocket(address, {
        // Raised to maxFrameSize by `authenticated`: a node we dial is a stranger until it proved itself too.
        maxPayload: options.handshakeFrameSize,
        perMessageDeflate: false,
        // Bounds the HTTP upgrade; the distribution handshake has its own timer on top.
        handshakeTimeout: options.timeout,
        ...(noIntermediary(address) ? { generateMask: zeroMask } : {}),
        ...(tls !== undefined ? { key: tls.key, cert: tls.cert, ca: tls.ca, rejectUnauthorized: tls.rejectUnauthorized ?? true } : {}),
      });
    } catch (e) {
      // `ws` throws synchronously on an address it cannot parse (issue 11, problem 3: one
      // MEMBERS entry "not a url" crashed the node): a dial that fails, not an exception.
      return failedDial(distError('ERR_NOT_CONNECTED', `cannot dial ${escapeUntrusted(address, 100)}: ${escapeUntrusted((e as Error).message ?? '', 100)}`));
    }
    return new WsConnection(ws, true);
  }

  /**
   * Refuses what is not a `ws:`/`wss:` URL with a host, and — with `tls`, unless
   * `tls.allowPlain` — a plain `ws:` address.
   */
  checkAddress(address: string): string | undefined {
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      return `${escapeUntrusted(address, 100)} is not a URL`;
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') return `${escapeUntrusted(address, 100)} is not a ws:// or wss:// URL`;
    if (url.hostname === '') return `${escapeUntrusted(address, 100)} has no host`;
    if (url.protocol === 'ws:' && this.options.tls !== undefined && this.options.tls.allowPlain !== true) {
      return `a TLS node does not dial the plain address ${escapeUntrusted(address, 100)} (tls.allowPlain is off)`;
    }
    return undefined;
  }

  /** `ws(s)://host:port`. */
  address(host: string, port: number): string {
    return `${this.scheme}://${host}:${port}`;
  }
}

/** One WebSocket, seen through the transport contract. */
class WsConnection implements TransportConnection {
  private h: TransportHandlers | undefined;
  /** True once the owner closed it or it reported `closed`: no handler is called after. */
  private ended = false;
  /** The low-water mark a drain was asked for, or -1. */
  private drainAt = -1;
  /** The write callback of every frame: reports a drain once the level is low enough. */
  private readonly written = (): void => {
    if (this.drainAt >= 0) this.checkDrain();
  };

  constructor(
    private readonly ws: WebSocket,
    outbound: boolean,
    /** The peer's IP address (accepted connections). */
    readonly remoteAddress?: string | undefined,
  ) {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (this.ended) return;
      if (isBinary) this.h!.frame(data);
      else this.h!.error(distError('ERR_PROTOCOL_STATE', 'text frames are not part of the protocol'));
    });
    ws.on('close', (code: number, why: Buffer) => {
      if (this.ended) return;
      this.ended = true;
      this.h!.closed(closeError(code, why.toString()));
    });
    ws.on('error', (e: Error & { code?: string }) => {
      if (this.ended) return;
      if (e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        this.h!.error(distError('ERR_FRAME_TOO_LARGE', `the peer sent a frame above the frame limit (handshakeFrameSize before authentication, maxFrameSize after): ${e.message}`));
      } else if (outbound && ws.readyState !== ws.OPEN) {
        // A dial that found nobody: the owner hears of it as a close before `open`.
        this.ended = true;
        // The OS's code (ECONNREFUSED: nothing listens there) is kept as `cause` for tools
        // that tell "nothing listening" from other failures (the rigil command does).
        this.h!.closed(distError('ERR_NOT_CONNECTED', e.message, typeof e.code === 'string' ? { cause: e.code } : undefined));
        ws.terminate();
      } else this.h!.error(distError('ERR_NOT_CONNECTED', `socket error: ${e.message}`));
    });
    if (outbound) {
      ws.once('open', () => {
        if (!this.ended) this.h!.open();
      });
    }
  }

  bind(handlers: TransportHandlers): void {
    this.h = handlers;
  }

  send(frame: Uint8Array): void {
    if (!this.ended) this.ws.send(frame, BINARY, this.written);
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  notifyDrain(lowWater: number): void {
    if (this.ended) return;
    this.drainAt = lowWater;
    // Already low enough (or nothing left whose write completion would tell us): say so soon.
    if (this.ws.bufferedAmount <= lowWater) queueMicrotask(() => this.checkDrain());
  }

  private checkDrain(): void {
    if (this.ended || this.drainAt < 0 || this.ws.bufferedAmount > this.drainAt) return;
    this.drainAt = -1;
    this.h!.drain?.();
  }

  authenticated(maxFrameSize: number): void {
    // `ws` has no public setter for a socket's maxPayload; its receiver reads `_maxPayload` at
    // each frame header, so raising it applies from the next frame on (ws 8.x, pinned).
    const receiver = (this.ws as unknown as { _receiver?: { _maxPayload?: unknown } | null })._receiver;
    if (receiver != null && typeof receiver._maxPayload === 'number') receiver._maxPayload = maxFrameSize;
  }

  close(code?: DistErrorCode): void {
    if (this.ended) return;
    this.ended = true;
    const ws = this.ws;
    try {
      ws.close(code === undefined ? 1000 : 4000, code ?? 'normal');
    } catch {
      ws.terminate();
    }
    // A peer that never answers the closing handshake must not keep the socket open.
    const t = setTimeout(() => ws.terminate(), 1000);
    t.unref();
    ws.once('close', () => clearTimeout(t));
  }
}

/** A listening WebSocket server (and its HTTPS server with `tls`). */
class WsListener implements Listener {
  constructor(
    private readonly server: WebSocketServer,
    private readonly https: HttpsServer | undefined,
    readonly port: number,
    readonly url: string,
  ) {}

  async close(): Promise<void> {
    const server = this.server;
    for (const ws of server.clients) ws.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const https = this.https;
    if (https !== undefined) await new Promise<void>((resolve) => https.close(() => resolve()));
  }
}

/** Waits for a server to be listening; closes it (leaving no handle) if it cannot listen. */
async function bind(server: WebSocketServer, https: HttpsServer | undefined, listening: Promise<void>): Promise<void> {
  try {
    await listening;
  } catch (e) {
    server.close();
    https?.close();
    throw e;
  }
}

/** What a close code from the peer means: nothing for an orderly close, an error otherwise. */
function closeError(code: number, why: string): DistError | undefined {
  if (code === 1009) return distError('ERR_FRAME_TOO_LARGE', 'the peer sent a frame above maxFrameSize');
  if (code === 1000 || code === 1001 || code === 1005) return undefined;
  // An abnormal close by a rigil peer carries its error code as the reason: kept as `peerCode`.
  return distError('ERR_NOT_CONNECTED', `socket closed (${code}${why ? ` ${why}` : ''})`, /^ERR_[A-Z_]{1,40}$/.test(why) ? { peerCode: why } : undefined);
}

/**
 * True when no intermediary can see the bytes of a connection to `address`: a `wss:` URL, or a
 * loopback host (127.0.0.0/8, ::1, localhost). Such dials send frames with the zero mask. No
 * OTP counterpart (OTP's distribution carriers have no masking).
 */
export function noIntermediary(address: string): boolean {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return false;
  }
  if (url.protocol === 'wss:') return true;
  const h = url.hostname;
  return h === 'localhost' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The host part of a URL for a listening address (a wildcard is reached on loopback). */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
