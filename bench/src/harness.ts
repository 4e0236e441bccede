/**
 * Running a suite: every case runs `rounds` times, the raw baseline right before rigil in
 * each round (anchors.md: "each library run right after the raw baseline R1 in every round"),
 * and each workload reports the median of its rounds.
 */
import { performance } from 'node:perf_hooks';
import { summarize, type Results, type Target } from './report.js';

/** What one workload measures. */
export interface WorkloadSpec {
  readonly unit: string;
  readonly target?: Target;
}

/**
 * One measured scenario; a single run may yield several workloads' figures (e.g. spawn rate
 * and heap per process come from the same million processes).
 */
export interface Case {
  /** Run once untimed before the rounds, so the JIT has warmed up (default true). */
  readonly warmup?: boolean;
  readonly workloads: Readonly<Record<string, WorkloadSpec>>;
  /** One run of the raw baseline: a figure for every workload of the case. */
  baseline(): Promise<Record<string, number>>;
  /** One run of rigil: a figure for every workload of the case. */
  rigil(): Promise<Record<string, number>>;
}

const gcFn = (globalThis as { gc?: () => void }).gc;

/** Full garbage collection (needs `node --expose-gc`). */
export function gc(): void {
  if (gcFn === undefined) throw new Error('run node with --expose-gc');
  gcFn();
  gcFn();
}

/** Live heap bytes after a full collection. */
export function liveHeap(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

/** Milliseconds, high resolution. */
export function now(): number {
  return performance.now();
}

/** Per second, from a count and elapsed milliseconds. */
export function perSecond(count: number, ms: number): number {
  return (count * 1000) / ms;
}

/** A promise and its resolver, for "the workload has finished" signals. */
export function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Waits one event-loop turn. */
export function nextTurn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

function fmt(figures: Record<string, number>): string {
  return Object.entries(figures)
    .map(([k, v]) => `${k}=${Math.round(v).toLocaleString('en-US')}`)
    .join(' ');
}

/** Runs every case `rounds` times (baseline, then rigil) and summarizes medians. */
export async function runCases(
  cases: Readonly<Record<string, Case>>,
  options: { rounds: number; only?: readonly string[]; log?: (line: string) => void },
): Promise<Results> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const results: Results = {};
  for (const [caseName, c] of Object.entries(cases)) {
    if (options.only !== undefined && options.only.length > 0 && !options.only.includes(caseName)) continue;
    const base: Record<string, number[]> = {};
    const rig: Record<string, number[]> = {};
    for (const w of Object.keys(c.workloads)) {
      base[w] = [];
      rig[w] = [];
    }
    if (c.warmup !== false) {
      await c.baseline();
      await c.rigil();
    }
    for (let round = 1; round <= options.rounds; round++) {
      gc();
      const b = await c.baseline();
      gc();
      const r = await c.rigil();
      for (const w of Object.keys(c.workloads)) {
        base[w]!.push(b[w] ?? NaN);
        rig[w]!.push(r[w] ?? NaN);
      }
      log(`${caseName} round ${round}: baseline ${fmt(b)} | rigil ${fmt(r)}`);
    }
    for (const [w, spec] of Object.entries(c.workloads)) {
      results[w] = summarize(spec.unit, rig[w]!, base[w]!, spec.target);
    }
  }
  return results;
}
