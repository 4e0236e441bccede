/**
 * Guide "Partitions, quorum and fencing" (docs/guides/partitions-quorum-fencing.md): a singleton
 * writer (`ledger`) on three nodes with `quorum: 'majority'`, a store on a fourth node that
 * refuses writes with an old epoch, and two faults on the simulated cluster of @rigil/testing —
 * a partition (the minority stops, the majority takes over with a newer epoch) and a frozen
 * node (its late writes are fenced). Deterministic: same seed, same run. Run: `npx tsx main.ts`.
 */
import { genServer, supervisor, type ApplicationSpec, type GenServerBehaviour, type Node, type Process } from '@rigil/core';
import { currentEpoch, distAcOf, type KernelConfig } from '@rigil/dist-ac';
import type { DistNode } from '@rigil/net';
import { Simulation } from '@rigil/testing';

// #region store
/** The store: a stand-in for a database that keeps the newest epoch it has seen. */
type Row = { epoch: number; text: string };
type StoreState = { newest: number; rows: Row[]; refused: Row[] };
type StoreProtocol = { call: Row | 'dump'; reply: 'ok' | 'fenced' | StoreState; cast: never };

export const store: GenServerBehaviour<StoreState, undefined, StoreProtocol> = {
  init: () => ({ ok: { newest: 0, rows: [], refused: [] } }),
  handleCall: (req, _from, s) => {
    if (req === 'dump') return { reply: s, state: s };
    // The fencing check. In SQL: UPDATE ... WHERE $epoch >= (SELECT max(epoch) FROM fence).
    if (req.epoch < s.newest) return { reply: 'fenced', state: { ...s, refused: [...s.refused, req] } };
    return { reply: 'ok', state: { newest: req.epoch, rows: [...s.rows, req], refused: s.refused } };
  },
};
// #endregion store

// #region ledger
/** The writer buffers appends and writes them to the store with its instance's epoch. */
type WriterState = { epoch: number; buffer: string[] };
type WriterProtocol = { call: { append: string } | 'flush'; reply: Array<'ok' | 'fenced'> | 'buffered'; cast: never };

const writer: GenServerBehaviour<WriterState, undefined, WriterProtocol> = {
  // The epoch of this instance: fixed from its start to its end, newer than any before it.
  init: (_args, self) => ({ ok: { epoch: currentEpoch(self, 'ledger'), buffer: [] } }),
  async handleCall(req, _from, s, self) {
    if (req !== 'flush') return { reply: 'buffered', state: { ...s, buffer: [...s.buffer, req.append] } };
    const results: Array<'ok' | 'fenced'> = [];
    for (const text of s.buffer) {
      results.push((await genServer.call<StoreProtocol>(self, ['store', 'db@db'], { epoch: s.epoch, text })) as 'ok' | 'fenced');
    }
    return { reply: results, state: { ...s, buffer: [] } };
  },
};

export const ledger: ApplicationSpec = {
  name: 'ledger',
  mod: {
    async start(_type, _args, self: Process) {
      const r = await supervisor.startLink(self, {
        init: () => ({
          flags: { strategy: 'one_for_one', intensity: 3, period: 5 },
          children: [supervisor.worker('writer', writer, undefined, { name: 'writer' })],
        }),
      }, undefined);
      return typeof r === 'object' && 'ok' in r ? { ok: r.ok, state: self.node } : r;
    },
    // A graceful stop flushes what is buffered. If this instance was replaced meanwhile, the
    // store refuses those writes: that is the fence.
    async prepStop(node: unknown) {
      await genServer.call(node as Node, 'writer', 'flush').catch(() => undefined);
      return node;
    },
  },
};

const kernel: KernelConfig = {
  distributed: [{ application: 'ledger', timeout: 0, nodes: ['a@a', 'b@b', 'c@c'], quorum: 'majority', downAfter: 1000 }],
  syncNodesOptional: ['a@a', 'b@b', 'c@c'],
  syncNodesTimeout: 2000,
};
// #endregion ledger

function check(ok: boolean, what: string): void {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) throw new Error(`failed: ${what}`);
}

// #region cluster
const sim = new Simulation({ seed: 7 });
try {
  const db = await sim.startNode({ name: 'db@db', tickTime: 1000 });
  await genServer.start(db, store, undefined, { name: 'store' });
  const nodes: DistNode[] = [];
  for (const name of ['a@a', 'b@b', 'c@c']) {
    nodes.push(await sim.startNode({ name, tickTime: 1000, seeds: ['db@db', ...nodes.map((n) => n.name)], kernel, apps: [ledger] }));
  }
  await sim.runUntil(() => nodes.every((n) => n.nodes().length === 3), 10_000);
  await sim.wait(Promise.all(nodes.map((n) => n.application.start('ledger'))));

  const up = (): DistNode[] => nodes.filter((n) => sim.isUp(n.name) && !sim.isFrozen(n.name));
  const runner = (): DistNode | undefined => up().find((n) => n.application.whereRunning('ledger') === 'local');
  const write = async (n: DistNode, text: string): Promise<Array<'ok' | 'fenced'>> => {
    await sim.wait(genServer.call(n, 'writer', { append: text }));
    return sim.wait(genServer.call(n, 'writer', 'flush'));
  };
  // #endregion cluster

  // #region partition
  const first = runner()!;
  const e1 = distAcOf(first).info('ledger').epoch!;
  check(first.name === 'a@a' && (await write(first, 'one')).join() === 'ok', `ledger runs on a@a with epoch ${e1} and writes`);

  // Cut a off from everyone. a is a minority of ledger's nodes: it stops its instance after
  // downAfter; b and c are a majority: after their hold, b (next in the list) starts it.
  sim.partition([['a@a'], ['b@b', 'c@c', 'db@db']]);
  const t0 = sim.now;
  await sim.runUntil(() => runner()?.name === 'b@b', 10_000);
  const second = runner()!;
  const e2 = distAcOf(second).info('ledger').epoch!;
  check(first.application.whereRunning('ledger') !== 'local', `a@a stopped its instance (quorum lost); b@b took over ${Math.round(sim.now - t0)} ms after the cut`);
  check(e2 > e1, `the new instance has a newer epoch: ${e2} > ${e1}`);
  check((await write(second, 'two')).join() === 'ok', 'b@b writes');

  sim.healAll();
  await sim.runUntil(() => nodes.every((n) => n.nodes().length === 3), 10_000);
  check(runner()?.name === 'b@b', 'after the heal ledger still runs once, on b@b');
  // #endregion partition

  // #region freeze
  // b buffers a write, then freezes (SIGSTOP, a long GC pause) before flushing it.
  await sim.wait(genServer.call(second, 'writer', { append: 'three (late)' }));
  sim.freeze('b@b');
  await sim.runUntil(() => runner() !== undefined, 10_000);
  const third = runner()!;
  const e3 = distAcOf(third).info('ledger').epoch!;
  check((await write(third, 'four')).join() === 'ok', `${third.name} took over from the frozen b@b with epoch ${e3} and writes`);

  // b thaws: its first act is to stop its old instance. The stop flushes the buffered write
  // with epoch e2 — too late: the store has seen e3.
  sim.thaw('b@b');
  await sim.runUntil(() => second.whereis('writer') === undefined, 20_000);
  const dump = (await sim.wait(genServer.call(db, 'store', 'dump'))) as StoreState;
  check(dump.rows.map((r) => r.text).join() === 'one,two,four', `the store kept ${dump.rows.map((r) => `${r.text}@${r.epoch}`).join(', ')}`);
  check(dump.refused.map((r) => `${r.text}@${r.epoch}`).join() === `three (late)@${e2}`, `and fenced ${dump.refused.map((r) => `${r.text}@${r.epoch}`).join(', ')}`);
  // #endregion freeze
} finally {
  await sim.stop();
}
