/**
 * The cookie challenge/response of the handshake (OTP's `dist_util` challenge).
 *
 * Each side sends a random challenge; the other proves it knows the cookie by answering
 * HMAC-SHA256(cookie, challenge ‖ its own name). The cookie never crosses the wire, binding
 * the prover's name stops a reflected answer, and answers are compared in constant time.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { encodePlain } from './codec.js';
import { distError, type DistErrorCode } from './errors.js';
import { Hs, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, type Challenge, type Hello } from './protocol.js';

/** Bytes of a challenge. */
export const CHALLENGE_BYTES = 32;

/** A fresh random challenge. */
export function makeChallenge(): Buffer {
  return randomBytes(CHALLENGE_BYTES);
}

/** The proof that `prover` knows `cookie`, for `challenge`. */
export function proof(cookie: string, challenge: Uint8Array, prover: string): Buffer {
  return createHmac('sha256', cookie).update(challenge).update(prover, 'utf8').digest();
}

/** Checks a proof in constant time. */
export function checkProof(cookie: string, challenge: Uint8Array, prover: string, got: unknown): boolean {
  if (!(got instanceof Uint8Array)) return false;
  const want = proof(cookie, challenge, prover);
  return got.length === want.length && timingSafeEqual(want, got);
}

/** True for a node name of the form `name@host`. */
export function isNodeName(s: unknown): s is string {
  return typeof s === 'string' && s.length <= 255 && /^[A-Za-z0-9_.-]+@[A-Za-z0-9_.:-]+$/.test(s);
}

/** How the owner answers an inbound hello: go on, wait (`park`), or refuse with a code. */
export type Admission = 'ok' | 'park' | { code: DistErrorCode; message: string };

/** Who the peer says it is (from its hello or challenge). */
export interface PeerIdentity {
  readonly name: string;
  readonly creation: number;
  readonly flags: number;
  readonly url: string | null;
}

/** What the handshake needs from its connection (implemented by `Connection`). */
export interface HandshakeHost {
  /** Our identity and the cookie. */
  local(): { name: string; creation: number; flags: number; url: string | null; cookie: string };
  /** Sends one handshake frame. */
  send(frame: Uint8Array): void;
  /** The peer said who it is. */
  identify(peer: PeerIdentity): void;
  /** Asks the net kernel whether this inbound peer may go on. */
  admit(): Admission;
  /** The handshake succeeded: the connection is up. */
  up(): void;
}

/**
 * The handshake of one connection (OTP's `dist_util` handshake states): messages in, frames
 * out, and a verdict. Anything wrong throws a `DistError`; the connection closes with its code.
 */
export class Handshake {
  /** Our challenge to the peer. */
  private readonly challenge = makeChallenge();
  /** The peer's challenge (inbound), kept until we answer it. */
  private peerChallenge: Uint8Array | undefined;
  /** The peer's name, once it said it. */
  private peer: string | undefined;
  /** The peer's creation (outbound: 0 until its challenge). */
  private peerCreation = 0;

  constructor(
    private readonly host: HandshakeHost,
    /** True when we dialled. */
    private readonly outbound: boolean,
    /** For outbound connections: the node we expect to reach, if known. */
    private readonly expected: string | undefined,
  ) {}

  /** The dialler's first move, once the transport connection is open. */
  start(): void {
    const l = this.host.local();
    const hello: Hello = { t: Hs.HELLO, v: PROTOCOL_VERSION, flags: l.flags, name: l.name, creation: l.creation, url: l.url, challenge: this.challenge };
    this.host.send(encodePlain(hello));
  }

  /** One handshake message from the peer. */
  onMessage(m: Record<string, unknown>): void {
    const h = this.host;
    const cookie = h.local().cookie;
    if (!this.outbound && m.t === Hs.HELLO) {
      if (this.peer !== undefined) throw distError('ERR_PROTOCOL_STATE', 'second hello');
      const id = checkIdentity(m);
      this.peer = id.name;
      this.peerCreation = id.creation;
      h.identify(id);
      if (!(m.challenge instanceof Uint8Array)) throw distError('ERR_PROTOCOL_STATE', 'hello without a challenge');
      this.peerChallenge = m.challenge;
      const verdict = h.admit();
      if (verdict === 'park') return; // resumed by `admitted()` or closed
      if (verdict !== 'ok') throw distError(verdict.code, verdict.message);
      this.admitted();
      return;
    }
    if (this.outbound && m.t === Hs.CHALLENGE && this.peerCreation === 0) {
      const id = checkIdentity(m);
      if (this.expected !== undefined && id.name !== this.expected) {
        throw distError('ERR_BAD_NAME', `dialled ${this.expected} but reached ${id.name}`);
      }
      if (!checkProof(cookie, this.challenge, id.name, m.digest)) throw distError('ERR_BAD_COOKIE', `${id.name} does not know our cookie`);
      if (!(m.challenge instanceof Uint8Array)) throw distError('ERR_PROTOCOL_STATE', 'challenge without a challenge');
      this.peer = id.name;
      this.peerCreation = id.creation;
      h.identify(id);
      h.send(encodePlain({ t: Hs.ANSWER, digest: proof(cookie, m.challenge, h.local().name) }));
      return;
    }
    if (!this.outbound && m.t === Hs.ANSWER && this.peer !== undefined) {
      if (!checkProof(cookie, this.challenge, this.peer, m.digest)) throw distError('ERR_BAD_COOKIE', `${this.peer} does not know our cookie`);
      h.send(encodePlain({ t: Hs.ACK }));
      h.up();
      return;
    }
    if (this.outbound && m.t === Hs.ACK && this.peerCreation !== 0) {
      h.up();
      return;
    }
    throw distError('ERR_PROTOCOL_STATE', `unexpected handshake message ${String(m.t)}`);
  }

  /** Continues an inbound handshake the kernel admitted (at once, or after parking it). */
  admitted(): void {
    if (this.peerChallenge === undefined) return;
    const l = this.host.local();
    const reply: Challenge = {
      t: Hs.CHALLENGE, v: PROTOCOL_VERSION, flags: l.flags, name: l.name, creation: l.creation, url: l.url,
      challenge: this.challenge, digest: proof(l.cookie, this.peerChallenge, l.name),
    };
    this.host.send(encodePlain(reply));
  }
}

/** Checks the identity fields of a hello or challenge. */
function checkIdentity(m: Record<string, unknown>): PeerIdentity {
  const v = m.v;
  if (typeof v !== 'number' || v < MIN_PROTOCOL_VERSION) throw distError('ERR_BAD_VERSION', `unsupported protocol version ${String(v)}`);
  if (!isNodeName(m.name)) throw distError('ERR_BAD_NAME', `bad node name ${JSON.stringify(m.name)}`);
  if (typeof m.creation !== 'number' || !(m.creation > 0)) throw distError('ERR_PROTOCOL_STATE', 'bad creation');
  if (typeof m.flags !== 'number') throw distError('ERR_PROTOCOL_STATE', 'bad flags');
  return { name: m.name, creation: m.creation, flags: m.flags, url: typeof m.url === 'string' ? m.url : null };
}
