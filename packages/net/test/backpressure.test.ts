/**
 * The connection's data path under load (issue 11): backpressure like OTP's busy distribution
 * port (problem 7), fragmentation of large frames (problem 11) and the bounded remote-pid cache
 * (problem 12). Real nodes over real sockets; a peer that stops reading is a `FaultyTransport`
 * silent cut (frames held, counted as buffered), a slow link a `ThrottledTransport`.
 */
import { describe, expect, it } from 'vitest';
import { genServer, type GenServerBehaviour, type Pid } from '@rigil/core';
import type { DistNode, NodeEvent } from '../src/index.js';
import { fragmentHeader } from '../src/codec.js';
import { PID_CACHE_LIMIT } from '../src/net_kernel.js';
import { FaultyTransport } from './faulty_transport.js';
import { distReports, elapse, rawConnect, runIn, spawnRecorder, useCluster, waitFor } from './helpers.js';
import { ThrottledTransport } from './throttled_transport.js';

const cluster = useCluster({ transport: () => new FaultyTransport() });

const BUSY = 64 * 1024;
const PAYLOAD = Buffer.alloc(8 * 1024, 1);

function nodeEvents(node: DistNode): NodeEvent[] {
  const out: NodeEvent[] = [];
  node.onNodeEvent((e) => out.push(e));
  return out;
}

/** The `n` fields of the messages a recorder got, to check order. */
function seqs(got: unknown[]): number[] {
  return got.map((m) => (m as { n: number }).n);
}

describe('backpressure (busy connections)', () => {
  // Scenario: b stops reading (a's link to b is silently stalled); a process on a sends 8 KiB
  // messages to b in a loop, yielding in receive; busyLimit 64 KiB.
  it('an async-function sender to a peer that stops reading is suspended with at most 2 × busyLimit queued, and resumes in order once it drains', async () => {
    const [a, b] = (await cluster.startConnected(2, { tickTime: 30_000, busyLimit: BUSY })) as [DistNode, DistNode];
    const inbox = spawnRecorder(b);
    FaultyTransport.of(a).block(b.name, { silent: true });
    let sent = 0;
    let maxQueued = 0;
    const sender = a.spawn(async (self) => {
      for (;;) {
        self.send(inbox.pid, { n: sent++, payload: PAYLOAD });
        maxQueued = Math.max(maxQueued, a.net.queuedBytes(b.name));
        self.send(self.pid, 'next');
        await self.receive((m) => m === 'next');
      }
    });
    await waitFor(() => a.processInfo(sender)?.status === 'suspended', 5000, 'the sender suspended');
    const held = sent;
    expect(a.net.isBusy(b.name)).toBe(true);
    // The scheduler keeps running every other process meanwhile.
    expect(await runIn(a, () => 'still running')).toBe('still running');
    await elapse(200);
    expect(sent).toBe(held);
    expect(maxQueued).toBeLessThanOrEqual(2 * BUSY);
    expect(a.net.queuedBytes(b.name)).toBeLessThanOrEqual(2 * BUSY);
    process.stdout.write(`backpressure: ${held} messages of 8 KiB before suspension, max queued ${maxQueued} bytes (busyLimit ${BUSY})\n`);

    FaultyTransport.of(a).unblock(b.name);
    await waitFor(() => sent > held + 100, 5000, 'the sender resumed');
    await waitFor(() => inbox.got.length > held + 50, 5000, 'messages at b');
    const got = seqs(inbox.got);
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i));
    a.exit(sender, 'kill');
  });

  // Scenario: the same stalled link; the sender is a gen_server that sends itself 'next' after
  // each remote send (the usual OTP loop).
  it('a gen_server sending to a busy node takes no next message until the connection drains', async () => {
    const [a, b] = (await cluster.startConnected(2, { tickTime: 30_000, busyLimit: BUSY })) as [DistNode, DistNode];
    const inbox = spawnRecorder(b);
    FaultyTransport.of(a).block(b.name, { silent: true });
    let sent = 0;
    const loop: GenServerBehaviour<Pid, Pid> = {
      init: (to, self) => {
        self.send(self.pid, 'next');
        return { ok: to };
      },
      handleInfo: (_m, to, self) => {
        self.send(to, { n: sent++, payload: PAYLOAD });
        self.send(self.pid, 'next');
        return { noreply: to };
      },
    };
    const r = await genServer.start(a, loop, inbox.pid);
    if (r === 'ignore' || !('ok' in r)) throw new Error('the sender did not start');
    const server = r.ok;
    await waitFor(() => a.processInfo(server)?.status === 'suspended', 5000, 'the server suspended');
    const held = sent;
    await elapse(200);
    expect(sent).toBe(held);
    expect(a.processInfo(server)?.messageQueueLen).toBe(1);
    expect(a.net.queuedBytes(b.name)).toBeLessThanOrEqual(2 * BUSY);

    FaultyTransport.of(a).unblock(b.name);
    await waitFor(() => sent > held + 100, 5000, 'the server resumed');
    await waitFor(() => inbox.got.length > held, 5000, 'messages at b');
    expect(seqs(inbox.got)).toEqual(Array.from({ length: inbox.got.length }, (_, i) => i));
    a.exit(server, 'kill');
  });

  // Scenario: code outside any process sends 100 messages of 8 KiB to a stalled peer.
  it('sends from outside any process are queued (not held) and arrive once the link drains', async () => {
    const [a, b] = (await cluster.startConnected(2, { tickTime: 30_000, busyLimit: BUSY })) as [DistNode, DistNode];
    const inbox = spawnRecorder(b);
    FaultyTransport.of(a).block(b.name, { silent: true });
    for (let n = 0; n < 100; n++) a.send(inbox.pid, { n, payload: PAYLOAD });
    await waitFor(() => a.net.isBusy(b.name), 3000, 'the connection busy');
    expect(a.net.queuedBytes(b.name)).toBeGreaterThan(BUSY);
    FaultyTransport.of(a).unblock(b.name);
    await waitFor(() => inbox.got.length === 100, 5000, 'all messages at b');
    expect(seqs(inbox.got)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await waitFor(() => !a.net.isBusy(b.name), 3000, 'the connection free again');
  });

  // Scenario: the sender is suspended on b's busy connection; a then disconnects from b.
  it('a process suspended on a busy connection runs again when that connection is lost', async () => {
    const [a, b] = (await cluster.startConnected(2, { tickTime: 30_000, busyLimit: BUSY })) as [DistNode, DistNode];
    const inbox = spawnRecorder(b);
    FaultyTransport.of(a).block(b.name, { silent: true });
    let after = false;
    const sender = a.spawn(async (self) => {
      while (a.net.isConnected(b.name)) {
        self.send(inbox.pid, { n: 0, payload: PAYLOAD });
        self.send(self.pid, 'next');
        await self.receive((m) => m === 'next');
      }
      after = true;
    });
    await waitFor(() => a.processInfo(sender)?.status === 'suspended', 5000, 'the sender suspended');
    a.disconnect(b.name);
    await waitFor(() => after, 3000, 'the sender ran on after the nodedown');
  });

  it('busyLimit and fragmentSize are checked at start with ERR_BAD_CONFIG', async () => {
    for (const bad of [{ busyLimit: 0 }, { busyLimit: 1.5e6 + 0.5 }, { busyLimit: -1 }, { fragmentSize: 10 }, { fragmentSize: 4096, maxFrameSize: 2048 }]) {
      const e = await cluster.start('x', bad).then(
        () => undefined,
        (err: unknown) => err as { code?: string },
      );
      expect(e?.code, JSON.stringify(bad)).toBe('ERR_BAD_CONFIG');
    }
  });
});

describe('fragmentation', () => {
  // Scenario: a's outgoing link carries 1 MB/s; a sends b a 600 KB message (about 600 ms on the
  // link, more than ¾ of tickTime 400 ms).
  it('a message that takes longer than ¾ tickTime to transfer arrives and nobody is declared down', async () => {
    const b = await cluster.start('b', { tickTime: 400 });
    const throttled = new ThrottledTransport(1000);
    const a = await cluster.start('a', { tickTime: 400, transport: throttled, seeds: [`${b.name}:${b.port}`] });
    expect(await a.connect(b.name)).toBe(true);
    const events = [...[a, b].map(nodeEvents)];
    const inbox = spawnRecorder(b);
    const big = Buffer.alloc(600_000, 7);
    a.send(inbox.pid, { n: 0, big });
    a.send(inbox.pid, { n: 1 });
    await waitFor(() => inbox.got.length === 2, 5000, 'the large message at b');
    expect(Buffer.compare((inbox.got[0] as { big: Buffer }).big, big)).toBe(0);
    expect(seqs(inbox.got)).toEqual([0, 1]);
    expect(events.flat()).toEqual([]);
    expect(a.net.stats.tickTimeouts + b.net.stats.tickTimeouts).toBe(0);
    expect(throttled.largestFrame).toBeLessThanOrEqual(64 * 1024);
  });

  // Scenario: large and small messages alternate, with fragmentSize 4 KiB.
  it('large and small messages arrive whole and in order through fragments', async () => {
    const [a, b] = (await cluster.startConnected(2, { fragmentSize: 4096 })) as [DistNode, DistNode];
    const inbox = spawnRecorder(b);
    const sent: unknown[] = [];
    for (let n = 0; n < 20; n++) {
      const m = n % 3 === 0 ? { n, big: Buffer.alloc(50_000 + n, n) } : { n, s: `small ${n}` };
      sent.push(m);
      a.send(inbox.pid, m);
      if (n % 5 === 4) await elapse(1);
    }
    await waitFor(() => inbox.got.length === 20, 5000, 'all messages at b');
    // Compared by bytes: a deep equality over 50 KB buffers is slow.
    const key = (m: unknown): string => {
      const x = m as { n: number; big?: Buffer; s?: string };
      return `${x.n}:${x.s ?? ''}:${x.big === undefined ? '' : `${x.big.length}/${x.big.toString('base64')}`}`;
    };
    expect(inbox.got.map(key)).toEqual(sent.map(key));
  });

  // Scenario: a raw peer announces a fragmented frame larger than maxFrameSize.
  it('a fragment header announcing more than maxFrameSize closes the connection with ERR_FRAME_TOO_LARGE', async () => {
    const a = await cluster.start('a', { maxFrameSize: 1 << 20 });
    const reports = distReports(a);
    const peer = await rawConnect(cluster, a, { cookie: 'c' });
    await waitFor(() => a.nodes().includes(peer.name), 3000, 'raw peer up');
    peer.send(fragmentHeader((1 << 20) + 1));
    await peer.waitClosed();
    expect(reports.some((r) => r.code === 'ERR_FRAME_TOO_LARGE' && r.peer === peer.name)).toBe(true);
  });

  // Scenario: a raw peer announces 10 bytes, then sends a 20-byte fragment.
  it('a fragment running past its announced frame closes the connection with ERR_BAD_FRAME', async () => {
    const a = await cluster.start('a');
    const reports = distReports(a);
    const peer = await rawConnect(cluster, a, { cookie: 'c' });
    await waitFor(() => a.nodes().includes(peer.name), 3000, 'raw peer up');
    peer.send(fragmentHeader(10));
    peer.send(Buffer.alloc(20, 0x90));
    await peer.waitClosed();
    expect(reports.some((r) => r.code === 'ERR_BAD_FRAME' && r.peer === peer.name)).toBe(true);
  });
});

describe('the remote-pid cache', () => {
  // Scenario: 20,000 short-lived processes on b each send a message carrying their pid to a.
  it('stays within its cap after 20,000 short-lived remote callers, and is cleared at nodedown', async () => {
    const [a, b] = (await cluster.startConnected(2)) as [DistNode, DistNode];
    let count = 0;
    const counter = a.spawn(async (self) => {
      for (;;) if ((await self.receive()) !== undefined) count++;
    });
    const N = 20_000;
    for (let i = 0; i < N; i++) {
      b.spawn((self) => {
        self.send(counter, { from: self.pid });
      });
      if (i % 1000 === 999) await waitFor(() => count > i - 1000, 5000, 'messages at a');
    }
    await waitFor(() => count === N, 10_000, 'every message at a');
    const cached = a.net.cachedPids(b.name);
    process.stdout.write(`remote-pid cache after ${N} callers: ${cached} (cap ${PID_CACHE_LIMIT})\n`);
    expect(cached).toBeGreaterThan(0);
    expect(cached).toBeLessThanOrEqual(PID_CACHE_LIMIT);
    a.disconnect(b.name);
    await waitFor(() => !a.net.isConnected(b.name), 3000, 'disconnected');
    expect(a.net.cachedPids(b.name)).toBe(0);
  });
});
