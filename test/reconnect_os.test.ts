/**
 * Reconnect for life on real OS processes (issue 12, "Done when", third bullet): every node is a
 * child process (test/src/node_main.ts) on real sockets, and nothing outside the nodes helps
 * them back together — this process only starts, stops, cuts and heals them, and reads what
 * they print. Three ways a mesh falls apart and must re-form by itself:
 *
 * 1. a late seed: a node whose only seed starts seconds after it joins it when it comes up;
 * 2. a healed cut: a link stalled both ways (`FaultyTransport` inside the children, as a dead
 *    cable: nothing closes) until both ends see nodedown, then healed; and the same with a
 *    loud cut (closed, dials refused) held until both ends have backed off to the cap;
 * 3. a frozen node: SIGSTOP until its peers see it down, then SIGCONT.
 *
 * The acceptance bound is "within 2 × the back-off cap" (`reconnect.maxMs`), measured
 * here from the moment the fault ends (the late seed listening, the heal, the SIGCONT) until
 * this process has seen the full mesh reported by every node. The waits themselves are longer,
 * so a slow machine fails on the bound with the figure rather than by hanging. Each test prints
 * its figure (`[reconnect_os] …`).
 */
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { isRunning, OsCluster, waitFor, type ChildNode } from './src/os_cluster.js';

const COOKIE = 'reconnect-os-cookie';
/** Short ticks, so a silent peer is down within about a second. */
const TICK_TIME = 1000;
/** The back-off of every node's redials; the bound asserted is 2 × `maxMs`. */
const RECONNECT = { baseMs: 100, maxMs: 2000 };
const BOUND_MS = 2 * RECONNECT.maxMs;
/** How long to wait for a mesh before giving up: generous, the bound is asserted separately. */
const PATIENCE_MS = 20_000;

const cluster = new OsCluster();
const startedPids: number[] = [];

afterEach(async () => {
  // SIGCONT for a stopped child, SIGTERM, SIGKILL after the grace period.
  await cluster.cleanup();
  for (const pid of startedPids.splice(0)) expect(isRunning(pid), `child ${pid} still running`).toBe(false);
});

async function child(name: string, options: { seeds?: string[]; port?: number; faulty?: boolean } = {}): Promise<ChildNode> {
  const c = await cluster.spawn({ name, cookie: COOKIE, tickTime: TICK_TIME, reconnect: RECONNECT, ...options });
  startedPids.push(c.osPid);
  return c;
}

/** A port nobody listens on now (the kernel picked it free; released before it is used). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Every node's latest event says it is connected to every other one (and to no one else). */
function fullMesh(nodes: ChildNode[]): boolean {
  return nodes.every((n) => sameSet(n.view.nodes, others(nodes, n)));
}

function others(nodes: ChildNode[], n: ChildNode): string[] {
  return nodes.filter((m) => m !== n).map((m) => m.name);
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && b.every((x) => a.includes(x));
}

/** `n` reported `peer` up at or after `t` (this process's `performance.now()`). */
function upSince(n: ChildNode, peer: string, t: number): boolean {
  return n.view.events.some((e) => e.event === 'nodeup' && e.node === peer && e.at >= t);
}

/** What every node reports, for failure messages. */
function views(nodes: ChildNode[]): string {
  return nodes.map((n) => `${n.name} → [${n.view.nodes.join(', ')}]`).join('; ');
}

/** Waits for `cond` (a mesh condition) and returns the ms from `t0` to when it was seen. */
async function meshAfter(t0: number, nodes: ChildNode[], cond: () => boolean, what: string): Promise<number> {
  await waitFor(cond, PATIENCE_MS, `${what}; nodes report: ${views(nodes)}`);
  return performance.now() - t0;
}

/** Asks every node for its `nodes()` (a round trip, not its last event) and checks the full mesh. */
async function expectFullMesh(nodes: ChildNode[]): Promise<void> {
  for (const n of nodes) expect((await n.command({ cmd: 'status' })).nodes.sort(), n.name).toEqual(others(nodes, n).sort());
}

/** Starts `names` as a full mesh (each seeded with the first) and waits until it has formed. */
async function mesh(names: string[], faulty = false): Promise<ChildNode[]> {
  const first = await child(names[0]!, { faulty });
  const rest = await Promise.all(names.slice(1).map((n) => child(n, { seeds: [first.seed], faulty })));
  const nodes = [first, ...rest];
  await waitFor(() => fullMesh(nodes), PATIENCE_MS, `the initial mesh; nodes report: ${views(nodes)}`);
  return nodes;
}

function report(what: string, ms: number): void {
  console.log(`[reconnect_os] ${what}: ${Math.round(ms)} ms (bound ${BOUND_MS} ms = 2 × maxMs ${RECONNECT.maxMs})`);
}

describe('reconnect for life, nodes in separate OS processes', () => {
  it('a node started before its seed joins it when the seed comes up', async () => {
    const port = await freePort();
    const yName = 'latey@127.0.0.1';
    const x = await child('latex@127.0.0.1', { seeds: [`${yName}:${port}`] });
    // x keeps failing to reach y: wait until its back-off has grown to the cap's order
    // (redials after ~100, 200, 400, 800, 1600, 2000 ms ± 25 %: by the seventh failure, seconds
    // in, its next redial is up to 1.25 × maxMs away — the worst case for the bound).
    const tWait = performance.now();
    await waitFor(async () => (await x.command({ cmd: 'status' })).stats.handshakeFailures! >= 7, PATIENCE_MS, 'x to fail dialling its seed seven times', 100);
    const waited = performance.now() - tWait;
    const before = await x.command({ cmd: 'status' });
    expect(before.nodes).toEqual([]);

    // y knows nothing of x: only x's redials can bring them together.
    const y = await child(yName, { port });
    const t0 = performance.now(); // y is listening (its ready line has arrived)
    const ms = await meshAfter(t0, [x, y], () => fullMesh([x, y]), 'x and y to connect');
    report(`late seed: started after x failed ${before.stats.handshakeFailures} dials in ${Math.round(waited)} ms; joined`, ms);
    expect(ms, 'from the seed listening to x and y connected').toBeLessThan(BOUND_MS);
    await expectFullMesh([x, y]);
  });

  // The silent cut is the case: a dial made during the cut stalls too, and the heal
  // lets it through. The loud cut (closed at once, dials refused without touching the network)
  // is held until both ends back off to the cap, so at the heal no dial is under way and only
  // the redial timers can bring the mesh back.
  it.each([
    ['silent', true],
    ['loud', false],
  ] as const)('a %s cut between two of three nodes, once healed, re-forms the full mesh', async (cut, silent) => {
    const [a, b, c] = await mesh([`${cut}a@127.0.0.1`, `${cut}b@127.0.0.1`, `${cut}c@127.0.0.1`], true);
    const nodes = [a!, b!, c!];
    const ends = [a!, b!];
    const failures = async (n: ChildNode): Promise<number> => (await n.command({ cmd: 'status' })).stats.handshakeFailures!;
    const failedBefore = await Promise.all(ends.map(failures));
    const t = performance.now();
    // Cut the link both ways (silent: nothing closes, a and b see each other down only by ticks).
    await Promise.all([a!.command({ cmd: 'block', peer: b!.name, silent }), b!.command({ cmd: 'block', peer: a!.name, silent })]);
    await waitFor(() => !a!.view.nodes.includes(b!.name) && !b!.view.nodes.includes(a!.name), PATIENCE_MS, `a and b to see each other down; ${views(nodes)}`);
    // Prevent-overlapping-partitions: c, connected to both sides, is disconnected from one.
    await waitFor(
      () => ends.some((n) => c!.view.events.some((e) => e.event === 'nodedown' && e.node === n.name && e.at >= t)),
      PATIENCE_MS,
      `c to be disconnected from a or b while the cut holds; ${views(nodes)}`,
    );
    if (!silent) {
      // Redials after ~100, 200, 400, 800, 1600 ms: six refused dials each, and the next is ~maxMs away.
      await waitFor(async () => (await Promise.all(ends.map(failures))).every((f, i) => f - failedBefore[i]! >= 6), PATIENCE_MS, 'a and b to back off to the cap', 100);
    }

    const t0 = performance.now();
    await Promise.all([a!.command({ cmd: 'unblock', peer: b!.name }), b!.command({ cmd: 'unblock', peer: a!.name })]);
    const ms = await meshAfter(t0, nodes, () => fullMesh(nodes), 'the full mesh after the heal');
    report(`${cut} cut held ${Math.round(t0 - t)} ms: full mesh after heal`, ms);
    expect(ms, 'from the heal to the full mesh on every node').toBeLessThan(BOUND_MS);
    await expectFullMesh(nodes);
  });

  it('a node frozen (SIGSTOP) until its peers see it down, then continued, rejoins the full mesh', async () => {
    const [a, b, c] = await mesh(['stopa@127.0.0.1', 'stopb@127.0.0.1', 'stopc@127.0.0.1']);
    const nodes = [a!, b!, c!];
    const tStop = performance.now();
    cluster.signal(c!, 'SIGSTOP');
    // Frozen for about 2.5 × tickTime, and at least until both peers have given it up.
    await waitFor(
      () => !a!.view.nodes.includes(c!.name) && !b!.view.nodes.includes(c!.name) && performance.now() - tStop >= 2.5 * TICK_TIME,
      PATIENCE_MS,
      `a and b to see the stopped c down; ${views(nodes)}`,
    );

    const t0 = performance.now();
    cluster.signal(c!, 'SIGCONT');
    // c's own view is stale until it runs again: count its links to a and b only once it has
    // reported them up since it was continued.
    const ms = await meshAfter(t0, nodes, () => fullMesh(nodes) && upSince(c!, a!.name, t0) && upSince(c!, b!.name, t0), 'the full mesh after SIGCONT');
    report(`SIGSTOP for ${Math.round(t0 - tStop)} ms: full mesh after SIGCONT`, ms);
    expect(ms, 'from SIGCONT to the full mesh on every node').toBeLessThan(BOUND_MS);
    await expectFullMesh(nodes);
  });
});
