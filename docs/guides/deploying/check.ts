/**
 * Checks what docs/guides/deploying-a-cluster.md tells: with the secrets of setup.sh and the
 * compiled application (`npx tsc`), two nodes start from config/a.json and config/b.json over
 * TLS (wss) with a cookie file and static discovery; SIGTERM stops a node gracefully (its
 * application's prepStop runs, exit status 0) and the other node runs the application next.
 * Runs in a temporary directory on free ports (the configs' ports and discovery addresses are
 * replaced by the actual ones) and stops every node it started. Run: `npx tsx check.ts`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const rigilBin = join(dirname(createRequire(import.meta.url).resolve('rigil/package.json')), 'bin', 'rigil.js');
const tmp = mkdtempSync(join(tmpdir(), 'rigil-deploy-'));
type Running = { child: ChildProcess; port: number; url: string; log: string[]; exit: Promise<number | null> };
const running = new Map<string, Running>();

/** `rigil start` of config/<short>.json, on a free port, discovering the nodes running now. */
async function startNode(short: string): Promise<Running> {
  const config = JSON.parse(readFileSync(join(here, 'config', `${short}.json`), 'utf8'));
  config.node.port = 0;
  const peers = [...running].map(([name, n]) => `${name}:${n.port}`);
  if (peers.length > 0) config.node.discovery.nodes = peers;
  else delete config.node.discovery; // the first node: nobody to find yet (the others find it)
  const secret = (p: string): string => join(tmp, 'secrets', basename(p));
  config.node.cookieFile = secret(config.node.cookieFile);
  for (const k of ['cert', 'key', 'ca']) config.node.tls[k] = secret(config.node.tls[k]);
  for (const app of config.applications) app.module = resolve(here, 'config', app.module);
  mkdirSync(join(tmp, 'config'), { recursive: true });
  const file = join(tmp, 'config', `${short}.json`);
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, [rigilBin, 'start', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  createInterface({ input: child.stderr }).on('line', (l) => log.push(l));
  const exit = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  const ready = await new Promise<{ port: number; url: string }>((ok, fail) => {
    void exit.then((code) => fail(new Error(`${short} exited (${code}) before it was ready:\n${log.join('\n')}`)));
    createInterface({ input: child.stdout }).on('line', (l) => {
      if (l.includes('"event":"ready"')) ok(JSON.parse(l) as { port: number; url: string });
    });
  });
  const n = { child, ...ready, log, exit };
  running.set(config.node.name as string, n);
  return n;
}

async function logged(n: Running, text: string, ms = 60_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    if (n.log.some((l) => l.includes(text))) return true;
  }
  return false;
}

function check(ok: boolean, what: string): void {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) throw new Error(`failed: ${what}`);
}

try {
  execFileSync('sh', [join(here, 'setup.sh')], { cwd: tmp, stdio: 'inherit' });
  // #region sigterm
  const a = await startNode('a');
  check(a.url.startsWith('wss://'), `a listens over TLS: ${a.url}`);
  check(await logged(a, '[singleton] running on a@127.0.0.1'), 'the singleton runs on a, the first node of its list');
  const b = await startNode('b');
  check(b.url.startsWith('wss://'), `b found a by static discovery and started: ${b.url}`);

  a.child.kill('SIGTERM'); // what `kubectl delete pod`, `docker stop` and systemd send
  check((await a.exit) === 0, 'a stopped gracefully on SIGTERM: exit status 0');
  running.delete('a@127.0.0.1');
  check(a.log.some((l) => l.includes('[singleton] stopping on a@127.0.0.1')), "a ran the singleton's prepStop before it exited");
  check(await logged(b, '[singleton] running on b@127.0.0.1, start type {"failover":"a@127.0.0.1"}'), 'b runs the singleton now (a failover from a)');
  // #endregion sigterm
} catch (e) {
  for (const [name, n] of running) console.error(`--- log of ${name}\n${n.log.slice(-30).join('\n')}`);
  console.error(e);
  process.exitCode = 1;
} finally {
  for (const n of running.values()) n.child.kill('SIGTERM');
  await Promise.all([...running.values()].map((n) => n.exit));
  rmSync(tmp, { recursive: true, force: true });
}
