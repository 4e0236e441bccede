/**
 * TimerService (a node's `timers`): one heap of deadlines behind one clock wake-up.
 * Driven by a SimulatedClock, so nothing here waits on real time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Timer } from '../src/index.js';
import { NodePool } from './helpers.js';

const nodes = new NodePool();
afterEach(() => nodes.stopAll());

/** A node's timer service on a fresh simulated clock, plus a log the timers write to. */
function setup() {
  const { node, clock } = nodes.simulated();
  const fired: unknown[] = [];
  const log = (x: unknown) => fired.push(x);
  return { node, timers: node.timers, clock, fired, log };
}

/** A small deterministic pseudo-random generator (LCG), so failures reproduce. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('TimerService', () => {
  it('fires timers in deadline order whatever the order they were created in', async () => {
    const { timers, clock, fired, log } = setup();
    timers.schedule(30, log, 'c');
    timers.schedule(10, log, 'a');
    timers.schedule(20, log, 'b');
    await clock.advance(100);
    expect(fired).toEqual(['a', 'b', 'c']);
  });

  it('fires a timer when its deadline is reached and not a millisecond before', async () => {
    const { timers, clock, fired, log } = setup();
    timers.schedule(50, log, 'x');
    await clock.advance(49);
    expect(fired).toEqual([]);
    await clock.advance(1);
    expect(fired).toEqual(['x']);
  });

  it('passes its argument to the callback and reads the clock at the deadline', async () => {
    const { timers, clock } = setup();
    const seen: Array<[unknown, number]> = [];
    timers.schedule(25, (arg: { n: number }) => seen.push([arg, clock.now()]), { n: 1 });
    await clock.advance(40);
    expect(seen).toEqual([[{ n: 1 }, 25]]);
  });

  it('fires equal deadlines in creation order', async () => {
    const { timers, clock, fired, log } = setup();
    for (let i = 0; i < 100; i++) timers.schedule(10, log, i);
    await clock.advance(10);
    expect(fired).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('keeps creation order for equal deadlines even after cancellations reshuffle the heap', async () => {
    const { timers, clock, fired, log } = setup();
    const ts: Timer[] = [];
    for (let i = 0; i < 60; i++) ts.push(timers.schedule(i % 3 === 0 ? 5 : 10, log, i));
    for (let i = 0; i < 60; i += 4) timers.cancel(ts[i]!);
    await clock.advance(10);
    const alive = Array.from({ length: 60 }, (_, i) => i).filter((i) => i % 4 !== 0);
    expect(fired).toEqual([...alive.filter((i) => i % 3 === 0), ...alive.filter((i) => i % 3 !== 0)]);
  });

  it('never fires a cancelled timer, and cancel returns the milliseconds it had left', async () => {
    const { timers, clock, fired, log } = setup();
    const t = timers.schedule(100, log, 'cancelled');
    timers.schedule(200, log, 'kept');
    await clock.advance(30);
    expect(timers.cancel(t)).toBe(70);
    expect(t.active).toBe(false);
    await clock.advance(300);
    expect(fired).toEqual(['kept']);
  });

  it('cancel returns false for a timer that already fired or was already cancelled', async () => {
    const { timers, clock, log } = setup();
    const fired = timers.schedule(10, log, 'a');
    const cancelled = timers.schedule(10, log, 'b');
    expect(timers.cancel(cancelled)).toBe(10);
    expect(timers.cancel(cancelled)).toBe(false);
    await clock.advance(10);
    expect(fired.active).toBe(false);
    expect(timers.cancel(fired)).toBe(false);
  });

  it('read returns the milliseconds left while active and false once fired or cancelled', async () => {
    const { timers, clock, log } = setup();
    const t = timers.schedule(100, log, 'a');
    const u = timers.schedule(100, log, 'b');
    expect(timers.read(t)).toBe(100);
    await clock.advance(35);
    expect(timers.read(t)).toBe(65);
    timers.cancel(u);
    expect(timers.read(u)).toBe(false);
    await clock.advance(65);
    expect(timers.read(t)).toBe(false);
  });

  it('size counts active timers only', async () => {
    const { timers, clock, log } = setup();
    const a = timers.schedule(10, log, 'a');
    timers.schedule(20, log, 'b');
    timers.schedule(30, log, 'c');
    expect(timers.size).toBe(3);
    timers.cancel(a);
    expect(timers.size).toBe(2);
    await clock.advance(20);
    expect(timers.size).toBe(1);
    await clock.advance(10);
    expect(timers.size).toBe(0);
  });

  it('keeps a single clock wake-up however many timers are active, and none when idle', async () => {
    const { timers, clock, fired, log } = setup();
    expect(clock.pending).toBe(0);
    for (let i = 100; i > 0; i--) timers.schedule(i, log, i);
    expect(clock.pending).toBe(1);
    await clock.advance(50);
    expect(clock.pending).toBe(1);
    await clock.advance(50);
    expect(fired).toHaveLength(100);
    expect(clock.pending).toBe(0);
  });

  it('still fires a later timer after the earliest one, which armed the clock, is cancelled', async () => {
    const { timers, clock, fired, log } = setup();
    const early = timers.schedule(10, log, 'early');
    timers.schedule(50, log, 'late');
    timers.cancel(early);
    await clock.advance(49);
    expect(fired).toEqual([]);
    await clock.advance(1);
    expect(fired).toEqual(['late']);
  });

  it('fires a timer scheduled by a callback when it falls due within the same advance', async () => {
    const { timers, clock, fired, log } = setup();
    timers.schedule(10, () => {
      log('first');
      timers.schedule(0, log, 'immediate');
      timers.schedule(5, log, 'chained');
      timers.schedule(100, log, 'beyond');
    }, undefined);
    await clock.advance(20);
    expect(fired).toEqual(['first', 'immediate', 'chained']);
    expect(timers.size).toBe(1);
  });

  it('does not fire a timer cancelled by another timer that falls due at the same time', async () => {
    const { timers, clock, fired, log } = setup();
    const holder: { victim?: Timer } = {};
    timers.schedule(10, () => {
      log('canceller');
      log(timers.cancel(holder.victim!));
    }, undefined);
    holder.victim = timers.schedule(10, log, 'victim');
    await clock.advance(10);
    expect(fired).toEqual(['canceller', 0]);
  });

  it('fires a random mix of deadlines in (deadline, creation) order and skips the cancelled ones', async () => {
    const { timers, clock, fired } = setup();
    const rnd = lcg(42);
    const made: Array<{ at: number; seq: number; t: Timer; cancelled: boolean }> = [];
    for (let seq = 0; seq < 500; seq++) {
      const at = Math.floor(rnd() * 50);
      made.push({ at, seq, t: timers.schedule(at, (x: number) => fired.push(x), seq), cancelled: false });
    }
    for (const m of made) {
      if (rnd() < 0.3) {
        timers.cancel(m.t);
        m.cancelled = true;
      }
    }
    await clock.advance(60);
    const expected = made
      .filter((m) => !m.cancelled)
      .sort((x, y) => x.at - y.at || x.seq - y.seq)
      .map((m) => m.seq);
    expect(fired).toEqual(expected);
    expect(timers.size).toBe(0);
  });

  it('stop cancels every timer and releases the clock wake-up; later timers never fire', async () => {
    const { node, timers, clock, fired, log } = setup();
    const t = timers.schedule(10, log, 'a');
    timers.schedule(20, log, 'b');
    await node.stop();
    expect(timers.size).toBe(0);
    expect(t.active).toBe(false);
    expect(clock.pending).toBe(0);
    timers.schedule(5, log, 'after-stop');
    await clock.advance(100);
    expect(fired).toEqual([]);
    expect(clock.pending).toBe(0);
  });
});
