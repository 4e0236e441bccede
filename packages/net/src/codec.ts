/**
 * The one wire codec: msgpackr with extensions for `Pid` and `Ref`.
 *
 * Values that survive the trip: JSON-able values, `undefined`, `Map`, `Set`, `Date`,
 * `Uint8Array`/`Buffer`, `bigint`, `Error`s, pids and refs (and so structured exit reasons).
 * After the handshake each direction of a connection uses a *sequential* record codec: an
 * object shape is described once and referenced afterwards, which is where msgpackr's speed
 * comes from; that requires frames to be decoded in the order they were encoded, which one
 * WebSocket per pair of nodes guarantees.
 */
import { Pid, Ref } from '@rigil/core';
import { addExtension, Packr, Unpackr, type Options } from 'msgpackr';
import { distError } from './errors.js';

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

/** Reads the `[node, id, creation]` triple of a pid or ref extension; anything else is a bad frame. */
function triple(a: unknown, what: string): [string, number, number] {
  if (!Array.isArray(a) || typeof a[0] !== 'string' || typeof a[1] !== 'number' || typeof a[2] !== 'number') {
    throw distError('ERR_BAD_FRAME', `malformed ${what}`);
  }
  return a as [string, number, number];
}

addExtension({
  Class: Pid,
  type: EXT_PID,
  write: (p: Pid) => [p.node, p.id, p.creation],
  read: (a: unknown) => {
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
};

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

  /** Encodes a batch of messages as one frame. */
  encode(batch: readonly unknown[]): Buffer {
    return this.packr.pack(batch);
  }

  /**
   * Forgets every record structure sent so far; the peer's decoder must be reset too (send
   * `RESET_FRAME` first). Used when an encoded frame had to be thrown away.
   */
  reset(): void {
    this.packr = new Packr(sequential());
  }
}

/** The size of one message encoded on its own, without records (to find an oversized one). */
export function plainSize(msg: unknown): number {
  return plainPackr.pack(msg).length;
}

/** Decodes frames for one direction of one connection. */
export class Decoder {
  private unpackr = new Unpackr(sequential());

  constructor(private readonly intern: PidInterner) {}

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
      return [];
    }
    interner = this.intern;
    let v: unknown;
    try {
      v = this.unpackr.unpack(frame);
    } catch (e) {
      throw distError('ERR_BAD_FRAME', `frame does not decode: ${(e as Error).message}`);
    } finally {
      interner = undefined;
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
    throw distError('ERR_BAD_FRAME', `handshake frame does not decode: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof (v as { t?: unknown }).t !== 'string') {
    throw distError('ERR_BAD_FRAME', 'a handshake frame must be a tagged map');
  }
  return v as Record<string, unknown>;
}

/** Encodes a standalone value with the sequential codec of a fresh stream (tests, tools). */
export function roundTrip(value: unknown, intern?: PidInterner): unknown {
  const enc = new Encoder();
  const dec = new Decoder(intern ?? ((n, i, c) => new Pid(n, i, c)));
  return dec.decode(enc.encode([value]))[0];
}
