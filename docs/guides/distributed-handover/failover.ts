/**
 * Watch proxima fail over and be taken over, with its state handed over. Starts the three
 * nodes of config/ as OS processes (`rigil start`; each on a free port: the configs' ports and
 * seeds are replaced by the actual ones), kills the node running proxima with SIGKILL, checks
 * that another node runs it, restarts the killed node and checks that it took proxima back with
 * the state of the instance it replaced. Stops every node it started. Exits 0 when all held.
 * Guide: docs/guides/distributed-handover.md. Run: `npx tsx failover.ts`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { genServer } from '@rigil/core';
import { DistNode } from '@rigil/net';
import type { PlacementInfo } from '@rigil/dist-ac';
import type { ProximaState } from './src/proxima.js';

const here = dirname(fileURLToPath(import.meta.url));
const rigilBin = join(dirname(createRequire(import.meta.url).resolve('rigil/package.json')), 'bin', 'rigil.js');
const tmp = mkdtempSync(join(tmpdir(), 'toliman-'));
const running = new Map<string, { child: ChildProcess; port: number; log: string[] }>();
let cookie = '';

/** `rigil start config/<short>.json` on a free port, seeded with the nodes running now. */
async function startNode(short: string): Promise<string> {
  const config = JSON.parse(readFileSync(join(here, 'config', `${short}.json`), 'utf8'));
  cookie = config.node.cookie;
  config.node.port = 0;
  config.node.seeds = [...running].map(([name, n]) => `${name}:${n.port}`);
  for (const app of config.applications) app.module = resolve(here, 'config', app.module);
  const file = join(tmp, `${short}.json`);
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, [rigilBin, 'start', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  createInterface({ input: child.stderr }).on('line', (l) => log.push(l));
  const port = await new Promise<number>((ok, fail) => {
    child.once('exit', (code) => fail(new Error(`${short} exited (${code}) before it was ready:\n${log.join('\n')}`)));
    createInterface({ input: child.stdout }).on('line', (l) => {
      if (l.includes('"event":"ready"')) ok((JSON.parse(l) as { port: number }).port);
    });
  });
  running.set(config.node.name, { child, port, log });
  return config.node.name as string;
}

function stopNode(name: string, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const n = running.get(name)!;
  running.delete(name);
  if (n.child.exitCode !== null || n.child.signalCode !== null) return Promise.resolve();
  return new Promise((ok) => {
    n.child.once('exit', () => ok());
    n.child.kill(signal);
  });
}

/** Asks the cluster from a hidden node (one that never joins it): placement and proxima's state. */
async function ask<T>(f: (probe: DistNode) => Promise<T | undefined>, what: string, ms = 60_000): Promise<T> {
  const probe = await DistNode.start({ name: `probe${process.pid}@127.0.0.1`, cookie, hidden: true, listen: false, seeds: [...running].map(([name, n]) => `${name}:${n.port}`) });
  try {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
      const v = await f(probe).catch(() => undefined);
      if (v !== undefined) return v;
    }
    throw new Error(`timed out waiting for ${what}`);
  } finally {
    await probe.stop();
  }
}
const placement = async (probe: DistNode, node: string): Promise<PlacementInfo | undefined> =>
  ((await probe.rpc.call(node, 'distAc.info', [], 2000)) as PlacementInfo[]).find((p) => p.application === 'proxima');
const stateOn = (probe: DistNode, node: string): Promise<ProximaState> => genServer.call(probe, ['proxima', node], 'getState', 2000);

function check(ok: boolean, what: string): void {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) throw new Error(`failed: ${what}`);
}

try {
  // #region scenario
  for (const short of ['a', 'b', 'c']) await startNode(short);
  const [a, b, c] = [...running.keys()] as [string, string, string];

  // 1. proxima runs on a, the first node of its list, and every centauri said hello.
  const first = await ask(async (p) => {
    const s = await stateOn(p, a);
    return Object.keys(s.hellos).length === 3 ? s : undefined;
  }, 'proxima on a with three hellos');
  check(first.served.join() === a, `proxima runs on ${a}; hellos ${JSON.stringify(first.hellos)}`);

  // 2. kill -9 a: after the 1000 ms failover timeout, b (next in the list) runs proxima.
  await stopNode(a, 'SIGKILL');
  const failedOver = await ask(async (p) => {
    const where = await placement(p, c);
    return where?.node === b && where.cause === 'failover' ? { where, state: await stateOn(p, b) } : undefined;
  }, 'failover to b');
  check(JSON.stringify(failedOver.where.startType) === JSON.stringify({ failover: a }), `failover: proxima runs on ${b}, start type ${JSON.stringify(failedOver.where.startType)}`);
  // a's state died with a: the new instance starts empty, and the survivors greet it.
  await ask(async (p) => ((await stateOn(p, b)).hellos[c] === 1 ? true : undefined), 'c greets the new proxima');
  check(failedOver.state.served.join() === b, `the new instance started from its initial state (served by ${failedOver.state.served.join(' -> ')})`);

  // 3. Restart a: it takes proxima over, fetching b's state while b's instance still runs.
  await startNode('a');
  const back = await ask(async (p) => {
    const where = await placement(p, b);
    return where?.node === a && where.cause === 'takeover' ? await stateOn(p, a) : undefined;
  }, 'takeover by a');
  check(back.served.join(' -> ') === `${b} -> ${a}`, `takeover: a holds the state b's instance held (served by ${back.served.join(' -> ')})`);
  check((back.hellos[c] ?? 0) >= 1, `the hellos b's instance counted came along: ${JSON.stringify(back.hellos)}`);
  const gone = await ask(async (p) => ((await p.rpc.call(b, 'whereis', ['proxima'], 2000)) === null ? true : undefined), 'the old instance to stop');
  check(gone, `no proxima left on ${b}: exactly one instance runs`);
  // #endregion scenario
} catch (e) {
  for (const [name, n] of running) console.error(`--- log of ${name}\n${n.log.slice(-30).join('\n')}`);
  console.error(e);
  process.exitCode = 1;
} finally {
  await Promise.all([...running.keys()].map((name) => stopNode(name, 'SIGTERM')));
  rmSync(tmp, { recursive: true, force: true });
}
