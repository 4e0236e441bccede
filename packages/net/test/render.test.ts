/**
 * renderUntrusted: the bounded, escaped rendering of values that came from peers, used in
 * every error message and report that quotes peer data.
 */
import { describe, expect, it } from 'vitest';
import { Pid, Ref } from '@rigil/core';
import { escapeUntrusted, MAX_NODES, renderUntrusted } from '../src/render.js';

/** A DAG of `depth` levels whose every level holds the next one twice: 2^depth paths. */
function dag(depth: number): unknown {
  let x: unknown = 'leaf';
  for (let i = 0; i < depth; i++) x = [x, x];
  return x;
}

describe('renderUntrusted', () => {
  it('renders small values readably', () => {
    expect(renderUntrusted('a@b')).toBe('"a@b"');
    expect(renderUntrusted(42)).toBe('42');
    expect(renderUntrusted(null)).toBe('null');
    expect(renderUntrusted(undefined)).toBe('undefined');
    expect(renderUntrusted(5n)).toBe('5n');
    expect(renderUntrusted([1, 'x', { k: true }])).toBe('[1, "x", {k: true}]');
    expect(renderUntrusted(new Map([[1, 'one']]))).toBe('Map(1) {1 => "one"}');
    expect(renderUntrusted(new Set(['s']))).toBe('Set(1) {"s"}');
    expect(renderUntrusted(new Pid('a@h', 3, 1))).toBe('<a@h.3.1>');
    expect(renderUntrusted(new Ref('a@h', 9, 1))).toBe('#Ref<a@h.9.1>');
    expect(renderUntrusted(new Uint8Array([1, 2]))).toBe('<2 bytes: 01 02>');
    expect(renderUntrusted(new TypeError('boom'))).toBe('TypeError: boom');
  });

  it('escapes control, line-separator and bidi characters so a value stays on one line', () => {
    const out = renderUntrusted('a\nb\r\u001b[2J\u2028\u202e"q"\\');
    expect(out).toBe('"a\\nb\\r\\u001b[2J\\u2028\\u202e\\"q\\"\\\\"');
    // eslint-disable-next-line no-control-regex
    expect(out).not.toMatch(/[\u0000-\u001f\u2028\u202e]/);
    expect(renderUntrusted({ 'k\ney': 1 })).toBe('{"k\\ney": 1}');
    expect(escapeUntrusted('line\nbreak "kept"')).toBe('line\\nbreak "kept"');
  });

  it('cuts long strings and long output, saying how long the string was', () => {
    const s = renderUntrusted('x'.repeat(1_000_000));
    expect(s.length).toBeLessThan(200);
    expect(s).toContain('(1000000 chars)');
    expect(renderUntrusted(Array.from({ length: 100 }, (_, i) => `item${i}`), { maxLength: 50 }).length).toBeLessThanOrEqual(50);
    expect(renderUntrusted(Array.from({ length: 100 }, (_, i) => i))).toContain('…+92');
  });

  it('stops at maxDepth', () => {
    expect(renderUntrusted({ a: { b: { c: { d: 1 } } } }, { maxDepth: 2 })).toBe('{a: {b: {…}}}');
    expect(renderUntrusted([[[[1]]]], { maxDepth: 1 })).toBe('[[…]]');
  });

  // The value of issue 11's 450-byte hello: 2^40 paths. A whole-value walk would never end.
  it('renders a DAG with 2^40 paths at once, visiting a bounded number of nodes', () => {
    const t0 = performance.now();
    const out = renderUntrusted(dag(40), { maxDepth: 1000, maxLength: 100_000 });
    expect(performance.now() - t0).toBeLessThan(100);
    expect(out.split('"leaf"').length - 1).toBeLessThanOrEqual(MAX_NODES);
  });

  it('never calls a value\'s toString, toJSON or getters', () => {
    let called = 0;
    const hostile = {
      toString: () => String(++called),
      toJSON: () => ++called,
      get g(): number {
        return ++called;
      },
    };
    const out = renderUntrusted(hostile);
    expect(called).toBe(0);
    expect(out).toContain('g: "[getter]"');
    const sym = { [Symbol.toPrimitive]: () => String(++called) };
    renderUntrusted(sym);
    renderUntrusted([hostile, sym]);
    expect(called).toBe(0);
  });

  it('says so instead of throwing for a revoked proxy', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(renderUntrusted(proxy)).toContain('[unrenderable]');
  });
});
