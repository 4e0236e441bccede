/**
 * Fencing epochs (issue 15): every placement of a distributed application — start, failover,
 * takeover, permit move — gets an epoch that grows and that two instances never share; the
 * instance reads it in its `start` (`currentEpoch`, `distAcOf(self).info(app).epoch`), and
 * `info(app).history` records it. Real nodes of this OS process over loopback sockets.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasCode, supervisor, type ApplicationSpec, type Process } from '@rigil/core';
import { checkKernelConfig, currentEpoch, distAcOf, DistAcError, fileEpochStore, startDistAc, type KernelConfig } from '../src/index.js';
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
    // B decided the failover with the views of the nodes it reached (itself and C); C learnt the move.
    expect([...(b.dac.info('e').history.findLast((m) => m.cause === 'failover')?.decidedWith ?? [])].sort()).toEqual([B, C].sort());
    expect(c.dac.info('e').history.findLast((m) => m.cause === 'failover')?.decidedWith).toBeUndefined();

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

describe('epochs kept across restarts (epochDir, epochStore)', () => {
  const dirs: string[] = [];
  const dir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'rigil-epochs-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('fileEpochStore keeps the highest epoch per application in its directory; a missing file is 0', () => {
    const d = dir();
    const store = fileEpochStore(join(d, 'node-a'));
    expect(store.load('ledger')).toBe(0);
    store.save('ledger', 7);
    store.save('a/b', 3);
    expect(fileEpochStore(join(d, 'node-a')).load('ledger')).toBe(7);
    expect(fileEpochStore(join(d, 'node-a')).load('a/b')).toBe(3);
  });

  it('an epoch file that does not hold an epoch fails the start with ERR_BAD_EPOCH_STORE; bad configs are refused', async () => {
    const d = dir();
    writeFileSync(join(d, 'ledger.epoch'), 'not a number');
    expect(() => fileEpochStore(d).load('ledger')).toThrow(expect.objectContaining({ code: 'ERR_BAD_EPOCH_STORE' }));
    const t = tag();
    const A = `es${t}@127.0.0.1`;
    const node = await cluster.node(A);
    const err = await startDistAc(node, { distributed: [{ application: 'ledger', nodes: [A] }], epochDir: d }).catch((e: unknown) => e);
    expect(hasCode(err, 'ERR_BAD_EPOCH_STORE')).toBe(true);
    expect(() => checkKernelConfig({ epochDir: '' })).toThrow(DistAcError);
    expect(() => checkKernelConfig({ epochStore: { load: 1 } })).toThrow(/epochStore/);
    expect(() => checkKernelConfig({ epochDir: d, epochStore: { load: () => 0, save: () => undefined } })).toThrow(/not both/);
  });

  it('a whole cluster restarted with its epochDirs mints above every epoch it used before; without them it starts over', async () => {
    const t = tag();
    const [A, B, C] = [`er1${t}@127.0.0.1`, `er2${t}@127.0.0.1`, `er3${t}@127.0.0.1`];
    const dirs3 = [dir(), dir(), dir()];
    const entry = { application: 'e', timeout: 0, nodes: [A, B, C], quorum: 'majority' as const };
    const boot = async (withDirs: boolean, seen: EpochStart[]): Promise<Member[]> => {
      const out: Member[] = [];
      for (const [i, n] of [A, B, C].entries()) out.push(await cluster.member(n, { distributed: [entry], ...(withDirs ? { epochDir: dirs3[i] } : {}) }, out.map((m) => m.node), [epochApp('e', seen)]));
      expect(await Promise.all(out.map((m) => m.node.application.start('e', 'permanent')))).toEqual(['ok', 'ok', 'ok']);
      await waitRunsOnly(out, 'e', A);
      return out;
    };
    const seen: EpochStart[] = [];
    let ms = await boot(true, seen);
    // Move it twice so the epochs are well above a fresh start's.
    expect(await ms[1]!.node.application.takeover('e', 'permanent')).toBe('ok');
    await waitRunsOnly(ms, 'e', B);
    expect(await ms[0]!.node.application.takeover('e', 'permanent')).toBe('ok');
    await waitRunsOnly(ms, 'e', A);
    const before = seen.at(-1)!.epoch;
    expect(before).toBeGreaterThan(1);
    await Promise.all(ms.map((m) => m.node.stop()));
    ms = await boot(true, seen);
    expect(seen.at(-1)!.epoch).toBeGreaterThan(before);
    // The same restart without the directories forgets them: A mints 1 again.
    await Promise.all(ms.map((m) => m.node.stop()));
    await boot(false, seen);
    expect(seen.at(-1)!.epoch).toBe(1);
  }, 60_000);
});

