/**
 * dist-ac under a seeded storm of faults on the simulated cluster (issue 14): 5 nodes, 3
 * distributed applications whose priority lists disagree with name order (one with
 * equal-priority groups), start phases, slow `prepStop`s, global names registered with
 * dist-ac's resolver; crashes (the node comes back and calls `application.start` again),
 * partitions, cut links and stalls. After each storm the network heals, and then: every
 * application runs on exactly one node, every node's records say where, and every
 * `application.start` has resolved.
 *
 * Not checked here: that each application's global name points at its instance. The
 * resolver agrees with dist-ac (dist_ac_faults.test.ts), but `global`'s per-pair exchange can
 * overwrite a name with a pid from a pair that never saw the other registration (replicas that
 * diverged under partial connectivity); that is `global`'s to fix (step 4's whole-partition
 * exchange).
 */
import { describe, expect, it } from 'vitest';
import { supervisor, genServer, type ApplicationSpec, type Node, type Process, type StartType } from '@rigil/core';
import { distAcOf, distAcResolver, type KernelConfig } from '@rigil/dist-ac';
import { globalOf, type DistNode } from '@rigil/net';
import { runners, useSims } from './helpers.js';
import type { Simulation } from '../src/index.js';

const sim = useSims();
const NAMES = ['a@a', 'b@b', 'c@c', 'd@d', 'e@e'];
const [A, B, C, D, E] = NAMES as [string, string, string, string, string];
const APPS = ['p', 'q', 'r'];
const kernel: KernelConfig = {
  distributed: [
    { application: 'p', timeout: 200, nodes: [A, B, C, D, E] },
    { application: 'q', timeout: 300, nodes: [E, D, [C, B], A] },
    { application: 'r', timeout: 0, nodes: [[D, B], [A, C, E]] },
  ],
  syncNodesOptional: NAMES,
  syncNodesTimeout: 1000,
};

/** A proxima-like application: intensity-0 supervisor, phases `init` (slow on a move) and `go` (global name), slow prepStop. */
function stateful(name: string): ApplicationSpec {
  const server: genServer.GenServerBehaviour<string, undefined> = {
    init: (_a, self) => ({ ok: self.node.name }),
    handleCall: (_req, _from, state) => ({ reply: state, state }),
  };
  const sup: supervisor.SupervisorBehaviour<undefined> = {
    init: () => ({ flags: { strategy: 'one_for_all', intensity: 0, period: 1 }, children: [supervisor.worker('srv', server, undefined, { name: `${name}_srv` })] }),
  };
  return {
    name,
    version: '1.0.0',
    startPhases: [{ name: 'init' }, { name: 'go' }],
    mod: {
      start: async (_type: StartType, _a: unknown, self: Process) => {
        const r = await supervisor.startLink(self, sup, undefined, { name: `${name}_sup` });
        return typeof r === 'object' && 'ok' in r ? { ok: r.ok, state: self.node } : r;
      },
      startPhase: async (phase: string, type: StartType, _a: unknown, self: Process) => {
        if (phase === 'init' && type !== 'normal') await self.node.delay(150);
        if (phase === 'go') {
          const pid = self.node.whereis(`${name}_srv`);
          if (pid === undefined || (await globalOf(self).reRegister(name, pid, distAcResolver(name))) !== 'yes') return { error: 'global registration failed' };
        }
        return 'ok';
      },
      prepStop: async (node: unknown) => {
        await (node as Node).delay(200);
        return node;
      },
    },
  };
}

/** One storm and its checks; returns what was violated (empty: none). */
async function storm(s: Simulation, seed: number, faults: number): Promise<string[]> {
  const nodes = new Map<string, DistNode>();
  const pending = new Map<DistNode, number>();
  const boot = async (name: string, seeds: string[], restart: boolean): Promise<void> => {
    const n = restart ? await s.restart(name, { seeds }) : await s.startNode({ name, tickTime: 1000, seeds, kernel, apps: APPS.map(stateful) });
    nodes.set(name, n);
    for (const app of APPS) {
      pending.set(n, (pending.get(n) ?? 0) + 1);
      void n.application.start(app).finally(() => pending.set(n, pending.get(n)! - 1));
    }
  };
  for (const [i, name] of NAMES.entries()) await boot(name, NAMES.slice(0, i), false);
  await s.run(3000);
  let x = seed * 2654435761;
  const rnd = (n: number): number => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
  for (let i = 0; i < faults; i++) {
    const up = s.nodes();
    const pick = (): string => up[rnd(up.length)]!;
    switch (rnd(6)) {
      case 0: {
        const victim = pick();
        s.crash(victim);
        await s.run(50 + rnd(1500));
        await boot(victim, NAMES.filter((n) => n !== victim), true);
        break;
      }
      case 1: {
        const cutAt = 1 + rnd(NAMES.length - 1);
        const order = [...NAMES].sort(() => rnd(3) - 1);
        s.partition([order.slice(0, cutAt), order.slice(cutAt)]);
        break;
      }
      case 2:
        s.cut(pick(), pick());
        break;
      case 3:
        s.stall(pick(), 100 + rnd(3000));
        break;
      default:
        s.healAll();
    }
    await s.run(rnd(2500));
  }
  s.healAll();
  const bad: string[] = [];
  const live = (): DistNode[] => s.nodes().map((n) => nodes.get(n)!);
  const ok = (): boolean =>
    APPS.every((app) => {
      const r = runners(live(), app);
      if (r.length !== 1) return false;
      const where = r[0]!;
      return live().every((n) => distAcOf(n).info(app).node === where && n.application.whereRunning(app) === (n.name === where ? 'local' : where));
    });
  try {
    await s.runUntil(() => live().every((n) => n.nodes().length === NAMES.length - 1) && ok(), 30_000);
  } catch {
    for (const app of APPS) bad.push(`${app}: runs on [${runners(live(), app).join(' ')}]; ${live().map((n) => `${n.name} info ${distAcOf(n).info(app).node} where ${n.application.whereRunning(app)} name ${n.global.whereis(app)?.node}`).join(', ')}`);
  }
  // A crashed node's starts never resolve (its node object is gone): count only live ones.
  const unresolved = (): number => live().reduce((sum, n) => sum + (pending.get(n) ?? 0), 0);
  await s.runUntil(() => unresolved() === 0, 5000).catch(() => bad.push(`${unresolved()} application.start calls have not resolved`));
  if (s.errors.length > 0) bad.push(`errors: ${s.errors.map(String).join('; ')}`);
  return bad;
}

describe('dist-ac under a storm of faults (simulated)', () => {
  for (const seed of (process.env.DIST_AC_STORM_SEEDS ?? '1,2,3').split(',').map(Number)) {
    it(`seed ${seed}: after the storm heals, each application runs once, recorded the same everywhere, and every start resolved`, async () => {
      const s = sim(14_100 + seed);
      expect(await storm(s, seed, Number(process.env.DIST_AC_STORM_FAULTS ?? 25))).toEqual([]);
    });
  }
});
