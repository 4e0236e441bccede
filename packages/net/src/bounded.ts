/**
 * A bounded, JSON-able copy of a value for tools that show it (`process.state`): what
 * `renderUntrusted` (render.ts) does for one line of text, this does for a tree a tool lays
 * out — depth, entries per collection, string lengths, values visited and characters written
 * are all capped, and whatever is cut is marked. It never stringifies a whole value, runs no
 * getter or `toJSON`, and survives proxies and revoked objects.
 *
 * The shape: plain data stays plain (strings, finite numbers, booleans, null, arrays, plain
 * objects); anything else becomes a tagged object — `{ $pid }`, `{ $ref }`, `{ $bigint }`,
 * `{ $undefined: true }`, `{ $number: 'NaN' }`, `{ $function: name }`, `{ $symbol }`,
 * `{ $date }`, `{ $bytes: length, head }`, `{ $error: name, message }`, `{ $map: [[k, v]…],
 * size }`, `{ $set: […], size }`, `{ $class: name, fields: {…} }`. Cuts: a long string becomes
 * `{ $string: head, length }`; an array gets a last element `{ $more: n }`, an object a key
 * `$more` (entries left out); a value too deep or past the budget becomes `{ $truncated:
 * 'depth' | 'size' }`. OTP's observer shows a process state through `io_lib:format("~P")`
 * (depth-limited printing); this is that, structured.
 */
import { Pid, Ref } from '@rigil/core';
import { dataProp as readDataProp, rawClassName } from './render.js';

/** Limits of `boundedValue` (each has a default). */
export interface BoundedOptions {
  /** Levels of nesting kept (default 8). */
  maxDepth?: number;
  /** Entries kept per array, object, Map or Set (default 50). */
  maxEntries?: number;
  /** Characters kept per string (default 1,000). */
  maxString?: number;
  /** Values visited at most (default 2,000). */
  maxNodes?: number;
  /** Characters of strings and keys written at most, about the output's size (default 64 KiB). */
  maxChars?: number;
}

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What `boundedValue` returns: the copy, and whether anything was cut. */
export interface Bounded {
  readonly value: Json;
  readonly truncated: boolean;
}

interface Budget {
  nodes: number;
  chars: number;
  truncated: boolean;
  readonly o: Required<BoundedOptions>;
}

/**
 * A bounded JSON-able copy of `value` with every cut marked (see the module comment); for a
 * process state shown by a tool (OTP's `io_lib:format("~P", [State, Depth])` in observer, as a tree).
 */
export function boundedValue(value: unknown, options: BoundedOptions = {}): Bounded {
  const o: Required<BoundedOptions> = {
    maxDepth: clamp(options.maxDepth, 8, 0, 64),
    maxEntries: clamp(options.maxEntries, 50, 1, 10_000),
    maxString: clamp(options.maxString, 1000, 8, 1_000_000),
    maxNodes: clamp(options.maxNodes, 2000, 1, 100_000),
    maxChars: clamp(options.maxChars, 65_536, 64, 16_777_216),
  };
  const b: Budget = { nodes: 0, chars: 0, truncated: false, o };
  let v: Json;
  try {
    v = copy(value, 0, b);
  } catch {
    b.truncated = true;
    v = { $unrenderable: true };
  }
  return { value: v, truncated: b.truncated };
}

function clamp(v: number | undefined, def: number, min: number, max: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.min(max, Math.max(min, Math.floor(v))) : def;
}

function str(s: string, b: Budget): Json {
  const room = Math.max(0, Math.min(b.o.maxString, b.o.maxChars - b.chars));
  if (s.length <= room) {
    b.chars += s.length;
    return s;
  }
  b.truncated = true;
  b.chars += room;
  return { $string: s.slice(0, room), length: s.length };
}

function copy(v: unknown, depth: number, b: Budget): Json {
  if (++b.nodes > b.o.maxNodes || b.chars >= b.o.maxChars) {
    b.truncated = true;
    return { $truncated: 'size' };
  }
  switch (typeof v) {
    case 'string':
      return str(v, b);
    case 'number':
      return Number.isFinite(v) ? v : { $number: String(v) };
    case 'boolean':
      return v;
    case 'undefined':
      return { $undefined: true };
    case 'bigint': {
      const hex = v.toString(16);
      // A bigint's decimal form is linear in its size: a huge one is shown by its size only.
      if (hex.length > 64) {
        b.truncated = true;
        return { $bigint: null, bits: hex.length * 4 };
      }
      return { $bigint: v.toString() };
    }
    case 'symbol':
      return { $symbol: str(v.description ?? '', b) };
    case 'function': {
      const name = Object.getOwnPropertyDescriptor(v, 'name')?.value as unknown;
      return { $function: typeof name === 'string' ? str(name, b) : '' };
    }
  }
  if (v === null) return null;
  const o = v as object;
  if (o instanceof Pid) return { $pid: str(`<${o.node}.${o.id}.${o.creation}>`, b) };
  if (o instanceof Ref) return { $ref: str(`#Ref<${o.node}.${o.id}.${o.creation}>`, b) };
  if (o instanceof Date) {
    const t = Date.prototype.getTime.call(o);
    return { $date: Number.isNaN(t) ? 'Invalid Date' : Date.prototype.toISOString.call(o) };
  }
  if (ArrayBuffer.isView(o)) {
    const bytes = new Uint8Array(o.buffer, o.byteOffset, o.byteLength);
    return { $bytes: bytes.length, head: Array.from(bytes.subarray(0, 16), (x) => x.toString(16).padStart(2, '0')).join(' ') };
  }
  if (o instanceof Error) {
    const name = dataProp(o, 'name');
    const message = dataProp(o, 'message');
    return { $error: str(typeof name === 'string' ? name : 'Error', b), message: str(typeof message === 'string' ? message : '', b) };
  }
  if (depth >= b.o.maxDepth) {
    b.truncated = true;
    return { $truncated: 'depth' };
  }
  const max = b.o.maxEntries;
  if (Array.isArray(o)) {
    const len = dataProp(o, 'length');
    const n = typeof len === 'number' ? len : 0;
    const out: Json[] = [];
    for (let i = 0; i < n && i < max; i++) out.push(copy(dataProp(o, String(i)), depth + 1, b));
    if (n > max) {
      b.truncated = true;
      out.push({ $more: n - max });
    }
    return out;
  }
  if (o instanceof Map) {
    const size = Number(Reflect.get(Map.prototype, 'size', o));
    const entries: Json[] = [];
    for (const [k, x] of Map.prototype.entries.call(o) as IterableIterator<[unknown, unknown]>) {
      if (entries.length >= max) break;
      entries.push([copy(k, depth + 1, b), copy(x, depth + 1, b)]);
    }
    if (size > max) {
      b.truncated = true;
      entries.push({ $more: size - max });
    }
    return { $map: entries, size };
  }
  if (o instanceof Set) {
    const size = Number(Reflect.get(Set.prototype, 'size', o));
    const values: Json[] = [];
    for (const x of Set.prototype.values.call(o) as IterableIterator<unknown>) {
      if (values.length >= max) break;
      values.push(copy(x, depth + 1, b));
    }
    if (size > max) {
      b.truncated = true;
      values.push({ $more: size - max });
    }
    return { $set: values, size };
  }
  const keys = Object.keys(o);
  const fields: { [key: string]: Json } = {};
  for (let i = 0; i < keys.length && i < max; i++) {
    const k = keys[i]!;
    const key = k.length > 200 ? `${k.slice(0, 200)}…` : k;
    b.chars += key.length;
    fields[key] = copy(dataProp(o, k), depth + 1, b);
  }
  if (keys.length > max) {
    b.truncated = true;
    fields.$more = keys.length - max;
  }
  const cls = className(o);
  return cls === undefined ? fields : { $class: cls, fields };
}

/** A data property's value, `{ $getter: true }` for an accessor (render.ts's `dataProp`). */
function dataProp(o: object, key: string): unknown {
  return readDataProp(o, key, { $getter: true });
}

function className(o: object): string | undefined {
  return rawClassName(o)?.slice(0, 100);
}
