/**
 * Fault-explorer benchmark: faults explored per minute of real time with a 5-node simulated
 * cluster (`@rigil/testing`'s `explore`, a heal-and-settle checkpoint every 10 faults), per
 * workload. Issue 12's target: at least 1,000 faults per minute.
 *
 * Runs `--seeds N` seeds (default 5) from `--seed S` (default 1), `--faults F` faults each
 * (default 300), one after another in this process, for each of `--workloads` (default
 * `net,apps,all`); prints each seed's figure and writes bench/results/sim.json
 * (`faults_per_minute` for `net` — the workload CI gates — and `faults_per_minute_<workload>`
 * for the others: the figure over the whole run, per-seed samples, the virtual time simulated).
 *
 * `net` checks I3-mesh, I4, I6, I7, which hold; a run stops at its first violation, so the
 * other workloads — whose invariants fail today on most seeds — check every invariant of the
 * workload after every step but only *record* the first violation (the trace always runs to
 * its end: the figure measures whole traces).
 *
 * Run: `pnpm bench:sim` (options after `--`).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_INVARIANTS, explore, resolveInvariants, WORKLOADS, type Invariant, type Workload } from '@rigil/testing';

const { values } = parseArgs({
  options: { seed: { type: 'string', default: '1' }, seeds: { type: 'string', default: '5' }, faults: { type: 'string', default: '300' }, nodes: { type: 'string', default: '5' }, workloads: { type: 'string', default: 'net,apps,all' }, out: { type: 'string' } },
});
const seed0 = Number(values.seed);
const seeds = Number(values.seeds);
const faults = Number(values.faults);
const nodes = Number(values.nodes);

const workloads = values.workloads.split(',') as Workload[];
for (const w of workloads) if (!WORKLOADS.includes(w)) throw new Error(`unknown workload ${w}`);

/** Every invariant of the workload, checked after every step; the first violation is recorded, none stops the run. */
function recordingAll(w: Workload, out: { first?: string }): Invariant {
  const all = resolveInvariants([...DEFAULT_INVARIANTS[w]], w);
  return {
    name: `all-of-${w}`,
    check: (ctx) => {
      for (const inv of all) {
        const msg = inv.check(ctx);
        if (msg !== undefined && out.first === undefined) out.first = `${inv.name}: ${msg}`;
      }
      return undefined;
    },
  };
}

const rows: Record<string, unknown> = {};
for (const workload of workloads) {
  const samples: Array<{ seed: number; faults: number; realMs: number; virtualMs: number; faultsPerMinute: number; violation: string | null }> = [];
  const t0 = performance.now();
  let total = 0;
  let virtual = 0;
  for (let seed = seed0; seed < seed0 + seeds; seed++) {
    const seen: { first?: string } = {};
    const r = await explore({ seed, nodes, faults, workload, invariants: workload === 'net' ? [...DEFAULT_INVARIANTS.net] : [recordingAll(workload, seen)], shrink: false });
    const violation = r.violation !== undefined ? `${r.violation.invariant}: ${r.violation.message}` : (seen.first ?? null);
    total += r.faults;
    virtual += r.virtualMs;
    const fpm = (r.faults / r.realMs) * 60_000;
    samples.push({ seed, faults: r.faults, realMs: Math.round(r.realMs), virtualMs: Math.round(r.virtualMs), faultsPerMinute: Math.round(fpm), violation });
    process.stdout.write(`${workload} seed ${seed}: ${r.faults} faults in ${(r.realMs / 1000).toFixed(2)} s (${Math.round(fpm)} faults/min), ${(r.virtualMs / 1000).toFixed(0)} s virtual${violation !== null ? ` — VIOLATION ${violation.slice(0, 100)}` : ''}\n`);
  }
  const realMs = performance.now() - t0;
  const perMinute = (total / realMs) * 60_000;
  process.stdout.write(`${workload}: ${total} faults in ${(realMs / 1000).toFixed(1)} s: ${Math.round(perMinute)} faults/min with ${nodes} nodes (target >= 1000)\n`);
  rows[workload === 'net' ? 'faults_per_minute' : `faults_per_minute_${workload}`] = {
    unit: 'faults/min',
    rigil: Math.round(perMinute),
    target: { op: '>=', value: 1000, met: perMinute >= 1000 },
    workload,
    invariants: [...DEFAULT_INVARIANTS[workload]],
    nodes,
    faultsPerSeed: faults,
    totalFaults: total,
    realMs: Math.round(realMs),
    virtualMs: Math.round(virtual),
    samples,
  };
}
const result = {
  workloads: rows,
  machine: { node: process.version, platform: process.platform, arch: process.arch },
  date: new Date().toISOString(),
};
writeFileSync(values.out ?? new URL('../results/sim.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
