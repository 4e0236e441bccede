/**
 * Conformance scenarios §G (73–81, toliman_SUITE @ beam-31) on the simulated cluster of
 * @rigil/testing: toliman's real proxima and centauri applications, with the real dist-ac,
 * global and net_kernel under one virtual clock. Nodes `a@a` and `b@b` have the original
 * suite's kernel config (proxima on [a, b], failover after 1000 ms, sync nodes a and b with a
 * 1000 ms timeout). Every timing of the spec ("≥ 1 s after nodedown", "within 2 s", "retried
 * after 500 ms") is asserted against virtual time, and each scenario runs with several seeds.
 * The real-socket versions are scenarios.test.ts (in-process nodes) and toliman.test.ts (OS
 * processes).
 *
 * "Stop A gracefully" is `sim.stopNode` (applications stopped, connections closed);
 * `erlang:halt()` is `sim.crash` (state gone, connections reset); a restarted node is
 * `sim.restart` (same name and address, new creation, the same config and applications).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { genServer, sys, type ExitReason, type Pid } from '@rigil/core';
import { DistAc, type KernelConfig } from '@rigil/dist-ac';
import type { DistNode } from '@rigil/net';
import { Simulation } from '@rigil/testing';
import { agreed, centauriFollows, kind, phasesOf as phasesOn, recorder, stateVia, str, type Recorder } from './recording.js';
import { centauri, centauriServer, hello, proximaServer, type CentauriState, type ProximaState } from '../src/index.js';

const A = 'a@a';
const B = 'b@b';
const SEEDS = [1, 2, 3];
/** Virtual times carry latency jitter: "at least 1000 ms" is checked to within float rounding. */
const FP = 1e-6;
const KERNEL: KernelConfig = {
  distributed: [{ application: 'proxima', timeout: 1000, nodes: [A, B] }],
  syncNodesMandatory: [],
  syncNodesOptional: [A, B],
  syncNodesTimeout: 1000,
};

// ------------------------------------------------------------------ simulations

const sims: Simulation[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const s of sims.splice(0)) await s.stop();
});

function sim(seed: number): Simulation {
  const s = new Simulation({ seed, logFrames: false });
  sims.push(s);
  return s;
}

// ------------------------------------------------------------------ toliman nodes

/** A toliman node: proxima (recorded) and centauri loaded, dist-ac booted with the suite's config (sync included). */
async function member(s: Simulation, rec: Recorder, name: string, seeds: string[]): Promise<{ node: DistNode; bootMs: number }> {
  const t0 = s.now;
  const node = await s.startNode({ name, tickTime: 1000, seeds, kernel: KERNEL, apps: [rec.spec, centauri] });
  return { node, bootMs: s.now - t0 };
}

/** A then B (the original's start_slaves), connected both ways. */
async function cluster(seed: number): Promise<{ s: Simulation; rec: Recorder; a: DistNode; b: DistNode }> {
  const s = sim(seed);
  const rec = recorder((self) => self.node.clock.now());
  const { node: a } = await member(s, rec, A, [B]);
  const { node: b } = await member(s, rec, B, [A]);
  await s.runUntil(() => a.nodes().includes(B) && b.nodes().includes(A), 1000, 'a and b connected');
  return { s, rec, a, b };
}

/** The original's start_application(N, centauri). */
async function startCentauri(s: Simulation, n: DistNode): Promise<void> {
  expect(await s.wait(n.application.ensureAllStarted('centauri'))).toEqual({ ok: ['centauri'] });
}

/** Runs until `f` (sync) gives a value; throws after `ms` of virtual time. */
async function until<T>(s: Simulation, what: string, f: () => T | undefined, ms: number): Promise<T> {
  let v: T | undefined;
  await s.runUntil(() => (v = f()) !== undefined, ms, what);
  return v!;
}

/** Runs until the proxima on `at` maps every node of `from` to its centauri pid (hello + pong done); returns that state. */
async function handshaked(s: Simulation, at: DistNode, from: DistNode[], ms = 2000): Promise<ProximaState> {
  const deadline = s.now + ms;
  for (;;) {
    const st = await s.wait(stateVia(at, at.name), 1000);
    if (st !== undefined && from.every((n) => n.whereis('centauri') !== undefined && st.starts[n.name] === String(n.whereis('centauri')))) return st;
    if (s.now > deadline) throw new Error(`centauri of ${from.map((n) => n.name).join(', ')} did not handshake with the proxima on ${at.name} within ${ms} ms (seed ${s.seed})`);
    await s.run(10);
  }
}

/** Virtual times at which `observer` sees `node` go down. */
function nodedowns(observer: DistNode, node: string): number[] {
  const at: number[] = [];
  observer.onNodeEvent((e) => {
    if (e.type === 'nodedown' && e.node === node) at.push(observer.clock.now());
  });
  return at;
}

/** Steps 1–4 of t_a_b_failover: both nodes up, centauri started on A then B, proxima on A, both handshaked. */
async function running(seed: number): Promise<{ s: Simulation; rec: Recorder; a: DistNode; b: DistNode; pidA: Pid }> {
  const c = await cluster(seed);
  await startCentauri(c.s, c.a);
  await startCentauri(c.s, c.b);
  const pidA = await until(c.s, 'proxima on A, global agrees on A and B', () => agreed(c.a, c.a, c.b), 2000);
  await handshaked(c.s, c.a, [c.a, c.b]);
  return { ...c, pidA };
}

/** Step 5–6 of t_a_b_failover (graceful) or of t_a_b_hard_failover (`halt`): A goes, B runs proxima. */
async function failedOverToB(seed: number, how: 'stop' | 'halt'): Promise<{ s: Simulation; rec: Recorder; b: DistNode; pidA: Pid; pidB: Pid; down: number[]; t0: number; goneAt: number | undefined }> {
  const { s, rec, b, pidA } = await running(seed);
  const down = nodedowns(b, A);
  let goneAt: number | undefined;
  b.onNodeEvent(() => {
    if (goneAt === undefined && b.global.whereis('proxima') === undefined) goneAt = s.now;
  });
  const t0 = s.now;
  if (how === 'stop') await s.stopNode(A);
  else s.crash(A);
  const pidB = await until(s, 'proxima failed over to B', () => (b.whereis('proxima') !== undefined ? agreed(b, b) : undefined), 3000);
  return { s, rec, b, pidA, pidB, down, t0, goneAt };
}

// ------------------------------------------------------------------ the scenarios

describe('toliman scenarios §G on the simulated cluster', () => {
  it.each(SEEDS)('73: boot sync: A waits syncNodesTimeout for the absent B; B finds A at once and both dist_acs know each other before any app starts (seed %i)', async (seed) => {
    const s = sim(seed);
    const rec = recorder((self) => self.node.clock.now());
    const hellos: Array<{ at: string; from: string; answered: number }> = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const original = DistAc.prototype.handleRequest;
    vi.spyOn(DistAc.prototype, 'handleRequest').mockImplementation(async function (this: DistAc, req) {
      const r = await original.call(this, req);
      if (req.op === 'hello') hellos.push({ at: this.node.name, from: req.from, answered: this.node.clock.now() });
      return r;
    });
    const { node: a, bootMs: bootA } = await member(s, rec, A, [B]);
    expect(bootA).toBeGreaterThanOrEqual(1000 - FP);
    expect(bootA).toBeLessThan(1200);
    expect(a.nodes()).toEqual([]);

    const { node: b, bootMs: bootB } = await member(s, rec, B, [A]);
    const bootedB = s.now;
    expect(bootB).toBeLessThan(100);
    expect(b.nodes()).toEqual([A]);
    await s.runUntil(() => a.nodes().includes(B), 100, 'A sees B');
    const intro = hellos.find((h) => h.at === A && h.from === B);
    expect(intro).toBeDefined();
    expect(intro!.answered).toBeLessThanOrEqual(bootedB);
    for (const n of [a, b]) expect(n.application.whichApplications()).toEqual([]);
    expect(rec.starts).toEqual([]);
  });

  it.each(SEEDS)('74: normal start on the primary: proxima on A only (normal; init → takeover → go), global agrees within 2 s, both centauris handshaked (seed %i)', async (seed) => {
    const { s, rec, a, b } = await cluster(seed);
    await startCentauri(s, a);
    await startCentauri(s, b);
    const t0 = s.now;
    expect(rec.starts.map((x) => [x.node, x.type])).toEqual([[A, 'normal']]);
    expect(phasesOn(rec, A)).toEqual([
      ['init', 'normal'],
      ['takeover', 'normal'],
      ['go', 'normal'],
    ]);
    expect(phasesOn(rec, B)).toEqual([]);
    expect(a.application.whereRunning('proxima')).toBe('local');
    expect(b.application.whereRunning('proxima')).toBe(A);
    const pidA = await until(s, 'local proxima on A == global proxima seen from B', () => agreed(a, b), 2000);
    expect(pidA.node).toBe(A);
    expect(b.whereis('proxima')).toBeUndefined();
    expect(b.application.whichApplications().map((x) => x.name)).toEqual(['centauri']);
    const st = await handshaked(s, a, [a, b], 2000);
    expect(s.now - t0).toBeLessThan(2000);
    expect(Object.keys(st.starts).sort()).toEqual([A, B]);
    expect(st.served).toEqual([A]);
    expect(s.errors).toEqual([]);
  });

  it.each(SEEDS)("75: graceful failover: B starts proxima {failover, A} ≥ 1000 ms after nodedown and within 2 s; global → B's pid; B's centauri re-handshakes (seed %i)", async (seed) => {
    const { s, rec, b, pidA, pidB, down, t0 } = await failedOverToB(seed, 'stop');
    expect(down).toHaveLength(1);
    const onB = rec.starts.filter((x) => x.node === B);
    expect(onB.map((x) => x.type)).toEqual([{ failover: A }]);
    expect(onB[0]!.at - down[0]!).toBeGreaterThanOrEqual(1000 - FP);
    expect(s.now - t0).toBeLessThan(2000);
    expect(phasesOn(rec, B)).toEqual([
      ['init', { failover: A }],
      ['takeover', { failover: A }],
      ['go', { failover: A }],
    ]);
    expect(b.application.startTypeOf('proxima')).toEqual({ failover: A });
    expect(pidB.node).toBe(B);
    expect(String(pidB)).not.toBe(String(pidA));
    await handshaked(s, b, [b], 2000);
    await s.runUntil(() => centauriFollows(b, pidB), 1000, "B's centauri monitors B's proxima");
  });

  it.each(SEEDS)("76: a restarted A takes over {takeover, B}: the name moves to A before B's instance stops, B's state is copied, centauri follows (seed %i)", async (seed) => {
    const { s, rec, b, pidB } = await failedOverToB(seed, 'stop');
    await handshaked(s, b, [b]);
    const since = s.now;
    const a2 = await s.restart(A);
    await s.runUntil(() => a2.nodes().includes(B), 1000, 'the new A to join');
    let atDown: { global: string | undefined; localA: string | undefined; reason: ExitReason } | undefined;
    b.monitor(pidB, { onDown: (_ref, reason) => (atDown = { global: str(b.global.whereis('proxima')), localA: str(a2.whereis('proxima')), reason }) });
    // B's replica of the global name, after every event of the takeover.
    const seen: string[] = [];
    const started = a2.application.ensureAllStarted('centauri');
    let result: unknown;
    void started.then((x) => (result = x));
    await s.runUntil(() => {
      const last = str(b.global.whereis('proxima')) ?? 'none';
      if (seen.at(-1) !== last) seen.push(last);
      return result !== undefined && atDown !== undefined && b.whereis('proxima') === undefined && agreed(a2, a2, b) !== undefined;
    }, 3000, 'the takeover to complete');
    expect(result).toEqual({ ok: ['centauri'] });
    const pidA2 = a2.whereis('proxima')!;
    expect(s.now - since).toBeLessThan(3000);
    expect(rec.starts.filter((x) => x.at >= since).map((x) => [x.node, x.type])).toEqual([[A, { takeover: B }]]);
    expect(phasesOn(rec, A, since)).toEqual([
      ['init', { takeover: B }],
      ['takeover', { takeover: B }],
      ['go', { takeover: B }],
    ]);
    // When B's instance went down, the name (on B) already pointed at A's new instance.
    expect(atDown!.global).toBe(String(pidA2));
    expect(atDown!.localA).toBe(String(pidA2));
    expect(seen).toEqual([String(pidB), String(pidA2)]);
    const st = await s.wait(stateVia(a2, A));
    expect(st!.served).toEqual([B, A]);
    expect(st!.starts[B]).toBe(String(b.whereis('centauri')));
    await s.runUntil(() => centauriFollows(b, pidA2), 2000, "B's centauri monitors A's new proxima");
    await handshaked(s, a2, [a2, b], 2000);
  });

  it.each(SEEDS)("77: hard failover (halt): A's name leaves B's replica at the disconnect, B fails over 1000 ms later; a new A takes over (seed %i)", async (seed) => {
    const { s, rec, b, pidA, pidB, down, goneAt } = await failedOverToB(seed, 'halt');
    expect(down).toHaveLength(1);
    // The name of A's pid went with the connection, not with the failover.
    expect(goneAt).toBeDefined();
    expect(goneAt! - down[0]!).toBeLessThan(1);
    const onB = rec.starts.filter((x) => x.node === B);
    expect(onB.map((x) => x.type)).toEqual([{ failover: A }]);
    expect(onB[0]!.at - down[0]!).toBeGreaterThanOrEqual(1000 - FP);
    expect(onB[0]!.at - down[0]!).toBeLessThan(1100);
    expect(phasesOn(rec, B).map(([p, t]) => [p, kind(t)])).toEqual([
      ['init', 'failover'],
      ['takeover', 'failover'],
      ['go', 'failover'],
    ]);
    await handshaked(s, b, [b]);

    const a2 = await s.restart(A);
    await s.runUntil(() => a2.nodes().includes(B), 1000, 'the new A to join');
    const since = s.now;
    await startCentauri(s, a2);
    const pidA2 = await until(s, 'proxima on the new A, global agrees on B', () => agreed(a2, a2, b), 2000);
    expect(String(pidA2)).not.toBe(String(pidA));
    expect(rec.starts.filter((x) => x.at >= since).map((x) => [x.node, x.type])).toEqual([[A, { takeover: B }]]);
    await s.runUntil(() => b.whereis('proxima') === undefined, 2000, "B's instance stopped");
    expect(String(pidB)).not.toBe(String(pidA2));
    expect((await s.wait(stateVia(a2, A)))!.served).toEqual([B, A]);
  });

  it.each(SEEDS)('78: manual takeover both ways: each returns ok with the local proxima already the global one; the old instance stops after the new one fully started (seed %i)', async (seed) => {
    const { s, rec, a, b, pidA } = await running(seed);
    let oldADown: number | undefined;
    a.monitor(pidA, { onDown: () => (oldADown = s.now) });
    const t1 = s.now;
    expect(await s.wait(b.application.takeover('proxima', 'permanent'))).toBe('ok');
    const pidB = b.whereis('proxima');
    expect(pidB?.node).toBe(B);
    expect(str(b.global.whereis('proxima'))).toBe(String(pidB));
    expect(b.application.startTypeOf('proxima')).toEqual({ takeover: A });
    expect(phasesOn(rec, B, t1)).toEqual([
      ['init', { takeover: A }],
      ['takeover', { takeover: A }],
      ['go', { takeover: A }],
    ]);
    await s.runUntil(() => oldADown !== undefined && a.whereis('proxima') === undefined, 2000, "A's instance stopped");
    const goB = rec.go.filter((g) => g.node === B);
    expect(goB).toHaveLength(1);
    expect(oldADown!).toBeGreaterThanOrEqual(goB[0]!.done);
    expect(a.application.whereRunning('proxima')).toBe(B);
    expect((await s.wait(stateVia(b, B)))!.served).toEqual([A, B]);

    await s.run(2000);
    let oldBDown: number | undefined;
    b.monitor(pidB!, { onDown: () => (oldBDown = s.now) });
    const t2 = s.now;
    expect(await s.wait(a.application.takeover('proxima', 'permanent'))).toBe('ok');
    // Immediately, no wait: A's local proxima is A's global proxima.
    const pidA1 = a.whereis('proxima');
    expect(pidA1?.node).toBe(A);
    expect(str(a.global.whereis('proxima'))).toBe(String(pidA1));
    expect(String(pidA1)).not.toBe(String(pidA));
    expect(phasesOn(rec, A, t2)).toEqual([
      ['init', { takeover: B }],
      ['takeover', { takeover: B }],
      ['go', { takeover: B }],
    ]);
    await s.runUntil(() => oldBDown !== undefined && b.whereis('proxima') === undefined, 2000, "B's instance stopped");
    expect(oldBDown!).toBeGreaterThanOrEqual(rec.go.filter((g) => g.node === A && g.at >= t2)[0]!.done);
    expect(str(b.global.whereis('proxima'))).toBe(String(pidA1));
    expect((await s.wait(stateVia(a, A)))!.served).toEqual([A, B, A]);
  });

  it.each(SEEDS)('79: a takeover copies the old state as it was at get_state; a failover instance starts empty (seed %i)', async (seed) => {
    const { s, rec, a, b } = await running(seed);
    const old = await handshaked(s, a, [a, b]);
    expect(await s.wait(b.application.takeover('proxima', 'permanent'))).toBe('ok');
    const g = rec.go.find((x) => x.node === B && kind(x.type) === 'takeover');
    expect(g).toBeDefined();
    expect(g!.before).toEqual(old);
    expect(g!.after!.starts).toEqual(g!.before!.starts);
    expect(Object.keys(g!.after!.starts).sort()).toEqual([A, B]);
    expect(g!.after!.served).toEqual([...g!.before!.served, B]);

    await s.runUntil(() => b.whereis('proxima') !== undefined && centauriFollows(a, b.whereis('proxima')!), 2000, "A's centauri follows B's proxima");
    await s.stopNode(B);
    const pidA = await until(s, 'proxima failed over to A', () => agreed(a, a), 3000);
    const f = rec.go.find((x) => x.node === A && kind(x.type) === 'failover');
    expect(f).toBeDefined();
    expect(f!.type).toEqual({ failover: B });
    expect(f!.after!.served).toEqual([A]);
    expect(f!.after!.starts[B]).toBeUndefined();
    expect(Object.keys(f!.after!.starts).every((n) => n === A)).toBe(true);
    const st = await handshaked(s, a, [a], 2000);
    expect(Object.keys(st.starts)).toEqual([A]);
    expect(st.served).toEqual([A]);
    expect(pidA.node).toBe(A);
  });

  it.each(SEEDS)('80: hello to a missing proxima is noproc at once; centauri retries every 500 ms; a DOWN of its proxima makes it say hello to the new one (seed %i)', async (seed) => {
    const s = sim(seed);
    const a = await s.startNode({ name: A, tickTime: 1000 });
    const b = await s.startNode({ name: B, tickTime: 1000, seeds: [A] });
    await s.runUntil(() => a.nodes().includes(B) && b.nodes().includes(A), 1000, 'a and b connected');

    let r: { r: unknown; ms: number } | undefined;
    b.spawn(async (self) => {
      const t0 = self.node.clock.now();
      const res = await hello(self, B, []);
      r = { r: res, ms: self.node.clock.now() - t0 };
    });
    await s.runUntil(() => r !== undefined, 6000, 'the hello to return');
    expect(r!.r).toEqual({ error: ['noproc', { global: 'proxima' }] });
    expect(r!.ms).toBe(0);

    // A hello attempt (a look-up of the global name) every 500 ms of quiet.
    const lookups: number[] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const whereis = b.global.whereis;
    vi.spyOn(b.global, 'whereis').mockImplementation((name: string) => {
      if (name === 'proxima') lookups.push(s.now);
      return whereis.call(b.global, name);
    });
    const started = await s.wait(genServer.start(b, centauriServer, undefined, { name: 'centauri' }));
    expect(started !== 'ignore' && 'ok' in started).toBe(true);
    const cPid = b.whereis('centauri')!;
    await s.runUntil(() => lookups.length >= 4, 3000, 'four hello attempts');
    for (const [i, t] of lookups.slice(1, 4).entries()) {
      expect(t - lookups[i]!).toBeGreaterThanOrEqual(500 - FP);
      expect(t - lookups[i]!).toBeLessThan(510);
    }
    expect((await s.wait(sys.getState<CentauriState>(b, 'centauri'))).tries).toBeGreaterThanOrEqual(3);

    // A proxima appears on A: centauri's next retry (≤ 500 ms later) says hello, is pinged and answers pong.
    await s.wait(genServer.start(a, proximaServer, undefined, { name: 'proxima' }));
    const pid1 = a.whereis('proxima')!;
    expect(await s.wait(a.global.register('proxima', pid1))).toBe('yes');
    const registered = s.now;
    await s.runUntil(() => centauriFollows(b, pid1), 1000, 'centauri monitors the proxima on A');
    expect(s.now - registered).toBeLessThan(520);
    expect((await handshaked(s, a, [b], 100)).starts[B]).toBe(String(cPid));
    expect((await s.wait(sys.getState<CentauriState>(b, 'centauri'))).tries).toBe(0);

    // A second proxima takes the name; only when the first goes DOWN does centauri say hello to it.
    await s.wait(genServer.start(b, proximaServer, undefined, { name: 'proxima' }));
    const pid2 = b.whereis('proxima')!;
    expect(await s.wait(b.global.reRegister('proxima', pid2))).toBe('yes');
    await s.run(600);
    expect((await s.wait(stateVia(b, B)))!.starts).toEqual({});
    a.exit(pid1, 'kill');
    await s.runUntil(() => centauriFollows(b, pid2), 1000, 'centauri monitors the second proxima');
    expect((await handshaked(s, b, [b], 100)).starts[B]).toBe(String(cPid));
    expect(b.whereis('centauri')).toBe(cPid);
  });

  it.each(SEEDS)('80: an unexpected hello result crashes centauri, which ends the centauri application only: proxima and the node stay (seed %i)', async (seed) => {
    const { s, a, b, pidA } = await cluster(seed).then(async (c) => {
      await startCentauri(c.s, c.a);
      const pid = await until(c.s, 'proxima on A', () => agreed(c.a, c.a, c.b), 2000);
      return { ...c, pidA: pid };
    });
    // The global name now points at a process that dies on its first message.
    const bomb = a.spawn(async (self) => {
      await self.receive();
      self.exit('boom');
    });
    expect(await s.wait(a.global.reRegister('proxima', bomb))).toBe('yes');
    await s.runUntil(() => str(b.global.whereis('proxima')) === String(bomb), 1000, 'B sees the new name');
    await startCentauri(s, b);
    await s.runUntil(() => !b.application.whichApplications().some((x) => x.name === 'centauri'), 6000, "B's centauri application to end");
    expect(b.whereis('centauri')).toBeUndefined();
    expect(b.stopped).toBe(false);
    expect(s.isUp(B)).toBe(true);
    expect(a.isAlive(pidA)).toBe(true);
    expect(a.application.whereRunning('proxima')).toBe('local');
    expect(b.application.whereRunning('proxima')).toBe(A);
    expect(a.whereis('centauri')).toBeDefined();
  });

  it.each(SEEDS)('81: a proxima crash stops the (temporary) application on A, is not failed over, and the global name goes (seed %i)', async (seed) => {
    const { s, rec, a, b, pidA } = await running(seed);
    const sup = a.whereis('proxima_sup')!;
    const supDown: { reason?: ExitReason; down: boolean } = { down: false };
    a.monitor(sup, { onDown: (_ref, reason) => Object.assign(supDown, { reason, down: true }) });
    a.exit(pidA, 'kill');
    await s.runUntil(() => supDown.down, 1000, 'proxima_sup to exit');
    expect(supDown.reason).toBe('shutdown');
    await s.runUntil(() => a.application.whereRunning('proxima') === undefined, 1000, 'proxima stopped on A');
    expect(a.application.whichApplications().map((x) => x.name)).toEqual(['centauri']);
    await s.runUntil(() => a.global.whereis('proxima') === undefined && b.global.whereis('proxima') === undefined, 1000, 'the global name gone');
    await s.runUntil(() => b.application.whereRunning('proxima') === undefined, 1000, 'B knows proxima runs nowhere');
    // Well past the 1000 ms failover timeout, nothing has started it again.
    await s.run(3000);
    expect(rec.starts.map((x) => x.node)).toEqual([A]);
    expect(b.whereis('proxima')).toBeUndefined();
    expect(b.application.whereRunning('proxima')).toBeUndefined();
    expect(b.global.whereis('proxima')).toBeUndefined();
    expect(a.stopped || b.stopped).toBe(false);
    expect(a.nodes()).toEqual([B]);
  });

  it.each(SEEDS)('81: after takeover(proxima, permanent) the same crash stops node A, which B fails over ≥ 1000 ms after nodedown (seed %i)', async (seed) => {
    const { s, rec, a, b } = await running(seed);
    expect(await s.wait(b.application.takeover('proxima', 'permanent'))).toBe('ok');
    await s.runUntil(() => a.whereis('proxima') === undefined, 2000, "A's instance stopped");
    expect(await s.wait(a.application.takeover('proxima', 'permanent'))).toBe('ok');
    expect(a.application.restartTypeOf('proxima')).toBe('permanent');
    const pidA = a.whereis('proxima')!;
    await s.runUntil(() => b.whereis('proxima') === undefined, 2000, "B's instance stopped");
    const down = nodedowns(b, A);
    const since = s.now;
    a.exit(pidA, 'kill');
    await s.runUntil(() => a.stopped && !s.isUp(A), 2000, 'node A to stop');
    const pidB = await until(s, 'proxima failed over to B', () => (b.whereis('proxima') !== undefined ? agreed(b, b) : undefined), 3000);
    expect(pidB.node).toBe(B);
    const onB = rec.starts.filter((x) => x.node === B && x.at >= since);
    expect(onB.map((x) => x.type)).toEqual([{ failover: A }]);
    expect(onB[0]!.at - down[0]!).toBeGreaterThanOrEqual(1000 - FP);
    expect(onB[0]!.at - down[0]!).toBeLessThan(1100);
  });
});
