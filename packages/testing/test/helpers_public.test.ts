/**
 * @rigil/testing's user-facing helpers, as a user's test would use them: `waitFor` (polls,
 * times out naming what it waited for), `startCluster` (real nodes on loopback, fully meshed,
 * `stop()` leaves no listener, socket or timer behind), `freePort`, and the re-exports.
 */
import { createServer } from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as core from '@rigil/core';
import { genServer, globalName, type GenServerBehaviour } from '@rigil/core';
import { DistNode } from '@rigil/net';
import { SimError, SimulatedClock, freePort, okPid, startCluster, waitFor, type Cluster } from '../src/index.js';

/** Clusters started by a test, stopped after it even when it fails. */
const started: Cluster[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((c) => c.stop()));
});

/** The error `p` rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<SimError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SimError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

/** Ref'd handles (sockets, servers, timers: what keeps a process alive) open now, by type: `process.getActiveResourcesInfo()`. */
function handles(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

/** Waits until the open handles of the kinds a cluster opens are back to `before`'s counts. */
async function handlesBackTo(before: Map<string, number>, what: string): Promise<void> {
  const kinds = ['TCPServerWrap', 'TCPSocketWrap', 'TCPWRAP', 'Timeout', 'TLSWrap'];
  const extra = (): string[] => kinds.filter((k) => (handles().get(k) ?? 0) > (before.get(k) ?? 0)).map((k) => `${k}: ${handles().get(k) ?? 0} > ${before.get(k) ?? 0}`);
  try {
    // The timers of waitFor itself are gone once it returns; one interval of slack for the socket closes.
    await waitFor(() => extra().length === 0, { timeoutMs: 3000, what });
  } catch {
    throw new Error(`${what}: still open: ${extra().join(', ')}`);
  }
}

/** True if a server can listen on `port` of loopback now (it is closed again at once). */
async function canListen(port: number): Promise<boolean> {
  const s = createServer();
  const ok = await new Promise<boolean>((resolve) => s.once('error', () => resolve(false)).listen(port, '127.0.0.1', () => resolve(true)));
  if (ok) await new Promise<void>((resolve) => s.close(() => resolve()));
  return ok;
}

describe('waitFor', () => {
  it('resolves with the first truthy value of cond, polled on real timers', async () => {
    let calls = 0;
    const v = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { intervalMs: 1 });
    expect(v).toEqual({ calls: 3 });
  });

  it('accepts an async cond and keeps polling past one that throws', async () => {
    let n = 0;
    const v = await waitFor(async () => {
      n++;
      if (n < 3) throw new Error(`not yet ${n}`);
      return n;
    }, { intervalMs: 1 });
    expect(v).toBe(3);
  });

  it('rejects after timeoutMs with ERR_WAIT_TIMEOUT naming what it waited for', async () => {
    const t0 = performance.now();
    const e = await rejection(waitFor(() => false, { timeoutMs: 60, intervalMs: 5, what: 'the moon to turn blue' }));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
    expect(e.code).toBe('ERR_WAIT_TIMEOUT');
    expect(e.message).toBe('timed out after 60 ms waiting for the moon to turn blue');
  });

  it('quotes the last error of a cond that kept throwing, and keeps it as the cause', async () => {
    const e = await rejection(waitFor(() => {
      throw new Error('still 1, expected 2');
    }, { timeoutMs: 30, what: 'x to be 2' }));
    expect(e.message).toBe('timed out after 30 ms waiting for x to be 2; last error: still 1, expected 2');
    expect((e.cause as Error).message).toBe('still 1, expected 2');
  });

  it('checks once at a deadline of 0 and refuses bad options with ERR_SIM_BAD_ARG', async () => {
    expect(await waitFor(() => 'now', { timeoutMs: 0 })).toBe('now');
    expect((await rejection(waitFor(() => 0, { timeoutMs: 0 }))).code).toBe('ERR_WAIT_TIMEOUT');
    expect((await rejection(waitFor(() => true, { intervalMs: 0 }))).code).toBe('ERR_SIM_BAD_ARG');
    expect((await rejection(waitFor(() => true, { timeoutMs: -1 }))).code).toBe('ERR_SIM_BAD_ARG');
  });
});

describe('startCluster', () => {
  type Counter = { call: 'get' | 'inc'; reply: number };
  const counter: GenServerBehaviour<number, undefined, Counter> = {
    init: () => ({ ok: 0 }),
    handleCall: (req, _from, n) => (req === 'get' ? { reply: n, state: n } : { reply: n + 1, state: n + 1 }),
  };

  it('starts three fully meshed nodes on free ports, and a global server is reachable from each', async () => {
    const cluster = await startCluster({ nodes: 3 });
    started.push(cluster);
    expect(cluster.nodes.map((n) => n.name)).toEqual(['n1@127.0.0.1', 'n2@127.0.0.1', 'n3@127.0.0.1']);
    expect(cluster.meshed()).toBe(true);
    for (const n of cluster.nodes) {
      expect(n.port).toBeGreaterThan(0);
      expect(n.nodes().sort()).toEqual(cluster.nodes.filter((m) => m !== n).map((m) => m.name).sort());
    }
    expect(new Set(cluster.nodes.map((n) => n.port)).size).toBe(3);
    expect(cluster.node('n2')).toBe(cluster.nodes[1]);
    expect(cluster.node('n3@127.0.0.1')).toBe(cluster.nodes[2]);
    expect(() => cluster.node('n9')).toThrow(expect.objectContaining({ code: 'ERR_SIM_UNKNOWN_NODE' }));

    const name = globalName<Counter>('counter');
    okPid(await genServer.start(cluster.nodes[0]!, counter, undefined, { name }));
    for (const n of cluster.nodes) {
      await waitFor(() => n.global.whereis(name), { what: `counter known on ${n.name}` });
      await genServer.call(n, name, 'inc');
    }
    expect(await genServer.call(cluster.nodes[2]!, name, 'get')).toBe(3);
  });

  it('stop() closes every listener, socket and timer the cluster opened, and is idempotent', async () => {
    const before = handles();
    const cluster = await startCluster({ nodes: 3, names: ['x@127.0.0.1', 'y@127.0.0.1', 'z@127.0.0.1'] });
    const ports = cluster.nodes.map((n) => n.port);
    // Listening now (the nodes' listeners are unref'd, so getActiveResourcesInfo does not list them: probe the ports).
    for (const port of ports) expect(await canListen(port)).toBe(false);
    await Promise.all([cluster.stop(), cluster.stop()]);
    await cluster.stop();
    await handlesBackTo(before, 'handles closed after stop()');
    // The ports are free again.
    for (const port of ports) expect(await canListen(port)).toBe(true);
  });

  it('a node started with a cluster seed and its cookie joins the mesh', async () => {
    const cluster = await startCluster({ nodes: 2, cookie: 'shared' });
    started.push(cluster);
    expect(cluster.cookie).toBe('shared');
    const late = await DistNode.start({ name: 'late@127.0.0.1', cookie: 'shared', port: 0, seeds: [cluster.seed(cluster.nodes[0]!)] });
    try {
      await waitFor(() => cluster.nodes.every((n) => n.nodes().includes(late.name)), { what: 'late in the mesh' });
    } finally {
      await late.stop();
    }
  });

  it('two clusters in one process have different random cookies and stay apart', async () => {
    const one = await startCluster({ nodes: 2 });
    started.push(one);
    const two = await startCluster({ nodes: 2, names: ['p@127.0.0.1', 'q@127.0.0.1'] });
    started.push(two);
    expect(one.cookie).not.toBe(two.cookie);
    expect(one.nodes.flatMap((n) => n.nodes()).sort()).toEqual(['n1@127.0.0.1', 'n2@127.0.0.1']);
    expect(two.nodes.flatMap((n) => n.nodes()).sort()).toEqual(['p@127.0.0.1', 'q@127.0.0.1']);
  });

  it('meshes over TLS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rigil-testing-tls-'));
    try {
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'),
        '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      ], { stdio: 'ignore' });
      const cert = readFileSync(join(dir, 'c.pem'), 'utf8');
      const cluster = await startCluster({ nodes: 2, tls: { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert, ca: cert } });
      started.push(cluster);
      expect(cluster.nodes.every((n) => n.url?.startsWith('wss://'))).toBe(true);
      expect(cluster.meshed()).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a mesh that cannot form rejects with ERR_CLUSTER_TIMEOUT and leaves nothing running', async () => {
    const before = handles();
    // A node whose tickTime is far below the time a handshake needs would do too; simplest: a
    // hidden node never appears in its peers' nodes(), so the mesh never forms.
    const e = await rejection(startCluster({ nodes: 2, meshTimeoutMs: 300, nodeOptions: { hidden: true } }));
    expect(e.code).toBe('ERR_CLUSTER_TIMEOUT');
    expect(e.message).toContain('no full mesh after 300 ms');
    await handlesBackTo(before, 'handles closed after a failed start');
  });

  it('refuses bad arguments with ERR_SIM_BAD_ARG', async () => {
    expect((await rejection(startCluster({ nodes: 0 }))).code).toBe('ERR_SIM_BAD_ARG');
    expect((await rejection(startCluster({ names: ['a@h', 'a@h'] }))).code).toBe('ERR_SIM_BAD_ARG');
    expect((await rejection(startCluster({ names: ['nohost'] }))).code).toBe('ERR_SIM_BAD_ARG');
  });
});

describe('freePort and re-exports', () => {
  it('freePort gives a port one can listen on, on one host or on several', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const s = createServer();
    await new Promise<void>((resolve, reject) => s.once('error', reject).listen(port, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => s.close(() => resolve()));
    const both = await freePort(['127.0.0.1', '127.0.0.2']);
    expect(both).toBeGreaterThan(0);
  });

  it('okPid and SimulatedClock are core\'s own', () => {
    expect(okPid).toBe(core.okPid);
    expect(SimulatedClock).toBe(core.SimulatedClock);
  });
});
