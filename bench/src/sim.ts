/**
 * Fault-explorer benchmark: faults explored per minute of real time with a 5-node simulated
 * cluster (`@rigil/testing`'s `explore`, invariants I3-mesh, I4, I6, I7, a heal-and-settle
 * checkpoint every 10 faults). Issue 12's target: at least 1,000 faults per minute.
 *
 * Runs `--seeds N` seeds (default 5) from `--seed S` (default 1), `--faults F` faults each
 * (default 300), one after another in this process; prints each seed's figure and writes
 * bench/results/sim.json (`faults_per_minute` over the whole run, per-seed samples, the
 * virtual time simulated). A violation is reported and counted, not fatal to the figure.
 *
 * Run: `pnpm bench:sim` (options after `--`).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { explore } from '@rigil/testing';

const { values } = parseArgs({
  options: { seed: { type: 'string', default: '1' }, seeds: { type: 'string', default: '5' }, faults: { type: 'string', default: '300' }, nodes: { type: 'string', default: '5' }, out: { type: 'string' } },
});
const seed0 = Number(values.seed);
const seeds = Number(values.seeds);
const faults = Number(values.faults);
const nodes = Number(values.nodes);

const samples: Array<{ seed: number; faults: number; realMs: number; virtualMs: number; faultsPerMinute: number; violation: string | null }> = [];
const t0 = performance.now();
let total = 0;
let virtual = 0;
for (let seed = seed0; seed < seed0 + seeds; seed++) {
  const r = await explore({ seed, nodes, faults, invariants: ['I3-mesh', 'I4', 'I6', 'I7'], shrink: false });
  total += r.faults;
  virtual += r.virtualMs;
  const fpm = (r.faults / r.realMs) * 60_000;
  samples.push({ seed, faults: r.faults, realMs: Math.round(r.realMs), virtualMs: r.virtualMs, faultsPerMinute: Math.round(fpm), violation: r.violation === undefined ? null : `${r.violation.invariant}: ${r.violation.message}` });
  process.stdout.write(`seed ${seed}: ${r.faults} faults in ${(r.realMs / 1000).toFixed(2)} s (${Math.round(fpm)} faults/min), ${(r.virtualMs / 1000).toFixed(0)} s virtual${r.violation !== undefined ? ` — VIOLATION ${r.violation.invariant}` : ''}\n`);
}
const realMs = performance.now() - t0;
const perMinute = (total / realMs) * 60_000;
process.stdout.write(`${total} faults in ${(realMs / 1000).toFixed(1)} s: ${Math.round(perMinute)} faults/min with ${nodes} nodes (target >= 1000)\n`);
const result = {
  workloads: {
    faults_per_minute: {
      unit: 'faults/min',
      rigil: Math.round(perMinute),
      target: { op: '>=', value: 1000, met: perMinute >= 1000 },
      nodes,
      faultsPerSeed: faults,
      totalFaults: total,
      realMs: Math.round(realMs),
      virtualMs: virtual,
      samples,
    },
  },
  machine: { node: process.version, platform: process.platform, arch: process.arch },
  date: new Date().toISOString(),
};
writeFileSync(values.out ?? new URL('../results/sim.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
