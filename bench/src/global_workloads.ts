/**
 * `global` workloads for the dist benchmark (issue 5), in a 3-node cluster whose nodes run in
 * this OS process and talk over real loopback WebSockets:
 *
 * - `global_register`: ms per uncontested registration (`register` on one node, sequentially,
 *   each for a fresh process; every registration takes the `global` lock on all three nodes and
 *   inserts on all three before it returns). Target ≤ 0.5 ms (Erlang here: 1.0–1.3 ms).
 * - `global_whereis`: ns per `whereis` (a local replica lookup). Target ≤ 100 ns (Erlang ~250 ns).
 * - `global_converge`: ms from a registration returning on one node until every node of the
 *   cluster sees it (mean over the registrations of a round). Target ≤ 5 ms.
 *
 * Each figure is the median of 3 rounds, after a warm-up round.
 */
import { performance } from 'node:perf_hooks';
import type { Pid } from '@rigil/core';
import { DistNode } from '@rigil/net';

/** One workload's result. */
export interface GlobalFigure {
  unit: string;
  rigil: number;
  target: string;
  met: boolean;
}

const ROUNDS = 3;
const REGISTRATIONS = 2000;
const LOOKUPS = 2_000_000;
const CONVERGE_SAMPLES = 300;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Three nodes, fully connected. */
async function startCluster(): Promise<DistNode[]> {
  const tag = `${process.pid}_${Date.now() % 100000}`;
  const a = await DistNode.start({ name: `ga${tag}@127.0.0.1`, cookie: 'bench', port: 0 });
  const seeds = [`${a.name}:${a.port}`];
  const b = await DistNode.start({ name: `gb${tag}@127.0.0.1`, cookie: 'bench', port: 0, seeds });
  const c = await DistNode.start({ name: `gc${tag}@127.0.0.1`, cookie: 'bench', port: 0, seeds });
  const nodes = [a, b, c];
  const deadline = performance.now() + 10_000;
  for (;;) {
    for (const x of nodes) for (const y of nodes) if (x !== y && !x.net.isConnected(y.name)) void x.connect(y.name);
    if (nodes.every((x) => nodes.every((y) => x === y || x.net.isConnected(y.name)))) break;
    if (performance.now() > deadline) throw new Error('the benchmark cluster did not form a full mesh');
    await new Promise((r) => setTimeout(r, 5));
  }
  // The merges the connections started are done once each node's registrar has run an unregister.
  await Promise.all(nodes.map((n) => n.global.unregister('__settle__')));
  return nodes;
}

/** `n` idle processes on `node` (spawned before timing). */
function idlers(node: DistNode, n: number): Pid[] {
  const out: Pid[] = [];
  for (let i = 0; i < n; i++) out.push(node.spawn(async (self) => void (await self.receive((m) => m === 'stop'))));
  return out;
}

let serial = 0;

/** ms per uncontested registration; returns the names registered (for the lookups). */
async function registerRound(node: DistNode, n: number): Promise<{ msPer: number; names: string[] }> {
  const pids = idlers(node, n);
  const names = pids.map(() => `reg${++serial}`);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const r = await node.global.register(names[i]!, pids[i]!);
    if (r !== 'yes') throw new Error(`uncontested registration ${names[i]} answered ${r}`);
  }
  return { msPer: (performance.now() - t0) / n, names };
}

/** ns per lookup of names known to `node`. */
function whereisRound(node: DistNode, names: string[], lookups: number): number {
  const g = node.global;
  const k = names.length;
  let found = 0;
  const t0 = performance.now();
  for (let i = 0; i < lookups; i++) if (g.whereis(names[i % k]!) !== undefined) found++;
  const ns = ((performance.now() - t0) * 1e6) / lookups;
  if (found !== lookups) throw new Error(`whereis found ${found} of ${lookups}`);
  return ns;
}

/** Mean ms from `register` returning on `from` until every node of `nodes` sees the name. */
async function convergeRound(from: DistNode, nodes: DistNode[], samples: number): Promise<number> {
  const pids = idlers(from, samples);
  let total = 0;
  for (let i = 0; i < samples; i++) {
    const name = `conv${++serial}`;
    const pid = pids[i]!;
    await from.global.register(name, pid);
    const t0 = performance.now();
    const seen = (): boolean => nodes.every((n) => n.global.whereis(name)?.equals(pid) === true);
    const deadline = t0 + 5000;
    while (!seen()) {
      if (performance.now() > deadline) throw new Error(`${name} did not reach every node within 5 s`);
      await new Promise((r) => setImmediate(r));
    }
    total += performance.now() - t0;
  }
  return total / samples;
}

/** Runs the three `global` workloads; median of 3 rounds each. */
export async function runGlobalWorkloads(): Promise<Record<string, GlobalFigure>> {
  const nodes = await startCluster();
  const [a, b] = nodes as [DistNode, DistNode, DistNode];
  try {
    // Warm-up (JIT, connections, caches).
    const warm = await registerRound(a, 300);
    whereisRound(b, warm.names, 100_000);
    await convergeRound(a, nodes, 50);

    const reg: number[] = [];
    const who: number[] = [];
    const conv: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const { msPer, names } = await registerRound(a, REGISTRATIONS);
      reg.push(msPer);
      who.push(whereisRound(b, names, LOOKUPS));
      conv.push(await convergeRound(a, nodes, CONVERGE_SAMPLES));
    }
    const register = median(reg);
    const whereis = median(who);
    const converge = median(conv);
    return {
      global_register: { unit: 'ms', rigil: register, target: '≤ 0.5 ms', met: register <= 0.5 },
      global_whereis: { unit: 'ns', rigil: whereis, target: '≤ 100 ns', met: whereis <= 100 },
      global_converge: { unit: 'ms', rigil: converge, target: '≤ 5 ms', met: converge <= 5 },
    };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}
