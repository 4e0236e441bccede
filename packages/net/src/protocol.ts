/**
 * The wire protocol between rigil nodes: one WebSocket per pair of nodes, binary frames,
 * each frame a msgpack array of messages. The handshake uses plain msgpack; after it, each
 * direction uses a sequential record codec (structures defined once, then referenced).
 *
 * Version history (the newer side understands the older one down to MIN_PROTOCOL_VERSION):
 * - 1: initial protocol — handshake with HMAC-SHA256 challenge/response, SEND, REG_SEND,
 *      ALIAS_SEND, LINK, UNLINK, EXIT, MONITOR, DEMONITOR, DOWN, TICK, MEMBERS.
 *      Flag REPLY_DEMONITORS (both sides must announce it): an ALIAS_SEND whose tag is the ref
 *      of a monitor the receiver of the reply holds on the sender (a call's reply) also ends that
 *      monitor on both sides, so no DEMONITOR follows a call.
 * - 2: a new handshake (handshake.ts), the data operations unchanged. Why: in 1 the acceptor
 *      proved first, to anyone who said hello, and its proof HMAC(cookie, challenge ‖ name) was
 *      not length-framed — a client without the cookie could reflect the acceptor's proof back
 *      at it from a second connection, or relay one node's proof to another (issue 11), and
 *      every stranger got a MAC sample to guess the cookie offline. In 2 the dialler proves
 *      first, as Erlang's `dist_util` does; each proof is a MAC over a length-framed transcript
 *      (domain tag, version, role, both names, creations, 32-byte nonces and flags); the
 *      acceptor sends nothing derived from the cookie before the dialler's proof checked, and
 *      a name is claimed only after it. Hello/challenge carry `nonce` (was `challenge`), the
 *      challenge no `digest`, the answer and the ack a `mac`.
 *      Version 1 peers are refused with `ERR_BAD_VERSION` (MIN_PROTOCOL_VERSION is 2): its
 *      handshake cannot be offered safely next to 2's — an acceptor that still answered a
 *      version-1 hello would still hand out reflectable proofs.
 *      Flag FRAGMENTS (both sides must announce it): a frame longer than `fragmentSize` may go
 *      out as a fragment header (its total length, a msgpack uint32) followed by its bytes in
 *      slices, so the receiver sees traffic, and ticks stay alive, during a long transfer.
 *      Flag GOODBYE (both sides must announce it; issue 15): a node that closes a connection on
 *      purpose — a tick timeout, `disconnect`, a protocol error, its own stop — first sends
 *      `[GOODBYE, code]` on it. A peer's close *without* a goodbye then means its process died
 *      (its OS closed the socket), which dist-ac's quorum mode fails over at once; a goodbye
 *      means the peer lives on and may still run what it ran (No OTP counterpart: OTP's
 *      distribution has no such frame, and `nodedown` reasons only say `connection_closed` or
 *      `net_tick_timeout`).
 *      Flag PID_CACHE (used towards a peer that announced it; issue 18): each direction keeps
 *      a table of `PID_CACHE_SLOTS` pids; a pid goes out as `[slot, node, id, creation]` the
 *      first time and as the bare slot number afterwards (codec.ts). The `{ seq: n }` message
 *      of a remote send shrank from about 30 bytes to about 10, and the receiver no longer
 *      interns the destination pid of every message. A peer without the flag gets whole pids.
 */

/** The protocol version this node speaks. */
export const PROTOCOL_VERSION = 2;
/** The oldest version this node still understands (1 is refused: see the history above). */
export const MIN_PROTOCOL_VERSION = 2;

/** Capability flags announced in the handshake. */
export const Flags = {
  /** The node is hidden: not part of the mesh, not in `nodes()`. */
  HIDDEN: 1,
  /** The node runs `global` and takes part in its name and lock protocol. */
  GLOBAL: 2,
  /** A call's reply (ALIAS_SEND on a monitored tag) ends the caller's monitor on both sides. */
  REPLY_DEMONITORS: 4,
  /**
   * The node reassembles fragmented frames (codec.ts, `fragmentHeader`); frames to it longer
   * than the sender's `fragmentSize` are sent in fragments (OTP's `DFLAG_FRAGMENTS`).
   */
  FRAGMENTS: 8,
  /** The node says goodbye (`Op.GOODBYE`) before it closes a connection on purpose. */
  GOODBYE: 16,
  /**
   * The node reads cached pids (codec.ts, `PID_CACHE_SLOTS`): pids to it are written whole once
   * per stream and then as a slot number (OTP's `DFLAG_DIST_HDR_ATOM_CACHE`, for pids).
   */
  PID_CACHE: 32,
} as const;

/** Handshake messages (before the connection is up), each a msgpack map with a `t` tag (see handshake.ts). */
export const Hs = {
  HELLO: 'hello',
  CHALLENGE: 'challenge',
  ANSWER: 'answer',
  ACK: 'ack',
} as const;

/** Step 1, dialler → acceptor: who the dialler is, and its nonce. No proof. */
export interface Hello {
  readonly t: typeof Hs.HELLO;
  readonly v: number;
  readonly flags: number;
  readonly name: string;
  readonly creation: number;
  /** Where the dialler itself listens (so peers can reach it), or null. */
  readonly url: string | null;
  /** Exactly 32 random bytes. */
  readonly nonce: Uint8Array;
}

/** Step 2, acceptor → dialler: who the acceptor is, and its nonce. Nothing derived from the cookie. */
export interface Challenge {
  readonly t: typeof Hs.CHALLENGE;
  readonly v: number;
  readonly flags: number;
  readonly name: string;
  readonly creation: number;
  readonly url: string | null;
  /** Exactly 32 random bytes. */
  readonly nonce: Uint8Array;
}

/** Step 3, dialler → acceptor: HMAC-SHA256(cookie, T('dialler')). */
export interface Answer {
  readonly t: typeof Hs.ANSWER;
  readonly mac: Uint8Array;
}

/** Step 4, acceptor → dialler: admitted; HMAC-SHA256(cookie, T('acceptor')). */
export interface Ack {
  readonly t: typeof Hs.ACK;
  readonly mac: Uint8Array;
}

/** Data operations (after the handshake); each message is `[op, ...args]`. */
export const Op = {
  /** [SEND, toPid, msg] */
  SEND: 1,
  /** [REG_SEND, name, msg] */
  REG_SEND: 2,
  /** [ALIAS_SEND, tagRef, msg] */
  ALIAS_SEND: 3,
  /** [LINK, fromPid, toPid] */
  LINK: 4,
  /** [UNLINK, fromPid, toPid] */
  UNLINK: 5,
  /** [EXIT, fromPid, toPid, reason, linked] */
  EXIT: 6,
  /** [MONITOR, ownerPid, target (pid or name), ref] */
  MONITOR: 7,
  /** [DEMONITOR, ownerPid, target, ref] */
  DEMONITOR: 8,
  /** [DOWN, ref, reason] */
  DOWN: 9,
  /** [TICK] */
  TICK: 10,
  /** [MEMBERS, [[name, url], ...]]: the nodes the sender is connected to (transitive connect). */
  MEMBERS: 11,
  /** [GOODBYE, code]: the sender closes this connection on purpose (`code`: why, e.g. `'normal'`, `'ERR_TICK_TIMEOUT'`); sent only to a peer that announced `Flags.GOODBYE`. */
  GOODBYE: 12,
} as const;
/** A data operation code. */
export type Op = (typeof Op)[keyof typeof Op];
