/**
 * One connection to another node over one transport connection (OTP's distribution channel,
 * with `dist_util`'s handshake).
 *
 * Lifecycle: `handshake` (version, flags, names, creation, cookie challenge/response) → `up`
 * (data frames both ways, ticks) → `closed`. Outgoing messages are coalesced into frames: they
 * wait in `pending` until the end of the current event-loop turn, or until `MAX_BATCH` of them
 * have piled up, then go out as one msgpack array. One transport connection and in-order
 * flushing keep the order between any two processes.
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
import { decodePlain, Decoder, encodePlain, Encoder, plainSize, RESET_FRAME, type PidInterner } from './codec.js';
import { DistError, distError, type DistErrorCode } from './errors.js';
import { checkProof, isNodeName, makeChallenge, proof } from './handshake.js';
import { renderUntrusted } from './render.js';
import { Flags, Hs, MIN_PROTOCOL_VERSION, Op, PROTOCOL_VERSION, type Challenge, type Hello } from './protocol.js';
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
}

/** How the owner answers an inbound hello: go on, wait (`park`), or refuse with a code. */
export type Admission = 'ok' | 'park' | { code: DistErrorCode; message: string };

/**
 * What a connection needs from the net kernel that owns it. Declared here, and implemented by
 * `NetKernel`, so that the two files do not import each other.
 */
export interface ConnectionOwner {
  /** The local node: identity, time, timers and reports. */
  readonly node: Pick<Node, 'name' | 'creation' | 'clock' | 'timers' | 'report'>;
  /** The distribution's settings. */
  readonly options: ConnectionSettings;
  /** Capability flags we announce. */
  readonly flags: number;
  /** Where we listen, announced in the handshake (null: we do not). */
  readonly url: string | null;
  /** Turns wire pids into canonical objects. */
  readonly interner: PidInterner;
  /** Admits an inbound connection after its hello (duplicate names, simultaneous dials). */
  admit(conn: Connection): Admission;
  /** The handshake finished; false if the connection lost to another one (it is closed then). */
  connectionUp(conn: Connection): boolean;
  /** The connection closed (`wasUp`: after its handshake finished). */
  connectionClosed(conn: Connection, wasUp: boolean): void;
  /** Applies one inbound data message; throws `ERR_PROTOCOL_STATE` for a malformed one. */
  dispatch(conn: Connection, m: unknown[]): void;
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

  private readonly encoder = new Encoder();
  private readonly decoder: Decoder;
  /** Messages waiting for the next frame. */
  private pending: unknown[] = [];
  private flushScheduled = false;
  private immediate: NodeJS.Immediate | undefined;
  /** Our challenge to the peer. */
  private readonly challenge = makeChallenge();
  /** The peer's challenge (inbound), kept until we answer it. */
  private peerChallenge: Uint8Array | undefined;
  private handshakeTimer: Timer | undefined;
  private tickTimer: Timer | undefined;
  private lastRecv = 0;
  private lastSend = 0;
  private readonly flushFn = (): void => this.flush();

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
    this.peer = expected;
    this.open = !outbound;
    link.bind({
      open: () => {
        this.open = true;
        this.sendHello();
      },
      frame: (data) => this.onFrame(data),
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

  /** Queues a message for the next frame (messages queued during the handshake go out once up). */
  send(msg: unknown): void {
    if (this.state === 'closed') return;
    const pending = this.pending;
    pending.push(msg);
    if (this.state !== 'up') return;
    if (pending.length >= MAX_BATCH) this.flush();
    else if (!this.flushScheduled) {
      // Flush once the current run of the scheduler is over (a microtask): everything sent in
      // that run shares one frame, and a lone message waits for no event-loop turn.
      this.flushScheduled = true;
      void RESOLVED.then(this.flushFn);
    }
  }

  /** Hands over the messages queued on this (superseded) connection. */
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
    if (this.state === 'up' && this.pending.length > 0) this.flush();
    this.finish(code === 'normal' ? undefined : distError(code, message));
    this.link.close(code === 'normal' ? undefined : code);
  }

  // ---------------------------------------------------------------- frames

  private flush(): void {
    this.flushScheduled = false;
    if (this.immediate !== undefined) {
      clearImmediate(this.immediate);
      this.immediate = undefined;
    }
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
    if (frame.length > this.kernel.options.maxFrameSize) {
      this.sendOversized(batch);
      return;
    }
    this.lastSend = this.kernel.node.clock.now();
    this.link.send(frame);
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
      this.link.send(this.encoder.encode(chunk));
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
    if (data.length > this.kernel.options.maxFrameSize) {
      this.fail('ERR_FRAME_TOO_LARGE', `frame of ${data.length} bytes exceeds maxFrameSize`);
      return;
    }
    try {
      if (this.state === 'handshake') this.onHandshake(decodePlain(data));
      else this.onData(this.decoder.decode(data));
    } catch (e) {
      if (e instanceof DistError) this.fail(e.code as DistErrorCode, e.message);
      else this.fail('ERR_BAD_FRAME', `bad frame: ${(e as Error).message}`);
    }
  }

  private onData(batch: unknown[]): void {
    const kernel = this.kernel;
    for (let i = 0; i < batch.length; i++) {
      if (this.state !== 'up') return;
      const m = batch[i];
      if (!Array.isArray(m) || typeof m[0] !== 'number') throw distError('ERR_PROTOCOL_STATE', 'a data message must be [op, ...args]');
      if (m[0] === Op.TICK) continue;
      kernel.dispatch(this, m);
    }
  }

  // ---------------------------------------------------------------- handshake

  private sendHello(): void {
    const k = this.kernel;
    const hello: Hello = { t: Hs.HELLO, v: PROTOCOL_VERSION, flags: k.flags, name: k.node.name, creation: k.node.creation, url: k.url, challenge: this.challenge };
    this.link.send(encodePlain(hello));
  }

  private onHandshake(m: Record<string, unknown>): void {
    const k = this.kernel;
    const cookie = k.options.cookie;
    if (!this.outbound && m.t === Hs.HELLO) {
      if (this.peer !== undefined) throw distError('ERR_PROTOCOL_STATE', 'second hello');
      this.checkIdentity(m);
      const name = m.name as string;
      this.peer = name;
      this.peerCreation = m.creation as number;
      this.peerFlags = m.flags as number;
      this.peerUrl = typeof m.url === 'string' ? m.url : null;
      if (!(m.challenge instanceof Uint8Array)) throw distError('ERR_PROTOCOL_STATE', 'hello without a challenge');
      this.peerChallenge = m.challenge;
      const verdict = k.admit(this);
      if (verdict === 'park') return; // resumed by `admitted()` or closed
      if (verdict !== 'ok') {
        this.fail(verdict.code, verdict.message);
        return;
      }
      this.admitted();
      return;
    }
    if (this.outbound && m.t === Hs.CHALLENGE && this.peerCreation === 0) {
      this.checkIdentity(m);
      const name = m.name as string;
      if (this.expected !== undefined && name !== this.expected) {
        throw distError('ERR_BAD_NAME', `dialled ${this.expected} but reached ${name}`);
      }
      if (!checkProof(cookie, this.challenge, name, m.digest)) throw distError('ERR_BAD_COOKIE', `${name} does not know our cookie`);
      if (!(m.challenge instanceof Uint8Array)) throw distError('ERR_PROTOCOL_STATE', 'challenge without a challenge');
      this.peer = name;
      this.peerCreation = m.creation as number;
      this.peerFlags = m.flags as number;
      this.peerUrl = typeof m.url === 'string' ? m.url : null;
      this.link.send(encodePlain({ t: Hs.ANSWER, digest: proof(cookie, m.challenge, k.node.name) }));
      return;
    }
    if (!this.outbound && m.t === Hs.ANSWER && this.peer !== undefined) {
      if (!checkProof(cookie, this.challenge, this.peer, m.digest)) throw distError('ERR_BAD_COOKIE', `${this.peer} does not know our cookie`);
      this.link.send(encodePlain({ t: Hs.ACK }));
      this.becomeUp();
      return;
    }
    if (this.outbound && m.t === Hs.ACK && this.peerCreation !== 0) {
      this.becomeUp();
      return;
    }
    throw distError('ERR_PROTOCOL_STATE', `unexpected handshake message ${renderUntrusted(m.t)}`);
  }

  /** Continues an inbound handshake the kernel admitted (at once, or after parking it). */
  admitted(): void {
    if (this.state !== 'handshake' || this.peerChallenge === undefined) return;
    const k = this.kernel;
    const reply: Challenge = {
      t: Hs.CHALLENGE, v: PROTOCOL_VERSION, flags: k.flags, name: k.node.name, creation: k.node.creation, url: k.url,
      challenge: this.challenge, digest: proof(k.options.cookie, this.peerChallenge, k.node.name),
    };
    this.link.send(encodePlain(reply));
  }

  private checkIdentity(m: Record<string, unknown>): void {
    const v = m.v;
    if (typeof v !== 'number' || v < MIN_PROTOCOL_VERSION) throw distError('ERR_BAD_VERSION', `unsupported protocol version ${renderUntrusted(v)}`);
    if (!isNodeName(m.name)) throw distError('ERR_BAD_NAME', `bad node name ${renderUntrusted(m.name)}`);
    if (typeof m.creation !== 'number' || !(m.creation > 0)) throw distError('ERR_PROTOCOL_STATE', 'bad creation');
    if (typeof m.flags !== 'number') throw distError('ERR_PROTOCOL_STATE', 'bad flags');
  }

  private becomeUp(): void {
    const k = this.kernel;
    if (this.handshakeTimer !== undefined) {
      k.node.timers.cancel(this.handshakeTimer);
      this.handshakeTimer = undefined;
    }
    if (!k.connectionUp(this)) return;
    this.state = 'up';
    const now = k.node.clock.now();
    this.lastRecv = this.lastSend = now;
    this.scheduleTick();
    if (this.pending.length > 0) this.flush();
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
        this.fail('ERR_TICK_TIMEOUT', `${this.peer} was silent for ${Math.round(now - this.lastRecv)} ms (tickTime ${k.options.tickTime} ms)`);
        return;
      }
      if (now - this.lastSend >= k.options.tickTime / 4 - 1 && this.pending.length === 0) {
        this.lastSend = now;
        this.link.send(this.encoder.encode([[Op.TICK]]));
      }
      this.scheduleTick();
    }, undefined);
  }

  // ---------------------------------------------------------------- closing

  private fail(code: DistErrorCode, message: string): void {
    if (this.state === 'closed') return;
    this.kernel.node.report({ kind: 'dist', message: `connection ${this.describe()} closed: ${message}`, code, peer: this.peer });
    this.close(code, message);
  }

  /** The transport connection ended without us asking: the peer closed it, or our dial failed. */
  private onLinkClosed(err: DistError | undefined): void {
    if (this.state === 'closed') return;
    if (this.outbound && !this.open) {
      // A dial that found nobody (a peer not up yet, or gone): normal during boot, not a report.
      dialLog(`dial to ${this.expected ?? 'a seed'} failed: ${err?.message ?? 'closed'}`);
    } else if (err?.code === 'ERR_FRAME_TOO_LARGE') {
      this.kernel.node.report({ kind: 'dist', message: `connection ${this.describe()} closed: ${err.message}`, code: err.code, peer: this.peer });
    }
    this.finish(err);
  }

  private finish(reason: DistError | undefined): void {
    if (this.state === 'closed') return;
    const wasUp = this.state === 'up';
    this.state = 'closed';
    this.closeReason = reason;
    this.pending = [];
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.immediate = undefined;
    const timers = this.kernel.node.timers;
    if (this.handshakeTimer !== undefined) timers.cancel(this.handshakeTimer);
    if (this.tickTimer !== undefined) timers.cancel(this.tickTimer);
    this.handshakeTimer = this.tickTimer = undefined;
    this.kernel.connectionClosed(this, wasUp);
  }

  private describe(): string {
    return `${this.outbound ? 'to' : 'from'} ${this.peer ?? 'an unknown node'}`;
  }
}
