/**
 * `global` as OTP's under faults (issue 13), on the simulated cluster: dead lock holders, one
 * resolution per clash in merges of 2, 3 and 5 sides, registrations waiting for the lock
 * while a node joins (register_1), hidden nodes (names_hidden), slow nodes (timeouts are not
 * nodedowns), bad arguments, and resolver bookkeeping.
 */
import { describe, expect, it } from 'vitest';
import { Pid } from '@rigil/core';
import type { DistNode, Resolver } from '@rigil/net';
import { mesh, settleInto, useSims } from './helpers.js';

const sim = useSims();

function idle(node: DistNode): Pid {
  return node.spawn(async (self) => {
    for (;;) await self.receive();
  });
}

const views = (nodes: readonly DistNode[], name: string): Array<string | undefined> => nodes.map((n) => n.global.whereis(name)?.toString());

describe('locks', () => {
  it('a lock for a holder on an unreachable node is granted and gone at once: no recursion, the name servers live on', async () => {
    const s = sim(201);
    const nodes = await mesh(s, ['a@a', 'b@b', 'c@c']);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    const ghost = new Pid('ghost@nowhere', 7, 1);
    const all = nodes.map((n) => n.name);
    expect(await s.wait(a.global.setLock(['res', 'x'], all, 0, ghost))).toBe(true);
    // Nothing stays behind: another requester gets the lock at once, on every node.
    expect(await s.wait(c.global.setLock(['res', 'y'], all, 0))).toBe(true);
    await s.wait(c.global.delLock(['res', 'y'], all));
    for (const n of nodes) expect(n.global.serverIncarnations).toBe(1);
    // b's replica still follows registrations.
    const p = idle(c);
    expect(await s.wait(a.global.register('after', p))).toBe('yes');
    expect(views(nodes, 'after')).toEqual([p.toString(), p.toString(), p.toString()]);
    expect(b.global.internalSizes().locks).toBe(0);
    expect(s.errors).toEqual([]);
  });

  it('a slow but connected node is waited for, not counted as down: the lock is really held there', async () => {
    const s = sim(202);
    const nodes = await mesh(s, ['a@a', 'b@b', 'c@c'], { tickTime: 120_000 });
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    const all = nodes.map((n) => n.name);
    s.setLatency('a@a', 'c@c', { base: 12_000, jitter: 0 });
    const t0 = s.now;
    expect(await s.wait(a.global.setLock(['slow', 'a'], all, 0), 60_000)).toBe(true);
    expect(s.now - t0).toBeGreaterThanOrEqual(24_000); // c's grant took a round trip of 24 s
    // While a holds it, nobody else gets it on c.
    expect(await s.wait(b.global.setLock(['slow', 'b'], [c.name], 0))).toBe(false);
    await s.wait(a.global.delLock(['slow', 'a'], all), 60_000);
    expect(c.global.internalSizes().locks).toBe(0);
    expect(await s.wait(b.global.setLock(['slow', 'b'], [c.name], 0))).toBe(true);
  });

  it('bad arguments are refused with ERR_BADARG (OTP badarg)', async () => {
    const s = sim(203);
    const [a] = (await mesh(s, ['a@a', 'b@b'])) as [DistNode, DistNode];
    expect(() => a.global.register('x', 'not a pid' as unknown as Pid)).toThrow(expect.objectContaining({ code: 'ERR_BADARG' }));
    expect(() => a.global.reRegister('x', {} as Pid)).toThrow(expect.objectContaining({ code: 'ERR_BADARG' }));
    expect(() => a.global.register('', idle(a))).toThrow(expect.objectContaining({ code: 'ERR_BADARG' }));
    await expect(a.global.setLock(['r', 'x'], [a.name], -1)).rejects.toMatchObject({ code: 'ERR_BADARG' });
    await expect(a.global.setLock(['r', 'x'], [a.name], 'a' as unknown as number)).rejects.toMatchObject({ code: 'ERR_BADARG' });
    await expect(a.global.trans(['r', 'x'], () => 1, [a.name], -1)).rejects.toMatchObject({ code: 'ERR_BADARG' });
    await expect(a.global.trans(['r', 'x'], () => 1, [a.name], 1.5)).rejects.toMatchObject({ code: 'ERR_BADARG' });
    expect(a.global.registeredNames()).toEqual([]);
  });
});

describe('names', () => {
  it('register_1: a registration waiting for the global lock reaches a node that joined meanwhile', async () => {
    for (const seed of [204, 205, 206, 207, 208]) {
      const s = sim(seed);
      const m = await s.startNode({ name: 'm@m', tickTime: 1000 });
      const holder = idle(m);
      expect(await s.wait(m.global.setLock(['global', 'someone'], [m.name], 0, holder))).toBe(true);
      const foo = idle(m);
      let answer: string | undefined;
      void m.global.register('foo', foo).then((r) => (answer = r));
      await s.run(100);
      expect(answer).toBeUndefined();
      const b = await s.startNode({ name: 'b@b', tickTime: 1000, seeds: ['m@m'] });
      await s.runUntil(() => b.nodes().includes('m@m'), 5000, 'b joined');
      await s.run(200);
      await s.wait(m.global.delLock(['global', 'someone'], [m.name], holder));
      await s.runUntil(() => answer !== undefined, 20_000, 'the registration');
      expect(answer).toBe('yes');
      await s.run(5000);
      expect(views([m, b], 'foo'), `seed ${seed}`).toEqual([foo.toString(), foo.toString()]);
      await s.stop();
    }
  });

  it('names_hidden: names registered on a hidden node never appear on visible nodes, and its losses disconnect nobody', async () => {
    const s = sim(209);
    const nodes = await mesh(s, ['a@a', 'b@b']);
    const [a, b] = nodes as [DistNode, DistNode];
    const h = await s.startNode({ name: 'h@h', tickTime: 1000, hidden: true, seeds: ['a@a', 'b@b'] });
    await s.runUntil(() => h.net.isConnected('a@a') && h.net.isConnected('b@b') && a.net.isConnected('h@h') && b.net.isConnected('h@h'), 5000, 'h connected to a and b');
    const onH = idle(h);
    expect(await s.wait(h.global.register('secret', onH))).toBe('yes');
    const onA = idle(a);
    expect(await s.wait(a.global.register('public', onA))).toBe('yes');
    await s.run(3000);
    expect(views([a, b], 'secret')).toEqual([undefined, undefined]);
    expect(h.global.whereis('secret')?.equals(onH)).toBe(true);
    // The hidden node loses a: nobody drops anybody for it.
    s.cut('h@h', 'a@a');
    await s.run(5000);
    expect(a.nodes()).toEqual(['b@b']);
    expect(b.nodes()).toEqual(['a@a']);
    expect(s.errors).toEqual([]);
  });

  it('a function resolver is kept once per name, and dropped with it (no growth per register)', async () => {
    const s = sim(210);
    const [a, b] = (await mesh(s, ['a@a', 'b@b'])) as [DistNode, DistNode];
    const before = a.global.internalSizes();
    for (let i = 0; i < 50; i++) {
      const p = idle(b);
      expect(await s.wait(a.global.register('churn', p, () => undefined))).toBe('yes');
      await s.wait(b.global.unregister('churn'));
    }
    const after = a.global.internalSizes();
    expect(after.resolvers).toBe(before.resolvers);
    expect(after.localFns ?? 0).toBe(0);
    expect(after.names).toBe(0);
  });
});

/** Starts `names`, splits them into `groups`, registers `name` on each group, heals, and settles. */
async function mergeOf(seed: number, names: string[], groups: string[][], resolver?: string): Promise<{ nodes: DistNode[]; pids: Pid[]; downs: Map<string, unknown>; calls: string[] }> {
  const s = sim(seed);
  const nodes = await mesh(s, names);
  const calls: string[] = [];
  if (resolver !== undefined) {
    const fn: Resolver = (n, p1, p2, node) => {
      calls.push(`${node.name}:${n}`);
      const min = p1.node < p2.node ? p1 : p2;
      node.exit(min === p1 ? p2 : p1, 'kill');
      return min;
    };
    for (const n of nodes) n.global.registerResolver(resolver, fn);
  }
  s.partition(groups);
  const byName = new Map(nodes.map((n) => [n.name, n]));
  await settleInto(s, groups.map((g) => g.map((n) => byName.get(n)!)), 20_000);
  const pids: Pid[] = [];
  const downs = new Map<string, unknown>();
  for (const g of groups) {
    const owner = byName.get(g[g.length - 1]!)!;
    const p = idle(owner);
    pids.push(p);
    byName.get(g[0]!)!.monitor(p, { onDown: (_r, reason) => downs.set(p.toString(), reason) });
    expect(await s.wait(byName.get(g[0]!)!.global.register('x', p, resolver ?? 'randomExitName'))).toBe('yes');
  }
  s.healAll();
  await settleInto(s, [nodes], 30_000);
  await s.run(3000);
  return { nodes, pids, downs, calls };
}

describe('merges', () => {
  const sides: Array<[string, string[], string[][]]> = [
    ['2 sides', ['a@a', 'b@b', 'c@c', 'd@d'], [['a@a', 'd@d'], ['b@b', 'c@c']]],
    ['3 sides', ['a@a', 'b@b', 'c@c', 'd@d', 'e@e', 'f@f'], [['a@a', 'f@f'], ['b@b', 'e@e'], ['c@c', 'd@d']]],
    ['5 sides', ['a@a', 'b@b', 'c@c', 'd@d', 'e@e'], [['a@a'], ['b@b'], ['c@c'], ['d@d'], ['e@e']]],
  ];
  for (const [label, names, groups] of sides) {
    it(`${label}: every node keeps the pid on the smallest node, every loser is killed, whatever the seed`, async () => {
      for (const seed of [301, 302, 303]) {
        const { nodes, pids, downs } = await mergeOf(seed, names, groups);
        const winner = pids.reduce((m, p) => (p.node < m.node ? p : m));
        expect(views(nodes, 'x'), `seed ${seed}`).toEqual(nodes.map(() => winner.toString()));
        for (const p of pids) expect(downs.get(p.toString()), `seed ${seed} ${p.toString()}`).toBe(p === winner ? undefined : 'killed');
      }
    });
  }

  it('5 sides with a resolver registered by name on every node: it runs exactly once per clash (4 times)', async () => {
    const { nodes, pids, calls } = await mergeOf(304, ['a@a', 'b@b', 'c@c', 'd@d', 'e@e'], [['a@a'], ['b@b'], ['c@c'], ['d@d'], ['e@e']], 'byNode');
    expect(calls).toHaveLength(4);
    expect(views(nodes, 'x')).toEqual(nodes.map(() => pids[0]!.toString()));
  });

  it('a line of merges (a|b|c|d|e healed one link at a time): one resolution per clash, every loser killed', async () => {
    const s = sim(305);
    const names = ['a@a', 'b@b', 'c@c', 'd@d', 'e@e'];
    const nodes = await mesh(s, names);
    s.partition(names.map((n) => [n]));
    await settleInto(s, nodes.map((n) => [n]), 20_000);
    const downs = new Map<string, unknown>();
    const pids = nodes.map((n) => {
      const p = idle(n);
      n.monitor(p, { onDown: (_r, reason) => downs.set(p.toString(), reason) });
      return p;
    });
    for (const [i, n] of nodes.entries()) expect(await s.wait(n.global.register('x', pids[i]!))).toBe('yes');
    // Heal from the end: e–d, then d–c (and e–c), … so each merge meets a bigger partition.
    for (let i = names.length - 2; i >= 0; i--) {
      for (let j = i + 1; j < names.length; j++) s.heal(names[i]!, names[j]!);
      await settleInto(s, [...nodes.slice(0, i).map((n) => [n]), nodes.slice(i)], 30_000);
      await s.run(2000);
      const want = pids[i]!.toString();
      expect(views(nodes.slice(i), 'x')).toEqual(nodes.slice(i).map(() => want));
    }
    for (const [i, p] of pids.entries()) expect(downs.get(p.toString())).toBe(i === 0 ? undefined : 'killed');
  });
});
