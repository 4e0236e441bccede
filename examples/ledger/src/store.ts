/**
 * The ledger's PostgreSQL side: the schema, the fence, and the two writes an instance makes —
 * `claim` (once, when it starts) and `append` (per request) — each one statement, a call of a
 * PL/pgSQL function, so the database decides and the decision commits with the write.
 *
 * The fence (see README "Fencing"): one row per application in `fence(app, epoch)`, the newest
 * epoch the database has seen for it. A write carrying epoch `e` first locks that row, then runs
 *
 *     UPDATE fence SET epoch = e WHERE app = $app AND epoch <= e
 *
 * and goes on only if that updated the row: 0 rows means a newer placement has written or
 * claimed since, and the write is refused (`ERR_STALE_EPOCH`, recorded in `refused`). The row
 * stays locked until the transaction commits, so the writes of one application commit one at a
 * time, and the `entries.id` each takes (after the lock) follows commit order — which is what
 * `audit` checks: in id order, epochs never go down.
 *
 * No OTP counterpart: this is the "fencing token" pattern of the systems a singleton writes to.
 */
import pg from 'pg';
import { LedgerError } from './errors.js';

/**
 * The schema, idempotent. `entries.fence_before` is the fence the write was checked against
 * (read under the row lock); `claims` lists the epochs instances claimed at their start;
 * `refused` every write or claim the fence turned away.
 */
const SCHEMA = String.raw`
CREATE TABLE IF NOT EXISTS fence (
  app   text PRIMARY KEY,
  epoch bigint NOT NULL CHECK (epoch >= 0)
);
CREATE TABLE IF NOT EXISTS entries (
  id           bigserial PRIMARY KEY,
  app          text NOT NULL,
  epoch        bigint NOT NULL,
  fence_before bigint NOT NULL,
  node         text NOT NULL,
  key          text NOT NULL,
  payload      jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (app, key)
);
CREATE TABLE IF NOT EXISTS claims (
  id           bigserial PRIMARY KEY,
  app          text NOT NULL,
  epoch        bigint NOT NULL,
  fence_before bigint NOT NULL,
  node         text NOT NULL,
  at           timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS refused (
  id      bigserial PRIMARY KEY,
  app     text NOT NULL,
  epoch   bigint NOT NULL,
  fence   bigint NOT NULL,
  node    text NOT NULL,
  key     text,
  payload jsonb,
  at      timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Locks the application's fence row (creating it at 0) and returns its epoch.
CREATE OR REPLACE FUNCTION ledger_lock_fence(p_app text) RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
  held bigint;
BEGIN
  SELECT f.epoch INTO held FROM fence f WHERE f.app = p_app FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO fence (app, epoch) VALUES (p_app, 0) ON CONFLICT (app) DO NOTHING;
    SELECT f.epoch INTO held FROM fence f WHERE f.app = p_app FOR UPDATE;
  END IF;
  RETURN held;
END
$fn$;

-- An instance of p_app with epoch p_epoch claims the fence when it starts: from then on every
-- older epoch is refused, whether or not the new instance has written yet.
CREATE OR REPLACE FUNCTION ledger_claim(p_app text, p_epoch bigint, p_node text,
  OUT accepted boolean, OUT fence_epoch bigint) LANGUAGE plpgsql AS $fn$
BEGIN
  fence_epoch := ledger_lock_fence(p_app);
  UPDATE fence f SET epoch = p_epoch WHERE f.app = p_app AND f.epoch <= p_epoch;
  accepted := FOUND;
  IF accepted THEN
    INSERT INTO claims (app, epoch, fence_before, node) VALUES (p_app, p_epoch, fence_epoch, p_node);
  ELSE
    INSERT INTO refused (app, epoch, fence, node) VALUES (p_app, p_epoch, fence_epoch, p_node);
  END IF;
END
$fn$;

-- Appends one entry if p_epoch is not older than the fence. A key appended before (a retried
-- request) is not appended again: the earlier entry is returned with duplicate = true.
CREATE OR REPLACE FUNCTION ledger_append(p_app text, p_epoch bigint, p_node text, p_key text, p_payload jsonb,
  OUT accepted boolean, OUT fence_epoch bigint, OUT entry_id bigint, OUT entry_epoch bigint, OUT entry_node text,
  OUT duplicate boolean) LANGUAGE plpgsql AS $fn$
BEGIN
  fence_epoch := ledger_lock_fence(p_app);
  UPDATE fence f SET epoch = p_epoch WHERE f.app = p_app AND f.epoch <= p_epoch;
  accepted := FOUND;
  IF NOT accepted THEN
    INSERT INTO refused (app, epoch, fence, node, key, payload) VALUES (p_app, p_epoch, fence_epoch, p_node, p_key, p_payload);
    RETURN;
  END IF;
  INSERT INTO entries (app, epoch, fence_before, node, key, payload)
    VALUES (p_app, p_epoch, fence_epoch, p_node, p_key, p_payload)
    ON CONFLICT (app, key) DO NOTHING
    RETURNING id, epoch, node INTO entry_id, entry_epoch, entry_node;
  duplicate := NOT FOUND;
  IF duplicate THEN
    SELECT e.id, e.epoch, e.node INTO entry_id, entry_epoch, entry_node FROM entries e WHERE e.app = p_app AND e.key = p_key;
  END IF;
END
$fn$;
`;

/** An acknowledged append: the entry as committed. */
export interface Appended {
  /** `entries.id`: its place in commit order. */
  readonly id: number;
  /** The epoch it was written with. */
  readonly epoch: number;
  /** The node whose instance wrote it. */
  readonly node: string;
  /** The key had been appended before (a retried request); this is that entry. */
  readonly duplicate: boolean;
}

/** What `audit` found in the tables for one application. */
export interface Audit {
  /** Rows of `entries`. */
  readonly accepted: number;
  /** Rows of `refused` (writes and claims the fence turned away). */
  readonly refused: number;
  /** Epochs claimed by instances at start, in commit order. */
  readonly claims: readonly number[];
  /** The distinct epochs of `entries`, in commit order. */
  readonly epochs: readonly number[];
  /** The fence now. */
  readonly fence: number;
  /** Every breach of the fencing rules found (empty when none): see `audit`. */
  readonly violations: readonly string[];
}

/** Options of `LedgerStore.connect`. */
export interface StoreOptions {
  /** Milliseconds a statement may run (default 10000; a write stuck on a lock gives up). */
  readonly statementTimeout?: number;
  /** Milliseconds to wait for the connection (default 10000). */
  readonly connectTimeout?: number;
  /** Shown in `pg_stat_activity`. */
  readonly applicationName?: string;
}

const int = (v: unknown): number => {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isSafeInteger(n)) throw new LedgerError('ERR_DATABASE', `not a safe integer from PostgreSQL: ${String(v)}`);
  return n;
};

/**
 * One connection to the ledger database. An instance of the ledger server owns one; tests and
 * tools open their own to look at the tables.
 */
export class LedgerStore {
  private broken: Error | undefined;

  private constructor(private readonly client: pg.Client) {
    // An idle connection that dies emits 'error'; without a listener that would end the process.
    client.on('error', (e) => {
      this.broken = e;
    });
  }

  /** Connects to `url` (postgresql://…). No OTP counterpart. */
  static async connect(url: string, options: StoreOptions = {}): Promise<LedgerStore> {
    const client = new pg.Client({
      connectionString: url,
      statement_timeout: options.statementTimeout ?? 10_000,
      connectionTimeoutMillis: options.connectTimeout ?? 10_000,
      application_name: options.applicationName ?? 'rigil-ledger',
    });
    try {
      await client.connect();
    } catch (e) {
      await client.end().catch(() => undefined);
      throw new LedgerError('ERR_DATABASE', `cannot connect to PostgreSQL: ${(e as Error).message}`);
    }
    return new LedgerStore(client);
  }

  /** Whether the connection failed (a broken store refuses every request). No OTP counterpart. */
  get failed(): boolean {
    return this.broken !== undefined;
  }

  /** Creates the tables and functions if missing (safe to run from several nodes at once). No OTP counterpart. */
  async ensureSchema(): Promise<void> {
    await this.query('BEGIN');
    try {
      // Concurrent CREATE … IF NOT EXISTS can still collide in the catalogs: one at a time.
      await this.query("SELECT pg_advisory_xact_lock(hashtext('rigil-ledger-schema'))");
      await this.query(SCHEMA);
      await this.query('COMMIT');
    } catch (e) {
      await this.client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  /**
   * Claims the fence for a new instance of `app` with `epoch` (call it before serving): every
   * older epoch is refused from then on. Throws `ERR_STALE_EPOCH` when the fence is already
   * newer. Returns the fence it replaced. No OTP counterpart.
   */
  async claim(app: string, epoch: number, node: string): Promise<{ fenceBefore: number }> {
    const r = await this.query('SELECT accepted, fence_epoch FROM ledger_claim($1, $2, $3)', [app, epoch, node]);
    const row = r.rows[0] as { accepted: boolean; fence_epoch: unknown };
    if (!row.accepted) throw stale(app, epoch, int(row.fence_epoch));
    return { fenceBefore: int(row.fence_epoch) };
  }

  /**
   * Appends `payload` under `key` with `epoch`; resolves once the transaction committed.
   * Throws `ERR_STALE_EPOCH` (nothing written but the refusal) when the fence is newer than
   * `epoch`, `ERR_DATABASE` when PostgreSQL fails. No OTP counterpart.
   */
  async append(app: string, epoch: number, node: string, key: string, payload: unknown): Promise<Appended> {
    const r = await this.query('SELECT * FROM ledger_append($1, $2, $3, $4, $5::jsonb)', [app, epoch, node, key, JSON.stringify(payload ?? null)]);
    const row = r.rows[0] as { accepted: boolean; fence_epoch: unknown; entry_id: unknown; entry_epoch: unknown; entry_node: string; duplicate: boolean };
    if (!row.accepted) throw stale(app, epoch, int(row.fence_epoch));
    return { id: int(row.entry_id), epoch: int(row.entry_epoch), node: row.entry_node, duplicate: row.duplicate };
  }

  /**
   * Checks the fencing rules on what the tables hold for `app`: every entry's epoch is at least
   * the fence it was checked against; in commit order (id) epochs never go down; every refusal
   * was of an epoch older than the fence then; the fence is at least every entry's and claim's
   * epoch. No OTP counterpart.
   */
  async audit(app: string): Promise<Audit> {
    const violations: string[] = [];
    const entries = (await this.query('SELECT id, epoch, fence_before, node FROM entries WHERE app = $1 ORDER BY id', [app])).rows as Array<Record<string, unknown>>;
    const epochs: number[] = [];
    let last = -Infinity;
    for (const e of entries) {
      const epoch = int(e.epoch);
      const before = int(e.fence_before);
      if (epoch < before) violations.push(`entry ${String(e.id)} from ${String(e.node)}: epoch ${epoch} accepted below the fence ${before}`);
      if (epoch < last) violations.push(`entry ${String(e.id)} from ${String(e.node)}: epoch ${epoch} committed after epoch ${last}`);
      if (epoch !== last) epochs.push(epoch);
      last = Math.max(last, epoch);
    }
    const claims = ((await this.query('SELECT epoch, fence_before FROM claims WHERE app = $1 ORDER BY id', [app])).rows as Array<Record<string, unknown>>).map((c) => {
      if (int(c.epoch) < int(c.fence_before)) violations.push(`claim of epoch ${int(c.epoch)} accepted below the fence ${int(c.fence_before)}`);
      return int(c.epoch);
    });
    const refused = (await this.query('SELECT id, epoch, fence FROM refused WHERE app = $1 ORDER BY id', [app])).rows as Array<Record<string, unknown>>;
    for (const r of refused) if (int(r.epoch) >= int(r.fence)) violations.push(`refusal ${String(r.id)}: epoch ${int(r.epoch)} refused though not older than the fence ${int(r.fence)}`);
    const f = (await this.query('SELECT epoch FROM fence WHERE app = $1', [app])).rows[0] as { epoch: unknown } | undefined;
    const fence = f === undefined ? 0 : int(f.epoch);
    const highest = Math.max(0, last, ...claims);
    if (fence < highest) violations.push(`the fence ${fence} is below epoch ${highest}, which was accepted`);
    return { accepted: entries.length, refused: refused.length, claims, epochs, fence, violations };
  }

  /** The entries of `app` by key (for checking acknowledgements). No OTP counterpart. */
  async entriesByKey(app: string): Promise<Map<string, { id: number; epoch: number; node: string }>> {
    const rows = (await this.query('SELECT id, key, epoch, node FROM entries WHERE app = $1', [app])).rows as Array<Record<string, unknown>>;
    return new Map(rows.map((r) => [String(r.key), { id: int(r.id), epoch: int(r.epoch), node: String(r.node) }]));
  }

  /** Runs a query (for tools and tests). No OTP counterpart. */
  async query(text: string, values?: unknown[]): Promise<pg.QueryResult> {
    if (this.broken !== undefined) throw new LedgerError('ERR_DATABASE', `the PostgreSQL connection failed: ${this.broken.message}`);
    try {
      return await this.client.query(text, values);
    } catch (e) {
      throw new LedgerError('ERR_DATABASE', `PostgreSQL: ${(e as Error).message}`, { code: (e as { code?: unknown }).code });
    }
  }

  /** Closes the connection. No OTP counterpart. */
  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

function stale(app: string, epoch: number, fence: number): LedgerError {
  return new LedgerError('ERR_STALE_EPOCH', `${app}: epoch ${epoch} is older than the fence ${fence}; a newer instance has written or claimed`, { staleEpoch: epoch, fence });
}
