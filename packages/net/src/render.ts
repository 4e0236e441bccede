/**
 * A bounded, escaped rendering of values that came from elsewhere (a peer's frame, an rpc
 * argument, a malformed request), for error messages and reports.
 *
 * Putting an untrusted value into a message with `String(v)`, a template literal or
 * `JSON.stringify(v)` walks all of it: a small frame can decode to a value that is huge to
 * walk (issue 11: a 450-byte hello that stringified for 46 s into a 268 MB log line), and its
 * strings can carry control characters that forge log lines or move the terminal's cursor.
 * `renderUntrusted` visits at most `MAX_NODES` values, at most `maxDepth` levels deep, writes at
 * most about `maxLength` characters, escapes control and bidi characters, and never calls code
 * the value could bring along (`toString`, `toJSON`, getters, proxies' traps are avoided or
 * caught). OTP has the same need and answers it with `~P`/`~W` (depth-limited printing) in
 * `io_lib`, which its error logger uses; this is that, for rigil.
 */
import { Pid, Ref } from '@rigil/core';

/** Options of `renderUntrusted`. */
export interface RenderOptions {
  /** Characters of output at most (an ellipsis marks a cut); default 200. */
  maxLength?: number;
  /** Levels of nesting shown; deeper values are `…`; default 3. */
  maxDepth?: number;
}

/** Values visited at most by one rendering, whatever the options: the walk is O(1). */
export const MAX_NODES = 64;
/** Entries shown per array, object, Map or Set. */
const MAX_ENTRIES = 8;

/**
 * Renders an untrusted value for an error message or a report: bounded in time and length,
 * control characters escaped (OTP's `io_lib:format("~P", [Term, Depth])`, with a length cap).
 *
 * @example
 * throw distError('ERR_BAD_NAME', `bad node name ${renderUntrusted(m.name)}`);
 */
export function renderUntrusted(value: unknown, options: RenderOptions = {}): string {
  const maxLength = Math.max(8, Math.floor(options.maxLength ?? 200));
  const maxDepth = Math.max(0, Math.floor(options.maxDepth ?? 3));
  const out = new Writer(maxLength);
  try {
    render(value, 0, maxDepth, out, { nodes: 0 });
  } catch {
    // A revoked proxy, a throwing getter we could not avoid: say so rather than fail the caller.
    out.put('[unrenderable]');
  }
  return out.text();
}

/** Output with a length budget: writes past it are dropped and the result ends with `…`. */
class Writer {
  private readonly parts: string[] = [];
  private length = 0;
  constructor(private readonly max: number) {}

  /** True once the budget is spent (callers stop walking). */
  get full(): boolean {
    return this.length > this.max;
  }

  put(s: string): void {
    if (this.full) return;
    this.parts.push(s);
    this.length += s.length;
  }

  text(): string {
    const s = this.parts.join('');
    return s.length > this.max ? `${s.slice(0, this.max - 1)}…` : s;
  }
}

function render(v: unknown, depth: number, maxDepth: number, out: Writer, budget: { nodes: number }): void {
  if (out.full) return;
  if (++budget.nodes > MAX_NODES) {
    out.put('…');
    return;
  }
  switch (typeof v) {
    case 'string':
      out.put(quote(v, 120));
      return;
    case 'number':
    case 'boolean':
    case 'undefined':
      out.put(String(v));
      return;
    case 'bigint': {
      // A bigint's decimal form is linear in its size: show only the start of a huge one.
      const bits = v.toString(16).length * 4;
      out.put(bits > 256 ? `<bigint of ${bits} bits>` : `${v.toString()}n`);
      return;
    }
    case 'symbol':
      out.put(`Symbol(${quote(v.description ?? '', 40)})`);
      return;
    case 'function':
      out.put('[function]');
      return;
  }
  if (v === null) {
    out.put('null');
    return;
  }
  const o = v as object;
  if (o instanceof Pid || o instanceof Ref) {
    // Our own classes: their fields are data (a node name from the wire is escaped).
    out.put(`${o instanceof Pid ? '' : '#Ref'}<${escape(String(o.node), 60)}.${Number(o.id)}.${Number(o.creation)}>`);
    return;
  }
  if (o instanceof Date) {
    const t = Date.prototype.getTime.call(o);
    out.put(Number.isNaN(t) ? 'Invalid Date' : Date.prototype.toISOString.call(o));
    return;
  }
  if (ArrayBuffer.isView(o)) {
    const bytes = new Uint8Array(o.buffer, o.byteOffset, o.byteLength);
    const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
    out.put(`<${bytes.length} bytes${bytes.length > 0 ? `: ${head}${bytes.length > 8 ? ' …' : ''}` : ''}>`);
    return;
  }
  if (o instanceof Error) {
    const name = dataProp(o, 'name');
    const message = dataProp(o, 'message');
    out.put(`${escape(typeof name === 'string' ? name : 'Error', 40)}: ${escape(typeof message === 'string' ? message : '', 120)}`);
    return;
  }
  if (depth >= maxDepth) {
    out.put(Array.isArray(o) ? '[…]' : '{…}');
    return;
  }
  if (Array.isArray(o)) {
    const len = dataProp(o, 'length');
    const n = typeof len === 'number' ? len : 0;
    out.put('[');
    for (let i = 0; i < n && i < MAX_ENTRIES && !out.full; i++) {
      if (i > 0) out.put(', ');
      render(dataProp(o, String(i)), depth + 1, maxDepth, out, budget);
    }
    if (n > MAX_ENTRIES) out.put(`, …+${n - MAX_ENTRIES}`);
    out.put(']');
    return;
  }
  if (o instanceof Map) {
    // The built-in getter, so an own `size` property cannot stand in.
    const size = Number(Reflect.get(Map.prototype, 'size', o));
    out.put(`Map(${size}) {`);
    let i = 0;
    for (const [k, x] of Map.prototype.entries.call(o) as IterableIterator<[unknown, unknown]>) {
      if (i >= MAX_ENTRIES || out.full) break;
      if (i++ > 0) out.put(', ');
      render(k, depth + 1, maxDepth, out, budget);
      out.put(' => ');
      render(x, depth + 1, maxDepth, out, budget);
    }
    if (size > MAX_ENTRIES) out.put(', …');
    out.put('}');
    return;
  }
  if (o instanceof Set) {
    const size = Number(Reflect.get(Set.prototype, 'size', o));
    out.put(`Set(${size}) {`);
    let i = 0;
    for (const x of Set.prototype.values.call(o) as IterableIterator<unknown>) {
      if (i >= MAX_ENTRIES || out.full) break;
      if (i++ > 0) out.put(', ');
      render(x, depth + 1, maxDepth, out, budget);
    }
    if (size > MAX_ENTRIES) out.put(', …');
    out.put('}');
    return;
  }
  const keys = Object.keys(o);
  const cls = className(o);
  out.put(cls !== undefined ? `${cls} {` : '{');
  for (let i = 0; i < keys.length && i < MAX_ENTRIES && !out.full; i++) {
    if (i > 0) out.put(', ');
    const k = keys[i]!;
    out.put(/^[A-Za-z_$][\w$]{0,40}$/.test(k) ? k : quote(k, 40));
    out.put(': ');
    render(dataProp(o, k), depth + 1, maxDepth, out, budget);
  }
  if (keys.length > MAX_ENTRIES) out.put(`, …+${keys.length - MAX_ENTRIES}`);
  out.put('}');
}

/**
 * Untrusted text (a peer's error message) for inclusion in a message as text, not as a quoted
 * value: cut to `maxLength` characters, control and bidi characters escaped.
 */
export function escapeUntrusted(text: string, maxLength = 200): string {
  return escape(String(text), Math.max(8, Math.floor(maxLength)), false);
}

/**
 * The value of property `key` of `o` if it is a data property (own or inherited, a few levels
 * up), `getter` for an accessor; never runs a getter or a proxy's `get` trap. Shared with
 * bounded.ts (what `process.state` copies).
 * @internal
 */
export function dataProp(o: object, key: string, getter: unknown = '[getter]'): unknown {
  let cur: object | null = o;
  for (let i = 0; cur !== null && i < 4; i++) {
    const d = Object.getOwnPropertyDescriptor(cur, key);
    if (d !== undefined) return 'value' in d ? d.value : getter;
    cur = Object.getPrototypeOf(cur) as object | null;
  }
  return undefined;
}

/**
 * The raw class name of a non-plain object (`'Object'` when its constructor has none), or
 * undefined for a plain one; read through data properties only. Unescaped: callers bound it.
 * @internal
 */
export function rawClassName(o: object): string | undefined {
  const proto = Object.getPrototypeOf(o) as object | null;
  if (proto === null || proto === Object.prototype) return undefined;
  const ctor = dataProp(proto, 'constructor');
  const name = typeof ctor === 'function' ? (Object.getOwnPropertyDescriptor(ctor, 'name')?.value as unknown) : undefined;
  return typeof name === 'string' && name !== '' ? name : 'Object';
}

/** The class name of a non-plain object (escaped), or undefined for a plain one. */
function className(o: object): string | undefined {
  const name = rawClassName(o);
  return name === undefined || name === 'Object' ? name : escape(name, 40);
}

/** A string in double quotes, escaped, cut to `max` characters. */
function quote(s: string, max: number): string {
  return `"${escape(s, max)}"`;
}

/**
 * `s` cut to `max` characters with control characters (C0, DEL, C1), line and paragraph
 * separators, bidi overrides, backslashes and quotes escaped, so the result is one line that
 * shows what was sent and cannot restyle a terminal or forge a log line.
 */
function escape(s: string, max: number, quotes = true): string {
  const cut = s.length > max;
  const head = cut ? s.slice(0, max) : s;
  // eslint-disable-next-line no-control-regex
  const esc = head.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\\"]/g, (c) => {
    switch (c) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      case '\\':
        return quotes ? '\\\\' : c;
      case '"':
        return quotes ? '\\"' : c;
      default:
        return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    }
  });
  return cut ? `${esc}…(${s.length} chars)` : esc;
}
