/**
 * A throwaway PostgreSQL server for the ledger tests, set up by `scripts/pg.sh` (which installs
 * PostgreSQL from Debian's packages when it is missing) in a directory of its own, and removed
 * by `stop()` — or, should the test process end without it, by an exit hook.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const SCRIPT = fileURLToPath(new URL('../scripts/pg.sh', import.meta.url));

/** A running server. */
export interface PgServer {
  /** postgresql://… of its `ledger` database. */
  readonly url: string;
  /** Its cluster directory. */
  readonly dir: string;
  /** A new empty database on it; resolves with its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

function run(dir: string, cmd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [SCRIPT, cmd], { env: { ...process.env, LEDGER_PG_DIR: dir }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`pg.sh ${cmd} failed: ${err.message}\n${stderr.slice(-4000)}`));
      else resolve(stdout);
    });
  });
}

/** Starts a server with `pg.sh start` (installing PostgreSQL first if needed: allow minutes). */
export async function startPg(timeoutMs = 600_000): Promise<PgServer> {
  // Directly under the system temp dir (world-traversable): the server runs as `postgres`.
  const dir = join(tmpdir(), `rigil-ledger-pg-${process.pid}-${randomBytes(4).toString('hex')}`);
  const onExit = (): void => {
    try {
      execFileSync('bash', [SCRIPT, 'destroy'], { env: { ...process.env, LEDGER_PG_DIR: dir }, stdio: 'ignore', timeout: 30_000 });
    } catch {
      // nothing more to do at exit
    }
  };
  process.on('exit', onExit);
  let out: string;
  try {
    out = await run(dir, 'start', timeoutMs);
  } catch (e) {
    onExit();
    process.off('exit', onExit);
    throw e;
  }
  const url = out.trim().split('\n').pop() ?? '';
  if (!url.startsWith('postgresql://')) throw new Error(`pg.sh start printed no URL: ${out}`);
  return {
    url,
    dir,
    async createDatabase(name: string): Promise<string> {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)}`);
        await c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      } finally {
        await c.end();
      }
      const u = new URL(url);
      u.pathname = `/${name}`;
      return u.toString();
    },
    async stop(): Promise<void> {
      await run(dir, 'destroy', 120_000);
      process.off('exit', onExit);
    },
  };
}
