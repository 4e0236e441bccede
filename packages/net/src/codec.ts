/**
 * The one wire codec: msgpackr with extensions for `Pid` and `Ref`.
 *
 * Values that survive the trip: JSON-able values, `undefined`, `Map`, `Set`, `Date`,
 * `Uint8Array`/`Buffer`, `bigint`, `Error`s, pids and refs (and so structured exit reasons).
 * After the handshake each direction of a connection uses a *sequential* record codec: an
 * object shape is described once and referenced afterwards, which is where msgpackr's speed
 * comes from; that requires frames to be decoded in the order they were encoded, which one
 * WebSocket per pair of nodes guarantees.
 *
 * Frames come from peers, so decoding treats them as hostile (issue 11, SECURITY.md):
 * - msgpackr's structured-clone extensions (`0x69` id / `0x70` pointer) are off in every
 *   Unpackr (`structuredClone: false`; msgpackr tests `=== false`). With them on, a 450-byte
 *   frame decoded to a DAG with 2^27 paths that took 41 s to stringify; without them a decoded
 *   value is a tree no larger than its frame, so any walk of it is linear in the frame's bytes.
 * - pid and ref extension payloads are checked: `[node, id, creation]` with a node name of at
 *   most 255 characters and non-negative integer ids.
 * - nesting: a data frame's values are not walked on the per-message path (that would cost
 *   every message); their depth is bounded by the decoder's own recursion (a frame nested
 *   deeper than the stack allows fails to decode: `ERR_BAD_FRAME`, the connection closes).
 *   Handshake and control frames, which are small and flat, are checked against
 *   `PLAIN_MAX_DEPTH`/`PLAIN_MAX_NODES`; values about to be rendered into errors or reports go
 *   through `renderUntrusted` (render.ts), which is depth- and size-bounded itself, and
 *   exit reasons from peers are checked with `withinDepth` (net_kernel.ts).
 * - error messages quote the frame only through `renderUntrusted`.
 */
import { Pid, Ref } from '@rigil/core';
import { addExtension, Packr, Unpackr, type Options } from 'msgpackr';
import { distError } from './errors.js';
import { escapeUntrusted, renderUntrusted } from './render.js';

/** Turns `{node, id, creation}` into the canonical pid object of the receiving node. */
export type PidInterner = (node: string, id: number, creation: number) => Pid;

/** Extension type numbers (msgpack ext types, application range). */
const EXT_PID = 1;
const EXT_REF = 2;

/**
 * The interner of the decode in progress. msgpackr's extensions are process-wide, while pids
 * must be interned per receiving node; decoding is synchronous, so the decoder sets this for
 * the duration of one `unpack` call.
 */
let interner: PidInterner | undefined;
/** The decoder whose `unpack` is in progress (its pid cache), likewise. */
let decoding: Decoder | undefined;
/** The encoder whose `pack` is in progress, when its pid cache is on (see `PID_CACHE_SLOTS`). */
let encoding: Encoder | undefined;

/**
 * Slots of a connection's pid cache, per direction (the peer announced `Flags.PID_CACHE`):
 * the first time a pid goes out on a stream it is written as `[slot, node, id, creation]` and
 * the receiver keeps the decoded (interned) pid in that slot; afterwards the pid is written as
 * the bare slot number — one byte for the first 128 slots instead of the node name and two
 * integers, and nothing for the receiver to intern again. Slots are handed out in turn and
 * reused round-robin once all are taken, the same way on both sides because the stream is
 * decoded in the order it was encoded (like the record structures). The receiver's table is
 * bounded by this constant whatever the peer sends: a slot outside it, or a reference to a
 * slot never defined, is `ERR_BAD_FRAME`.
 *
 * OTP's counterpart is the distribution header's atom cache (`DFLAG_DIST_HDR_ATOM_CACHE`: 2048
 * atoms per connection, a new one sent whole with its index, then the index alone); rigil
 * caches whole pids, whose node name is the bulk of their bytes and whose interning is the
 * receiver's per-message work.
 */
export const PID_CACHE_SLOTS = 1024;

/** Longest node name in a pid or ref (as `isNodeName` allows). */
const MAX_NODE_NAME = 255;

/**
 * Reads the `[node, id, creation]` triple of a pid or ref extension: a node name of 1–255
 * characters and two non-negative integers; anything else is a bad frame.
 */
function triple(a: unknown, what: string): [string, number, number] {
  if (!Array.isArray(a) || a.length !== 3) throw distError('ERR_BAD_FRAME', `malformed ${what}`);
  const [node, id, creation] = a as unknown[];
  if (typeof node !== 'string' || node.length === 0 || node.length > MAX_NODE_NAME || !isIndex(id) || !isIndex(creation)) {
    throw distError('ERR_BAD_FRAME', `malformed ${what}`);
  }
  return a as [string, number, number];
}

function isIndex(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}

addExtension({
  Class: Pid,
  type: EXT_PID,
  write: (p: Pid) => (encoding !== undefined ? encoding.pidValue(p) : [p.node, p.id, p.creation]),
  read: (a: unknown) => {
    // A cached pid (a slot number) or a definition of one ([slot, node, id, creation]).
    if (typeof a === 'number' || (Array.isArray(a) && a.length === 4)) {
      if (decoding === undefined) throw distError('ERR_BAD_FRAME', 'malformed pid');
      return decoding.cachedPid(a);
    }
    const [node, id, creation] = triple(a, 'pid');
    return interner !== undefined ? interner(node, id, creation) : new Pid(node, id, creation);
  },
});

addExtension({
  Class: Ref,
  type: EXT_REF,
  write: (r: Ref) => [r.node, r.id, r.creation],
  read: (a: unknown) => new Ref(...triple(a, 'ref')),
});

const BASE: Options = {
  mapsAsObjects: false,
  moreTypes: true,
  useBigIntExtension: true,
  int64AsType: 'bigint',
  encodeUndefinedAsNil: false,
  // Never decode msgpackr's structured-clone id/pointer extensions: a peer could send a tiny
  // frame that decodes to a DAG exponentially larger than itself (see the file comment).
  structuredClone: false,
};

/** Deepest nesting of a handshake or control frame (they are flat maps of scalars and bytes). */
export const PLAIN_MAX_DEPTH = 8;
/** Most values in a handshake or control frame. */
export const PLAIN_MAX_NODES = 1024;
/**
 * Deepest exit reason accepted from a peer (EXIT, DOWN). Reasons end up in crash reports,
 * which format them whole; a reason nested a few thousand levels deep (still decodable)
 * overflows the stack of `JSON.stringify`. Real reasons are a few levels deep.
 */
export const REASON_MAX_DEPTH = 100;

/**
 * Options of the sequential codec of an established connection. msgpackr's constructors
 * write into the options object they are given (an Unpackr adds its `structures` array), so
 * every instance gets a fresh copy: sharing one would share record tables between streams.
 */
function sequential(): Options {
  return { ...BASE, useRecords: true, sequential: true };
}

/**
 * A control frame that tells the receiving decoder to start a fresh record table. Data frames
 * are always msgpack arrays; a control frame is a map, so the two never mix up.
 */
export const RESET_FRAME: Buffer = encodePlainValue({ t: 'reset' });

/**
 * Fragmentation (OTP 22's fragmented distribution messages, simplified; only to a peer that
 * announced `Flags.FRAGMENTS`): an encoded frame longer than the connection's `fragmentSize`
 * goes out as a 5-byte *fragment header* — the frame's total length as a msgpack uint32 (0xce
 * and a big-endian u32): a number, so never a data frame (an array) or a control frame (a map)
 * — followed by the frame's bytes in transport frames of at most `fragmentSize` each, back to
 * back. The receiver collects exactly that many bytes and decodes them as one frame.
 */
const FRAGMENT_TAG = 0xce;

/** The header announcing a frame of `total` bytes sent in fragments. */
export function fragmentHeader(total: number): Buffer {
  const h = Buffer.allocUnsafe(5);
  h[0] = FRAGMENT_TAG;
  h.writeUInt32BE(total, 1);
  return h;
}

/** The total length a fragment header announces, or -1 when `frame` is not one. */
export function fragmentTotal(frame: Uint8Array): number {
  if (frame[0] !== FRAGMENT_TAG) return -1;
  if (frame.length !== 5) throw distError('ERR_BAD_FRAME', 'malformed fragment header');
  return ((frame[1]! << 24) >>> 0) + (frame[2]! << 16) + (frame[3]! << 8) + frame[4]!;
}

/** Encodes frames for one direction of one connection. */
export class Encoder {
  private packr = new Packr(sequential());
  /** The pid cache (`PID_CACHE_SLOTS`): pid → slot, and what each slot holds; off until `cachePids`. */
  private pidSlot: Map<Pid, number> | undefined;
  private slotPid: Pid[] = [];
  private nextSlot = 0;

  /**
   * Turns the pid cache on (the peer announced `Flags.PID_CACHE`), before the first frame that
   * may carry a pid. Without it pids go out whole, as peers without the flag read them. No OTP
   * function: OTP's atom cache is switched on by `DFLAG_DIST_HDR_ATOM_CACHE` inside the VM.
   */
  cachePids(): void {
    this.pidSlot ??= new Map();
  }

  /** Encodes a batch of messages as one frame. */
  encode(batch: readonly unknown[]): Buffer {
    if (this.pidSlot === undefined) return this.packr.pack(batch);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the pid extension is process-wide: it finds this encoder here for the duration of one synchronous pack
    encoding = this;
    try {
      return this.packr.pack(batch);
    } finally {
      encoding = undefined;
    }
  }

  /**
   * What goes on the wire for `p` (called by the pid extension while this encoder packs): its
   * slot once it has one, else a definition taking the next slot (the oldest one's pid is
   * forgotten once all are taken). Mirrors the VM's atom-cache lookup when it encodes a
   * distribution header (erts external.c, `erts_encode_ext_dist_header_setup`), applied to pids.
   */
  pidValue(p: Pid): number | [number, string, number, number] {
    const slots = this.pidSlot!;
    const s = slots.get(p);
    if (s !== undefined) return s;
    const slot = this.nextSlot;
    this.nextSlot = slot + 1 === PID_CACHE_SLOTS ? 0 : slot + 1;
    const old = this.slotPid[slot];
    if (old !== undefined) slots.delete(old);
    this.slotPid[slot] = p;
    slots.set(p, slot);
    return [slot, p.node, p.id, p.creation];
  }

  /**
   * Forgets every record structure and cached pid sent so far; the peer's decoder must be
   * reset too (send `RESET_FRAME` first). Used when an encoded frame had to be thrown away.
   */
  reset(): void {
    this.packr = new Packr(sequential());
    if (this.pidSlot !== undefined) {
      this.pidSlot.clear();
      this.slotPid = [];
      this.nextSlot = 0;
    }
  }
}

/** The size of one message encoded on its own, without records (to find an oversized one). */
export function plainSize(msg: unknown): number {
  return plainPackr.pack(msg).length;
}

/** Decodes frames for one direction of one connection. */
export class Decoder {
  private unpackr = new Unpackr(sequential());
  /** The peer's cached pids by slot (`PID_CACHE_SLOTS` at most). */
  private slots: Pid[] = [];

  constructor(private readonly intern: PidInterner) {}

  /**
   * A pid of the cache (called by the pid extension while this decoder unpacks): `slot` names
   * one defined earlier on this stream; `[slot, node, id, creation]` defines (or redefines) it.
   * Mirrors the VM's decoding of a distribution header's atom-cache references (erts external.c).
   */
  cachedPid(a: number | unknown[]): Pid {
    if (typeof a === 'number') {
      const p = isIndex(a) && a < PID_CACHE_SLOTS ? this.slots[a] : undefined;
      if (p === undefined) throw distError('ERR_BAD_FRAME', 'a cached pid that was never defined');
      return p;
    }
    const slot = a[0];
    if (!isIndex(slot) || slot >= PID_CACHE_SLOTS) throw distError('ERR_BAD_FRAME', 'malformed pid');
    const [node, id, creation] = triple(a.slice(1), 'pid');
    const p = this.intern(node, id, creation);
    this.slots[slot] = p;
    return p;
  }

  /**
   * Decodes one frame: an array of messages (an empty array for a control frame). Throws
   * `ERR_BAD_FRAME` on anything else.
   */
  decode(frame: Uint8Array): unknown[] {
    const first = frame[0];
    if (first !== undefined && ((first >= 0x80 && first <= 0x8f) || first === 0xde || first === 0xdf)) {
      // A control frame (a small map): the only one is the encoder's reset.
      if (decodePlain(frame).t !== 'reset') throw distError('ERR_BAD_FRAME', 'unknown control frame');
      this.unpackr = new Unpackr(sequential());
      this.slots = [];
      return [];
    }
    interner = this.intern;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- likewise for the decoder of the unpack in progress
    decoding = this;
    let v: unknown;
    try {
      v = this.unpackr.unpack(frame);
    } catch (e) {
      throw distError('ERR_BAD_FRAME', `frame does not decode: ${errorText(e)}`);
    } finally {
      interner = undefined;
      decoding = undefined;
    }
    if (!Array.isArray(v)) throw distError('ERR_BAD_FRAME', 'a frame must be an array of messages');
    return v;
  }
}

const plainPackr = new Packr({ ...BASE, useRecords: false });
const plainUnpackr = new Unpackr({ ...BASE, useRecords: false, mapsAsObjects: true });

/** Encodes a handshake message (plain msgpack, no records). */
export function encodePlain(msg: unknown): Buffer {
  return plainPackr.pack(msg);
}

function encodePlainValue(msg: unknown): Buffer {
  return Buffer.from(new Packr({ ...BASE, useRecords: false }).pack(msg));
}

/** Decodes a handshake message; throws `ERR_BAD_FRAME` if it does not decode to an object with a tag. */
export function decodePlain(frame: Uint8Array): Record<string, unknown> {
  let v: unknown;
  try {
    v = plainUnpackr.unpack(frame);
  } catch (e) {
    throw distError('ERR_BAD_FRAME', `handshake frame does not decode: ${errorText(e)}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof (v as { t?: unknown }).t !== 'string') {
    throw distError('ERR_BAD_FRAME', 'a handshake frame must be a tagged map');
  }
  if (!withinDepth(v, PLAIN_MAX_DEPTH, PLAIN_MAX_NODES)) {
    throw distError('ERR_BAD_FRAME', `a handshake frame must be flat (at most ${PLAIN_MAX_DEPTH} levels, ${PLAIN_MAX_NODES} values)`);
  }
  return v as Record<string, unknown>;
}

/** Encodes a standalone value with the sequential codec of a fresh stream (tests, tools). */
export function roundTrip(value: unknown, intern?: PidInterner): unknown {
  const enc = new Encoder();
  const dec = new Decoder(intern ?? ((n, i, c) => new Pid(n, i, c)));
  return dec.decode(enc.encode([value]))[0];
}

/**
 * True when `value` nests at most `maxDepth` levels of arrays, objects, Maps and Sets and holds
 * at most `maxNodes` values. Iterative (no recursion to overflow) and stops at the first limit,
 * so it costs at most `maxNodes` steps whatever it is given.
 */
export function withinDepth(value: unknown, maxDepth: number, maxNodes = Infinity): boolean {
  if (typeof value !== 'object' || value === null) return true;
  const stack: Array<[unknown, number]> = [[value, 0]];
  let nodes = 0;
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (++nodes > maxNodes) return false;
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v) || v instanceof Pid || v instanceof Ref || v instanceof Date) continue;
    if (d >= maxDepth) return false;
    // Sizes are checked before children are pushed, so a huge array costs one step, not its length.
    if (Array.isArray(v)) {
      if (nodes + stack.length + v.length > maxNodes) return false;
      for (const x of v) stack.push([x, d + 1]);
    } else if (v instanceof Map) {
      if (nodes + stack.length + 2 * v.size > maxNodes) return false;
      for (const [k, x] of v) stack.push([k, d + 1], [x, d + 1]);
    } else if (v instanceof Set) {
      if (nodes + stack.length + v.size > maxNodes) return false;
      for (const x of v) stack.push([x, d + 1]);
    } else {
      const keys = Object.keys(v);
      if (nodes + stack.length + keys.length > maxNodes) return false;
      for (const k of keys) stack.push([(v as Record<string, unknown>)[k], d + 1]);
    }
  }
  return true;
}

/** The message of a decoding error, bounded and escaped (msgpackr quotes the frame in some). */
function errorText(e: unknown): string {
  const message = e instanceof Error ? e.message : e;
  return typeof message === 'string' ? escapeUntrusted(message, 160) : renderUntrusted(message);
}
