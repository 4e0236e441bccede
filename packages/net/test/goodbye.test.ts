/**
 * The goodbye frame (protocol flag GOODBYE, issue 15): a node that closes a connection on
 * purpose says goodbye first, so its peer's `nodedown` says how the connection ended —
 * `'goodbye'` (the peer lives on), `'died'` (closed without a goodbye: the peer's process is
 * gone), `'silent'` (this node's tick timeout), `'local'` (this node closed it).
 */
import { describe, expect, it } from 'vitest';
import type { DistNode, NodeEvent } from '../src/index.js';
import { FaultyTransport } from './faulty_transport.js';
import { rawConnect, useCluster, waitFor } from './helpers.js';
import { Flags } from '../src/protocol.js';

const cluster = useCluster({ transport: () => new FaultyTransport() });

function downs(node: DistNode): NodeEvent[] {
  const out: NodeEvent[] = [];
  node.onNodeEvent((e) => {
    if (e.type === 'nodedown') out.push(e);
  });
  return out;
}

describe('goodbye (how a connection ended)', () => {
  it('disconnect: the peer sees a goodbye, the disconnecting node a local close', async () => {
    const [a, b] = (await cluster.startConnected(2)) as [DistNode, DistNode];
    const [da, db] = [downs(a), downs(b)];
    expect(b.disconnect(a.name)).toBe(true);
    await waitFor(() => da.length > 0 && db.length > 0, 3000, 'both nodedowns');
    expect(da[0]).toMatchObject({ node: b.name, lost: 'goodbye' });
    expect(db[0]).toMatchObject({ node: a.name, lost: 'local' });
  });

  it('a peer that stops says goodbye', async () => {
    const [a, b] = (await cluster.startConnected(2)) as [DistNode, DistNode];
    const da = downs(a);
    await b.stop();
    await waitFor(() => da.length > 0, 3000, 'nodedown');
    expect(da[0]).toMatchObject({ node: b.name, lost: 'goodbye' });
  });

  it('a silent peer: the node that times it out says silent, and its goodbye reaches the peer if the other direction works', async () => {
    const [a, b] = (await cluster.startConnected(2, { tickTime: 200 })) as [DistNode, DistNode];
    const [da, db] = [downs(a), downs(b)];
    // b → a is cut silently; a → b still carries frames.
    FaultyTransport.of(a).block(b.name, { silent: true });
    await waitFor(() => da.length > 0 && db.length > 0, 3000, 'both nodedowns');
    expect(da[0]!.lost).toBe('silent');
    expect(['goodbye', 'silent']).toContain(db[0]!.lost);
  });

  it('a socket closed without a goodbye counts as the peer died', async () => {
    const a = await cluster.start('a');
    const da = downs(a);
    const peer = await rawConnect(cluster, a, { cookie: 'c', flags: Flags.GOODBYE });
    await waitFor(() => a.nodes().includes(peer.name), 3000, 'raw peer up');
    peer.ws.terminate();
    await waitFor(() => da.length > 0, 3000, 'nodedown');
    expect(da[0]).toMatchObject({ node: peer.name, lost: 'died' });
  });
});
