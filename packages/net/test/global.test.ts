/**
 * `global`: the cluster-wide name registry and locks (spec §f, conformance scenarios 61–72).
 *
 * Every test runs real nodes of this process over loopback sockets; partitions are real (the
 * fault-injecting transport refuses every connection across groups, see ./partition.ts).
 * Convergence is always checked on every node, polling with a deadline.
 */
import { describe, expect, it } from 'vitest';
import { genServer, Pid, type ExitReason, type GenServerBehaviour, type Process } from '@rigil/core';
import { DistError, GLOBAL_LOCK, GLOBAL_NAME_SERVER, type DistNode, type NameConflict, type Resolver } from '../src/index.js';
import { FaultyTransport } from './faulty_transport.js';
import { elapse, eventually, useCluster, waitFor } from './helpers.js';
import { cut, heal, partition } from './partition.js';

// Every node can be cut off from others (partition.ts).
const cluster = useCluster({ transport: () => new FaultyTransport() });

/** How long a merge may take: exchanges contend for the `global` lock and back off (≤ 250, 500, … ms). */
const MERGE_MS = 10_000;

// ---------------------------------------------------------------- helpers

/** A process that keeps every message it gets, with its `Process` (to count monitors on it) and how it ended. */
interface Idle {
  readonly node: DistNode;
  readonly pid: Pid;
  readonly proc: Process;
  readonly got: unknown[];
  readonly exit: { down: boolean; reason?: ExitReason };
}

/** Spawns an idle process on `node` that records its mailbox. Its exit is seen through `watch`. */
function spawnIdle(node: DistNode): Idle {
  const got: unknown[] = [];
  const pid = node.spawn(async (self) => {
    for (;;) got.push(await self.receive());
  });
  // The Process object, to count the monitors held on it (the node's table is internal).
  const proc = (node as unknown as { local(p: Pid): Process | undefined }).local(pid)!;
  return { node, pid, proc, got, exit: { down: false } };
}

/** Records how `p` ends (a monitor from `from`, a node other than the one whose monitors we count). */
function watch(from: DistNode, p: Idle): Idle {
  from.monitor(p.pid, {
    onDown: (_r, reason) => {
      p.exit.down = true;
      p.exit.reason = reason;
    },
  });
  return p;
}

const show = (p: Pid | undefined): string => (p === undefined ? 'undefined' : String(p));

/** Every node's view of `name`. */
function views(nodes: readonly DistNode[], name: string): string {
  return nodes.map((n) => `${n.name}: ${show(n.global.whereis(name))}`).join(', ');
}

/** Waits until every node of `nodes` maps `name` to `pid` (or to nothing). */
async function agree(nodes: readonly DistNode[], name: string, pid: Pid | undefined, timeoutMs = MERGE_MS): Promise<void> {
  try {
    await waitFor(() => nodes.every((n) => show(n.global.whereis(name)) === show(pid)), timeoutMs, `every node to map ${name} to ${show(pid)}`);
  } catch (e) {
    throw new Error(`${(e as Error).message}; now ${views(nodes, name)}`);
  }
}

/** Asserts, without waiting, that every node maps `name` to `pid` (a registration is all-or-nothing). */
function seenEverywhere(nodes: readonly DistNode[], name: string, pid: Pid | undefined): void {
  for (const n of nodes) expect(show(n.global.whereis(name)), `${name} on ${n.name}`).toBe(show(pid));
}

/** How many monitors are held on a process (its own node's name server holds one while it has a name; other nodes hold none). */
/** What follows `p`'s death: the monitors on it, and its own node's `global` watch (an exit observer, no monitor). */
function monitorCount(p: Idle): number {
  return (p.proc.node.processInfo(p.proc.pid)?.monitoredByCount ?? 0) + (p.node.global.watches(p.pid) ? 1 : 0);
}

/** How many nodes' name servers list `pid` among the pids whose death removes a name. */
function monitoredBy(nodes: readonly DistNode[], pid: Pid): number[] {
  return nodes.map((n) => n.global.monitoredPids().filter((p) => p.equals(pid)).length);
}

/**
 * A round trip from `node` to the name server of each of `nodes`: everything `node` sent them
 * before (e.g. the unlocks of a `delLock`) has been handled when it resolves.
 */
async function roundTrip(node: DistNode, nodes: readonly string[]): Promise<void> {
  await Promise.all(nodes.filter((n) => n !== node.name).map((n) => genServer.call(node, [GLOBAL_NAME_SERVER, n], { op: 'names' }, 5000)));
}

/** Tries a lock once, from `node`, for a fresh requester, and gives it back: is the resource free on `nodes`? */
async function lockFree(node: DistNode, resource: unknown, nodes: readonly string[]): Promise<boolean> {
  const id = [resource, `probe-${Math.random()}`] as const;
  const ok = await node.global.setLock(id, nodes, 0);
  if (ok) {
    await node.global.delLock(id, nodes);
    await roundTrip(node, nodes); // the probe leaves nothing behind for the next check
  }
  return ok;
}

/**
 * Waits until `global` on each node has finished the work it queued so far (merges started by
 * nodeups run one at a time with registrations; an unregister queues behind them).
 */
async function quiesce(nodes: readonly DistNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.global.unregister('__quiesce__')));
}

/** Settles a promise into a flag, to check it is still pending. */
function track<T>(p: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let done = false;
  const promise = p.finally(() => {
    done = true;
  });
  return { promise, settled: () => done };
}

// ---------------------------------------------------------------- scenarios 61–64: names

describe('names', () => {
  // Scenario 61 — names: register, visible everywhere, taken elsewhere, send, re-register, unregister, gone on exit and on node stop.
  it('scenario 61: a name is all-or-nothing on every node and follows its process', async () => {
    const nodes = await cluster.startConnected(4);
    const [a, b, c, d] = nodes as [DistNode, DistNode, DistNode, DistNode];
    const p = watch(b, spawnIdle(a));

    expect(await a.global.register('test', p.pid)).toBe('yes');
    // When register returns the name exists on every connected node: no waiting.
    seenEverywhere(nodes, 'test', p.pid);
    for (const n of nodes) expect(n.global.registeredNames()).toContain('test');

    // Taken: from any node, for any pid.
    expect(await a.global.register('test', spawnIdle(a).pid)).toBe('no');
    expect(await d.global.register('test', spawnIdle(d).pid)).toBe('no');
    seenEverywhere(nodes, 'test', p.pid);

    // send delivers and returns the pid, from the owner's node and from another one.
    expect(a.global.send('test', 'from a').equals(p.pid)).toBe(true);
    expect(c.global.send('test', 'from c').equals(p.pid)).toBe(true);
    await waitFor(() => p.got.includes('from a') && p.got.includes('from c'), 3000, 'both messages');

    // re_register to a process on c: every node sees the new pid at once.
    const q = spawnIdle(c);
    expect(await b.global.reRegister('test', q.pid)).toBe('yes');
    seenEverywhere(nodes, 'test', q.pid);
    expect(p.exit.down).toBe(false); // the old holder only loses the name

    // unregister from yet another node: gone everywhere.
    await d.global.unregister('test');
    seenEverywhere(nodes, 'test', undefined);
    for (const n of nodes) expect(n.global.registeredNames()).not.toContain('test');
    await d.global.unregister('test'); // a no-op when absent

    // The holder exits: gone everywhere.
    expect(await b.global.register('test', p.pid)).toBe('yes');
    seenEverywhere(nodes, 'test', p.pid);
    a.exit(p.pid, 'bye');
    await agree(nodes, 'test', undefined, 3000);

    // A name whose process lives on c disappears when c stops.
    const r = spawnIdle(c);
    expect(await a.global.register('on_c', r.pid)).toBe('yes');
    seenEverywhere(nodes, 'on_c', r.pid);
    await c.stop();
    await agree([a, b, d], 'on_c', undefined, 3000);
  });

  // Scenario 62 — one name per pid: a pid holding a name cannot register another; re_register does not check.
  it('scenario 62: register refuses a second name for a pid, reRegister does not', async () => {
    const nodes = await cluster.startConnected(2);
    const [a, b] = nodes as [DistNode, DistNode];
    const p = spawnIdle(a);
    expect(await a.global.register('n1', p.pid)).toBe('yes');
    expect(await a.global.register('n2', p.pid)).toBe('no');
    expect(await b.global.register('n2', p.pid)).toBe('no'); // checked on the other node's replica too
    seenEverywhere(nodes, 'n2', undefined);
    expect(await b.global.reRegister('n2', p.pid)).toBe('yes');
    seenEverywhere(nodes, 'n2', p.pid);
  });

  // Scenario 63 — send to unknown: global.send of a name nobody holds fails with badarg {Name, Msg}.
  it('scenario 63: send to an unknown name throws ERR_GLOBAL_NOT_REGISTERED with the name and message', async () => {
    const [a] = (await cluster.startConnected(2)) as [DistNode, DistNode];
    let err: unknown;
    try {
      a.global.send('nope', 'm');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DistError);
    expect(err).toMatchObject({ code: 'ERR_GLOBAL_NOT_REGISTERED', reason: { badarg: ['nope', 'm'] } });
    expect(String((err as Error).message)).toContain('nope');
  });

  // Scenario 64 — re_register drops old monitor: after moving a name, only the new pid is monitored, once per name server.
  it('scenario 64: reRegister moves the monitor from the old pid to the new one', async () => {
    const nodes = await cluster.startConnected(3);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    const p1 = spawnIdle(a);
    const p2 = spawnIdle(b);
    expect(await c.global.register('name', p1.pid)).toBe('yes');
    expect(monitoredBy(nodes, p1.pid)).toEqual([1, 1, 1]);
    // One monitor, its own node's: the others learn of its death from that node (pidDown).
    await waitFor(() => monitorCount(p1) === 1, 3000, 'the name server of its node monitoring p1');

    expect(await c.global.reRegister('name', p2.pid)).toBe('yes');
    expect(monitoredBy(nodes, p1.pid)).toEqual([0, 0, 0]);
    expect(monitoredBy(nodes, p2.pid)).toEqual([1, 1, 1]);
    await waitFor(() => monitorCount(p1) === 0 && monitorCount(p2) === 1, 3000, `monitors moved (p1 ${monitorCount(p1)}, p2 ${monitorCount(p2)})`);
    // Re-registering the same pid again changes nothing (no second monitor).
    expect(await a.global.reRegister('name', p2.pid)).toBe('yes');
    expect(await b.global.register('other', spawnIdle(c).pid)).toBe('yes'); // a round trip to every node
    expect(monitorCount(p2)).toBe(1);
  });
});

describe('registry semantics', () => {
  it('register/whereis/registeredNames/unregister/send on a 3-node cluster', async () => {
    const nodes = await cluster.startConnected(3);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    expect(a.global.registeredNames()).toEqual([]);
    expect(a.global.whereis('x')).toBeUndefined();
    const ps = [spawnIdle(a), spawnIdle(b), spawnIdle(c)];
    expect(await a.global.register('x', ps[0]!.pid)).toBe('yes');
    expect(await b.global.register('y', ps[1]!.pid)).toBe('yes');
    expect(await c.global.register('z', ps[2]!.pid)).toBe('yes');
    for (const n of nodes) expect(n.global.registeredNames().sort()).toEqual(['x', 'y', 'z']);
    // A name registered on one node for a process of another.
    const remote = spawnIdle(c);
    expect(await a.global.register('remote', remote.pid)).toBe('yes');
    seenEverywhere(nodes, 'remote', remote.pid);
    expect(b.global.send('remote', { hello: 1 }).equals(remote.pid)).toBe(true);
    await waitFor(() => remote.got.length === 1, 3000, 'message to the remote holder');
    expect(remote.got[0]).toEqual({ hello: 1 });
    // Unregister frees both the name and the pid.
    await b.global.unregister('remote');
    seenEverywhere(nodes, 'remote', undefined);
    expect(await c.global.register('remote2', remote.pid)).toBe('yes');
    seenEverywhere(nodes, 'remote2', remote.pid);
    // Bad names are refused before anything is sent.
    expect(() => a.global.register('', ps[0]!.pid)).toThrow(DistError);
    // A dead pid gets no name (its monitor fires at once).
    const dead = spawnIdle(a);
    a.exit(dead.pid, 'kill');
    await waitFor(() => a.processInfo(dead.pid) === undefined, 3000, 'dead process gone');
    await a.global.register('dead', dead.pid);
    await agree(nodes, 'dead', undefined, 3000);
  });

  it('gen_server start with { name: { global } }, call by { global }, and a second start gets alreadyStarted', async () => {
    const nodes = await cluster.startConnected(3);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    const counter: GenServerBehaviour<number, number, { call: 'inc'; reply: number }> = {
      init: (n) => ({ ok: n }),
      handleCall: (_req, _from, n) => ({ reply: n + 1, state: n + 1 }),
    };
    const r = await genServer.start(a, counter, 10, { name: { global: 'counter' } });
    expect(r).not.toBe('ignore');
    if (r === 'ignore' || !('ok' in r)) throw new Error(`start failed: ${JSON.stringify(r)}`);
    seenEverywhere(nodes, 'counter', r.ok);
    expect(await genServer.call(b, { global: 'counter' }, 'inc')).toBe(11);
    expect(await genServer.call(c, { global: 'counter' }, 'inc')).toBe(12);
    expect(await genServer.call(a, { global: 'counter' }, 'inc')).toBe(13);

    // A second start, from another node: the name is taken.
    const again = await genServer.start(c, counter, 0, { name: { global: 'counter' } });
    expect(again).toEqual({ error: { alreadyStarted: expect.any(Pid) } });
    expect(((again as { error: { alreadyStarted: Pid } }).error.alreadyStarted).equals(r.ok)).toBe(true);
    expect(await genServer.call(b, { global: 'counter' }, 'inc')).toBe(14);

    // The server stops: the name goes everywhere, and a call by name fails.
    await genServer.stop(a, r.ok);
    await agree(nodes, 'counter', undefined, 3000);
    await expect(genServer.call(b, { global: 'counter' }, 'inc', 1000)).rejects.toThrow();
  });

  it('two nodes racing to register one name at once: exactly one yes, and every node agrees', async () => {
    const nodes = await cluster.startConnected(3);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    for (let round = 0; round < 3; round++) {
      const name = `race${round}`;
      const pa = spawnIdle(a);
      const pb = spawnIdle(b);
      const pc = spawnIdle(c);
      const answers = await Promise.all([a.global.register(name, pa.pid), b.global.register(name, pb.pid), c.global.register(name, pc.pid)]);
      expect(answers.filter((x) => x === 'yes'), `answers ${answers.join(',')}`).toHaveLength(1);
      const winner = [pa, pb, pc][answers.indexOf('yes')]!.pid;
      seenEverywhere(nodes, name, winner);
    }
  });

  it('names disappear on every node when the process dies, and when its node stops', async () => {
    const nodes = await cluster.startConnected(3);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    const onA = spawnIdle(a);
    const onC1 = spawnIdle(c);
    const onC2 = spawnIdle(c);
    expect(await b.global.register('die', onA.pid)).toBe('yes');
    expect(await a.global.register('c1', onC1.pid)).toBe('yes');
    expect(await b.global.register('c2', onC2.pid)).toBe('yes');
    expect(await c.global.register('keep', spawnIdle(b).pid)).toBe('yes');
    a.exit(onA.pid, 'crash');
    await agree(nodes, 'die', undefined, 3000);
    // The pid is free again: a new process can take the name.
    const again = spawnIdle(a);
    expect(await c.global.register('die', again.pid)).toBe('yes');
    seenEverywhere(nodes, 'die', again.pid);
    await c.stop();
    for (const name of ['c1', 'c2']) await agree([a, b], name, undefined, 3000);
    for (const n of [a, b]) expect(n.global.registeredNames().sort()).toEqual(['die', 'keep']);
  });
});

// ---------------------------------------------------------------- issue 18: names follow their pids without remote monitors

describe('names follow their pids through their own node (issue 18)', () => {
  /** Calls `to`'s name server from `from`, as a peer's name server would. */
  const ask = (from: DistNode, to: DistNode, req: unknown): Promise<unknown> => genServer.call(from, [GLOBAL_NAME_SERVER, to.name], req, 5000);
  const sizes = (n: DistNode): Record<string, number> => n.global.internalSizes();

  it('a pid\'s death removes its name on every node; only its own node monitors it, the others hold no monitor', async () => {
    const nodes = await cluster.startConnected(3);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    // The peers' monitors on a's name server (peer calls, lock holder) come with the first
    // registrations; names registered after them add none.
    expect(await b.global.register('warm_b', spawnIdle(a).pid)).toBe('yes');
    expect(await a.global.register('warm_a', spawnIdle(a).pid)).toBe('yes');
    for (const n of ['warm_a', 'warm_b']) await a.global.unregister(n);
    const accepted = a.net.internalSizes().acceptedRefs;
    const p = spawnIdle(a);
    expect(await b.global.register('one', p.pid)).toBe('yes');
    expect(await a.global.register('two', spawnIdle(a).pid)).toBe('yes');
    seenEverywhere(nodes, 'one', p.pid);
    // OTP would hold one monitor per name server on p (three); rigil holds its own node's watch
    // only, and that is no monitor either (one exit observer for every named pid of a).
    expect(monitorCount(p)).toBe(1);
    expect(a.processInfo(p.pid)?.monitoredByCount).toBe(0);
    expect(a.net.internalSizes().acceptedRefs).toBe(accepted);
    expect([sizes(a).watched, sizes(b).watched, sizes(c).watched]).toEqual([2, 0, 0]);
    expect([sizes(a).remoteMonitors, sizes(b).remoteMonitors, sizes(c).remoteMonitors]).toEqual([0, 0, 0]);
    // Straight from a (a's own registration) or from a third node: no check is left over.
    await waitFor(() => nodes.every((n) => sizes(n).checks === 0), 3000, 'no liveness check due');
    a.exit(p.pid, 'kill');
    await agree(nodes, 'one', undefined, 3000);
    expect(sizes(a).watched).toBe(1);
    for (const n of nodes) expect(n.global.registeredNames()).toEqual(['two']);
  });

  it('a name that reached a node from a third node is checked with the pid\'s node: dropped if the pid died in flight, and when it dies later', async () => {
    const nodes = await cluster.startConnected(3);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    // b's insert reaches c after the pid died (a never held the name, so a announces nothing).
    const dead = spawnIdle(a);
    a.exit(dead.pid, 'kill');
    await waitFor(() => !a.isAlive(dead.pid), 3000, 'the pid to die');
    expect(await ask(b, c, { op: 'insert', name: 'in_flight', pid: dead.pid, resolver: 'randomExitName' })).toBe('ok');
    await waitFor(() => c.global.whereis('in_flight') === undefined, 3000, 'c to drop the name of a dead pid');
    // A live pid: the check confirms it and makes a watch it, so its death later reaches c.
    const live = spawnIdle(a);
    expect(await ask(b, c, { op: 'insert', name: 'relayed', pid: live.pid, resolver: 'randomExitName' })).toBe('ok');
    await waitFor(() => sizes(c).checks === 0, 3000, 'the check to end');
    expect(show(c.global.whereis('relayed'))).toBe(show(live.pid));
    expect(sizes(a).watched).toBe(1);
    a.exit(live.pid, 'kill');
    await waitFor(() => c.global.whereis('relayed') === undefined, 3000, 'c to drop the name when the pid dies');
    expect(sizes(a).watched).toBe(0);
    // The whole registration, from a third node, of a pid dead by then: no node keeps the name.
    const gone = spawnIdle(a);
    a.exit(gone.pid, 'kill');
    await waitFor(() => !a.isAlive(gone.pid), 3000, 'the pid to die');
    expect(await b.global.register('late', gone.pid)).toBe('yes');
    await agree(nodes, 'late', undefined, 3000);
    // c may have dropped it on a's pidDown while its own check of the pid is still answered.
    await waitFor(() => nodes.every((n) => sizes(n).checks === 0), 3000, 'the checks to end');
    for (const n of nodes) expect(sizes(n)).toMatchObject({ names: 0, nameOf: 0, watched: 0, remoteMonitors: 0, checks: 0 });
  });

  it('a pidDown for a pid of another node, or a malformed one, removes nothing; an oversized alive is refused', async () => {
    const nodes = await cluster.startConnected(3);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    const p = spawnIdle(a);
    expect(await a.global.register('victim', p.pid)).toBe('yes');
    // b speaks for a's pid: refused (only the pid's own node may).
    expect(await ask(b, c, { op: 'pidDown', pid: p.pid })).toEqual({ error: 'not_yours' });
    expect(await ask(b, c, { op: 'pidDown', pid: String(p.pid) })).toEqual({ error: 'bad_request' });
    expect(await ask(b, c, { op: 'pidDown' })).toEqual({ error: 'bad_request' });
    expect(await ask(b, c, { op: 'alive', pids: Array.from({ length: 4097 }, () => p.pid) })).toEqual({ error: 'bad_request' });
    expect(await ask(b, c, { op: 'alive', pids: [p.pid, 'x'] })).toEqual({ error: 'bad_request' });
    // A well-formed check of pids that are not c's: dead, and nothing changes.
    expect(await ask(b, c, { op: 'alive', pids: [p.pid] })).toEqual([false]);
    seenEverywhere(nodes, 'victim', p.pid);
    expect(sizes(c).watched).toBe(0);
    // a's own word is taken.
    expect(await ask(a, c, { op: 'pidDown', pid: p.pid })).toBe('ok');
    expect(c.global.whereis('victim')).toBeUndefined();
    seenEverywhere([a, b], 'victim', p.pid);
  });

  it('the names of a node\'s pids go with its nodedown on every other node, and come back checked with the merge', async () => {
    const nodes = await cluster.startConnected(3);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    const onC = [spawnIdle(c), spawnIdle(c)];
    expect(await a.global.register('c1', onC[0]!.pid)).toBe('yes');
    expect(await b.global.register('c2', onC[1]!.pid)).toBe('yes');
    expect(await c.global.register('a1', spawnIdle(a).pid)).toBe('yes');
    await partition([[a, b], [c]]);
    for (const name of ['c1', 'c2']) await agree([a, b], name, undefined, 3000);
    await agree([c], 'a1', undefined, 3000);
    for (const n of [a, b]) expect(n.global.registeredNames()).toEqual(['a1']);
    expect(c.global.registeredNames().sort()).toEqual(['c1', 'c2']);
    await heal(nodes);
    await agree(nodes, 'c1', onC[0]!.pid, MERGE_MS);
    await agree(nodes, 'c2', onC[1]!.pid, MERGE_MS);
    // Merged in (not straight from c): checked, then c's pidDown removes them.
    await waitFor(() => nodes.every((n) => sizes(n).checks === 0), 3000, 'the checks to end');
    c.exit(onC[0]!.pid, 'kill');
    await agree(nodes, 'c1', undefined, 3000);
    expect([sizes(a).watched, sizes(b).watched, sizes(c).watched]).toEqual([1, 0, 1]);
  });
});

// ---------------------------------------------------------------- scenarios 65–67: locks

describe('the registrar: one lock round for the registrations queued on a node (issue 18)', () => {
  it('registrations in flight together are decided in call order, as one at a time would be, with far fewer messages', async () => {
    const nodes = await cluster.startConnected(3);
    const [a] = nodes as [DistNode, DistNode, DistNode];
    await a.global.register('warm', spawnIdle(a).pid); // the peer links and holder monitors
    const before = a.net.traffic().total.messagesOut;
    const pids = Array.from({ length: 30 }, () => spawnIdle(a).pid);
    const other = spawnIdle(a).pid;
    const answers = await Promise.all([
      ...pids.map((p, i) => a.global.register(`x${i}`, p)),
      a.global.register('x5', other), // the name was given just before: no
      a.global.register('y3', pids[3]!), // the pid was given just before: no
    ]);
    expect(answers).toEqual([...pids.map(() => 'yes'), 'no', 'no']);
    // One at a time, 30 registrations would make three rounds of calls to 2 peers each (≥ 360
    // messages out); a batch makes two rounds for all of them.
    expect(a.net.traffic().total.messagesOut - before).toBeLessThan(60);
    await waitFor(() => nodes.every((n) => n.global.registeredNames().length === 31), 5000, 'every node to hold the 31 names');
    for (let i = 0; i < 30; i++) seenEverywhere(nodes, `x${i}`, pids[i]);
    // An unregistration queued between registrations takes effect between them.
    const fresh = spawnIdle(a).pid;
    const order = await Promise.all([a.global.register('x7', fresh), a.global.unregister('x7'), a.global.register('x7', fresh)]);
    expect(order).toEqual(['no', undefined, 'yes']);
    seenEverywhere(nodes, 'x7', fresh);
    for (const n of nodes) expect(n.global.internalSizes().peerCalls).toBe(0);
  });

  it('a peer\'s name server that crashes fails the calls pending with it; registrations go on with its next incarnation', async () => {
    const nodes = await cluster.startConnected(3);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    expect(await b.global.register('before', spawnIdle(b).pid)).toBe('yes');
    const old = c.whereis(GLOBAL_NAME_SERVER)!;
    c.exit(old, 'kill');
    await waitFor(() => c.whereis(GLOBAL_NAME_SERVER) !== undefined && !c.whereis(GLOBAL_NAME_SERVER)!.equals(old), 5000, 'c\'s name server to restart');
    const p = spawnIdle(a).pid;
    expect(await b.global.register('after', p)).toBe('yes');
    await agree(nodes, 'after', p, 5000);
    await agree(nodes, 'before', b.global.whereis('before'), 5000);
    await waitFor(() => nodes.every((n) => n.global.internalSizes().peerCalls === 0 && n.global.internalSizes().locks === 0), 5000, 'no call pending and no lock held');
  });
});

describe('locks', () => {
  // Scenario 65 — locks: set/del, other requesters refused, holder death frees, waiting setter gets it, disjoint and overlapping node sets, node stop frees.
  it('scenario 65: set_lock / del_lock across nodes', async () => {
    const nodes = await cluster.startConnected(3);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    const all = nodes.map((n) => n.name);
    const me = spawnIdle(a);
    const other = spawnIdle(b);
    expect(await a.global.setLock(['test_lock', 'me'], all, 1, me.pid)).toBe(true);
    // Other processes with their own requester ids: refused.
    expect(await b.global.setLock(['test_lock', 'other'], all, 0, other.pid)).toBe(false);
    expect(await c.global.setLock(['test_lock', 'third'], [c.name], 0)).toBe(false);
    // After del_lock another process gets it.
    await a.global.delLock(['test_lock', 'me'], all, me.pid);
    expect(await eventually(() => b.global.setLock(['test_lock', 'other'], all, 0, other.pid), 3000, 'b takes the released lock')).toBe(true);
    // Its holder dies: freed on every node.
    b.exit(other.pid, 'kill');
    expect(await eventually(() => lockFree(c, 'test_lock', all), 3000, 'lock freed after holder death')).toBe(true);

    // A process looping on set_lock gets it soon after the release.
    expect(await a.global.setLock(['test_lock', 'me'], all, 0, me.pid)).toBe(true);
    const waiter = track(b.global.setLock(['test_lock', 'looper'], all, Infinity));
    await elapse(100);
    expect(waiter.settled()).toBe(false);
    await a.global.delLock(['test_lock', 'me'], all, me.pid);
    const t0 = Date.now();
    expect(await waiter.promise).toBe(true);
    expect(Date.now() - t0).toBeLessThan(12_000);
    await b.global.delLock(['test_lock', 'looper'], all);

    // One process holding two locks releases one; the other stays held.
    expect(await a.global.setLock(['lock1', 'me'], all, 0, me.pid)).toBe(true);
    expect(await a.global.setLock(['lock2', 'me'], all, 0, me.pid)).toBe(true);
    await a.global.delLock(['lock1', 'me'], all, me.pid);
    expect(await eventually(() => lockFree(b, 'lock1', all), 3000, 'lock1 free')).toBe(true);
    expect(await lockFree(b, 'lock2', all)).toBe(false);
    await a.global.delLock(['lock2', 'me'], all, me.pid);

    // Disjoint node sets do not conflict; an overlapping set fails.
    expect(await a.global.setLock(['res', 'r1'], [a.name, b.name], 0)).toBe(true);
    expect(await c.global.setLock(['res', 'r2'], [c.name], 0)).toBe(true);
    expect(await c.global.setLock(['res', 'r3'], [b.name, c.name], 0)).toBe(false);

    // Stopping a node releases the locks held there (by its name server).
    expect(await c.global.setLock(['held_by_c', 'c'], all, 0)).toBe(true);
    expect(await lockFree(a, 'held_by_c', [a.name, b.name])).toBe(false);
    await c.stop();
    expect(await eventually(() => lockFree(a, 'held_by_c', [a.name, b.name]), 3000, 'c\'s lock released on a and b')).toBe(true);
  });

  it('the same requester may hold a lock from several processes; it is free only when all released it', async () => {
    const nodes = await cluster.startConnected(2);
    const [a, b] = nodes as [DistNode, DistNode];
    const all = nodes.map((n) => n.name);
    const p1 = spawnIdle(a);
    const p2 = spawnIdle(b);
    const p3 = spawnIdle(a);
    expect(await a.global.setLock(['shared', 'req'], all, 0, p1.pid)).toBe(true);
    expect(await b.global.setLock(['shared', 'req'], all, 0, p2.pid)).toBe(true);
    expect(await a.global.setLock(['shared', 'req'], all, 0, p3.proc)).toBe(true); // a Process works as the holder too
    expect(await a.global.setLock(['shared', 'someone else'], all, 0)).toBe(false);
    await a.global.delLock(['shared', 'req'], all, p1.pid);
    expect(await lockFree(a, 'shared', all)).toBe(false);
    b.exit(p2.pid, 'kill'); // a holder dying counts as releasing
    await waitFor(() => a.processInfo(p2.pid) === undefined && b.processInfo(p2.pid) === undefined, 3000, 'p2 gone');
    expect(await lockFree(b, 'shared', all)).toBe(false);
    await a.global.delLock(['shared', 'req'], all, p3.pid);
    expect(await eventually(() => lockFree(b, 'shared', all), 3000, 'free after the last holder')).toBe(true);
  });

  it('a different requester waits with back-off and gets the lock once released; with retries 0 it fails at once', async () => {
    const nodes = await cluster.startConnected(2);
    const [a, b] = nodes as [DistNode, DistNode];
    const all = nodes.map((n) => n.name);
    expect(await a.global.setLock(['r', 'x'], all, 0)).toBe(true);
    const t0 = Date.now();
    expect(await b.global.setLock(['r', 'y'], all, 0)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(200); // one attempt, no back-off
    // retries 1: two attempts with one back-off of at most 250 ms between them.
    const t1 = Date.now();
    expect(await b.global.setLock(['r', 'y'], all, 1)).toBe(false);
    expect(Date.now() - t1).toBeLessThan(1000);
    const waiting = track(b.global.setLock(['r', 'y'], all));
    await elapse(50);
    expect(waiting.settled()).toBe(false);
    await a.global.delLock(['r', 'x'], all);
    expect(await waiting.promise).toBe(true);
    expect(await lockFree(a, 'r', all)).toBe(false);
  });

  it('setting a lock is all-or-nothing across nodes: partial grants are rolled back', async () => {
    const nodes = await cluster.startConnected(3);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    expect(await c.global.setLock(['aon', 'X'], [c.name], 0)).toBe(true);
    expect(await a.global.setLock(['aon', 'Y'], [a.name, b.name, c.name], 0)).toBe(false);
    // Y's grants on a and b were given back: Z gets those two right away (same sender, so in order).
    expect(await a.global.setLock(['aon', 'Z'], [a.name, b.name], 0)).toBe(true);
    expect(await b.global.setLock(['aon', 'Y'], [b.name], 0)).toBe(false);
  });

  it('locks die with their holder processes and with their nodes', async () => {
    const nodes = await cluster.startConnected(3);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    const all = nodes.map((n) => n.name);
    const holder = spawnIdle(b);
    expect(await a.global.setLock(['dies', 'h'], all, 0, holder.pid)).toBe(true);
    expect(await lockFree(c, 'dies', all)).toBe(false);
    b.exit(holder.pid, 'kill');
    expect(await eventually(() => lockFree(c, 'dies', all), 3000, 'freed on every node after the holder died')).toBe(true);

    // A lock whose holder is a process of c, set on a and b: c stopping frees it there.
    const onC = spawnIdle(c);
    expect(await c.global.setLock(['node_dies', 'h'], all, 0, onC.pid)).toBe(true);
    expect(await lockFree(a, 'node_dies', [a.name, b.name])).toBe(false);
    await c.stop();
    expect(await eventually(() => lockFree(a, 'node_dies', [a.name, b.name]), 3000, 'freed after the holder\'s node stopped')).toBe(true);
  });

  it('delLock and trans have released the lock on every node when they return (OTP\'s del_lock is a multi_call)', async () => {
    const nodes = await cluster.startConnected(2);
    const [a, b] = nodes as [DistNode, DistNode];
    const all = nodes.map((n) => n.name);
    expect(await a.global.setLock(['sync', 'x'], all, 0)).toBe(true);
    await Promise.resolve(a.global.delLock(['sync', 'x'], all));
    // Another node, at once: it must not find the lock still held on itself.
    expect(await b.global.setLock(['sync', 'y'], all, 0)).toBe(true);
    await b.global.delLock(['sync', 'y'], all);
    await roundTrip(b, all);

    expect(await a.global.trans(['sync', 'x'], () => 'done', all, 0)).toBe('done');
    expect(await b.global.setLock(['sync', 'y'], all, 0)).toBe(true);
  });

  it('a failed setLock has rolled back its partial grants on every node when it returns (OTP rolls back with a multi_call)', async () => {
    const nodes = await cluster.startConnected(3);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    expect(await c.global.setLock(['partial', 'X'], [c.name], 0)).toBe(true);
    expect(await a.global.setLock(['partial', 'Y'], [a.name, b.name, c.name], 0)).toBe(false);
    // From b, at once: Y's grant on b must be gone already.
    expect(await b.global.setLock(['partial', 'Z'], [a.name, b.name], 0)).toBe(true);
  });

  // Scenario 67 — trans: returns fn's value, releases even when fn throws, aborted at once with retries 0 when held elsewhere.
  it('scenario 67: trans returns the value, releases on throw, aborts with retries 0', async () => {
    const nodes = await cluster.startConnected(2);
    const [a, b] = nodes as [DistNode, DistNode];
    const all = nodes.map((n) => n.name);
    let heldInside = false;
    const v = await a.global.trans(['t', 'me'], async () => {
      heldInside = !(await lockFree(b, 't', all));
      return 42;
    });
    expect(v).toBe(42);
    expect(heldInside).toBe(true);
    expect(await eventually(() => lockFree(b, 't', all), 3000, 'released after trans')).toBe(true);

    await expect(a.global.trans(['t', 'me'], () => {
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(await eventually(() => lockFree(b, 't', all), 3000, 'released after the throw')).toBe(true);

    expect(await b.global.setLock(['t', 'other'], all, 0)).toBe(true);
    let ran = false;
    const t0 = Date.now();
    expect(await a.global.trans(['t', 'me'], () => (ran = true), all, 0)).toBe('aborted');
    expect(ran).toBe(false);
    expect(Date.now() - t0).toBeLessThan(200);
  });

  // Scenario 66 — names and locks die with owners: killing the owner removes its name and its locks everywhere; a taken name gives no.
  it('scenario 66: killing the owner removes its names and locks on every node', async () => {
    const nodes = await cluster.startConnected(3);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    const all = nodes.map((n) => n.name);
    const owner = spawnIdle(b);
    const other = spawnIdle(c);
    expect(await a.global.register('test3', owner.pid)).toBe('yes');
    expect(await a.global.setLock(['owned', 'o'], all, 0, owner.pid)).toBe(true);
    expect(await c.global.register('test3', other.pid)).toBe('no');
    c.exit(owner.pid, 'kill');
    await agree(nodes, 'test3', undefined, 3000);
    expect(await eventually(() => lockFree(c, 'owned', all), 3000, 'lock freed')).toBe(true);
    expect(await c.global.register('test3', other.pid)).toBe('yes');
    seenEverywhere(nodes, 'test3', other.pid);
  });

  // Scenario 66 — name_die: a name registered while its partition was split away survives the merge with no resolver.
  it('scenario 66: a name registered during a partition, or the same pid registered on both sides, survives the merge without a resolver', async () => {
    const nodes = await cluster.startConnected(3, { global: { preventOverlappingPartitions: false } });
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    let calls = 0;
    const spy: Resolver = () => {
      calls++;
      return undefined;
    };
    // Clean partition [a, b] | [c]: a name registered on c's side alone.
    await partition([[a, b], [c]]);
    const lone = spawnIdle(c);
    expect(await c.global.register('lone', lone.pid, spy)).toBe('yes');
    await heal(nodes);
    await agree(nodes, 'lone', lone.pid);
    await quiesce(nodes); // the merges of the heal are over: none will carry names to b behind our back

    // Overlapping (no POP): a–b cut, c sees both; the same pid (on c) registered from both sides.
    cut(a, b);
    await waitFor(() => !a.net.isConnected(b.name) && !b.net.isConnected(a.name), 3000, 'a–b cut');
    expect(c.nodes().sort()).toEqual([a.name, b.name].sort());
    const same = spawnIdle(c);
    expect(await a.global.register('same', same.pid, spy)).toBe('yes');
    expect(b.global.whereis('same')).toBeUndefined(); // b's side never heard of a's registration
    expect(await b.global.register('same', same.pid, spy)).toBe('yes');
    await heal(nodes);
    await agree(nodes, 'same', same.pid);
    await agree(nodes, 'lone', lone.pid);
    expect(calls).toBe(0);
  });
});

// ---------------------------------------------------------------- scenarios 68–70: merges

/** Four nodes a, m | y, z split into two partitions, and the two holders of `name`: m's side and y's side. */
async function twoPartitions(): Promise<{ nodes: DistNode[]; a: DistNode; m: DistNode; y: DistNode; z: DistNode }> {
  const a = await cluster.start('a');
  const m = await cluster.start('m', { seeds: [cluster.seed(a)] });
  const y = await cluster.start('y', { seeds: [cluster.seed(a)] });
  const z = await cluster.start('z', { seeds: [cluster.seed(a)] });
  const nodes = [a, m, y, z];
  await heal(nodes);
  await partition([[a, m], [y, z]]);
  return { nodes, a, m, y, z };
}

interface Call {
  readonly on: string;
  readonly name: string;
  readonly other: Pid;
  readonly own: Pid;
}

describe('merging partitions', () => {
  // Scenario 68 — conflict resolution on merge: the smaller side's resolver runs once, where its pid lives, as Resolve(name, Other, Own).
  for (const outcome of ['own', 'other', 'none', 'bad answer', 'throws'] as const) {
    it(`scenario 68: conflict resolution on merge — the resolver ${outcome === 'throws' ? 'throws' : `returns ${outcome}`}`, async () => {
      const { nodes, a, m, y } = await twoPartitions();
      const calls: Call[] = [];
      const otherCalls: Call[] = [];
      // Every cross-partition pair has its smaller node in [a, m]: that side's resolver decides.
      const resolver: Resolver = (name, other, own, node) => {
        calls.push({ on: node.name, name, other, own });
        if (outcome === 'own') return own;
        if (outcome === 'other') return other;
        if (outcome === 'bad answer') return 'bad_answer' as unknown as Pid;
        if (outcome === 'throws') throw new Error('resolver failed');
        return undefined;
      };
      const p1 = spawnIdle(m);
      const p2 = spawnIdle(y);
      expect(await m.global.register('name', p1.pid, resolver)).toBe('yes');
      expect(await y.global.register('name', p2.pid, (n, other, own, node) => {
        otherCalls.push({ on: node.name, name: n, other, own });
        return own;
      })).toBe('yes');
      seenEverywhere([a, m], 'name', p1.pid);
      seenEverywhere(nodes.slice(2), 'name', p2.pid);

      await heal(nodes);
      // OTP's resolve_it catches a throw: like a bad answer or none, the name is unregistered.
      const keep = outcome === 'own' ? p1 : outcome === 'other' ? p2 : undefined;
      await agree(nodes, 'name', keep?.pid);
      await waitFor(() => calls.length >= 1, 3000, 'the resolver to run');
      // Any later exchange finds the same pid everywhere: no second run.
      await agree(nodes, 'name', keep?.pid);
      expect(calls).toHaveLength(1);
      expect(otherCalls).toHaveLength(0);
      const call = calls[0]!;
      expect(call.on).toBe(m.name); // where the smaller side's pid lives, not a (the smallest node)
      expect(call.name).toBe('name');
      expect(call.own.equals(p1.pid)).toBe(true);
      expect(call.other.equals(p2.pid)).toBe(true);
      for (const n of nodes) expect(n.global.registeredNames()).toEqual(keep === undefined ? [] : ['name']);
      // No leaked monitors: the survivor is monitored once, by its own node's name server; the loser by none.
      if (keep !== undefined) {
        const lose = keep === p1 ? p2 : p1;
        expect(monitoredBy(nodes, keep.pid)).toEqual([1, 1, 1, 1]);
        expect(monitoredBy(nodes, lose.pid)).toEqual([0, 0, 0, 0]);
        await waitFor(() => monitorCount(keep) === 1 && monitorCount(lose) === 0, 3000, `monitors (keep ${monitorCount(keep)}, lose ${monitorCount(lose)})`);
      } else {
        await waitFor(() => monitorCount(p1) === 0 && monitorCount(p2) === 0, 3000, `no monitors left (${monitorCount(p1)}, ${monitorCount(p2)})`);
      }
      // Nobody was killed by a user resolver.
      expect(m.processInfo(p1.pid)).toBeDefined();
      expect(y.processInfo(p2.pid)).toBeDefined();
    });
  }

  // Scenario 69 — default resolver is deterministic: randomExitName keeps the pid on the smaller node name and kills the other with reason killed.
  it('scenario 69: randomExitName (the default) kills the pid on the larger node name and keeps the smaller, on every node', async () => {
    const a = await cluster.start('a');
    const m = await cluster.start('m', { seeds: [cluster.seed(a)] });
    const z = await cluster.start('z', { seeds: [cluster.seed(a)] });
    const nodes = [a, m, z];
    await heal(nodes);
    await partition([[a, m], [z]]);
    const p1 = watch(m, spawnIdle(a));
    const p2 = watch(z, spawnIdle(z));
    expect(await m.global.register('name', p1.pid)).toBe('yes');
    expect(await z.global.register('name', p2.pid)).toBe('yes');
    await heal(nodes);
    await waitFor(() => p2.exit.down, MERGE_MS, 'the larger node\'s pid to be killed');
    expect(p2.exit.reason).toBe('killed');
    await agree(nodes, 'name', p1.pid);
    expect(p1.exit.down).toBe(false);
    expect(a.processInfo(p1.pid)).toBeDefined();
  });

  // Scenario 69 — random_notify_name: the pid on the larger node name gets {global_name_conflict, Name} and survives.
  it('scenario 69: randomNotifyName keeps the smaller node\'s pid and notifies the other, which survives', async () => {
    const a = await cluster.start('a');
    const z = await cluster.start('z', { seeds: [cluster.seed(a)] });
    const nodes = [a, z];
    await heal(nodes);
    await partition([[a], [z]]);
    const p1 = watch(a, spawnIdle(a));
    const p2 = watch(z, spawnIdle(z));
    expect(await a.global.register('name', p1.pid, 'randomNotifyName')).toBe('yes');
    expect(await z.global.register('name', p2.pid, 'randomNotifyName')).toBe('yes');
    await heal(nodes);
    await agree(nodes, 'name', p1.pid);
    await waitFor(() => p2.got.length > 0, 3000, 'the conflict message');
    expect(p2.got).toEqual([{ tag: 'global_name_conflict', name: 'name' } satisfies NameConflict]);
    expect(p1.got).toEqual([]);
    expect(p2.exit.down).toBe(false);
    expect(p1.exit.down).toBe(false);
  });

  // Scenario 69 — notify_all_name: both pids get {global_name_conflict, Name, OtherPid} and the name is unregistered.
  it('scenario 69: notifyAllName unregisters the name everywhere and notifies both pids with the other pid', async () => {
    const a = await cluster.start('a');
    const z = await cluster.start('z', { seeds: [cluster.seed(a)] });
    const nodes = [a, z];
    await heal(nodes);
    await partition([[a], [z]]);
    const p1 = spawnIdle(a);
    const p2 = spawnIdle(z);
    expect(await a.global.register('name', p1.pid, 'notifyAllName')).toBe('yes');
    expect(await z.global.register('name', p2.pid, 'notifyAllName')).toBe('yes');
    await heal(nodes);
    await waitFor(() => p1.got.length > 0 && p2.got.length > 0, MERGE_MS, 'both conflict messages');
    await agree(nodes, 'name', undefined);
    expect(p1.got).toHaveLength(1);
    expect(p2.got).toHaveLength(1);
    const m1 = p1.got[0] as NameConflict;
    const m2 = p2.got[0] as NameConflict;
    expect([m1.tag, m1.name, m2.tag, m2.name]).toEqual(['global_name_conflict', 'name', 'global_name_conflict', 'name']);
    expect(m1.other?.equals(p2.pid)).toBe(true);
    expect(m2.other?.equals(p1.pid)).toBe(true);
  });

  it('a merge exchanges names both ways: each side ends with the union, on every node', async () => {
    const { nodes, a, m, y, z } = await twoPartitions();
    const left = spawnIdle(a);
    const right = spawnIdle(z);
    expect(await m.global.register('left', left.pid)).toBe('yes');
    expect(await y.global.register('right', right.pid)).toBe('yes');
    await heal(nodes);
    await agree(nodes, 'left', left.pid);
    await agree(nodes, 'right', right.pid);
    for (const n of nodes) expect(n.global.registeredNames().sort()).toEqual(['left', 'right']);
  });

  // Scenario 70 — register during connect: a registration made while another process holds the global lock and a node joins ends up on both nodes.
  it('scenario 70: a register made while the global lock is held during a join is seen on both nodes', async () => {
    const m = await cluster.start('m');
    const holder = spawnIdle(m);
    expect(await m.global.setLock([GLOBAL_LOCK, 'someone'], [m.name], 0, holder.pid)).toBe(true);
    const b = await cluster.start('b', { seeds: [cluster.seed(m)] });
    await waitFor(() => b.net.isConnected(m.name) && m.net.isConnected(b.name), 3000, 'b joined');
    const foo = spawnIdle(m);
    const registering = track(m.global.register('foo', foo.pid));
    await elapse(50);
    expect(registering.settled()).toBe(false); // it waits for the global lock
    await m.global.delLock([GLOBAL_LOCK, 'someone'], [m.name], holder.pid);
    expect(await registering.promise).toBe('yes');
    await agree([m, b], 'foo', foo.pid);
  });
});

// ---------------------------------------------------------------- scenarios 71–72: overlapping partitions

describe('overlapping partitions', () => {
  // Scenario 71 — prevent overlapping partitions (default on): cutting T from cp2 cuts cp1 from cp2 too; the name stays on T's side.
  it('scenario 71: with the default, a lost link splits the cluster cleanly and the original name survives', async () => {
    const nodes = await cluster.startConnected(3);
    const [t, cp1, cp2] = nodes as [DistNode, DistNode, DistNode];
    const reports: string[] = [];
    cp1.onReport((r) => {
      if (r.kind === 'global') reports.push(r.message);
    });
    const gurka = spawnIdle(t);
    expect(await t.global.register('gurka', gurka.pid)).toBe('yes');
    seenEverywhere(nodes, 'gurka', gurka.pid);

    cut(t, cp2);
    // cp1 hears that t lost cp2 and drops cp2 as well: no node sees both sides.
    await waitFor(() => !cp1.net.isConnected(cp2.name) && !cp2.net.isConnected(cp1.name), 3000, 'cp1 cut from cp2');
    await waitFor(() => cp2.nodes().length === 0, 3000, 'cp2 alone');
    expect(reports.some((m) => m.includes('overlapping partitions'))).toBe(true);
    // cp2 is alone: gurka's holder is unreachable from there, so the name is free on cp2.
    await agree([cp2], 'gurka', undefined, 3000);
    const local = spawnIdle(cp2);
    expect(await cp2.global.register('gurka', local.pid)).toBe('yes');
    await cp2.stop();
    // t and cp1 (reconnected if the cut separated them too) still see the original pid.
    await heal([t, cp1]);
    await agree([t, cp1], 'gurka', gurka.pid);
    expect(t.processInfo(gurka.pid)).toBeDefined();
  });

  // Scenario 71 — with the default, cutting one link never leaves a node connected to two nodes that cannot see each other.
  it('scenario 71: with the default, no overlapping partition remains after a single cut', async () => {
    const nodes = await cluster.startConnected(3);
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    cut(b, c);
    await waitFor(() => !b.net.isConnected(c.name) && !c.net.isConnected(b.name), 3000, 'b–c cut');
    // a must end up on one side only.
    await waitFor(() => a.nodes().length <= 1, 3000, `a to pick a side (a sees ${a.nodes().join(', ')})`);
    const overlapping = (): boolean =>
      nodes.some((x) => x.nodes().some((p) => x.nodes().some((q) => p !== q && !nodes.find((n) => n.name === p)!.net.isConnected(q))));
    expect(overlapping()).toBe(false);
  });

  // Scenario 72 — overlapping partitions without POP: with preventOverlappingPartitions false a name unregistered on one side reappears after B–C reconnect.
  it('scenario 72: without prevention, an unregister on one side of an overlapping partition is undone by the merge', async () => {
    const nodes = await cluster.startConnected(3, { global: { preventOverlappingPartitions: false } });
    const [a, b, c] = nodes as [DistNode, DistNode, DistNode];
    const holder = spawnIdle(a);
    expect(await a.global.register('test', holder.pid)).toBe('yes');
    seenEverywhere(nodes, 'test', holder.pid);

    cut(b, c);
    await waitFor(() => !b.net.isConnected(c.name) && !c.net.isConnected(b.name), 3000, 'b–c cut');
    // Nobody prevents the overlap: a still sees both.
    expect(a.nodes().sort()).toEqual([b.name, c.name].sort());
    await b.global.unregister('test');
    // b's registrar reached the nodes it knows (b, a); c never heard of it.
    seenEverywhere([a, b], 'test', undefined);
    seenEverywhere([c], 'test', holder.pid);
    await heal(nodes);
    // The old OTP behaviour: c's copy wins the exchange and the name comes back everywhere.
    await agree(nodes, 'test', holder.pid);
  });
});
