/**
 * dist-ac with a quorum (issue 15), on the simulated cluster: who keeps the application in
 * 2/3, 3/5 and 2+2 splits, the minority stops within its bound and before the majority starts
 * (no instant with two instances), epochs grow across every move and are agreed by a
 * majority, a frozen node that thaws stops its instance before anything else, the quorum
 * coming back places it again.
 */
import { describe, expect, it } from 'vitest';
import { supervisor, type ApplicationSpec, type Node, type Process, type StartType } from '@rigil/core';
import { currentEpoch, distAcOf, type KernelConfig } from '@rigil/dist-ac';
import type { DistNode } from '@rigil/net';
import { runners, useSims } from './helpers.js';
import type { Simulation } from '../src/index.js';

const sim = useSims();
const TICK = 1000;

/** One instance: where, when it started and stopped (virtual ms), with which epoch. */
interface Instance {
  readonly node: string;
  readonly type: StartType;
  readonly epoch: number;
  readonly from: number;
  to: number | undefined;
}

/** An application whose instances are recorded in `log` (from the start of `start` to the end of `stop`). */
function recorded(name: string, log: Instance[], prepStopMs = 0): ApplicationSpec {
  const sup: supervisor.SupervisorBehaviour<undefined> = { init: () => ({ flags: { strategy: 'one_for_all', intensity: 0, period: 1 }, children: [] }) };
  const live = new Map<string, Instance>();
  return {
    name,
    version: '1.0.0',
    mod: {
      start: async (type: StartType, _a: unknown, self: Process) => {
        const inst: Instance = { node: self.node.name, type, epoch: currentEpoch(self, name), from: self.node.clock.now(), to: undefined };
        log.push(inst);
        live.set(self.node.name, inst);
        const r = await supervisor.startLink(self, sup, undefined);
        return typeof r === 'object' && 'ok' in r ? { ok: r.ok, state: self.node } : r;
      },
      prepStop: async (node: unknown) => {
        if (prepStopMs > 0) await (node as Node).delay(prepStopMs);
        return node;
      },
      stop: (node: unknown) => {
        const inst = live.get((node as Node).name);
        if (inst !== undefined) inst.to = (node as Node).clock.now();
      },
    },
  };
}

async function cluster(s: Simulation, names: readonly string[], kernel: KernelConfig, spec: ApplicationSpec): Promise<DistNode[]> {
  const nodes: DistNode[] = [];
  for (const [i, name] of names.entries()) nodes.push(await s.startNode({ name, tickTime: TICK, seeds: names.slice(0, i), kernel, apps: [spec] }));
  await s.runUntil(() => nodes.every((n) => n.nodes().length === names.length - 1), 10_000, 'the full mesh');
  await s.wait(Promise.all(nodes.map((n) => n.application.start(spec.name))));
  return nodes;
}

function kernelOf(names: readonly string[], o: { timeout?: number; quorum?: 'majority' | number } = {}): KernelConfig {
  return { distributed: [{ application: 'p', timeout: o.timeout ?? 0, nodes: [...names], quorum: o.quorum ?? 'majority' }], syncNodesOptional: [...names], syncNodesTimeout: 2000 };
}

/** Two instances on different nodes alive at the same virtual instant (a takeover's overlap with its old node excluded). */
function overlaps(log: readonly Instance[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < log.length; i++) {
    for (let j = i + 1; j < log.length; j++) {
      const [x, y] = [log[i]!, log[j]!];
      if (x.node === y.node) continue;
      const takeover = (a: Instance, b: Instance): boolean => typeof b.type === 'object' && 'takeover' in b.type && b.type.takeover === a.node;
      if (takeover(x, y) || takeover(y, x)) continue;
      if (x.from < (y.to ?? Infinity) && y.from < (x.to ?? Infinity)) out.push(`${x.node}[${x.from}–${x.to ?? '…'}] and ${y.node}[${y.from}–${y.to ?? '…'}]`);
    }
  }
  return out;
}

function strictlyIncreasing(log: readonly Instance[]): boolean {
  return log.every((x, i) => i === 0 || x.epoch > log[i - 1]!.epoch);
}

describe('dist-ac quorum (simulated)', () => {
  it("2/3: the minority runner stops within downAfter + tickTime of the cut, the majority starts only after that, with a newer epoch; the heal keeps the majority's instance", async () => {
    const s = sim(1501);
    const names = ['a@a', 'b@b', 'c@c'];
    const log: Instance[] = [];
    const nodes = await cluster(s, names, kernelOf(names), recorded('p', log, 100));
    await s.runUntil(() => runners(nodes, 'p').join() === 'a@a', 5000);
    const cutAt = s.now;
    s.partition([['a@a'], ['b@b', 'c@c']]);
    await s.runUntil(() => runners(nodes, 'p').join() === 'b@b' && log.at(-1)?.node === 'b@b', 10_000, 'p on b');
    const a = log[0]!;
    const b = log.at(-1)!;
    // The minority stopped within its bound (downAfter = tickTime/4, detection ≤ tickTime, the stop's 100 ms).
    expect(a.to).toBeDefined();
    expect(a.to! - cutAt).toBeLessThanOrEqual(TICK + TICK / 4 + 100 + 50);
    expect(b.from).toBeGreaterThan(a.to!);
    expect(b.epoch).toBeGreaterThan(a.epoch);
    expect(distAcOf(nodes[0]!).info('p').history.at(-1)).toMatchObject({ node: null, cause: 'stopped', reason: 'quorum lost', epoch: a.epoch });
    // The minority could not place it.
    await s.run(5000);
    expect(log.filter((x) => x.node === 'a@a')).toHaveLength(1);
    s.healAll();
    await s.runUntil(() => nodes.every((n) => n.nodes().length === 2), 10_000);
    await s.run(3000);
    expect(runners(nodes, 'p')).toEqual(['b@b']);
    expect(overlaps(log)).toEqual([]);
    expect(strictlyIncreasing(log)).toBe(true);
  });

  it('2/3 with the runner in the majority: it keeps running, the minority never starts it', async () => {
    const s = sim(1502);
    const names = ['a@a', 'b@b', 'c@c'];
    const log: Instance[] = [];
    const nodes = await cluster(s, names, kernelOf(names), recorded('p', log));
    await s.runUntil(() => runners(nodes, 'p').join() === 'a@a', 5000);
    s.partition([['a@a', 'b@b'], ['c@c']]);
    await s.run(8000);
    expect(log.map((x) => x.node)).toEqual(['a@a']);
    expect(log[0]!.to).toBeUndefined();
    expect(distAcOf(nodes[2]!).hasQuorum('p')).toBe(false);
  });

  it('3/5: the three keep it (the better of them places it), the two stop theirs', async () => {
    const s = sim(1503);
    const names = ['a@a', 'b@b', 'c@c', 'd@d', 'e@e'];
    const log: Instance[] = [];
    const nodes = await cluster(s, names, kernelOf(names, { timeout: 200 }), recorded('p', log));
    await s.runUntil(() => runners(nodes, 'p').join() === 'a@a', 5000);
    s.partition([['a@a', 'b@b'], ['c@c', 'd@d', 'e@e']]);
    await s.runUntil(() => runners(nodes, 'p').join() === 'c@c', 15_000, 'p on c');
    await s.run(5000);
    expect(runners(nodes, 'p')).toEqual(['c@c']);
    expect(log.map((x) => x.node)).toEqual(['a@a', 'c@c']);
    expect(overlaps(log)).toEqual([]);
    expect(strictlyIncreasing(log)).toBe(true);
  });

  it('2+2 (four nodes, majority 3): neither side keeps it; the heal places it again with a newer epoch', async () => {
    const s = sim(1504);
    const names = ['a@a', 'b@b', 'c@c', 'd@d'];
    const log: Instance[] = [];
    const nodes = await cluster(s, names, kernelOf(names), recorded('p', log));
    await s.runUntil(() => runners(nodes, 'p').join() === 'a@a', 5000);
    s.partition([['a@a', 'b@b'], ['c@c', 'd@d']]);
    await s.runUntil(() => runners(nodes, 'p').length === 0, 5000, 'p stopped');
    await s.run(6000);
    expect(runners(nodes, 'p')).toEqual([]);
    expect(log).toHaveLength(1);
    s.healAll();
    await s.runUntil(() => runners(nodes, 'p').join() === 'a@a', 15_000, 'p back on a');
    expect(log).toHaveLength(2);
    expect(log[1]!.epoch).toBeGreaterThan(log[0]!.epoch);
    await s.runUntil(() => nodes.every((n) => distAcOf(n).info('p').node === 'a@a'), 5000, 'every record names a');
  });

  it('a static quorum of 2 of 4 keeps it on both sides of a 2+2 split (epochs still differ)', async () => {
    const s = sim(1505);
    const names = ['a@a', 'b@b', 'c@c', 'd@d'];
    const log: Instance[] = [];
    const nodes = await cluster(s, names, kernelOf(names, { quorum: 2 }), recorded('p', log));
    await s.runUntil(() => runners(nodes, 'p').join() === 'a@a', 5000);
    s.partition([['a@a', 'b@b'], ['c@c', 'd@d']]);
    await s.runUntil(() => runners(nodes, 'p').length === 2, 10_000, 'p on both sides');
    expect(runners(nodes, 'p').sort()).toEqual(['a@a', 'c@c']);
    expect(new Set(log.map((x) => x.epoch)).size).toBe(log.length);
  });

  it('epochs grow across failover, takeover and permit moves with a quorum', async () => {
    const s = sim(1506);
    const names = ['a@a', 'b@b', 'c@c'];
    const log: Instance[] = [];
    const nodes = await cluster(s, names, kernelOf(names), recorded('p', log));
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    await s.runUntil(() => runners(nodes, 'p').join() === 'a@a', 5000);
    expect(await s.wait(c.application.takeover('p', 'permanent'))).toBe('ok');
    await s.runUntil(() => runners(nodes, 'p').join() === 'c@c', 5000);
    expect(await s.wait(c.application.permit('p', false))).toBe('ok');
    await s.runUntil(() => runners(nodes, 'p').join() === 'a@a', 5000);
    const crashAt = s.now;
    s.crash('a@a');
    log[2]!.to = crashAt;
    await s.runUntil(() => runners([b, c], 'p').join() === 'b@b', 10_000, 'failover to b');
    expect(log.map((x) => x.node)).toEqual(['a@a', 'c@c', 'a@a', 'b@b']);
    expect(strictlyIncreasing(log)).toBe(true);
    expect(overlaps(log)).toEqual([]);
    // A crash closes the socket without a goodbye: the failover does not wait for a quorum loss on the dead side.
    expect(log[3]!.from - crashAt).toBeLessThan(TICK / 4);
    expect(a.stopped).toBe(false);
  });

  it('a frozen runner that thaws after the majority failed it over stops its instance at once', async () => {
    const s = sim(1507);
    const names = ['a@a', 'b@b', 'c@c'];
    const log: Instance[] = [];
    const nodes = await cluster(s, names, kernelOf(names), recorded('p', log));
    await s.runUntil(() => runners(nodes, 'p').join() === 'a@a', 5000);
    s.freeze('a@a');
    await s.runUntil(() => log.at(-1)?.node === 'b@b', 10_000, 'failover to b');
    const failedOverAt = log.at(-1)!.from;
    // a's instance stopped only after the cut; it was frozen throughout (not an instant with two on non-frozen nodes).
    expect(log[0]!.to).toBeUndefined();
    s.thaw('a@a');
    const thawedAt = s.now;
    await s.runUntil(() => log[0]!.to !== undefined, 2000, "a's instance stopped");
    expect(log[0]!.to! - thawedAt).toBeLessThanOrEqual(50);
    expect(distAcOf(nodes[0]!).info('p').history.some((m) => m.cause === 'stopped' && (m.reason ?? '').includes('did not run'))).toBe(true);
    await s.run(5000);
    expect(runners(nodes, 'p')).toEqual(['b@b']);
    expect(log[1]!.epoch).toBeGreaterThan(log[0]!.epoch);
    expect(failedOverAt).toBeLessThanOrEqual(thawedAt);
  });

  it('a minority cannot mint a newer epoch: its promise round finds no quorum', async () => {
    const s = sim(1508);
    const names = ['a@a', 'b@b', 'c@c'];
    const log: Instance[] = [];
    const nodes = await cluster(s, names, kernelOf(names), recorded('p', log));
    await s.runUntil(() => runners(nodes, 'p').join() === 'a@a', 5000);
    s.partition([['a@a'], ['b@b', 'c@c']]);
    await s.runUntil(() => runners(nodes, 'p').join() === 'b@b', 10_000);
    const before = distAcOf(nodes[0]!).maxEpochOf('p');
    // An explicit takeover on the minority node is refused.
    expect(await s.wait(nodes[0]!.application.takeover('p', 'permanent'))).toEqual({ error: { notRunningDistributed: 'p' } });
    expect(distAcOf(nodes[0]!).maxEpochOf('p')).toBe(before);
    expect(log.map((x) => x.node)).toEqual(['a@a', 'b@b']);
  });

  it('a quorum timer that fires late (the node stalled before it was due) fences as a resume (apps-quorum seed 13)', async () => {
    // Seed 13: c lost its quorum, armed the downAfter timer, and stalled for ~3 s before it
    // was due; the late timer's stop was a 'quorum' stop, not a 'resume' one, so the instance —
    // which a majority had failed over meanwhile — counted as running unfrozen next to the new one.
    const s = sim(1509);
    const names = ['a@a', 'b@b', 'c@c'];
    const log: Instance[] = [];
    const nodes = await cluster(s, names, kernelOf(names), recorded('p', log, 100));
    await s.runUntil(() => runners(nodes, 'p').join() === 'a@a', 5000);
    const dac = distAcOf(nodes[0]!);
    s.partition([['a@a'], ['b@b', 'c@c']]);
    await s.runUntil(() => dac.info('p').quorum?.lostSince === true, 5000, "a's downAfter timer");
    // Stall just before the timer is due (downAfter = tickTime / 4): the periodic check (every
    // tickTime / 4) has then run for the last time before it, so at the end of the stall the
    // downAfter timer is the first to fire.
    await s.run(TICK / 4 - 1);
    expect(dac.fencingOf('p')).toBeUndefined();
    s.stall('a@a', 3 * TICK);
    await s.runUntil(() => dac.fencingOf('p') !== undefined, 10_000, 'a fences p');
    expect(dac.fencingOf('p')).toBe('resume');
    await s.runUntil(() => log[0]!.to !== undefined, 2000, "a's instance stopped");
    expect(dac.info('p').history.some((m) => m.cause === 'stopped' && (m.reason ?? '').includes('did not run'))).toBe(true);
  });

  it('an instance still in its start phases is stopped downAfter after its node loses the quorum (apps-quorum seed 16)', async () => {
    // Seed 16: e's start of ctr waited in its go phase (on global, across a cut) when e lost its
    // quorum; the downAfter timer was armed only for a started instance, so the start ran on.
    const s = sim(1510);
    const names = ['a@a', 'b@b', 'c@c'];
    let phasePid: Process['pid'] | undefined;
    const sup: supervisor.SupervisorBehaviour<undefined> = { init: () => ({ flags: { strategy: 'one_for_all', intensity: 0, period: 1 }, children: [] }) };
    const spec: ApplicationSpec = {
      name: 'p',
      version: '1.0.0',
      startPhases: [{ name: 'go' }],
      mod: {
        start: async (_t: StartType, _a: unknown, self: Process) => {
          const r = await supervisor.startLink(self, sup, undefined);
          return typeof r === 'object' && 'ok' in r ? { ok: r.ok, state: undefined } : r;
        },
        // On a, the go phase waits for a message that never comes (a start stuck on the network).
        startPhase: async (_phase: string, _t: StartType, _a: unknown, self: Process) => {
          if (self.node.name !== 'a@a') return 'ok' as const;
          phasePid = self.pid;
          await self.receive((m) => m === 'never');
          return 'ok' as const;
        },
      },
    };
    const nodes: DistNode[] = [];
    for (const [i, name] of names.entries()) nodes.push(await s.startNode({ name, tickTime: TICK, seeds: names.slice(0, i), kernel: kernelOf(names), apps: [spec] }));
    await s.runUntil(() => nodes.every((n) => n.nodes().length === 2), 10_000, 'the full mesh');
    const starts = nodes.map((n) => n.application.start('p'));
    await s.runUntil(() => phasePid !== undefined, 10_000, "a's go phase");
    const dac = distAcOf(nodes[0]!);
    expect(dac.ownEpoch('p')).toBeDefined();
    const cutAt = s.now;
    s.partition([['a@a'], ['b@b', 'c@c']]);
    await s.runUntil(() => !nodes[0]!.isAlive(phasePid!), 10_000, "a's start stopped");
    // Detection (≤ tickTime) + downAfter (tickTime / 4), with room for the stop itself.
    expect(s.now - cutAt).toBeLessThanOrEqual(TICK + TICK / 4 + 50);
    expect(nodes[0]!.application.whereRunning('p')).not.toBe('local');
    // The node itself stays up (a start stopped on purpose is no failure), and the majority places p.
    await s.runUntil(() => runners(nodes, 'p').length === 1 && runners(nodes, 'p')[0] !== 'a@a', 10_000, 'p on the majority');
    expect(s.isUp('a@a')).toBe(true);
    void starts;
  });
});
