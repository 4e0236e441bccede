/**
 * Quorum over real sockets (issue 15): three nodes of this OS process on port 0, links cut
 * silently with the fault-injecting transport (a dead cable: only the tick timeout notices).
 * The isolated runner stops its instance `downAfter` after it notices, and says why; the
 * majority starts it only after that, with a newer epoch; when every node is cut off nobody
 * runs it, and it is placed again when a quorum returns.
 */
import { describe, expect, it } from 'vitest';
import { supervisor, type ApplicationSpec, type Process, type Report } from '@rigil/core';
import type { DistNode } from '@rigil/net';
import { FaultyTransport } from '@rigil/net/testing';
import { currentEpoch, startDistAc, type DistAc, type KernelConfig } from '../src/index.js';
import { tag, useCluster, waitFor } from './helpers.js';

const cluster = useCluster();
const TICK = 400;

interface Span {
  readonly node: string;
  readonly epoch: number;
  readonly from: number;
  to?: number;
}

function spanApp(spans: Span[]): ApplicationSpec {
  const sup: supervisor.SupervisorBehaviour<undefined> = { init: () => ({ flags: { strategy: 'one_for_one', intensity: 1, period: 5 }, children: [] }) };
  const live = new Map<string, Span>();
  return {
    name: 'q',
    version: '1.0.0',
    mod: {
      start: async (_type, _args, self: Process) => {
        const s: Span = { node: self.node.name, epoch: currentEpoch(self, 'q'), from: Date.now() };
        spans.push(s);
        live.set(self.node.name, s);
        const r = await supervisor.startLink(self, sup, undefined);
        return typeof r === 'object' && 'ok' in r ? { ok: r.ok, state: self.node.name } : r;
      },
      stop: (name: unknown) => {
        const s = live.get(name as string);
        if (s !== undefined) s.to = Date.now();
      },
    },
  };
}

/** Cuts `a`–`b` silently on both sides (frames held, nothing closed). */
function cutSilently(a: DistNode, b: DistNode): void {
  FaultyTransport.of(a).block(b.name, { silent: true });
  FaultyTransport.of(b).block(a.name, { silent: true });
}

function heal(a: DistNode, b: DistNode): void {
  FaultyTransport.of(a).unblock(b.name);
  FaultyTransport.of(b).unblock(a.name);
}

async function three(spans: Span[]): Promise<Array<{ node: DistNode; dac: DistAc; reports: Report[] }>> {
  const t = tag();
  const names = [`qa${t}@127.0.0.1`, `qb${t}@127.0.0.1`, `qc${t}@127.0.0.1`];
  const kernel: KernelConfig = { distributed: [{ application: 'q', timeout: 0, nodes: names, quorum: 'majority' }] };
  const nodes: DistNode[] = [];
  for (const n of names) nodes.push(await cluster.node(n, nodes, { tickTime: TICK }));
  for (const x of nodes) for (const y of nodes) if (x !== y) await x.connect(y.name);
  await waitFor(() => nodes.every((n) => n.nodes().length === 2), 5000, 'full mesh');
  const out = [];
  for (const node of nodes) {
    const reports: Report[] = [];
    node.onReport((r) => {
      if (r.kind === 'dist_ac') reports.push(r);
    });
    node.application.load(spanApp(spans));
    out.push({ node, dac: await startDistAc(node, kernel), reports });
  }
  expect(await Promise.all(nodes.map((n) => n.application.start('q')))).toEqual(['ok', 'ok', 'ok']);
  return out;
}

const running = (ms: ReadonlyArray<{ node: DistNode }>): string[] => ms.filter((m) => m.node.application.whereRunning('q') === 'local').map((m) => m.node.name);

describe('quorum over real sockets', () => {
  it('an isolated runner stops after downAfter and says why; the majority starts it after, with a newer epoch; the heal keeps it there', async () => {
    const spans: Span[] = [];
    const ms = await three(spans);
    const [a, b, c] = ms as [(typeof ms)[0], (typeof ms)[0], (typeof ms)[0]];
    await waitFor(() => running(ms).join() === a.node.name, 5000, 'q on a');
    const cutAt = Date.now();
    cutSilently(a.node, b.node);
    cutSilently(a.node, c.node);
    await waitFor(() => running(ms).join() === b.node.name && spans.length === 2, 10_000, () => `q on b only (runs on [${running(ms).join(', ')}])`);
    const [sa, sb] = spans as [Span, Span];
    expect(sa.to).toBeDefined();
    // Noticed within ~tickTime, then downAfter (tickTime / 4); real timers: a generous slack.
    expect(sa.to! - cutAt).toBeLessThan(TICK + TICK / 4 + 600);
    expect(sb.from).toBeGreaterThanOrEqual(sa.to!);
    expect(sb.epoch).toBeGreaterThan(sa.epoch);
    // a says why: a report, the history, info.
    expect(a.reports.some((r) => r.code === 'quorum' && r.message.includes('quorum lost'))).toBe(true);
    expect(a.dac.info('q').history.at(-1)).toMatchObject({ node: null, cause: 'stopped', reason: 'quorum lost', epoch: sa.epoch });
    expect(a.dac.info('q').quorum).toMatchObject({ required: 2, reached: 1 });
    expect(a.dac.hasQuorum('q')).toBe(false);
    heal(a.node, b.node);
    heal(a.node, c.node);
    await waitFor(() => ms.every((m) => m.node.nodes().length === 2), 10_000, 'mesh back');
    await waitFor(() => ms.every((m) => m.dac.info('q').node === b.node.name), 5000, 'every node records b');
    expect(running(ms)).toEqual([b.node.name]);
    // A connection counts for the quorum once it has been up for tickTime / 2.
    await waitFor(() => a.dac.info('q').quorum?.reached === 3, 5000, 'a reaches all three');
    expect(a.dac.hasQuorum('q')).toBe(true);
  });

  it('every node cut off: nobody runs it; two nodes meeting again place it, with a newer epoch', async () => {
    const spans: Span[] = [];
    const ms = await three(spans);
    const [a, b, c] = ms as [(typeof ms)[0], (typeof ms)[0], (typeof ms)[0]];
    await waitFor(() => running(ms).join() === a.node.name, 5000, 'q on a');
    cutSilently(a.node, b.node);
    cutSilently(a.node, c.node);
    cutSilently(b.node, c.node);
    await waitFor(() => running(ms).length === 0 && spans[0]!.to !== undefined, 10_000, 'q stopped everywhere');
    // Nobody without a quorum places it: wait over two tick timeouts' worth.
    const quiet = Date.now() + 2 * TICK;
    await waitFor(() => Date.now() > quiet, 3 * TICK, 'quiet period');
    expect(spans).toHaveLength(1);
    heal(b.node, c.node);
    await waitFor(() => running(ms).join() === b.node.name, 10_000, () => `q on b (runs on [${running(ms).join(', ')}])`);
    expect(spans).toHaveLength(2);
    expect(spans[1]!.epoch).toBeGreaterThan(spans[0]!.epoch);
    heal(a.node, b.node);
    heal(a.node, c.node);
    await waitFor(() => ms.every((m) => m.node.nodes().length === 2), 10_000, 'mesh back');
    await waitFor(() => ms.every((m) => m.dac.info('q').node === b.node.name), 5000, 'every node records b');
  });
});
