/**
 * The handshake between two nodes (OTP's `dist_util` handshake), protocol 2: who the peer is,
 * and proof that it knows the cookie, before a connection carries anything.
 *
 * The dialler proves first, as Erlang's does (`send_name` → `recv_challenge` →
 * `send_challenge_reply` → `recv_challenge_ack`):
 *
 *   1. dialler → acceptor  HELLO     { v, flags, name, creation, url, nonce }   (no proof)
 *   2. acceptor → dialler  CHALLENGE { v, flags, name, creation, url, nonce }   (nothing derived from the cookie)
 *   3. dialler → acceptor  ANSWER    { mac: HMAC-SHA256(cookie, T('dialler')) }
 *   4. the acceptor checks it (constant time); only now is the peer authenticated, and only now
 *      does the net kernel admit its name (duplicates, new incarnations, simultaneous dials);
 *      acceptor → dialler ACK { mac: HMAC-SHA256(cookie, T('acceptor')) }
 *   5. the dialler checks the acceptor's mac (and, at step 2, that the acceptor is the node it
 *      dialled, when it dialled a name) → up.
 *
 * T(role) is a transcript of the whole exchange, each field length-prefixed or fixed-size so
 * that no two different field lists encode to the same bytes: a domain tag, the protocol
 * version, the role, both names, both creations, both nonces (exactly 32 bytes each; anything
 * else is refused with `ERR_PROTOCOL_STATE`) and both flags. A proof therefore holds for one
 * role, one pair of nodes and one pair of fresh nonces only: it cannot be reflected back at its
 * maker (roles and names differ), relayed to a third node (names and nonces differ) or
 * replayed (nonces). The acceptor reveals nothing derived from the cookie before the dialler
 * has proven itself, so a stranger gets no MAC to guess the cookie against offline; a dialler
 * proves itself only to an address it chose to dial (a seed, or a member announced by an
 * authenticated peer), as in Erlang.
 *
 * Protocol 1 (the acceptor proved first, with HMAC(cookie, challenge ‖ name) not length-framed)
 * allowed a reflection and a relay (issue 11); its peers are refused with `ERR_BAD_VERSION`.
 * What the handshake does not give: confidentiality or integrity of the frames after it — use
 * TLS (`wss`) for those; the cookie is full trust, as in Erlang.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { encodePlain } from './codec.js';
import { distError, type DistErrorCode } from './errors.js';
import { Hs, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, type Ack, type Answer, type Challenge, type Hello } from './protocol.js';
import { renderUntrusted } from './render.js';

/** Bytes of a nonce: exactly this many, from each side. */
export const NONCE_BYTES = 32;

/** The domain tag that opens every transcript (a proof for anything else never matches one). */
export const HANDSHAKE_DOMAIN = 'rigil-dist-handshake';

/** Who makes a proof: the side that dialled, or the side that accepted. */
export type Role = 'dialler' | 'acceptor';

/** One side's part of a handshake transcript. */
export interface Side {
  readonly name: string;
  readonly creation: number;
  readonly flags: number;
  readonly nonce: Uint8Array;
}

/** Everything a proof covers, besides the role. */
export interface Transcript {
  /** The protocol version both sides speak (the smaller of the two announced). */
  readonly version: number;
  readonly dialler: Side;
  readonly acceptor: Side;
}

/** A fresh nonce from `random` (the node's generator; seeded in a simulated cluster), else from the OS. */
export function makeNonce(random?: { bytes(n: number): Uint8Array }): Uint8Array {
  return random !== undefined ? random.bytes(NONCE_BYTES) : randomBytes(NONCE_BYTES);
}

/**
 * The bytes a proof covers: each variable field length-prefixed (u32), each number a u32, each
 * nonce exactly `NONCE_BYTES`, in a fixed order — so two different transcripts never encode alike.
 */
export function transcriptBytes(role: Role, t: Transcript): Buffer {
  const parts: Buffer[] = [];
  const str = (s: string): void => {
    const b = Buffer.from(s, 'utf8');
    parts.push(u32(b.length), b);
  };
  const nonce = (n: Uint8Array): void => {
    if (n.length !== NONCE_BYTES) throw distError('ERR_PROTOCOL_STATE', `a nonce must be ${NONCE_BYTES} bytes, got ${n.length}`);
    parts.push(Buffer.from(n.buffer, n.byteOffset, n.byteLength));
  };
  str(HANDSHAKE_DOMAIN);
  parts.push(u32(t.version));
  str(role);
  str(t.dialler.name);
  str(t.acceptor.name);
  parts.push(u32(t.dialler.creation), u32(t.acceptor.creation));
  nonce(t.dialler.nonce);
  nonce(t.acceptor.nonce);
  parts.push(u32(t.dialler.flags), u32(t.acceptor.flags));
  return Buffer.concat(parts);
}

/** The proof that `role` knows `cookie`, for this transcript: HMAC-SHA256(cookie, T(role)). */
export function mac(cookie: string, role: Role, t: Transcript): Buffer {
  return createHmac('sha256', cookie).update(transcriptBytes(role, t)).digest();
}

/** Checks a proof in constant time; false for anything that is not the right 32 bytes. */
export function checkMac(cookie: string, role: Role, t: Transcript, got: unknown): boolean {
  if (!(got instanceof Uint8Array)) return false;
  const want = mac(cookie, role, t);
  return got.length === want.length && timingSafeEqual(want, got);
}

/** True for a node name of the form `name@host`. */
export function isNodeName(s: unknown): s is string {
  return typeof s === 'string' && s.length <= 255 && /^[A-Za-z0-9_.-]+@[A-Za-z0-9_.:-]+$/.test(s);
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/**
 * How the owner answers an authenticated inbound peer (step 4): go on, wait (`park`: the
 * simultaneous-dial rule says our own dial may win), or refuse with a code.
 */
export type Admission = 'ok' | 'park' | { code: DistErrorCode; message: string };

/** Who the peer says it is (from its hello or challenge; proven only once its mac checked). */
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
  /** Where our nonce comes from (the node's `random`). */
  readonly random: { bytes(n: number): Uint8Array };
  /** The peer said who it is. */
  identify(peer: PeerIdentity): void;
  /** Asks the net kernel whether this inbound peer, authenticated just now, may go on. */
  admit(): Admission;
  /** The handshake succeeded: the connection is up. */
  up(): void;
}

/** Where a handshake is (one of the documented steps above). */
export type HandshakeStep =
  /** dialler: transport connection not open yet */
  | 'connecting'
  /** dialler: HELLO sent, waiting for the CHALLENGE */
  | 'hello-sent'
  /** dialler: ANSWER sent, waiting for the ACK */
  | 'answer-sent'
  /** acceptor: waiting for the HELLO */
  | 'awaiting-hello'
  /** acceptor: CHALLENGE sent, waiting for the ANSWER */
  | 'challenge-sent'
  /** acceptor: the dialler proved itself; the net kernel parked it (simultaneous dials) */
  | 'parked'
  /** done: the connection is up (or went away) */
  | 'done';

/**
 * The handshake of one connection (OTP's `dist_util` handshake states): messages in, frames
 * out, and a verdict. Anything wrong throws a `DistError`; the connection closes with its code.
 */
export class Handshake {
  /** Where the exchange is. */
  step: HandshakeStep;
  /** Our nonce. */
  private readonly nonce: Uint8Array;
  /** The transcript, once both sides are known (after HELLO and CHALLENGE). */
  private transcript: Transcript | undefined;

  constructor(
    private readonly host: HandshakeHost,
    /** True when we dialled. */
    private readonly outbound: boolean,
    /** For outbound connections: the node we expect to reach, if known. */
    private readonly expected: string | undefined,
  ) {
    this.step = outbound ? 'connecting' : 'awaiting-hello';
    this.nonce = makeNonce(host.random);
  }

  /** The dialler's first move (step 1), once the transport connection is open. */
  start(): void {
    if (this.step !== 'connecting') return;
    const l = this.host.local();
    const hello: Hello = { t: Hs.HELLO, v: PROTOCOL_VERSION, flags: l.flags, name: l.name, creation: l.creation, url: l.url, nonce: this.nonce };
    this.step = 'hello-sent';
    this.host.send(encodePlain(hello));
  }

  /** One handshake message from the peer. */
  onMessage(m: Record<string, unknown>): void {
    const h = this.host;
    if (this.step === 'awaiting-hello' && m.t === Hs.HELLO) {
      // Step 2: who the dialler says it is; nothing is claimed, nothing cookie-derived is sent.
      const id = checkIdentity(m);
      const l = h.local();
      this.transcript = {
        version: Math.min(PROTOCOL_VERSION, id.v),
        dialler: { name: id.name, creation: id.creation, flags: id.flags, nonce: id.nonce },
        acceptor: { name: l.name, creation: l.creation, flags: l.flags, nonce: this.nonce },
      };
      h.identify(id);
      const reply: Challenge = { t: Hs.CHALLENGE, v: PROTOCOL_VERSION, flags: l.flags, name: l.name, creation: l.creation, url: l.url, nonce: this.nonce };
      this.step = 'challenge-sent';
      h.send(encodePlain(reply));
      return;
    }
    if (this.step === 'hello-sent' && m.t === Hs.CHALLENGE) {
      // Step 3: the acceptor is the node we dialled; we prove ourselves for this transcript.
      const id = checkIdentity(m);
      if (this.expected !== undefined && id.name !== this.expected) {
        throw distError('ERR_BAD_NAME', `dialled ${this.expected} but reached ${id.name}`);
      }
      const l = h.local();
      this.transcript = {
        version: Math.min(PROTOCOL_VERSION, id.v),
        dialler: { name: l.name, creation: l.creation, flags: l.flags, nonce: this.nonce },
        acceptor: { name: id.name, creation: id.creation, flags: id.flags, nonce: id.nonce },
      };
      h.identify(id);
      const answer: Answer = { t: Hs.ANSWER, mac: mac(l.cookie, 'dialler', this.transcript) };
      this.step = 'answer-sent';
      h.send(encodePlain(answer));
      return;
    }
    if (this.step === 'challenge-sent' && m.t === Hs.ANSWER) {
      // Step 4: the dialler's proof; only now may the kernel admit (and record) its name.
      const t = this.transcript!;
      if (!checkMac(h.local().cookie, 'dialler', t, m.mac)) throw distError('ERR_BAD_COOKIE', `${t.dialler.name} does not know our cookie`);
      const verdict = h.admit();
      if (verdict === 'park') {
        this.step = 'parked'; // resumed by `admitted()`, or closed
        return;
      }
      if (verdict !== 'ok') throw distError(verdict.code, verdict.message);
      this.admitted();
      return;
    }
    if (this.step === 'answer-sent' && m.t === Hs.ACK) {
      // Step 5: the acceptor's proof.
      const t = this.transcript!;
      if (!checkMac(h.local().cookie, 'acceptor', t, m.mac)) throw distError('ERR_BAD_COOKIE', `${t.acceptor.name} does not know our cookie`);
      this.step = 'done';
      h.up();
      return;
    }
    throw distError('ERR_PROTOCOL_STATE', `unexpected handshake message ${renderUntrusted(m.t, { maxLength: 32 })} in step ${this.step}`);
  }

  /** Completes an inbound handshake the kernel admitted (at once, or after parking it): ACK, up. */
  admitted(): void {
    if (this.step !== 'challenge-sent' && this.step !== 'parked') return;
    const ack: Ack = { t: Hs.ACK, mac: mac(this.host.local().cookie, 'acceptor', this.transcript!) };
    this.step = 'done';
    this.host.send(encodePlain(ack));
    this.host.up();
  }
}

/** The identity fields of a hello or challenge, checked: version, name, creation, flags, nonce. */
function checkIdentity(m: Record<string, unknown>): PeerIdentity & { v: number; nonce: Uint8Array } {
  const v = m.v;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < MIN_PROTOCOL_VERSION) {
    throw distError('ERR_BAD_VERSION', `unsupported protocol version ${typeof v === 'number' ? v : typeof v} (this node speaks ${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION})`);
  }
  if (!isNodeName(m.name)) throw distError('ERR_BAD_NAME', `bad node name ${renderUntrusted(m.name, { maxLength: 80 })}`);
  if (!isU32(m.creation) || m.creation === 0) throw distError('ERR_PROTOCOL_STATE', 'bad creation');
  if (!isU32(m.flags)) throw distError('ERR_PROTOCOL_STATE', 'bad flags');
  const nonce = m.nonce;
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_BYTES) throw distError('ERR_PROTOCOL_STATE', `a nonce must be exactly ${NONCE_BYTES} bytes`);
  if (m.url !== undefined && m.url !== null && (typeof m.url !== 'string' || m.url.length > 1024)) throw distError('ERR_PROTOCOL_STATE', 'bad url');
  return { v, name: m.name, creation: m.creation, flags: m.flags, url: typeof m.url === 'string' ? m.url : null, nonce };
}

function isU32(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
}
