/**
 * The timer service of a node (OTP's timer wheel): one binary heap of deadlines driven by a
 * single wake-up on the node's `Clock`.
 *
 * Call timeouts make a timer per call and nearly always cancel it; arming a real `setTimeout`
 * for each would dominate the cost of a call. Here inserting a later deadline than the armed
 * one never touches the clock, and cancelling never disarms it: the single wake-up fires, finds
 * nothing due, and re-arms for the earliest live deadline.
 */
import type { Clock } from './clock.js';

/** A scheduled timer (OTP's `TimerRef`). */
export class Timer {
  /** @internal Absolute deadline on the node's clock. */
  at: number;
  /** @internal Tie-breaker so equal deadlines fire in creation order. */
  seq: number;
  /** @internal Position in the heap, or -1 once fired or cancelled. */
  index = -1;
  /** @internal */
  fn: (arg: any) => void;
  /** @internal */
  arg: unknown;

  constructor(at: number, seq: number, fn: (arg: any) => void, arg: unknown) {
    this.at = at;
    this.seq = seq;
    this.fn = fn;
    this.arg = arg;
  }

  /** True while the timer has neither fired nor been cancelled. */
  get active(): boolean {
    return this.index >= 0;
  }
}

/** A heap of timers behind one clock wake-up. */
export class TimerService {
  private readonly heap: Timer[] = [];
  private seq = 0;
  private armedAt = Infinity;
  private handle: unknown = undefined;
  private stopped = false;
  private readonly onWake = (): void => this.fire();

  /** Called when a timer callback throws (the node reports it); the other timers still fire. */
  onError: (e: unknown) => void = () => undefined;

  constructor(readonly clock: Clock) {}

  /** Runs `fn(arg)` after `ms` milliseconds (OTP's `erlang:start_timer/3`). */
  schedule<A>(ms: number, fn: (arg: A) => void, arg: A): Timer {
    const t = new Timer(this.clock.now() + ms, this.seq++, fn, arg);
    if (this.stopped) return t;
    this.push(t);
    if (t.at < this.armedAt) this.arm(t.at);
    return t;
  }

  /** Cancels `t`; returns the milliseconds it had left, or `false` if it was not active (OTP's `cancel_timer/1`). */
  cancel(t: Timer): number | false {
    if (t.index < 0) return false;
    this.removeAt(t.index);
    return Math.max(0, t.at - this.clock.now());
  }

  /** Cancels `t` without computing what was left (the hot path of call timeouts). */
  drop(t: Timer): void {
    if (t.index >= 0) this.removeAt(t.index);
  }

  /** Milliseconds left on `t`, or `false` (OTP's `read_timer/1`). */
  read(t: Timer): number | false {
    return t.index < 0 ? false : Math.max(0, t.at - this.clock.now());
  }

  /** Number of active timers. */
  get size(): number {
    return this.heap.length;
  }

  /** Cancels everything and releases the clock wake-up. */
  stop(): void {
    this.stopped = true;
    for (const t of this.heap) t.index = -1;
    this.heap.length = 0;
    if (this.handle !== undefined) this.clock.clear(this.handle);
    this.handle = undefined;
    this.armedAt = Infinity;
  }

  private arm(at: number): void {
    if (this.handle !== undefined) this.clock.clear(this.handle);
    this.armedAt = at;
    this.handle = this.clock.set(this.onWake, Math.max(0, at - this.clock.now()));
  }

  private fire(): void {
    this.handle = undefined;
    this.armedAt = Infinity;
    const now = this.clock.now();
    const heap = this.heap;
    // Fire everything due; a callback may schedule more timers, which the loop also sees.
    while (heap.length > 0 && heap[0]!.at <= now) {
      const t = heap[0]!;
      this.removeAt(0);
      try {
        t.fn(t.arg);
      } catch (e) {
        this.onError(e);
      }
      if (this.stopped) return;
    }
    // A callback may have armed the clock for a later deadline than what is left: re-arm for the earliest.
    if (heap.length > 0 && heap[0]!.at < this.armedAt) this.arm(heap[0]!.at);
  }

  private less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(t: Timer): void {
    const heap = this.heap;
    t.index = heap.length;
    heap.push(t);
    this.up(t.index);
  }

  private removeAt(i: number): void {
    const heap = this.heap;
    const t = heap[i]!;
    const last = heap.pop()!;
    t.index = -1;
    if (i < heap.length) {
      heap[i] = last;
      last.index = i;
      this.up(i);
      this.down(last.index);
    }
  }

  private up(i: number): void {
    const heap = this.heap;
    const t = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p]!;
      if (!this.less(t, parent)) break;
      heap[i] = parent;
      parent.index = i;
      i = p;
    }
    heap[i] = t;
    t.index = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const t = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(heap[r]!, heap[l]!) ? r : l;
      const child = heap[c]!;
      if (!this.less(child, t)) break;
      heap[i] = child;
      child.index = i;
      i = c;
    }
    heap[i] = t;
    t.index = i;
  }
}
