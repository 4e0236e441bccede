import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Pid, Ref } from '@rigil/core';
import { DistError } from '../src/index.js';
import { Packr } from 'msgpackr';
import { Decoder, Encoder, PID_CACHE_SLOTS, PLAIN_MAX_DEPTH, PLAIN_MAX_NODES, RESET_FRAME, decodePlain, encodePlain, roundTrip, withinDepth } from '../src/codec.js';
import { Op } from '../src/protocol.js';

const plainIntern = (n: string, i: number, c: number): Pid => new Pid(n, i, c);

/** True when `e` is the codec's bad-frame error. */
function isBadFrame(e: unknown): boolean {
  return e instanceof DistError && e.code === 'ERR_BAD_FRAME';
}

/** Runs `f`; it must return normally or throw ERR_BAD_FRAME (anything else fails the test). */
function decodesOrBadFrame<T>(f: () => T): T | 'bad-frame' {
  try {
    return f();
  } catch (e) {
    if (isBadFrame(e)) return 'bad-frame';
    throw e;
  }
}

describe('round trips', () => {
  const pid = new Pid('a@127.0.0.1', 42, 7);
  const ref = new Ref('b@127.0.0.1', 9, 3);
  const cases: Array<[string, unknown]> = [
    ['null', null],
    ['undefined', undefined],
    ['an object holding undefined', { a: undefined, b: 1 }],
    ['booleans', [true, false]],
    ['integers and floats', [0, 1, -1, 255, 65536, -2147483649, Number.MAX_SAFE_INTEGER, 1.5, -0.25]],
    ['non-finite numbers', [Infinity, -Infinity]],
    ['strings, empty and unicode', ['', 'hello', 'üñí©ødé ☃ 😀', 'x'.repeat(70_000)]],
    ['an empty object and array', [{}, []]],
    ['nested JSON-able values', { a: [1, { b: 'c', d: [null, true] }], e: { f: { g: 'deep' } } }],
    ['a Map with non-string keys', new Map<unknown, unknown>([[1, 'one'], ['k', { v: 2 }], [true, [3]]])],
    ['a Set', new Set([1, 'two', 3.5])],
    ['a Date', new Date(1_700_000_000_123)],
    ['a Uint8Array', new Uint8Array([0, 1, 2, 254, 255])],
    ['a small bigint', 5n],
    ['a negative small bigint', -17n],
    ['a 64-bit bigint', 2n ** 63n - 1n],
    ['a huge bigint', 2n ** 300n + 12345n],
    ['a huge negative bigint', -(2n ** 200n)],
    ['a pid', pid],
    ['a ref', ref],
    ['an exit message', { tag: 'EXIT', from: pid, reason: 'killed' }],
    ['a DOWN message', { tag: 'DOWN', ref, type: 'process', object: ['srv', 'a@127.0.0.1'], reason: 'noproc' }],
    ['a shutdown reason', { shutdown: { because: pid } }],
    ['an error reason', { error: 'TypeError', message: 'x is not a function', stack: 'at f (f.ts:1)', code: 'ERR_X', reason: { nodedown: 'b@h' } }],
    ['a gen call message', { $gen: 'call', pid, tag: ref, req: { op: 'get', key: [1, 2] } }],
    ['a data op', [Op.EXIT, pid, pid, { shutdown: 'x' }, true]],
    ['everything nested', { m: new Map([['s', new Set([pid])]]), d: [new Date(0)], b: { n: 2n ** 70n, bytes: new Uint8Array([9]) }, r: [ref, undefined] }],
  ];

  it.each(cases)('%s survives the trip unchanged', (_what, value) => {
    expect(roundTrip(value)).toEqual(value);
  });

  it('a Buffer comes back with the same bytes', () => {
    const back = roundTrip(Buffer.from('hello bytes'));
    expect(back).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(back as Uint8Array).toString()).toBe('hello bytes');
  });

  it('a Date comes back as a Date, a Map as a Map and a Set as a Set', () => {
    const back = roundTrip({ d: new Date(5), m: new Map([[1, 2]]), s: new Set(['a']) }) as Record<string, unknown>;
    expect(back.d).toBeInstanceOf(Date);
    expect(back.m).toBeInstanceOf(Map);
    expect(back.s).toBeInstanceOf(Set);
  });

  it('bigints stay bigints and safe integers stay numbers', () => {
    const back = roundTrip([3n, 2n ** 100n, 2 ** 40, 7]) as unknown[];
    expect(typeof back[0]).toBe('bigint');
    expect(typeof back[1]).toBe('bigint');
    expect(back[2]).toBe(2 ** 40);
    expect(back[3]).toBe(7);
  });

  it('an Error keeps its class name and message', () => {
    const back = roundTrip(new TypeError('bad thing'));
    expect(back).toBeInstanceOf(Error);
    expect((back as Error).message).toBe('bad thing');
    expect((back as Error).name).toBe('TypeError');
  });

  it('pids and refs come back as Pid and Ref instances with their fields', () => {
    const [p, r] = roundTrip([new Pid('x@h', 3, 4), new Ref('y@h', 5, 6)]) as [Pid, Ref];
    expect(p).toBeInstanceOf(Pid);
    expect(r).toBeInstanceOf(Ref);
    expect([p.node, p.id, p.creation]).toEqual(['x@h', 3, 4]);
    expect([r.node, r.id, r.creation]).toEqual(['y@h', 5, 6]);
  });

  it('pids are decoded through the interner of the receiving node', () => {
    const canonical = new Pid('a@h', 1, 2);
    const seen: Array<[string, number, number]> = [];
    const back = roundTrip([new Pid('a@h', 1, 2), new Pid('a@h', 1, 2)], (n, i, c) => {
      seen.push([n, i, c]);
      return canonical;
    }) as Pid[];
    expect(back[0]).toBe(canonical);
    expect(back[1]).toBe(canonical);
    expect(seen).toEqual([['a@h', 1, 2], ['a@h', 1, 2]]);
  });

  it('handshake messages round-trip through encodePlain and decodePlain', () => {
    const hello = { t: 'hello', v: 1, flags: 3, name: 'a@h', creation: 5, url: null, challenge: new Uint8Array([1, 2, 3]) };
    const back = decodePlain(encodePlain(hello));
    expect(back.t).toBe('hello');
    expect(back.name).toBe('a@h');
    expect(back.url).toBeNull();
    expect(Buffer.from(back.challenge as Uint8Array)).toEqual(Buffer.from([1, 2, 3]));
  });
});

describe('sequential record streams', () => {
  /** A message of shape number `k` (its own set of keys). */
  const shaped = (k: number, i: number): Record<string, unknown> => {
    const o: Record<string, unknown> = { seq: i };
    for (let j = 0; j <= k % 7; j++) o[`f${k}_${j}`] = j === 0 ? i : `v${j}`;
    return o;
  };

  it('record structures defined once are reused across many frames of one stream', () => {
    const enc = new Encoder();
    const dec = new Decoder(plainIntern);
    for (let frame = 0; frame < 300; frame++) {
      const batch = Array.from({ length: 1 + (frame % 5) }, (_, i) => ({ seq: frame * 10 + i, from: 'x', payload: { n: i } }));
      expect(dec.decode(enc.encode(batch))).toEqual(batch);
    }
  });

  it('more distinct object shapes than record slots still decode in order', () => {
    const enc = new Encoder();
    const dec = new Decoder(plainIntern);
    for (let frame = 0; frame < 200; frame++) {
      // 150 shapes in rotation: more than msgpackr keeps as records at once.
      const batch = Array.from({ length: 5 }, (_, i) => shaped((frame * 5 + i) % 150, frame * 5 + i));
      expect(dec.decode(enc.encode(batch))).toEqual(batch);
    }
  });

  it('two streams in one process do not disturb each other, whichever was created first', () => {
    const enc1 = new Encoder();
    const dec1 = new Decoder(plainIntern);
    const f1 = enc1.encode([{ a: 1, b: 2 }]);
    expect(dec1.decode(f1)).toEqual([{ a: 1, b: 2 }]);
    // A second connection is made after the first one has defined records.
    const enc2 = new Encoder();
    const dec2 = new Decoder(plainIntern);
    expect(dec2.decode(enc2.encode([{ c: 3 }, { a: 1, b: 2 }]))).toEqual([{ c: 3 }, { a: 1, b: 2 }]);
    // Interleaved use of both.
    for (let i = 0; i < 50; i++) {
      const m1 = [{ a: i, b: 'x' }, { z: i }];
      const m2 = [{ q: i }, { a: 'y', b: i }];
      const g1 = enc1.encode(m1);
      const g2 = enc2.encode(m2);
      expect(dec2.decode(g2)).toEqual(m2);
      expect(dec1.decode(g1)).toEqual(m1);
    }
  });

  it('a decoder rejects a frame that is not an array of messages with ERR_BAD_FRAME', () => {
    const enc = new Encoder();
    const frame = enc.encode([1]);
    // Replace the outer array header (fixarray of 1) by a positive fixint: a frame holding `1`.
    const bad = Buffer.from([0x01]);
    expect(new Decoder(plainIntern).decode(frame)).toEqual([1]);
    expect(() => new Decoder(plainIntern).decode(bad)).toThrow(DistError);
    try {
      new Decoder(plainIntern).decode(encodePlain({ t: 'x' }));
      expect.unreachable('a map frame must not decode');
    } catch (e) {
      expect(isBadFrame(e)).toBe(true);
    }
  });

  it('a malformed pid extension is ERR_BAD_FRAME', () => {
    const content = encodePlain('not a pid');
    // [ ext8(type 1 = pid, content) ]
    const frame = Buffer.concat([Buffer.from([0x91, 0xc7, content.length, 0x01]), content]);
    expect(() => new Decoder(plainIntern).decode(frame)).toThrow(expect.objectContaining({ code: 'ERR_BAD_FRAME' }));
  });

  it('a truncated frame is ERR_BAD_FRAME', () => {
    const frame = new Encoder().encode([{ hello: 'world', n: [1, 2, 3] }]);
    expect(() => new Decoder(plainIntern).decode(frame.subarray(0, frame.length - 3))).toThrow(expect.objectContaining({ code: 'ERR_BAD_FRAME' }));
  });
});

describe('the pid cache (Flags.PID_CACHE)', () => {
  /** An encoder with the cache on, and a decoder whose interner counts its calls and returns canonical pids. */
  function stream(): { enc: Encoder; dec: Decoder; interned: () => number } {
    const canonical = new Map<string, Pid>();
    let calls = 0;
    const enc = new Encoder();
    enc.cachePids();
    const dec = new Decoder((n, i, c) => {
      calls++;
      const k = `${n}/${i}/${c}`;
      let p = canonical.get(k);
      if (p === undefined) canonical.set(k, (p = new Pid(n, i, c)));
      return p;
    });
    return { enc, dec, interned: () => calls };
  }
  /** A data frame of one pid extension whose content is `content` (msgpack), as the codec writes it: [ext tag 1][value]. */
  const pidFrame = (content: Buffer): Buffer => Buffer.concat([Buffer.from([0x91, 0xd4, 0x01, 0x00]), content]);

  it('a pid goes out whole once, then as its slot: same object out, interned once, frames shrink', () => {
    const { enc, dec, interned } = stream();
    const to = new Pid('peer@127.0.0.1', 12, 3);
    const first = enc.encode([[Op.SEND, to, { seq: 0 }], [Op.SEND, to, { seq: 1 }]]);
    const a = dec.decode(first) as unknown[][];
    expect(a[0]![1]).toBeInstanceOf(Pid);
    expect((a[0]![1] as Pid).equals(to)).toBe(true);
    expect(a[1]![1]).toBe(a[0]![1]);
    const second = enc.encode([[Op.SEND, to, { seq: 2 }], [Op.SEND, to, { seq: 3 }]]);
    const b = dec.decode(second) as unknown[][];
    expect(b[0]![1]).toBe(a[0]![1]);
    expect(b[1]![2]).toEqual({ seq: 3 });
    expect(interned()).toBe(1);
    // Without the cache the same frame carries the node name in every message.
    const plain = new Encoder();
    plain.encode([[Op.SEND, to, { seq: 0 }]]);
    const whole = plain.encode([[Op.SEND, to, { seq: 2 }], [Op.SEND, to, { seq: 3 }]]);
    expect(second.length).toBeLessThan(whole.length - 2 * 'peer@127.0.0.1'.length);
  });

  it('more pids than slots: slots are reused in turn and every pid still decodes to itself', () => {
    const { enc, dec } = stream();
    const pids = Array.from({ length: PID_CACHE_SLOTS + 300 }, (_, i) => new Pid(i % 2 === 0 ? 'a@h' : 'b@h', i, 1));
    // Rounds over all of them (each round overwrites slots), then old and new mixed in one frame.
    for (let round = 0; round < 3; round++) {
      for (let at = 0; at < pids.length; at += 100) {
        const batch = pids.slice(at, at + 100).map((p) => [Op.SEND, p, at]);
        const back = dec.decode(enc.encode(batch)) as unknown[][];
        back.forEach((m, i) => expect((m[1] as Pid).equals(pids[at + i]!)).toBe(true));
      }
    }
    const mixed = [pids[0]!, pids[pids.length - 1]!, pids[5]!, pids[0]!, pids[700]!];
    const back = dec.decode(enc.encode(mixed)) as Pid[];
    back.forEach((p, i) => expect(p.equals(mixed[i]!)).toBe(true));
  });

  it('a slot never defined, a slot outside the table, or a cached pid outside a data stream is ERR_BAD_FRAME', () => {
    // Slot 5 of a fresh stream: never defined.
    expect(() => stream().dec.decode(pidFrame(Buffer.from([0x05])))).toThrow(expect.objectContaining({ code: 'ERR_BAD_FRAME' }));
    // A definition of slot PID_CACHE_SLOTS (one past the table) and a negative or fractional slot.
    for (const slot of [PID_CACHE_SLOTS, 2 ** 31, -1, 1.5]) {
      expect(() => stream().dec.decode(pidFrame(encodePlain([slot, 'a@h', 1, 2])))).toThrow(expect.objectContaining({ code: 'ERR_BAD_FRAME' }));
      expect(() => stream().dec.decode(pidFrame(encodePlain(slot)))).toThrow(expect.objectContaining({ code: 'ERR_BAD_FRAME' }));
    }
    // A definition with a bad triple.
    expect(() => stream().dec.decode(pidFrame(encodePlain([1, '', 1, 2])))).toThrow(expect.objectContaining({ code: 'ERR_BAD_FRAME' }));
    // A handshake frame has no stream: a cached pid there is refused too.
    const map = Buffer.concat([Buffer.from([0x82, 0xa1, 0x74, 0xa1, 0x78, 0xa1, 0x70, 0xd4, 0x01, 0x00, 0x00])]);
    expect(() => decodePlain(map)).toThrow(expect.objectContaining({ code: 'ERR_BAD_FRAME' }));
    // A valid definition then its reference decodes.
    const { dec } = stream();
    expect((dec.decode(pidFrame(encodePlain([7, 'a@h', 1, 2])))[0] as Pid).equals(new Pid('a@h', 1, 2))).toBe(true);
    expect((dec.decode(pidFrame(Buffer.from([0x07])))[0] as Pid).equals(new Pid('a@h', 1, 2))).toBe(true);
  });

  it('a reset forgets the cached pids on both sides', () => {
    const { enc, dec } = stream();
    const p = new Pid('a@h', 1, 2);
    dec.decode(enc.encode([p]));
    const cached = enc.encode([p]);
    enc.reset();
    expect(dec.decode(RESET_FRAME)).toEqual([]);
    // The old stream's reference no longer resolves; the reset encoder defines the pid again.
    expect(() => dec.decode(cached)).toThrow(expect.objectContaining({ code: 'ERR_BAD_FRAME' }));
    const again = enc.encode([p]);
    expect(again.length).toBeGreaterThan(cached.length);
    expect((dec.decode(again)[0] as Pid).equals(p)).toBe(true);
  });
});

describe('decodePlain', () => {
  it('rejects anything but a tagged map with ERR_BAD_FRAME', () => {
    for (const v of [[1, 2], { x: 1 }, { t: 5 }, 'hello', null, 7]) {
      expect(() => decodePlain(encodePlain(v))).toThrow(expect.objectContaining({ code: 'ERR_BAD_FRAME' }));
    }
    expect(() => decodePlain(Buffer.alloc(0))).toThrow(expect.objectContaining({ code: 'ERR_BAD_FRAME' }));
  });
});

describe('fuzzing', () => {
  const sample = (): Buffer[] => {
    const enc = new Encoder();
    return [
      enc.encode([[Op.SEND, new Pid('a@h', 1, 2), { hello: 'world', n: 5n, d: new Date(3) }]]),
      enc.encode([[Op.MONITOR, new Pid('a@h', 1, 2), 'srv', new Ref('a@h', 4, 2)], [Op.TICK]]),
      enc.encode([[Op.EXIT, new Pid('a@h', 1, 2), new Pid('b@h', 3, 4), { error: 'Error', message: 'x' }, true]]),
      enc.encode([[Op.MEMBERS, [['a@h', 'ws://h:1']]], [Op.SEND, new Pid('a@h', 1, 2), new Map([[1, new Set([2])]])]]),
    ];
  };

  it('the data decoder throws ERR_BAD_FRAME or returns an array for random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), (bytes) => {
        const r = decodesOrBadFrame(() => new Decoder(plainIntern).decode(bytes));
        if (r !== 'bad-frame') expect(Array.isArray(r)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('the data decoder throws ERR_BAD_FRAME or returns an array for mutated valid frames', () => {
    const frames = sample();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: frames.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        (which, edits, cut) => {
          const f = Buffer.from(frames[which]!);
          for (const [at, byte] of edits) f[at % f.length] = byte;
          const mutated = cut % 3 === 0 ? f.subarray(0, cut % (f.length + 1)) : f;
          const r = decodesOrBadFrame(() => new Decoder(plainIntern).decode(mutated));
          if (r !== 'bad-frame') expect(Array.isArray(r)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a long-lived decoder fed a mutated frame mid-stream fails with ERR_BAD_FRAME or decodes', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 255 }), (at, byte) => {
        const enc = new Encoder();
        const dec = new Decoder(plainIntern);
        for (let i = 0; i < 3; i++) dec.decode(enc.encode([{ seq: i, who: 'x' }]));
        const f = Buffer.from(enc.encode([{ seq: 9, who: 'y' }, { other: [1, 2] }]));
        f[at % f.length] = byte;
        const r = decodesOrBadFrame(() => dec.decode(f));
        if (r !== 'bad-frame') expect(Array.isArray(r)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('decodePlain throws ERR_BAD_FRAME or returns a tagged map for random and mutated bytes', () => {
    const hello = encodePlain({ t: 'hello', v: 1, flags: 0, name: 'a@h', creation: 3, url: 'ws://h:1', challenge: new Uint8Array(32) });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ minLength: 0, maxLength: 200 }),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 5 }).map((edits) => {
            const f = Buffer.from(hello);
            for (const [at, byte] of edits) f[at % f.length] = byte;
            return f;
          }),
        ),
        (bytes) => {
          const r = decodesOrBadFrame(() => decodePlain(bytes));
          if (r !== 'bad-frame') expect(typeof r.t).toBe('string');
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('hostile payloads (issue 11)', () => {
  /** A DAG of `depth` levels whose every level holds the next one twice: 2^depth paths. */
  function dag(depth: number): unknown {
    let x: unknown = 'x';
    for (let i = 0; i < depth; i++) x = [x, x];
    return x;
  }
  /** msgpackr with structured clones on writes shared subtrees once and points at them. */
  const cloner = new Packr({ structuredClone: true, useRecords: false });

  // Problem 4: 431 bytes that decoded to 2^27 paths; String() of it took 41 s.
  it('a hello using structured-clone pointers is refused at once, whatever it would expand to', () => {
    const frame = cloner.pack({ t: 'hello', v: dag(27), flags: 0, name: 'a@h', creation: 1, url: null, challenge: new Uint8Array(32) });
    expect(frame.length).toBeLessThan(460);
    const t0 = performance.now();
    expect(decodesOrBadFrame(() => decodePlain(frame))).toBe('bad-frame');
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('a data frame using structured-clone pointers is ERR_BAD_FRAME', () => {
    const dec = new Decoder(plainIntern);
    expect(decodesOrBadFrame(() => dec.decode(cloner.pack([[Op.REG_SEND, 'x', dag(30)]])))).toBe('bad-frame');
  });

  it('pid and ref payloads must be [name of 1–255 chars, integer ≥ 0, integer ≥ 0]', () => {
    const dec = (): Decoder => new Decoder(plainIntern);
    const ext = (type: number, payload: unknown): Buffer => {
      // How msgpackr writes a `write` extension: fixext1(type, 0) followed by the payload value.
      const body = new Packr({ useRecords: false }).pack(payload);
      return Buffer.concat([Buffer.from([0x91, 0xd4, type, 0x00]), body]);
    };
    for (const bad of [['a@h', -1, 1], ['a@h', 1.5, 1], ['a@h', 1, -2], ['', 1, 1], ['x'.repeat(256), 1, 1], ['a@h', 1], ['a@h', 1, 1, 1], [1, 1, 1]]) {
      expect(decodesOrBadFrame(() => dec().decode(ext(1, bad))), JSON.stringify(bad).slice(0, 40)).toBe('bad-frame');
      expect(decodesOrBadFrame(() => dec().decode(ext(2, bad)))).toBe('bad-frame');
    }
    expect(dec().decode(ext(1, ['a@h', 0, 0]))[0]).toEqual(new Pid('a@h', 0, 0));
  });

  it('a handshake frame nested deeper than PLAIN_MAX_DEPTH or holding more than PLAIN_MAX_NODES values is refused', () => {
    let deep: unknown = 1;
    for (let i = 0; i < PLAIN_MAX_DEPTH + 1; i++) deep = [deep];
    expect(decodesOrBadFrame(() => decodePlain(encodePlain({ t: 'hello', x: deep })))).toBe('bad-frame');
    expect(decodesOrBadFrame(() => decodePlain(encodePlain({ t: 'hello', x: new Array(PLAIN_MAX_NODES + 1).fill(0) })))).toBe('bad-frame');
    expect(decodePlain(encodePlain({ t: 'hello', v: 1, challenge: new Uint8Array(32) })).t).toBe('hello');
  });

  it('a frame nested deeper than the decoder\'s stack allows is ERR_BAD_FRAME, not a crash', () => {
    const frame = Buffer.concat([Buffer.alloc(200_000, 0x91), Buffer.from([0x01])]);
    expect(decodesOrBadFrame(() => new Decoder(plainIntern).decode(frame))).toBe('bad-frame');
  });

  it('withinDepth bounds the walk by depth and by node count, without recursion', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(withinDepth(deep, 10)).toBe(false);
    expect(withinDepth([[1], { a: [2] }, new Map([[1, [2]]])], 3)).toBe(true);
    expect(withinDepth(new Array(1_000_000).fill(0), 5, 100)).toBe(false);
    expect(withinDepth('a string', 0)).toBe(true);
  });

  it('a decoding error message quotes the frame only bounded and escaped', () => {
    // Trailing bytes after a value: msgpackr's error quotes the value it read.
    const frame = Buffer.concat([encodePlain({ t: 'x\n'.repeat(10_000) }), Buffer.from([0x01])]);
    try {
      decodePlain(frame);
      expect.unreachable();
    } catch (e) {
      expect(isBadFrame(e)).toBe(true);
      expect((e as Error).message.length).toBeLessThan(300);
      expect((e as Error).message).not.toContain('\n');
    }
  });
});
