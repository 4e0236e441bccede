/**
 * Injectable randomness: `SeededRandom` replays the same sequence for the same seed, a node
 * draws its creation from `options.random`, and `node.delay` pauses on the node's clock.
 */
import { describe, expect, it } from 'vitest';
import { Node, SeededRandom, SimulatedClock, cryptoRandom } from '../src/index.js';

describe('SeededRandom', () => {
  it('the same seed gives the same sequence of ints, floats and bytes; another seed a different one', () => {
    const draw = (seed: number): unknown[] => {
      const r = new SeededRandom(seed);
      return [r.int(0, 1000), r.float(), [...r.bytes(7)], r.fork().int(0, 2 ** 31), r.u32()];
    };
    expect(draw(1)).toEqual(draw(1));
    expect(draw(2)).not.toEqual(draw(1));
  });

  it('int stays in [lo, hi), float in [0, 1), bytes has the asked length, and a bad range is ERR_BADARG', () => {
    const r = new SeededRandom(7);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const n = r.int(-3, 4);
      expect(n).toBeGreaterThanOrEqual(-3);
      expect(n).toBeLessThan(4);
      seen.add(n);
      const f = r.float();
      expect(f >= 0 && f < 1).toBe(true);
    }
    expect(seen.size).toBe(7);
    expect(r.bytes(13)).toHaveLength(13);
    expect(() => r.int(5, 5)).toThrow(expect.objectContaining({ code: 'ERR_BADARG' }));
    expect(cryptoRandom.int(1, 2)).toBe(1);
    for (let i = 0; i < 100; i++) {
      const f = cryptoRandom.float();
      expect(f >= 0 && f < 1).toBe(true);
    }
    expect(cryptoRandom.bytes(5)).toHaveLength(5);
  });
});

describe('node randomness and delay', () => {
  it('a node draws its creation from options.random: one seed, one creation', async () => {
    const a = new Node({ name: 'a@h', random: new SeededRandom(9) });
    const b = new Node({ name: 'a@h', random: new SeededRandom(9) });
    const c = new Node({ name: 'a@h', random: new SeededRandom(10) });
    expect(a.creation).toBe(b.creation);
    expect(c.creation).not.toBe(a.creation);
    expect(a.random).toBeInstanceOf(SeededRandom);
    await Promise.all([a.stop(), b.stop(), c.stop()]);
  });

  it('delay resolves after its time on the node clock, and at once when the node stops', async () => {
    const clock = new SimulatedClock();
    const node = new Node({ clock });
    let done = false;
    void node.delay(100).then(() => (done = true));
    await clock.advance(99);
    expect(done).toBe(false);
    await clock.advance(1);
    expect(done).toBe(true);
    let early = false;
    void node.delay(10_000).then(() => (early = true));
    await node.stop();
    await clock.advance(0);
    expect(early).toBe(true);
    expect(await node.delay(5).then(() => 'resolved')).toBe('resolved');
    expect(() => node.delay(-1)).toThrow(expect.objectContaining({ code: 'ERR_BADARG' }));
  });
});
