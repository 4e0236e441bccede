import { describe, expect, it } from 'vitest';
import { CallError, genServer, isDown, isExit, TIMEOUT, type ExitReason, type GenServerBehaviour, type Pid } from '@rigil/core';
import type { DistNode } from '../src/index.js';
import { runIn, seen, spawnRecorder, uniqueName, useCluster, waitFor } from './helpers.js';

const cluster = useCluster();

/** A process that waits for one message and exits with it as its reason. */
function spawnExitOnCommand(node: DistNode, name?: string): Pid {
  const pid = node.spawn(async (self) => {
    const reason = await self.receive();
    self.exit(reason);
  });
  if (name !== undefined) node.register(name, pid);
  return pid;
}

/** A process on `node` that links to `target`, then records its mailbox; its exit is recorded too. */
function spawnLinker(node: DistNode, target: Pid, trapExit = false): { pid: Pid; got: unknown[]; exit: { down: boolean; reason?: unknown } } {
  const got: unknown[] = [];
  const exit: { down: boolean; reason?: unknown } = { down: false };
  const pid = node.spawn(async (self) => {
    self.link(target);
    for (;;) got.push(await self.receive());
  }, { trapExit });
  node.monitor(pid, {
    onDown: (_r, reason) => {
      exit.down = true;
      exit.reason = reason;
    },
  });
  return { pid, got, exit };
}

/** True once `holder` (on its node) has `other` among its links. */
function linkedAt(node: DistNode, holder: Pid, other: Pid): boolean {
  return node.processInfo(holder)?.links.some((l) => l.equals(other)) === true;
}

type EchoState = { casts: unknown[]; lateReplies: number };
const echoServer: GenServerBehaviour<EchoState> = {
  init: () => ({ ok: { casts: [], lateReplies: 0 } }),
  handleCall: (req, from, state) => {
    const r = req as { delay?: number; then?: Pid } | string;
    if (r === 'casts') return { reply: state.casts, state };
    if (typeof r === 'object' && r !== null && typeof r.delay === 'number') {
      const then = r.then;
      setTimeout(() => {
        from.reply('late');
        state.lateReplies++;
        if (then !== undefined) from._node.send(then, 'marker');
      }, r.delay);
      return { noreply: state };
    }
    return { reply: { echo: req }, state };
  },
  handleCast: (msg, state) => {
    state.casts.push(msg);
    return { noreply: state };
  },
};

async function startEcho(node: DistNode, name?: string): Promise<Pid> {
  const r = await genServer.start(node, echoServer, undefined, name !== undefined ? { name } : {});
  if (typeof r !== 'object' || !('ok' in r)) throw new Error('echo server did not start');
  return r.ok;
}

async function callError(p: Promise<unknown>): Promise<CallError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof CallError) return e;
    throw e;
  }
  throw new Error('the call did not fail');
}

describe('send', () => {
  // Scenario: a sends to a pid on b and to a registered name on b.
  it('messages reach a remote pid and a remote registered name', async () => {
    const [a, b] = await cluster.startConnected(2);
    const r = spawnRecorder(b!, { name: 'inbox' });
    a!.send(seen(a!, r.pid), { to: 'pid', n: 1n });
    a!.send(['inbox', b!.name], { to: 'name', at: new Date(1) });
    await waitFor(() => r.got.length === 2, 3000, 'both messages');
    expect(r.got).toEqual([{ to: 'pid', n: 1n }, { to: 'name', at: new Date(1) }]);
  });

  // Scenario: a process on a sends to an unregistered name on b, then to a registered one.
  it('sending to an unregistered remote name drops the message silently and the sender goes on', async () => {
    const [a, b] = await cluster.startConnected(2);
    const r = spawnRecorder(b!, { name: 'inbox' });
    const result = await runIn(a!, async (self) => {
      self.send(['nobody', b!.name], 'lost');
      self.send(['inbox', b!.name], 'found');
      return 'still running';
    });
    expect(result).toBe('still running');
    await waitFor(() => r.got.length === 1, 3000, 'the registered message');
    expect(r.got).toEqual(['found']);
  });

  // Scenario: a remote pid of b is sent back to a process of b: it arrives as b's own pid object.
  it('a pid travelling back to its own node is that node\'s canonical pid', async () => {
    const [a, b] = await cluster.startConnected(2);
    const r = spawnRecorder(b!, { name: 'inbox' });
    a!.send(['inbox', b!.name], seen(a!, r.pid));
    await waitFor(() => r.got.length === 1, 3000, 'the pid');
    expect(r.got[0]).toBe(r.pid);
  });

  // Scenario: 10 000 messages from one process on a to one process on b.
  it('messages between one pair of processes arrive in order across the wire', async () => {
    const [a, b] = await cluster.startConnected(2);
    const r = spawnRecorder(b!);
    const to = seen(a!, r.pid);
    const n = 10_000;
    await runIn(a!, async (self) => {
      for (let i = 0; i < n; i++) {
        self.send(to, i);
        if (i % 1000 === 999) await new Promise((res) => setImmediate(res));
      }
    });
    await waitFor(() => r.got.length === n, 10_000, 'all messages');
    expect(r.got).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});

describe('links', () => {
  // Scenario: P on a links to Q on b; Q exits {boom}; P does not trap exits.
  it('a remote linked process exiting abnormally kills a non-trapping local process with the same reason', async () => {
    const [a, b] = await cluster.startConnected(2);
    const q = spawnExitOnCommand(b!);
    const p = spawnLinker(a!, seen(a!, q));
    await waitFor(() => linkedAt(b!, q, seen(b!, p.pid)), 3000, 'the link at b');
    b!.send(q, { boom: [1, 2] });
    await waitFor(() => p.exit.down, 3000, 'P dies');
    expect(p.exit.reason).toEqual({ boom: [1, 2] });
  });

  // Scenario: P on a traps exits and links to Q on b; Q exits {boom}.
  it('a trapping local process gets an EXIT message from the remote linked process', async () => {
    const [a, b] = await cluster.startConnected(2);
    const q = spawnExitOnCommand(b!);
    const qa = seen(a!, q);
    const p = spawnLinker(a!, qa, true);
    await waitFor(() => linkedAt(b!, q, seen(b!, p.pid)), 3000, 'the link at b');
    b!.send(q, 'boom');
    await waitFor(() => p.got.length > 0, 3000, 'EXIT message');
    expect(p.got[0]).toEqual({ tag: 'EXIT', from: qa, reason: 'boom' });
    expect((p.got[0] as { from: Pid }).from.equals(qa)).toBe(true);
    expect(p.exit.down).toBe(false);
  });

  // Scenario: a local process linked from b exits; the remote process on b dies with the same reason.
  it('a local process exiting kills its non-trapping remote linked process', async () => {
    const [a, b] = await cluster.startConnected(2);
    const local = spawnExitOnCommand(a!);
    const remote = spawnLinker(b!, seen(b!, local));
    await waitFor(() => linkedAt(a!, local, seen(a!, remote.pid)), 3000, 'the link at a');
    a!.send(local, 'crashed');
    await waitFor(() => remote.exit.down, 3000, 'remote dies');
    expect(remote.exit.reason).toBe('crashed');
  });

  // Scenario: a process on a calls exit(remotePid, reason) and exit(remotePid, 'kill').
  it('exit/2 across nodes kills with the reason, and kill becomes killed even when trapping', async () => {
    const [a, b] = await cluster.startConnected(2);
    const plain = spawnRecorder(b!);
    const trapping = spawnRecorder(b!, { trapExit: true });
    const killed = spawnRecorder(b!, { trapExit: true });
    const sender = await runIn(a!, async (self) => {
      self.exit(seen(a!, plain.pid), 'shutdown_now');
      self.exit(seen(a!, trapping.pid), 'please');
      self.exit(seen(a!, killed.pid), 'kill');
      return self.pid;
    });
    await waitFor(() => plain.exit.down && killed.exit.down && trapping.got.length > 0, 3000, 'exit signals applied');
    expect(plain.exit.reason).toBe('shutdown_now');
    expect(killed.exit.reason).toBe('killed');
    expect(trapping.got).toEqual([{ tag: 'EXIT', from: seen(b!, sender), reason: 'please' }]);
    expect(trapping.exit.down).toBe(false);
  });

  // Scenario: exit(remotePid, 'normal') on a non-trapping remote process.
  it('exit/2 with reason normal leaves a non-trapping remote process alive', async () => {
    const [a, b] = await cluster.startConnected(2);
    const r = spawnRecorder(b!, { name: 'inbox' });
    a!.exit(seen(a!, r.pid), 'normal');
    a!.send(['inbox', b!.name], 'after');
    await waitFor(() => r.got.length > 0, 3000, 'marker');
    expect(r.exit.down).toBe(false);
  });

  // Scenario: P on a links to a pid of b that is already dead.
  it('linking to a dead remote pid gives an exit noproc', async () => {
    const [a, b] = await cluster.startConnected(2);
    const q = spawnExitOnCommand(b!);
    b!.send(q, 'normal');
    await waitFor(() => !b!.isAlive(q), 3000, 'q dead');
    const p = spawnLinker(a!, seen(a!, q));
    await waitFor(() => p.exit.down, 3000, 'P gets noproc');
    expect(p.exit.reason).toBe('noproc');
    const t = spawnLinker(a!, seen(a!, q), true);
    await waitFor(() => t.got.length > 0, 3000, 'trapping linker gets EXIT noproc');
    expect(t.got[0]).toMatchObject({ tag: 'EXIT', reason: 'noproc' });
  });

  // Scenario: P on a links to Q on b, unlinks, then Q crashes.
  it('after unlink a remote exit no longer reaches the local process', async () => {
    const [a, b] = await cluster.startConnected(2);
    const q = spawnExitOnCommand(b!);
    const qa = seen(a!, q);
    const got: unknown[] = [];
    const p = a!.spawn(async (self) => {
      self.link(qa);
      for (;;) {
        const m = await self.receive();
        if (m === 'unlink') self.unlink(qa);
        else got.push(m);
      }
    });
    const pb = seen(b!, p);
    await waitFor(() => linkedAt(b!, q, pb), 3000, 'linked at b');
    a!.send(p, 'unlink');
    await waitFor(() => !linkedAt(b!, q, pb), 3000, 'unlinked at b');
    b!.send(q, 'boom');
    await waitFor(() => !b!.isAlive(q), 3000, 'q dead');
    // A round trip over the same connection: any exit signal would have arrived before this.
    expect(await a!.rpc.call(b!.name, 'ping')).toBe('pong');
    expect(a!.isAlive(p)).toBe(true);
    expect(got).toEqual([]);
  });

  // Scenario: P on a is linked to Q on b; b stops.
  it('a remote link fires noconnection when the node goes down', async () => {
    const [a, b] = await cluster.startConnected(2);
    const q = spawnExitOnCommand(b!);
    const p = spawnLinker(a!, seen(a!, q));
    const t = spawnLinker(a!, seen(a!, q), true);
    await waitFor(() => linkedAt(b!, q, seen(b!, p.pid)) && linkedAt(b!, q, seen(b!, t.pid)), 3000, 'links at b');
    await b!.stop();
    await waitFor(() => p.exit.down && t.got.length > 0, 3000, 'noconnection');
    expect(p.exit.reason).toBe('noconnection');
    expect(t.got[0]).toMatchObject({ tag: 'EXIT', reason: 'noconnection' });
  });
});

describe('monitors', () => {
  // Scenario: a process on a monitors a pid on b twice; the pid exits bye (scenario A.2).
  it('two monitors of a remote pid give two DOWNs with the exit reason', async () => {
    const [a, b] = await cluster.startConnected(2);
    const q = spawnExitOnCommand(b!);
    const qa = seen(a!, q);
    const downs = await runIn(a!, async (self) => {
      const r1 = self.monitor(qa);
      const r2 = self.monitor(qa);
      self.send(qa, 'bye');
      const d1 = await self.receive((m) => isDown(m, r1), 3000);
      const d2 = await self.receive((m) => isDown(m, r2), 3000);
      return [d1, d2, r1, r2];
    });
    const [d1, d2, r1, r2] = downs;
    expect(d1).toEqual({ tag: 'DOWN', ref: r1, type: 'process', object: qa, reason: 'bye' });
    expect(d2).toEqual({ tag: 'DOWN', ref: r2, type: 'process', object: qa, reason: 'bye' });
    expect(r1).not.toEqual(r2);
  });

  // Scenario: monitor a dead remote pid and an unregistered [name, node] (scenario A.2).
  it('monitoring a dead remote pid or an unregistered remote name gives DOWN noproc', async () => {
    const [a, b] = await cluster.startConnected(2);
    const q = spawnExitOnCommand(b!);
    b!.send(q, 'normal');
    await waitFor(() => !b!.isAlive(q), 3000, 'q dead');
    const qa = seen(a!, q);
    const [dp, dn] = await runIn(a!, async (self) => {
      const r1 = self.monitor(qa);
      const r2 = self.monitor(['nobody', b!.name]);
      return [await self.receive((m) => isDown(m, r1), 3000), await self.receive((m) => isDown(m, r2), 3000)];
    });
    expect(dp).toMatchObject({ tag: 'DOWN', object: qa, reason: 'noproc' });
    expect(dn).toMatchObject({ tag: 'DOWN', object: ['nobody', b!.name], reason: 'noproc' });
  });

  // Scenario: monitor a registered [name, node]; the process exits.
  it('monitoring a remote registered name gives DOWN naming [name, node]', async () => {
    const [a, b] = await cluster.startConnected(2);
    const q = spawnExitOnCommand(b!, 'victim');
    const down = await runIn(a!, async (self) => {
      const r = self.monitor(['victim', b!.name]);
      await waitFor(() => (b!.processInfo(q)?.monitoredBy.length ?? 0) > 0 || countHandlerMonitors(b!, q) > 0, 3000, 'monitor at b');
      b!.send(q, { exit: 'x' });
      return self.receive((m) => isDown(m, r), 3000);
    });
    expect(down).toMatchObject({ tag: 'DOWN', object: ['victim', b!.name], reason: { exit: 'x' } });
  });

  // Scenario: demonitor a remote monitor, then the target exits.
  it('after demonitor no DOWN arrives and the remote side drops the monitor', async () => {
    const [a, b] = await cluster.startConnected(2);
    const q = spawnExitOnCommand(b!);
    const qa = seen(a!, q);
    const got = await runIn(a!, async (self) => {
      const r = self.monitor(qa);
      await waitFor(() => countHandlerMonitors(b!, q) > 0, 3000, 'monitor at b');
      expect(self.demonitor(r)).toBe(true);
      await waitFor(() => countHandlerMonitors(b!, q) === 0, 3000, 'monitor dropped at b');
      b!.send(q, 'bye');
      await waitFor(() => !b!.isAlive(q), 3000, 'q dead');
      await a!.rpc.call(b!.name, 'ping');
      return self.receive(undefined, 0);
    });
    expect(got).toBe(TIMEOUT);
  });

  // Scenario: a process on a monitors a process on b; b stops.
  it('a remote monitor fires DOWN noconnection when the node goes down', async () => {
    const [a, b] = await cluster.startConnected(2);
    const q = spawnExitOnCommand(b!);
    const qa = seen(a!, q);
    const downP = runIn(a!, async (self) => {
      const r = self.monitor(qa);
      return self.receive((m) => isDown(m, r), 3000);
    });
    await waitFor(() => countHandlerMonitors(b!, q) > 0, 3000, 'monitor at b');
    await b!.stop();
    expect(await downP).toMatchObject({ tag: 'DOWN', object: qa, reason: 'noconnection' });
  });
});

/** Monitors held on `pid` by handlers (remote monitors are accepted as handlers). */
function countHandlerMonitors(node: DistNode, pid: Pid): number {
  return node.processInfo(pid)?.monitoredByCount ?? 0;
}

describe('gen_server across nodes', () => {
  // Scenario: calls and casts to a server on b, by pid and by [name, node].
  it('call and cast reach a remote server by pid and by [name, node]', async () => {
    const [a, b] = await cluster.startConnected(2);
    const srv = await startEcho(b!, 'echo');
    const sa = seen(a!, srv);
    expect(await genServer.call(a!, sa, 'by pid')).toEqual({ echo: 'by pid' });
    expect(await genServer.call(a!, ['echo', b!.name], { by: 'name' })).toEqual({ echo: { by: 'name' } });
    const fromProcess = await runIn(a!, (self) => genServer.call(self, ['echo', b!.name], 'in a process'));
    expect(fromProcess).toEqual({ echo: 'in a process' });
    genServer.cast(a!, sa, 'c1');
    genServer.cast(a!, ['echo', b!.name], 'c2');
    expect(await genServer.call(a!, sa, 'casts')).toEqual(['c1', 'c2']);
  });

  // Scenario: a server on b is killed, then called (scenario B.9).
  it('calling a killed remote server fails with noproc or the kill reason', async () => {
    const [a, b] = await cluster.startConnected(2);
    const srv = await startEcho(b!, 'echo');
    b!.exit(srv, 'kill');
    await waitFor(() => !b!.isAlive(srv), 3000, 'server dead');
    const byPid = await callError(genServer.call(a!, seen(a!, srv), 'x'));
    expect(['ERR_CALL_NOPROC', 'ERR_CALL_EXIT']).toContain(byPid.code);
    if (byPid.code === 'ERR_CALL_EXIT') expect(byPid.reason).toBe('killed');
    const byName = await callError(genServer.call(a!, ['echo', b!.name], 'x'));
    expect(byName.code).toBe('ERR_CALL_NOPROC');
  });

  // Scenario: a server on b crashes while handling a call from a.
  it('a remote server that exits during the call gives the caller its exit reason', async () => {
    const [a, b] = await cluster.startConnected(2);
    const r = await genServer.start(b!, {
      init: () => ({ ok: null }),
      handleCall: (_req, _from, state) => ({ stop: { crashed: 'on purpose' }, state }),
    }, undefined, { name: 'crasher' });
    expect(typeof r === 'object' && 'ok' in r).toBe(true);
    const e = await callError(genServer.call(a!, ['crasher', b!.name], 'go'));
    expect(e.code).toBe('ERR_CALL_EXIT');
    expect(e.reason).toEqual({ crashed: 'on purpose' });
  });

  // Scenario: b stops; calls to its server by pid and by [name, node] fail with nodedown (scenario B.9).
  it('calls to a server on a stopped node fail with ERR_CALL_NODEDOWN by pid and by name', async () => {
    const [a, b] = await cluster.startConnected(2);
    const srv = await startEcho(b!, 'echo');
    const sa = seen(a!, srv);
    const bName = b!.name;
    await b!.stop();
    await waitFor(() => !a!.nodes().includes(bName), 3000, 'a sees b down');
    const byPid = await callError(genServer.call(a!, sa, 'x', 2000));
    const byName = await callError(genServer.call(a!, ['echo', bName], 'x', 2000));
    expect(byPid.code).toBe('ERR_CALL_NODEDOWN');
    expect(byPid.reason).toEqual({ nodedown: bName });
    expect(byName.code).toBe('ERR_CALL_NODEDOWN');
    expect(byName.reason).toEqual({ nodedown: bName });
  });

  // Scenario: a call to b is pending when b stops.
  it('a pending call fails with ERR_CALL_NODEDOWN when the node goes down', async () => {
    const [a, b] = await cluster.startConnected(2);
    await startEcho(b!, 'echo');
    const pending = callError(genServer.call(a!, ['echo', b!.name], { delay: 10_000 }, 20_000));
    // Wait until the request reached b (the server holds the caller's monitor).
    await waitFor(() => countHandlerMonitors(b!, b!.whereis('echo')!) > 0, 3000, 'call at b');
    const bName = b!.name;
    await b!.stop();
    const e = await pending;
    expect(e.code).toBe('ERR_CALL_NODEDOWN');
    expect(e.reason).toEqual({ nodedown: bName });
  });

  // Scenario: cast to a name on a node that does not exist (scenario B.10).
  it('cast to an unreachable node returns at once', async () => {
    const [a] = await cluster.startConnected(1);
    a!.net.addAddress('gone@127.0.0.1', 'ws://127.0.0.1:1');
    const t0 = performance.now();
    genServer.cast(a!, ['hopp', 'gone@127.0.0.1'], 'x');
    genServer.cast(a!, ['hopp', 'never@127.0.0.1'], 'x');
    expect(performance.now() - t0).toBeLessThan(100);
  });

  // Scenario: abcast to a name on a, b and a node that is down (scenario B.10).
  it('abcast casts to the named server on every node', async () => {
    const [a, b, c] = await cluster.startConnected(3);
    await startEcho(a!, 'echo');
    await startEcho(b!, 'echo');
    const cName = c!.name;
    await c!.stop();
    expect(genServer.abcast(a!, [a!.name, b!.name, cName], 'echo', 'hello all')).toBe('abcast');
    expect(await genServer.call(a!, 'echo', 'casts')).toEqual(['hello all']);
    expect(await genServer.call(a!, ['echo', b!.name], 'casts')).toEqual(['hello all']);
  });

  // Scenario: multiCall to a, b, a stopped node and a node without the server (scenario B.11).
  it('multiCall returns the replies and lists down or serverless nodes as bad', async () => {
    const [a, b, c, d] = await cluster.startConnected(4);
    await startEcho(a!, 'echo');
    await startEcho(b!, 'echo');
    const cName = c!.name;
    await c!.stop();
    await waitFor(() => !a!.nodes().includes(cName), 3000, 'a sees c down');
    const unreachable = uniqueName('never');
    const r = await genServer.multiCall(a!, [a!.name, b!.name, cName, d!.name, unreachable], 'echo', 'hi', 3000);
    expect(r.replies).toEqual([[a!.name, { echo: 'hi' }], [b!.name, { echo: 'hi' }]]);
    expect([...r.badNodes].sort()).toEqual([cName, d!.name, unreachable].sort());
  });

  // Scenario: a call to b times out; b replies later (scenario B.8 across nodes).
  it('a reply after the timeout never lands in the caller\'s mailbox', async () => {
    const [a, b] = await cluster.startConnected(2);
    await startEcho(b!, 'echo');
    const leftovers = await runIn(a!, async (self) => {
      const e = await callError(genServer.call(self, ['echo', b!.name], { delay: 150, then: self.pid }, 30));
      expect(e.code).toBe('ERR_CALL_TIMEOUT');
      // The server sends 'marker' right after its late reply, over the same connection.
      const m = await self.receive((x) => x === 'marker', 3000);
      expect(m).toBe('marker');
      return self.flush();
    });
    expect(leftovers).toEqual([]);
  });

  // Scenario: a process of a calls a server on b and dies of a link to another remote process while waiting.
  it('a caller on a waiting on b is not left with stale monitors at b after it dies', async () => {
    const [a, b] = await cluster.startConnected(2);
    const srv = await startEcho(b!, 'echo');
    const caller = a!.spawn(async (self) => {
      await genServer.call(self, ['echo', b!.name], { delay: 5000 }, 10_000);
    });
    await waitFor(() => countHandlerMonitors(b!, srv) > 0, 3000, 'call at b');
    a!.exit(caller, 'kill');
    await waitFor(() => countHandlerMonitors(b!, srv) === 0, 3000, 'the caller\'s monitor removed at b');
  });
});

describe('exit reasons across the wire', () => {
  // Scenario: remote processes exit with structured reasons; monitors on a see them unchanged.
  it('structured exit reasons arrive unchanged in DOWN messages', async () => {
    const [a, b] = await cluster.startConnected(2);
    const reasons: ExitReason[] = [
      { shutdown: { why: 'x', n: 2n } },
      { error: 'TypeError', message: 'nope', code: 'ERR_X' },
      ['tuple', 1, new Date(5)],
    ];
    for (const reason of reasons) {
      const q = spawnExitOnCommand(b!);
      const qa = seen(a!, q);
      const down = await runIn(a!, async (self) => {
        const r = self.monitor(qa);
        await waitFor(() => countHandlerMonitors(b!, q) > 0, 3000, 'monitor at b');
        b!.send(q, reason);
        return self.receive((m) => isDown(m, r), 3000);
      });
      expect((down as { reason: unknown }).reason).toEqual(reason);
    }
  });

  // Scenario: a trapping process on a gets EXIT from a remote linked process with a pid in its reason.
  it('pids inside exit reasons are interned on the receiving node', async () => {
    const [a, b] = await cluster.startConnected(2);
    const localInA = spawnRecorder(a!);
    const q = spawnExitOnCommand(b!);
    const t = spawnLinker(a!, seen(a!, q), true);
    await waitFor(() => linkedAt(b!, q, seen(b!, t.pid)), 3000, 'link at b');
    b!.send(q, { blame: seen(b!, localInA.pid) });
    await waitFor(() => t.got.some(isExit), 3000, 'EXIT');
    const exit = t.got.find(isExit)!;
    expect((exit.reason as { blame: Pid }).blame).toBe(localInA.pid);
  });
});
