/**
 * The `dist_ac` server under the node's `kernel_sup`: it refuses malformed input without
 * dying, and a restarted one rebuilds where the applications run, so `info`, failover and
 * takeover keep working.
 *
 * Distributed tier: real nodes of this OS process over loopback sockets (port 0); conditions
 * are polled with deadlines.
 */
import { describe, expect, it } from 'vitest';
import { genServer, supervisor, type Report } from '@rigil/core';
import { DistNode, KERNEL_SUP } from '@rigil/net';
import { DIST_AC, DistAcError, distAcOf, type KernelConfig } from '../src/index.js';
import { collector, tag, testApp, useCluster, waitFor, waitRunsOnly, type Member } from './helpers.js';

const cluster = useCluster();

function names(): { A: string; B: string; C: string } {
  const t = tag();
  return { A: `ks1${t}@127.0.0.1`, B: `ks2${t}@127.0.0.1`, C: `ks3${t}@127.0.0.1` };
}

/** app1 runs on A, then B, then C; fails over at once. */
function config(A: string, B: string, C: string): KernelConfig {
  return { distributed: [{ application: 'app1', timeout: 0, nodes: [A, B, C] }] };
}

async function threeNodes(): Promise<{ A: string; B: string; C: string; ms: Member[] }> {
  const { A, B, C } = names();
  const c = collector();
  const ms = await cluster.members([A, B, C], config(A, B, C), [testApp(c, 'app1', { phases: false })]);
  const rs = await Promise.all(ms.map((m) => m.node.application.start('app1', 'permanent')));
  expect(rs).toEqual(['ok', 'ok', 'ok']);
  await waitRunsOnly(ms, 'app1', A);
  return { A, B, C, ms };
}

/** Kills `m`'s dist_ac server and waits for kernel_sup to restart it and for the rebuild. */
async function killDistAc(m: Member): Promise<void> {
  const old = m.node.whereis(DIST_AC)!;
  m.node.exit(old, 'kill');
  await waitFor(() => {
    const p = m.node.whereis(DIST_AC);
    return p !== undefined && !p.equals(old);
  }, 3000, `dist_ac restarted on ${m.node.name}`);
  await m.dac.rebuilt();
}

const JUNK: unknown[] = [null, 7, 'x', { op: 'nope' }, { op: 'view' }, { op: 'view', app: 5 }, { op: 'hello', from: 'x', running: 'no', signatures: [] }, { op: 'started', app: 'app1', info: null }, { op: 'stopped', app: 1 }, { op: 'takeoverFrom', app: 'app1' }, [1]];

describe('dist_ac under kernel_sup', () => {
  it('startDistAc adds dist_ac as a child of kernel_sup, after rex and the global name server', async () => {
    const { A, B, C } = names();
    const [m] = await cluster.members([A], config(A, B, C));
    const children = await supervisor.whichChildren(m!.node, KERNEL_SUP);
    expect(children.map((c) => c.id)).toEqual(['rex', 'global_name_server', DIST_AC]);
    expect(children[2]!.pid).toEqual(m!.node.whereis(DIST_AC));
  });

  // Scenario: B sends A's dist_ac malformed calls, casts and stray messages; calls get bad_request, the rest is dropped with a report; A's dist_ac lives on and failover still works.
  it('answers malformed requests with an error and drops malformed casts and messages with a report', async () => {
    const { A, B, ms } = await threeNodes();
    const [a, b] = ms as [Member, Member, Member];
    const server = a.node.whereis(DIST_AC)!;
    const crashes: Report[] = [];
    a.node.onReport((r) => {
      if (r.kind === 'crash' || r.kind === 'gen_server') crashes.push(r);
    });
    for (const junk of JUNK) expect(await genServer.call(b.node, [DIST_AC, A], junk, 3000)).toEqual({ error: 'bad_request' });
    for (const junk of JUNK) genServer.cast(b.node, [DIST_AC, A], junk);
    for (const junk of JUNK) b.node.send([DIST_AC, A], junk);
    await waitFor(() => a.reports.some((r) => r.message.includes('unexpected message')), 3000, 'a report of a dropped message');
    expect(a.reports.some((r) => r.message.includes('malformed cast'))).toBe(true);
    expect(a.reports.some((r) => r.message.includes('malformed request'))).toBe(true);
    expect(crashes).toEqual([]);
    expect(a.node.whereis(DIST_AC)).toBe(server);
    expect(a.dac.info('app1').node).toBe(A);
    await a.node.stop();
    await waitRunsOnly(ms, 'app1', B);
  });

  // Scenario: B's dist_ac (B is next in line) is killed and restarted; B still knows app1 runs on A, and fails it over when A stops.
  it('a restarted dist_ac still knows where applications run, and still fails over', async () => {
    const { A, B, ms } = await threeNodes();
    const [a, b, c] = ms as [Member, Member, Member];
    await killDistAc(b);
    expect(b.dac.serverIncarnations).toBe(2);
    expect(b.dac.info('app1')).toMatchObject({ application: 'app1', node: A });
    expect(await b.node.rpc.call(c.node.name, 'distAc.info')).toEqual([expect.objectContaining({ application: 'app1', node: A })]);
    expect(b.node.rpc.list()).toContain('distAc.info');
    await a.node.stop();
    await waitRunsOnly(ms, 'app1', B);
    expect(b.dac.info('app1')).toMatchObject({ node: B, cause: 'failover' });
    expect(c.dac.info('app1')).toMatchObject({ node: B });
  });

  // Scenario: the runner A's dist_ac is killed; afterwards B takes app1 over (which needs A's dist_ac to hand over).
  it('a restarted dist_ac on the running node hands the application over on takeover', async () => {
    const { A, B, ms } = await threeNodes();
    const [a, b] = ms as [Member, Member, Member];
    await killDistAc(a);
    expect(a.dac.info('app1')).toMatchObject({ node: A });
    expect(await b.node.application.takeover('app1', 'permanent')).toBe('ok');
    await waitRunsOnly(ms, 'app1', B);
    expect(a.dac.info('app1')).toMatchObject({ node: B, cause: 'takeover' });
  });

  // Scenario: C's dist_ac is stopped while B takes app1 over from A (C misses the news); when it is back, C learns from its peers that app1 runs on B.
  it('a restarted dist_ac rebuilds from its peers what it missed while it was down', async () => {
    const { A, B, ms } = await threeNodes();
    const [, b, c] = ms as [Member, Member, Member];
    expect(await supervisor.terminateChild(c.node, KERNEL_SUP, DIST_AC)).toBe('ok');
    expect(await b.node.application.takeover('app1', 'permanent')).toBe('ok');
    await waitFor(() => ms[0]!.node.application.whereRunning('app1') === B, 5000, 'A sees B running app1');
    expect(c.dac.info('app1').node).toBe(A);
    expect(c.node.application.whereRunning('app1')).toBe(A);
    expect(await supervisor.restartChild(c.node, KERNEL_SUP, DIST_AC)).toHaveProperty('ok');
    await c.dac.rebuilt();
    expect(c.dac.info('app1')).toMatchObject({ node: B });
    expect(c.node.application.whereRunning('app1')).toBe(B);
    await b.node.stop();
    // C learnt B runs it, so B's death fails app1 over (to A, first in line).
    await waitRunsOnly(ms, 'app1', A);
  });
});

describe('distAcOf', () => {
  it('gives the controller of the node a process runs on', async () => {
    const { A, B, C } = names();
    const [m] = await cluster.members([A], config(A, B, C));
    const seen = await new Promise<unknown>((resolve) => {
      m!.node.spawn((self) => resolve(distAcOf(self)));
    });
    expect(seen).toBe(m!.dac);
    expect(distAcOf(m!.node)).toBe(m!.dac);
  });

  it('throws ERR_NO_DIST_AC on a node without a distributed application controller', async () => {
    const bare: DistNode = await cluster.node(`bare${tag()}@127.0.0.1`);
    const err = (() => {
      try {
        distAcOf(bare);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(DistAcError);
    expect((err as DistAcError).code).toBe('ERR_NO_DIST_AC');
  });
});
