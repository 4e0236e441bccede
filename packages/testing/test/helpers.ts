/**
 * Helpers for the simulation's tests: a started cluster of named nodes, processes that record
 * their mailbox, and a minimal distributed application.
 */
import { afterEach } from 'vitest';
import { genServer, supervisor, type ApplicationSpec, type Pid, type StartType } from '@rigil/core';
import type { DistNode } from '@rigil/net';
import { Simulation, type SimNodeOptions } from '../src/index.js';

/** Simulations made by `useSims` are stopped after each test. */
export function useSims(): (seed: number, options?: { logFrames?: boolean }) => Simulation {
  const sims: Simulation[] = [];
  afterEach(async () => {
    for (const s of sims.splice(0)) await s.stop();
  });
  return (seed, options = {}) => {
    const s = new Simulation({ seed, ...options });
    sims.push(s);
    return s;
  };
}

/** Starts `names` in order, each seeded with the ones before it, and runs until they form a full mesh. */
export async function mesh(sim: Simulation, names: readonly string[], options: Partial<SimNodeOptions> = {}): Promise<DistNode[]> {
  const nodes: DistNode[] = [];
  for (const [i, name] of names.entries()) nodes.push(await sim.startNode({ tickTime: 1000, ...options, name, seeds: names.slice(0, i) }));
  await sim.runUntil(() => nodes.every((n) => n.nodes().length === names.length - 1), 5000, 'the full mesh');
  return nodes;
}

/** A process that records every message it receives, in order. */
export function recorder(node: DistNode, name?: string): { pid: Pid; got: unknown[] } {
  const got: unknown[] = [];
  const pid = node.spawn(async (self) => {
    for (;;) got.push(await self.receive());
  });
  if (name !== undefined) node.register(name, pid);
  return { pid, got };
}

/** Where each start of a test application happened, and with which start type. */
export interface Start {
  readonly node: string;
  readonly type: StartType;
  /** Virtual time of the start. */
  readonly at: number;
}

/** A distributed application `name`: a supervisor with one server; every start is recorded in `starts`. */
export function app(name: string, starts: Start[]): ApplicationSpec {
  const server: genServer.GenServerBehaviour<string, undefined> = {
    init: (_a, self) => {
      starts.push({ node: self.node.name, type: self.node.application.startType(self) as StartType, at: self.node.clock.now() });
      return { ok: self.node.name };
    },
    handleCall: (_req, _from, state) => ({ reply: state, state }),
  };
  const sup: supervisor.SupervisorBehaviour<undefined> = {
    init: () => ({ flags: { strategy: 'one_for_one', intensity: 3, period: 5 }, children: [supervisor.worker('srv', server, undefined, { name: `${name}_srv` })] }),
  };
  return { name, version: '1.0.0', mod: { start: (_t, _a, self) => supervisor.startLink(self, sup, undefined, { name: `${name}_sup` }) } };
}

/** Nodes among `nodes` where `app` runs locally. */
export function runners(nodes: readonly DistNode[], appName: string): string[] {
  return nodes.filter((n) => !n.stopped && n.application.whereRunning(appName) === 'local').map((n) => n.name);
}

/**
 * Runs until the nodes form exactly `groups` (each node connected to the rest of its group and
 * to nobody else) for `stableMs` in a row. Nobody dials by hand: the nodes' own redials
 * (reconnect for life) must re-form each group, also after global's prevention of overlapping
 * partitions dropped links inside it. Throws after `maxMs` of virtual time.
 */
export async function settleInto(sim: Simulation, groups: ReadonlyArray<readonly DistNode[]>, maxMs = 10_000, stableMs = 500): Promise<void> {
  const wanted = new Map<DistNode, string[]>();
  for (const g of groups) for (const n of g) wanted.set(n, g.filter((m) => m !== n).map((m) => m.name).sort());
  const ok = (): boolean => [...wanted].every(([n, w]) => n.nodes().sort().join() === w.join());
  let stableSince: number | undefined;
  const t0 = sim.now;
  for (;;) {
    await sim.run(50);
    if (!ok()) stableSince = undefined;
    else if ((stableSince ??= sim.now) <= sim.now - stableMs) return;
    if (sim.now - t0 > maxMs) {
      throw new Error(`the cluster did not settle into ${groups.map((g) => `[${g.map((n) => n.name).join(' ')}]`).join(' ')}: ${[...wanted.keys()].map((n) => `${n.name}->[${n.nodes().join(' ')}]`).join(' ')}`);
    }
  }
}
