/**
 * The raw baseline (anchors.md, footnote ¹ "R1"): the fastest plausible hand-written actor
 * runtime of the same shape as rigil, in plain JS — callback actors with lazily allocated
 * ring-buffer mailboxes, one run queue drained in a loop, and `setImmediate` between batches.
 * No links, monitors, names, selective receive or exit semantics.
 *
 * Like rigil's scheduler, a drain starts as a microtask while the current event-loop turn's
 * budget lasts; once `BATCH` messages have been handled in one turn the next drain waits for
 * `setImmediate`, so I/O and timers still get their turn.
 */

/** Messages handled per event-loop turn before yielding to I/O (same as rigil's scheduler). */
export const BATCH = 8192;
/** Messages one actor handles before the next actor on the run queue gets a turn. */
const SLICE = 64;

/** A callback actor's message handler. */
export type RawHandler<S = any> = (self: RawActor<S>, msg: unknown) => void;

/** A callback actor: a mailbox (a ring buffer, allocated on the first message) and a handler. */
export class RawActor<S = any> {
  /** Mailbox ring buffer (capacity a power of two), or null while it never got a message. */
  box: unknown[] | null = null;
  head = 0;
  len = 0;
  queued = false;
  /** Runs once, on the actor's first turn (its "process body" up to the first receive). */
  init: ((self: RawActor<S>) => void) | null;

  constructor(
    readonly rt: RawRuntime,
    public handler: RawHandler<S>,
    public state: S,
    init: ((self: RawActor<S>) => void) | null,
  ) {
    this.init = init;
  }

  /** Sends `msg` to `to` (same as `rt.send`). */
  send(to: RawActor, msg: unknown): void {
    this.rt.send(to, msg);
  }
}

/** The run queue and the drain loop. */
export class RawRuntime {
  private runq: Array<RawActor | undefined> = new Array<RawActor | undefined>(1024);
  private rhead = 0;
  private rlen = 0;
  private budget = BATCH;
  private scheduled = false;
  private epochArmed = false;
  private readonly drainFn = (): void => this.drain();
  private readonly immediateFn = (): void => {
    this.budget = BATCH;
    this.epochArmed = false;
    this.drain();
  };
  private readonly epochFn = (): void => {
    this.epochArmed = false;
    this.budget = BATCH;
  };

  /** Creates an actor; with `init`, the actor runs it on its first turn. */
  spawn<S>(handler: RawHandler<S>, state: S, init: ((self: RawActor<S>) => void) | null = null): RawActor<S> {
    const a = new RawActor<S>(this, handler, state, init);
    if (init !== null) this.enqueue(a);
    return a;
  }

  /** Appends `msg` to `to`'s mailbox and puts `to` on the run queue. */
  send(to: RawActor, msg: unknown): void {
    let box = to.box;
    if (box === null) box = to.box = new Array<unknown>(4);
    else if (to.len === box.length) box = grow(to);
    box[(to.head + to.len++) & (box.length - 1)] = msg;
    if (!to.queued) this.enqueue(to);
  }

  private enqueue(a: RawActor): void {
    a.queued = true;
    let q = this.runq;
    if (this.rlen === q.length) q = this.growRunq();
    q[(this.rhead + this.rlen++) & (q.length - 1)] = a;
    if (!this.scheduled) {
      this.scheduled = true;
      if (this.budget > 0) queueMicrotask(this.drainFn);
      else setImmediate(this.immediateFn);
    }
  }

  private growRunq(): Array<RawActor | undefined> {
    const old = this.runq;
    const q = new Array<RawActor | undefined>(old.length * 2);
    for (let i = 0; i < this.rlen; i++) q[i] = old[(this.rhead + i) & (old.length - 1)];
    this.runq = q;
    this.rhead = 0;
    return q;
  }

  private drain(): void {
    if (!this.epochArmed) {
      this.epochArmed = true;
      setImmediate(this.epochFn);
    }
    while (this.budget > 0 && this.rlen > 0) {
      const q = this.runq;
      const a = q[this.rhead]!;
      q[this.rhead] = undefined;
      this.rhead = (this.rhead + 1) & (q.length - 1);
      this.rlen--;
      a.queued = false;
      const init = a.init;
      if (init !== null) {
        a.init = null;
        this.budget--;
        init(a);
      }
      let n = 0;
      while (a.len > 0 && n < SLICE && n < this.budget) {
        const box = a.box!;
        const msg = box[a.head];
        box[a.head] = undefined;
        a.head = (a.head + 1) & (box.length - 1);
        a.len--;
        n++;
        a.handler(a, msg);
      }
      this.budget -= n;
      if (a.len > 0 && !a.queued) this.enqueue(a);
    }
    if (this.rlen > 0) {
      // budget spent: continue on the next turn
      setImmediate(this.immediateFn);
    } else {
      this.scheduled = false;
    }
  }
}

function grow(a: RawActor): unknown[] {
  const old = a.box!;
  const box = new Array<unknown>(old.length * 2);
  for (let i = 0; i < a.len; i++) box[i] = old[(a.head + i) & (old.length - 1)];
  a.box = box;
  a.head = 0;
  return box;
}
