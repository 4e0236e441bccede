/**
 * Suspension of senders on a busy distribution connection (OTP's busy dist port), seen from
 * core: a router (the seam of remote.ts) that says "busy" on a send makes core hold the
 * sending process until the network calls `RemoteHost.resume(node)` or `nodeDown(node)`.
 * The router here is a stub; @rigil/net's tests cover the real connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { genServer, Node, Pid, type GenServerBehaviour, type RemoteHost, type RemoteRouter } from '../src/index.js';
import { NodePool, waitFor } from './helpers.js';

const nodes = new NodePool();
afterEach(() => nodes.stopAll());

const FAR = 'far@host';

/** A router whose sends report the connection busy while `busy` is set, and record every message. */
function busyRouter(): RemoteRouter & { busy: boolean; sent: unknown[] } {
  const r = {
    busy: false,
    sent: [] as unknown[],
    send(_to: Pid, msg: unknown): boolean {
      r.sent.push(msg);
      return r.busy;
    },
    sendNamed(_name: string, _node: string, msg: unknown): boolean {
      r.sent.push(msg);
      return r.busy;
    },
    sendAlias(): boolean {
      return r.busy;
    },
    link() {},
    unlink() {},
    exit() {},
    monitor() {},
    demonitor() {},
  };
  return r;
}

function setup(): { router: ReturnType<typeof busyRouter>; host: RemoteHost; far: Pid; node: Node } {
  const node = nodes.add(new Node({ name: 'near@host' }));
  const router = busyRouter();
  const host = node.attach(router);
  return { router, host, far: new Pid(FAR, 1, 1), node };
}

describe('suspension on a busy connection', () => {
  // Scenario: an async-function process sends to a busy node, then waits in receive with a message already queued.
  it('an async-function process that sent to a busy node resumes its receive only once the connection drains', async () => {
    const { router, host, far, node } = setup();
    router.busy = true;
    const steps: string[] = [];
    const pid = node.spawn(async (self) => {
      self.send(self.pid, 'mine');
      self.send(far, 'x');
      steps.push('sent');
      steps.push(String(await self.receive()));
    });
    await waitFor(() => steps.includes('sent'));
    expect(node.processInfo(pid)?.status).toBe('suspended');
    // Others run meanwhile.
    const other: string[] = [];
    node.spawn(async () => {
      other.push('ran');
    });
    await waitFor(() => other.length === 1);
    expect(steps).toEqual(['sent']);
    router.busy = false;
    host.resume(FAR);
    await waitFor(() => steps.length === 2);
    expect(steps).toEqual(['sent', 'mine']);
  });

  // Scenario: a gen_server forwards each message to a busy node.
  it('a behaviour that sent to a busy node takes no next message until the connection drains', async () => {
    const { router, host, far, node } = setup();
    const handled: unknown[] = [];
    const fwd: GenServerBehaviour<null> = {
      init: () => ({ ok: null }),
      handleInfo: (m, s, self) => {
        handled.push(m);
        self.send(far, m);
        return { noreply: s };
      },
    };
    const r = await genServer.start(node, fwd, undefined);
    if (r === 'ignore' || !('ok' in r)) throw new Error('no server');
    router.busy = true;
    for (const m of [1, 2, 3]) node.send(r.ok, m);
    await waitFor(() => handled.length === 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(handled).toEqual([1]);
    expect(node.processInfo(r.ok)?.status).toBe('suspended');
    expect(node.processInfo(r.ok)?.messageQueueLen).toBe(2);
    router.busy = false;
    host.resume(FAR);
    await waitFor(() => handled.length === 3);
    expect(router.sent).toEqual([1, 2, 3]);
  });

  // Scenario: code outside any process sends to a busy node.
  it('a send from outside any process is passed on and holds nobody', () => {
    const { router, far, node } = setup();
    router.busy = true;
    node.send(far, 'a');
    node.send(['name', FAR], 'b');
    expect(router.sent).toEqual(['a', 'b']);
  });

  // Scenario: a suspended process's node goes down, or the process is killed while suspended.
  it('nodeDown resumes the processes suspended on that node, and a killed suspended process is forgotten', async () => {
    const { router, host, far, node } = setup();
    router.busy = true;
    const done: string[] = [];
    const p1 = node.spawn(async (self) => {
      self.send(far, 'x');
      await self.receive(undefined, 0);
      done.push('p1');
    });
    const p2 = node.spawn(async (self) => {
      self.send(far, 'y');
      await self.receive();
    });
    await waitFor(() => node.processInfo(p1)?.status === 'suspended' && node.processInfo(p2)?.status === 'suspended');
    node.exit(p2, 'kill');
    expect(node.isAlive(p2)).toBe(false);
    host.nodeDown(FAR);
    await waitFor(() => done.length === 1);
    expect(node.isAlive(p1)).toBe(false);
  });
});
