/**
 * Conformance scenarios §G (73–81, toliman_SUITE @ beam-31) with the nodes in THIS process,
 * over real loopback sockets: `a@127.0.0.1` and `b@127.0.0.1`, each with its own dist_ac and
 * the kernel config of the original suite (proxima on [a, b], failover after 1000 ms, sync
 * nodes a and b with a 1000 ms timeout). A restarted node is the old node stopped and a new
 * `DistNode` of the same name on a new port, seeded with the other node's address.
 *
 * proxima's spec is wrapped so every `start` and start phase is recorded (node, type, time) and
 * the `go` phase snapshots proxima's state around the original `go` (for the state-transfer
 * checks of 79). Conditions are polled with deadlines; fixed waits are only used where a
 * scenario asserts that something does NOT happen within a window.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { genServer, sys, type ExitReason, type Pid, type StartType } from '@rigil/core';
import { DistNode } from '@rigil/net';
import { FaultyTransport } from '@rigil/net/testing';
import { DistAc, startDistAc, type KernelConfig } from '@rigil/dist-ac';
import { centauri, centauriServer, hello, proximaServer, type CentauriState, type ProximaState } from '../src/index.js';
import { freePort } from '../src/cluster.js';
import { agreed, centauriFollows, kind, phasesOf, recorder, stateVia, str, type Recorder } from './recording.js';

const A = 'a@127.0.0.1';
const B = 'b@127.0.0.1';
const COOKIE = 'c';
const KERNEL: KernelConfig = {
  distributed: [{ application: 'proxima', timeout: 1000, nodes: [A, B] }],
  syncNodesMandatory: [],
  syncNodesOptional: [A, B],
  syncNodesTimeout: 1000,
};

// ------------------------------------------------------------------ nodes

let rec: Recorder;
let nodes: DistNode[] = [];

beforeEach(() => {
  rec = recorder(() => Date.now());
  nodes = [];
});

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(nodes.map((n) => n.stop()));
  nodes = [];
});

/** A bare node on `port` (default: any), dialling `seeds`; its links can be cut (`FaultyTransport.of`). */
async function bare(name: string, seeds: readonly DistNode[] = [], port = 0, extraSeeds: string[] = []): Promise<DistNode> {
  const node = await DistNode.start({ name, cookie: COOKIE, port, seeds: [...seeds.filter((s) => !s.stopped).map((s) => `${s.name}:${s.port}`), ...extraSeeds], transport: new FaultyTransport() });
  nodes.push(node);
  return node;
}

/** A toliman node: loads proxima (recorded) and centauri, then boots its dist_ac (sync included). */
async function member(name: string, seeds: readonly DistNode[] = [], port = 0, extraSeeds: string[] = []): Promise<{ node: DistNode; dac: DistAc; bootMs: number }> {
  const t0 = Date.now();
  const node = await bare(name, seeds, port, extraSeeds);
  node.application.load(rec.spec);
  node.application.load(centauri);
  const dac = await startDistAc(node, KERNEL);
  return { node, dac, bootMs: Date.now() - t0 };
}

/** Starts A then B (as the original's start_slaves), connected. */
async function cluster(): Promise<{ a: DistNode; b: DistNode; dacA: DistAc; dacB: DistAc }> {
  const { node: a, dac: dacA } = await member(A);
  const { node: b, dac: dacB } = await member(B, [a]);
  await waitFor('a and b connected', () => a.net.isConnected(B) && b.net.isConnected(A));
  return { a, b, dacA, dacB };
}

/** The original's start_application(N, centauri). */
async function startCentauri(n: DistNode): Promise<void> {
  expect(await n.application.ensureAllStarted('centauri')).toEqual({ ok: ['centauri'] });
}

/** Polls `cond` until it returns something other than undefined/false; throws after `ms`. */
async function waitFor<T>(what: string, cond: () => T | undefined | false | Promise<T | undefined | false>, ms = 5000, everyMs = 5): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Real time passing: only for "X does NOT happen within this window" checks. */
const elapse = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until the proxima on `at` maps every node of `from` to that node's centauri pid (hello + pong done). */
async function handshaked(at: DistNode, from: DistNode[], ms = 5000): Promise<ProximaState> {
  return waitFor(`centauri of ${from.map((n) => n.name).join(', ')} handshaked with the proxima on ${at.name}`, async () => {
    const st = await stateVia(at, at.name);
    if (st === undefined) return undefined;
    return from.every((n) => n.whereis('centauri') !== undefined && st.starts[n.name] === String(n.whereis('centauri'))) ? st : undefined;
  }, ms, 10);
}

/** The phases recorded on `node` since `since`, as [phase, type]. */
const phasesOn = (node: string, since = 0): Array<[string, StartType]> => phasesOf(rec, node, since);

/** Records when `observer` sees `node` go down. */
function nodedownAt(observer: DistNode, node: string): { at: number | undefined } {
  const t: { at: number | undefined } = { at: undefined };
  observer.onNodeEvent((e) => {
    if (e.type === 'nodedown' && e.node === node && t.at === undefined) t.at = Date.now();
  });
  return t;
}


/** Steps 1–5 of t_a_b_failover: both nodes up, proxima on A, handshakes done, A stopped, B runs proxima. */
async function failedOverToB(): Promise<{ a: DistNode; b: DistNode; pidA: Pid; pidB: Pid; down: { at: number | undefined } }> {
  const { a, b } = await cluster();
  await startCentauri(a);
  await startCentauri(b);
  const pidA = await waitFor('proxima on A', () => agreed(a, a, b), 2000);
  await handshaked(a, [a, b]);
  const down = nodedownAt(b, A);
  await a.stop();
  const pidB = await waitFor('proxima failed over to B', () => agreed(b, b), 4000);
  return { a, b, pidA, pidB, down };
}

// ------------------------------------------------------------------ the scenarios

describe('toliman scenarios §G (in-process nodes)', () => {
  // 73: boot sync — A waits ~syncNodesTimeout for B, B connects during its own boot, both dist_acs know each other before apps start
  it('73: boot sync', async () => {
    const hellos: Array<{ at: string; from: string; answered: number }> = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const original = DistAc.prototype.handleRequest;
    vi.spyOn(DistAc.prototype, 'handleRequest').mockImplementation(async function (this: DistAc, req) {
      const r = await original.call(this, req);
      if (req.op === 'hello') hellos.push({ at: this.node.name, from: req.from, answered: Date.now() });
      return r;
    });
    const portB = await freePort();
    const { node: a, bootMs: bootA } = await member(A, [], 0, [`${B}:${portB}`]);
    // B is absent: A waited about syncNodesTimeout (1000 ms), not less, not much more.
    expect(bootA).toBeGreaterThanOrEqual(950);
    expect(bootA).toBeLessThan(2500);
    expect(a.nodes()).toEqual([]);

    const { node: b, bootMs: bootB } = await member(B, [a], portB);
    const bootedB = Date.now();
    // B found A at once: its boot did not wait out the sync timeout, and it is connected when it returns.
    expect(bootB).toBeLessThan(900);
    expect(b.nodes()).toEqual([A]);
    await waitFor('A sees B', () => a.net.isConnected(B), 2000);
    // B introduced itself to A's dist_ac during its boot and got A's answer before the boot returned.
    const intro = hellos.find((h) => h.at === A && h.from === B);
    expect(intro).toBeDefined();
    expect(intro!.answered).toBeLessThanOrEqual(bootedB);
    // ... all before any application started.
    for (const n of [a, b]) expect(n.application.whichApplications().map((x) => x.name)).toEqual([]);
    expect(rec.starts).toEqual([]);
  });

  // 74: normal start on primary — proxima only on A (normal, phases init → takeover → go), global agrees, handshakes done
  it('74: normal start on the primary', async () => {
    const { a, b, dacB } = await cluster();
    await startCentauri(a);
    await startCentauri(b);

    expect(rec.starts.map((s) => [s.node, s.type])).toEqual([[A, 'normal']]);
    expect(phasesOn(A)).toEqual([
      ['init', 'normal'],
      ['takeover', 'normal'],
      ['go', 'normal'],
    ]);
    expect(phasesOn(B)).toEqual([]);
    expect(a.application.startTypeOf('proxima')).toBe('normal');
    expect(a.application.whereRunning('proxima')).toBe('local');
    expect(b.application.whereRunning('proxima')).toBe(A);
    expect(dacB.info('proxima')).toMatchObject({ node: A, startType: 'normal' });

    const pidA = await waitFor('local proxima on A == global proxima seen from B', () => agreed(a, b), 2000);
    expect(pidA.node).toBe(A);
    expect(b.whereis('proxima')).toBeUndefined();
    expect(b.application.whichApplications().map((x) => x.name)).toEqual(['centauri']);
    expect(a.application.whichApplications().map((x) => x.name)).toContain('proxima');

    const st = await handshaked(a, [a, b], 2000);
    expect(Object.keys(st.starts).sort()).toEqual([A, B]);
    expect(st.served).toEqual([A]);
  });

  // 75: graceful failover — A stopped; B starts proxima with {failover, A} ≥ 1000 ms after nodedown; global → B; B's centauri re-handshakes
  it('75: graceful failover to B', async () => {
    const { b, pidA, pidB, down } = await failedOverToB();
    expect(down.at).toBeDefined();

    const onB = rec.starts.filter((s) => s.node === B);
    expect(onB.map((s) => s.type)).toEqual([{ failover: A }]);
    const delay = onB[0]!.at - down.at!;
    expect(delay).toBeGreaterThanOrEqual(990);
    expect(delay).toBeLessThan(2000);
    expect(phasesOn(B)).toEqual([
      ['init', { failover: A }],
      ['takeover', { failover: A }],
      ['go', { failover: A }],
    ]);
    expect(b.application.startTypeOf('proxima')).toEqual({ failover: A });

    expect(pidB.node).toBe(B);
    expect(String(pidB)).not.toBe(String(pidA));
    expect(str(b.global.whereis('proxima'))).toBe(String(pidB));
    await handshaked(b, [b], 2000);
    await waitFor("B's centauri monitors B's proxima", () => centauriFollows(b, pidB), 2000);
  });

  // 76: automatic takeover by the restarted primary — {takeover, B}; global moves to A before B's instance stops; state copied
  it('76: automatic takeover by a restarted A', async () => {
    const { b, pidB } = await failedOverToB();
    await handshaked(b, [b], 2000);

    // Watch B's replica of the global name, tightly, for the whole takeover.
    const seen: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const g = b.global.whereis('proxima');
        const last = g === undefined ? 'none' : String(g);
        if (seen[seen.length - 1] !== last) seen.push(last);
        await new Promise((r) => setImmediate(r));
      }
    })();
    let atDown: { global: string | undefined; localA: string | undefined; reason: ExitReason } | undefined;
    const { node: a2 } = await member(A, [b]);
    b.monitor(pidB, {
      onDown: (_ref, reason) => {
        atDown = { global: str(b.global.whereis('proxima')), localA: str(a2.whereis('proxima')), reason };
      },
    });
    const since = Date.now();
    await startCentauri(a2);
    const pidA2 = await waitFor('local proxima on new A == global proxima seen from B', () => agreed(a2, a2, b), 2000);
    await waitFor("B's instance stopped", () => atDown !== undefined && b.whereis('proxima') === undefined, 5000);
    polling = false;
    await poller;

    expect(rec.starts.filter((s) => s.at >= since).map((s) => [s.node, s.type])).toEqual([[A, { takeover: B }]]);
    expect(phasesOn(A, since)).toEqual([
      ['init', { takeover: B }],
      ['takeover', { takeover: B }],
      ['go', { takeover: B }],
    ]);
    // When B's instance went down, the name (on B) already pointed at A's new instance.
    expect(atDown!.global).toBe(String(pidA2));
    expect(atDown!.localA).toBe(String(pidA2));
    // During the whole takeover B's name never went missing: B's pid, then A's.
    expect(seen).toEqual([String(pidB), String(pidA2)]);
    expect(b.application.whereRunning('proxima')).toBe(A);

    // B's state was copied: served [B, A], with B's centauri entry.
    const st = await stateVia(a2, A);
    expect(st!.served).toEqual([B, A]);
    expect(st!.starts[B]).toBe(String(b.whereis('centauri')));
    // B's centauri follows the new proxima after its monitor fired; A's centauri handshakes too.
    await waitFor("B's centauri monitors A's new proxima", () => centauriFollows(b, pidA2), 2000);
    await handshaked(a2, [a2, b], 2000);
  });

  // 77: hard failover — A cut off abruptly (no graceful app stop): A's global name vanishes from B at the disconnect, B fails over after 1000 ms, a new A takes over
  it('77: hard failover to B, then takeover by a new A', async () => {
    const { a, b } = await cluster();
    await startCentauri(a);
    await startCentauri(b);
    const pidA = await waitFor('proxima on A', () => agreed(a, a, b), 2000);
    await handshaked(a, [a, b]);

    const down = nodedownAt(b, A);
    FaultyTransport.of(b).block(A);
    FaultyTransport.of(a).block(B);
    // The name of A's pid is removed from B's replica by the disconnect, long before the failover.
    await waitFor("A's global name gone from B", () => b.global.whereis('proxima') === undefined, 900, 1);
    const goneAt = Date.now();
    expect(down.at).toBeDefined();
    expect(goneAt - down.at!).toBeLessThan(900);
    expect(rec.starts.filter((s) => s.node === B)).toEqual([]);
    // A was not stopped: its instance still runs there (it was not told anything).
    expect(str(a.whereis('proxima'))).toBe(String(pidA));

    const pidB = await waitFor('proxima failed over to B', () => agreed(b, b), 3000);
    const onB = rec.starts.filter((s) => s.node === B);
    expect(onB.map((s) => s.type)).toEqual([{ failover: A }]);
    expect(onB[0]!.at - down.at!).toBeGreaterThanOrEqual(990);
    expect(onB[0]!.at - down.at!).toBeLessThan(2000);
    expect(phasesOn(B).map(([p, t]) => [p, kind(t)])).toEqual([
      ['init', 'failover'],
      ['takeover', 'failover'],
      ['go', 'failover'],
    ]);
    await handshaked(b, [b], 2000);

    // The old A is gone for good; a new A takes proxima over from B.
    await a.stop();
    FaultyTransport.of(b).unblock(A);
    const { node: a2 } = await member(A, [b]);
    const since = Date.now();
    await startCentauri(a2);
    const pidA2 = await waitFor('proxima on new A, global agrees on B', () => agreed(a2, a2, b), 2000);
    expect(String(pidA2)).not.toBe(String(pidA));
    expect(rec.starts.filter((s) => s.at >= since).map((s) => [s.node, s.type])).toEqual([[A, { takeover: B }]]);
    await waitFor("B's instance stopped", () => b.whereis('proxima') === undefined, 5000);
    expect(String(pidB)).not.toBe(String(pidA2));
    expect((await stateVia(a2, A))!.served).toEqual([B, A]);
  });

  // 78: manual takeover both ways — application.takeover on B then on A; each returns ok with the global name already moved
  it('78: manual takeover both ways', async () => {
    const { a, b } = await cluster();
    await startCentauri(a);
    await startCentauri(b);
    const pidA = await waitFor('proxima on A', () => agreed(a, a, b), 2000);
    await handshaked(a, [a, b]);

    let oldADown: number | undefined;
    a.monitor(pidA, { onDown: () => (oldADown = Date.now()) });
    const t1 = Date.now();
    expect(await b.application.takeover('proxima', 'permanent')).toBe('ok');
    const pidB = b.whereis('proxima');
    expect(pidB?.node).toBe(B);
    expect(str(b.global.whereis('proxima'))).toBe(String(pidB));
    expect(b.application.startTypeOf('proxima')).toEqual({ takeover: A });
    expect(b.application.restartTypeOf('proxima')).toBe('permanent');
    expect(phasesOn(B, t1)).toEqual([
      ['init', { takeover: A }],
      ['takeover', { takeover: A }],
      ['go', { takeover: A }],
    ]);
    // The old instance stops only after the new one is completely started.
    await waitFor("A's instance stopped", () => oldADown !== undefined && a.whereis('proxima') === undefined, 5000);
    const goB = rec.go.filter((g) => g.node === B);
    expect(goB).toHaveLength(1);
    expect(oldADown!).toBeGreaterThanOrEqual(goB[0]!.done);
    expect(a.application.whereRunning('proxima')).toBe(B);
    expect((await stateVia(b, B))!.served).toEqual([A, B]);

    let oldBDown: number | undefined;
    b.monitor(pidB!, { onDown: () => (oldBDown = Date.now()) });
    const t2 = Date.now();
    expect(await a.application.takeover('proxima', 'permanent')).toBe('ok');
    // Immediately, no wait: A's local proxima is A's global proxima.
    const pidA1 = a.whereis('proxima');
    expect(pidA1?.node).toBe(A);
    expect(str(a.global.whereis('proxima'))).toBe(String(pidA1));
    expect(String(pidA1)).not.toBe(String(pidA));
    expect(phasesOn(A, t2)).toEqual([
      ['init', { takeover: B }],
      ['takeover', { takeover: B }],
      ['go', { takeover: B }],
    ]);
    await waitFor("B's instance stopped", () => oldBDown !== undefined && b.whereis('proxima') === undefined, 5000);
    expect(oldBDown!).toBeGreaterThanOrEqual(rec.go.filter((g) => g.node === A && g.at >= t2)[0]!.done);
    expect(str(b.global.whereis('proxima'))).toBe(String(pidA1));
    expect((await stateVia(a, A))!.served).toEqual([A, B, A]);
  });

  // 79: state transfer content — a takeover copies the old state as it was at get_state; a failover instance starts empty
  it('79: state transfer on takeover, empty state on failover', async () => {
    const { a, b } = await cluster();
    await startCentauri(a);
    await startCentauri(b);
    await waitFor('proxima on A', () => agreed(a, a, b), 2000);
    const old = await handshaked(a, [a, b]);

    expect(await b.application.takeover('proxima', 'permanent')).toBe('ok');
    const g = rec.go.find((x) => x.node === B && kind(x.type) === 'takeover');
    expect(g).toBeDefined();
    // The old instance's state, read right before fetch_state, is what the new one holds after it.
    expect(g!.before).toEqual(old);
    expect(g!.after!.starts).toEqual(g!.before!.starts);
    expect(Object.keys(g!.after!.starts).sort()).toEqual([A, B]);
    expect(g!.after!.served).toEqual([...g!.before!.served, B]);

    // Now B (holding A's and B's centauri) dies; A fails over with a fresh, empty state.
    await waitFor("A's centauri follows B's proxima", () => centauriFollows(a, b.whereis('proxima')!), 2000);
    await b.stop();
    const pidA = await waitFor('proxima failed over to A', () => agreed(a, a), 4000);
    const f = rec.go.find((x) => x.node === A && kind(x.type) === 'failover');
    expect(f).toBeDefined();
    expect(f!.type).toEqual({ failover: B });
    expect(f!.after!.served).toEqual([A]);
    // Nothing of the old state (which had B's centauri) came along.
    expect(f!.after!.starts[B]).toBeUndefined();
    expect(Object.keys(f!.after!.starts).every((n) => n === A)).toBe(true);
    // Only hellos made after the failover fill it: A's centauri re-handshakes.
    const st = await handshaked(a, [a], 2000);
    expect(Object.keys(st.starts)).toEqual([A]);
    expect(st.served).toEqual([A]);
    expect(pidA.node).toBe(A);
  });

  // 80: centauri robustness — noproc at once while no proxima exists, retries every 500 ms, re-hello on proxima DOWN
  it('80: centauri retries hello every 500 ms and says hello again when its proxima goes down', async () => {
    const a = await bare(A);
    const b = await bare(B, [a]);
    await waitFor('a and b connected', () => a.net.isConnected(B) && b.net.isConnected(A));
    expect(a.global.whereis('proxima')).toBeUndefined();
    expect(b.global.whereis('proxima')).toBeUndefined();

    // hello to a missing global proxima: {error, {noproc, _}} at once, not after the 5 s wait.
    const r = await new Promise<{ r: unknown; ms: number }>((resolve) => {
      b.spawn(async (self) => {
        const t0 = Date.now();
        const res = await hello(self, B, []);
        resolve({ r: res, ms: Date.now() - t0 });
      });
    });
    expect(r.r).toEqual({ error: ['noproc', { global: 'proxima' }] });
    expect(r.ms).toBeLessThan(250);

    // centauri without any proxima: a hello attempt (a look-up of the global name) every 500 ms.
    const lookups: number[] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const whereis = b.global.whereis;
    vi.spyOn(b.global, 'whereis').mockImplementation((name: string) => {
      if (name === 'proxima') lookups.push(Date.now());
      return whereis.call(b.global, name);
    });
    const started = await genServer.start(b, centauriServer, undefined, { name: 'centauri' });
    expect(started !== 'ignore' && 'ok' in started).toBe(true);
    const cPid = b.whereis('centauri')!;
    await waitFor('four hello attempts', () => lookups.length >= 4, 3000);
    const gaps = lookups.slice(0, 4).map((t, i, xs) => (i === 0 ? 0 : t - xs[i - 1]!)).slice(1);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(490);
      expect(gap).toBeLessThan(800);
    }
    expect((await sys.getState<CentauriState>(b, 'centauri')).tries).toBeGreaterThanOrEqual(3);

    // A proxima appears on A: centauri's next retry (≤ 500 ms later) says hello, is pinged and answers pong.
    const p1 = await genServer.start(a, proximaServer, undefined, { name: 'proxima' });
    const pid1 = a.whereis('proxima')!;
    expect(p1 !== 'ignore' && 'ok' in p1).toBe(true);
    const registered = Date.now();
    expect(await a.global.register('proxima', pid1)).toBe('yes');
    await waitFor('centauri handshaked with the proxima on A', async () => (await stateVia(a, A))?.starts[B] === String(cPid), 2000);
    expect(Date.now() - registered).toBeLessThan(1000);
    await waitFor('centauri monitors the proxima on A', () => centauriFollows(b, pid1), 1000);
    expect((await sys.getState<CentauriState>(b, 'centauri')).tries).toBe(0);

    // A second proxima takes the name; when the first goes DOWN, centauri says hello to the new one.
    await genServer.start(b, proximaServer, undefined, { name: 'proxima' });
    const pid2 = b.whereis('proxima')!;
    expect(await b.global.reRegister('proxima', pid2)).toBe('yes');
    await elapse(600);
    // No DOWN yet: centauri has no reason to say hello again.
    expect((await stateVia(b, B))!.starts).toEqual({});
    a.exit(pid1, 'kill');
    await waitFor('centauri handshaked with the second proxima', async () => (await stateVia(b, B))?.starts[B] === String(cPid), 2000);
    await waitFor('centauri monitors the second proxima', () => centauriFollows(b, pid2), 1000);
    expect(b.whereis('centauri')).toBe(cPid);
  });

  // 81: proxima crash is not failed over — temporary: app stops on A, node stays, B does not start it, global name gone
  it('81: a proxima crash stops the application on A and is not failed over', async () => {
    const { a, b, dacB } = await cluster();
    await startCentauri(a);
    await startCentauri(b);
    const pid = await waitFor('proxima on A', () => agreed(a, a, b), 2000);
    await handshaked(a, [a, b]);

    const sup = a.whereis('proxima_sup')!;
    const supDown: { reason?: ExitReason; down: boolean } = { down: false };
    a.monitor(sup, { onDown: (_ref, reason) => Object.assign(supDown, { reason, down: true }) });
    a.exit(pid, 'kill');

    await waitFor('proxima_sup exited', () => supDown.down, 2000);
    expect(supDown.reason).toBe('shutdown');
    await waitFor('proxima stopped on A', () => a.application.whereRunning('proxima') === undefined, 2000);
    expect(a.application.whichApplications().map((x) => x.name)).toEqual(['centauri']);
    expect(a.stopped).toBe(false);
    await waitFor('global name gone on A and B', () => a.global.whereis('proxima') === undefined && b.global.whereis('proxima') === undefined, 2000);
    await waitFor('B knows proxima runs nowhere', () => b.application.whereRunning('proxima') === undefined && dacB.info('proxima').node === null, 2000);

    // Not failed over: nothing starts it within well over the 1000 ms failover timeout.
    await elapse(1500);
    expect(rec.starts.map((s) => s.node)).toEqual([A]);
    expect(b.whereis('proxima')).toBeUndefined();
    expect(b.application.whereRunning('proxima')).toBeUndefined();
    expect(a.application.whereRunning('proxima')).toBeUndefined();
    expect(b.global.whereis('proxima')).toBeUndefined();
    expect(a.stopped).toBe(false);
    expect(b.stopped).toBe(false);
    expect(a.net.isConnected(B)).toBe(true);
  });

  // 81: proxima crash after application.takeover(proxima, permanent) — the node stops, and that does fail over to B
  it('81: with restart type permanent the same crash stops node A, which fails over to B', async () => {
    const { a, b } = await cluster();
    await startCentauri(a);
    await startCentauri(b);
    await waitFor('proxima on A', () => agreed(a, a, b), 2000);
    await handshaked(a, [a, b]);
    expect(await b.application.takeover('proxima', 'permanent')).toBe('ok');
    await waitFor("A's instance stopped", () => a.whereis('proxima') === undefined, 5000);
    expect(await a.application.takeover('proxima', 'permanent')).toBe('ok');
    expect(a.application.restartTypeOf('proxima')).toBe('permanent');
    const pidA = a.whereis('proxima')!;
    await waitFor("B's instance stopped", () => b.whereis('proxima') === undefined, 5000);

    const down = nodedownAt(b, A);
    const since = Date.now();
    a.exit(pidA, 'kill');
    await waitFor('node A stopped', () => a.stopped, 2000);
    await a.whenStopped();
    const pidB = await waitFor('proxima failed over to B', () => agreed(b, b), 4000);
    expect(pidB.node).toBe(B);
    const onB = rec.starts.filter((s) => s.node === B && s.at >= since);
    expect(onB.map((s) => s.type)).toEqual([{ failover: A }]);
    expect(onB[0]!.at - down.at!).toBeGreaterThanOrEqual(990);
  });
});
