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
  private queue: ProcessRecord[] = [];
  private head = 0;
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
    this.queue.push(p);
    if (!this.scheduled) this.schedule();
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
    this.queue = [];
    this.suspended.clear();
    this.resumeWaiters.clear();
    this.head = 0;
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
    const queue = this.queue;
    while (this.budget > 0 && this.head < queue.length) {
      const p = queue[this.head]!;
      queue[this.head++] = undefined as unknown as ProcessRecord;
      p._queued = false;
      this.current = p;
      this.budget -= p._runSlice(this.budget);
      this.current = null;
      if (p._queued === false && p._hasWork()) {
        p._queued = true;
        queue.push(p);
      }
    }
    if (this.head >= queue.length) {
      queue.length = 0;
      this.head = 0;
    } else {
      // Compact only when the consumed prefix dominates, so a long queue is not copied per drain.
      if (this.head > 4096 && this.head * 2 > queue.length) {
        queue.splice(0, this.head);
        this.head = 0;
      }
      this.schedule();
    }
  }
}
