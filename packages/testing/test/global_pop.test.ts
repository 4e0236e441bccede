/**
 * Prevention of overlapping partitions (OTP 25+) under reconnect for life, on the simulated
 * cluster: with a link that stays cut, no node stays connected to both of its ends — checked
 * at many instants over many back-off caps, while every node keeps redialling — and when the
 * cut heals the full mesh re-forms.
 */
import { describe, expect, it } from 'vitest';
import type { DistNode } from '@rigil/net';
import type { Simulation } from '../src/index.js';
import { mesh, settleInto, useSims } from './helpers.js';

const sim = useSims();

/** Nodes connected (in their own view) to both `x` and `y`. */
function bridges(nodes: readonly DistNode[], x: string, y: string): string[] {
  return nodes.filter((n) => !n.stopped && n.nodes().includes(x) && n.nodes().includes(y)).map((n) => n.name);
}

/** Runs `ms` of virtual time in steps of `stepMs`, asserting after each step that no node bridges `x` and `y`. */
async function neverBridged(s: Simulation, nodes: readonly DistNode[], x: string, y: string, ms: number, stepMs = 50): Promise<number> {
  let checks = 0;
  for (let t = 0; t < ms; t += stepMs) {
    await s.run(stepMs);
    expect(bridges(nodes, x, y), `at ${s.now} ms: ${nodes.map((n) => `${n.name}->[${n.nodes().join(' ')}]`).join(' ')}`).toEqual([]);
    checks++;
  }
  return checks;
}

describe('prevent overlapping partitions, re-applied', () => {
  for (const names of [
    ['a@a', 'b@b', 'c@c'],
    ['a@a', 'b@b', 'c@c', 'd@d', 'e@e'],
  ]) {
    it(`${names.length} nodes: a cut a–b that stays cut never leaves a node connected to both, through many back-off caps; healed, the mesh re-forms`, async () => {
      for (const seed of [401, 402]) {
        const s = sim(seed);
        const nodes = await mesh(s, names);
        await s.run(1000);
        s.cut('a@a', 'b@b');
        // The tick timeout (1 s) detects the cut; from then on nobody may bridge it.
        await s.runUntil(() => !nodes[0]!.nodes().includes('b@b') && !nodes[1]!.nodes().includes('a@a'), 5000, 'the cut detected');
        await s.run(500);
        // 30 s = 15 reconnect caps (2 s): every node redials a and b all along.
        expect(await neverBridged(s, nodes, 'a@a', 'b@b', 30_000)).toBe(600);
        // Everybody is somewhere: the third nodes are not all alone for good.
        const others = nodes.slice(2);
        expect(others.some((n) => n.nodes().length > 0)).toBe(true);
        s.healAll();
        await settleInto(s, [nodes], 30_000);
        expect(s.errors).toEqual([]);
        await s.stop();
      }
      // Two seeds × 30 s of virtual faults: ~15 s of CPU, far more on a loaded machine.
    }, 120_000);
  }

  it('a node cut off from one node is not redialled in a storm by the others: their drops do not reset its back-off, and members it hears of in its back-off are not dialled', async () => {
    const s = sim(404);
    const nodes = await mesh(s, ['a@a', 'b@b', 'c@c']);
    await s.run(1000);
    s.cut('a@a', 'c@c');
    await s.runUntil(() => !nodes[0]!.nodes().includes('c@c') && !nodes[2]!.nodes().includes('a@a'), 5000, 'the cut detected');
    await s.run(1000);
    // 10 s with the cut in place: b stays with one end of the cut and drops the other at every
    // connection. Before, that node redialled b every baseMs and dialled at once every member b
    // announced at each nodeup: hundreds of nodeups in 10 s. Now its back-off grows to maxMs.
    const from = s.log.length;
    await s.run(10_000);
    const ups = s.log.slice(from).filter((l) => / nodeup /.test(l)).length;
    expect(ups).toBeGreaterThan(0);
    expect(ups).toBeLessThan(90);
    expect(bridges(nodes, 'a@a', 'c@c')).toEqual([]);
    s.healAll();
    await settleInto(s, [nodes], 30_000);
    expect(s.errors).toEqual([]);
    await s.stop();
  }, 120_000);

  it('a node that restarts with no memory of the cut and reconnects to both sides is told again', async () => {
    const s = sim(403);
    const nodes = await mesh(s, ['a@a', 'b@b', 'c@c']);
    s.cut('a@a', 'b@b');
    await s.runUntil(() => !nodes[0]!.nodes().includes('b@b'), 5000, 'the cut detected');
    await s.run(3000);
    s.crash('c@c');
    await s.run(500);
    const c = await s.restart('c@c');
    const all = [nodes[0]!, nodes[1]!, c];
    // Both a and b redial c; c remembers nothing: a or b re-reports its lost link.
    await s.run(5000);
    expect(await neverBridged(s, all, 'a@a', 'b@b', 20_000)).toBe(400);
    s.healAll();
    await settleInto(s, [all], 30_000);
  });

  it('a hidden node losing a link triggers no disconnect among visible nodes', async () => {
    const s = sim(404);
    const nodes = await mesh(s, ['a@a', 'b@b', 'c@c']);
    const h = await s.startNode({ name: 'h@h', tickTime: 1000, hidden: true, seeds: ['a@a', 'b@b', 'c@c'] });
    await s.runUntil(() => ['a@a', 'b@b', 'c@c'].every((n) => h.net.isConnected(n)), 5000, 'h connected');
    s.cut('h@h', 'a@a');
    s.cut('h@h', 'b@b');
    for (let i = 0; i < 40; i++) {
      await s.run(250);
      for (const n of nodes) expect(n.nodes().length, `${n.name} at ${s.now}`).toBe(2);
    }
  });
});
