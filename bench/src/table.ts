/**
 * Prints the README's performance table from `bench/results/*.json`: rigil, the same-run
 * baseline, the issue's target, and Erlang/OTP's figure on this kind of machine
 * (`../shared/spec/anchors.md`, `+S1` = one scheduler, the fair comparison with one Node process).
 *
 * With `--scale`, prints the README's scale table from `bench/results/scale.json` instead
 * (figure, unit, median, rounds' samples, target; the simulated message counts as one row per
 * operation with N across).
 *
 * Run: `node --import tsx bench/src/table.ts [--scale]`
 */
import { existsSync, readFileSync } from 'node:fs';
import { formatNumber, type Results } from './report.js';

/** Erlang/OTP 25.2.3 figures from anchors.md (`+S1` unless noted). */
const ERLANG: Record<string, string> = {
  spawn: '196k',
  spawn_mem_fn: '2,628',
  spawn_mem_server: '2,628',
  ring_behaviour: '1.06M',
  ring_fn: '1.06M',
  pingpong: '1.31M',
  fanin: '4.16M',
  call: '425k',
  cast: '3.45M',
  remote_send: '124k',
  remote_pingpong: '17.0k',
  remote_pingpong_p50: '59',
  remote_call: '12.8k',
  remote_bytes: '106',
  global_register: '1.32',
  global_whereis: '247',
  failover_kill: '13.0',
  takeover: '29.5',
  name_gap: '~175',
  frozen_node: '3,489',
};

function scaleTable(): string[] {
  const path = new URL('../results/scale.json', import.meta.url);
  if (!existsSync(path)) return ['bench/results/scale.json: not found (run pnpm bench:scale)'];
  const { workloads, growth } = JSON.parse(readFileSync(path, 'utf8')) as {
    workloads: Record<string, { unit: string; rigil: number; samples: number[]; target?: { op: string; value: number; met: boolean } }>;
    growth?: Record<string, string>;
  };
  const out = ['| figure | unit | median | samples | target |', '|---|---|---|---|---|'];
  const sim: Record<string, Array<[number, number]>> = {};
  for (const [name, w] of Object.entries(workloads)) {
    const m = /^sim_(\w+)_(\d+)$/.exec(name);
    if (m !== null) {
      (sim[m[1]!] ??= []).push([Number(m[2]), w.rigil]);
      continue;
    }
    const target = w.target ? `${w.target.op === '>=' ? '≥' : '≤'} ${formatNumber(w.target.value)} ${w.target.met ? '✔' : '✘'}` : '';
    out.push(`| ${name} | ${w.unit} | ${formatNumber(w.rigil)} | ${w.samples.map((x) => formatNumber(x)).join(' / ')} | ${target} |`);
  }
  const ops = Object.keys(sim);
  if (ops.length > 0) {
    const sizes = sim[ops[0]!]!.map(([n]) => n);
    out.push('', `| messages per decision (simulator) | ${sizes.map((n) => `N = ${n}`).join(' | ')} | growth |`, `|---|${sizes.map(() => '---|').join('')}---|`);
    for (const op of ops) out.push(`| ${op} | ${sim[op]!.map(([, v]) => formatNumber(v)).join(' | ')} | ${growth?.[op] ?? ''} |`);
  }
  return out;
}

if (process.argv.includes('--scale')) {
  process.stdout.write(`${scaleTable().join('\n')}\n`);
  process.exit(0);
}

const lines = ['| workload | unit | rigil | baseline (same run) | target | Erlang/OTP here |', '|---|---|---|---|---|---|'];
for (const file of ['core', 'dist', 'dist_ac']) {
  const path = new URL(`../results/${file}.json`, import.meta.url);
  if (!existsSync(path)) continue;
  const { workloads } = JSON.parse(readFileSync(path, 'utf8')) as { workloads: Results };
  for (const [name, w] of Object.entries(workloads)) {
    const target = w.target ? `${w.target.op === '>=' ? '≥' : '≤'} ${formatNumber(w.target.value)} ${w.target.met ? '✔' : '✘'}` : '';
    const base = Number.isFinite(w.baseline) ? formatNumber(w.baseline) : '—';
    lines.push(`| ${name} | ${w.unit} | ${formatNumber(w.rigil)} | ${base} | ${target} | ${ERLANG[name] ?? ''} |`);
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
