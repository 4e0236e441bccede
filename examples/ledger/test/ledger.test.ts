/**
 * The ledger example against a real PostgreSQL (started by scripts/pg.sh, installed from
 * Debian's packages when missing): the fence on its own, then three nodes as OS processes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerError } from '../src/errors.js';
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
  let others: LedgerStore[] = [];

  beforeAll(async () => {
    store = await LedgerStore.connect(await server.createDatabase('fence_unit'));
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
    others = await Promise.all([1, 2, 3, 4].map(() => LedgerStore.connect(server.url.replace(/\/ledger$/, '/fence_unit'))));
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
