/**
 * `waitFor`: poll a condition in real time until it holds, with a deadline — the helper every
 * test of a real (socket) cluster needs instead of sleeping and hoping. No OTP equivalent
 * (Common Test suites write the same loop by hand, e.g. `ct:sleep` in a retry).
 *
 * It runs on real timers (`setTimeout`): with vitest's fake timers, or inside a `Simulation`
 * (whose nodes live in virtual time), use `sim.runUntil(pred, maxMs, what)` instead — it runs
 * the simulated cluster until `pred` holds, and no real time passes.
 */
import { SimError } from './errors.js';

/** Options of `waitFor`. */
export interface WaitForOptions {
  /** Milliseconds of real time before giving up (default 5000). */
  readonly timeoutMs?: number;
  /** Milliseconds between two checks (default 10). */
  readonly intervalMs?: number;
  /** What is awaited, for the error message (default `'condition'`). */
  readonly what?: string;
}

/**
 * Polls `cond` until it returns a truthy value (or a promise of one), and resolves with that
 * value; after `timeoutMs` rejects with a `SimError` `ERR_WAIT_TIMEOUT` whose message names
 * `what`. A `cond` that throws (or rejects) counts as "not yet" — so `() => expect(x).toBe(1)`
 * style assertions may be polled — and the last such error is the timeout error's `cause` and
 * is quoted in its message. Checks once more at the deadline. No OTP equivalent.
 *
 * @example
 * await waitFor(() => node.whereis('counter'), { what: 'counter registered' });
 * const pid = await waitFor(() => b.global.whereis('db'), { timeoutMs: 2000, what: 'db on b' });
 */
export async function waitFor<T>(cond: () => T | Promise<T>, options: WaitForOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const intervalMs = options.intervalMs ?? 10;
  const what = options.what ?? 'condition';
  if (typeof cond !== 'function') throw new SimError('ERR_SIM_BAD_ARG', `waitFor: cond must be a function, got ${typeof cond}`);
  if (!(typeof timeoutMs === 'number' && timeoutMs >= 0)) throw new SimError('ERR_SIM_BAD_ARG', `waitFor: bad timeoutMs ${String(timeoutMs)}`);
  if (!(typeof intervalMs === 'number' && intervalMs > 0 && Number.isFinite(intervalMs))) throw new SimError('ERR_SIM_BAD_ARG', `waitFor: bad intervalMs ${String(intervalMs)}`);
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown = undefined;
  let threw = false;
  for (;;) {
    const last = performance.now() >= deadline;
    try {
      const v: unknown = await cond();
      if (v) return v as NonNullable<T>;
      threw = false;
    } catch (e) {
      lastError = e;
      threw = true;
    }
    if (last) break;
    const wait = Math.max(0, Math.min(intervalMs, deadline - performance.now()));
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
  const why = threw ? `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}` : '';
  throw new SimError('ERR_WAIT_TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}${why}`, { timeout: what }, threw ? { cause: lastError } : undefined);
}
