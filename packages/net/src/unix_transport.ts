/**
 * Same-host connections over Unix-domain sockets (OTP's `local` address family for the
 * distribution, `-proto_dist local`, chosen here per peer): `SameHostTransport` wraps the
 * node's usual transport (the WebSocket one by default). It listens on that transport as
 * before — the node's address and member lists are unchanged — and also on a Unix-domain
 * socket `<dir>/rigil-<port>.sock`, named after the TCP port it bound (so unique per host). A
 * dial of `ws://host:port` whose host is this machine and whose socket file exists goes over
 * the socket instead; if that fails before it opens (a stale file left by a killed node), the
 * dial falls back to the wrapped transport, unseen by the owner.
 *
 * Why: loopback TCP plus WebSocket framing costs a TCP stack traversal and a WebSocket header
 * parse and mask per frame; a Unix-domain socket with a 4-byte length prefix costs neither.
 * `bench:dist` measures `remote_pingpong` and `remote_send` both ways in one run.
 *
 * Framing: each frame is a 4-byte big-endian header and the payload. The header's top bit
 * marks a control frame: a close, whose payload is the sender's error code (empty for an
 * orderly close) — what the WebSocket close code and reason carry on the other transport. A
 * header announcing more than the connection's limit (`handshakeFrameSize` before the
 * handshake, `maxFrameSize` after) ends the connection with `ERR_FRAME_TOO_LARGE` before a byte
 * of the payload is buffered. The socket file is made readable and writable by its owner only
 * (mode 0600): the OS lets only processes of the same user connect, and the handshake's cookie
 * is still required of them.
 *
 * Not with TLS: a same-host connection would skip the TLS layer (and a client-certificate
 * check), so `DistNode.start` refuses `unixSockets` together with `tls`.
 */
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { distError, type DistErrorCode } from './errors.js';
import { failedDial, type DialOptions, type Listener, type ListenOptions, type Transport, type TransportConnection, type TransportHandlers } from './transport.js';
import { WebSocketTransport } from './ws_transport.js';

/** Options of `new SameHostTransport`. */
export interface SameHostTransportOptions {
  /** The directory of the sockets (shared by the nodes of this host that should use them). */
  readonly dir: string;
  /** The transport for everything else (default: `new WebSocketTransport()`). */
  readonly inner?: Transport | undefined;
}

/** The longest socket path Linux and macOS accept (`sun_path` is 108 and 104 bytes with its NUL). */
const MAX_SOCKET_PATH = 103;
/** A control frame's flag in the header. */
const CONTROL = 0x8000_0000;
/** The largest payload a header can announce. */
const MAX_PAYLOAD = 0x7fff_ffff;

/**
 * A transport that reaches nodes of the same host over Unix-domain sockets and the others
 * over `inner` (OTP: `-proto_dist local` for the local peers, `inet_tcp` for the rest).
 *
 * @example
 * const node = await DistNode.start({ name: 'a@127.0.0.1', cookie, unixSockets: '/run/rigil' });
 */
export class SameHostTransport implements Transport {
  readonly dir: string;
  readonly inner: Transport;

  /** Creates the transport; throws `ERR_BAD_CONFIG` for a `dir` that is not a non-empty string. */
  constructor(options: SameHostTransportOptions) {
    if (typeof options?.dir !== 'string' || options.dir === '') throw distError('ERR_BAD_CONFIG', 'unixSockets must be a directory path (a non-empty string)');
    this.dir = options.dir;
    this.inner = options.inner ?? new WebSocketTransport();
  }

  /** The socket path of the node listening on `port` of this host. */
  socketPath(port: number): string {
    return join(this.dir, `rigil-${port}.sock`);
  }

  /** Listens with `inner`, then on the Unix-domain socket of the bound port (mirrors `inet_tcp_dist:listen/1` and `local`'s). */
  async listen(options: ListenOptions, onConnection: (conn: TransportConnection) => void): Promise<Listener> {
    const outer = await this.inner.listen(options, onConnection);
    const path = this.socketPath(outer.port);
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
      await outer.close();
      throw distError('ERR_BAD_CONFIG', `the socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes: choose a shorter unixSockets directory`);
    }
    const accepted = new Set<Socket>();
    const server = createServer((socket) => {
      accepted.add(socket);
      socket.once('close', () => accepted.delete(socket));
      onConnection(new FramedConnection(socket, false, options.handshakeFrameSize, 'local'));
    });
    try {
      // A file left by a node that was killed on this port: we own the port now, so it is stale.
      if (existsSync(path)) unlinkSync(path);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
      chmodSync(path, 0o600);
    } catch (e) {
      server.close();
      await outer.close();
      const cause = (e as NodeJS.ErrnoException).code;
      throw distError('ERR_LISTEN', `cannot listen on the socket ${path}: ${(e as Error).message}`, { path, cause });
    }
    // A listening error after the bind (rare: the fd fails): reported by closing, never thrown.
    server.on('error', () => server.close());
    return new SameHostListener(outer, server, accepted, path);
  }

  /**
   * Dials over the peer's Unix-domain socket when `address` is on this host and its socket
   * exists, else with `inner`; a socket dial that fails before it opens falls back to `inner`.
   */
  dial(address: string, options: DialOptions): TransportConnection {
    const refused = this.inner.checkAddress?.(address);
    if (refused !== undefined) return failedDial(distError('ERR_NOT_CONNECTED', refused));
    const path = this.localPath(address);
    if (path === undefined) return this.inner.dial(address, options);
    return new FallbackConnection(new FramedConnection(createConnection(path), true, options.handshakeFrameSize, undefined, options.timeout), () => this.inner.dial(address, options));
  }

  /** The wrapped transport's address (peers that do not share the host dial that). */
  address(host: string, port: number): string {
    return this.inner.address(host, port);
  }

  /** The wrapped transport's check. */
  checkAddress(address: string): string | undefined {
    return this.inner.checkAddress?.(address);
  }

  /** The socket path for `address` when it names a port of this host whose socket file exists. */
  private localPath(address: string): string | undefined {
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      return undefined;
    }
    const port = Number(url.port);
    if (!Number.isInteger(port) || port <= 0 || !isThisHost(url.hostname)) return undefined;
    const path = this.socketPath(port);
    return existsSync(path) ? path : undefined;
  }
}

/** True when `host` (a URL's hostname) is one of this machine's addresses or names. */
export function isThisHost(host: string): boolean {
  const h = host.startsWith('[') ? host.slice(1, -1) : host;
  if (h === 'localhost' || h === '::1' || h.startsWith('127.') || h === hostname()) return true;
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) if (i.address === h) return true;
  return false;
}

/** The two listeners of a `SameHostTransport`: closing ends both and removes the socket file. */
class SameHostListener implements Listener {
  constructor(
    private readonly outer: Listener,
    private readonly server: Server,
    private readonly accepted: Set<Socket>,
    private readonly path: string,
  ) {}

  get port(): number {
    return this.outer.port;
  }

  get url(): string {
    return this.outer.url;
  }

  async close(): Promise<void> {
    for (const s of this.accepted) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // already gone (net removes it on close on some platforms)
    }
    await this.outer.close();
  }
}

/**
 * A dial over a Unix-domain socket that turns into a dial with the wrapped transport when the
 * socket fails before it opens: the owner sees one connection either way.
 */
class FallbackConnection implements TransportConnection {
  private current: TransportConnection;
  private fellBack = false;
  private closedByOwner = false;

  constructor(
    first: TransportConnection,
    private readonly fallback: () => TransportConnection,
  ) {
    this.current = first;
  }

  bind(handlers: TransportHandlers): void {
    let opened = false;
    this.current.bind({
      open: () => {
        opened = true;
        handlers.open();
      },
      frame: (f) => handlers.frame(f),
      drain: () => handlers.drain?.(),
      error: (e) => handlers.error(e),
      closed: (e) => {
        if (opened || this.fellBack || this.closedByOwner) return handlers.closed(e);
        // The socket failed before it opened (a stale file, a node gone): dial the other way.
        this.fellBack = true;
        this.current = this.fallback();
        this.current.bind(handlers);
      },
    });
  }

  send(frame: Uint8Array): void {
    this.current.send(frame);
  }

  get remoteAddress(): string | undefined {
    return this.current.remoteAddress;
  }

  get bufferedAmount(): number {
    return this.current.bufferedAmount;
  }

  notifyDrain(lowWater: number): void {
    this.current.notifyDrain(lowWater);
  }

  authenticated(maxFrameSize: number): void {
    this.current.authenticated(maxFrameSize);
  }

  close(code?: DistErrorCode): void {
    this.closedByOwner = true;
    this.current.close(code);
  }
}

/** One length-prefixed stream socket, seen through the transport contract. */
class FramedConnection implements TransportConnection {
  private h: TransportHandlers | undefined;
  private ended = false;
  private limit: number;
  /** Bytes received and not yet parsed into frames. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  private drainAt = -1;
  /** An outbound socket is connected (a failure before is a failed dial, `closed` before `open`). */
  private opened: boolean;
  private timer: NodeJS.Timeout | undefined;
  private readonly written = (): void => {
    if (this.drainAt >= 0) this.checkDrain();
  };

  constructor(
    private readonly socket: Socket,
    outbound: boolean,
    handshakeFrameSize: number,
    readonly remoteAddress?: string | undefined,
    timeout?: number,
  ) {
    this.limit = handshakeFrameSize;
    this.opened = !outbound;
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (this.ended) return;
      if (!this.opened) {
        this.end();
        this.h!.closed(distError('ERR_NOT_CONNECTED', e.message, typeof e.code === 'string' ? { cause: e.code } : undefined));
      } else this.h!.error(distError('ERR_NOT_CONNECTED', `socket error: ${e.message}`));
    });
    socket.on('close', () => {
      if (this.ended) return;
      this.end();
      this.h!.closed(distError('ERR_NOT_CONNECTED', 'socket closed'));
    });
    if (outbound) {
      if (timeout !== undefined) {
        this.timer = setTimeout(() => {
          if (this.ended || this.opened) return;
          this.end();
          this.h!.closed(distError('ERR_NOT_CONNECTED', `socket connect timed out after ${timeout} ms`, { cause: 'ETIMEDOUT' }));
        }, timeout);
        this.timer.unref();
      }
      socket.once('connect', () => {
        this.opened = true;
        if (this.timer !== undefined) clearTimeout(this.timer);
        if (!this.ended) this.h!.open();
      });
    }
  }

  bind(handlers: TransportHandlers): void {
    this.h = handlers;
  }

  send(frame: Uint8Array): void {
    if (this.ended) return;
    const out = Buffer.allocUnsafe(4 + frame.length);
    out.writeUInt32BE(frame.length, 0);
    out.set(frame, 4);
    this.socket.write(out, this.written);
  }

  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  notifyDrain(lowWater: number): void {
    if (this.ended) return;
    this.drainAt = lowWater;
    if (this.socket.writableLength <= lowWater) queueMicrotask(() => this.checkDrain());
  }

  private checkDrain(): void {
    if (this.ended || this.drainAt < 0 || this.socket.writableLength > this.drainAt) return;
    this.drainAt = -1;
    this.h!.drain?.();
  }

  authenticated(maxFrameSize: number): void {
    this.limit = Math.min(maxFrameSize, MAX_PAYLOAD);
  }

  close(code?: DistErrorCode): void {
    if (this.ended) return;
    this.end();
    const reason = Buffer.from(code ?? '', 'latin1');
    const out = Buffer.allocUnsafe(4 + reason.length);
    out.writeUInt32BE((CONTROL | reason.length) >>> 0, 0);
    reason.copy(out, 4);
    const s = this.socket;
    if (!s.destroyed && !s.connecting) s.end(out);
    else s.destroy();
    // A peer that never reads must not keep the socket open.
    const t = setTimeout(() => s.destroy(), 1000);
    t.unref();
    s.once('close', () => clearTimeout(t));
  }

  private end(): void {
    this.ended = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.chunks = [];
    this.buffered = 0;
  }

  /** Parses whole frames out of what arrived; a header over the limit ends the connection at once. */
  private onData(d: Buffer): void {
    if (this.ended) return;
    this.chunks.push(d);
    this.buffered += d.length;
    while (!this.ended && this.buffered >= 4) {
      const head = this.peekHeader();
      const control = (head & CONTROL) !== 0;
      const len = head & MAX_PAYLOAD;
      if (!control && len > this.limit) {
        this.chunks = [];
        this.buffered = 0;
        this.h!.error(distError('ERR_FRAME_TOO_LARGE', `the peer announced a frame of ${len} bytes, above the limit of ${this.limit} (handshakeFrameSize before authentication, maxFrameSize after)`));
        return;
      }
      if (control && len > 64) {
        this.h!.error(distError('ERR_BAD_FRAME', `a control frame of ${len} bytes (at most 64)`));
        return;
      }
      if (this.buffered < 4 + len) return;
      const frame = this.take(4 + len).subarray(4);
      if (control) {
        this.end();
        const why = frame.toString('latin1');
        this.socket.destroy();
        this.h!.closed(why === '' ? undefined : distError('ERR_NOT_CONNECTED', `socket closed (${/^ERR_[A-Z_]{1,40}$/.test(why) ? why : 'abnormal'})`, /^ERR_[A-Z_]{1,40}$/.test(why) ? { peerCode: why } : undefined));
        return;
      }
      this.h!.frame(frame);
    }
  }

  private peekHeader(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    const head = Buffer.concat(this.chunks, this.buffered).subarray(0, 4);
    return head.readUInt32BE(0);
  }

  /** Removes and returns the first `n` buffered bytes (one copy only when they span chunks). */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks, this.buffered);
      out = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.buffered -= n;
    return out;
  }
}
