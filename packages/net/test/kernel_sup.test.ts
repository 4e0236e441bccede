/**
 * kernel_sup (src/kernel_sup.ts): the supervisor of a distributed node's system servers.
 *
 * Distributed tier: two or three real nodes of this OS process over loopback sockets. Each
 * system server (rex, the global name server) gets malformed calls, casts and stray messages
 * and must carry on; each is killed and must come back under the same name and work, the name
 * server with the names re-synced from its peers. Conditions are polled with deadlines.
 */
import { describe, expect, it } from 'vitest';
import { genServer, supervisor, Node, type Pid, type Report } from '@rigil/core';
import { DistError, DistNode, GLOBAL_NAME_SERVER, KERNEL_SUP, KERNEL_SUP_FLAGS, REX, distNode, globalOf, rpcOf } from '../src/index.js';
import { runIn, spawnRecorder, useCluster, waitFor } from './helpers.js';

const cluster = useCluster();

/** Malformed payloads: null, numbers, strings, objects of the wrong shape. */
const JUNK: unknown[] = [null, 1, 0, 'x', '', { op: 'nope' }, { proc: 5, args: 'no' }, { op: 'insert', name: 5, pid: 'p' }, { op: 'lock' }, [1, 2], { op: 'apply', decisions: [[1, 2]] }, { op: 'lostConnection' }];

/** Stray messages that look like gen messages but are not well-formed (the `req: 1` system call stopped rex before). */
function strayGenMessages(from: DistNode, self: Pid): unknown[] {
  return [
    { $gen: 'system', req: 1 },
    { $gen: 'system', pid: self, tag: from.makeRef(), req: 1 },
    { $gen: 'system', pid: self, tag: from.makeRef(), req: null },
    { $gen: 'call', req: { op: 'names' } },
    { $gen: 'call', pid: self, tag: 'not a ref', req: { proc: 'ping', args: [] } },
    { $gen: 'cast' },
    { $gen: 'idle', seq: 'x' },
  ];
}

/** Collects the reports of `node` of the given kinds. */
function reportsOf(node: DistNode, ...kinds: string[]): Report[] {
  const out: Report[] = [];
  node.onReport((r) => {
    if (kinds.includes(r.kind)) out.push(r);
  });
  return out;
}

/** Sends every kind of malformed message to `server` on `to`, from a process of `from` (calls wait for their answers). */
async function sendJunk(from: DistNode, to: DistNode, server: string): Promise<unknown[]> {
  const answers: unknown[] = [];
  for (const junk of JUNK) answers.push(await genServer.call(from, [server, to.name], junk, 3000));
  for (const junk of JUNK) genServer.cast(from, [server, to.name], junk);
  await runIn(from, (self) => {
    for (const junk of [...JUNK, ...strayGenMessages(from, self.pid)]) self.send([server, to.name], junk);
  });
  return answers;
}

/** Waits until `name` on `node` is held by a process other than `old`; returns the new pid. */
function restarted(node: DistNode, name: string, old: Pid): Promise<Pid> {
  return waitFor(() => {
    const p = node.whereis(name);
    return p !== undefined && !p.equals(old) ? p : undefined;
  }, 3000, `${name} restarted on ${node.name}`);
}

describe('the kernel supervisor', () => {
  it('starts with rex and the global name server as one_for_one children, restarted as OTP restarts kernel_safe_sup children', async () => {
    const a = await cluster.start('a');
    const children = await supervisor.whichChildren(a, KERNEL_SUP);
    expect(children.map((c) => c.id)).toEqual([REX, GLOBAL_NAME_SERVER]);
    expect(children.map((c) => c.pid)).toEqual([a.whereis(REX), a.whereis(GLOBAL_NAME_SERVER)]);
    expect(KERNEL_SUP_FLAGS).toEqual({ strategy: 'one_for_one', intensity: 4, period: 3600 });
    const spec = await supervisor.getChildSpec(a, KERNEL_SUP, GLOBAL_NAME_SERVER);
    expect(spec).toMatchObject({ ok: { restart: 'permanent', shutdown: 2000, type: 'worker' } });
  });

  // Scenario: rex on b is killed again and again; past 4 restarts kernel_sup gives up and b stops, as an OTP node halts when its kernel dies.
  it('stops the node when a system server crashes more often than the restart intensity allows', async () => {
    const b = await cluster.start('b');
    const reports = reportsOf(b, 'kernel');
    for (let i = 0; i <= KERNEL_SUP_FLAGS.intensity; i++) {
      const rex = await waitFor(() => b.whereis(REX), 3000, 'rex running');
      b.exit(rex, 'kill');
      if (i < KERNEL_SUP_FLAGS.intensity) await restarted(b, REX, rex);
    }
    await b.whenStopped();
    expect(b.stopped).toBe(true);
    expect(reports.map((r) => r.message)).toEqual([expect.stringContaining('kernel_sup exited')]);
  });
});

describe('rex', () => {
  // Scenario: a sends b's rex malformed calls, casts and stray messages; rex answers or drops each, stays the same process, and serves rpc.
  it('answers a malformed call as an unknown procedure, drops malformed casts and messages with a report, and keeps serving', async () => {
    const [a, b] = await cluster.startConnected(2);
    const rex = b!.whereis(REX)!;
    const reports = reportsOf(b!, 'rpc', 'gen_server', 'crash');
    const answers = await sendJunk(a!, b!, REX);
    for (const answer of answers) expect(answer).toHaveProperty('unknownProcedure');
    expect(await a!.rpc.call(b!.name, 'ping')).toBe('pong');
    await waitFor(() => reports.some((r) => r.message.includes('unexpected message')), 3000, 'a report of a dropped message');
    expect(reports.some((r) => r.message.includes('dropped a cast'))).toBe(true);
    expect(reports.filter((r) => r.kind === 'crash')).toEqual([]);
    expect(b!.whereis(REX)).toBe(rex);
  });

  // Scenario: rex on b is killed; kernel_sup restarts it and rpc to b works again, with b's user procedures.
  it('is restarted after a kill and serves the same procedures', async () => {
    const [a, b] = await cluster.startConnected(2);
    b!.rpc.register('double', ([x]) => 2 * (x as number));
    const rex = b!.whereis(REX)!;
    b!.exit(rex, 'kill');
    await restarted(b!, REX, rex);
    expect(await a!.rpc.call(b!.name, 'double', [21])).toBe(42);
    expect(await a!.rpc.call(b!.name, 'ping')).toBe('pong');
  });
});

describe('the global name server', () => {
  // Scenario: a sends b's name server malformed requests; each call is answered with bad_request, the rest are dropped with a report; names still register across both.
  it('answers a malformed request with an error, drops malformed casts and messages with a report, and keeps serving', async () => {
    const [a, b] = await cluster.startConnected(2);
    const server = b!.whereis(GLOBAL_NAME_SERVER)!;
    const reports = reportsOf(b!, 'global', 'gen_server', 'crash');
    const answers = await sendJunk(a!, b!, GLOBAL_NAME_SERVER);
    expect(answers).toEqual(JUNK.map(() => ({ error: 'bad_request' })));
    const p = spawnRecorder(a!);
    expect(await a!.global.register('after_junk', p.pid)).toBe('yes');
    expect(b!.global.whereis('after_junk')?.equals(p.pid)).toBe(true);
    await waitFor(() => reports.some((r) => r.message.includes('unexpected message')), 3000, 'a report of a dropped message');
    expect(reports.some((r) => r.message.includes('malformed cast'))).toBe(true);
    expect(reports.filter((r) => r.kind === 'crash')).toEqual([]);
    expect(b!.whereis(GLOBAL_NAME_SERVER)).toBe(server);
    expect(b!.global.serverIncarnations).toBe(1);
  });

  // Scenario: b's name server is killed; it comes back, still resolves the names registered before, and takes part in new registrations both ways.
  it('is restarted after a kill, keeps resolving the names registered before, and takes new registrations', async () => {
    const [a, b] = await cluster.startConnected(2);
    const onA = spawnRecorder(a!);
    const onB = spawnRecorder(b!);
    expect(await a!.global.register('before_a', onA.pid)).toBe('yes');
    expect(await b!.global.register('before_b', onB.pid)).toBe('yes');
    const server = b!.whereis(GLOBAL_NAME_SERVER)!;
    b!.exit(server, 'kill');
    await restarted(b!, GLOBAL_NAME_SERVER, server);
    await b!.global.synced();
    expect(b!.global.serverIncarnations).toBe(2);
    expect(b!.global.whereis('before_a')?.equals(onA.pid)).toBe(true);
    expect(b!.global.whereis('before_b')?.equals(onB.pid)).toBe(true);
    const later = spawnRecorder(a!);
    expect(await a!.global.register('after_a', later.pid)).toBe('yes');
    expect(b!.global.whereis('after_a')?.equals(later.pid)).toBe(true);
    const laterB = spawnRecorder(b!);
    expect(await b!.global.register('after_b', laterB.pid)).toBe('yes');
    expect(a!.global.whereis('after_b')?.equals(laterB.pid)).toBe(true);
    // The name server's monitors work again: a name goes when its process dies.
    a!.exit(later.pid, 'kill');
    await waitFor(() => b!.global.whereis('after_a') === undefined, 3000, 'after_a gone on b');
  });

  // Scenario: b's name server is stopped while a registers one name and unregisters another; when it is back, b's replica matches a's.
  it('re-syncs the names its peers changed while it was down', async () => {
    const [a, b, c] = await cluster.startConnected(3);
    const old = spawnRecorder(a!);
    expect(await a!.global.register('old', old.pid)).toBe('yes');
    expect(b!.global.whereis('old')).toBeDefined();
    expect(await supervisor.terminateChild(b!, KERNEL_SUP, GLOBAL_NAME_SERVER)).toBe('ok');
    const fresh = spawnRecorder(c!);
    expect(await c!.global.register('fresh', fresh.pid)).toBe('yes');
    await a!.global.unregister('old');
    // b missed both: its server was not there to apply them.
    expect(b!.global.whereis('fresh')).toBeUndefined();
    expect(b!.global.whereis('old')).toBeDefined();
    expect(await supervisor.restartChild(b!, KERNEL_SUP, GLOBAL_NAME_SERVER)).toHaveProperty('ok');
    await b!.global.synced();
    expect(b!.global.whereis('fresh')?.equals(fresh.pid)).toBe(true);
    expect(b!.global.whereis('old')).toBeUndefined();
    expect(b!.global.registeredNames().sort()).toEqual(a!.global.registeredNames().sort());
  });
});

describe('services from a process', () => {
  it('distNode, globalOf and rpcOf give the services of the node a process runs on', async () => {
    const a = await cluster.start('a');
    const seen = await runIn(a, (self) => ({ node: distNode(self), global: globalOf(self), rpc: rpcOf(self) }));
    expect(seen.node).toBe(a);
    expect(seen.global).toBe(a.global);
    expect(seen.rpc).toBe(a.rpc);
    expect(distNode(a)).toBe(a);
  });

  it('distNode throws ERR_NOT_DISTRIBUTED for a node that is not distributed', async () => {
    const plain = new Node();
    try {
      const err = await new Promise<unknown>((resolve) => {
        plain.spawn((self) => {
          try {
            globalOf(self);
            resolve(undefined);
          } catch (e) {
            resolve(e);
          }
        });
      });
      expect(err).toBeInstanceOf(DistError);
      expect((err as DistError).code).toBe('ERR_NOT_DISTRIBUTED');
      expect(() => distNode(plain)).toThrow(expect.objectContaining({ code: 'ERR_NOT_DISTRIBUTED' }));
    } finally {
      await plain.stop();
    }
  });
});
