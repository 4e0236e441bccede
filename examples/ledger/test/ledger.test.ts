/**
 * The ledger example against a real PostgreSQL (started by scripts/pg.sh, installed from
 * Debian's packages when missing): the fence on its own, the server and application on one
 * node, then three nodes as OS processes through a partition, a kill -9 and a SIGSTOP.
 */
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { genServer } from '@rigil/core';
import { distAcOf, startDistAc } from '@rigil/dist-ac';
import { DistNode, globalOf } from '@rigil/net';
import { OsCluster, waitFor, type ChildNode } from '../../../test/src/os_cluster.js';
import { append, ledgerInfo, type AppendResult } from '../src/client.js';
import { LedgerError } from '../src/errors.js';
import { ledger } from '../src/ledger_app.js';
import { ledgerServer, type LedgerReply } from '../src/ledger_server.js';
import { LedgerStore } from '../src/store.js';
import { startPg, type PgServer } from './pg_server.js';

let server: PgServer;

beforeAll(async () => {
  server = await startPg();
}, 600_000);

afterAll(async () => {
  await server?.stop();
}, 120_000);

/** The error `p` rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<LedgerError> {
  try {
    await p;
  } catch (e) {
    return e as LedgerError;
  }
  throw new Error('expected a rejection');
}

describe('the fence', () => {
  let store: LedgerStore;
  let url: string;
  let others: LedgerStore[] = [];

  beforeAll(async () => {
    url = await server.createDatabase('fence_unit');
    store = await LedgerStore.connect(url);
    await store.ensureSchema();
  });

  afterAll(async () => {
    await store?.close();
    await Promise.all(others.map((o) => o.close()));
    others = [];
  });

  it('refuses a write or a claim with an older epoch, with ERR_STALE_EPOCH, and records it', async () => {
    expect(await store.claim('unit', 5, 'a@h')).toEqual({ fenceBefore: 0 });
    const first = await store.append('unit', 5, 'a@h', 'k1', { n: 1 });
    expect(first).toMatchObject({ epoch: 5, node: 'a@h', duplicate: false });

    const older = await rejection(store.append('unit', 3, 'b@h', 'k2', { n: 2 }));
    expect(older).toBeInstanceOf(LedgerError);
    expect(older.code).toBe('ERR_STALE_EPOCH');
    expect(older.reason).toEqual({ staleEpoch: 3, fence: 5 });
    expect((await rejection(store.claim('unit', 4, 'b@h'))).code).toBe('ERR_STALE_EPOCH');

    // The same epoch is the same instance: accepted. A newer one moves the fence, after which
    // the instance of epoch 5 is refused too.
    expect((await store.append('unit', 5, 'a@h', 'k3', null)).epoch).toBe(5);
    expect(await store.claim('unit', 9, 'c@h')).toEqual({ fenceBefore: 5 });
    expect((await rejection(store.append('unit', 5, 'a@h', 'k4', null))).code).toBe('ERR_STALE_EPOCH');
    const later = await store.append('unit', 9, 'c@h', 'k5', [1, 2]);
    expect(later.id).toBeGreaterThan(first.id);

    const keys = await store.entriesByKey('unit');
    expect([...keys.keys()].sort()).toEqual(['k1', 'k3', 'k5']);
    const refused = (await store.query('SELECT epoch::int, fence::int, key FROM refused WHERE app = $1 ORDER BY id', ['unit'])).rows;
    expect(refused).toEqual([
      { epoch: 3, fence: 5, key: 'k2' },
      { epoch: 4, fence: 5, key: null },
      { epoch: 5, fence: 9, key: 'k4' },
    ]);
    const audit = await store.audit('unit');
    expect(audit).toMatchObject({ accepted: 3, refused: 3, claims: [5, 9], epochs: [5, 9], fence: 9, violations: [] });
  });

  it('answers a retried key with the entry already written, not a second one', async () => {
    const a = await store.append('retry', 1, 'a@h', 'same', { try: 1 });
    const b = await store.append('retry', 2, 'b@h', 'same', { try: 2 });
    expect(b).toEqual({ id: a.id, epoch: 1, node: 'a@h', duplicate: true });
    expect((await store.audit('retry')).accepted).toBe(1);
  });

  it('keeps epochs non-decreasing in commit order under concurrent writers with mixed epochs', async () => {
    others = await Promise.all([1, 2, 3, 4].map(() => LedgerStore.connect(url)));
    // Four connections race, each with its own epochs (some go backwards on purpose).
    const plans = [
      [1, 2, 3, 4, 5, 6],
      [6, 5, 4, 3, 2, 1],
      [3, 3, 7, 7, 2, 8],
      [8, 1, 9, 9, 9, 1],
    ];
    const outcomes = await Promise.all(
      plans.map(async (epochs, w) => {
        const results: Array<'ok' | 'stale'> = [];
        for (const [i, e] of epochs.entries()) {
          for (let r = 0; r < 5; r++) {
            try {
              await others[w]!.append('race', e, `w${w}`, `w${w}-${i}-${r}`, null);
              results.push('ok');
            } catch (err) {
              if ((err as LedgerError).code !== 'ERR_STALE_EPOCH') throw err;
              results.push('stale');
            }
          }
        }
        return results;
      }),
    );
    const audit = await store.audit('race');
    expect(audit.violations).toEqual([]);
    expect(audit.accepted).toBe(outcomes.flat().filter((o) => o === 'ok').length);
    expect(audit.refused).toBe(outcomes.flat().filter((o) => o === 'stale').length);
    expect(audit.refused).toBeGreaterThan(0);
    expect(audit.fence).toBe(9);
  });

  it('audit finds a write that bypassed the fence', async () => {
    await store.append('bypass', 4, 'a@h', 'ok', null);
    await store.query("INSERT INTO entries (app, epoch, fence_before, node, key, payload) VALUES ('bypass', 2, 4, 'x@h', 'sneaky', 'null')");
    const audit = await store.audit('bypass');
    expect(audit.violations).toHaveLength(2);
    expect(audit.violations[0]).toContain('epoch 2 accepted below the fence 4');
    expect(audit.violations[1]).toContain('epoch 2 committed after epoch 4');
  });
});

describe('the ledger server and application on one node', () => {
  let node: DistNode | undefined;
  let store: LedgerStore | undefined;

  afterAll(async () => {
    await node?.stop();
    await store?.close();
  });

  it('starts with dist-ac\'s epoch; a replaced instance is refused with ERR_STALE_EPOCH, a stale one does not start', async () => {
    const url = await server.createDatabase('ledger_server');
    node = await DistNode.start({ name: `solo${process.pid}@127.0.0.1`, cookie: 'ledger_solo_cookie' });
    node.application.configure({ ledger: { url } });
    expect(node.application.load(ledger)).toBe('ok');
    await startDistAc(node, { distributed: [{ application: 'ledger', nodes: [node.name] }] });
    expect(await node.application.start('ledger')).toBe('ok');

    // The running instance has dist-ac's epoch, and wrote its claim with it.
    const epoch = distAcOf(node).info('ledger').epoch;
    expect(typeof epoch).toBe('number');
    expect(await ledgerInfo(node)).toMatchObject({ node: node.name, epoch, appended: 0 });
    const first = await append(node, 'k1', { n: 1 });
    expect(first).toMatchObject({ epoch, node: node.name, duplicate: false });
    store = await LedgerStore.connect(url);
    expect((await store.audit('ledger')).claims).toEqual([epoch]);

    // A second server with a newer epoch (as a new placement would be) claims the fence and takes
    // the global name; the first one, still running, is refused from then on.
    const old = node.whereis('ledger')!;
    const newer = await genServer.start(node, ledgerServer, { epoch: epoch! + 10, url }, { trapExit: true });
    expect(newer !== 'ignore' && 'ok' in newer).toBe(true);
    const late = (await genServer.call(node, old, { append: { key: 'late', payload: null } })) as LedgerReply;
    expect(late).toMatchObject({ error: { code: 'ERR_STALE_EPOCH', reason: { staleEpoch: epoch, fence: epoch! + 10 } } });
    expect((await append(node, 'k2', null)).epoch).toBe(epoch! + 10);
    await expect(append(node, '', null)).rejects.toMatchObject({ code: 'ERR_BAD_REQUEST' });

    // A server whose epoch is already older than the fence does not start.
    const stale = await genServer.start(node, ledgerServer, { epoch: epoch! + 1, url }, { trapExit: true });
    expect(stale).toMatchObject({ error: { code: 'ERR_STALE_EPOCH' } });
    const audit = await store.audit('ledger');
    expect(audit).toMatchObject({ accepted: 2, refused: 2, claims: [epoch, epoch! + 10], violations: [] });
  });
  it('a server whose database connection broke is started again by its supervisor and claims again with the same epoch', async () => {
    const url = await server.createDatabase('ledger_reconnect');
    const solo = await DistNode.start({ name: `solo2${process.pid}@127.0.0.1`, cookie: 'ledger_solo_cookie' });
    const admin = await LedgerStore.connect(url);
    try {
      solo.application.configure({ ledger: { url } });
      expect(solo.application.load(ledger)).toBe('ok');
      await startDistAc(solo, { distributed: [{ application: 'ledger', nodes: [solo.name] }] });
      expect(await solo.application.start('ledger')).toBe('ok');
      const epoch = distAcOf(solo).info('ledger').epoch;
      expect((await append(solo, 'before', null)).epoch).toBe(epoch);
      const first = solo.whereis('ledger');

      // PostgreSQL ends the server's session (as a restart of the database or a network cut would).
      const ended = await admin.query('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1', [`rigil-ledger ${solo.name}`]);
      expect(ended.rows).toEqual([{ ok: true }]);
      // The next appends fail (nothing acknowledged) until the restarted server serves again.
      let after: Awaited<ReturnType<typeof append>> | undefined;
      const failures = new Set<string>();
      await waitFor(
        async () => {
          try {
            after = await append(solo, 'after', null, 1000);
            return true;
          } catch (e) {
            failures.add((e as LedgerError).code);
            return false;
          }
        },
        10_000,
        'appends served again after the connection broke',
        20,
      );
      expect(after).toMatchObject({ epoch, duplicate: false });
      expect(solo.whereis('ledger')).not.toEqual(first);
      expect([...failures].every((c) => c === 'ERR_DATABASE' || c === 'ERR_NOT_RUNNING')).toBe(true);
      expect(await admin.audit('ledger')).toMatchObject({ accepted: 2, claims: [epoch, epoch], violations: [] });

      // The global name gone (as global's known merge gap can leave it): the instance dist-ac
      // places here takes it back within a check or two.
      const serving = solo.whereis('ledger');
      await globalOf(solo).unregister('ledger');
      expect(globalOf(solo).whereis('ledger')).toBeUndefined();
      await waitFor(() => globalOf(solo).whereis('ledger') !== undefined, 5000, 'the global name taken back', 20);
      expect(globalOf(solo).whereis('ledger')).toEqual(serving);
    } finally {
      await solo.stop();
      await admin.close();
    }
  });
});

// ---------------------------------------------------------------- three nodes as OS processes

const COOKIE = 'ledger_cookie';
const NAMES = ['a@127.0.0.1', 'b@127.0.0.1', 'c@127.0.0.1'];
/** The children's tickTime: a silently cut or frozen node is down after about this long. */
const TICK = 1000;
/** The test's child program (same protocol as test/src/node_main.ts, plus the ledger). */
const PROGRAM = 'examples/ledger/test/ledger_node.ts';

/** One acknowledged append, as the client recorded it. */
interface Ack {
  readonly key: string;
  readonly id: number;
  readonly epoch: number;
  readonly node: string;
  /** Which phase of the test it was acknowledged in. */
  readonly phase: string;
}

/** What each node says of the ledger's placement. */
interface Seen {
  readonly node: string | null;
  readonly epoch: number | null;
}

describe('three ledger nodes as OS processes', () => {
  const cluster = new OsCluster();
  let client: DistNode | undefined;
  let store: LedgerStore | undefined;

  afterAll(async () => {
    await cluster.cleanup();
    await client?.stop();
    await store?.close();
  }, 30_000);

  it('accepts no write with a stale epoch and loses no acknowledged entry through a partition, a kill -9 and a SIGSTOP of the running node', async () => {
    const url = await server.createDatabase('ledger_os');
    store = await LedgerStore.connect(url);
    await store.ensureSchema();
    const ports = new Map<string, number>();
    for (const n of NAMES) ports.set(n, await freePort());
    const seedOf = (n: string): string => `${n}:${ports.get(n)!}`;
    const spawnNode = (name: string): Promise<ChildNode> =>
      cluster.spawn({
        name,
        cookie: COOKIE,
        port: ports.get(name)!,
        seeds: NAMES.filter((o) => o !== name).map(seedOf),
        tickTime: TICK,
        faulty: true,
        reconnect: { baseMs: 100, maxMs: 500 },
        readyTimeout: 30_000,
        program: PROGRAM,
        extraArgs: ['--pg-url', url, '--nodes', NAMES.join(','), '--quorum', 'majority'],
      });
    const nodes = new Map<string, ChildNode>();
    for (const c of await Promise.all(NAMES.map(spawnNode))) nodes.set(c.name, c);
    client = await DistNode.start({ name: `ledgerclient${process.pid}@127.0.0.1`, cookie: COOKIE, hidden: true, listen: false, tickTime: TICK, seeds: NAMES.map(seedOf) });
    const probe = client;
    const frozen = new Set<string>();
    const live = (): string[] => NAMES.filter((n) => !frozen.has(n) && nodes.get(n)?.proc.exitCode === null && nodes.get(n)?.proc.signalCode === null);

    /** dist-ac's placement of `ledger` as `n` sees it. */
    const seenBy = async (n: string): Promise<Seen> => {
      const all = (await probe.rpc.call(n, 'distAc.info', [], 1000)) as Array<{ application: string; node: string | null; epoch?: number | null }>;
      const p = all.find((x) => x.application === 'ledger');
      return { node: p?.node ?? null, epoch: p?.epoch ?? null };
    };
    /** Every live node agrees where ledger runs, it runs only there, and it answers with that epoch. */
    const settled = async (): Promise<{ node: string; epoch: number } | undefined> => {
      const views = await Promise.all(live().map(seenBy));
      const first = views[0];
      if (first?.node == null || first.epoch == null || views.some((v) => v.node !== first.node || v.epoch !== first.epoch)) return undefined;
      const local = await Promise.all(live().map(async (n) => [n, await probe.rpc.call(n, 'whereis', ['ledger'], 1000)] as const));
      if (local.some(([n, pid]) => (pid !== null) !== (n === first.node))) return undefined;
      const info = (await probe.rpc.call(first.node, 'ledger.info', [], 1000)) as { node: string; epoch: number };
      return info.node === first.node && info.epoch === first.epoch ? { node: first.node, epoch: first.epoch } : undefined;
    };

    // The client: one loop per node, each appending through that node (rpc ledger.append,
    // which calls the global `ledger`), recording every acknowledgement.
    const acks: Ack[] = [];
    /** Where the ledger ran after each step, for the summary. */
    const steps: string[] = [];
    const step = (what: string, p: { node: string; epoch: number }): void => void steps.push(`${what} ${p.node.split('@')[0]}@${p.epoch}`);
    const errors = new Map<string, number>();
    let phase = 'start';
    let running = true;
    let seq = 0;
    const loop = async (via: string): Promise<void> => {
      while (running) {
        // A frozen node is still sent to: its requests wait in its socket and run when it is
        // continued — writes in flight on an instance that was replaced meanwhile.
        if (!live().includes(via) && !frozen.has(via)) {
          await sleep(50);
          continue;
        }
        const key = `${via.split('@')[0]}-${seq++}`;
        const at = phase;
        try {
          const r = (await probe.rpc.call(via, 'ledger.append', [key, { at, t: Date.now() }], 2000)) as AppendResult;
          if ('ok' in r) acks.push({ key, id: r.ok.id, epoch: r.ok.epoch, node: r.ok.node, phase: at });
          else {
            errors.set(r.error.code, (errors.get(r.error.code) ?? 0) + 1);
            await sleep(40);
          }
        } catch {
          errors.set('rpc', (errors.get('rpc') ?? 0) + 1);
          await sleep(20);
        }
        await sleep(10);
      }
    };
    const loops = NAMES.map(loop);
    /** Appends acknowledged with epoch `e` in the current phase. */
    const acksOf = (e: number): number => acks.filter((a) => a.epoch === e && a.phase === phase).length;
    /**
     * Waits until every live node agrees where ledger runs (and it runs only there) and `n`
     * appends with that instance's epoch were acknowledged in this phase. A placement that looks
     * settled may still move (a heal can cost the kept side its quorum for a moment: global drops
     * links to prevent overlapping partitions), so both are checked together, on the latest view.
     */
    const waitSteady = async (what: string, n: number, ms = 25_000): Promise<{ node: string; epoch: number }> => {
      let s: { node: string; epoch: number } | undefined;
      await waitFor(async () => (s = await settled().catch(() => undefined)) !== undefined && acksOf(s.epoch) >= n, ms, what, 100);
      return s!;
    };
    /** Waits until a node other than `not` runs an instance newer than `than`, acknowledged `n` times. */
    const waitMovedAway = async (not: string, than: number, what: string): Promise<{ node: string; epoch: number }> => {
      let s: Seen | undefined;
      await waitFor(
        async () => {
          const views = await Promise.all(live().filter((n) => n !== not).map((n) => seenBy(n).catch(() => undefined)));
          s = views.find((v) => v?.node != null && v.node !== not && v.epoch != null && v.epoch > than);
          return s !== undefined && acksOf(s.epoch!) >= 10;
        },
        20_000,
        what,
        100,
      );
      return { node: s!.node!, epoch: s!.epoch! };
    };

    try {
      // 0. Placed, and appends acknowledged.
      const s0 = await waitSteady('ledger placed on all three, appends acknowledged', 20);
      step('start', s0);

      // 1. A silent cut of the running node from the other two (both directions, stalled links).
      phase = 'partition';
      const cut = s0.node;
      const others = NAMES.filter((n) => n !== cut);
      for (const o of others) {
        await nodes.get(cut)!.command({ cmd: 'block', peer: o, silent: true });
        await nodes.get(o)!.command({ cmd: 'block', peer: cut, silent: true });
      }
      const s1 = await waitMovedAway(cut, s0.epoch, 'a new instance on the majority side of the partition');
      step('partition', s1);
      // The cut-off node, a minority, stops its instance (quorum lost).
      await waitFor(async () => (await probe.rpc.call(cut, 'whereis', ['ledger'], 1000)) === null, 15_000, `${cut} stopping ledger without quorum`, 100);
      for (const o of others) {
        await nodes.get(cut)!.command({ cmd: 'unblock', peer: o });
        await nodes.get(o)!.command({ cmd: 'unblock', peer: cut });
      }
      phase = 'healed';
      const s2 = await waitSteady('one placement after the heal, appends acknowledged', 10);
      step('healed', s2);
      expect(s2.epoch).toBeGreaterThanOrEqual(s1.epoch);

      // 2. kill -9 of the running node, then it comes back.
      phase = 'kill';
      const killed = s2.node;
      await cluster.kill9(nodes.get(killed)!);
      const s3 = await waitMovedAway(killed, s2.epoch, 'a failover after kill -9');
      step('kill', s3);
      nodes.set(killed, await spawnNode(killed));
      phase = 'restarted';
      const s4 = await waitSteady('one placement after the restart, appends acknowledged', 10);
      step('restarted', s4);
      expect(s4.epoch).toBeGreaterThanOrEqual(s3.epoch);

      // 3. SIGSTOP of the running node (a long GC pause, a frozen VM): the others fail over;
      // SIGCONT brings back an instance that still believes it runs, with requests queued for
      // it — dist-ac stops it once it notices the gap, and what it writes before that is
      // refused by the fence.
      phase = 'freeze';
      const stopped = s4.node;
      cluster.signal(nodes.get(stopped)!, 'SIGSTOP');
      frozen.add(stopped);
      const s5 = await waitMovedAway(stopped, s4.epoch, 'a failover while the running node is frozen');
      step('freeze', s5);
      cluster.signal(nodes.get(stopped)!, 'SIGCONT');
      frozen.delete(stopped);
      phase = 'thawed';
      const s6 = await waitSteady('one placement after SIGCONT, appends acknowledged', 10);
      step('thawed', s6);
      expect(s6.epoch).toBeGreaterThanOrEqual(s5.epoch);
      expect([s0.epoch, s1.epoch, s3.epoch, s5.epoch]).toEqual([...new Set([s0.epoch, s1.epoch, s3.epoch, s5.epoch])].sort((x, y) => x - y));
    } catch (e) {
      // What each node logged, for the failure message.
      const logs = NAMES.map((n) => `--- ${n}\n${(nodes.get(n)?.stderr.join('') ?? '').split('\n').slice(-30).join('\n')}`).join('\n');
      const views = await Promise.all(
        live().map(async (n) => {
          const placed = await seenBy(n).catch((x: Error) => x.message);
          const names = await probe.rpc.call(n, 'global.names', [], 1000).catch((x: Error) => x.message);
          const local = await probe.rpc.call(n, 'whereis', ['ledger'], 1000).catch((x: Error) => x.message);
          return `${n}: placement ${JSON.stringify(placed)}, global ${JSON.stringify(names)}, local ledger ${String(local)}`;
        }),
      );
      throw new Error(
        `${(e as Error).message}\nphase ${phase}; acks by phase:epoch ${JSON.stringify(countBy(acks.map((a) => `${a.phase}:${a.epoch}`)))}; client errors ${JSON.stringify(Object.fromEntries(errors))}\n${views.join('\n')}\n${logs}`.slice(0, 20_000),
        { cause: e },
      );
    } finally {
      running = false;
      await Promise.all(loops);
    }

    // (a) No write with a stale epoch was accepted: every entry's epoch ≥ the fence it met, and
    // in commit order epochs never go down; every refusal was of an older epoch.
    const audit = await store.audit('ledger');
    expect(audit.violations).toEqual([]);
    // (b) Every acknowledged entry is there, as acknowledged.
    const rows = await store.entriesByKey('ledger');
    const lost = acks.filter((a) => {
      const r = rows.get(a.key);
      return r === undefined || r.id !== a.id || r.epoch !== a.epoch || r.node !== a.node;
    });
    expect(lost).toEqual([]);
    expect(audit.accepted).toBeGreaterThanOrEqual(acks.length);
    console.log(
      `ledger: ${acks.length} acknowledged, ${audit.accepted} rows, ${audit.refused} refused by the fence; ` +
        `epochs in commit order ${audit.epochs.join(' < ')}; claims ${audit.claims.join(', ')}; client errors ${JSON.stringify(Object.fromEntries(errors))}; ` +
        `global name taken back ${[...nodes.values()].reduce((k, c) => k + (c.stderr.join('').match(/registered again/g)?.length ?? 0), 0)} times; ` +
        `placements: ${steps.join(', ')}; acks by phase:epoch ${JSON.stringify(countBy(acks.map((a) => `${a.phase}:${a.epoch}`)))}`,
    );
  }, 120_000);
});

function countBy(xs: string[]): Record<string, number> {
  const r: Record<string, number> = {};
  for (const x of xs) r[x] = (r[x] ?? 0) + 1;
  return r;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A free port on loopback, for a node whose address the others must know before it starts. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
