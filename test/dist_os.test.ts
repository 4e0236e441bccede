/**
 * Distribution between nodes in separate OS processes: a node in this test process talks to
 * child nodes (test/src/node_main.ts) over real sockets on loopback. Covers what only
 * separate processes can show: `kill -9` (the socket closes: nodedown at once, long before
 * tickTime), `SIGSTOP` (the socket stays open but the peer goes silent: nodedown after about
 * tickTime), and a restarted node (same name, new creation; its old pids stay dead).
 */
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { CallError, genServer, isDown, isExit, Pid, type ExitReason, type Process, type Ref } from '@rigil/core';
import { DistNode, type DistNodeOptions, type NodeEvent } from '@rigil/net';
import { isRunning, OsCluster, waitFor, type ChildNode } from './src/os_cluster.js';

const COOKIE = 'os-test-cookie';

const cluster = new OsCluster();
const locals: DistNode[] = [];
const startedPids: number[] = [];

afterEach(async () => {
  try {
    await Promise.all(locals.splice(0).map((n) => n.stop()));
  } finally {
    await cluster.cleanup();
  }
  // No child survives its test.
  for (const pid of startedPids.splice(0)) expect(isRunning(pid), `child ${pid} still running`).toBe(false);
});

async function child(name: string, tickTime: number): Promise<ChildNode> {
  const c = await cluster.spawn({ name, cookie: COOKIE, tickTime });
  startedPids.push(c.osPid);
  return c;
}

async function local(options: Omit<DistNodeOptions, 'cookie'>): Promise<DistNode> {
  const n = await DistNode.start({ cookie: COOKIE, port: 0, ...options });
  locals.push(n);
  return n;
}

/** A command run inside a probe process. */
class Cmd {
  constructor(
    readonly fn: (self: Process) => unknown,
    readonly done: (v: unknown) => void,
    readonly fail: (e: unknown) => void,
  ) {}
}

/** A local process that runs commands and keeps every other message it gets. */
interface Probe {
  readonly pid: Pid;
  readonly inbox: unknown[];
  run<T>(fn: (self: Process) => T): Promise<T>;
}

function probe(node: DistNode, trapExit = true): Probe {
  const inbox: unknown[] = [];
  const pid = node.spawn(
    async (self) => {
      for (;;) {
        const m = await self.receive();
        if (m instanceof Cmd) {
          try {
            m.done(m.fn(self));
          } catch (e) {
            m.fail(e);
          }
        } else inbox.push(m);
      }
    },
    { trapExit },
  );
  return {
    pid,
    inbox,
    run: <T>(fn: (self: Process) => T) =>
      new Promise<T>((resolve, reject) => node.send(pid, new Cmd(fn, resolve as (v: unknown) => void, reject))),
  };
}

function downFor(inbox: unknown[], ref: Ref): { reason: ExitReason } | undefined {
  return inbox.find((m) => isDown(m, ref));
}

function exitFrom(inbox: unknown[], pid: Pid): { reason: ExitReason } | undefined {
  return inbox.find((m) => isExit(m) && m.from.equals(pid)) as { reason: ExitReason } | undefined;
}

function nodeEvents(node: DistNode): Array<NodeEvent & { at: number }> {
  const events: Array<NodeEvent & { at: number }> = [];
  node.onNodeEvent((e) => events.push({ ...e, at: performance.now() }));
  return events;
}

/** Settles a promise into a value, so a rejection is inspected rather than unhandled. */
function settle<T>(p: Promise<T>): { result: Promise<{ ok: T } | { error: unknown }>; settled: () => boolean } {
  let done = false;
  const result = p.then(
    (ok) => ((done = true), { ok }),
    (error: unknown) => ((done = true), { error }),
  );
  return { result, settled: () => done };
}

describe('nodes in separate OS processes', () => {
  it('calls, links and monitors processes of two child nodes', async () => {
    const [a, b] = await Promise.all([child('osa@127.0.0.1', 10_000), child('osb@127.0.0.1', 10_000)]);
    const t = await local({ name: 'tester0@127.0.0.1', seeds: [a.seed, b.seed], tickTime: 10_000 });
    expect(await t.connect(a.name)).toBe(true);
    expect(await t.connect(b.name)).toBe(true);
    expect(t.nodes().sort()).toEqual([a.name, b.name]);
    expect(t.net.creationOf(a.name)).toBe(a.creation);

    // Really separate processes: each child reports its own OS pid.
    expect(await t.rpc.call(a.name, 'os.pid')).toBe(a.osPid);
    expect(await t.rpc.call(b.name, 'os.pid')).toBe(b.osPid);
    expect(a.osPid).not.toBe(process.pid);

    // Echo by [name, node] and by pid, with values that must survive the wire.
    const payload = { n: 1, s: 'x', m: new Map([['k', [1, 2]]]), big: 2n ** 70n, when: new Date(5), self: t.systemPid };
    expect(await genServer.call(t, ['echo', a.name], { echo: payload })).toEqual(payload);
    const echoB = (await genServer.call(t, ['echo', b.name], { whereis: 'echo' })) as Pid;
    expect(echoB).toBeInstanceOf(Pid);
    expect(echoB.node).toBe(b.name);
    expect(await genServer.call(t, echoB, { echo: 'via pid' })).toBe('via pid');

    // The children formed the mesh between themselves too.
    const infoA = (await t.rpc.call(a.name, 'node.info')) as { nodes: string[] };
    expect(infoA.nodes).toContain(t.name);

    // Links and monitors across: an exit on the child reaches this node with its reason.
    const idleA = await t.rpc.spawn(a.name, 'idle');
    const idleB = await t.rpc.spawn(b.name, 'idle');
    const p = probe(t);
    const refs = await p.run((self) => {
      self.link(idleA);
      self.link(idleB);
      return { a: self.monitor(idleA), b: self.monitor(idleB), echoA: self.monitor(['echo', a.name] as const) };
    });
    // Round trips after the link/monitor requests: they have reached the children.
    expect(await genServer.call(t, ['echo', a.name], { echo: 1 })).toBe(1);
    expect(await genServer.call(t, ['echo', b.name], { echo: 1 })).toBe(1);
    const infoIdleA = (await t.rpc.call(a.name, 'process.info', [idleA])) as { links: Pid[]; monitoredBy: Pid[] } | undefined;
    expect(infoIdleA?.links.some((l) => l.equals(p.pid))).toBe(true);

    t.exit(idleA, 'bye');
    await waitFor(() => downFor(p.inbox, refs.a) !== undefined && exitFrom(p.inbox, idleA) !== undefined, 5000, 'DOWN and EXIT from idleA');
    expect(downFor(p.inbox, refs.a)!.reason).toBe('bye');
    expect(exitFrom(p.inbox, idleA)!.reason).toBe('bye');
    // idleB ends normally when told to: the trapping linker gets EXIT normal, the monitor DOWN normal.
    t.send(idleB, 'stop');
    await waitFor(() => downFor(p.inbox, refs.b) !== undefined, 5000, 'DOWN from idleB');
    expect(downFor(p.inbox, refs.b)!.reason).toBe('normal');
    await waitFor(() => exitFrom(p.inbox, idleB) !== undefined, 5000, 'EXIT from idleB');
    expect(exitFrom(p.inbox, idleB)!.reason).toBe('normal');
    // The monitor on the echo server has not fired.
    expect(downFor(p.inbox, refs.echoA)).toBeUndefined();
    // A dead remote pid: calls fail with noproc, monitors fire noproc.
    await expect(genServer.call(t, idleA, { echo: 1 }, 5000)).rejects.toMatchObject({ code: 'ERR_CALL_NOPROC' });
  });

  it('kill -9 of a child: nodedown at once, noconnection for its links, monitors and calls; the other child is unaffected', async () => {
    const tickTime = 10_000;
    const [a, b] = await Promise.all([child('killa@127.0.0.1', tickTime), child('killb@127.0.0.1', tickTime)]);
    const t = await local({ name: 'tester1@127.0.0.1', seeds: [a.seed, b.seed], tickTime });
    expect(await t.connect(a.name)).toBe(true);
    expect(await t.connect(b.name)).toBe(true);
    const events = nodeEvents(t);

    const idleA = await t.rpc.spawn(a.name, 'idle');
    const idleB = await t.rpc.spawn(b.name, 'idle');
    const p = probe(t);
    const refs = await p.run((self) => {
      self.link(idleA);
      self.link(idleB);
      t.monitorNode(self, a.name);
      t.monitorNodes(self);
      return { a: self.monitor(idleA), echoA: self.monitor(['echo', a.name] as const), b: self.monitor(idleB), echoB: self.monitor(['echo', b.name] as const) };
    });
    // A process that does not trap exits, linked to a process of the child that will die.
    let linkedDown: { reason: ExitReason } | undefined;
    let linkedReady!: () => void;
    const linkedIsReady = new Promise<void>((r) => (linkedReady = r));
    const linked = t.spawn(async (self) => {
      self.link(idleA);
      linkedReady();
      await self.receive(() => false);
    });
    t.monitor(linked, { onDown: (_ref, reason) => void (linkedDown = { reason }) });
    await linkedIsReady;

    // Calls the servers will never answer: pending when the node goes down.
    const pendingA = settle(genServer.call(t, ['echo', a.name], { hold: true }, 30_000));
    const pendingFromProcess = settle(p.run((self) => genServer.call(self, ['echo', a.name], { hold: true }, 30_000)));
    const pendingB = settle(genServer.call(t, ['echo', b.name], { hold: true }, 30_000));
    // Round trips after all of the above: links, monitors and held calls have reached the children.
    expect(await genServer.call(t, ['echo', a.name], { echo: 'sync' })).toBe('sync');
    expect(await genServer.call(t, ['echo', b.name], { echo: 'sync' })).toBe('sync');
    expect(pendingA.settled()).toBe(false);

    const t0 = performance.now();
    cluster.signal(a, 'SIGKILL');
    await waitFor(() => events.some((e) => e.type === 'nodedown' && e.node === a.name), 5000, 'nodedown of the killed node');
    const down = events.find((e) => e.type === 'nodedown' && e.node === a.name)!;
    // Only the socket closing can explain this: tickTime is 10 s.
    expect(down.at - t0).toBeLessThan(2000);
    expect((await a.exited).signal).toBe('SIGKILL');

    // Everything tied to the killed node fires `noconnection`.
    await waitFor(() => downFor(p.inbox, refs.a) !== undefined && downFor(p.inbox, refs.echoA) !== undefined && exitFrom(p.inbox, idleA) !== undefined, 2000, 'DOWN/EXIT noconnection');
    expect(downFor(p.inbox, refs.a)!.reason).toBe('noconnection');
    expect(downFor(p.inbox, refs.echoA)!.reason).toBe('noconnection');
    expect(exitFrom(p.inbox, idleA)!.reason).toBe('noconnection');
    await waitFor(() => linkedDown !== undefined, 2000, 'the linked, non-trapping process to die');
    expect(linkedDown!.reason).toBe('noconnection');
    expect(t.isAlive(linked)).toBe(false);
    expect(t.isAlive(p.pid)).toBe(true);
    await waitFor(() => p.inbox.filter((m) => (m as { tag?: unknown }).tag === 'nodedown').length === 2, 2000, 'nodedown messages');
    expect(p.inbox.filter((m) => (m as { tag?: unknown }).tag === 'nodedown')).toEqual([
      { tag: 'nodedown', node: a.name },
      { tag: 'nodedown', node: a.name },
    ]);

    for (const pending of [pendingA, pendingFromProcess]) {
      const r = await pending.result;
      expect('error' in r).toBe(true);
      const e = (r as { error: unknown }).error;
      expect(e).toBeInstanceOf(CallError);
      expect(e).toMatchObject({ code: 'ERR_CALL_NODEDOWN', reason: { nodedown: a.name } });
    }
    // A new call to the dead node fails at once rather than hanging.
    await expect(genServer.call(t, ['echo', a.name], { echo: 1 }, 5000)).rejects.toMatchObject({ code: 'ERR_CALL_NODEDOWN' });

    // The other child is unaffected.
    expect(t.nodes()).toEqual([b.name]);
    expect(await genServer.call(t, ['echo', b.name], { echo: 'still here' })).toBe('still here');
    expect(downFor(p.inbox, refs.b)).toBeUndefined();
    expect(downFor(p.inbox, refs.echoB)).toBeUndefined();
    expect(exitFrom(p.inbox, idleB)).toBeUndefined();
    expect(pendingB.settled()).toBe(false);
    expect(await t.rpc.call(b.name, 'process.info', [idleB])).toMatchObject({ status: 'waiting' });
    // b lost its own connection to the killed node just as fast, and carries on.
    const deadline = performance.now() + 3000;
    let bNodes: string[] = [a.name];
    while (bNodes.includes(a.name) && performance.now() < deadline) {
      bNodes = ((await t.rpc.call(b.name, 'node.info')) as { nodes: string[] }).nodes;
      if (bNodes.includes(a.name)) await new Promise((r) => setTimeout(r, 20));
    }
    expect(bNodes).toEqual([t.name]);
    expect(events.filter((e) => e.type === 'nodedown').map((e) => e.node)).toEqual([a.name]);
  });

  it('SIGSTOP of a child: nodedown after about tickTime; after SIGCONT it can be reached again', async () => {
    const tickTime = 1000;
    const a = await child('stopa@127.0.0.1', tickTime);
    const t = await local({ name: 'tester2@127.0.0.1', seeds: [a.seed], tickTime });
    expect(await t.connect(a.name)).toBe(true);
    const events = nodeEvents(t);
    const p = probe(t);
    const ref = await p.run((self) => self.monitor(['echo', a.name] as const));
    const pending = settle(genServer.call(t, ['echo', a.name], { hold: true }, 30_000));
    expect(await genServer.call(t, ['echo', a.name], { echo: 'sync' })).toBe('sync');

    // Ticks keep an idle connection alive past tickTime.
    await new Promise((r) => setTimeout(r, 1.5 * tickTime));
    expect(t.nodes()).toEqual([a.name]);
    expect(events).toEqual([]);

    const t0 = performance.now();
    cluster.signal(a, 'SIGSTOP');
    await waitFor(() => events.some((e) => e.type === 'nodedown'), 3 * tickTime, 'nodedown of the stopped node', 10);
    const down = events.find((e) => e.type === 'nodedown')!;
    const elapsed = down.at - t0;
    expect(elapsed).toBeGreaterThanOrEqual(tickTime / 2);
    expect(elapsed).toBeLessThanOrEqual(3 * tickTime);
    expect(down.node).toBe(a.name);
    expect(down.reason?.code).toBe('ERR_TICK_TIMEOUT');
    expect(t.net.stats.tickTimeouts).toBe(1);
    // The process is still there, only silent.
    expect(a.proc.exitCode).toBeNull();
    expect(a.proc.signalCode).toBeNull();

    await waitFor(() => downFor(p.inbox, ref) !== undefined, 2000, 'DOWN of the echo monitor');
    expect(downFor(p.inbox, ref)!.reason).toBe('noconnection');
    const r = await pending.result;
    expect(r).toMatchObject({ error: { code: 'ERR_CALL_NODEDOWN' } });

    cluster.signal(a, 'SIGCONT');
    // Same incarnation, reachable again once it has noticed the old connection is gone.
    const deadline = performance.now() + 10_000;
    let ok = false;
    while (!ok && performance.now() < deadline) {
      ok = await t.connect(a.name);
      if (!ok) await new Promise((res) => setTimeout(res, 50));
    }
    expect(ok).toBe(true);
    expect(t.net.creationOf(a.name)).toBe(a.creation);
    expect(await genServer.call(t, ['echo', a.name], { echo: 'back' })).toBe('back');
  });

  /** A child killed with -9 and started again under the same name; `t` reconnected to the new one. */
  async function restarted(name: string, tester: string) {
    const first = await child(name, 10_000);
    const t = await local({ name: tester, seeds: [first.seed], tickTime: 10_000 });
    expect(await t.connect(name)).toBe(true);
    const events = nodeEvents(t);
    const oldIdle = (await genServer.call(t, ['echo', name], { whereis: 'idle' })) as Pid;
    const oldEcho = (await genServer.call(t, ['echo', name], { whereis: 'echo' })) as Pid;
    expect(oldIdle.creation).toBe(first.creation);
    const p = probe(t);
    const oldRef = await p.run((self) => self.monitor(oldIdle));
    expect(await genServer.call(t, oldEcho, { echo: 'sync' })).toBe('sync');

    await cluster.kill9(first);
    await waitFor(() => downFor(p.inbox, oldRef) !== undefined, 5000, 'DOWN noconnection of the old idle process');
    expect(downFor(p.inbox, oldRef)!.reason).toBe('noconnection');
    expect(t.nodes()).toEqual([]);

    const second = await child(name, 10_000);
    expect(second.creation).not.toBe(first.creation);
    t.net.addAddress(name, second.url);
    expect(await t.connect(name)).toBe(true);
    expect(t.net.creationOf(name)).toBe(second.creation);
    expect(events.map((e) => `${e.type} ${e.node}`)).toEqual([`nodedown ${name}`, `nodeup ${name}`]);

    const newIdle = (await genServer.call(t, ['echo', name], { whereis: 'idle' })) as Pid;
    // Same name, same id (both incarnations start the same way), different creation: a different process.
    expect(newIdle.id).toBe(oldIdle.id);
    expect(newIdle.creation).toBe(second.creation);
    expect(newIdle.equals(oldIdle)).toBe(false);
    return { t, p, oldIdle, oldEcho, newIdle };
  }

  it('a restarted child has a new creation; pids of the old incarnation stay dead', async () => {
    const name = 'restart@127.0.0.1';
    const { t, p, oldIdle, oldEcho, newIdle } = await restarted(name, 'tester3@127.0.0.1');

    // Monitor → DOWN noproc, call → noproc.
    const refs = await p.run((self) => ({ old: self.monitor(oldIdle), fresh: self.monitor(newIdle) }));
    await waitFor(() => downFor(p.inbox, refs.old) !== undefined, 5000, 'DOWN noproc for the old pid');
    expect(downFor(p.inbox, refs.old)!.reason).toBe('noproc');
    await expect(genServer.call(t, oldEcho, { echo: 1 }, 5000)).rejects.toMatchObject({ code: 'ERR_CALL_NOPROC' });

    // Messages and exit signals for the old pid do not reach the new process with the same id.
    t.send(oldIdle, 'stop');
    t.exit(oldIdle, 'kill');
    expect(await genServer.call(t, ['echo', name], { echo: 'sync' })).toBe('sync');
    expect(await t.rpc.call(name, 'process.info', [newIdle])).toMatchObject({ status: 'waiting' });
    expect(downFor(p.inbox, refs.fresh)).toBeUndefined();
  });

  it('linking to a pid of a restarted node\'s previous incarnation gives EXIT noproc', async () => {
    const name = 'relink@127.0.0.1';
    const { t, p, oldIdle } = await restarted(name, 'tester4@127.0.0.1');

    // Control: a dead pid of the current incarnation.
    const gone = await t.rpc.spawn(name, 'idle');
    const goneRef = await p.run((self) => self.monitor(gone));
    t.send(gone, 'stop');
    await waitFor(() => downFor(p.inbox, goneRef) !== undefined, 5000, 'the current-incarnation process to end');
    await p.run((self) => self.link(gone));
    await waitFor(() => exitFrom(p.inbox, gone) !== undefined, 3000, 'EXIT noproc for a dead pid of the current incarnation');
    expect(exitFrom(p.inbox, gone)!.reason).toBe('noproc');

    // A pid of the previous incarnation: dead too.
    await p.run((self) => self.link(oldIdle));
    expect(await genServer.call(t, ['echo', name], { echo: 'sync' })).toBe('sync');
    await waitFor(() => exitFrom(p.inbox, oldIdle) !== undefined, 3000, `EXIT noproc for the old pid; inbox: ${JSON.stringify(p.inbox)}`);
    expect(exitFrom(p.inbox, oldIdle)!.reason).toBe('noproc');
    expect(t.processInfo(p.pid)!.links).toEqual([]);
  });
});
