/**
 * Distributed applications (spec §g; conformance scenarios §E 40–60): placement, failover,
 * takeover, permit, stop, concurrent starts, netsplit reconciliation.
 *
 * Every test runs several real nodes of this OS process over loopback sockets (port 0). A
 * "restarted" node is the old node stopped and a new `DistNode` of the same name started on a
 * new port, seeded with a surviving node. The test application's workers record
 * `application.startType(self)` at init into a shared collector, so start types are counted as
 * OTP's suite does ("normal = 3"). Nothing sleeps to let things settle: conditions are polled
 * with deadlines, and fixed waits are only used to check that something does NOT happen.
 */
import { describe, expect, it } from 'vitest';
import type { AppResult, ApplicationSpec } from '@rigil/core';
import { FaultyTransport } from '@rigil/net/testing';
import { DIST_AC, type KernelConfig } from '../src/index.js';
import {
  collector,
  countStarts,
  describeRunners,
  elapse,
  kindOf,
  runners,
  runsOn,
  serverOf,
  supOf,
  tag,
  testApp,
  track,
  useCluster,
  waitFor,
  waitRunsOnly,
  where,
  workerOf,
  type Collector,
  type Member,
} from './helpers.js';

const cluster = useCluster();

/** Three node names whose order matches their priority in most configs: cp1 < cp2 < cp3. */
function names(): { A: string; B: string; C: string } {
  const t = tag();
  return { A: `cp1${t}@127.0.0.1`, B: `cp2${t}@127.0.0.1`, C: `cp3${t}@127.0.0.1` };
}

/** OTP's `config_fo` (timeouts shortened): app1 [A,B,C], app2 2000 [A,B,C], app_sp [{A,B},C]. */
function configFo(A: string, B: string, C: string, spTimeout = 300): KernelConfig {
  return {
    distributed: [
      { application: 'app1', timeout: 0, nodes: [A, B, C] },
      { application: 'app2', timeout: 2000, nodes: [A, B, C] },
      { application: 'app_sp', timeout: spTimeout, nodes: [[A, B], C] },
    ],
  };
}

/** app1 (no start phases) and app_sp (phases init, go; registers global name `app_sp`). */
function appsFo(c: Collector): ApplicationSpec[] {
  return [testApp(c, 'app1', { phases: false }), testApp(c, 'app2', { phases: false }), testApp(c, 'app_sp', { globalName: 'app_sp' })];
}

/** Calls `application.start(app)` on every member at once; all must return ok. */
async function startAll(ms: readonly Member[], app: string, restartType: 'permanent' | 'temporary' | 'transient' = 'permanent'): Promise<void> {
  const rs = await Promise.all(ms.map((m) => m.node.application.start(app, restartType)));
  expect(rs).toEqual(ms.map(() => 'ok'));
}

const alreadyStarted = (app: string): AppResult => ({ error: { alreadyStarted: app } });

/** Restarts a node: same name, new port, seeded with `seed`, same config and apps. */
function restart(name: string, kernel: KernelConfig, seed: Member, apps: readonly ApplicationSpec[]): Promise<Member> {
  return cluster.member(name, kernel, [seed.node], apps);
}

describe('placement (spec §g.3)', () => {
  // 40: initial placement — app1 runs on cp1 only; start types normal = 3
  it('40: initial placement on the first node of the priority list', async () => {
    const { A, B, C } = names();
    const c = collector();
    const ms = await cluster.members([A, B, C], configFo(A, B, C), appsFo(c));
    await startAll(ms, 'app1');
    await waitRunsOnly(ms, 'app1', A);
    expect(runsOn(ms[0]!, 'app1')).toBe(true);
    expect(runsOn(ms[1]!, 'app1')).toBe(false);
    expect(runsOn(ms[2]!, 'app1')).toBe(false);
    expect(countStarts(c, 'app1', 'normal')).toBe(3);
    expect(countStarts(c, 'app1', 'normal', A)).toBe(3);
    for (const m of ms) {
      expect(m.node.application.isStarted('app1')).toBe(true);
      const info = m.dac.info('app1');
      expect(info).toMatchObject({ application: 'app1', node: A, startType: 'normal', previous: null, cause: 'start' });
      expect(typeof info.since).toBe('string');
    }
    // A second start says already started, on every node.
    for (const m of ms) expect(await m.node.application.start('app1', 'permanent')).toEqual(alreadyStarted('app1'));
  });

  // 43: tuple group placement by load — app_sp goes to the group member running fewest apps
  it('43: equal-priority group: the member running the fewest applications gets it', async () => {
    const { A, B, C } = names();
    const c = collector();
    const ms = await cluster.members([A, B, C], configFo(A, B, C), appsFo(c));
    await startAll(ms, 'app1');
    await waitRunsOnly(ms, 'app1', A);
    await startAll(ms, 'app_sp');
    await waitRunsOnly(ms, 'app_sp', B);
    expect(countStarts(c, 'app_sp', 'normal', B)).toBe(3);
    expect(countStarts(c, 'app_sp', 'normal')).toBe(3);
    expect(c.phases.filter((p) => p.app === 'app_sp').map((p) => [p.node, p.phase, p.type])).toEqual([
      [B, 'init', 'normal'],
      [B, 'go', 'normal'],
    ]);
    for (const m of ms) expect(m.node.global.whereis('app_sp')?.node).toBe(B);
  });

  it('equal-priority group: ties in load go to the smaller node name, whatever the listed order', async () => {
    const { A, B, C } = names();
    const c = collector();
    // B is listed first in the group, but A sorts first by name; both run nothing.
    const kernel: KernelConfig = { distributed: [{ application: 'p', timeout: 0, nodes: [[B, A], C] }] };
    const ms = await cluster.members([C, B, A], kernel, [testApp(c, 'p')]);
    await startAll(ms, 'p');
    await waitRunsOnly(ms, 'p', A);
    expect(countStarts(c, 'p', 'normal', A)).toBe(3);
    expect(countStarts(c, 'p', 'normal')).toBe(3);
  });

  it('equal-priority group: load counts every running application, distributed or not', async () => {
    const { A, B, C } = names();
    const c = collector();
    const kernel: KernelConfig = { distributed: [{ application: 'p', timeout: 0, nodes: [[A, B, C]] }] };
    const ms = await cluster.members([A, B, C], kernel, [testApp(c, 'p')]);
    // A runs two local applications, B one, C none... then C gets one more than B: B wins.
    for (const [m, apps] of [
      [ms[0]!, ['l1', 'l2']],
      [ms[1]!, ['l1']],
      [ms[2]!, ['l1', 'l2', 'l3']],
    ] as const) {
      for (const a of apps) expect(await m.node.application.start(testApp(c, a, { phases: false, workers: 0 }))).toBe('ok');
    }
    await startAll(ms, 'p');
    await waitRunsOnly(ms, 'p', B);
    expect(countStarts(c, 'p', 'normal', B)).toBe(3);
  });

  // 49: start on secondary returns immediately — app1 still on cp1, not on cp2
  it('49: start on a lower node while the better one runs it returns at once and records where it runs', async () => {
    const { A, B } = names();
    const c = collector();
    const kernel: KernelConfig = { distributed: [{ application: 'app1', timeout: 0, nodes: [A, B] }] };
    const [a, b] = await cluster.members([A, B], kernel, [testApp(c, 'app1', { phases: false })]);
    expect(await a!.node.application.start('app1')).toBe('ok');
    expect(where(a!, 'app1')).toBe('local');
    const t0 = Date.now();
    expect(await b!.node.application.start('app1')).toBe('ok');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(where(a!, 'app1')).toBe('local');
    expect(where(b!, 'app1')).toBe(A);
    expect(runsOn(b!, 'app1')).toBe(false);
    expect(countStarts(c, 'app1', 'normal', B)).toBe(0);
    expect(await b!.node.application.start('app1')).toEqual(alreadyStarted('app1'));
  });

  // 50: running bookkeeping — permissions [{app1,false}], permit true on cp1, start on cp1 and cp2
  it('50: running bookkeeping: runs on cp1, cp2 records it as running distributed on cp1', async () => {
    const { A, B } = names();
    const c = collector();
    const kernel: KernelConfig = { distributed: [{ application: 'app1', timeout: 0, nodes: [A, B] }], permissions: { app1: false } };
    const [a, b] = await cluster.members([A, B], kernel, [testApp(c, 'app1', { phases: false })]);
    // permit on an app that is not started yet starts nothing
    expect(await a!.node.application.permit('app1', true)).toBe('ok');
    expect(runners([a!, b!], 'app1')).toEqual([]);
    expect(await a!.node.application.start('app1')).toBe('ok');
    expect(await b!.node.application.start('app1')).toBe('ok');
    await waitRunsOnly([a!, b!], 'app1', A);
    expect(a!.node.application.whichApplications().map((x) => x.name)).toContain('app1');
    expect(b!.node.application.whichApplications().map((x) => x.name)).not.toContain('app1');
    expect(where(b!, 'app1')).toBe(A);
    expect(b!.node.application.isStarted('app1')).toBe(true);
    expect(await b!.node.application.start('app1')).toEqual(alreadyStarted('app1'));
  });

  // 48: lower-priority start blocks until the chosen node starts it or goes down
  it('48: a lower-priority start blocks until the better node goes down, then it starts there', async () => {
    const { A, B } = names();
    const c = collector();
    const kernel: KernelConfig = { distributed: [{ application: 'app1', timeout: 0, nodes: [A, B] }] };
    const [a, b] = await cluster.members([A, B], kernel, [testApp(c, 'app1', { phases: false })]);
    const pending = track(b!.node.application.start('app1'));
    await elapse(500);
    expect(pending.done).toBe(false);
    expect(runners([a!, b!], 'app1')).toEqual([]);
    expect(c.starts).toEqual([]);
    await a!.node.stop();
    await waitFor(() => pending.done, 5000, 'the blocked start to return');
    expect(pending.value).toBe('ok');
    expect(where(b!, 'app1')).toBe('local');
    expect(countStarts(c, 'app1', 'normal', B)).toBe(3);
    expect(c.starts.every((s) => s.node === B)).toBe(true);
  });

  it('48: a lower-priority start blocks until the better node starts it, then returns with it running there', async () => {
    const { A, B } = names();
    const c = collector();
    const kernel: KernelConfig = { distributed: [{ application: 'app1', timeout: 0, nodes: [A, B] }] };
    const [a, b] = await cluster.members([A, B], kernel, [testApp(c, 'app1', { phases: false })]);
    const pending = track(b!.node.application.start('app1'));
    await elapse(300);
    expect(pending.done).toBe(false);
    expect(await a!.node.application.start('app1')).toBe('ok');
    await waitFor(() => pending.done, 5000, 'the blocked start to return');
    expect(pending.value).toBe('ok');
    expect(where(a!, 'app1')).toBe('local');
    expect(where(b!, 'app1')).toBe(A);
    expect(countStarts(c, 'app1', 'normal')).toBe(3);
    expect(countStarts(c, 'app1', 'normal', A)).toBe(3);
  });

  // 51: concurrent distributed start — 3 callers on cp1 and 1 on cp2 all get ok; only one instance
  it('51: concurrent starts on two nodes all return ok and the app runs once', async () => {
    const { A, B } = names();
    const c = collector();
    const kernel: KernelConfig = { distributed: [{ application: 'app1', timeout: 0, nodes: [A, B] }] };
    const [a, b] = await cluster.members([A, B], kernel, [testApp(c, 'app1', { phases: false })]);
    const t0 = Date.now();
    const rs = await Promise.all([a!.node.application.start('app1'), a!.node.application.start('app1'), a!.node.application.start('app1'), b!.node.application.start('app1')]);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(rs).toEqual(['ok', 'ok', 'ok', 'ok']);
    await waitRunsOnly([a!, b!], 'app1', A);
    expect(countStarts(c, 'app1', 'normal')).toBe(3);
    expect(await a!.node.application.start('app1')).toEqual(alreadyStarted('app1'));
  });

  // 51 (race): equal-priority nodes calling start at the same instant never both run it
  it('51: equal-priority nodes starting at the same instant never both run it', async () => {
    for (let round = 0; round < 3; round++) {
      const { A, B, C } = names();
      const c = collector();
      const kernel: KernelConfig = { distributed: [{ application: 'p', timeout: 0, nodes: [[A, B, C]] }] };
      const ms = await cluster.members([A, B, C], kernel, [testApp(c, 'p')]);
      await startAll(ms, 'p');
      const r = runners(ms, 'p');
      expect(r).toHaveLength(1);
      await waitRunsOnly(ms, 'p', r[0]!);
      // Only one node ever started an instance.
      expect(new Set(c.starts.map((s) => s.node))).toEqual(new Set(r));
      expect(countStarts(c, 'p', 'normal')).toBe(3);
      await cluster.stopAll();
    }
  });
});

describe('failover (spec §g.4)', () => {
  // 41: failover without start_phases ⇒ normal
  it('41: when the running node dies the next node starts it with type normal (no start phases)', async () => {
    const { A, B, C } = names();
    const c = collector();
    const ms = await cluster.members([A, B, C], configFo(A, B, C), appsFo(c));
    await startAll(ms, 'app1');
    await waitRunsOnly(ms, 'app1', A);
    await ms[0]!.node.stop();
    await waitRunsOnly(ms, 'app1', B);
    expect(countStarts(c, 'app1', 'normal', B)).toBe(3);
    expect(countStarts(c, 'app1', 'failover')).toBe(0);
    for (const m of ms.slice(1)) expect(m.dac.info('app1')).toMatchObject({ node: B, startType: 'normal', previous: A, cause: 'failover' });
    expect(runsOn(ms[2]!, 'app1')).toBe(false);
  });

  // 44: failover with start_phases ⇒ {failover, Node}; then the next failover to cp3
  it('44: with start phases the failover start type is {failover, dead} (after the timeout); next failover to cp3', async () => {
    const { A, B, C } = names();
    const c = collector();
    const ms = await cluster.members([A, B, C], configFo(A, B, C), appsFo(c));
    await startAll(ms, 'app1');
    await waitRunsOnly(ms, 'app1', A);
    await startAll(ms, 'app_sp');
    await waitRunsOnly(ms, 'app_sp', B);
    const t0 = Date.now();
    await ms[1]!.node.stop();
    await waitRunsOnly(ms, 'app_sp', A);
    const firstFailover = Math.min(...c.starts.filter((s) => s.app === 'app_sp' && s.node === A).map((s) => s.at));
    expect(firstFailover - t0).toBeGreaterThanOrEqual(299);
    expect(countStarts(c, 'app_sp', 'failover', A)).toBe(3);
    expect(c.starts.filter((s) => s.app === 'app_sp' && s.node === A).map((s) => s.type)).toEqual([{ failover: B }, { failover: B }, { failover: B }]);
    expect(c.phases.filter((p) => p.app === 'app_sp' && p.node === A).map((p) => [p.phase, p.type])).toEqual([
      ['init', { failover: B }],
      ['go', { failover: B }],
    ]);
    expect(ms[0]!.dac.info('app_sp')).toMatchObject({ node: A, startType: { failover: B }, previous: B, cause: 'failover' });
    await waitFor(() => ms[2]!.node.global.whereis('app_sp')?.node === A, 5000, 'global name on A');

    // stop cp1: cp3 starts app1 (normal) and app_sp ({failover, cp1})
    await ms[0]!.node.stop();
    await waitRunsOnly(ms, 'app1', C);
    await waitRunsOnly(ms, 'app_sp', C);
    expect(countStarts(c, 'app1', 'normal', C)).toBe(3);
    expect(countStarts(c, 'app_sp', 'failover', C)).toBe(3);
    expect(c.starts.filter((s) => s.app === 'app_sp' && s.node === C).map((s) => s.type)).toEqual([{ failover: A }, { failover: A }, { failover: A }]);
    expect(ms[2]!.dac.info('app_sp')).toMatchObject({ node: C, startType: { failover: A }, previous: A, cause: 'failover' });
  });

  // 59: failover delay respected — B starts p no earlier than timeout after nodedown, well before +2000 ms
  it('59: failover waits the configured timeout after nodedown, and not much longer', async () => {
    const { A, B } = names();
    const c = collector();
    const kernel: KernelConfig = { distributed: [{ application: 'p', timeout: 1000, nodes: [A, B] }] };
    const [a, b] = await cluster.members([A, B], kernel, [testApp(c, 'p')]);
    await startAll([a!, b!], 'p');
    await waitRunsOnly([a!, b!], 'p', A);
    let down: number | undefined;
    b!.node.onNodeEvent((e) => {
      if (e.type === 'nodedown' && e.node === A) down ??= Date.now();
    });
    const t0 = Date.now();
    await a!.node.stop();
    await waitFor(() => countStarts(c, 'p', 'failover', B) === 3, 4000, 'failover on B');
    const started = Math.min(...c.starts.filter((s) => s.node === B).map((s) => s.at));
    expect(down).toBeDefined();
    expect(started - down!).toBeGreaterThanOrEqual(999);
    expect(started - t0).toBeLessThanOrEqual(3000);
    expect(where(b!, 'p')).toBe('local');
  });

  // 59: if A's replacement starts p inside the failover window, B never starts it
  it('59: a replacement of the dead node that starts the app within the window prevents the failover', async () => {
    const { A, B } = names();
    const c = collector();
    const app = testApp(c, 'p');
    const kernel: KernelConfig = { distributed: [{ application: 'p', timeout: 1000, nodes: [A, B] }] };
    const [a, b] = await cluster.members([A, B], kernel, [app]);
    await startAll([a!, b!], 'p');
    await waitRunsOnly([a!, b!], 'p', A);
    const t0 = Date.now();
    await a!.node.stop();
    await waitFor(() => where(b!, 'p') === undefined, 2000, 'B to see p not running');
    const a2 = await restart(A, kernel, b!, [app]);
    expect(await a2.node.application.start('p')).toBe('ok');
    expect(Date.now() - t0).toBeLessThan(1000);
    // Past the failover window (+500 ms): B never started it.
    await waitFor(() => Date.now() - t0 > 1500, 2000, 'the window to pass');
    expect(countStarts(c, 'p', 'normal', B) + countStarts(c, 'p', 'failover', B)).toBe(0);
    await waitRunsOnly([a2, b!], 'p', A);
  });

  it('an application crash is not failed over (temporary app: its top supervisor killed)', async () => {
    const { A, B, C } = names();
    const c = collector();
    const ms = await cluster.members([A, B, C], configFo(A, B, C), appsFo(c));
    await startAll(ms, 'app1', 'temporary');
    await waitRunsOnly(ms, 'app1', A);
    const sup = ms[0]!.node.whereis(supOf('app1'))!;
    ms[0]!.node.exit(sup, 'kill');
    await waitFor(() => ms.every((m) => where(m, 'app1') === undefined), 5000, () => `app1 marked not running everywhere (${describeRunners(ms, 'app1')})`);
    await elapse(500);
    expect(runners(ms, 'app1')).toEqual([]);
    expect(c.starts.every((s) => s.node === A)).toBe(true);
    expect(ms[0]!.node.stopped).toBe(false);
    for (const m of ms) expect(m.dac.info('app1').node).toBeNull();
    // It stays in the started list of the node where it crashed (OTP's AC keeps it there).
    expect(ms[0]!.node.application.isStarted('app1')).toBe(true);
  });

  it('a permanent application crash stops its node, which then fails over', async () => {
    const { A, B, C } = names();
    const c = collector();
    const ms = await cluster.members([A, B, C], configFo(A, B, C), appsFo(c));
    await startAll(ms, 'app1', 'permanent');
    await waitRunsOnly(ms, 'app1', A);
    ms[0]!.node.exit(ms[0]!.node.whereis(supOf('app1'))!, 'kill');
    await waitFor(() => ms[0]!.node.stopped, 5000, 'node A to stop');
    await waitRunsOnly(ms, 'app1', B);
    expect(countStarts(c, 'app1', 'normal', B)).toBe(3);
    expect(ms[1]!.dac.info('app1')).toMatchObject({ node: B, previous: A, cause: 'failover' });
  });

  it('a failover timeout of Infinity never fails over', async () => {
    const { A, B } = names();
    const c = collector();
    const kernel: KernelConfig = { distributed: [{ application: 'p', timeout: Infinity, nodes: [A, B] }] };
    const [a, b] = await cluster.members([A, B], kernel, [testApp(c, 'p')]);
    await startAll([a!, b!], 'p');
    await waitRunsOnly([a!, b!], 'p', A);
    await a!.node.stop();
    await waitFor(() => where(b!, 'p') === undefined, 3000, 'B to see p not running');
    await elapse(500);
    expect(where(b!, 'p')).toBeUndefined();
    expect(c.starts.every((s) => s.node === A)).toBe(true);
  });
});

describe('takeover (spec §g.5)', () => {
  // 42: automatic takeover on restart of higher node — start returns after it runs on cp1 with {takeover, cp2}
  it('42: a restarted better node takes the app over when it calls start', async () => {
    const { A, B, C } = names();
    const c = collector();
    const apps = appsFo(c);
    const kernel = configFo(A, B, C);
    const ms = await cluster.members([A, B, C], kernel, apps);
    await startAll(ms, 'app1');
    await waitRunsOnly(ms, 'app1', A);
    await ms[0]!.node.stop();
    await waitRunsOnly(ms, 'app1', B);
    const a2 = await restart(A, kernel, ms[1]!, apps);
    await waitFor(() => a2.node.net.isConnected(C), 5000, 'restarted A connected to C');
    const live = [a2, ms[1]!, ms[2]!];
    expect(await a2.node.application.start('app1', 'permanent')).toBe('ok');
    // When start returns the new instance is fully started.
    expect(where(a2, 'app1')).toBe('local');
    expect(runsOn(a2, 'app1')).toBe(true);
    expect(countStarts(c, 'app1', 'takeover', A)).toBe(3);
    expect(c.starts.filter((s) => s.node === A && kindOf(s.type) === 'takeover').map((s) => s.type)).toEqual([{ takeover: B }, { takeover: B }, { takeover: B }]);
    await waitRunsOnly(live, 'app1', A);
    expect(ms[1]!.node.whereis(supOf('app1'))).toBeUndefined();
    for (const m of live) expect(m.dac.info('app1')).toMatchObject({ node: A, startType: { takeover: B }, previous: B, cause: 'takeover' });
  });

  // 45: equal priority never takes over
  it('45: a node of the same priority group never takes over', async () => {
    const { A, B, C } = names();
    const c = collector();
    const apps = appsFo(c);
    const kernel = configFo(A, B, C);
    // cp2 and cp3 up; app_sp runs on cp2 (the group {cp1, cp2} is better than cp3).
    const [b, cc] = await cluster.members([B, C], kernel, apps);
    await startAll([b!, cc!], 'app_sp');
    await waitRunsOnly([b!, cc!], 'app_sp', B);
    // cp1 comes up (same group as cp2, smaller name) and starts app_sp: it stays on cp2.
    const a = await cluster.member(A, kernel, [b!.node, cc!.node], apps);
    expect(await a.node.application.start('app_sp')).toBe('ok');
    expect(where(a, 'app_sp')).toBe(B);
    await elapse(500);
    await waitRunsOnly([a, b!, cc!], 'app_sp', B);
    expect(countStarts(c, 'app_sp', 'takeover')).toBe(0);
    expect(c.starts.filter((s) => s.app === 'app_sp').every((s) => s.node === B)).toBe(true);
  });

  // 45: a restarted cp2 takes over from cp3 (takeover = 3); cp1 then does not take it from cp2
  it('45: restarted cp2 takes over from cp3; restarted cp1 (same group as cp2) does not', async () => {
    const { A, B, C } = names();
    const c = collector();
    const apps = appsFo(c);
    const kernel = configFo(A, B, C, 0);
    const ms = await cluster.members([A, B, C], kernel, apps);
    await startAll(ms, 'app_sp');
    await waitRunsOnly(ms, 'app_sp', A);
    await ms[0]!.node.stop();
    await waitRunsOnly(ms, 'app_sp', B);
    await ms[1]!.node.stop();
    await waitRunsOnly(ms, 'app_sp', C);
    const b2 = await restart(B, kernel, ms[2]!, apps);
    expect(await b2.node.application.start('app_sp')).toBe('ok');
    expect(c.starts.filter((s) => s.node === B && kindOf(s.type) === 'takeover').map((s) => s.type)).toEqual([{ takeover: C }, { takeover: C }, { takeover: C }]);
    await waitRunsOnly([b2, ms[2]!], 'app_sp', B);
    const a2 = await cluster.member(A, kernel, [b2.node, ms[2]!.node], apps);
    expect(await a2.node.application.start('app_sp')).toBe('ok');
    await elapse(500);
    await waitRunsOnly([a2, b2, ms[2]!], 'app_sp', B);
    expect(countStarts(c, 'app_sp', 'takeover', A)).toBe(0);
  });

  // 46: forced takeover — returns after app_sp fully started on cp1 ({takeover, cp2}); then cp2's instance stops
  it('46: application.takeover returns once the new instance is fully started; the old one ran during the phases and stops after', async () => {
    const { A, B, C } = names();
    const c = collector();
    const ms = await cluster.members([A, B, C], configFo(A, B, C), appsFo(c));
    const [a, b, cc] = ms as [Member, Member, Member];
    await startAll(ms, 'app1');
    await waitRunsOnly(ms, 'app1', A);
    await startAll(ms, 'app_sp');
    await waitRunsOnly(ms, 'app_sp', B);
    await waitFor(() => ms.every((m) => m.node.global.whereis('app_sp')?.node === B), 5000, 'global name on B everywhere');
    const oldServer = b.node.whereis(serverOf('app_sp'))!;

    // Poll the global name on every node in a tight loop throughout the takeover.
    const poll = { stop: false, polls: 0, missing: [] as string[], seen: new Set<string>() };
    const loop = (): void => {
      if (poll.stop) return;
      poll.polls++;
      for (const m of ms) {
        const p = m.node.global.whereis('app_sp');
        if (p === undefined) poll.missing.push(m.node.name);
        else poll.seen.add(p.node);
      }
      setImmediate(loop);
    };
    loop();

    const r = await a.node.application.takeover('app_sp', 'permanent');
    expect(r).toBe('ok');
    // Fully started on return: start and both phases ran with {takeover, cp2} ...
    expect(where(a, 'app_sp')).toBe('local');
    expect(runsOn(a, 'app_sp')).toBe(true);
    expect(c.starts.filter((s) => s.app === 'app_sp' && s.node === A).map((s) => s.type)).toEqual([{ takeover: B }, { takeover: B }, { takeover: B }]);
    const phasesA = c.phases.filter((p) => p.app === 'app_sp' && p.node === A);
    expect(phasesA.map((p) => [p.phase, p.type])).toEqual([
      ['init', { takeover: B }],
      ['go', { takeover: B }],
    ]);
    // ... while the old instance still ran: its server answered a call made from the go phase.
    expect(phasesA[1]!.oldAnswered).toBe(B);

    // Then the old instance stops.
    await waitRunsOnly(ms, 'app_sp', A);
    await waitFor(() => !b.node.isAlive(oldServer), 5000, 'the old server to stop');
    await waitFor(() => ms.every((m) => m.node.global.whereis('app_sp')?.node === A), 5000, 'global name on A everywhere');
    poll.stop = true;
    expect(poll.polls).toBeGreaterThan(10);
    expect(poll.missing).toEqual([]);
    expect(poll.seen).toEqual(new Set([A, B]));
    for (const m of ms) expect(m.dac.info('app_sp')).toMatchObject({ node: A, startType: { takeover: B }, previous: B, cause: 'takeover' });
    expect(b.node.application.isStarted('app_sp')).toBe(true);
    expect(where(cc, 'app_sp')).toBe(A);

    // A worker restarted by its supervisor afterwards sees start type `local`.
    const w = a.node.whereis(workerOf('app_sp', 0))!;
    a.node.exit(w, 'kill');
    await waitFor(() => c.starts.some((s) => s.app === 'app_sp' && s.node === A && s.type === 'local'), 5000, 'worker restarted');
    expect(c.starts.filter((s) => s.app === 'app_sp' && s.type === 'local')).toHaveLength(1);
  });

  it('automatic takeover also keeps the global name resolvable on every node throughout', async () => {
    const { A, B, C } = names();
    const c = collector();
    const apps = [testApp(c, 'p', { globalName: 'p_name' })];
    const kernel: KernelConfig = { distributed: [{ application: 'p', timeout: 0, nodes: [A, B, C] }] };
    const [b, cc] = await cluster.members([B, C], kernel, apps);
    await startAll([b!, cc!], 'p');
    await waitFor(() => [b!, cc!].every((m) => m.node.global.whereis('p_name')?.node === B), 5000, 'name on B');
    const a = await cluster.member(A, kernel, [b!.node, cc!.node], apps);
    await waitFor(() => a.node.global.whereis('p_name')?.node === B, 5000, 'A learns the name');
    const ms = [a, b!, cc!];
    let stop = false;
    const missing: string[] = [];
    const loop = (): void => {
      if (stop) return;
      for (const m of ms) if (m.node.global.whereis('p_name') === undefined) missing.push(m.node.name);
      setImmediate(loop);
    };
    loop();
    expect(await a.node.application.start('p')).toBe('ok');
    await waitRunsOnly(ms, 'p', A);
    await waitFor(() => ms.every((m) => m.node.global.whereis('p_name')?.node === A), 5000, 'name on A everywhere');
    await waitFor(() => b!.node.whereis(serverOf('p')) === undefined, 5000, 'old server gone');
    stop = true;
    expect(missing).toEqual([]);
    expect(c.phases.filter((p) => p.node === A && p.phase === 'go')[0]?.oldAnswered).toBe(B);
  });

  // 47: takeover errors
  it('47: takeover errors: already running locally, not running distributed, invalid restart type', async () => {
    const { A, B } = names();
    const c = collector();
    const kernel: KernelConfig = { distributed: [{ application: 'p', timeout: 0, nodes: [A, B] }] };
    const [a, b] = await cluster.members([A, B], kernel, [testApp(c, 'p')]);
    // not started anywhere
    expect(await b!.node.application.takeover('p', 'permanent')).toEqual({ error: { notRunningDistributed: 'p' } });
    expect(await b!.node.application.takeover('p', 'foo' as 'permanent')).toEqual({ error: { invalidRestartType: 'foo' } });
    await startAll([a!, b!], 'p');
    await waitRunsOnly([a!, b!], 'p', A);
    expect(await a!.node.application.takeover('p', 'permanent')).toEqual({ error: { alreadyRunningLocally: 'p' } });
    expect(await b!.node.application.takeover('p', 'foo' as 'permanent')).toEqual({ error: { invalidRestartType: 'foo' } });
    // none of these moved it
    await waitRunsOnly([a!, b!], 'p', A);
    expect(c.starts.every((s) => s.node === A)).toBe(true);
  });
});

describe('permit (spec §g.6)', () => {
  // 53: permissions move the app — app1 [cp1,cp2,cp3]; app3 with permissions false, [{cp1,cp2},cp3]
  it('53: permit(false) moves the app to the next node, permit(true) brings it back (synchronously)', async () => {
    const { A, B, C } = names();
    const c = collector();
    const kernel: KernelConfig = { distributed: [{ application: 'app1', timeout: 0, nodes: [A, B, C] }] };
    const ms = await cluster.members([A, B, C], kernel, [testApp(c, 'app1')]);
    const [a, b, cc] = ms as [Member, Member, Member];
    await startAll(ms, 'app1');
    await waitRunsOnly(ms, 'app1', A);

    expect(await a.node.application.permit('app1', false)).toBe('ok');
    expect(runners(ms, 'app1')).toEqual([B]);
    await waitRunsOnly(ms, 'app1', B);
    expect(c.starts.filter((s) => s.node === B).map((s) => s.type)).toEqual([{ takeover: A }, { takeover: A }, { takeover: A }]);
    for (const m of ms) expect(m.dac.info('app1')).toMatchObject({ node: B, startType: { takeover: A }, previous: A, cause: 'permit' });

    expect(await b.node.application.permit('app1', false)).toBe('ok');
    expect(runners(ms, 'app1')).toEqual([C]);
    await waitRunsOnly(ms, 'app1', C);

    expect(await b.node.application.permit('app1', true)).toBe('ok');
    expect(runners(ms, 'app1')).toEqual([B]);
    await waitRunsOnly(ms, 'app1', B);
    expect(c.starts.filter((s) => s.node === B && kindOf(s.type) === 'takeover').slice(-3).map((s) => s.type)).toEqual([{ takeover: C }, { takeover: C }, { takeover: C }]);
    expect(b.dac.info('app1')).toMatchObject({ node: B, previous: C, cause: 'permit' });
    expect(where(cc, 'app1')).toBe(B);
  });

  // 53 (app3): not permitted anywhere → runs nowhere; permits place and move it; same group stays
  it('53: an app permitted nowhere runs nowhere; permits place it, a better group takes it, same group does not; nodedown fails over', async () => {
    const { A, B, C } = names();
    const c = collector();
    const kernel: KernelConfig = { distributed: [{ application: 'app3', timeout: 300, nodes: [[A, B], C] }], permissions: { app3: false } };
    const ms = await cluster.members([A, B, C], kernel, [testApp(c, 'app3')]);
    const [a, b, cc] = ms as [Member, Member, Member];
    await startAll(ms, 'app3');
    await elapse(300);
    expect(runners(ms, 'app3')).toEqual([]);
    expect(c.starts).toEqual([]);

    expect(await cc.node.application.permit('app3', true)).toBe('ok');
    expect(runners(ms, 'app3')).toEqual([C]);
    await waitRunsOnly(ms, 'app3', C);
    expect(countStarts(c, 'app3', 'normal', C)).toBe(3);

    expect(await b.node.application.permit('app3', true)).toBe('ok');
    expect(runners(ms, 'app3')).toEqual([B]);
    await waitRunsOnly(ms, 'app3', B);
    expect(countStarts(c, 'app3', 'takeover', B)).toBe(3);

    expect(await a.node.application.permit('app3', true)).toBe('ok');
    await elapse(300);
    await waitRunsOnly(ms, 'app3', B);
    expect(c.starts.filter((s) => s.node === A)).toEqual([]);

    await b.node.stop();
    await waitRunsOnly(ms, 'app3', A, 5000);
    expect(countStarts(c, 'app3', 'failover', A)).toBe(3);
  });

  // 55: permit on distributed apps — permit(false) with no other permitted node stops it; nodedown skips unpermitted nodes
  it('55: permit(false) where no other node may run it stops it (still started); permit(true) restarts it', async () => {
    const { A, B } = names();
    const c = collector();
    const kernel = (perm: Record<string, boolean>): KernelConfig => ({
      distributed: [
        { application: 'app1', timeout: 0, nodes: [A, B] },
        { application: 'app2', timeout: 0, nodes: [A, B] },
      ],
      permissions: perm,
    });
    const apps = [testApp(c, 'app1'), testApp(c, 'app2')];
    const a = await cluster.member(A, kernel({}), [], apps);
    const b = await cluster.member(B, kernel({ app2: false }), [a.node], apps);
    const ms = [a, b];
    await startAll(ms, 'app1');
    await startAll(ms, 'app2');
    await waitRunsOnly(ms, 'app1', A);
    await waitRunsOnly(ms, 'app2', A);

    // permit true on the lower node does not move it
    expect(await b.node.application.permit('app1', true)).toBe('ok');
    await waitRunsOnly(ms, 'app1', A);

    // app2 may run nowhere else: permit(false) stops it, it stays started
    expect(await a.node.application.permit('app2', false)).toBe('ok');
    expect(runners(ms, 'app2')).toEqual([]);
    await waitFor(() => where(b, 'app2') === undefined, 3000, 'B sees app2 stopped');
    expect(a.node.application.isStarted('app2')).toBe(true);
    expect(a.dac.info('app2').node).toBeNull();
    // permit(true) runs it here again
    expect(await a.node.application.permit('app2', true)).toBe('ok');
    expect(runners(ms, 'app2')).toEqual([A]);
    await waitRunsOnly(ms, 'app2', A);

    // stop cp1: app1 fails over to cp2, app2 (not permitted on cp2) runs nowhere
    await a.node.stop();
    await waitRunsOnly(ms, 'app1', B);
    await elapse(300);
    expect(runners(ms, 'app2')).toEqual([]);
    expect(c.starts.filter((s) => s.app === 'app2' && s.node === B)).toEqual([]);

    // restarted cp1 with app1 and app2 not permitted runs nothing
    const a2 = await restart(A, kernel({ app1: false, app2: false }), b, apps);
    expect(await a2.node.application.start('app1')).toBe('ok');
    expect(await a2.node.application.start('app2')).toBe('ok');
    await elapse(300);
    expect(a2.node.application.whichApplications()).toEqual([]);
    await waitRunsOnly([a2, b], 'app1', B);
    expect(runners([a2, b], 'app2')).toEqual([]);
  });

  // 54: permit on local apps — kernel permissions apply to applications that are not distributed
  it('54: permissions of local (not distributed) apps: started apps do not run until permitted', async () => {
    const { A } = names();
    const c = collector();
    const a = await cluster.member(A, { permissions: { l1: false, l2: false } }, [], [testApp(c, 'l1'), testApp(c, 'l2')]);
    expect(await a.node.application.start('l1')).toBe('ok');
    expect(a.node.application.whichApplications()).toEqual([]);
    expect(c.starts).toEqual([]);
    // permit true on a loaded, not started app does nothing
    expect(await a.node.application.permit('l2', true)).toBe('ok');
    expect(a.node.application.whichApplications()).toEqual([]);
    expect(await a.node.application.permit('nope', true)).toEqual({ error: { notLoaded: 'nope' } });
    expect(await a.node.application.permit('l1', true)).toBe('ok');
    expect(a.node.application.whichApplications().map((x) => x.name)).toEqual(['l1']);
    expect(await a.node.application.permit('l1', true)).toBe('ok');
    expect(countStarts(c, 'l1', 'normal')).toBe(3);
    expect(await a.node.application.permit('l1', false)).toBe('ok');
    expect(await a.node.application.permit('l1', false)).toBe('ok');
    expect(a.node.application.whichApplications()).toEqual([]);
    expect(a.node.application.isStarted('l1')).toBe(true);
  });
});

describe('stop (spec §g.7)', () => {
  // 52: application.stop on the running node does not fail over
  it('52: stopping the app on its running node does not fail it over', async () => {
    const { A, B, C } = names();
    const c = collector();
    const ms = await cluster.members([A, B, C], configFo(A, B, C), appsFo(c));
    await startAll(ms, 'app1');
    await waitRunsOnly(ms, 'app1', A);
    expect(await ms[0]!.node.application.stop('app1')).toBe('ok');
    expect(where(ms[0]!, 'app1')).toBeUndefined();
    await waitFor(() => ms.every((m) => where(m, 'app1') === undefined), 3000, () => `every node sees app1 stopped (${describeRunners(ms, 'app1')})`);
    await elapse(500);
    expect(runners(ms, 'app1')).toEqual([]);
    expect(c.starts.every((s) => s.node === A)).toBe(true);
    for (const m of ms) expect(m.dac.info('app1').node).toBeNull();
    expect(ms[0]!.node.application.isStarted('app1')).toBe(false);
    // the node that stopped it going down later does not cause a failover either
    await ms[0]!.node.stop();
    await elapse(300);
    expect(runners(ms, 'app1')).toEqual([]);
  });

  // 52: a node whose dist_ac has no `distributed` entry for app1 does not disturb start/stop/start on cp1
  it('52: start/stop/start on cp1 works while cp2 runs dist_ac without distributed; cp2 dist_ac survives', async () => {
    const { A, B } = names();
    const c = collector();
    const a = await cluster.member(A, { distributed: [{ application: 'app1', timeout: 0, nodes: [A, B] }] }, [], [testApp(c, 'app1')]);
    const b = await cluster.member(B, {}, [a.node], []);
    const dacB = b.node.whereis(DIST_AC);
    expect(dacB).toBeDefined();
    expect(await a.node.application.start('app1')).toBe('ok');
    expect(where(a, 'app1')).toBe('local');
    expect(await a.node.application.stop('app1')).toBe('ok');
    expect(where(a, 'app1')).toBeUndefined();
    expect(await a.node.application.start('app1')).toBe('ok');
    expect(where(a, 'app1')).toBe('local');
    expect(countStarts(c, 'app1', 'normal', A)).toBe(6);
    expect(b.node.whereis(DIST_AC)).toBe(dacB);
    expect(b.node.isAlive(dacB!)).toBe(true);
    expect(b.reports.filter((r) => r.code === 'ERR_DISTRIBUTION_MISMATCH')).toEqual([]);
  });

  it('52: after stop on every node, a new start places it afresh', async () => {
    const { A, B } = names();
    const c = collector();
    const kernel: KernelConfig = { distributed: [{ application: 'app1', timeout: 0, nodes: [A, B] }] };
    const ms = await cluster.members([A, B], kernel, [testApp(c, 'app1', { phases: false })]);
    await startAll(ms, 'app1');
    await waitRunsOnly(ms, 'app1', A);
    for (const m of ms) expect(await m.node.application.stop('app1')).toBe('ok');
    for (const m of ms) expect(await m.node.application.stop('app1')).toEqual({ error: { notStarted: 'app1' } });
    await startAll(ms, 'app1');
    await waitRunsOnly(ms, 'app1', A);
    expect(countStarts(c, 'app1', 'normal', A)).toBe(6);
    expect(countStarts(c, 'app1', 'normal', B)).toBe(0);
  });
});

describe('load and configuration', () => {
  // 56: distribution mismatch / reload — loading again (same or different spec) → error
  it('56: loading a started distributed app again is an error and does not disturb it', async () => {
    const { A, B, C } = names();
    const c = collector();
    const app1 = testApp(c, 'app1', { phases: false });
    const ms = await cluster.members([A, B, C], { distributed: [{ application: 'app1', timeout: 0, nodes: [A, B, C] }] }, [app1]);
    await startAll(ms, 'app1');
    await waitRunsOnly(ms, 'app1', A);
    for (const m of ms) {
      expect(m.node.application.load(app1)).toEqual({ error: { alreadyLoaded: 'app1' } });
      expect(m.node.application.load({ ...testApp(c, 'app1'), version: '2.0.0' })).toEqual({ error: { alreadyLoaded: 'app1' } });
    }
    await waitRunsOnly(ms, 'app1', A);
    expect(countStarts(c, 'app1', 'normal')).toBe(3);
  });

  // 56: nodes with different `distributed` entries for the same app detect it and say so
  it('56: a distribution mismatch between two nodes is reported on both (ERR_DISTRIBUTION_MISMATCH)', async () => {
    const { A, B } = names();
    const c = collector();
    const a = await cluster.member(A, { distributed: [{ application: 'p', timeout: 0, nodes: [A, B] }] }, [], [testApp(c, 'p')]);
    const b = await cluster.member(B, { distributed: [{ application: 'p', timeout: 0, nodes: [B, A] }] }, [a.node], [testApp(c, 'p')]);
    const mismatchA = await waitFor(() => a.reports.find((r) => r.code === 'ERR_DISTRIBUTION_MISMATCH'), 5000, 'mismatch reported on A');
    const mismatchB = await waitFor(() => b.reports.find((r) => r.code === 'ERR_DISTRIBUTION_MISMATCH'), 5000, 'mismatch reported on B');
    expect(mismatchA).toMatchObject({ kind: 'dist_ac', application: 'p', reason: { distributionMismatch: ['p', B] } });
    expect(mismatchB).toMatchObject({ kind: 'dist_ac', application: 'p', reason: { distributionMismatch: ['p', A] } });
    expect(mismatchA.message).toContain(B);
  });

  it('56: the same entry with an equal-priority group listed in another order is not a mismatch', async () => {
    const { A, B, C } = names();
    const a = await cluster.member(A, { distributed: [{ application: 'p', timeout: 0, nodes: [[A, B], C] }] });
    const b = await cluster.member(B, { distributed: [{ application: 'p', timeout: 0, nodes: [[B, A], C] }] }, [a.node]);
    const c2 = await cluster.member(C, { distributed: [{ application: 'p', timeout: 5, nodes: [[B, A], C] }] }, [a.node, b.node]);
    // C differs (timeout): reported; A and B agree with each other.
    await waitFor(() => c2.reports.some((r) => r.code === 'ERR_DISTRIBUTION_MISMATCH'), 5000, 'C reports');
    expect(a.reports.filter((r) => r.code === 'ERR_DISTRIBUTION_MISMATCH').map((r) => (r.reason as { distributionMismatch: unknown[] }).distributionMismatch[1])).toEqual([C]);
    expect(b.reports.filter((r) => r.code === 'ERR_DISTRIBUTION_MISMATCH').map((r) => (r.reason as { distributionMismatch: unknown[] }).distributionMismatch[1])).toEqual([C]);
  });
});

describe('netsplit (spec §g.8; rigil reconciles)', () => {
  // 60: netsplit double run — both sides run it during the partition; rigil keeps the better node's on heal
  it('60: partition A|B: B fails over (two instances); on heal exactly one remains, on A, and a reconcile report is emitted', async () => {
    const { A, B } = names();
    const c = collector();
    const kernel: KernelConfig = { distributed: [{ application: 'p', timeout: 300, nodes: [A, B] }] };
    const ms = await cluster.members([A, B], kernel, [testApp(c, 'p')]);
    const [a, b] = ms as [Member, Member];
    await startAll(ms, 'p');
    await waitRunsOnly(ms, 'p', A);
    const serverA = a.node.whereis(serverOf('p'))!;

    FaultyTransport.of(a.node).block(B);
    FaultyTransport.of(b.node).block(A);
    await waitFor(() => !a.node.net.isConnected(B) && !b.node.net.isConnected(A), 5000, 'partition');
    // During the partition both sides run it.
    await waitFor(() => where(b, 'p') === 'local', 5000, 'B to fail over');
    expect(where(a, 'p')).toBe('local');
    expect(countStarts(c, 'p', 'failover', B)).toBe(3);
    expect(b.dac.info('p')).toMatchObject({ node: B, cause: 'failover', previous: A });

    FaultyTransport.of(a.node).unblock(B);
    FaultyTransport.of(b.node).unblock(A);
    await a.node.connect(B);
    await waitFor(() => a.node.net.isConnected(B) && b.node.net.isConnected(A), 5000, 'heal');
    await waitRunsOnly(ms, 'p', A);
    // A's instance is the one that was kept (not restarted).
    expect(a.node.whereis(serverOf('p'))).toBe(serverA);
    expect(b.node.whereis(supOf('p'))).toBeUndefined();
    const report = await waitFor(() => [...a.reports, ...b.reports].find((r) => r.code === 'reconcile'), 3000, 'a reconcile report');
    expect(report).toMatchObject({ kind: 'dist_ac', application: 'p' });
    expect(b.dac.info('p')).toMatchObject({ node: A, cause: 'reconcile' });
    expect(a.dac.info('p').node).toBe(A);
    // and it stays that way
    await elapse(300);
    await waitRunsOnly(ms, 'p', A);
  });

  it('60: a partition with the better node in a three-node cluster heals to the better node on every view', async () => {
    const { A, B, C } = names();
    const c = collector();
    const kernel: KernelConfig = { distributed: [{ application: 'p', timeout: 0, nodes: [A, B, C] }] };
    const ms = await cluster.members([A, B, C], kernel, [testApp(c, 'p')]);
    const [a, b, cc] = ms as [Member, Member, Member];
    await startAll(ms, 'p');
    await waitRunsOnly(ms, 'p', A);
    // A | B, C
    for (const x of [b, cc]) {
      FaultyTransport.of(a.node).block(x.node.name);
      FaultyTransport.of(x.node).block(A);
    }
    await waitFor(() => a.node.nodes().length === 0 && !b.node.net.isConnected(A) && !cc.node.net.isConnected(A), 5000, 'partition');
    await waitFor(() => where(b, 'p') === 'local', 5000, 'B to fail over');
    expect(where(a, 'p')).toBe('local');
    for (const x of [b, cc]) {
      FaultyTransport.of(a.node).unblock(x.node.name);
      FaultyTransport.of(x.node).unblock(A);
    }
    await a.node.connect(B);
    await a.node.connect(C);
    await waitFor(() => ms.every((m) => m.node.nodes().length === 2), 5000, 'heal');
    await waitRunsOnly(ms, 'p', A);
    expect([...a.reports, ...b.reports, ...cc.reports].some((r) => r.code === 'reconcile')).toBe(true);
    for (const m of ms) expect(m.dac.info('p').node).toBe(A);
  });
});

// 57 (config change does not move apps) is not covered: rigil has no runtime API to change
// `distributed` (no release handling / config_change).

