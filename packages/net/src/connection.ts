/**
 * One connection to another node over one transport connection (OTP's distribution channel,
 * with `dist_util`'s handshake).
 *
 * Lifecycle: `handshake` (handshake.ts: hello, challenge, the dialler's proof, the acceptor's
 * proof; only handshake-sized frames accepted) → `up`
 * (data frames both ways, ticks) → `closed`. Outgoing messages are coalesced into frames: they
 * wait in `pending` until the end of the current event-loop turn, or until `MAX_BATCH` of them
 * have piled up, then go out as one msgpack array. One transport connection and in-order
 * flushing keep the order between any two processes.
 *
 * The data path (issue 11):
 * - Backpressure, as OTP's busy distribution port (`dist_buf_busy_limit`): once the bytes the
 *   transport still holds reach `busyLimit` the connection is *busy* — `send` returns true and
 *   core suspends the sending process — until they fall to `busyLimit / 2` (the transport's
 *   `drain`), when the owner resumes the suspended senders. The level is read after each frame
 *   is handed over; so that a burst of large messages within one turn cannot overshoot, a batch
 *   is flushed early once its estimated size (messages × bytes per message of the last frame,
 *   raised by weighing one message at batch lengths 8, 16, 32, …) reaches `busyLimit / 4`.
 *   Small messages are never affected: 2048 of them stay one frame.
 * - Fragmentation: a frame longer than `fragmentSize` goes out as a header and fragments
 *   (codec.ts), so the peer sees traffic every `fragmentSize` bytes and a long transfer is not
 *   silence. Fragments are written back to back: other data cannot overtake a frame, because
 *   the sequential codec needs frames decoded in the order they were encoded (OTP 22+ also
 *   interleaves fragments of different senders' messages; rigil does not).
 * - Ticks: silence is decided only after the sockets have been read. A tick check that finds
 *   the peer silent looks again after the event loop's I/O phase (`setImmediate`), so a stall
 *   of our own event loop, with the peer's frames waiting unread in the socket, is not taken
 *   for the peer's silence.
 *
 * Anything wrong — a frame that does not decode, a frame too large, a message that does not
 * belong to the state, a stalled handshake, a silent peer — closes this connection with a
 * stable code and a report; the node and its other connections carry on.
 *
 * The connection reaches its owner (the net kernel) only through `ConnectionOwner`, declared
 * here, and the network only through `TransportConnection`: it imports neither `net_kernel.ts`
 * nor any transport.
 */
import { logger, type Node, type Timer } from '@rigil/core';
import { decodePlain, Decoder, Encoder, fragmentHeader, fragmentTotal, plainSize, RESET_FRAME, type PidInterner } from './codec.js';
import { DistError, distError, type DistErrorCode } from './errors.js';
import { Handshake, type Admission, type HandshakeHost } from './handshake.js';
import { Flags, Op } from './protocol.js';
import type { TransportConnection } from './transport.js';

/** Lifecycle of a connection. */
export type ConnectionState =
  /** exchanging hello/challenge/answer/ack */
  | 'handshake'
  /** exchanging data frames */
  | 'up'
  /** gone; never reused */
  | 'closed';

const dialLog = logger('dist');
const RESOLVED = Promise.resolve();

/** Codes an acceptor closes a handshake with that the dialler reports as its own refusal. */
const HANDSHAKE_REFUSALS: ReadonlySet<string> = new Set(['ERR_BAD_COOKIE', 'ERR_BAD_VERSION', 'ERR_BAD_NAME', 'ERR_DUPLICATE_NAME', 'ERR_PROTOCOL_STATE']);

/** Messages coalesced into one frame at most. */
export const MAX_BATCH = 2048;

/** The settings a connection works with (a subset of the kernel's `NetOptions`). */
export interface ConnectionSettings {
  /** The shared secret. */
  readonly cookie: string;
  /** A silent peer is down after this many ms. */
  readonly tickTime: number;
  /** A handshake must finish within this many ms. */
  readonly handshakeTimeout: number;
  /** Largest frame accepted or sent, in bytes. */
  readonly maxFrameSize: number;
  /** Largest frame accepted before the handshake finished, in bytes. */
  readonly handshakeFrameSize: number;
  /** Bytes queued in the transport above which the connection is busy (OTP's `dist_buf_busy_limit`). */
  readonly busyLimit: number;
  /** Frames longer than this go out in fragments of this size. */
  readonly fragmentSize: number;
}

export type { Admission } from './handshake.js';

/**
 * What a connection needs from the net kernel that owns it. Declared here, and implemented by
 * `NetKernel`, so that the two files do not import each other.
 */
export interface ConnectionOwner {
  /** The local node: identity, time, timers and reports. */
  readonly node: Pick<Node, 'name' | 'creation' | 'clock' | 'timers' | 'report' | 'random'>;
  /** The distribution's settings. */
  readonly options: ConnectionSettings;
  /** Capability flags we announce. */
  readonly flags: number;
  /** Where we listen, announced in the handshake (null: we do not). */
  readonly url: string | null;
  /** Turns wire pids into canonical objects. */
  readonly interner: PidInterner;
  /** Admits an inbound connection once it proved the cookie (duplicate names, new incarnations, simultaneous dials). */
  admit(conn: Connection): Admission;
  /** The handshake finished; false if the connection lost to another one (it is closed then). */
  connectionUp(conn: Connection): boolean;
  /** The connection `connectionUp` admitted now counts as up: announce nodeup (the peer is in `nodes()` by then). */
  connectionAnnounced(conn: Connection): void;
  /** The connection closed (`wasUp`: after its handshake finished). */
  connectionClosed(conn: Connection, wasUp: boolean): void;
  /** A busy connection drained (or closed): the processes suspended on it may run again. */
  connectionDrained(conn: Connection): void;
  /** Applies one inbound data message; throws `ERR_PROTOCOL_STATE` for a malformed one. */
  dispatch(conn: Connection, m: unknown[]): void;
  /**
   * The connection failed before its handshake finished (we refused it, or the peer refused
   * us): the owner reports it, rate-limited per peer address and code (refusal_log.ts).
   */
  handshakeFailed(conn: Connection, code: string, message: string): void;
}

/** Counters of one connection's traffic (`Connection.traffic`), summed per node by `NetKernel.traffic`. */
export interface Traffic {
  /** Bytes of the frames received. */
  bytesIn: number;
  /** Bytes of the data frames sent. */
  bytesOut: number;
  /** Data messages received (ticks and goodbyes not counted). */
  messagesIn: number;
  /** Data messages sent. */
  messagesOut: number;
  /** Sends that found the connection busy (OTP's `busy_dist_port` monitor events). */
  busySends: number;
}

export class Connection {
  /** Where the connection is in its lifecycle. */
  state: ConnectionState = 'handshake';
  /** The peer's node name (known after its hello or challenge). */
  peer: string | undefined;
  /** The peer's incarnation. */
  peerCreation = 0;
  /** The peer's capability flags. */
  peerFlags = 0;
  /** Where the peer listens, if it does. */
  peerUrl: string | null = null;
  /** Why it closed. */
  closeReason: DistError | undefined;
  /** Lost a simultaneous-dial or duplicate race: its closing is not a nodedown. */
  superseded = false;
  /**
   * How the connection ended, once it has (see `Flags.GOODBYE` in protocol.ts): `'local'` this
   * node closed it, `'silent'` this node closed it because the peer was silent (tick timeout),
   * `'goodbye'` the peer closed it on purpose, `'died'` it ended without a goodbye from the
   * peer (its process died, or a peer without `Flags.GOODBYE` closed it).
   */
  lost: 'local' | 'silent' | 'goodbye' | 'died' | undefined;
  /** The peer said goodbye on this connection. */
  private peerGoodbye = false;
  /**
   * What went through this connection, for metrics (an increment per frame or message, no
   * more): bytes of frames each way, data messages each way, and sends that found it busy
   * (each one suspends its sender when it runs in a process: OTP's `busy_dist_port` event).
   */
  readonly traffic: Traffic = { bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0, busySends: 0 };

  private readonly encoder = new Encoder();
  private readonly decoder: Decoder;
  /** Messages waiting for the next frame. */
  private pending: unknown[] = [];
  private flushScheduled = false;
  /** The handshake's state machine (handshake.ts); done with once the connection is up. */
  private readonly handshake: Handshake;
  /** A tick check that found silence looks again after the I/O phase (see the module comment). */
  private tickRecheck: NodeJS.Immediate | undefined;
  /** Over `busyLimit`, waiting for the transport's drain. */
  private busy = false;
  /** Bytes per message of the last data frame: estimates what `pending` will weigh. */
  private bytesPerMessage = 0;
  /** Frames longer than this go out in fragments (`fragmentSize`, or never to a peer without `Flags.FRAGMENTS`). */
  private fragmentSize = Infinity;
  /** A batch estimated at this many bytes is flushed at once (busyLimit / 4). */
  private readonly flushBytes: number;
  /** Fragments of an incoming frame (after its fragment header), and the bytes still due. */
  private fragments: Buffer[] = [];
  private fragmentsDue = 0;
  private handshakeTimer: Timer | undefined;
  private tickTimer: Timer | undefined;
  private lastRecv = 0;
  private lastSend = 0;
  private readonly flushFn = (): void => this.flush();
  private readonly recheckFn = (): void => this.recheckTick();

  /** True once the transport connection is open (inbound ones are open from the start). */
  private open: boolean;

  constructor(
    private readonly kernel: ConnectionOwner,
    /** The transport connection underneath (dialled or accepted just now; bound here). */
    private readonly link: TransportConnection,
    /** True when we dialled. */
    readonly outbound: boolean,
    /** For outbound connections: the node we expect to reach, if known. */
    readonly expected: string | undefined,
  ) {
    this.decoder = new Decoder(kernel.interner);
    this.flushBytes = kernel.options.busyLimit / 4;
    this.peer = expected;
    this.open = !outbound;
    this.handshake = new Handshake(this.handshakeHost(), outbound, expected);
    link.bind({
      open: () => {
        this.open = true;
        this.handshake.start();
      },
      frame: (data) => this.onFrame(data),
      drain: () => this.onDrain(),
      error: (e) => this.fail(e.code as DistErrorCode, e.message),
      closed: (e) => this.onLinkClosed(e),
    });
    this.handshakeTimer = kernel.node.timers.schedule(kernel.options.handshakeTimeout, () => {
      this.handshakeTimer = undefined;
      if (this.state === 'handshake') this.fail('ERR_HANDSHAKE_TIMEOUT', `handshake did not finish within ${kernel.options.handshakeTimeout} ms`);
    }, undefined);
  }

  /** True once the handshake succeeded and until the connection closes. */
  get up(): boolean {
    return this.state === 'up';
  }

  /** True when the peer is a hidden node. */
  get hidden(): boolean {
    return (this.peerFlags & Flags.HIDDEN) !== 0;
  }

  /**
   * Queues a message for the next frame (messages queued during the handshake go out once up).
   * Returns true while the connection is busy: the caller should hold its sender (OTP's busy
   * dist port); the message is queued all the same.
   */
  send(msg: unknown): boolean {
    if (this.state === 'closed') return false;
    const pending = this.pending;
    const n = pending.push(msg);
    if (this.state !== 'up') return false;
    // The estimate comes from the last frame; messages may have grown since. Weigh one message
    // when the batch reaches each power of two from 8 on (9 samples for a full batch; none for
    // the one-message frames of round trips, none per message).
    if (n >= 8 && (n & (n - 1)) === 0) this.sample(msg);
    if (n >= MAX_BATCH || n * this.bytesPerMessage >= this.flushBytes) this.flush();
    else if (!this.flushScheduled) {
      // Flush once the current run of the scheduler is over (a microtask): everything sent in
      // that run shares one frame, and a lone message waits for no event-loop turn.
      this.flushScheduled = true;
      void RESOLVED.then(this.flushFn);
    }
    if (this.busy) this.traffic.busySends++;
    return this.busy;
  }

  /** Raises the bytes-per-message estimate to the size of `msg` if it is larger. */
  private sample(msg: unknown): void {
    let size: number;
    try {
      size = plainSize(msg);
    } catch {
      return; // cannot be encoded: the flush reports it
    }
    if (size > this.bytesPerMessage) this.bytesPerMessage = size;
  }

  /** True while more than `busyLimit` bytes wait in the transport (until they fall to half). */
  get isBusy(): boolean {
    return this.busy;
  }

  /** Bytes waiting to go out: held by the transport, plus an estimate of the unflushed batch. */
  get queuedBytes(): number {
    return this.link.bufferedAmount + Math.round(this.pending.length * this.bytesPerMessage);
  }

  /** Hands over the messages queued on this (superseded or failed) connection. */
  takePending(): unknown[] {
    const p = this.pending;
    this.pending = [];
    return p;
  }

  /** Takes over messages queued on a superseded connection, ahead of its own. */
  adopt(msgs: unknown[]): void {
    if (msgs.length === 0) return;
    this.pending = msgs.concat(this.pending);
    if (this.state === 'up') this.flush();
  }

  /** Closes the connection (OTP's `disconnect_node/1`); the peer sees it at once. */
  close(code: DistErrorCode | 'normal' = 'normal', message = 'disconnected'): void {
    if (this.state === 'closed') return;
    // A goodbye first, after what is queued (issue 15): the peer learns this node lives on.
    if (this.state === 'up' && (this.peerFlags & Flags.GOODBYE) !== 0) this.pending.push([Op.GOODBYE, code]);
    if (this.state === 'up' && this.pending.length > 0) this.flush();
    this.lost = code === 'ERR_TICK_TIMEOUT' ? 'silent' : 'local';
    this.finish(code === 'normal' ? undefined : distError(code, message));
    this.link.close(code === 'normal' ? undefined : code);
  }

  // ---------------------------------------------------------------- frames

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    if (batch.length === 0 || this.state !== 'up') return;
    this.pending = [];
    let frame: Buffer;
    try {
      frame = this.encoder.encode(batch);
    } catch (e) {
      // A value msgpack cannot encode (a function, a symbol): the sequential codec may be out
      // of step now, so the connection cannot go on.
      this.fail('ERR_BAD_FRAME', `cannot encode a message: ${(e as Error).message}`);
      return;
    }
    this.traffic.messagesOut += batch.length;
    if (frame.length > this.kernel.options.maxFrameSize) {
      this.sendOversized(batch);
    } else {
      this.bytesPerMessage = frame.length / batch.length;
      this.lastSend = this.kernel.node.clock.now();
      this.write(frame);
    }
    if (!this.busy && this.link.bufferedAmount >= this.kernel.options.busyLimit) {
      this.busy = true;
      this.link.notifyDrain(Math.floor(this.kernel.options.busyLimit / 2));
    }
  }

  /** Hands one encoded frame to the transport: whole, or as a header and fragments (codec.ts). */
  private write(frame: Buffer): void {
    const size = this.fragmentSize;
    const link = this.link;
    this.traffic.bytesOut += frame.length;
    if (frame.length <= size) {
      link.send(frame);
      return;
    }
    link.send(fragmentHeader(frame.length));
    for (let at = 0; at < frame.length; at += size) link.send(frame.subarray(at, Math.min(at + size, frame.length)));
  }

  /** The transport's level fell to the low-water mark: senders held on us may run again. */
  private onDrain(): void {
    if (!this.busy || this.state === 'closed') return;
    this.busy = false;
    this.kernel.connectionDrained(this);
  }

  /**
   * A frame came out above `maxFrameSize`: the messages too large to ever fit are dropped and
   * reported (`ERR_FRAME_TOO_LARGE`); the rest go out in frames that fit. The encoder has
   * already recorded the thrown-away frame's structures, so both codecs start afresh.
   */
  private sendOversized(batch: unknown[]): void {
    const limit = this.kernel.options.maxFrameSize;
    this.encoder.reset();
    this.link.send(RESET_FRAME);
    let chunk: unknown[] = [];
    let size = 0;
    const sendChunk = (): void => {
      if (chunk.length === 0) return;
      this.write(this.encoder.encode(chunk));
      chunk = [];
      size = 0;
    };
    for (const msg of batch) {
      const n = plainSize(msg);
      if (n > limit - 64) {
        this.kernel.node.report({ kind: 'dist', message: `a message of ${n} bytes to ${this.peer} exceeds maxFrameSize ${limit}: dropped`, code: 'ERR_FRAME_TOO_LARGE', peer: this.peer });
        continue;
      }
      if (size + n > limit - 64) sendChunk();
      chunk.push(msg);
      size += n;
    }
    sendChunk();
    this.lastSend = this.kernel.node.clock.now();
  }

  private onFrame(data: Uint8Array): void {
    if (this.state === 'closed') return;
    this.lastRecv = this.kernel.node.clock.now();
    this.traffic.bytesIn += data.length;
    // Before authentication only handshake-sized frames (the transport refuses bigger ones from
    // their header; this catches a transport that cannot).
    const limit = this.state === 'handshake' ? this.kernel.options.handshakeFrameSize : this.kernel.options.maxFrameSize;
    if (data.length > limit) {
      this.fail('ERR_FRAME_TOO_LARGE', `frame of ${data.length} bytes exceeds ${this.state === 'handshake' ? 'handshakeFrameSize' : 'maxFrameSize'}`);
      return;
    }
    try {
      if (this.state === 'handshake') this.handshake.onMessage(decodePlain(data));
      else if (this.fragmentsDue > 0) this.onFragment(data);
      else {
        const total = fragmentTotal(data);
        if (total < 0) this.onData(this.decoder.decode(data));
        else if (total > this.kernel.options.maxFrameSize) throw distError('ERR_FRAME_TOO_LARGE', `fragmented frame of ${total} bytes exceeds maxFrameSize`);
        else if (total === 0) throw distError('ERR_BAD_FRAME', 'empty fragmented frame');
        else this.fragmentsDue = total;
      }
    } catch (e) {
      if (e instanceof DistError) this.fail(e.code as DistErrorCode, e.message);
      else this.fail('ERR_BAD_FRAME', `bad frame: ${(e as Error).message}`);
    }
  }

  /** One fragment of a frame announced by a fragment header; the last one completes it. */
  private onFragment(data: Uint8Array): void {
    const due = this.fragmentsDue - data.length;
    if (due < 0) throw distError('ERR_BAD_FRAME', 'a fragment runs past the end of its frame');
    // ws hands over each frame in a Buffer of its own: keep it, copy once when complete.
    this.fragments.push(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length));
    this.fragmentsDue = due;
    if (due > 0) return;
    const parts = this.fragments;
    this.fragments = [];
    this.onData(this.decoder.decode(parts.length === 1 ? parts[0]! : Buffer.concat(parts)));
  }

  private onData(batch: unknown[]): void {
    const kernel = this.kernel;
    for (let i = 0; i < batch.length; i++) {
      if (this.state !== 'up') return;
      const m = batch[i];
      if (!Array.isArray(m) || typeof m[0] !== 'number') throw distError('ERR_PROTOCOL_STATE', 'a data message must be [op, ...args]');
      if (m[0] === Op.TICK) continue;
      if (m[0] === Op.GOODBYE) {
        this.peerGoodbye = true;
        continue;
      }
      this.traffic.messagesIn++;
      kernel.dispatch(this, m);
    }
  }

  // ---------------------------------------------------------------- handshake

  /** Continues an inbound handshake the kernel admitted (at once, or after parking it). */
  admitted(): void {
    if (this.state === 'handshake') this.handshake.admitted();
  }

  /** The connection's side of the handshake: identity, frames out, admission, up. */
  private handshakeHost(): HandshakeHost {
    const k = this.kernel;
    return {
      local: () => ({ name: k.node.name, creation: k.node.creation, flags: k.flags, url: k.url, cookie: k.options.cookie }),
      send: (frame) => this.link.send(frame),
      random: k.node.random,
      identify: (p) => {
        this.peer = p.name;
        this.peerCreation = p.creation;
        this.peerFlags = p.flags;
        this.peerUrl = p.url;
      },
      admit: () => k.admit(this),
      up: () => this.becomeUp(),
    };
  }

  private becomeUp(): void {
    const k = this.kernel;
    if (this.handshakeTimer !== undefined) {
      k.node.timers.cancel(this.handshakeTimer);
      this.handshakeTimer = undefined;
    }
    if (!k.connectionUp(this)) return;
    this.link.authenticated(k.options.maxFrameSize);
    this.state = 'up';
    if ((this.peerFlags & Flags.FRAGMENTS) !== 0) this.fragmentSize = k.options.fragmentSize;
    if ((this.peerFlags & Flags.PID_CACHE) !== 0) this.encoder.cachePids();
    const now = k.node.clock.now();
    this.lastRecv = this.lastSend = now;
    this.scheduleTick();
    if (this.pending.length > 0) this.flush();
    // After the flush: what was queued before nodeup goes out before what its subscribers send.
    k.connectionAnnounced(this);
  }

  // ---------------------------------------------------------------- liveness

  private scheduleTick(): void {
    const k = this.kernel;
    this.tickTimer = k.node.timers.schedule(k.options.tickTime / 4, () => {
      this.tickTimer = undefined;
      if (this.state !== 'up') return;
      const now = k.node.clock.now();
      // Checked every tickTime/4 against three silent intervals: a frozen peer is down between
      // 0.75 and 1 tickTime after its last frame (OTP: four ticks of net_ticktime/4).
      if (now - this.lastRecv > (k.options.tickTime * 3) / 4) {
        // This timer may have run late, before the frames that arrived meanwhile were read
        // (timers run before the poll phase): decide after the next I/O phase.
        this.tickRecheck = setImmediate(this.recheckFn);
        return;
      }
      this.tick(now);
    }, undefined);
  }

  /** The tick check found silence: after the I/O phase, the peer is down if it still is. */
  private recheckTick(): void {
    this.tickRecheck = undefined;
    if (this.state !== 'up') return;
    const k = this.kernel;
    const now = k.node.clock.now();
    if (now - this.lastRecv > (k.options.tickTime * 3) / 4) {
      this.fail('ERR_TICK_TIMEOUT', `${this.peer} was silent for ${Math.round(now - this.lastRecv)} ms (tickTime ${k.options.tickTime} ms)`);
      return;
    }
    this.tick(now);
  }

  /** Sends a tick if we have been quiet for tickTime/4, and schedules the next check. */
  private tick(now: number): void {
    if (now - this.lastSend >= this.kernel.options.tickTime / 4 - 1 && this.pending.length === 0) {
      this.lastSend = now;
      this.link.send(this.encoder.encode([[Op.TICK]]));
    }
    this.scheduleTick();
  }

  // ---------------------------------------------------------------- closing

  private fail(code: DistErrorCode, message: string): void {
    if (this.state === 'closed') return;
    if (this.state === 'handshake') this.kernel.handshakeFailed(this, code, `connection ${this.describe()} closed: ${message}`);
    else this.kernel.node.report({ kind: 'dist', message: `connection ${this.describe()} closed: ${message}`, code, peer: this.peer });
    this.close(code, message);
  }

  /** The peer's network address as the transport tells it (inbound connections), if it does. */
  get remoteAddress(): string | undefined {
    return this.link.remoteAddress;
  }

  /** The transport connection ended without us asking: the peer closed it, or our dial failed. */
  private onLinkClosed(err: DistError | undefined): void {
    if (this.state === 'closed') return;
    if (this.outbound && !this.open) {
      // A dial that found nobody (a peer not up yet, or gone): normal during boot, not a report.
      dialLog(`dial to ${this.expected ?? 'a seed'} failed: ${err?.message ?? 'closed'}`);
    } else if (err?.code === 'ERR_FRAME_TOO_LARGE') {
      const message = `connection ${this.describe()} closed: ${err.message}`;
      if (this.state === 'handshake') this.kernel.handshakeFailed(this, err.code, message);
      else this.kernel.node.report({ kind: 'dist', message, code: err.code, peer: this.peer });
    } else if (this.outbound && this.state === 'handshake') {
      // The acceptor refused our handshake and said why in its close (a wrong cookie is only
      // ever detected there now that the dialler proves first): report it with that code
      // (rate-limited: a node with the wrong cookie redials its seeds for life).
      const why = (err?.reason as { peerCode?: unknown } | undefined)?.peerCode;
      if (typeof why === 'string' && HANDSHAKE_REFUSALS.has(why)) {
        this.kernel.handshakeFailed(this, why, `connection ${this.describe()} refused by the peer: ${why}`);
      }
    }
    this.finish(err);
  }

  private finish(reason: DistError | undefined): void {
    if (this.state === 'closed') return;
    this.lost ??= this.peerGoodbye ? 'goodbye' : 'died';
    const wasUp = this.state === 'up';
    this.state = 'closed';
    this.closeReason = reason;
    this.fragments = [];
    this.fragmentsDue = 0;
    if (this.tickRecheck !== undefined) clearImmediate(this.tickRecheck);
    this.tickRecheck = undefined;
    const timers = this.kernel.node.timers;
    if (this.handshakeTimer !== undefined) timers.cancel(this.handshakeTimer);
    if (this.tickTimer !== undefined) timers.cancel(this.tickTimer);
    this.handshakeTimer = this.tickTimer = undefined;
    if (this.busy) {
      // Nothing more will drain: the senders held on this connection run again (a nodedown
      // follows for them, or the connection that replaces this one takes over).
      this.busy = false;
      this.kernel.connectionDrained(this);
    }
    // The kernel may hand what is still queued to the connection that replaces this one
    // (`takePending`); whatever it leaves is dropped here, after it had the chance.
    this.kernel.connectionClosed(this, wasUp);
    this.pending = [];
  }

  private describe(): string {
    if (this.outbound) return `to ${this.peer ?? 'an unknown node'}`;
    const address = this.link.remoteAddress;
    return `from ${this.peer ?? 'an unknown node'}${address !== undefined ? ` (${address})` : ''}`;
  }
}
