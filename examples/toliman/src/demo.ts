/**
 * The toliman demo: three nodes on loopback as separate OS processes. Step by step it shows
 * where proxima runs, kills that node with SIGKILL and times the failover, restarts it and
 * times the takeover with proxima's state handed over, then prints a summary. Exits 0 when
 * every step behaved as expected; `--keep` leaves the cluster running.
 */
import { fileURLToPath } from 'node:url';
import { Probe, startNode, stopNode, until, type NodeProcess } from './cluster.js';

const keep = process.argv.includes('--keep');
const echo = process.argv.includes('--verbose');
const COOKIE = 'toliman_cookie';
const NODES = [
  { short: 'a', name: 'a@127.0.0.1', port: 9111 },
  { short: 'b', name: 'b@127.0.0.1', port: 9112 },
  { short: 'c', name: 'c@127.0.0.1', port: 9113 },
];
const config = (short: string): string => fileURLToPath(new URL(`../config/three/${short}.json`, import.meta.url));

const results: Array<{ step: string; ok: boolean; detail: string }> = [];
function step(name: string, ok: boolean, detail: string): void {
  results.push({ step: name, ok, detail });
  console.log(`${ok ? '✔' : '✘'} ${name}: ${detail}`);
}

async function main(): Promise<number> {
  console.log('toliman on rigil: proxima runs once in the cluster, centauri on every node');
  console.log(`starting ${NODES.map((n) => n.name).join(', ')} as separate OS processes (rigil start examples/toliman/config/three/*.json)\n`);
  const procs = new Map<string, NodeProcess>();
  const t0 = Date.now();
  for (const p of await Promise.all(NODES.map((n) => startNode(n.name, config(n.short), { detached: keep, echo })))) procs.set(p.name, p);
  const probe = await Probe.start(COOKIE, NODES.map((n) => `${n.name}:${n.port}`));
  try {
    step('cluster up', true, `3 nodes ready in ${Date.now() - t0} ms`);

    // 1. Where proxima runs, and every centauri has said hello to it.
    const first = await until(async () => {
      const p = await probe.placement('b@127.0.0.1');
      const pid = await probe.globalProxima('c@127.0.0.1');
      if (p?.node == null || pid === undefined) return undefined;
      const st = await probe.proximaState(p.node);
      return st !== undefined && Object.keys(st.starts).length === 3 ? { p, pid, st } : undefined;
    }, 15_000, 50);
    if (first === undefined) {
      step('proxima placed', false, 'proxima did not start with all three centauri connected within 15 s');
      return finish(procs, probe);
    }
    step('proxima placed', first.p.node === 'a@127.0.0.1', `runs on ${first.p.node} (start type ${JSON.stringify(first.p.startType)}), global proxima -> ${String(first.pid)}; centauri hellos from ${Object.keys(first.st.starts).sort().join(', ')}`);
    const runner = first.p.node!;

    // 2. kill -9 of the node running proxima: failover after the configured 1000 ms.
    console.log(`\nkill -9 ${runner} …`);
    const tKill = Date.now();
    await stopNode(procs.get(runner)!, 'SIGKILL');
    const survivor = NODES.find((n) => n.name !== runner)!.name;
    const moved = await until(async () => {
      const pid = await probe.globalProxima(survivor);
      return pid !== undefined && pid.node !== runner ? pid : undefined;
    }, 10_000, 2);
    const failoverMs = Date.now() - tKill;
    // The name moves during the new instance's `go` phase; dist-ac records the placement when
    // the start has returned, a moment later.
    const after = moved !== undefined ? await until(async () => {
      const p = await probe.placement(survivor);
      return p?.node === moved.node ? p : undefined;
    }, 5000, 5) : undefined;
    step(
      'failover',
      moved !== undefined && after?.cause === 'failover',
      moved === undefined ? 'proxima did not move within 10 s' : `proxima moved to ${moved.node} in ${failoverMs} ms (of which 1000 ms is the configured failover timeout), start type ${JSON.stringify(after?.startType)}`,
    );
    if (moved === undefined) return finish(procs, probe);
    const rehello = await until(async () => {
      const st = await probe.proximaState(moved.node);
      const others = NODES.map((n) => n.name).filter((n) => n !== runner);
      return st !== undefined && others.every((n) => typeof st.starts[n] === 'object') ? st : undefined;
    }, 10_000, 20);
    step('centauri followed', rehello !== undefined, rehello ? `the surviving centauri said hello to the new proxima: ${Object.keys(rehello.starts).sort().join(', ')}` : 'centauri did not reconnect');

    // 3. Restart the killed node: it takes proxima over and fetches its state.
    console.log(`\nrestarting ${runner} …`);
    const tRestart = Date.now();
    const restarted = await startNode(runner, config(runner[0]!), { detached: keep, echo });
    procs.set(runner, restarted);
    const tUp = Date.now();
    const back = await until(async () => {
      const pid = await probe.globalProxima(survivor);
      return pid !== undefined && pid.node === runner ? pid : undefined;
    }, 15_000, 2);
    const tBack = Date.now();
    const taken = back !== undefined ? await until(async () => {
      const p = await probe.placement(runner);
      return p?.node === runner ? p : undefined;
    }, 5000, 5) : undefined;
    step(
      'takeover',
      back !== undefined && taken?.cause === 'takeover',
      back === undefined
        ? `proxima did not move back to ${runner}`
        : `${runner} restarted and took proxima over in ${tBack - tRestart} ms — boot, sync with the others and the takeover (the node reports ready after its applications started, ${tUp - tRestart} ms); start type ${JSON.stringify(taken?.startType)}`,
    );
    const oldGone = await until(async () => ((await probe.localProxima(moved.node)) === undefined ? true : undefined), 10_000, 20);
    step('old instance stopped', oldGone === true, oldGone ? `no proxima left on ${moved.node}` : `proxima still runs on ${moved.node}`);
    const handed = await probe.proximaState(runner);
    step(
      'state handed over',
      handed !== undefined && handed.served.includes(moved.node),
      handed ? `proxima on ${runner} holds the state served by ${handed.served.join(' → ')}; centauri known: ${Object.keys(handed.starts).sort().join(', ')}` : 'no state',
    );
    const agree = await Promise.all(NODES.map((n) => probe.globalProxima(n.name)));
    step('every node agrees', agree.every((p) => p !== undefined && p.node === runner), `global proxima on a, b, c -> ${agree.map(String).join(', ')}`);
    return finish(procs, probe);
  } catch (e) {
    step('demo', false, (e as Error).stack ?? String(e));
    return finish(procs, probe);
  }
}

async function finish(procs: Map<string, NodeProcess>, probe: Probe): Promise<number> {
  await probe.stop();
  const ok = results.every((r) => r.ok);
  console.log(`\nsummary: ${results.filter((r) => r.ok).length}/${results.length} steps as expected`);
  for (const r of results) console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.step}`);
  if (keep) {
    for (const p of procs.values()) p.child.unref();
    console.log(`\nthe cluster keeps running (--keep). Inspect it with:\n  node packages/cli/bin/rigil.js status a@127.0.0.1:9111 --cookie ${COOKIE}\nstop it with: kill ${[...procs.values()].map((p) => p.child.pid).join(' ')}`);
  } else {
    await Promise.all([...procs.values()].map((p) => stopNode(p, 'SIGTERM')));
    console.log('all nodes stopped');
  }
  return ok ? 0 : 1;
}

process.exitCode = await main();
if (keep) process.exit(process.exitCode);
