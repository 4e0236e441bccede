/**
 * The ledger demo: a throwaway PostgreSQL (scripts/pg.sh), three nodes as OS processes
 * (`rigil start config/{a,b,c}.json`), a client appending through every node, a `kill -9` of the
 * node running the ledger, and what the database says at the end: every acknowledged entry is
 * there, epochs only went up, what the fence refused. Exits 0 when all of that holds.
 *
 *   npx tsx examples/ledger/src/demo.ts      (uses ports 9301–9303)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DistNode } from '@rigil/net';
import type { AppendResult } from './client.js';
import { LedgerStore } from './store.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const PG_SH = join(HERE, '..', 'scripts', 'pg.sh');
const RIGIL = join(dirname(createRequire(import.meta.url).resolve('rigil/package.json')), 'bin', 'rigil.js');
const COOKIE = 'ledger_cookie_for_the_example';
const NODES = [
  { short: 'a', name: 'a@127.0.0.1', port: 9301 },
  { short: 'b', name: 'b@127.0.0.1', port: 9302 },
  { short: 'c', name: 'c@127.0.0.1', port: 9303 },
];
const pgEnv = { ...process.env, LEDGER_PG_DIR: join(tmpdir(), `rigil-ledger-demo-${process.pid}-${randomBytes(3).toString('hex')}`) };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function startNode(short: string, url: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [RIGIL, 'start', join(HERE, '..', 'config', `${short}.json`)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LEDGER_PG_URL: url } });
  const log: string[] = [];
  createInterface({ input: child.stderr }).on('line', (l) => log.push(l));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${short} exited (${code}):\n${log.slice(-20).join('\n')}`)));
    createInterface({ input: child.stdout }).on('line', (l) => {
      if (l.includes('"event":"ready"')) resolve(child);
    });
  });
}

async function main(): Promise<number> {
  console.log('ledger: a singleton appending to PostgreSQL, every write fenced by its placement epoch\n');
  const url = execFileSync('bash', [PG_SH, 'start'], { env: pgEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
  const procs = new Map<string, ChildProcess>();
  let client: DistNode | undefined;
  let store: LedgerStore | undefined;
  try {
    const started = await Promise.all(NODES.map((n) => startNode(n.short, url)));
    NODES.forEach((n, i) => procs.set(n.name, started[i]!));
    console.log(`✔ three nodes up: ${NODES.map((n) => n.name).join(', ')}`);
    client = await DistNode.start({ name: `ledgerdemo${process.pid}@127.0.0.1`, cookie: COOKIE, hidden: true, listen: false, seeds: NODES.map((n) => `${n.name}:${n.port}`) });
    const rpc = client.rpc;
    const acks = new Map<string, { id: number; epoch: number; node: string }>();
    let seq = 0;
    const appendVia = async (via: string): Promise<{ epoch: number; node: string } | undefined> => {
      const key = `demo-${seq++}`;
      try {
        const r = (await rpc.call(via, 'ledger.append', [key, { n: seq }], 2000)) as AppendResult;
        if ('ok' in r) {
          acks.set(key, r.ok);
          return r.ok;
        }
      } catch {
        // not acknowledged
      }
      return undefined;
    };
    let first: { epoch: number; node: string } | undefined;
    for (let i = 0; i < 300 && acks.size < 30; i++) {
      const r = await appendVia(NODES[i % 3]!.name);
      if (r === undefined) await sleep(100);
      else first = r;
    }
    if (first === undefined) throw new Error('no append was acknowledged');
    console.log(`✔ ${acks.size} appends acknowledged; ledger runs on ${first.node} with epoch ${first.epoch}`);

    console.log(`\nkill -9 ${first.node} …`);
    const t0 = Date.now();
    procs.get(first.node)!.kill('SIGKILL');
    const survivors = NODES.filter((n) => n.name !== first.node);
    let after: { epoch: number; node: string } | undefined;
    for (let i = 0; Date.now() - t0 < 20_000; i++) {
      const r = await appendVia(survivors[i % 2]!.name);
      if (r !== undefined && r.epoch > first.epoch) {
        after = r;
        break;
      }
      if (r === undefined) await sleep(20);
    }
    if (after === undefined) throw new Error('no failover within 20 s');
    console.log(`✔ failover: appends acknowledged again after ${Date.now() - t0} ms, by ${after.node} with epoch ${after.epoch}`);
    for (let i = 0; i < 20; i++) await appendVia(survivors[i % 2]!.name);

    store = await LedgerStore.connect(url);
    const audit = await store.audit('ledger');
    const rows = await store.entriesByKey('ledger');
    const lost = [...acks].filter(([k, a]) => rows.get(k)?.id !== a.id);
    console.log(`\nin PostgreSQL: ${audit.accepted} entries, epochs in commit order ${audit.epochs.join(' < ')}, claims ${audit.claims.join(', ')}, ${audit.refused} refused by the fence`);
    console.log(`${lost.length === 0 ? '✔' : '✘'} every one of the ${acks.size} acknowledged entries is there${lost.length === 0 ? '' : ` — ${lost.length} missing`}`);
    console.log(`${audit.violations.length === 0 ? '✔' : '✘'} no write with a stale epoch was accepted${audit.violations.length === 0 ? '' : `: ${audit.violations.join('; ')}`}`);
    return lost.length === 0 && audit.violations.length === 0 ? 0 : 1;
  } finally {
    await store?.close();
    await client?.stop();
    await Promise.all(
      [...procs.values()].map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once('exit', () => resolve());
            p.kill('SIGTERM');
          }),
      ),
    );
    execFileSync('bash', [PG_SH, 'destroy'], { env: pgEnv, stdio: ['ignore', 'ignore', 'inherit'] });
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`✘ ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
