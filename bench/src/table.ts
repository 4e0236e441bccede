/**
 * Prints the README's performance table from `bench/results/*.json`: rigil, the same-run
 * baseline, the issue's target, and Erlang/OTP's figure on this kind of machine
 * (`../shared/spec/anchors.md`, `+S1` = one scheduler, the fair comparison with one Node process).
 *
 * Run: `node --import tsx bench/src/table.ts`
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
