/**
 * Time, injectable. Every timer of a node (receive timeouts, `sendAfter`, call timeouts,
 * idle timeouts, restart-intensity windows) reads this clock, so tests can drive time with a
 * `SimulatedClock` instead of sleeping.
 */

/** A source of monotonic time in milliseconds and of one-shot wake-ups. */
export interface Clock {
  /** Monotonic milliseconds (OTP's `erlang:monotonic_time(millisecond)`). */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds; returns a handle for `clear`. */
  set(fn: () => void, ms: number): unknown;
  /** Cancels a wake-up made by `set`. */
  clear(handle: unknown): void;
}

/** The real clock: `performance.now()` and Node's timers. */
export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }
  set(fn: () => void, ms: number): unknown {
    return setTimeout(fn, ms);
  }
  clear(handle: unknown): void {
    clearTimeout(handle as NodeJS.Timeout);
  }
}

interface SimTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that moves only when told to. `advance(ms)` fires every wake-up that falls due,
 * in time order, yielding to the event loop after each so processes react before the next.
 */
export class SimulatedClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new Set<SimTimer>();

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  set(fn: () => void, ms: number): unknown {
    const timer: SimTimer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.add(timer);
    return timer;
  }

  clear(handle: unknown): void {
    this.timers.delete(handle as SimTimer);
  }

  /** Number of pending wake-ups. */
  get pending(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, firing due wake-ups in order; between firings it lets the
   * event loop run so that messages sent by a firing are handled before the next one.
   */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      let next: SimTimer | undefined;
      for (const timer of this.timers) {
        if (timer.at <= end && (next === undefined || timer.at < next.at || (timer.at === next.at && timer.seq < next.seq))) {
          next = timer;
        }
      }
      if (next === undefined) break;
      this.timers.delete(next);
      this.t = Math.max(this.t, next.at);
      next.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }
}

/** Lets pending microtasks and one round of the event loop run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
