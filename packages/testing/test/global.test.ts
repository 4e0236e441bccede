/**
 * `global` scenarios of packages/net/test/global.test.ts, on the simulated cluster: the real
 * protocol, under virtual time, with partitions made of silent cuts.
 */
import { describe, expect, it } from 'vitest';
import type { DistNode } from '@rigil/net';
import type { Pid } from '@rigil/core';
import { mesh, recorder, settleInto, useSims } from './helpers.js';

const sim = useSims();

function idle(node: DistNode): Pid {
  return node.spawn(async (self) => {
    for (;;) await self.receive();
  });
}

function agree(nodes: readonly DistNode[], name: string): Array<string | undefined> {
  return nodes.map((n) => n.global.whereis(name)?.toString());
}

describe('global on the simulated cluster', () => {
  it('register/whereis/send across 3 nodes; the name goes when its process dies, and when its node crashes', async () => {
    const s = sim(101);
    const nodes = await mesh(s, ['a@a', 'b@b', 'c@c']);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    const r = recorder(b);
    expect(await s.wait(a.global.register('x', r.pid))).toBe('yes');
    // When register returns, every connected node has the name.
    expect(agree(nodes, 'x')).toEqual([r.pid.toString(), r.pid.toString(), r.pid.toString()]);
    expect(await s.wait(c.global.register('x', idle(c)))).toBe('no');
    c.global.send('x', 'hello from c');
    await s.runUntil(() => r.got.length === 1, 100);
    expect(r.got).toEqual(['hello from c']);

    b.exit(r.pid, 'kill');
    await s.runUntil(() => agree(nodes, 'x').every((p) => p === undefined), 100, 'x gone everywhere');

    const onC = idle(c);
    expect(await s.wait(a.global.register('on_c', onC))).toBe('yes');
    s.crash('c@c');
    await s.runUntil(() => agree([a, b], 'on_c').every((p) => p === undefined), 100, 'on_c gone on a and b');
    expect(s.errors).toEqual([]);
  });

  it('three nodes racing to register one name at once: exactly one yes, and every node agrees', async () => {
    const s = sim(102);
    const nodes = await mesh(s, ['a@a', 'b@b', 'c@c']);
    for (let round = 0; round < 5; round++) {
      const name = `race${round}`;
      const pids = nodes.map(idle);
      const answers = await s.wait(Promise.all(nodes.map((n, i) => n.global.register(name, pids[i]!))));
      expect(answers.filter((x) => x === 'yes'), `answers ${answers.join(',')}`).toHaveLength(1);
      const winner = pids[answers.indexOf('yes')]!.toString();
      expect(agree(nodes, name)).toEqual([winner, winner, winner]);
    }
  });

  it('scenario 69: a name registered on both sides of a partition keeps the smaller node\'s pid after the merge (randomExitName), on every node', async () => {
    const s = sim(103);
    const nodes = await mesh(s, ['a@a', 'm@m', 'z@z']);
    const [a, m, z] = nodes as [DistNode, DistNode, DistNode];
    s.partition([['a@a', 'm@m'], ['z@z']]);
    await settleInto(s, [[a, m], [z]]);
    const p1 = idle(a);
    const p2 = idle(z);
    let p2Reason: unknown;
    z.monitor(p2, { onDown: (_r, reason) => (p2Reason = reason) });
    expect(await s.wait(m.global.register('name', p1))).toBe('yes');
    expect(await s.wait(z.global.register('name', p2))).toBe('yes');
    s.healAll();
    await settleInto(s, [nodes]);
    await s.runUntil(() => agree(nodes, 'name').every((p) => p === p1.toString()), 5000, 'every node to keep p1');
    expect(p2Reason).toBe('killed');
    expect(a.isAlive(p1)).toBe(true);
  });
});
