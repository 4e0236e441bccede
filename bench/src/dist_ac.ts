/**
 * dist-ac benchmark: failover and takeover of a distributed application in a 3-node cluster of
 * OS processes on loopback (nodes a > b > c, each `rigil start <config.json>`), against the
 * Erlang/OTP figures of ../shared/spec/anchors.md. The application is bench/src/dist_ac_app.ts
 * (a supervisor and one gen_server, start phases `init`, `go`; `go` re-registers the server
 * globally as `bench_app`, after fetching the old instance's state on a takeover).
 *
 * This process starts the nodes, watches them from a hidden probe node (toliman's `Probe`)
 * and reads the times the nodes record themselves (procedures of dist_ac_app.ts), converted to
 * this process's clock with offsets measured over rpc. Figures, each a median of `--rounds`
 * rounds (a fresh cluster per round and configuration):
 * - `failover_kill`: ms from kill -9 of the running node (a) to `global.whereis('bench_app')`
 *   on the third node (c) resolving to the new instance on b, `timeout: 0`. The moment is when
 *   c's replica of the global names changed (dist_ac_app.ts `hookNames`: exact, and c stays
 *   idle); `--poll-failover` uses a watcher on c polling `global.whereis` every event-loop turn
 *   instead (it keeps a core busy, which on a 2-vCPU machine slows the other nodes down);
 * - `failover_kill_majority`: `failover_kill` with `quorum: 'majority'` (issue 15; target ≤ 2 ×
 *   the `failover_kill` target): the killed node's socket closes without a goodbye, so b
 *   fails over at once, after a promise round for the new epoch;
 * - `failover_overhead`: the same with `timeout: 1000`, minus 1000;
 * - `takeover`: ms from the `application.start` rpc on a (restarted after the kill, the
 *   application not auto-started in its config) to the old instance on b stopped (its
 *   `mod.stop` ran);
 * - `name_gap`: during a second takeover (a killed and restarted again), the longest time c's
 *   `global.whereis('bench_app')` answered undefined — a watcher on c polls it on every
 *   event-loop turn from before the `application.start` call until 50 ms after the old
 *   instance stopped (the breakdowns also give the gap seen in c's replica changes);
 * - `state_transfer`: the takeover time when the state is a 10 MB Buffer fetched in `go`;
 * - `frozen_node`: with tickTime 4000, SIGSTOP of the running node (a) → ms until b and c have
 *   both seen nodedown (then SIGCONT and kill -9).
 *
 * Prints a table and writes bench/results/dist_ac.json (same shape as core.json; `baseline` is
 * the Erlang figure, NaN → null where anchors.md has none), with per-round breakdowns.
 *
 * Run: `pnpm bench:dist-ac`. Options: `--rounds N` (default 3), `--only kill,majority,overhead,state`
 * (`kill` also measures takeover, name_gap and frozen_node; a partial run writes no JSON unless
 * `--out FILE`), `--verbose` (echo the nodes' logs; with `DEBUG=rigil:dist_ac,rigil:dist` in
 * the environment they log their protocol), `--trace` (the nodes log calls of dist_ac's and
 * global's methods, printed after each failover and takeover, ms after the kill or the call;
 * the failover's breakdown then also has the decision's phases on b: lock set, decided),
 * `--poll-failover` (see above), `--nodes build|source` (below).
 *
 * The nodes run what users run in production: the compiled packages (`pnpm build`, which this
 * benchmark runs first; incremental) and the application compiled to JavaScript
 * (bench/.tmp/dist_ac_app.mjs, by TypeScript's `transpileModule`). `--nodes source` runs them
 * from the TypeScript sources through tsx instead, as the tests do. The difference shows in
 * `failover_kill`: a killed process's socket closes only once the kernel has torn the process
 * down, which takes longer the more memory it maps (tsx and its compiled modules add ~30 MB),
 * and `b: nodedown a` in the breakdown is that teardown. `kill_floor` measures it for a bare
 * Node.js process holding one TCP connection, in the same run.
 * Every node process is killed when this process exits, on errors too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '@rigil/testing';
import { Probe, until } from '@rigil/example-toliman/src/cluster.js';
import { APP, wallNow, type LogEvent, type WatchResult } from './dist_ac_app.js';
import { commandArgs, formatNumber, median, summarize, writeResults, type Results, type Target } from './report.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RIGIL = join(REPO_ROOT, 'packages', 'cli', 'bin', 'rigil.js');
const APP_SOURCE = fileURLToPath(new URL('./dist_ac_app.ts', import.meta.url));
/** The application module the nodes load: the TypeScript source, or its compiled copy (`--nodes build`). */
let appModule = APP_SOURCE;
/** The nodes' environment: NODE_OPTIONS without `--conditions=source` for `--nodes build`. */
let nodeEnv: NodeJS.ProcessEnv = process.env;
const COOKIE = 'bench-dist-ac-cookie';
const SHORTS = ['a', 'b', 'c'] as const;
type Short = (typeof SHORTS)[number];
const NAME: Record<Short, string> = { a: 'a@127.0.0.1', b: 'b@127.0.0.1', c: 'c@127.0.0.1' };
const TICK_TIME = 4000;
const STATE_BYTES = 10 * 1024 * 1024;

// ---------------------------------------------------------------- node processes

/** Every node process started, killed on exit whatever happens. */
const children = new Set<ChildProcess>();
function killAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
    }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    process.stderr.write(`bench:dist-ac: ${sig}, stopping\n`);
    process.exit(130);
  });
}

let verbose = false;
/** `--trace`: the nodes log dist_ac/global method calls (dist_ac_app.ts), printed after each scenario. */
let trace = false;

interface NodeProc {
  readonly short: Short;
  readonly child: ChildProcess;
  readonly log: string[];
  readonly exited: Promise<void>;
}

/** `rigil start <config>`; resolves once the node printed its ready line (20 s at most). */
function startNode(short: Short, config: string): Promise<NodeProc> {
  const child = spawn(process.execPath, [RIGIL, 'start', config], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...nodeEnv } });
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => children.delete(child));
  const log: string[] = [];
  createInterface({ input: child.stderr }).on('line', (l) => {
    log.push(l);
    if (log.length > 2000) log.splice(0, 1000);
    if (verbose) process.stderr.write(`    ${l}\n`);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${short} not ready within 20 s:\n${log.slice(-20).join('\n')}`)), 20_000);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${short} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${log.slice(-20).join('\n')}`));
    });
    createInterface({ input: child.stdout }).on('line', (l) => {
      if (l.includes('"event":"ready"')) {
        clearTimeout(timer);
        resolve({ short, child, log, exited });
      }
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------- a cluster

interface ClusterOptions {
  /** dist_ac failover timeout (ms). */
  readonly timeout: number;
  /** The state's size in bytes. */
  readonly stateBytes: number;
  /** The entry's quorum (default none). */
  readonly quorum?: 'majority';
}

/**
 * Three node configs (a > b > c, tickTime 4000) in a temp directory. b and c start the
 * application at boot (it runs on b); a does not: it is started with `application.start` over rpc.
 */
class Cluster {
  readonly procs = new Map<Short, NodeProc>();
  /** Remote clock minus local clock, by node. */
  private readonly offsets = new Map<Short, number>();

  private constructor(
    readonly dir: string,
    readonly ports: Record<Short, number>,
    readonly probe: Probe,
  ) {}

  static async create(o: ClusterOptions): Promise<Cluster> {
    const dir = mkdtempSync(join(tmpdir(), 'rigil-bench-dist-ac-'));
    const ports = { a: await freePort(), b: await freePort(), c: await freePort() };
    for (const s of SHORTS) {
      const others = SHORTS.filter((x) => x !== s);
      const config = {
        node: { name: NAME[s], port: ports[s], host: '127.0.0.1', cookie: COOKIE, seeds: others.map((x) => `${NAME[x]}:${ports[x]}`), tickTime: TICK_TIME },
        kernel: {
          distributed: [{ application: APP, timeout: o.timeout, nodes: SHORTS.map((x) => NAME[x]), ...(o.quorum !== undefined ? { quorum: o.quorum } : {}) }],
          // b and c boot together and wait for each other; a boots into a running cluster.
          syncNodesOptional: s === 'a' ? [NAME.b, NAME.c] : [NAME.b, NAME.c].filter((n) => n !== NAME[s]),
          syncNodesTimeout: 10_000,
        },
        applications: [{ module: appModule, export: 'benchApp', start: s !== 'a' }],
        env: { [APP]: { stateBytes: o.stateBytes } },
      };
      writeFileSync(join(dir, `${s}.json`), JSON.stringify(config, null, 2));
    }
    const probe = await Probe.start(COOKIE, SHORTS.map((x) => `${NAME[x]}:${ports[x]}`));
    return new Cluster(dir, ports, probe);
  }

  async boot(...shorts: Short[]): Promise<void> {
    const ps = await Promise.all(shorts.map((s) => startNode(s, join(this.dir, `${s}.json`))));
    for (const p of ps) this.procs.set(p.short, p);
    for (const s of shorts) await this.measureOffset(s);
  }

  signal(s: Short, sig: NodeJS.Signals): void {
    this.procs.get(s)?.child.kill(sig);
  }

  async killNode(s: Short): Promise<void> {
    const p = this.procs.get(s);
    if (p === undefined) return;
    p.child.kill('SIGKILL');
    await p.exited;
    this.procs.delete(s);
    this.offsets.delete(s);
  }

  /** Calls a procedure on a node (timeout `ms`). */
  rpc<T = unknown>(s: Short, procedure: string, args: unknown[] = [], ms = 10_000): Promise<T> {
    return this.probe.node.rpc.call(NAME[s], procedure, args, ms) as Promise<T>;
  }

  /** A node's time converted to this process's clock. */
  local(s: Short, t: number): number {
    return t - (this.offsets.get(s) ?? 0);
  }

  /** Offset of a node's clock: the round trip with the smallest RTT of 7. */
  private async measureOffset(s: Short): Promise<void> {
    let best = { rtt: Infinity, offset: 0 };
    for (let i = 0; i < 7; i++) {
      const t0 = wallNow();
      const remote = await this.rpc<number>(s, 'bench.now');
      const t1 = wallNow();
      if (t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset: remote - (t0 + t1) / 2 };
    }
    this.offsets.set(s, best.offset);
  }

  /** A node's log since `since` (this process's clock), times converted to this process's clock. */
  async log(s: Short, since: number): Promise<LogEvent[]> {
    const events = await this.rpc<LogEvent[]>(s, 'bench.log', [since + (this.offsets.get(s) ?? 0) - 1]);
    return events.map((e) => ({ ...e, t: this.local(s, e.t) }));
  }

  /** Where `global.whereis('bench_app')` points on `s` (the pid's node). */
  async globalNode(s: Short): Promise<string | undefined> {
    const names = await this.rpc<Array<[string, { node: string } | undefined]>>(s, 'global.names');
    return names.find(([n]) => n === APP)?.[1]?.node;
  }

  /** Waits until every running node resolves the global name to `s`'s instance. */
  async settled(s: Short): Promise<void> {
    const ok = await until(async () => {
      for (const n of this.procs.keys()) if ((await this.globalNode(n)) !== NAME[s]) return undefined;
      return true;
    }, 15_000, 10);
    if (ok === undefined) throw new Error(`bench_app did not settle on ${s}:\n${this.tail()}`);
  }

  tail(): string {
    return [...this.procs.values()].map((p) => p.log.slice(-15).join('\n')).join('\n');
  }

  async stop(): Promise<void> {
    await this.probe.stop().catch(() => undefined);
    for (const s of [...this.procs.keys()]) {
      this.signal(s, 'SIGCONT');
      await this.killNode(s);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs `fn` with a fresh cluster, always stopped afterwards. */
async function withCluster<T>(o: ClusterOptions, fn: (cl: Cluster) => Promise<T>): Promise<T> {
  const cl = await Cluster.create(o);
  try {
    return await fn(cl);
  } finally {
    await cl.stop();
  }
}

// ---------------------------------------------------------------- measurements

/** Times (ms after the measured event) of the first event matching on each node, for the breakdown. */
type Breakdown = Record<string, number>;

function firstAfter(events: LogEvent[], t0: number, pred: (e: LogEvent) => boolean): number | undefined {
  const e = events.find((x) => x.t >= t0 - 0.5 && pred(x));
  return e === undefined ? undefined : round2(e.t - t0);
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function put(b: Breakdown, key: string, v: number | undefined): void {
  if (v !== undefined) b[key] = v;
}

/** b and c up (bench_app runs on b), then a up, and a takes the application over. */
async function bootToA(cl: Cluster): Promise<void> {
  await cl.boot('b', 'c');
  await cl.settled('b');
  await cl.boot('a');
  const r = await cl.rpc('a', 'application.start', [APP]);
  if (r !== 'ok') throw new Error(`application.start on a: ${JSON.stringify(r)}`);
  await cl.settled('a');
}

/** The `name` events (changes of bench_app in the node's replica) of a log. */
function nameEvents(events: LogEvent[]): Array<[number, string | null]> {
  return events.filter((e) => e.ev === 'name').map((e) => [e.t, (e.node as string | null) ?? null]);
}

/** The longest time the name was absent from a replica, from its change events (0 if never). */
function longestAbsence(changes: Array<[number, string | null]>, end: number): number {
  let longest = 0;
  let since: number | undefined;
  for (const [t, n] of changes) {
    if (n === null) since ??= t;
    else if (since !== undefined) {
      longest = Math.max(longest, t - since);
      since = undefined;
    }
  }
  return since !== undefined ? Math.max(longest, end - since) : longest;
}

/**
 * kill -9 of a (running bench_app) → c resolves the name to the new instance on b. The time is
 * the change of c's replica (dist_ac_app.ts `hookNames`: exact, and c stays idle); with
 * `poll`, a watcher on c polls `global.whereis` every event-loop turn instead.
 */
async function failoverKill(cl: Cluster, timeout: number, poll: boolean): Promise<{ ms: number; breakdown: Breakdown }> {
  const id = poll ? await cl.rpc<number>('c', 'bench.watch', [{ name: APP, untilNotNode: NAME.a, maxMs: timeout + 10_000 }]) : 0;
  await sleep(20);
  const t0 = wallNow();
  cl.signal('a', 'SIGKILL');
  let tNew: number;
  let maxTurn: number | undefined;
  if (poll) {
    const w = await cl.rpc<WatchResult>('c', 'bench.watchResult', [id], timeout + 15_000);
    if (w.end !== 'until') throw new Error(`failover: bench_app did not move (${w.end}): ${JSON.stringify(w.changes)}\n${cl.tail()}`);
    tNew = cl.local('c', w.changes[w.changes.length - 1]![0]);
    maxTurn = w.maxTurnMs;
  } else {
    const moved = await until(async () => nameEvents(await cl.log('c', t0)).find(([, n]) => n !== null && n !== NAME.a), timeout + 10_000, 5);
    if (moved === undefined) throw new Error(`failover: bench_app did not move within ${timeout + 10_000} ms\n${cl.tail()}`);
    tNew = moved[0];
  }
  await cl.killNode('a');
  await sleep(20); // let b finish logging the start
  const [lb, lc] = await Promise.all([cl.log('b', t0), cl.log('c', t0)]);
  const b: Breakdown = {};
  put(b, 'b: nodedown a', firstAfter(lb, t0, (e) => e.ev === 'nodedown' && e.node === NAME.a));
  put(b, 'c: nodedown a', firstAfter(lc, t0, (e) => e.ev === 'nodedown' && e.node === NAME.a));
  put(b, 'c: name unregistered', firstAfter(lc, t0, (e) => e.ev === 'name' && e.node === null));
  // With --trace, the decision's phases on b: the lock set, and the decision made under it.
  const ended = (fn: string, after: number): number | undefined => {
    const e = lb.find((x) => x.t >= t0 + after - 0.5 && x.ev === 'trace' && x.fn === fn);
    return e === undefined ? undefined : round2(e.t + (e.dt as number) - t0);
  };
  const lockSet = ended('global.setLock', 0);
  put(b, 'b: lock set', lockSet);
  if (lockSet !== undefined) put(b, 'b: decided (views under the lock)', ended('dist_ac.decide', lockSet));
  put(b, 'b: mod.start', firstAfter(lb, t0, (e) => e.ev === 'start'));
  put(b, 'b: reRegister done', firstAfter(lb, t0, (e) => e.ev === 'registered'));
  put(b, 'c: name -> b', round2(tNew - t0));
  if (maxTurn !== undefined) b['c: watcher max turn'] = round2(maxTurn);
  await printTrace(cl, t0, ['b', 'c']);
  return { ms: tNew - t0, breakdown: b };
}

/**
 * `application.start` on a while b runs bench_app → b's instance stopped. With `poll`, a
 * watcher on c polls `global.whereis` on every event-loop turn from before the call to 50 ms
 * after the stop (`gap`: the longest run of polls answering undefined); without, `gap` comes
 * from the changes of c's replica (`hookNames`).
 */
async function takeover(cl: Cluster, poll: boolean): Promise<{ ms: number; gap: number; breakdown: Breakdown }> {
  const id = poll ? await cl.rpc<number>('c', 'bench.watch', [{ name: APP, maxMs: 20_000 }]) : 0;
  await sleep(20);
  const t0 = wallNow();
  const r = await cl.rpc('a', 'application.start', [APP], 30_000);
  const tRet = wallNow();
  if (r !== 'ok') throw new Error(`application.start on a: ${JSON.stringify(r)}`);
  const stopped = await until(async () => (await cl.log('b', t0)).find((e) => e.ev === 'stopped'), 10_000, 5);
  if (stopped === undefined) throw new Error(`takeover: the instance on b did not stop\n${cl.tail()}`);
  await sleep(50);
  const [la, lb, lc] = await Promise.all([cl.log('a', t0), cl.log('b', t0), cl.log('c', t0)]);
  const changes = nameEvents(lc);
  let gap = longestAbsence(changes, wallNow());
  const b: Breakdown = {};
  if (poll) {
    await cl.rpc('c', 'bench.watchStop', [id]);
    const w = await cl.rpc<WatchResult>('c', 'bench.watchResult', [id]);
    const last = w.changes[w.changes.length - 1]?.[1];
    if (last !== NAME.a) throw new Error(`takeover: c resolves bench_app to ${last} at the end: ${JSON.stringify(w.changes)}`);
    gap = w.longestUndefinedMs;
    b['c: watcher polls'] = w.polls;
    b['c: watcher max turn'] = round2(w.maxTurnMs);
  } else if (changes[changes.length - 1]?.[1] !== NAME.a) {
    throw new Error(`takeover: c's replica changed ${JSON.stringify(changes)}; bench_app does not end on a`);
  }
  put(b, 'a: mod.start', firstAfter(la, t0, (e) => e.ev === 'start'));
  put(b, 'a: phase go', firstAfter(la, t0, (e) => e.ev === 'phase' && e.phase === 'go'));
  put(b, 'a: fetching', firstAfter(la, t0, (e) => e.ev === 'fetching'));
  put(b, 'a: state fetched', firstAfter(la, t0, (e) => e.ev === 'fetched'));
  put(b, 'a: state set', firstAfter(la, t0, (e) => e.ev === 'stateSet'));
  put(b, 'c: name -> a', firstAfter(lc, t0, (e) => e.ev === 'name' && e.node === NAME.a));
  put(b, 'a: reRegister done', firstAfter(la, t0, (e) => e.ev === 'registered'));
  put(b, 'b: prepStop', firstAfter(lb, t0, (e) => e.ev === 'prepStop'));
  put(b, 'b: stopped', round2(stopped.t - t0));
  put(b, 'a: start returned', round2(tRet - t0));
  b['c: name changes'] = changes.length;
  await printTrace(cl, t0, ['a', 'b', 'c']);
  return { ms: stopped.t - t0, gap, breakdown: b };
}

/** SIGSTOP of a → b and c have both seen nodedown a. */
async function frozen(cl: Cluster): Promise<{ ms: number; breakdown: Breakdown }> {
  const t0 = wallNow();
  cl.signal('a', 'SIGSTOP');
  const seen = await until(async () => {
    const [lb, lc] = await Promise.all([cl.log('b', t0), cl.log('c', t0)]);
    const tb = lb.find((e) => e.ev === 'nodedown' && e.node === NAME.a)?.t;
    const tc = lc.find((e) => e.ev === 'nodedown' && e.node === NAME.a)?.t;
    return tb !== undefined && tc !== undefined ? { tb, tc } : undefined;
  }, 3 * TICK_TIME, 50);
  cl.signal('a', 'SIGCONT');
  await cl.killNode('a');
  if (seen === undefined) throw new Error(`frozen: nodedown not seen by b and c within ${3 * TICK_TIME} ms`);
  return { ms: Math.max(seen.tb, seen.tc) - t0, breakdown: { 'b: nodedown a': round2(seen.tb - t0), 'c: nodedown a': round2(seen.tc - t0) } };
}

// ---------------------------------------------------------------- the scenarios

interface Workload {
  readonly unit: string;
  readonly target: Target | undefined;
  /** Erlang figure (anchors.md) and how it reads. */
  readonly erlang: number;
  readonly erlangText: string;
}

const WORKLOADS: Record<string, Workload> = {
  failover_kill: { unit: 'ms', target: { op: '<=', value: 10 }, erlang: 13.0, erlangText: '13.0 ms' },
  failover_kill_majority: { unit: 'ms', target: { op: '<=', value: 20 }, erlang: NaN, erlangText: '' },
  failover_overhead: { unit: 'ms', target: { op: '<=', value: 15 }, erlang: NaN, erlangText: '' },
  takeover: { unit: 'ms', target: { op: '<=', value: 25 }, erlang: 29.5, erlangText: '29.5 ms' },
  name_gap: { unit: 'ms', target: { op: '<=', value: 0 }, erlang: 175, erlangText: '~175 ms' },
  state_transfer: { unit: 'ms', target: { op: '<=', value: 300 }, erlang: NaN, erlangText: '' },
  frozen_node: { unit: 'ms', target: { op: '<=', value: TICK_TIME }, erlang: 3500, erlangText: '2.7–3.5 s' },
  kill_floor: { unit: 'ms', target: undefined, erlang: NaN, erlangText: '' },
};

const samples: Record<string, number[]> = Object.fromEntries(Object.keys(WORKLOADS).map((w) => [w, []]));
const details: Array<{ round: number; scenario: string; figures: Record<string, number>; breakdown: Breakdown }> = [];

function note(round: number, scenario: string, figures: Record<string, number>, breakdown: Breakdown): void {
  for (const [w, v] of Object.entries(figures)) samples[w]!.push(v);
  details.push({ round, scenario, figures, breakdown });
  const f = Object.entries(figures).map(([k, v]) => `${k}=${v.toFixed(2)}`).join(' ');
  const bd = Object.entries(breakdown).map(([k, v]) => `${k} ${v}`).join(', ');
  process.stderr.write(`round ${round} ${scenario}: ${f}\n    (${bd})\n`);
}

/** With `--trace`: prints the nodes' trace events from `t0` on (ms after `t0`). */
async function printTrace(cl: Cluster, t0: number, shorts: Short[]): Promise<void> {
  if (!trace) return;
  const lines: Array<[number, string]> = [];
  for (const s of shorts) {
    if (!cl.procs.has(s)) continue;
    for (const e of await cl.log(s, t0)) {
      const what = e.ev === 'trace' ? `${String(e.fn)}(${String(e.arg)}) ${(e.dt as number).toFixed(2)} ms -> ${String(e.result)}` : `${e.ev} ${JSON.stringify({ ...e, t: undefined, ev: undefined })}`;
      lines.push([e.t - t0, `${s}: ${what}`]);
    }
  }
  lines.sort((x, y) => x[0] - y[0]);
  for (const [t, l] of lines) process.stderr.write(`      ${t.toFixed(2).padStart(8)}  ${l}\n`);
}

/** One round of each scenario; each scenario gets a fresh cluster. */
const SCENARIOS: Record<string, (round: number) => Promise<void>> = {
  // timeout 0: kill -9 a → failover to b; restart a → takeover from b; again with the name
  // polled on c (name gap); SIGSTOP a.
  kill: (round) =>
    withCluster({ timeout: 0, stateBytes: 16 }, async (cl) => {
      await bootToA(cl);
      note(round, 'kill -9 of a bare Node.js process (median of 5)', { kill_floor: await killFloor() }, {});
      const f = await failoverKill(cl, 0, pollFailover);
      note(round, 'kill -9 a (timeout 0)', { failover_kill: f.ms }, f.breakdown);
      await restartA(cl);
      const t = await takeover(cl, false);
      note(round, 'restarted a: application.start', { takeover: t.ms }, { ...t.breakdown, 'name gap (replica)': round2(t.gap) });
      // Back to b, then a takeover with c polling the name every event-loop turn.
      cl.signal('a', 'SIGKILL');
      await cl.killNode('a');
      await cl.settled('b');
      await restartA(cl);
      const g = await takeover(cl, true);
      note(round, 'restarted a: application.start, c polling', { name_gap: g.gap }, { ...g.breakdown, takeover: round2(g.ms) });
      if (only === undefined || only.includes('frozen')) {
        const z = await frozen(cl);
        note(round, 'SIGSTOP a (tickTime 4000)', { frozen_node: z.ms }, z.breakdown);
      }
    }),
  // The same kill with quorum 'majority' (issue 15).
  majority: (round) =>
    withCluster({ timeout: 0, stateBytes: 16, quorum: 'majority' }, async (cl) => {
      await bootToA(cl);
      const f = await failoverKill(cl, 0, pollFailover);
      note(round, "kill -9 a (timeout 0, quorum 'majority')", { failover_kill_majority: f.ms }, f.breakdown);
    }),
  overhead: (round) =>
    withCluster({ timeout: 1000, stateBytes: 16 }, async (cl) => {
      await bootToA(cl);
      const f = await failoverKill(cl, 1000, pollFailover);
      note(round, 'kill -9 a (timeout 1000)', { failover_overhead: f.ms - 1000 }, f.breakdown);
    }),
  state: (round) =>
    withCluster({ timeout: 0, stateBytes: STATE_BYTES }, async (cl) => {
      await cl.boot('b', 'c');
      await cl.settled('b');
      await cl.boot('a');
      await cl.settled('b');
      const t = await takeover(cl, false);
      const size = await cl.rpc<number>('a', 'bench.stateSize');
      if (size !== STATE_BYTES) throw new Error(`state_transfer: a holds ${size} bytes, expected ${STATE_BYTES}`);
      note(round, 'application.start on a, 10 MB state', { state_transfer: t.ms }, { ...t.breakdown, 'name gap': round2(t.gap) });
    }),
};
// `--only takeover`, `--only frozen` and `--only floor` run the `kill` scenario (they share its cluster).
const ALIASES: Record<string, string> = { takeover: 'kill', frozen: 'kill', floor: 'kill' };

let only: string[] | undefined;
/** `--poll-failover`: time failovers with the polling watcher on c instead of c's replica changes. */
let pollFailover = false;

/**
 * ms from kill -9 of a bare Node.js process (no modules loaded, one TCP connection from this
 * process) to this process seeing the connection close: the part of `failover_kill` that is
 * the kernel tearing the killed process down (median of 5).
 */
async function killFloor(): Promise<number> {
  const CHILD = "const s=require('net').createServer(c=>c.on('error',()=>{})).listen(0,'127.0.0.1',()=>console.log(s.address().port))";
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...nodeEnv, NODE_OPTIONS: '' } });
    children.add(child);
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.once('exit', () => reject(new Error('kill_floor: the child exited')));
        createInterface({ input: child.stdout }).once('line', (l) => resolve(Number(l)));
      });
      const sock = connect(port, '127.0.0.1');
      sock.on('error', () => {});
      await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
      await sleep(50);
      const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
      const t0 = wallNow();
      child.kill('SIGKILL');
      await closed;
      times.push(wallNow() - t0);
    } finally {
      child.kill('SIGKILL');
      children.delete(child);
    }
  }
  return median(times);
}

/**
 * `--nodes build`: builds the packages (incremental) and compiles the application module to
 * bench/.tmp/dist_ac_app.mjs, and the nodes run without the `source` export condition, so
 * without tsx. Imports in the copy resolve from bench/ as the source's do.
 */
function prepareBuiltNodes(): void {
  const require = createRequire(import.meta.url);
  const tsc = require.resolve('typescript/bin/tsc');
  const built = spawnSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('pnpm build failed: the nodes need the compiled packages (--nodes source runs them from the sources)');
  const ts = require('typescript') as typeof import('typescript');
  const out = ts.transpileModule(readFileSync(APP_SOURCE, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    fileName: APP_SOURCE,
  });
  const dir = join(REPO_ROOT, 'bench', '.tmp');
  mkdirSync(dir, { recursive: true });
  appModule = join(dir, 'dist_ac_app.mjs');
  writeFileSync(appModule, out.outputText);
  const options = (process.env.NODE_OPTIONS ?? '').split(/\s+/).filter((o) => o !== '' && o !== '--conditions=source');
  nodeEnv = { ...process.env, NODE_OPTIONS: options.join(' ') };
}

/** a (killed) boots again into the cluster; bench_app stays on b. */
async function restartA(cl: Cluster): Promise<void> {
  await cl.settled('b');
  await cl.boot('a');
  await cl.settled('b');
}

// ---------------------------------------------------------------- main

function formatTable(results: Results): string {
  const header = ['workload', 'unit', 'rigil', 'samples', 'Erlang (anchors.md)', 'target (met?)'];
  const rows = Object.entries(results).map(([name, r]) => [
    name,
    r.unit,
    formatNumber(r.rigil),
    r.samples.rigil.map((x) => formatNumber(x)).join(' / '),
    WORKLOADS[name]!.erlangText,
    r.target === undefined ? '' : `${r.target.op === '>=' ? '≥' : '≤'} ${formatNumber(r.target.value)} ${r.target.met ? 'yes' : 'NO'}`,
  ]);
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const right = [false, false, true, true, true, false];
  const line = (row: string[]): string => row.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: commandArgs(),
    options: {
      only: { type: 'string' },
      rounds: { type: 'string', default: '3' },
      out: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      trace: { type: 'boolean', default: false },
      'poll-failover': { type: 'boolean', default: false },
      nodes: { type: 'string', default: 'build' },
    },
  });
  verbose = values.verbose;
  pollFailover = values['poll-failover'];
  if (values.trace) {
    trace = true;
    process.env.BENCH_DIST_AC_TRACE = '1';
  }
  if (values.nodes === 'build') prepareBuiltNodes();
  else if (values.nodes !== 'source') throw new Error(`bad --nodes ${values.nodes}: build or source`);
  only = values.only?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const valid = [...Object.keys(SCENARIOS), ...Object.keys(ALIASES)];
  for (const name of only ?? []) if (!valid.includes(name)) throw new Error(`unknown scenario ${name}; scenarios: ${valid.join(', ')}`);
  const scenarios = only === undefined ? Object.keys(SCENARIOS) : [...new Set(only.map((s) => ALIASES[s] ?? s))];
  const rounds = Number(values.rounds);
  if (!(rounds >= 1)) throw new Error(`bad --rounds ${values.rounds}`);

  const started = wallNow();
  for (let round = 1; round <= rounds; round++) {
    for (const s of scenarios) await SCENARIOS[s]!(round);
  }
  const seconds = (wallNow() - started) / 1000;

  const results: Results = {};
  for (const [w, spec] of Object.entries(WORKLOADS)) {
    if (samples[w]!.length === 0) continue;
    results[w] = summarize(spec.unit, samples[w]!, [spec.erlang], spec.target);
  }
  process.stdout.write(`\nrigil dist-ac, 3 nodes (a > b > c) as OS processes on loopback, median of ${rounds} rounds, ${seconds.toFixed(0)} s\n\n`);
  process.stdout.write(formatTable(results) + '\n');

  const out = values.out ?? (only === undefined ? new URL('../results/dist_ac.json', import.meta.url) : undefined);
  if (out !== undefined) {
    const path = writeResults(out, results, {
      rounds,
      seconds: Math.round(seconds),
      baseline: 'Erlang/OTP 25 figures from ../shared/spec/anchors.md (frozen_node: upper end of 2.7–3.5 s); null where there is none',
      erlang: Object.fromEntries(Object.entries(WORKLOADS).map(([w, s]) => [w, s.erlangText])),
      cluster: `rigil start <config.json> × 3 (a > b > c), loopback, tickTime 4000; application bench/src/dist_ac_app.ts; nodes from ${values.nodes === 'build' ? 'the compiled packages' : 'the TypeScript sources (tsx)'}`,
      details,
    });
    process.stdout.write(`\nwrote ${path}\n`);
  } else {
    process.stdout.write('\npartial run (--only): results not written (pass --out FILE to write them)\n');
  }
}

try {
  await main();
} catch (e) {
  process.stderr.write(`bench:dist-ac failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
} finally {
  killAll();
  process.exit();
}
