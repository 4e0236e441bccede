/**
 * dist-ac scenarios of packages/dist-ac/test/dist_ac.test.ts, on the simulated cluster:
 * failover after a crash waits exactly the configured timeout of virtual time, and a restarted
 * better node takes the application over.
 */
import { describe, expect, it } from 'vitest';
import type { KernelConfig } from '@rigil/dist-ac';
import type { DistNode } from '@rigil/net';
import { app, runners, useSims, type Start } from './helpers.js';

const sim = useSims();
const [A, B, C] = ['a@a', 'b@b', 'c@c'];
const kernel: KernelConfig = {
  distributed: [{ application: 'p', timeout: 1000, nodes: [A, B, C] }],
  syncNodesOptional: [A, B, C],
  syncNodesTimeout: 2000,
};

describe('dist-ac on the simulated cluster', () => {
  it('41/59: when the running node crashes, the next node starts the app exactly `timeout` after its nodedown', async () => {
    const s = sim(201);
    const starts: Start[] = [];
    const nodes: DistNode[] = [];
    for (const [i, name] of [A, B, C].entries()) nodes.push(await s.startNode({ name, tickTime: 1000, seeds: [A, B, C].slice(0, i), kernel, apps: [app('p', starts)] }));
    const [, b, c] = nodes as [DistNode, DistNode, DistNode];
    expect(await s.wait(Promise.all(nodes.map((n) => n.application.start('p'))))).toEqual(['ok', 'ok', 'ok']);
    await s.runUntil(() => runners(nodes, 'p').join() === A && b.application.whereRunning('p') === A && c.application.whereRunning('p') === A, 5000);

    let down: number | undefined;
    b.onNodeEvent((e) => {
      if (e.type === 'nodedown' && e.node === A) down ??= s.now;
    });
    s.crash(A);
    await s.runUntil(() => runners([b, c], 'p').length === 1, 5000, 'failover');
    expect(runners([b, c], 'p')).toEqual([B]);
    const failover = starts.find((x) => x.node === B)!;
    expect(down).toBeDefined();
    expect(failover.at - down!).toBeGreaterThanOrEqual(1000);
    expect(failover.at - down!).toBeLessThan(1100);
    await s.runUntil(() => c.application.whereRunning('p') === B, 1000);
    expect(s.errors).toEqual([]);
  });

  it('42: a restarted better node takes the app over when it calls start', async () => {
    const s = sim(202);
    const starts: Start[] = [];
    const nodes: DistNode[] = [];
    for (const [i, name] of [A, B, C].entries()) nodes.push(await s.startNode({ name, tickTime: 1000, seeds: [A, B, C].slice(0, i), kernel, apps: [app('p', starts)] }));
    const [, b, c] = nodes as [DistNode, DistNode, DistNode];
    await s.wait(Promise.all(nodes.map((n) => n.application.start('p'))));
    await s.runUntil(() => runners(nodes, 'p').join() === A, 5000);
    s.crash(A);
    await s.runUntil(() => runners([b, c], 'p').join() === B, 5000, 'failover to B');

    const a2 = await s.restart(A, { seeds: [B, C] });
    await s.runUntil(() => a2.nodes().length === 2, 5000, 'the restarted A to join');
    expect(await s.wait(a2.application.start('p'))).toBe('ok');
    // When start returns the new instance runs on A, started as a takeover from B.
    expect(a2.application.whereRunning('p')).toBe('local');
    expect(starts.filter((x) => x.node === A).at(-1)!.type).toEqual({ takeover: B });
    const live = [a2, b, c];
    await s.runUntil(() => runners(live, 'p').join() === A && live.every((n) => n === a2 || n.application.whereRunning('p') === A), 5000, 'p on A only');
    expect(s.errors).toEqual([]);
  });
});
