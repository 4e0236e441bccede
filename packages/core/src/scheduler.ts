/**
 * The scheduler of a node: one run queue of processes that have work, drained in bounded
 * batches.
 *
 * - Behaviour processes (gen_server, supervisor, …) are run by calling their handler
 *   directly, no Promise per message.
 * - An async-function process waiting in `receive` is resumed by resolving its Promise; while
 *   the batch budget lasts a matching message is handed over at once, without a queue hop.
 * - A drain runs as a microtask while the budget of the current event-loop turn lasts; once
 *   `BATCH` messages have been handled in one turn, the next drain waits for `setImmediate`,
 *   so sockets and timers always get their turn.
 *
 * It also keeps the processes *suspended* on a busy distribution connection (OTP's
 * `erts_suspend_process` on a busy dist port, see remote.ts): a suspended process is not run —
 * a behaviour takes no next message, an async-function process's next `receive` waits — until
 * the network says the connection drained (`resume(node)`). The run queue itself never waits:
 * every other process keeps running.
 */
import type { ProcessRecord } from './internal/process.js';

const RESOLVED = Promise.resolve();

/** Messages handled per event-loop turn before the scheduler yields to I/O and timers. */
export const BATCH = 8192;

export class Scheduler {
  /**
   * The run queue: a ring buffer (capacity a power of two) of `len` processes from `head`. A
   * ring rather than an array emptied per drain: `length = 0` frees the backing store, and the
   * next push allocates it again — once per drain, i.e. per hop when few processes are ready.
   */
  private queue: Array<ProcessRecord | undefined> = new Array<ProcessRecord | undefined>(1024);
  private head = 0;
  private len = 0;
  /** Messages that may still be handled in this event-loop turn. */
  private budget = BATCH;
  /** A drain is queued (as a microtask or an immediate). */
  private scheduled = false;
  /** A `setImmediate` that resets the budget at the next turn is pending. */
  private epochArmed = false;
  private immediate: NodeJS.Immediate | undefined;
  private epoch: NodeJS.Immediate | undefined;
  private stopped = false;
  private readonly drainFn = (): void => this.drain();
  /**
   * The process whose code runs in the current slice (a behaviour's handler, or the synchronous
   * start of an async function), else null: the sender a busy remote send suspends when the
   * send does not name its process itself.
   */
  current: ProcessRecord | null = null;
  /** Processes suspended on a busy connection, by the node it leads to. */
  private readonly suspended = new Map<string, Set<ProcessRecord>>();
  /** Code waiting for a suspended process to run again (an async function's next `receive`). */
  private readonly resumeWaiters = new Map<ProcessRecord, Array<() => void>>();
  private readonly immediateFn = (): void => {
    this.immediate = undefined;
    this.budget = BATCH;
    this.drain();
  };
  private readonly epochFn = (): void => {
    this.epoch = undefined;
    this.epochArmed = false;
    this.budget = BATCH;
  };

  /** Puts `p` on the run queue (once). */
  enqueue(p: ProcessRecord): void {
    if (p._queued || this.stopped) return;
    p._queued = true;
    this.push(p);
    if (!this.scheduled) this.schedule();
  }

  private push(p: ProcessRecord): void {
    let q = this.queue;
    if (this.len === q.length) q = this.grow();
    q[(this.head + this.len++) & (q.length - 1)] = p;
  }

  private grow(): Array<ProcessRecord | undefined> {
    const old = this.queue;
    const q = new Array<ProcessRecord | undefined>(old.length * 2);
    for (let i = 0; i < this.len; i++) q[i] = old[(this.head + i) & (old.length - 1)];
    this.queue = q;
    this.head = 0;
    return q;
  }

  /**
   * Takes one unit of this turn's budget for a direct hand-over; false when the turn's budget
   * is spent and the caller must go through the run queue instead.
   */
  take(): boolean {
    if (this.budget <= 0) return false;
    this.budget--;
    if (!this.epochArmed) this.armEpoch();
    return true;
  }

  /**
   * Suspends `p` because its send to `node` found the connection busy (OTP: a send to a busy
   * distribution port suspends the sender). A process already suspended stays suspended on the
   * node it waits for: it re-checks on its next send once that one drains.
   */
  suspend(p: ProcessRecord, node: string): void {
    if (p._suspended || p._dead) return;
    p._suspended = true;
    let set = this.suspended.get(node);
    if (set === undefined) this.suspended.set(node, (set = new Set()));
    set.add(p);
  }

  /** Runs again every process suspended on `node` (its connection drained, or is gone). */
  resume(node: string): void {
    const set = this.suspended.get(node);
    if (set === undefined) return;
    this.suspended.delete(node);
    for (const p of set) {
      p._suspended = false;
      const waiters = this.resumeWaiters.get(p);
      if (waiters !== undefined) {
        this.resumeWaiters.delete(p);
        for (const w of waiters) w();
      }
      if (p._hasWork()) this.enqueue(p);
    }
  }

  /** Resolves once `p` is no longer suspended (at once if it is not). */
  whenResumed(p: ProcessRecord): Promise<void> {
    if (!p._suspended) return RESOLVED;
    return new Promise((resolve) => {
      let list = this.resumeWaiters.get(p);
      if (list === undefined) this.resumeWaiters.set(p, (list = []));
      list.push(resolve);
    });
  }

  /** Forgets a suspended process that exited (its waiters never run: a dead process runs no code). */
  forget(p: ProcessRecord): void {
    this.resumeWaiters.delete(p);
    for (const [node, set] of this.suspended) {
      if (set.delete(p) && set.size === 0) this.suspended.delete(node);
    }
  }

  /** Number of processes suspended on a busy connection (for tests and tools). */
  get suspendedCount(): number {
    let n = 0;
    for (const set of this.suspended.values()) n += set.size;
    return n;
  }

  /** Drops every queued process and every pending immediate. */
  stop(): void {
    this.stopped = true;
    this.queue = new Array<ProcessRecord | undefined>(16);
    this.suspended.clear();
    this.resumeWaiters.clear();
    this.head = 0;
    this.len = 0;
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    if (this.epoch !== undefined) clearImmediate(this.epoch);
    this.immediate = this.epoch = undefined;
  }

  private schedule(): void {
    this.scheduled = true;
    // A V8 promise reaction is a cheaper microtask than Node's `queueMicrotask` (which wraps
    // every callback for async hooks).
    if (this.budget > 0) void RESOLVED.then(this.drainFn);
    else this.immediate = setImmediate(this.immediateFn);
  }

  private armEpoch(): void {
    this.epochArmed = true;
    this.epoch = setImmediate(this.epochFn);
  }

  private drain(): void {
    this.scheduled = false;
    if (this.stopped) return;
    if (!this.epochArmed) this.armEpoch();
    while (this.budget > 0 && this.len > 0) {
      // The queue may have grown (a slice enqueues): read it afresh each time.
      const queue = this.queue;
      const p = queue[this.head]!;
      queue[this.head] = undefined;
      this.head = (this.head + 1) & (queue.length - 1);
      this.len--;
      p._queued = false;
      this.current = p;
      this.budget -= p._runSlice(this.budget);
      this.current = null;
      if (p._queued === false && p._hasWork()) {
        p._queued = true;
        this.push(p);
      }
    }
    if (this.len > 0) this.schedule();
    else if (this.queue.length > 4096) {
      // A burst (a million spawns) grew the ring: give the memory back once it has drained.
      this.queue = new Array<ProcessRecord | undefined>(1024);
      this.head = 0;
    }
  }
}
