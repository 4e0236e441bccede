/**
 * Results of a benchmark suite: the medians, the printed table and the JSON file
 * (`{ workloads: { name: { unit, rigil, baseline, ratio, target } }, machine, date }`).
 * Shared by every suite (core, dist, …).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A goal from the issue: at least (`>=`, rates) or at most (`<=`, costs) `value`. */
export interface Target {
  readonly op: '>=' | '<=';
  readonly value: number;
}

/** The outcome of one workload: medians of every round. */
export interface WorkloadResult {
  readonly unit: string;
  /** Median of rigil's rounds. */
  readonly rigil: number;
  /** Median of the raw baseline's rounds. */
  readonly baseline: number;
  /** rigil / baseline (of the medians). */
  readonly ratio: number;
  readonly target?: Target & { readonly met: boolean };
  /** Every round's figure, for the record. */
  readonly samples: { readonly rigil: number[]; readonly baseline: number[] };
}

export type Results = Record<string, WorkloadResult>;

/** Facts about the machine, for the JSON file. */
export interface Machine {
  readonly cpu: string;
  readonly cpus: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly v8: string;
  readonly platform: string;
  readonly arch: string;
  readonly execArgv: string[];
}

/** The median of `xs` (mean of the middle two for an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** True when `value` meets `target`. */
export function meets(value: number, target: Target): boolean {
  return target.op === '>=' ? value >= target.value : value <= target.value;
}

/** Builds a workload's result from its rounds' figures. */
export function summarize(unit: string, rigil: number[], baseline: number[], target?: Target): WorkloadResult {
  const r = median(rigil);
  const b = median(baseline);
  return {
    unit,
    rigil: r,
    baseline: b,
    ratio: r / b,
    ...(target !== undefined ? { target: { ...target, met: meets(r, target) } } : {}),
    samples: { rigil, baseline },
  };
}

export function machine(): Machine {
  const cs = cpus();
  return {
    cpu: cs[0]?.model.trim() ?? 'unknown',
    cpus: cs.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    v8: process.versions.v8,
    platform: process.platform,
    arch: process.arch,
    execArgv: process.execArgv,
  };
}

/** Human form of a figure: `1.23M`, `615k`, `1,034`, `42.7`, `2.35`. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  if (a < 100 && !Number.isInteger(n)) return n.toFixed(a < 10 ? 2 : 1);
  return Math.round(n).toLocaleString('en-US');
}

function formatTarget(t: WorkloadResult['target']): string {
  if (t === undefined) return '';
  return `${t.op === '>=' ? '≥' : '≤'} ${formatNumber(t.value)} ${t.met ? 'yes' : 'NO'}`;
}

/** The results as an aligned text table. */
export function formatTable(results: Results): string {
  const header = ['workload', 'unit', 'rigil', 'baseline', 'rigil/baseline', 'target (met?)'];
  const rows = Object.entries(results).map(([name, r]) => [
    name,
    r.unit,
    formatNumber(r.rigil),
    formatNumber(r.baseline),
    r.ratio.toFixed(2),
    formatTarget(r.target),
  ]);
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const right = [false, false, true, true, true, false];
  const line = (row: string[]): string =>
    row.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * The command's arguments without the `--` that `pnpm run <script> -- --flag` passes on (pnpm 9
 * forwards it; `parseArgs` would take it for the end of the options).
 */
export function commandArgs(): string[] {
  return process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--'));
}

/** Writes `{ workloads, machine, date }` to `file` (a path or a `file:` URL), creating its directory. */
export function writeResults(file: string | URL, results: Results, extra: Record<string, unknown> = {}): string {
  const path = file instanceof URL ? fileURLToPath(file) : file;
  mkdirSync(dirname(path), { recursive: true });
  const out = { workloads: results, machine: machine(), date: new Date().toISOString(), ...extra };
  writeFileSync(path, JSON.stringify(out, null, 2) + '\n');
  return path;
}
