/**
 * Guide "Testing with the simulated cluster" (docs/guides/testing-with-the-simulated-cluster.md):
 * the toliman application of the handover guide, tested on @rigil/testing's simulated cluster —
 * crash, failover, restart, takeover with the state handed over, a partition and its heal — for
 * several seeds; and the fault explorer. Run: `npx vitest run`.
 */
import { describe, expect, it } from 'vitest';
import { genServer } from '@rigil/core';
import { distAcOf, type KernelConfig } from '@rigil/dist-ac';
import type { DistNode } from '@rigil/net';
import { Simulation, explore } from '@rigil/testing';
import { centauri } from '../src/centauri.js';
import type { ProximaState } from '../src/proxima.js';
import { proxima } from '../src/proxima_app.js';

// #region cluster
const names = ['a@a', 'b@b', 'c@c'];
const kernel: KernelConfig = {
  distributed: [{ application: 'proxima', timeout: 1000, nodes: names }],
  syncNodesOptional: names,
  syncNodesTimeout: 1000,
};

/** Boots node `name` as `rigil start` would: load both applications, start centauri. */
async function boot(sim: Simulation, name: string, again = false): Promise<DistNode> {
  const node = again
    ? await sim.restart(name) // a new incarnation (a new creation), with the first start's options
    : await sim.startNode({ name, tickTime: 1000, seeds: names.filter((n) => n !== name), kernel, apps: [proxima, centauri] });
  // It resolves once proxima is placed, which needs the simulation to run: don't await it here.
  void node.application.start('centauri');
  return node;
}

/** Where proxima runs according to `node` (a local lookup: no network, no waiting). */
const placedOn = (node: DistNode): string | null => distAcOf(node).info('proxima').node;
/** The state of the proxima on `on`, asked from `from` over the simulated network. */
const stateOf = (sim: Simulation, from: DistNode, on: string): Promise<ProximaState> =>
  sim.wait(genServer.call(from, ['proxima', on], 'getState'));
// #endregion cluster

describe('toliman on the simulated cluster', () => {
  // #region failover
  // Each seed is another interleaving of the same story; a failing seed replays exactly.
  it.each([1, 2, 3, 4, 5])('seed %i: failover after a crash, takeover with the state on restart', async (seed) => {
    const sim = new Simulation({ seed });
    try {
      const [a, b, c] = [await boot(sim, 'a@a'), await boot(sim, 'b@b'), await boot(sim, 'c@c')] as [DistNode, DistNode, DistNode];
      await sim.runUntil(() => placedOn(b) === 'a@a' && placedOn(c) === 'a@a', 10_000);
      await sim.runUntil(() => a.whereis('centauri') !== undefined && c.whereis('centauri') !== undefined, 10_000);
      expect((await stateOf(sim, b, 'a@a')).served).toEqual(['a@a']);

      sim.crash('a@a'); // kill -9
      const t0 = sim.now;
      await sim.runUntil(() => placedOn(b) === 'b@b' && placedOn(c) === 'b@b', 10_000);
      expect(sim.now - t0).toBeGreaterThanOrEqual(1000); // the failover timeout, in virtual ms
      await sim.runUntil(() => c.whereis('centauri') !== undefined, 10_000);

      const a2 = await boot(sim, 'a@a', true);
      await sim.runUntil(() => placedOn(b) === 'a@a' && placedOn(a2) === 'a@a' && b.whereis('proxima') === undefined, 15_000);
      expect((await stateOf(sim, c, 'a@a')).served).toEqual(['b@b', 'a@a']); // handed over from b
    } finally {
      await sim.stop();
    }
  });
  // #endregion failover

  // #region partition
  it('a partition runs proxima on both sides (no quorum); the heal keeps one, on a', async () => {
    const sim = new Simulation({ seed: 7 });
    try {
      const [a, b, c] = [await boot(sim, 'a@a'), await boot(sim, 'b@b'), await boot(sim, 'c@c')] as [DistNode, DistNode, DistNode];
      await sim.runUntil(() => [a, b, c].every((n) => placedOn(n) === 'a@a'), 10_000);

      sim.partition([['a@a'], ['b@b', 'c@c']]);
      await sim.runUntil(() => b.whereis('proxima') !== undefined, 10_000);
      expect(a.whereis('proxima')).toBeDefined(); // two instances: OTP's behaviour without a quorum

      sim.healAll();
      await sim.runUntil(() => [a, b, c].every((n) => n.nodes().length === 2) && b.whereis('proxima') === undefined, 15_000);
      expect(a.whereis('proxima')).toBeDefined();
      expect(sim.errors).toEqual([]); // no exception escaped rigil code
    } finally {
      await sim.stop();
    }
  });
  // #endregion partition

  // #region explore
  it("the fault explorer: 3 nodes, 20 faults of the 'apps' workload, every invariant holds", async () => {
    const r = await explore({ seed: 3, nodes: 3, faults: 20, workload: 'apps' });
    expect(r.violation).toBeUndefined();
  });
  // #endregion explore
});
