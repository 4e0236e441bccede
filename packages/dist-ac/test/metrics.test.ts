/**
 * dist-ac moves as @rigil/net's metrics and event hook see them (`renderMetrics`,
 * `node.onEvent`), read only from dist-ac's public reports: a failover and a takeover in a
 * three-node in-process cluster move the counters and carry cause and epoch.
 */
import { describe, expect, it } from 'vitest';
import { renderMetrics, type RigilEvent } from '@rigil/net';
import type { KernelConfig } from '../src/index.js';
import { collector, tag, testApp, useCluster, waitFor, where, type Member } from './helpers.js';

const cluster = useCluster();

/** The value of one sample line `name{labels}` in Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('dist-ac in the metrics and the event hook', () => {
  // Scenario: proxima runs on a; a dies; b fails it over (counter + event with cause and epoch); a restarts and takes it over (counter + event, a newer epoch).
  it('a failover and a takeover move the counters and reach onEvent with cause and epoch', async () => {
    const t = tag();
    const A = `ma${t}@127.0.0.1`;
    const B = `mb${t}@127.0.0.1`;
    const C = `mc${t}@127.0.0.1`;
    const kernel: KernelConfig = { distributed: [{ application: 'proxima', timeout: 0, nodes: [A, B, C] }] };
    const c = collector();
    const apps = [testApp(c, 'proxima', { phases: false })];
    const ms = await cluster.members([A, B, C], kernel, apps);
    const events: RigilEvent[] = [];
    for (const m of ms) m.node.onEvent((e) => events.push(e));
    await Promise.all(ms.map((m) => m.node.application.start('proxima', 'permanent')));
    await waitFor(() => where(ms[0]!, 'proxima') === 'local', 5000, 'proxima on a');
    const b = ms[1]!;
    expect(sample(renderMetrics(b.node), 'rigil_dist_ac_failovers_total{application="proxima"}') ?? 0).toBe(0);
    await ms[0]!.node.stop();
    await waitFor(() => where(b, 'proxima') === 'local', 5000, 'proxima on b');
    await waitFor(() => sample(renderMetrics(b.node), 'rigil_dist_ac_failovers_total{application="proxima"}') === 1, 5000, 'failover counted on b');
    const text = renderMetrics(b.node);
    expect(sample(text, 'rigil_dist_ac_starts_total{application="proxima",cause="failover"}')).toBe(1);
    expect(sample(text, 'rigil_nodedown_total')).toBeGreaterThanOrEqual(1);
    const failover = events.find((e) => e.type === 'distAc.started' && e.node === B);
    expect(failover).toMatchObject({ type: 'distAc.started', application: 'proxima', cause: 'failover', previous: A });
    expect((failover as { epoch: number }).epoch).toBe(b.dac.info('proxima').epoch);
    expect(events.some((e) => e.type === 'nodedown' && e.node === B && e.peer === A)).toBe(true);

    // a comes back: the better node takes proxima over.
    const a2: Member = await cluster.member(A, kernel, [b.node, ms[2]!.node], apps);
    a2.node.onEvent((e) => events.push(e));
    expect(await a2.node.application.start('proxima', 'permanent')).toBe('ok');
    await waitFor(() => where(a2, 'proxima') === 'local', 8000, 'proxima back on a');
    await waitFor(() => sample(renderMetrics(a2.node), 'rigil_dist_ac_takeovers_total{application="proxima"}') === 1, 5000, 'takeover counted on a');
    const takeover = events.find((e) => e.type === 'distAc.started' && e.node === A && e.cause === 'takeover');
    expect(takeover).toMatchObject({ application: 'proxima', previous: B });
    expect((takeover as { epoch: number }).epoch).toBeGreaterThan((failover as { epoch: number }).epoch);
  });
});
