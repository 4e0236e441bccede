/**
 * SimulatedClock: time that moves only with `advance`, firing wake-ups in time order and
 * letting the event loop run between them; and RealClock, the default.
 */
import { describe, expect, it } from 'vitest';
import { RealClock, SimulatedClock, settle } from '../src/index.js';
import { waitFor } from './helpers.js';

describe('SimulatedClock', () => {
  it('starts at 0, or at the given time, and does not move by itself', async () => {
    const clock = new SimulatedClock();
    expect(clock.now()).toBe(0);
    expect(new SimulatedClock(1234).now()).toBe(1234);
    await settle();
    expect(clock.now()).toBe(0);
  });

  it('advance moves time forward by exactly the given amount', async () => {
    const clock = new SimulatedClock(10);
    await clock.advance(25);
    expect(clock.now()).toBe(35);
    await clock.advance(0);
    expect(clock.now()).toBe(35);
  });

  it('fires a wake-up once its time is reached, not before, and only once', async () => {
    const clock = new SimulatedClock();
    let calls = 0;
    clock.set(() => calls++, 100);
    await clock.advance(99);
    expect(calls).toBe(0);
    await clock.advance(1);
    expect(calls).toBe(1);
    await clock.advance(1000);
    expect(calls).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it('fires due wake-ups in time order, equal times in the order they were set, each seeing its own time', async () => {
    const clock = new SimulatedClock();
    const log: Array<[string, number]> = [];
    clock.set(() => log.push(['c', clock.now()]), 30);
    clock.set(() => log.push(['a1', clock.now()]), 10);
    clock.set(() => log.push(['b', clock.now()]), 20);
    clock.set(() => log.push(['a2', clock.now()]), 10);
    await clock.advance(30);
    expect(log).toEqual([
      ['a1', 10],
      ['a2', 10],
      ['b', 20],
      ['c', 30],
    ]);
  });

  it('a cleared wake-up never fires and no longer counts as pending', async () => {
    const clock = new SimulatedClock();
    let fired = false;
    const h = clock.set(() => (fired = true), 10);
    clock.set(() => undefined, 20);
    expect(clock.pending).toBe(2);
    clock.clear(h);
    expect(clock.pending).toBe(1);
    await clock.advance(50);
    expect(fired).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('a negative delay is due at once', async () => {
    const clock = new SimulatedClock(5);
    let at = -1;
    clock.set(() => (at = clock.now()), -10);
    await clock.advance(0);
    expect(at).toBe(5);
  });

  it('a wake-up set by a firing one fires in the same advance when it falls due within it', async () => {
    const clock = new SimulatedClock();
    const log: Array<[string, number]> = [];
    clock.set(() => {
      log.push(['outer', clock.now()]);
      clock.set(() => log.push(['inner', clock.now()]), 5);
      clock.set(() => log.push(['beyond', clock.now()]), 50);
    }, 10);
    await clock.advance(20);
    expect(log).toEqual([
      ['outer', 10],
      ['inner', 15],
    ]);
    expect(clock.pending).toBe(1);
    expect(clock.now()).toBe(20);
  });

  it('lets the event loop run between two firings, so work started by the first is done before the second', async () => {
    const clock = new SimulatedClock();
    const log: string[] = [];
    clock.set(() => {
      log.push('first');
      void Promise.resolve().then(() => log.push('microtask of first'));
      setImmediate(() => log.push('immediate of first'));
    }, 10);
    clock.set(() => log.push('second'), 10);
    await clock.advance(10);
    expect(log).toEqual(['first', 'microtask of first', 'immediate of first', 'second']);
  });

  it('lets pending work run before the first firing of an advance', async () => {
    const clock = new SimulatedClock();
    const log: string[] = [];
    setImmediate(() => log.push('earlier work'));
    clock.set(() => log.push('timer'), 1);
    await clock.advance(1);
    expect(log).toEqual(['earlier work', 'timer']);
  });

  it('does not fire wake-ups due after the end of the advance', async () => {
    const clock = new SimulatedClock();
    const log: number[] = [];
    clock.set(() => log.push(1), 10);
    clock.set(() => log.push(2), 11);
    await clock.advance(10);
    expect(log).toEqual([1]);
    expect(clock.pending).toBe(1);
  });
});

describe('settle', () => {
  it('resolves after pending microtasks and one round of immediates', async () => {
    const log: string[] = [];
    setImmediate(() => log.push('immediate'));
    void Promise.resolve().then(() => log.push('microtask'));
    await settle();
    expect(log).toEqual(['microtask', 'immediate']);
  });
});

describe('RealClock', () => {
  it('reads monotonic time and fires a wake-up it was asked for, unless cleared', async () => {
    const clock = new RealClock();
    const t0 = clock.now();
    let fired = false;
    let cleared = false;
    const h = clock.set(() => (cleared = true), 1);
    clock.clear(h);
    clock.set(() => (fired = true), 1);
    await waitFor(() => fired, 2000, 'the real wake-up');
    expect(clock.now()).toBeGreaterThanOrEqual(t0);
    expect(cleared).toBe(false);
  });
});
