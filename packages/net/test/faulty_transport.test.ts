/**
 * The test-only fault-injecting transport: a cut by closing behaves as the net kernel's old
 * `block` did (nodedown at once, dials refused both ways, reconnection after `unblock`); a
 * silent cut stalls the link until `tickTime` notices, or until `unblock` lets the held
 * messages through in order.
 */
import { describe, expect, it } from 'vitest';
import type { DistNode, NodeEvent } from '../src/index.js';
import { FaultyTransport } from './faulty_transport.js';
import { Cluster, distReports, elapse, spawnRecorder, useCluster, waitFor } from './helpers.js';

const cluster = useCluster({ transport: () => new FaultyTransport() });

function events(node: DistNode): NodeEvent[] {
  const out: NodeEvent[] = [];
  node.onNodeEvent((e) => out.push(e));
  return out;
}

describe('FaultyTransport', () => {
  // Scenario: a and b connected; a blocks b.
  it('block closes the link at once (nodedown on both sides) and refuses dials both ways until unblock', async () => {
    const [a, b] = (await cluster.startConnected(2)) as [DistNode, DistNode];
    const seenByB = events(b);
    FaultyTransport.of(a).block(b.name);
    // The blocking side knows at once, as with the old net.block.
    expect(a.net.isConnected(b.name)).toBe(false);
    await waitFor(() => seenByB.some((e) => e.type === 'nodedown' && e.node === a.name), 3000, 'nodedown on b');
    expect(seenByB.find((e) => e.type === 'nodedown')!.reason).toBeUndefined();
    // a does not dial b; b's dial to a is refused after its hello (and a reports it).
    const reports = distReports(a);
    expect(await a.connect(b.name)).toBe(false);
    expect(await b.connect(a.name)).toBe(false);
    expect(reports.some((r) => r.code === 'ERR_BLOCKED')).toBe(true);
    FaultyTransport.of(a).unblock(b.name);
    expect(await b.connect(a.name)).toBe(true);
    await waitFor(() => a.net.isConnected(b.name), 3000, 'reconnected');
  });

  // Scenario: a silently cuts b with a short tickTime; nothing is closed, ticks stop arriving.
  it('a silent block is noticed only by the tick timeout', async () => {
    const [a, b] = (await cluster.startConnected(2, { tickTime: 200 })) as [DistNode, DistNode];
    FaultyTransport.of(a).block(b.name, { silent: true });
    expect(a.net.isConnected(b.name)).toBe(true);
    await waitFor(() => !a.net.isConnected(b.name) && !b.net.isConnected(a.name), 3000, 'tick timeout');
    expect(a.net.stats.tickTimeouts + b.net.stats.tickTimeouts).toBeGreaterThanOrEqual(1);
  });

  // Scenario: a silently cuts b, b sends three messages, a unblocks before any tick timeout.
  it('unblocking a silent block delivers the held messages in order on the same connection', async () => {
    const [a, b] = (await cluster.startConnected(2)) as [DistNode, DistNode];
    const inbox = spawnRecorder(a, { name: 'inbox' });
    FaultyTransport.of(a).block(b.name, { silent: true });
    for (const m of [1, 2, 3]) b.send(['inbox', a.name], m);
    // Held, not lost: nothing arrives while the link is stalled.
    await elapse(50);
    expect(inbox.got).toEqual([]);
    FaultyTransport.of(a).unblock(b.name);
    await waitFor(() => inbox.got.length === 3, 3000, 'held messages');
    expect(inbox.got).toEqual([1, 2, 3]);
    expect(a.net.isConnected(b.name)).toBe(true);
  });

  it('of() names the node when it was not started with a FaultyTransport', async () => {
    const plain = new Cluster();
    const n = await plain.start('plain');
    try {
      expect(() => FaultyTransport.of(n)).toThrow(/not started with a FaultyTransport/);
    } finally {
      await plain.stopAll();
    }
  });
});
