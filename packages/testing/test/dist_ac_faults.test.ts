/**
 * dist-ac under faults, on the simulated cluster (issue 14): a failover that finishes after
 * the "dead" node is back, one decider for the survivor after a heal (dist-ac and `global`),
 * records that stay current through a heal made one link at a time, a takeover whose old node
 * dies mid-way, slow peers, a start whose picked node never acts, a cut between two nodes that
 * a third reaches, a picked node whose start fails, and the move history. Each failed on the
 * dist_ac.ts before issue 14.
 */
import { describe, expect, it } from 'vitest';
import { genServer, supervisor, type ApplicationSpec, type Node, type Process, type StartType } from '@rigil/core';
import { distAcOf, distAcResolver, type KernelConfig } from '@rigil/dist-ac';
import { globalOf, type DistNode } from '@rigil/net';
import { runners, useSims } from './helpers.js';
import type { Simulation } from '../src/index.js';

const sim = useSims();
const NAMES = ['a@a', 'b@b', 'c@c'];
const [A, B, C] = NAMES as [string, string, string];

/** Every start and stop of the test application, by node. */
interface Trace {
  readonly starts: Array<{ node: string; type: StartType; at: number }>;
  readonly stops: Array<{ node: string; at: number }>;
}

interface AppOptions {
  /** Virtual ms each start phase of a failover or takeover takes. */
  readonly slowPhaseMs?: number;
  /** Virtual ms `prepStop` takes. */
  readonly prepStopMs?: number;
  /** Register the server globally as `name` in the `go` phase, with dist-ac's resolver. */
  readonly globalName?: boolean;
}

/**
 * A stateful distributed application in the shape of toliman's proxima: a supervisor with
 * intensity 0 over one server, start phases `init` and `go`; `go` registers the server
 * globally. Every start and stop goes into `trace`.
 */
function stateful(name: string, trace: Trace, o: AppOptions = {}): ApplicationSpec {
  const server: genServer.GenServerBehaviour<string, undefined> = {
    init: (_a, self) => ({ ok: self.node.name }),
    handleCall: (_req, _from, state) => ({ reply: state, state }),
  };
  const sup: supervisor.SupervisorBehaviour<undefined> = {
    init: () => ({ flags: { strategy: 'one_for_all', intensity: 0, period: 1 }, children: [supervisor.worker('srv', server, undefined, { name: `${name}_srv` })] }),
  };
  const mod: ApplicationSpec['mod'] & object = {
    start: async (type: StartType, _a: unknown, self: Process) => {
      trace.starts.push({ node: self.node.name, type, at: self.node.clock.now() });
      const r = await supervisor.startLink(self, sup, undefined, { name: `${name}_sup` });
      return typeof r === 'object' && 'ok' in r ? { ok: r.ok, state: self.node } : r;
    },
    startPhase: async (phase: string, type: StartType, _a: unknown, self: Process) => {
      if (phase === 'init' && type !== 'normal' && o.slowPhaseMs !== undefined) await self.node.delay(o.slowPhaseMs);
      if (phase === 'go' && o.globalName === true) {
        const pid = self.node.whereis(`${name}_srv`)!;
        if ((await globalOf(self).reRegister(name, pid, distAcResolver(name))) !== 'yes') return { error: 'global registration failed' };
      }
      return 'ok';
    },
    prepStop: async (node: unknown) => {
      if (o.prepStopMs !== undefined) await (node as Node).delay(o.prepStopMs);
      return node;
    },
    stop: (node: unknown) => {
      trace.stops.push({ node: (node as Node).name, at: (node as Node).clock.now() });
    },
  };
  return { name, version: '1.0.0', startPhases: [{ name: 'init' }, { name: 'go' }], mod };
}

/** Starts `names` in order, each seeded with the ones before it, with `kernel` and the application; runs until a full mesh. */
async function cluster(s: Simulation, names: readonly string[], kernel: KernelConfig, spec: ApplicationSpec, tickTime = 1000): Promise<DistNode[]> {
  const nodes: DistNode[] = [];
  for (const [i, name] of names.entries()) nodes.push(await s.startNode({ name, tickTime, seeds: names.slice(0, i), kernel, apps: [spec] }));
  await s.runUntil(() => nodes.every((n) => n.nodes().length === names.length - 1), 10_000, 'the full mesh');
  return nodes;
}

/** True when `app` runs on `where` only, and every live node's records (dist-ac's and the controller's) say so. */
function settledOn(nodes: readonly DistNode[], app: string, where: string): boolean {
  const live = nodes.filter((n) => !n.stopped);
  return (
    runners(live, app).join() === where &&
    live.every((n) => distAcOf(n).info(app).node === where && (n.name === where ? n.application.whereRunning(app) === 'local' : n.application.whereRunning(app) === where))
  );
}

/** `sim.runUntil` that says what the cluster looked like when it timed out. */
async function until(s: Simulation, pred: () => boolean, maxMs: number, what: () => string): Promise<void> {
  try {
    await s.runUntil(pred, maxMs);
  } catch (e) {
    throw new Error(`${what()} — ${String(e)}`);
  }
}

function describeState(nodes: readonly DistNode[], app: string): string {
  return nodes
    .filter((n) => !n.stopped)
    .map((n) => `${n.name}: runs ${n.application.whereRunning(app)} / info ${distAcOf(n).info(app).node} / peers [${n.nodes().join(' ')}]`)
    .join('; ');
}

describe('dist-ac under faults (simulated)', () => {
  it('a failover that finishes after the "dead" node is back never stops that node\'s instance: the better node keeps it, the failover\'s instance is reconciled away', async () => {
    const s = sim(1401);
    const trace: Trace = { starts: [], stops: [] };
    const kernel: KernelConfig = { distributed: [{ application: 'p', timeout: 500, nodes: [A, B, C] }], syncNodesOptional: [A, B, C], syncNodesTimeout: 2000 };
    const nodes = await cluster(s, [A, B, C], kernel, stateful('p', trace, { slowPhaseMs: 1500 }));
    await s.wait(Promise.all(nodes.map((n) => n.application.start('p'))));
    await s.runUntil(() => settledOn(nodes, 'p', A), 5000, 'p on A');
    // A single A–B link flap: B (and C, through the prevention of overlapping partitions) loses A.
    s.cut(A, B);
    const b = nodes[1]!;
    await s.runUntil(() => trace.starts.some((x) => x.node === B), 10_000, 'B to begin its failover');
    s.heal(A, B);
    await until(s, () => settledOn(nodes, 'p', A), 20_000, () => `p back on A only: ${describeState(nodes, 'p')}`);
    // A's instance was never stopped nor restarted: its state survived.
    expect(trace.starts.filter((x) => x.node === A)).toHaveLength(1);
    expect(nodes[0]!.application.startTypeOf('p')).toBe('normal');
    expect(distAcOf(b).info('p').node).toBe(A);
    await s.run(3000);
    expect(settledOn(nodes, 'p', A)).toBe(true);
    expect(s.errors).toEqual([]);
  });

  it('one decider after a heal: priority order opposite to name order, slow prepStop — dist-ac and global keep the same instance', async () => {
    const s = sim(1402);
    const trace: Trace = { starts: [], stops: [] };
    // C is the best node, A the worst: global's default resolver would keep the pid on A.
    const kernel: KernelConfig = { distributed: [{ application: 'q', timeout: 300, nodes: [C, B, A] }], syncNodesOptional: [A, B, C], syncNodesTimeout: 2000 };
    const nodes = await cluster(s, [A, B, C], kernel, stateful('q', trace, { globalName: true, prepStopMs: 200 }));
    await s.wait(Promise.all(nodes.map((n) => n.application.start('q'))));
    await s.runUntil(() => settledOn(nodes, 'q', C) && nodes.every((n) => n.global.whereis('q')?.node === C), 5000, 'q on C');
    s.partition([[C], [A, B]]);
    await until(s, () => runners(nodes, 'q').sort().join() === [B, C].join(), 20_000, () => `q failed over to B: ${describeState(nodes, 'q')}`);
    s.healAll();
    await until(
      s,
      () => settledOn(nodes, 'q', C) && nodes.every((n) => n.global.whereis('q')?.node === C),
      30_000,
      () => `q on C only, global name on C: ${describeState(nodes, 'q')}; names ${nodes.map((n) => n.global.whereis('q')?.node).join()}`,
    );
    await s.run(3000);
    expect(settledOn(nodes, 'q', C)).toBe(true);
    expect(nodes.map((n) => n.global.whereis('q')?.node)).toEqual([C, C, C]);
    // C's instance ran through it all.
    expect(trace.starts.filter((x) => x.node === C)).toHaveLength(1);
    expect(s.errors).toEqual([]);
  });

  it('records stay current through a heal made one link at a time, so the application still fails over afterwards', async () => {
    const s = sim(1403);
    const trace: Trace = { starts: [], stops: [] };
    const kernel: KernelConfig = { distributed: [{ application: 'p', timeout: 300, nodes: [A, B, C] }], syncNodesOptional: [A, B, C], syncNodesTimeout: 2000 };
    const nodes = await cluster(s, [A, B, C], kernel, stateful('p', trace));
    await s.wait(Promise.all(nodes.map((n) => n.application.start('p'))));
    await s.runUntil(() => settledOn(nodes, 'p', A), 5000, 'p on A');
    s.partition([[A], [B], [C]]);
    await until(s, () => runners(nodes, 'p').length === 3, 20_000, () => `p on every side: ${describeState(nodes, 'p')}`);
    for (const [x, y] of [
      [A, B],
      [B, C],
      [A, C],
    ] as const) {
      s.heal(x, y);
      await s.run(3000);
    }
    await until(s, () => settledOn(nodes, 'p', A), 20_000, () => `p on A only, everywhere recorded: ${describeState(nodes, 'p')}`);
    s.crash(A);
    const live = nodes.slice(1);
    await until(s, () => settledOn(live, 'p', B), 10_000, () => `p failed over to B: ${describeState(live, 'p')}`);
    expect(s.errors).toEqual([]);
  });

  it('the old node dying mid-takeover starts no second, concurrent decision: the takeover stands', async () => {
    const s = sim(1404);
    const trace: Trace = { starts: [], stops: [] };
    const kernel: KernelConfig = { distributed: [{ application: 'p', timeout: 300, nodes: [A, B, C] }], syncNodesOptional: [A, B, C], syncNodesTimeout: 2000 };
    const spec = stateful('p', trace, { slowPhaseMs: 2000 });
    const nodes = await cluster(s, [A, B, C], kernel, spec);
    const [, b, c] = nodes as [DistNode, DistNode, DistNode];
    await s.wait(Promise.all(nodes.map((n) => n.application.start('p'))));
    s.crash(A);
    await s.runUntil(() => settledOn([b, c], 'p', B), 10_000, 'failover to B');
    const a2 = await s.restart(A, { seeds: [B, C] });
    await s.runUntil(() => a2.nodes().length === 2, 5000, 'the restarted A to join');
    const started = a2.application.start('p');
    await s.runUntil(() => trace.starts.filter((x) => x.node === A).length === 2, 5000, 'the takeover to begin');
    s.crash(B);
    expect(await s.wait(started, 20_000)).toBe('ok');
    await until(s, () => settledOn([a2, c], 'p', A), 10_000, () => `p on A: ${describeState([a2, c], 'p')}`);
    await s.run(2000);
    expect(distAcOf(a2).info('p')).toMatchObject({ node: A, cause: 'takeover', startType: { takeover: B } });
    expect(trace.starts.filter((x) => x.node === A)).toHaveLength(2); // the first A, then the takeover: no failover start
    expect(s.errors).toEqual([]);
  });

  it('a slow peer is waited for, not counted as not running: no second instance', async () => {
    const s = sim(1405);
    const trace: Trace = { starts: [], stops: [] };
    const kernel: KernelConfig = { distributed: [{ application: 'p', timeout: 300, nodes: [A, C] }], syncNodesOptional: [A, C], syncNodesTimeout: 2000 };
    // A long tick: a 40 s stall is a slow node, not a dead one.
    const nodes = await cluster(s, [A, C], kernel, stateful('p', trace), 120_000);
    const [a, c] = nodes as [DistNode, DistNode];
    expect(await s.wait(a.application.start('p'))).toBe('ok');
    s.stall(A, 40_000);
    const started = c.application.start('p');
    expect(await s.wait(started, 60_000)).toBe('ok');
    expect(runners(nodes, 'p')).toEqual([A]);
    expect(c.application.whereRunning('p')).toBe(A);
    expect(trace.starts.map((x) => x.node)).toEqual([A]);
    expect(s.errors).toEqual([]);
  });

  it('a node booting while the picked node never acts does not hang: its start resolves once the application is placed', async () => {
    const s = sim(1406);
    const trace: Trace = { starts: [], stops: [] };
    // Never failed over: when A dies, p runs nowhere and B (started, idle) is the best node left.
    const kernel: KernelConfig = { distributed: [{ application: 'p', timeout: Infinity, nodes: [A, B, C] }], syncNodesOptional: [A, B, C], syncNodesTimeout: 2000 };
    const nodes = await cluster(s, [A, B, C], kernel, stateful('p', trace));
    await s.wait(Promise.all(nodes.map((n) => n.application.start('p'))));
    s.crash(A);
    s.crash(C);
    await s.run(2000);
    expect(runners([nodes[1]!], 'p')).toEqual([]);
    const c2 = await s.restart(C, { seeds: [B] });
    await s.runUntil(() => c2.nodes().length === 1, 5000, 'the restarted C to join');
    expect(await s.wait(c2.application.start('p'), 10_000, 'C\'s application.start')).toBe('ok');
    await until(s, () => settledOn([nodes[1]!, c2], 'p', B), 5000, () => `p on B: ${describeState([nodes[1]!, c2], 'p')}`);
    expect(s.errors).toEqual([]);
  });

  it('a cut between A and B while C could reach both: C stays on one side (prevent-overlapping partitions), each side runs one instance, the heal keeps the better one and records stay current', async () => {
    const s = sim(1408);
    const trace: Trace = { starts: [], stops: [] };
    const kernel: KernelConfig = { distributed: [{ application: 'p', timeout: 300, nodes: [A, B, C] }], syncNodesOptional: [A, B, C], syncNodesTimeout: 2000 };
    const nodes = await cluster(s, [A, B, C], kernel, stateful('p', trace));
    const [a, b] = nodes as [DistNode, DistNode, DistNode];
    await s.wait(Promise.all(nodes.map((n) => n.application.start('p'))));
    await s.runUntil(() => settledOn(nodes, 'p', A), 5000, 'p on A');
    s.cut(A, B);
    await s.runUntil(() => !b.nodes().includes(A) && !a.nodes().includes(B), 10_000, 'A and B to lose each other');
    // global's prevention of overlapping partitions keeps C on one side (here A's) although C
    // redials B for life: the cut splits the cluster into {A, C} and {B}, and each partition
    // runs its own instance (no quorum, as OTP's dist_ac) — never two in one connected group.
    await until(s, () => trace.starts.some((x) => x.node === B), 10_000, () => `B to fail over: ${describeState(nodes, 'p')}`);
    const c = nodes[2]!;
    for (let i = 0; i < 50; i++) {
      await s.run(100);
      expect(c.nodes().includes(A) && c.nodes().includes(B), `C connected to both sides at ${s.now} ms`).toBe(false);
    }
    expect(c.nodes()).toEqual([A]);
    expect(c.application.whereRunning('p')).toBe(A);
    expect(trace.starts.filter((x) => x.node === A)).toHaveLength(1);
    s.heal(A, B);
    await until(s, () => nodes.every((n) => n.nodes().length === 2) && settledOn(nodes, 'p', A), 20_000, () => `p on A only after the heal: ${describeState(nodes, 'p')}`);
    expect(s.errors).toEqual([]);
  });

  it('a node waiting on the picked node learns that its start failed (OTP\'s dist_ac_app_started with an error) instead of waiting forever', async () => {
    const s = sim(1409);
    const trace: Trace = { starts: [], stops: [] };
    const kernel: KernelConfig = { distributed: [{ application: 'p', timeout: 300, nodes: [A, B] }], syncNodesOptional: [A, B], syncNodesTimeout: 2000 };
    const spec = stateful('p', trace);
    // p cannot start on A.
    const failing: ApplicationSpec = { ...spec, mod: { ...spec.mod!, start: (type, args, self) => (self.node.name === A ? { error: 'broken here' } : spec.mod!.start(type, args, self)) } };
    const nodes = await cluster(s, [A, B], kernel, failing);
    const [a, b] = nodes as [DistNode, DistNode];
    const waiting = b.application.start('p');
    await s.run(1000);
    expect(await s.wait(a.application.start('p'))).toMatchObject({ error: expect.anything() });
    expect(await s.wait(waiting, 5000, 'B\'s start')).toEqual({ error: { startFailed: A } });
    expect(runners(nodes, 'p')).toEqual([]);
    expect(s.errors).toEqual([]);
  });

  it('distAc.info keeps a bounded history of moves, with their epochs', async () => {
    const s = sim(1407);
    const trace: Trace = { starts: [], stops: [] };
    const kernel: KernelConfig = { distributed: [{ application: 'p', timeout: 300, nodes: [A, B, C] }], syncNodesOptional: [A, B, C], syncNodesTimeout: 2000 };
    const nodes = await cluster(s, [A, B, C], kernel, stateful('p', trace));
    const [, b, c] = nodes as [DistNode, DistNode, DistNode];
    await s.wait(Promise.all(nodes.map((n) => n.application.start('p'))));
    await s.runUntil(() => settledOn(nodes, 'p', A), 5000, 'p on A');
    s.crash(A);
    await s.runUntil(() => settledOn([b, c], 'p', B), 5000, 'failover to B');
    expect(await s.wait(c.application.takeover('p', 'temporary'))).toBe('ok');
    await s.runUntil(() => settledOn([b, c], 'p', C), 5000, 'takeover by C');
    const h = distAcOf(b).info('p').history;
    expect(h.map((m) => [m.node, m.cause])).toEqual([
      [A, 'start'],
      [null, 'stopped'],
      [B, 'failover'],
      [C, 'takeover'],
    ]);
    expect(h.every((m) => typeof m.at === 'string')).toBe(true);
    // Epochs: A (rank 0 of 3) mints 1, the stop names it, B (rank 1) mints 2, C (rank 2) mints 3.
    expect(h.map((m) => m.epoch)).toEqual([1, 1, 2, 3]);
    expect(h[3]).toMatchObject({ startType: { takeover: B }, previous: B });
    // Bounded: many moves keep only the last HISTORY_LIMIT.
    for (let i = 0; i < 14; i++) {
      const to = i % 2 === 0 ? b : c; // 4 + 14 moves
      expect(await s.wait(to.application.takeover('p', 'temporary'))).toBe('ok');
    }
    expect(distAcOf(b).info('p').history.length).toBe(16);
    expect(distAcOf(b).info('p').history.at(-1)).toMatchObject({ node: C, cause: 'takeover' });
    expect(s.errors).toEqual([]);
  });
});
