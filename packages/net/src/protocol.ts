/**
 * The wire protocol between rigil nodes: one WebSocket per pair of nodes, binary frames,
 * each frame a msgpack array of messages. The handshake uses plain msgpack; after it, each
 * direction uses a sequential record codec (structures defined once, then referenced).
 *
 * Version history (the newer side understands the older one; the major must match):
 * - 1: initial protocol — handshake with HMAC-SHA256 challenge/response, SEND, REG_SEND,
 *      ALIAS_SEND, LINK, UNLINK, EXIT, MONITOR, DEMONITOR, DOWN, TICK, MEMBERS.
 *      Flag REPLY_DEMONITORS (both sides must announce it): an ALIAS_SEND whose tag is the ref
 *      of a monitor the receiver of the reply holds on the sender (a call's reply) also ends that
 *      monitor on both sides, so no DEMONITOR follows a call.
 */

/** The protocol version this node speaks. */
export const PROTOCOL_VERSION = 1;
/** The oldest version this node still understands. */
export const MIN_PROTOCOL_VERSION = 1;

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
} as const;

/** Handshake messages (before the connection is up), each a msgpack map with a `t` tag. */
export const Hs = {
  HELLO: 'hello',
  CHALLENGE: 'challenge',
  ANSWER: 'answer',
  ACK: 'ack',
} as const;

/** First message, client → server. */
export interface Hello {
  readonly t: typeof Hs.HELLO;
  readonly v: number;
  readonly flags: number;
  readonly name: string;
  readonly creation: number;
  /** Where the client itself listens (so peers can reach it), or null. */
  readonly url: string | null;
  readonly challenge: Uint8Array;
}

/** Server → client: its identity, its proof for the client's challenge, its own challenge. */
export interface Challenge {
  readonly t: typeof Hs.CHALLENGE;
  readonly v: number;
  readonly flags: number;
  readonly name: string;
  readonly creation: number;
  readonly url: string | null;
  readonly challenge: Uint8Array;
  readonly digest: Uint8Array;
}

/** Client → server: the proof for the server's challenge. */
export interface Answer {
  readonly t: typeof Hs.ANSWER;
  readonly digest: Uint8Array;
}

/** Server → client: accepted; the connection is up. */
export interface Ack {
  readonly t: typeof Hs.ACK;
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
} as const;
/** A data operation code. */
export type Op = (typeof Op)[keyof typeof Op];
