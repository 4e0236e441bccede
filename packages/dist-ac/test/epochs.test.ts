/**
 * Fencing epochs (issue 15): every placement of a distributed application — start, failover,
 * takeover, permit move — gets an epoch that grows and that two instances never share; the
 * instance reads it in its `start` (`currentEpoch`, `distAcOf(self).info(app).epoch`), and
 * `info(app).history` records it. Real nodes of this OS process over loopback sockets.
 */
import { describe, expect, it } from 'vitest';
import { supervisor, type ApplicationSpec, type Process } from '@rigil/core';
import { currentEpoch, distAcOf, DistAcError, type KernelConfig } from '../src/index.js';
import { runners, tag, useCluster, waitFor, waitRunsOnly, type Member } from './helpers.js';

const cluster = useCluster();

interface EpochStart {
  readonly node: string;
  readonly epoch: number;
  readonly info: number | null;
}

/** An application whose `start` records the epoch it reads two ways. */
function epochApp(name: string, seen: EpochStart[]): ApplicationSpec {
  const sup: supervisor.SupervisorBehaviour<undefined> = { init: () => ({ flags: { strategy: 'one_for_one', intensity: 1, period: 5 }, children: [] }) };
  return {
    name,
    version: '1.0.0',
    mod: {
      start: (_type, _args, self: Process) => {
        seen.push({ node: self.node.name, epoch: currentEpoch(self, name), info: distAcOf(self).info(name).epoch });
        return supervisor.startLink(self, sup, undefined);
      },
    },
  };
}

describe('fencing epochs', () => {
  it('grow across start, failover, takeover and permit moves; the instance reads its own in start; history and info carry them', async () => {
    const t = tag();
    const [A, B, C] = [`ep1${t}@127.0.0.1`, `ep2${t}@127.0.0.1`, `ep3${t}@127.0.0.1`];
    const kernel: KernelConfig = { distributed: [{ application: 'e', timeout: 0, nodes: [A, B, C] }] };
    const seen: EpochStart[] = [];
    const ms = await cluster.members([A, B, C], kernel, [epochApp('e', seen)]);
    const [a, b, c] = ms as [Member, Member, Member];
    expect(await Promise.all(ms.map((m) => m.node.application.start('e', 'permanent')))).toEqual(['ok', 'ok', 'ok']);
    await waitRunsOnly(ms, 'e', A);
    // A is rank 0 of 3: the first epoch it mints is 1.
    expect(seen).toEqual([{ node: A, epoch: 1, info: 1 }]);
    expect(currentEpoch({ node: a.node } as unknown as Process, 'e')).toBe(1);
    await waitFor(() => b.dac.info('e').epoch === 1 && c.dac.info('e').epoch === 1, 5000, 'every node knows epoch 1');

    // Failover: A dies, B (rank 1) mints the smallest epoch above 1 that is its own: 2.
    await a.node.stop();
    await waitRunsOnly([b, c], 'e', B);
    expect(seen.at(-1)).toEqual({ node: B, epoch: 2, info: 2 });
    await waitFor(() => c.dac.info('e').epoch === 2, 5000, 'C knows epoch 2');

    // Takeover: A comes back (it has forgotten everything) and takes it over: its epoch is above 2.
    const a2 = await cluster.member(A, kernel, [b.node, c.node], [epochApp('e', seen)]);
    expect(await a2.node.application.start('e', 'permanent')).toBe('ok');
    await waitRunsOnly([a2, b, c], 'e', A);
    expect(seen.at(-1)).toEqual({ node: A, epoch: 4, info: 4 });

    // Permit move: A forbids it, B takes it over with an epoch above 4.
    expect(await a2.node.application.permit('e', false)).toBe('ok');
    await waitRunsOnly([a2, b, c], 'e', B);
    expect(seen.at(-1)).toEqual({ node: B, epoch: 5, info: 5 });

    const epochs = seen.map((s) => s.epoch);
    expect(new Set(epochs).size).toBe(epochs.length);
    for (let i = 1; i < epochs.length; i++) expect(epochs[i]).toBeGreaterThan(epochs[i - 1]!);
    // Every node's history names the epochs of the moves it saw; C saw all of them.
    await waitFor(() => c.dac.info('e').epoch === 5, 5000, 'C knows epoch 5');
    const starts = c.dac.info('e').history.filter((m) => m.node !== null);
    expect(starts.map((m) => [m.cause, m.epoch])).toEqual([
      ['start', 1],
      ['failover', 2],
      ['takeover', 4],
      ['permit', 5],
    ]);
    // A stop records the epoch of the instance that stopped.
    expect(c.dac.info('e').history.find((m) => m.node === null && m.previous === A)?.epoch).toBe(1);
    expect(runners([a2, b, c], 'e')).toEqual([B]);
  });

  it('currentEpoch throws ERR_NO_EPOCH on a node where the application does not run', async () => {
    const t = tag();
    const [A, B] = [`eq1${t}@127.0.0.1`, `eq2${t}@127.0.0.1`];
    const kernel: KernelConfig = { distributed: [{ application: 'e', timeout: 0, nodes: [A, B] }] };
    const seen: EpochStart[] = [];
    const ms = await cluster.members([A, B], kernel, [epochApp('e', seen)]);
    expect(await Promise.all(ms.map((m) => m.node.application.start('e', 'permanent')))).toEqual(['ok', 'ok']);
    await waitRunsOnly(ms, 'e', A);
    const proc = { node: ms[1]!.node } as unknown as Process;
    let err: unknown;
    try {
      currentEpoch(proc, 'e');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DistAcError);
    expect((err as DistAcError).code).toBe('ERR_NO_EPOCH');
    // B knows where it runs and with which epoch.
    expect(ms[1]!.dac.info('e')).toMatchObject({ node: A, epoch: 1 });
  });
});
