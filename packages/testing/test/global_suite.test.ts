/**
 * The `global` conformance scenarios 61–72 (spec conformance-scenarios.md §F) on the simulated
 * cluster: the real protocol under virtual time, partitions made of silent cuts. The
 * real-socket versions are in packages/net/test/global.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { Pid } from '@rigil/core';
import type { DistNode, NameConflict, Resolver } from '@rigil/net';
import { mesh, recorder, settleInto, useSims } from './helpers.js';

const sim = useSims();

const show = (p: Pid | undefined): string | undefined => p?.toString();
const views = (nodes: readonly DistNode[], name: string): Array<string | undefined> => nodes.map((n) => show(n.global.whereis(name)));
const everywhere = (nodes: readonly DistNode[], p: Pid | undefined): Array<string | undefined> => nodes.map(() => show(p));

describe('§F names (61–64, 66)', () => {
  it('61: all-or-nothing names that follow their process and node; 62: one name per pid; 63: send to unknown', async () => {
    const s = sim(501);
    const nodes = await mesh(s, ['a@a', 'b@b', 'c@c', 'd@d']);
    const [a, b, c, d] = nodes as [DistNode, DistNode, DistNode, DistNode];
    const p = recorder(a);
    expect(await s.wait(a.global.register('test', p.pid))).toBe('yes');
    expect(views(nodes, 'test')).toEqual(everywhere(nodes, p.pid));
    expect(await s.wait(d.global.register('test', recorder(d).pid))).toBe('no');
    expect(await s.wait(b.global.register('n2', p.pid))).toBe('no');
    expect(c.global.send('test', 'hi').equals(p.pid)).toBe(true);
    await s.runUntil(() => p.got.length === 1, 100);
    const q = recorder(c);
    expect(await s.wait(b.global.reRegister('test', q.pid))).toBe('yes');
    expect(views(nodes, 'test')).toEqual(everywhere(nodes, q.pid));
    expect(await s.wait(b.global.reRegister('n2', p.pid))).toBe('yes');
    await s.wait(d.global.unregister('test'));
    expect(views(nodes, 'test')).toEqual(everywhere(nodes, undefined));
    expect(() => a.global.send('nope', 'm')).toThrow(expect.objectContaining({ code: 'ERR_GLOBAL_NOT_REGISTERED', reason: { badarg: ['nope', 'm'] } }));
    a.exit(p.pid, 'bye');
    await s.runUntil(() => views(nodes, 'n2').every((v) => v === undefined), 1000, 'n2 gone with its process');
    const onC = recorder(c);
    expect(await s.wait(a.global.register('on_c', onC.pid))).toBe('yes');
    await s.stopNode('c@c');
    await s.runUntil(() => views([a, b, d], 'on_c').every((v) => v === undefined), 1000, 'on_c gone with c');
  });

  it('64: reRegister moves the name servers\' monitors; 66: names and locks die with their owner', async () => {
    const s = sim(502);
    const nodes = await mesh(s, ['a@a', 'b@b', 'c@c']);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    const p1 = recorder(a).pid;
    const p2 = recorder(b).pid;
    expect(await s.wait(c.global.register('name', p1))).toBe('yes');
    expect(await s.wait(c.global.reRegister('name', p2))).toBe('yes');
    for (const n of nodes) expect(n.global.monitoredPids().map(String)).toEqual([p2.toString()]);
    const owner = recorder(b).pid;
    const all = nodes.map((n) => n.name);
    expect(await s.wait(a.global.register('test3', owner))).toBe('yes');
    expect(await s.wait(a.global.setLock(['owned', 'o'], all, 0, owner))).toBe(true);
    c.exit(owner, 'kill');
    await s.runUntil(() => views(nodes, 'test3').every((v) => v === undefined) && nodes.every((n) => n.global.internalSizes().locks === 0), 1000, 'name and lock gone');
    expect(await s.wait(c.global.setLock(['owned', 'x'], all, 0))).toBe(true);
  });
});

describe('§F locks (65, 67)', () => {
  it('65: set/del, refused to others, freed by holder death and node stop, disjoint sets; 67: trans', async () => {
    const s = sim(503);
    const nodes = await mesh(s, ['a@a', 'b@b', 'c@c']);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    const all = nodes.map((n) => n.name);
    const me = recorder(a).pid;
    expect(await s.wait(a.global.setLock(['test_lock', 'me'], all, 1, me))).toBe(true);
    expect(await s.wait(b.global.setLock(['test_lock', 'other'], all, 0))).toBe(false);
    let got = false;
    void b.global.setLock(['test_lock', 'looper'], all).then((r) => (got = r));
    await s.run(500);
    expect(got).toBe(false);
    await s.wait(a.global.delLock(['test_lock', 'me'], all, me));
    const t0 = s.now;
    await s.runUntil(() => got, 12_000, 'the looping setter');
    expect(s.now - t0).toBeLessThan(12_000);
    await s.wait(b.global.delLock(['test_lock', 'looper'], all));
    expect(await s.wait(a.global.setLock(['res', 'r1'], [a.name, b.name], 0))).toBe(true);
    expect(await s.wait(c.global.setLock(['res', 'r2'], [c.name], 0))).toBe(true);
    expect(await s.wait(c.global.setLock(['res', 'r3'], [b.name, c.name], 0))).toBe(false);
    expect(await s.wait(a.global.trans(['t', 'me'], () => 42, all, 0))).toBe(42);
    await expect(s.wait(a.global.trans(['t', 'me'], () => {
      throw new Error('boom');
    }, all, 0))).rejects.toThrow('boom');
    expect(await s.wait(b.global.setLock(['t', 'other'], all, 0))).toBe(true);
    expect(await s.wait(a.global.trans(['t', 'me'], () => 1, all, 0))).toBe('aborted');
    expect(await s.wait(c.global.setLock(['held_by_c', 'c'], all, 0))).toBe(true);
    await s.stopNode('c@c');
    // c's nodedown reaches a and b a moment later: a few tries.
    expect(await s.wait(a.global.setLock(['held_by_c', 'a'], [a.name, b.name], 5))).toBe(true);
    // No merge lock is left behind: the global lock is free everywhere.
    await s.run(5000);
    expect(await s.wait(a.global.setLock(['global', 'probe'], [a.name, b.name], 0))).toBe(true);
  });
});

describe('§F merges (66, 68–70)', () => {
  async function split(seed: number): Promise<{ s: ReturnType<typeof sim>; nodes: DistNode[]; a: DistNode; m: DistNode; y: DistNode; z: DistNode }> {
    const s = sim(seed);
    const nodes = await mesh(s, ['a@a', 'm@m', 'y@y', 'z@z']);
    const [a, m, y, z] = nodes as [DistNode, DistNode, DistNode, DistNode];
    s.partition([['a@a', 'm@m'], ['y@y', 'z@z']]);
    await settleInto(s, [[a, m], [y, z]]);
    return { s, nodes, a, m, y, z };
  }

  for (const outcome of ['own', 'other', 'none', 'bad answer', 'throws'] as const) {
    it(`68: the smaller side's resolver runs once, where its pid lives — it ${outcome === 'throws' ? 'throws' : `returns ${outcome}`}`, async () => {
      const { s, nodes, m, y } = await split(510);
      const calls: string[] = [];
      const resolver: Resolver = (_n, other, own, node) => {
        calls.push(node.name);
        if (outcome === 'throws') throw new Error('resolver failed');
        return outcome === 'own' ? own : outcome === 'other' ? other : outcome === 'bad answer' ? ('bad' as unknown as Pid) : undefined;
      };
      const p1 = recorder(m).pid;
      const p2 = recorder(y).pid;
      expect(await s.wait(m.global.register('name', p1, resolver))).toBe('yes');
      expect(await s.wait(y.global.register('name', p2, () => {
        calls.push('other side');
        return undefined;
      }))).toBe('yes');
      s.healAll();
      await settleInto(s, [nodes], 20_000);
      await s.run(2000);
      // OTP: a raise is caught and, like none or a bad answer, unregisters the name.
      const keep = outcome === 'own' ? p1 : outcome === 'other' ? p2 : undefined;
      expect(views(nodes, 'name')).toEqual(everywhere(nodes, keep));
      expect(calls).toEqual(['m@m']);
      for (const n of nodes) expect(n.global.monitoredPids().length).toBe(keep === undefined ? 0 : 1);
    });
  }

  it('66 (name_die): a name registered on one side, and one pid registered on both sides, survive a merge without a resolver', async () => {
    const { s, nodes, a, z } = await split(511);
    let calls = 0;
    const spy: Resolver = () => {
      calls++;
      return undefined;
    };
    const lone = recorder(z).pid;
    const same = recorder(a).pid;
    expect(await s.wait(z.global.register('lone', lone, spy))).toBe('yes');
    expect(await s.wait(a.global.register('same', same, spy))).toBe('yes');
    expect(await s.wait(z.global.register('same', same, spy))).toBe('yes');
    s.healAll();
    await settleInto(s, [nodes], 20_000);
    await s.run(2000);
    expect(views(nodes, 'lone')).toEqual(everywhere(nodes, lone));
    expect(views(nodes, 'same')).toEqual(everywhere(nodes, same));
    expect(calls).toBe(0);
  });

  it('69: randomExitName kills the larger node\'s pid; randomNotifyName notifies it; notifyAllName notifies both and unregisters', async () => {
    const { s, nodes, a, z } = await split(512);
    const exitP1 = recorder(a);
    const exitP2 = recorder(z);
    let reason: unknown;
    z.monitor(exitP2.pid, { onDown: (_r, why) => (reason = why) });
    const n1 = recorder(a);
    const n2 = recorder(z);
    const all1 = recorder(a);
    const all2 = recorder(z);
    for (const [node, p, n, r] of [[a, exitP1, 'exit', 'randomExitName'], [z, exitP2, 'exit', 'randomExitName'], [a, n1, 'notify', 'randomNotifyName'], [z, n2, 'notify', 'randomNotifyName'], [a, all1, 'all', 'notifyAllName'], [z, all2, 'all', 'notifyAllName']] as const) {
      expect(await s.wait(node.global.register(n, p.pid, r))).toBe('yes');
    }
    s.healAll();
    await settleInto(s, [nodes], 20_000);
    await s.run(2000);
    expect(reason).toBe('killed');
    expect(views(nodes, 'exit')).toEqual(everywhere(nodes, exitP1.pid));
    expect(views(nodes, 'notify')).toEqual(everywhere(nodes, n1.pid));
    expect(n2.got).toEqual([{ tag: 'global_name_conflict', name: 'notify' } satisfies NameConflict]);
    expect(n1.got).toEqual([]);
    expect(views(nodes, 'all')).toEqual(everywhere(nodes, undefined));
    expect((all1.got[0] as NameConflict).other?.equals(all2.pid)).toBe(true);
    expect((all2.got[0] as NameConflict).other?.equals(all1.pid)).toBe(true);
  });
});

describe('§F overlapping partitions (71, 72)', () => {
  it('71: with the default, cutting T from cp2 cuts cp1 from cp2 too, and the original name survives on T\'s side', async () => {
    const s = sim(520);
    const nodes = await mesh(s, ['t@t', 'cp1@cp1', 'cp2@cp2']);
    const [t, cp1, cp2] = nodes as [DistNode, DistNode, DistNode];
    const gurka = recorder(t).pid;
    expect(await s.wait(t.global.register('gurka', gurka))).toBe('yes');
    s.cut('t@t', 'cp2@cp2');
    await s.runUntil(() => !cp1.nodes().includes('cp2@cp2') && !cp2.nodes().includes('cp1@cp1') && cp2.nodes().length === 0, 10_000, 'cp2 alone');
    expect(s.log.some((l) => l.includes('to prevent overlapping partitions'))).toBe(true);
    await s.runUntil(() => cp2.global.whereis('gurka') === undefined, 5000, 'gurka free on cp2');
    expect(await s.wait(cp2.global.register('gurka', recorder(cp2).pid))).toBe('yes');
    await s.stopNode('cp2@cp2');
    await settleInto(s, [[t, cp1]], 20_000);
    expect(views([t, cp1], 'gurka')).toEqual([gurka.toString(), gurka.toString()]);
  });

  it('72: without prevention, an unregister on one side of an overlap is undone by the merge (old OTP behaviour)', async () => {
    const s = sim(521);
    const nodes = await mesh(s, ['a@a', 'b@b', 'c@c'], { global: { preventOverlappingPartitions: false } });
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    const holder = recorder(a).pid;
    expect(await s.wait(a.global.register('test', holder))).toBe('yes');
    s.cut('b@b', 'c@c');
    await s.runUntil(() => !b.nodes().includes('c@c') && !c.nodes().includes('b@b'), 5000, 'b–c cut');
    expect(a.nodes().sort()).toEqual(['b@b', 'c@c']);
    await s.wait(b.global.unregister('test'));
    expect(views([a, b], 'test')).toEqual([undefined, undefined]);
    expect(views([c], 'test')).toEqual([holder.toString()]);
    s.healAll();
    await settleInto(s, [nodes], 20_000);
    await s.runUntil(() => views(nodes, 'test').every((v) => v === holder.toString()), 10_000, 'the name back everywhere');
  });
});
