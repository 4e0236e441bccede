/**
 * The explorer's `global` and `apps` workloads: their operations do what they say, a clean
 * trace passes I1, I2, I3-names, I3-apps and I5, each of those invariants fires on a
 * deliberately broken cluster (never on a bug of today's rigil: those are being fixed), and a
 * run with applications is deterministic.
 */
import { createHash } from 'node:crypto';
import { genServer } from '@rigil/core';
import { describe, expect, it } from 'vitest';
import { explore, generateTrace, workloadOf, type CheckContext, type Invariant } from '../src/index.js';

/** An invariant that never fails and runs `fn` after the step at index `at` (once). */
function after(at: number, fn: (ctx: CheckContext) => void): Invariant {
  let done = false;
  return {
    name: `after-${at}`,
    check: (ctx) => {
      if (!done && ctx.applied.length === at + 1) {
        done = true;
        fn(ctx);
      }
      return undefined;
    },
  };
}

/** An invariant that never fails and records what `fn` sees at every checkpoint. */
function atSettle<T>(out: T[], fn: (ctx: CheckContext) => T): Invariant {
  return { name: 'observe', check: (ctx) => (ctx.phase === 'settle' && void out.push(fn(ctx)), undefined) };
}

const APPS = ['ctr', 'slow', 'grp'];

describe('the explorer workloads', () => {
  it('a run with applications is deterministic: one seed and trace give identical event logs at every checkpoint', async () => {
    const trace = generateTrace(21, 3, 12, 4, 'all');
    expect(workloadOf(trace)).toBe('all');
    const digests: string[][] = [[], []];
    for (const out of digests) {
      await explore({ seed: 21, nodes: 3, trace, invariants: [atSettle(out, (ctx) => createHash('sha256').update(ctx.sim.log.join('\n')).digest('hex'))], shrink: false });
    }
    expect(digests[0]!.length).toBeGreaterThan(2);
    expect(digests[1]).toEqual(digests[0]);
  }, 120_000);

  it('a clean trace passes every apps invariant; a takeover hands the counter over with every acknowledged increment', async () => {
    const seen: Array<{ where: string[][]; acks: number; counter: { lineage: string; value: number } | undefined }> = [];
    const observe = atSettle(seen, (ctx) => ({ where: APPS.map((a) => ctx.apps!.runners(a)), acks: [...ctx.apps!.acks.values()].reduce((x, y) => x + y, 0), counter: ctx.apps!.counterOn('a@a') }));
    const r = await explore({
      seed: 4,
      nodes: 3,
      workload: 'apps',
      trace: ['incr b 3', 'run 500', 'takeover a ctr', 'run 2000', 'incr c 2', 'run 500', 'settle'],
      invariants: ['I1', 'I2', 'I3-mesh', 'I3-apps', 'I4', 'I5', observe],
    });
    expect(r.violation).toBeUndefined();
    // ctr's priority is the reverse of name order (c first), taken over by a: it stays there.
    // slow's list starts with a; grp's equal-priority group [c, b] picks b (fewest applications running).
    expect(seen.at(-1)!.where).toEqual([['a@a'], ['a@a'], ['b@b']]);
    expect(seen.at(-1)!.acks).toBe(5);
    // One lineage across the takeover: 3 increments on c, then 2 on a.
    expect(seen.at(-1)!.counter?.value).toBe(5);
  }, 60_000);

  it('global operations: a re-register moves a name everywhere; lock, trans and a holder killed while holding leave no lock behind', async () => {
    const locks: number[][] = [];
    const names: string[][] = [];
    const lockCount = (ctx: CheckContext): number[] => ctx.sim.nodes().map((n) => ctx.sim.node(n).global.internalSizes().locks!);
    const r = await explore({
      seed: 6,
      nodes: 3,
      workload: 'global',
      trace: ['reg a g1', 'run 100', 'rereg c g1', 'lock b l0 400', 'run 100', 'lockdie c l1 300', 'trans a l2 300', 'run 50', 'run 1000', 'settle'],
      invariants: [
        'I3-names',
        'I4',
        after(4, (ctx) => locks.push(lockCount(ctx))),
        after(8, (ctx) => locks.push(lockCount(ctx))),
        atSettle(names, (ctx) => ctx.sim.nodes().map((n) => String(ctx.sim.node(n).global.whereis('g1')?.node))),
      ],
    });
    expect(r.violation).toBeUndefined();
    // While held: l0 on every node (b holds it for 400 ms); later every lock is gone.
    expect(locks[0]!.every((n) => n >= 1)).toBe(true);
    expect(locks[1]).toEqual([0, 0, 0]);
    expect(names.at(-1)).toEqual(['c@c', 'c@c', 'c@c']);
  }, 60_000);

  it('permit false moves an application to the best other node; appstop on its node leaves it stopped and unchecked until started again', async () => {
    const where: string[][] = [];
    const r = await explore({
      seed: 8,
      nodes: 3,
      workload: 'apps',
      trace: ['permit c ctr false', 'run 2000', 'settle', 'appstop b ctr', 'run 1000', 'settle', 'appstart b ctr', 'run 1000', 'settle'],
      invariants: ['I1', 'I2', 'I3-apps', 'I4', 'I5', atSettle(where, (ctx) => ctx.apps!.runners('ctr'))],
    });
    expect(r.violation).toBeUndefined();
    expect(where.slice(-3)).toEqual([['b@b'], [], ['b@b']]);
  }, 60_000);

  describe('each invariant fires on a deliberately broken cluster', () => {
    it('I1: a second instance started behind dist-ac’s back, while the mesh is whole', async () => {
      const r = await explore({
        seed: 2,
        nodes: 3,
        workload: 'apps',
        trace: ['run 100', 'run 3000', 'run 1000', 'settle'],
        invariants: [after(0, (ctx) => void ctx.sim.node('a@a').application.startLocal('grp', 'normal', 'temporary')), 'I1'],
        shrink: false,
      });
      expect(r.violation).toMatchObject({ invariant: 'I1', message: expect.stringMatching(/^grp runs on (a@a and b@b|b@b and a@a) for \d+ ms while the mesh is whole$/) });
    }, 60_000);

    it('I2 and I3-apps: an instance moved to a worse node behind dist-ac’s back', async () => {
      const move = after(0, (ctx) => {
        // ctr runs on c (its best node); stop it there and start it on a, telling dist-ac nothing.
        void ctx.sim.node('c@c').application.notRunning('ctr');
        void ctx.sim.node('a@a').application.startLocal('ctr', 'normal', 'temporary');
      });
      const r2 = await explore({ seed: 3, nodes: 3, workload: 'apps', trace: ['run 100', 'run 500', 'settle'], invariants: [move, 'I2'], shrink: false });
      expect(r2.violation).toMatchObject({ invariant: 'I2', message: 'after settle ctr runs on a@a, expected c@c (candidates a@a b@b c@c)' });
      const move2 = after(0, (ctx) => {
        void ctx.sim.node('c@c').application.notRunning('ctr');
        void ctx.sim.node('a@a').application.startLocal('ctr', 'normal', 'temporary');
      });
      const r3 = await explore({ seed: 3, nodes: 3, workload: 'apps', trace: ['run 100', 'run 500', 'settle'], invariants: [move2, 'I3-apps'], shrink: false });
      expect(r3.violation).toMatchObject({ invariant: 'I3-apps', message: expect.stringMatching(/dist-ac says ctr runs on c@c \(info\), but it runs on a@a/) });
    }, 120_000);

    it('I5: acknowledged increments lost by a counter reset, and an instance stopped without handing its state over', async () => {
      const reset = after(2, (ctx) => {
        const c = ctx.sim.node('c@c');
        void genServer.call(c, 'ctr_srv', { adopt: { value: 0, lineage: ctx.apps!.counterOn('c@c')!.lineage } });
      });
      const r1 = await explore({ seed: 5, nodes: 3, workload: 'apps', trace: ['incr a 4', 'run 500', 'run 10', 'settle'], invariants: [reset, 'I5'], shrink: false });
      expect(r1.violation).toMatchObject({ invariant: 'I5', message: expect.stringMatching(/^after settle ctr on c@c holds 0 but 4 increments of its lineage c\d+ were acknowledged$/) });

      const drop = after(1, (ctx) => void ctx.sim.node('c@c').application.runningElsewhere('ctr', 'b@b'));
      const r2 = await explore({ seed: 5, nodes: 3, workload: 'apps', trace: ['incr a 4', 'run 500', 'run 500', 'settle'], invariants: [drop, 'I5'], shrink: false });
      expect(r2.violation).toMatchObject({ invariant: 'I5', message: expect.stringMatching(/^ctr on c@c \(lineage c\d+, value 4, 4 acknowledged\) stopped at .* without handing its state over/) });
    }, 120_000);

    it('I3-names: a name inserted into one node’s replica only', async () => {
      const insert = after(0, (ctx) => {
        const b = ctx.sim.node('b@b');
        const pid = b.spawn(async (self) => {
          for (;;) await self.receive();
        });
        b.global.handleRequest({ op: 'insert', name: 'only-here', pid, resolver: 'randomExitName' });
      });
      const r = await explore({ seed: 7, nodes: 3, workload: 'global', trace: ['run 100', 'settle'], invariants: [insert, 'I3-names'], shrink: false });
      expect(r.violation).toMatchObject({ invariant: 'I3-names', message: expect.stringMatching(/only-here=<b@b/) });
    }, 60_000);
  });
});
