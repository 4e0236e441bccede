/**
 * Kernel parameters of distributed applications: validation (every error names the bad entry)
 * and the boot-time wait for sync nodes (spec §e/§g.2, conformance scenario 58). Nodes are real
 * nodes of this process over loopback sockets.
 */
import { describe, expect, it } from 'vitest';
import { hasCode } from '@rigil/core';
import { checkKernelConfig, DIST_AC, DistAcError, quorumSize, startDistAc, type KernelConfig } from '../src/index.js';
import { syncNodes } from '../src/kernel_config.js';
import { tag, track, useCluster, waitFor } from './helpers.js';

const cluster = useCluster();

const n = (base: string, t: string): string => `${base}${t}@127.0.0.1`;

/** The error `fn` throws (fails the test if it does not throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

/** Checks `config` is rejected with ERR_BAD_KERNEL_CONFIG naming `where` (message and reason). */
function expectBad(config: unknown, where: string): void {
  const e = thrown(() => checkKernelConfig(config));
  expect(e).toBeInstanceOf(DistAcError);
  expect(hasCode(e, 'ERR_BAD_KERNEL_CONFIG')).toBe(true);
  expect((e as DistAcError).message).toContain(where);
  expect((e as DistAcError).reason).toEqual({ badConfig: where });
}

describe('checkKernelConfig', () => {
  const A = 'a@127.0.0.1';
  const B = 'b@127.0.0.1';
  const C = 'c@127.0.0.1';
  const D = 'd@127.0.0.1';

  it('accepts a well-formed config and returns it', () => {
    const config: KernelConfig = {
      distributed: [
        { application: 'app1', nodes: [A, B, C] },
        { application: 'app2', timeout: 2000, nodes: [A, [B, C]] },
        { application: 'app3', timeout: Infinity, nodes: [[A, B], C] },
      ],
      syncNodesMandatory: [B],
      syncNodesOptional: [C],
      syncNodesTimeout: 1000,
      permissions: { app1: false, app2: true },
    };
    expect(checkKernelConfig(config)).toEqual(config);
    expect(checkKernelConfig({})).toEqual({});
  });

  it('rejects a config that is not an object', () => {
    expectBad(null, 'kernel config');
    expectBad([], 'kernel config');
    expectBad('distributed', 'kernel config');
  });

  it('names an unknown kernel parameter', () => {
    expectBad({ distributd: [] }, 'distributd');
  });

  it('names the bad distributed entry and field', () => {
    expectBad({ distributed: {} }, 'distributed');
    expectBad({ distributed: [{ application: 'ok', nodes: [A] }, 'app2'] }, 'distributed[1]');
    expectBad({ distributed: [{ application: 'ok', nodes: [A] }, { nodes: [A] }] }, 'distributed[1].application');
    expectBad({ distributed: [{ application: '', nodes: [A] }] }, 'distributed[0].application');
    expectBad({ distributed: [{ application: 'p', nodes: [A] }, { application: 'p', nodes: [B] }] }, 'distributed[1].application');
    expectBad({ distributed: [{ application: 'p', timeout: -1, nodes: [A] }] }, 'distributed[0].timeout');
    expectBad({ distributed: [{ application: 'p', timeout: '1000', nodes: [A] }] }, 'distributed[0].timeout');
    expectBad({ distributed: [{ application: 'p', nodes: [] }] }, 'distributed[0].nodes');
    expectBad({ distributed: [{ application: 'p' }] }, 'distributed[0].nodes');
    expectBad({ distributed: [{ application: 'p', nodes: [A, 'not a node'] }] }, 'distributed[0].nodes');
    expectBad({ distributed: [{ application: 'p', nodes: [A, []] }] }, 'distributed[0].nodes');
    expectBad({ distributed: [{ application: 'p', nodes: [A, [B, A]] }] }, 'distributed[0].nodes');
    expectBad({ distributed: [{ application: 'p', nodes: [A, [B, 7]] }] }, 'distributed[0].nodes');
    expectBad({ distributed: [{ application: 'p', nodes: [A], time: 5 }] }, 'distributed[0].time');
  });

  it('validates quorum and downAfter (issue 15), naming the field', () => {
    for (const quorum of ['none', 'majority', 1, 2]) expect(() => checkKernelConfig({ distributed: [{ application: 'p', nodes: [A, B], quorum }] })).not.toThrow();
    expect(() => checkKernelConfig({ distributed: [{ application: 'p', nodes: [A, B], quorum: 'majority', downAfter: 0 }] })).not.toThrow();
    expectBad({ distributed: [{ application: 'p', nodes: [A, B], quorum: 'most' }] }, 'distributed[0].quorum');
    expectBad({ distributed: [{ application: 'p', nodes: [A, B], quorum: 0 }] }, 'distributed[0].quorum');
    expectBad({ distributed: [{ application: 'p', nodes: [A, B], quorum: 3 }] }, 'distributed[0].quorum');
    expectBad({ distributed: [{ application: 'p', nodes: [A, B], quorum: 1.5 }] }, 'distributed[0].quorum');
    expectBad({ distributed: [{ application: 'p', nodes: [A, B], quorum: 'majority', downAfter: -1 }] }, 'distributed[0].downAfter');
    expectBad({ distributed: [{ application: 'p', nodes: [A, B], quorum: 'majority', downAfter: Infinity }] }, 'distributed[0].downAfter');
    expectBad({ distributed: [{ application: 'p', nodes: [A, B], downAfter: 100 }] }, 'distributed[0].downAfter');
    expect(quorumSize({ application: 'p', nodes: [A, [B, C]], quorum: 'majority' })).toBe(2);
    expect(quorumSize({ application: 'p', nodes: [A, B, C, D] as string[], quorum: 'majority' })).toBe(3);
    expect(quorumSize({ application: 'p', nodes: [A] })).toBe(0);
    expect(quorumSize({ application: 'p', nodes: [A, B], quorum: 1 })).toBe(1);
  });

  it('names a bad sync-node list, timeout or permission', () => {
    expectBad({ syncNodesMandatory: A }, 'syncNodesMandatory');
    expectBad({ syncNodesMandatory: [A, 'nohost'] }, 'syncNodesMandatory');
    expectBad({ syncNodesOptional: [1] }, 'syncNodesOptional');
    expectBad({ syncNodesTimeout: -5 }, 'syncNodesTimeout');
    expectBad({ syncNodesTimeout: '1000' }, 'syncNodesTimeout');
    expectBad({ permissions: [] }, 'permissions');
    expectBad({ permissions: { app1: true, app2: 'no' } }, 'permissions.app2');
  });

  it('startDistAc rejects a bad config with ERR_BAD_KERNEL_CONFIG and installs nothing', async () => {
    const t = tag();
    const node = await cluster.node(n('a', t));
    const bad = { distributed: [{ application: 'p', timeout: -1, nodes: [node.name] }] } as unknown as KernelConfig;
    const err = await startDistAc(node, bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(hasCode(err, 'ERR_BAD_KERNEL_CONFIG')).toBe(true);
    expect((err as Error).message).toContain('distributed[0].timeout');
    expect(node.whereis(DIST_AC)).toBeUndefined();
  });
});

describe('sync nodes at boot', () => {
  // 58: mandatory sync node missing → the node refuses to start after ~syncNodesTimeout, naming it
  it('58: a missing mandatory node makes startDistAc reject with ERR_MANDATORY_NODES_DOWN after the timeout', async () => {
    const t = tag();
    const node = await cluster.node(n('a', t));
    const present = await cluster.node(n('b', t), [node]);
    await waitFor(() => node.net.isConnected(present.name), 5000, 'b connected');
    const missing = n('x', t);
    const t0 = Date.now();
    const err = await startDistAc(node, { syncNodesMandatory: [present.name, missing], syncNodesTimeout: 1000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsed = Date.now() - t0;
    expect(err).toBeInstanceOf(DistAcError);
    expect(hasCode(err, 'ERR_MANDATORY_NODES_DOWN')).toBe(true);
    expect((err as Error).message).toContain(missing);
    expect((err as Error).message).not.toContain(present.name);
    expect((err as DistAcError).reason).toEqual({ mandatoryNodesDown: [missing] });
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(3000);
    expect(node.whereis(DIST_AC)).toBeUndefined();
  });

  it('sync nodes must all be connected at once: one that connected and went away is waited for again', async () => {
    const t = tag();
    const node = await cluster.node(n('a', t));
    let b = await cluster.node(n('b', t), [node]);
    await waitFor(() => node.net.isConnected(b.name), 5000, 'b connected');
    const c = n('c', t);
    const synced = syncNodes(node, { syncNodesOptional: [b.name, c], syncNodesTimeout: 10_000 });
    // b goes away while a waits for c, and comes back (dialling a) only after c is up.
    await b.stop();
    await waitFor(() => !node.net.isConnected(b.name), 5000, 'b gone');
    await cluster.node(c, [node]);
    await waitFor(() => node.net.isConnected(c), 5000, 'c connected');
    // Still waiting for b a while after c came (a negative check needs a window).
    let done = false;
    void synced.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 500));
    expect(done).toBe(false);
    b = await cluster.node(b.name, [node]);
    const r = await synced;
    expect(r.missing).toEqual([]);
    expect(r.up.sort()).toEqual([b.name, c].sort());
  });

  // 58: with the node in syncNodesOptional instead, boot continues after ~syncNodesTimeout
  it('58: a missing optional node delays boot by the timeout, then boot continues', async () => {
    const t = tag();
    const node = await cluster.node(n('a', t));
    const t0 = Date.now();
    const dac = await startDistAc(node, { syncNodesOptional: [n('x', t)], syncNodesTimeout: 1000 });
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(3000);
    expect(node.whereis(DIST_AC)).toBeDefined();
    expect(dac.infoAll()).toEqual([]);
  });

  // 58: with syncNodesTimeout unset there is no waiting at all, even for missing mandatory nodes
  it('58: without syncNodesTimeout there is no wait at all', async () => {
    const t = tag();
    const node = await cluster.node(n('a', t));
    const t0 = Date.now();
    await startDistAc(node, { syncNodesMandatory: [n('x', t)], syncNodesOptional: [n('y', t)] });
    expect(Date.now() - t0).toBeLessThan(300);
    expect(node.whereis(DIST_AC)).toBeDefined();
  });

  it('boot waits for a mandatory node that comes up within the timeout, and then does not wait longer', async () => {
    const t = tag();
    const node = await cluster.node(n('a', t));
    const late = n('b', t);
    const t0 = Date.now();
    const boot = track(startDistAc(node, { syncNodesMandatory: [late], syncNodesTimeout: 3000 }));
    await waitFor(() => Date.now() - t0 >= 300, 1000, '300 ms');
    expect(boot.done).toBe(false);
    await cluster.node(late, [node]);
    await waitFor(() => boot.done, 4000, 'boot to finish');
    expect(boot.error).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(node.net.isConnected(late)).toBe(true);
  });

  it('all sync nodes present: boot does not wait for the timeout', async () => {
    const t = tag();
    const a = await cluster.node(n('a', t));
    const b = await cluster.node(n('b', t), [a]);
    const c = await cluster.node(n('c', t), [a]);
    await waitFor(() => a.net.isConnected(b.name) && a.net.isConnected(c.name), 5000, 'mesh');
    const t0 = Date.now();
    await startDistAc(a, { syncNodesMandatory: [b.name, a.name], syncNodesOptional: [c.name], syncNodesTimeout: 5000 });
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
