/**
 * Scale benchmark (issue 18): how rigil's distribution behaves as the cluster grows. Real OS
 * processes on loopback (bench/src/scale_node.ts, one `DistNode` each, started with
 * `--expose-gc`) for wall-clock times, CPU and memory; the simulated cluster (`Simulation` of
 * @rigil/testing, virtual time) for message counts. The two kinds of figures are never mixed:
 * simulated figures are messages, bytes and virtual ms.
 *
 * Parts (`--only mesh,register,names,memory,apps,sim`; all by default), sizes `--sizes 3,9,27`:
 * - `mesh`: N node processes, each seeded with every other's address: ms from the last one
 *   ready (listening) to every node seeing N-1 peers; the time until no node sent a data
 *   message for 1 s (global's name syncs after the mesh) and the messages sent until then; then, idle for `--idle-s` s (default 15),
 *   CPU per node (% of one core, from `process.cpuUsage()` deltas in the node) and dist traffic
 *   per node (data messages and bytes sent per second, from `node.net.traffic()`: ticks count
 *   in bytes, not in messages; default tickTime 60 s sends a tick every 15 s on a silent
 *   connection, hence the 15 s default window); heap per connection: (heapUsed after gc of a
 *   mesh node − that of a lone node) / (N − 1), and the slope between the smallest and the
 *   largest mesh (fairer: the lone node has not compiled the connection code yet);
 * - `register`: on the same mesh, `global.register` of `--reg-names` (300) names from one node,
 *   one at a time, twice: cold (the first after the mesh formed) and warm (after `--reg-warmup`
 *   (2,000) more: V8 optimises a node's code only after it served a couple of thousand; the
 *   target is judged warm) — p50/p99 latency, and the CPU time one warm registration costs the
 *   registering node and all nodes together —; then 16 in flight (names/s); `global.whereis` ns per lookup;
 * - `names`: `--names` (100,000) global names registered from one node of the `--names-size`
 *   (3) mesh, 16 in flight: the time it took, and heapUsed delta after gc / names on every node
 *   (the registering node's idle processes are spawned before the first measurement);
 * - `memory`: two node processes A, B; B spawns 10,000 idle processes; one process on A
 *   monitors (then, after it exited, links to) all of them: heap delta per monitor/link on A and
 *   on B;
 * - `apps`: three nodes a > b > c with `--apps` (1,000) distributed applications (`timeout: 0`,
 *   nodes [a, b, c]; each a supervisor without children) all running on a; kill -9 a: ms until
 *   all run on b or c (from the kill, and from the first nodedown b or c saw; the times the
 *   nodes record for themselves); then a restarted and `application.start` of `--takeover`
 *   (100) of them there: ms until all 100 run on a and their old instances stopped;
 * - `sim`: for N in `--sim-sizes` (3,5,9,15), messages delivered (sum over the nodes of
 *   `net.traffic().total.messagesIn`) for one `global.register`, one `global.trans` (a lock
 *   taken and released), one failover (crash of the node running a distributed application)
 *   and one takeover (the crashed node restarted, `application.start` there), each on an idle
 *   cluster (tickTime 60 s, tick frames subtracted as measured over an idle window of the same
 *   virtual length), with the virtual ms it took; and the order of growth (a fit a·N + b).
 *
 * Prints a table per part and writes bench/results/scale.json (`workloads`: one entry per
 * figure, `{ unit, rigil, samples, target? }`; `details`: the per-round figures). A partial run
 * (`--only`, `--sizes`) writes `--out FILE` only.
 *
 * Run: `pnpm bench:scale` (options after `--`): `--rounds R` (3) rounds of mesh, register (one at
 * N = 27), memory and apps; `names` and `sim` run once. `--verbose` echoes the nodes' stderr.
 * A part that fails (a mesh not formed, applications not failed over in time…) is recorded in
 * the JSON's `failures` and the run goes on; the exit code is then 1.
 * Every node process is killed when this process exits, on errors too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { DistNode } from '@rigil/net';
import { freePort, Simulation } from '@rigil/testing';
import { appName, scaleApps } from './scale_apps.js';
import { commandArgs, formatNumber, median, meets, writeResults, type Target } from './report.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NODE_SCRIPT = fileURLToPath(new URL('./scale_node.ts', import.meta.url));
const COOKIE = 'bench-scale-cookie';
/** Extra Node.js options for every node process (`RIGIL_SCALE_NODE_ARGS`, space-separated: `--cpu-prof`, V8 flags). */
const extraNodeArgs = (process.env.RIGIL_SCALE_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');

function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------- node processes

/** Every node process started, killed on exit whatever happens. */
const children = new Set<ChildProcess>();
function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    process.stderr.write(`bench:scale: ${sig}, stopping\n`);
    process.exit(130);
  });
}

let verbose = false;
/** `--handshake-timeout MS`: the nodes' `handshakeTimeout` (default theirs, 5000), for diagnosing a slow mesh. */
let handshakeTimeout: string | undefined;

interface NodeSpec {
  readonly name: string;
  readonly port: number;
  readonly seeds: readonly string[];
  readonly apps?: number;
  readonly appNodes?: readonly string[];
  /** Peers the node records the time of having (`fullAt`). */
  readonly expect?: number;
}

/** One node process (bench/src/scale_node.ts) and its command channel. */
class NodeProc {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly log: string[] = [];
  readonly exited: Promise<void>;
  /** Its ready line: the time it listened. */
  readyAt = 0;

  private constructor(
    readonly spec: NodeSpec,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    void this.exited.then(() => {
      children.delete(child);
      for (const p of this.pending.values()) p.reject(new Error(`${spec.name} exited (${child.exitCode ?? child.signalCode}):\n${this.log.slice(-15).join('\n')}`));
      this.pending.clear();
    });
  }

  /** Starts the process; resolves once it printed its ready line (`ms` at most). */
  static start(spec: NodeSpec, ms = 180_000): Promise<NodeProc> {
    const args = ['--expose-gc', ...extraNodeArgs, '--import', 'tsx', NODE_SCRIPT, '--name', spec.name, '--cookie', COOKIE, '--port', String(spec.port), '--seeds', spec.seeds.join(',')];
    if (spec.expect !== undefined) args.push('--expect', String(spec.expect));
    if (handshakeTimeout !== undefined) args.push('--handshake-timeout', handshakeTimeout);
    if (spec.apps !== undefined) args.push('--apps', String(spec.apps), '--app-nodes', (spec.appNodes ?? []).join(','));
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env } });
    children.add(child);
    const p = new NodeProc(spec, child);
    createInterface({ input: child.stderr }).on('line', (l) => {
      p.log.push(l);
      if (p.log.length > 500) p.log.splice(0, 250);
      if (verbose) process.stderr.write(`    ${spec.name}: ${l}\n`);
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${spec.name} not ready within ${ms} ms:\n${p.log.slice(-15).join('\n')}`)), ms);
      void p.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${spec.name} exited before it was ready:\n${p.log.slice(-15).join('\n')}`));
      });
      createInterface({ input: child.stdout }).on('line', (l) => {
        const m = JSON.parse(l) as { ready?: boolean; t?: number; id?: number; result?: unknown; error?: string };
        if (m.ready === true) {
          clearTimeout(timer);
          p.readyAt = m.t!;
          resolve(p);
          return;
        }
        const w = p.pending.get(m.id!);
        if (w === undefined) return;
        p.pending.delete(m.id!);
        if (m.error !== undefined) w.reject(new Error(`${spec.name} ${m.error}`));
        else w.resolve(m.result);
      });
    });
  }

  /** Sends a command (scale_node.ts `COMMANDS`); rejects after `ms`. */
  cmd<T = unknown>(cmd: string, args: Record<string, unknown> = {}, ms = 600_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.spec.name}: ${cmd} took more than ${ms} ms`));
      }, ms);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.stdin!.write(JSON.stringify({ id, cmd, ...args }) + '\n');
    });
  }

  /** Ends its stdin (it stops its node and exits, writing any `--cpu-prof` profile); SIGKILL after 5 s. */
  async stop(): Promise<void> {
    this.child.stdin?.end();
    const timer = setTimeout(() => void this.kill(), 5000);
    await this.exited;
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Polls `fn` every `every` ms until it returns a value other than undefined, or `ms` passed. */
async function until<T>(fn: () => Promise<T | undefined>, ms: number, every = 20): Promise<T | undefined> {
  const end = wallNow() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (wallNow() > end) return undefined;
    await sleep(every);
  }
}

function nodeName(i: number): string {
  return `n${i}@127.0.0.1`;
}

/** N node processes seeded with each other, started at once; resolves once all are ready. */
async function startCluster(n: number, extra: Partial<NodeSpec> & { names?: string[] } = {}): Promise<NodeProc[]> {
  const names = extra.names ?? Array.from({ length: n }, (_, i) => nodeName(i));
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(await freePort());
  const specs = names.map((name, i) => ({ ...extra, name, port: ports[i]!, seeds: names.flatMap((m, j) => (j === i ? [] : [`${m}:${ports[j]!}`])) }));
  const settled = await Promise.allSettled(specs.map((s) => NodeProc.start(s)));
  const procs = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(procs.map((p) => p.kill()));
    throw (failed).reason;
  }
  return procs;
}

async function stopCluster(procs: readonly NodeProc[]): Promise<void> {
  await Promise.all(procs.map((p) => (extraNodeArgs.length > 0 ? p.stop() : p.kill())));
}

/** Waits until every node sees the `n - 1` others; the time it happened (this process's clock). */
async function meshed(procs: readonly NodeProc[], ms = 120_000): Promise<number> {
  const ok = await until(async () => ((await Promise.all(procs.map((p) => p.cmd<number>('nodes')))).every((k) => k === procs.length - 1) ? wallNow() : undefined), ms, 10);
  if (ok === undefined) {
    const counts = await Promise.all(procs.map((p) => p.cmd<number>('nodes')));
    throw new Error(`mesh of ${procs.length} not formed within ${ms} ms: peers per node ${counts.join(',')}`);
  }
  return ok;
}

// ---------------------------------------------------------------- results

interface Figure {
  readonly unit: string;
  readonly samples: number[];
  readonly target?: Target;
  readonly note?: string;
}

const figures = new Map<string, Figure>();
const details: Array<Record<string, unknown>> = [];

function add(key: string, unit: string, value: number, target?: Target, note?: string): void {
  let f = figures.get(key);
  if (f === undefined) {
    f = { unit, samples: [], ...(target !== undefined ? { target } : {}), ...(note !== undefined ? { note } : {}) };
    figures.set(key, f);
  }
  f.samples.push(round(value));
}

function round(x: number): number {
  if (!Number.isFinite(x)) return x;
  return Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 1000) / 1000;
}

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

// ---------------------------------------------------------------- mesh, register, names

interface Sample {
  t: number;
  cpu: { user: number; system: number };
  traffic: { bytesIn: number; bytesOut: number; messagesIn: number; messagesOut: number };
}

let idleSeconds = 10;
let regNames = 300;
let regWarmup = 2000;
let bigNames = 100_000;
let namesSize = 3;
/** Median heapUsed after gc of the nodes of each mesh size, per round. */
const meshHeaps: Record<number, number[]> = {};
/** Heap of a lone node (no peers), after gc: the base of heap per connection. */
let loneHeap: number | undefined;

async function measureLoneHeap(): Promise<number> {
  if (loneHeap !== undefined) return loneHeap;
  const [p] = await startCluster(1, { names: ['lone@127.0.0.1'] });
  try {
    await sleep(1000);
    loneHeap = (await p!.cmd<{ heapUsed: number }>('heap')).heapUsed;
    return loneHeap;
  } finally {
    await p!.kill();
  }
}

/** One cluster of `n` processes: the mesh figures, then global.register's, then (at `namesSize`) the 100k names. */
async function clusterRound(n: number, round: number, parts: Set<string>): Promise<void> {
  const lone = parts.has('mesh') ? await measureLoneHeap() : 0;
  const tSpawn = wallNow();
  const procs = await startCluster(n, { expect: n - 1 });
  try {
    const lastReady = Math.max(...procs.map((p) => p.readyAt));
    await meshed(procs);
    // The nodes' own times of having N-1 peers (exact; this process polls them every 10 ms).
    const full = await Promise.all(procs.map((p) => p.cmd<number>('fullAt')));
    const formMs = Math.max(...full) - lastReady;
    const firstFullMs = Math.min(...full) - lastReady;
    say(`N=${n} round ${round}: processes ready ${((lastReady - tSpawn) / 1000).toFixed(1)} s after the first spawn; every node had N-1 peers ${formMs.toFixed(0)} ms after the last ready (the first ${firstFullMs.toFixed(0)} ms)`);
    if (parts.has('mesh')) {
      add(`mesh_form_${n}`, 'ms', formMs, n === 27 ? { op: '<=', value: 3000 } : undefined);
      const q = await quiet(procs);
      add(`mesh_quiet_${n}`, 'ms from mesh to no data messages for 1 s', q.ms);
      add(`mesh_settle_msgs_${n}`, 'data messages sent, mesh to quiet (all nodes)', q.messages);
      say(`  quiet ${q.ms.toFixed(0)} ms after the mesh formed (${q.messages} data messages sent meanwhile)`);
      await sleep(1000);
      const before = await Promise.all(procs.map((p) => p.cmd<Sample>('sample')));
      await sleep(idleSeconds * 1000);
      const after = await Promise.all(procs.map((p) => p.cmd<Sample>('sample')));
      const cpu: number[] = [];
      const msgs: number[] = [];
      const bytes: number[] = [];
      procs.forEach((_, i) => {
        const a = before[i]!;
        const b = after[i]!;
        const s = (b.t - a.t) / 1000;
        cpu.push(((b.cpu.user + b.cpu.system - a.cpu.user - a.cpu.system) / 1000 / (b.t - a.t)) * 100);
        msgs.push((b.traffic.messagesOut - a.traffic.messagesOut) / s);
        bytes.push((b.traffic.bytesOut - a.traffic.bytesOut) / s);
      });
      const heaps = await Promise.all(procs.map((p) => p.cmd<{ heapUsed: number; rss: number }>('heap')));
      const heapMed = median(heaps.map((h) => h.heapUsed));
      add(`idle_cpu_${n}`, '% of a core per node (median)', median(cpu), { op: '<=', value: 1 });
      add(`idle_cpu_max_${n}`, '% of a core, busiest node', Math.max(...cpu));
      add(`idle_msgs_${n}`, 'dist messages sent/s per node', median(msgs));
      add(`idle_bytes_${n}`, 'dist bytes sent/s per node', median(bytes));
      add(`heap_per_conn_${n}`, 'bytes heap per connection (vs a lone node)', (heapMed - lone) / (n - 1));
      (meshHeaps[n] ??= []).push(heapMed);
      // A slow mesh: keep what the nodes reported (handshake refusals, timeouts, global's drops).
      const reports = formMs > 2000 ? procs.flatMap((p) => p.log.filter((l) => l.includes(' report ')).slice(-5).map((l) => `${p.spec.name} ${l}`)) : [];
      if (reports.length > 0) say(`  slow mesh; the nodes reported:\n    ${reports.slice(0, 20).join('\n    ')}`);
      details.push({ part: 'mesh', n, round, formMs, reports: reports.slice(0, 100), fullAfterLastReadyMs: full.map((t) => Math.round(t - lastReady)), readySpreadMs: lastReady - tSpawn, cpu, msgsPerS: msgs, bytesPerS: bytes, heapUsed: heaps.map((h) => h.heapUsed), rss: heaps.map((h) => h.rss), loneHeap: lone });
      say(`  idle ${idleSeconds} s: cpu median ${median(cpu).toFixed(2)} % max ${Math.max(...cpu).toFixed(2)} %, ${median(msgs).toFixed(2)} msgs/s, ${median(bytes).toFixed(0)} B/s per node; heap per connection ${formatNumber((heapMed - lone) / (n - 1))} B`);
    }
    if (parts.has('register')) {
      const a = procs[0]!;
      // Cold: the first registrations after the mesh formed. V8 optimises the code of a node
      // process that serves a few messages per registration only after a couple of thousand of
      // them (--interrupt-budget): then warm, the steady state of a long-lived cluster.
      const cold = await a.cmd<RegResult>('register', { count: regNames, prefix: `cold${round}_`, concurrency: 1 });
      await a.cmd<RegResult>('register', { count: regWarmup, prefix: `warm${round}_`, concurrency: 1, firstPid: regNames }, 600_000);
      const cpu0 = await Promise.all(procs.map((p) => p.cmd<Sample>('sample')));
      const seq = await a.cmd<RegResult>('register', { count: regNames, prefix: `seq${round}_`, concurrency: 1, firstPid: regNames + regWarmup });
      const cpu1 = await Promise.all(procs.map((p) => p.cmd<Sample>('sample')));
      // CPU per sequential registration, the registering node's and the whole cluster's: against
      // the latency, it tells waiting (for other processes' event loops) from working.
      const cpuMs = (i: number): number => (cpu1[i]!.cpu.user + cpu1[i]!.cpu.system - cpu0[i]!.cpu.user - cpu0[i]!.cpu.system) / 1000;
      const cpuAll = procs.reduce((sum, _, i) => sum + cpuMs(i), 0) / regNames;
      const cpuReg = cpuMs(0) / regNames;
      const par = await a.cmd<RegResult>('register', { count: regNames, prefix: `par${round}_`, concurrency: 16, firstPid: 2 * regNames + regWarmup });
      const total = 3 * regNames + regWarmup;
      // every node must see the names
      const seen = await until(async () => ((await Promise.all(procs.map((p) => p.cmd<number>('names')))).every((k) => k >= total) ? true : undefined), 30_000);
      if (seen === undefined) throw new Error(`N=${n}: the registered names did not reach every node`);
      const w = await procs[procs.length - 1]!.cmd<{ nsPerOp: number; misses: number }>('whereis', { count: regNames, prefix: `seq${round}_` });
      if (cold.failed + seq.failed + par.failed + w.misses > 0) throw new Error(`N=${n}: ${cold.failed + seq.failed + par.failed} registrations failed, ${w.misses} whereis misses`);
      add(`register_p50_${n}`, 'ms (warm)', seq.p50, { op: '<=', value: 2 });
      add(`register_p99_${n}`, 'ms (warm)', seq.p99);
      add(`register_cold_p50_${n}`, 'ms (the first after the mesh)', cold.p50);
      add(`register_cold_p99_${n}`, 'ms (the first after the mesh)', cold.p99);
      add(`register_cpu_${n}`, 'CPU ms per registration, all nodes together', cpuAll);
      add(`register_cpu_registrar_${n}`, 'CPU ms per registration, registering node', cpuReg);
      add(`register_conc16_${n}`, 'names/s (16 in flight)', (par.count / par.ms) * 1000);
      add(`whereis_${n}`, 'ns per lookup', w.nsPerOp);
      details.push({ part: 'register', n, round, cpuMsPerRegistration: { all: cpuAll, registrar: cpuReg }, cold, warmup: regWarmup, sequential: seq, concurrent16: par, whereis: w });
      say(`  register: cold p50 ${cold.p50.toFixed(2)} ms, p99 ${cold.p99.toFixed(2)} ms; after ${regWarmup} more: p50 ${seq.p50.toFixed(2)} ms, p99 ${seq.p99.toFixed(2)} ms (CPU per registration ${cpuAll.toFixed(2)} ms over all nodes, ${cpuReg.toFixed(2)} ms on the registrar); 16 in flight ${((par.count / par.ms) * 1000).toFixed(0)} names/s (p50 ${par.p50.toFixed(2)} ms); whereis ${w.nsPerOp.toFixed(0)} ns`);
    }
    if (parts.has('names') && n === namesSize && round === 1) await hundredThousand(procs);
  } finally {
    await stopCluster(procs);
  }
}

/**
 * Waits until no node sent a data message for 1 s (global's and the handshake's aftermath of
 * the mesh: name syncs, lock rounds), 60 s at most (the figure is then ≥ 60 s: the run stays
 * within its time budget): the ms from the call to the last change, and the data messages all
 * nodes sent meanwhile.
 */
async function quiet(procs: readonly NodeProc[]): Promise<{ ms: number; messages: number }> {
  const total = async (): Promise<number> => (await Promise.all(procs.map((p) => p.cmd<Sample>('sample')))).reduce((s, x) => s + x.traffic.messagesOut, 0);
  const t0 = wallNow();
  const m0 = await total();
  let last = m0;
  let lastChange = t0;
  while (wallNow() - lastChange < 1000 && wallNow() - t0 < 60_000) {
    await sleep(100);
    const m = await total();
    if (m !== last) {
      last = m;
      lastChange = wallNow();
    }
  }
  return { ms: lastChange - t0, messages: last - m0 };
}

interface RegResult {
  count: number;
  concurrency: number;
  failed: number;
  ms: number;
  p50: number;
  p99: number;
  max: number;
}

async function hundredThousand(procs: readonly NodeProc[]): Promise<void> {
  const a = procs[0]!;
  const first = 3 * regNames + regWarmup;
  await a.cmd('spawn', { count: first + bigNames });
  const before = await Promise.all(procs.map((p) => p.cmd<{ heapUsed: number }>('heap')));
  say(`  names: registering ${bigNames} names from ${a.spec.name} (16 in flight)…`);
  const r = await a.cmd<RegResult>('register', { count: bigNames, prefix: 'big_', concurrency: 16, firstPid: first }, 1_800_000);
  const t0 = wallNow();
  const seen = await until(async () => ((await Promise.all(procs.map((p) => p.cmd<number>('names')))).every((k) => k >= bigNames) ? true : undefined), 120_000, 100);
  if (seen === undefined || r.failed > 0) throw new Error(`names: ${r.failed} registrations failed or the names did not reach every node`);
  const spread = wallNow() - t0;
  const after = await Promise.all(procs.map((p) => p.cmd<{ heapUsed: number }>('heap')));
  const perName = procs.map((_, i) => (after[i]!.heapUsed - before[i]!.heapUsed) / bigNames);
  const n = procs.length;
  add(`names_${n}_per_name_max`, 'bytes heap per name per node (worst node)', Math.max(...perName), { op: '<=', value: 300 });
  add(`names_${n}_per_name_registrar`, 'bytes heap per name, registering node', perName[0]!);
  add(`names_${n}_register_s`, 's to register all', r.ms / 1000);
  add(`names_${n}_rate`, 'names/s', (r.count / r.ms) * 1000);
  details.push({ part: 'names', n, names: bigNames, register: r, lastReplicaAfterMs: spread, perNameBytes: perName, heapBefore: before.map((h) => h.heapUsed), heapAfter: after.map((h) => h.heapUsed) });
  say(`  names: ${bigNames} in ${(r.ms / 1000).toFixed(1)} s (${((r.count / r.ms) * 1000).toFixed(0)}/s, p50 ${r.p50.toFixed(2)} ms); heap per name ${perName.map((x) => x.toFixed(0)).join(' / ')} B`);
}

// ---------------------------------------------------------------- memory per monitor / link

const WATCHED = 10_000;

async function memoryRound(round: number): Promise<void> {
  const [a, b] = await startCluster(2, { names: ['ma@127.0.0.1', 'mb@127.0.0.1'] });
  try {
    await meshed([a!, b!]);
    await b!.cmd('spawn', { count: WATCHED });
    await a!.cmd('fetchPids', { node: b!.spec.name });
    const heaps = async (): Promise<[number, number]> => [(await a!.cmd<{ heapUsed: number }>('heap')).heapUsed, (await b!.cmd<{ heapUsed: number }>('heap')).heapUsed];
    const out: Record<string, number> = {};
    for (const kind of ['monitor', 'link'] as const) {
      const h0 = await heaps();
      await a!.cmd('watch', { kind });
      const h1 = await heaps();
      await a!.cmd('unwatch');
      out[`${kind}_a`] = (h1[0] - h0[0]) / WATCHED;
      out[`${kind}_b`] = (h1[1] - h0[1]) / WATCHED;
    }
    add('remote_monitor_a', 'bytes heap per remote monitor, monitoring node', out.monitor_a!);
    add('remote_monitor_b', 'bytes heap per remote monitor, monitored node', out.monitor_b!);
    add('remote_link_a', 'bytes heap per remote link, linking node', out.link_a!);
    add('remote_link_b', 'bytes heap per remote link, linked node', out.link_b!);
    details.push({ part: 'memory', round, count: WATCHED, perItemBytes: out });
    say(`memory round ${round}: per monitor ${out.monitor_a!.toFixed(0)} B (A) + ${out.monitor_b!.toFixed(0)} B (B); per link ${out.link_a!.toFixed(0)} B (A) + ${out.link_b!.toFixed(0)} B (B)`);
  } finally {
    await stopCluster([a!, b!]);
  }
}

// ---------------------------------------------------------------- failover / takeover of many applications

let appCount = 1000;
let takeoverCount = 100;

interface AppEvents {
  starts: number;
  stops: number;
  lastStart: number;
  lastStop: number;
  firstStart: number | null;
}

async function appsRound(round: number): Promise<void> {
  const names = ['a@127.0.0.1', 'b@127.0.0.1', 'c@127.0.0.1'];
  const procs = await startCluster(3, { names, apps: appCount, appNodes: names });
  const live = [...procs];
  try {
    await meshed(procs);
    const tBoot = wallNow();
    const started = await Promise.all(procs.map((p) => p.cmd<{ badCount: number; bad: string[] }>('startApps', { count: appCount, concurrency: 50 })));
    if (started.some((s) => s.badCount > 0)) throw new Error(`apps: application.start failed: ${JSON.stringify(started)}`);
    const onA = await until(async () => ((await procs[0]!.cmd<number>('running')) === appCount ? true : undefined), 60_000, 50);
    if (onA === undefined) {
      const r = await Promise.all(procs.map((p) => p.cmd<number>('running')));
      throw new Error(`apps: not all ${appCount} applications run on a (a, b, c run ${r.join(', ')})`);
    }
    say(`apps: ${appCount} applications running on a (${((wallNow() - tBoot) / 1000).toFixed(1)} s to start them)`);
    await sleep(1000);
    const [a, b, c] = procs as [NodeProc, NodeProc, NodeProc];
    const t0 = wallNow();
    await a.kill();
    live.splice(0, 1);
    const moved = await until(
      async () => {
        const [eb, ec] = await Promise.all([b.cmd<AppEvents>('appEvents', { since: t0 }), c.cmd<AppEvents>('appEvents', { since: t0 })]);
        return eb.starts + ec.starts >= appCount ? ([eb, ec] as const) : undefined;
      },
      120_000,
      20,
    );
    if (moved === undefined) throw new Error(`apps: the ${appCount} applications did not fail over within 120 s`);
    const [eb, ec] = moved;
    const downs = (await Promise.all([b.cmd<number | null>('nodedownAt', { node: names[0] }), c.cmd<number | null>('nodedownAt', { node: names[0] })])).filter((x): x is number => x !== null);
    const last = Math.max(eb.lastStart, ec.lastStart);
    const firstDown = Math.min(...downs);
    const running = (await b.cmd<number>('running')) + (await c.cmd<number>('running'));
    add(`failover_${appCount}_from_nodedown`, 'ms', last - firstDown, appCount === 1000 ? { op: '<=', value: 1000 } : undefined);
    add(`failover_${appCount}_from_kill`, 'ms', last - t0);
    say(`apps round ${round}: kill -9 a → ${appCount} failed over ${(last - t0).toFixed(0)} ms after the kill, ${(last - firstDown).toFixed(0)} ms after the first nodedown (b started ${eb.starts}, c ${ec.starts}; ${running} running on b and c)`);

    // a restarted; application.start of `takeoverCount` applications there: takeovers.
    const [a2] = await Promise.all([NodeProc.start({ ...a.spec })]);
    live.unshift(a2);
    await meshed([a2, b, c]);
    await sleep(1000);
    const t1 = wallNow();
    const tk = await a2.cmd<{ badCount: number; bad: string[] }>('startApps', { count: takeoverCount, concurrency: takeoverCount });
    const tReturned = wallNow();
    if (tk.badCount > 0) throw new Error(`takeover: application.start on a failed: ${JSON.stringify(tk)}`);
    const done = await until(
      async () => {
        const [ea, eb2, ec2] = await Promise.all([a2.cmd<AppEvents>('appEvents', { since: t1 }), b.cmd<AppEvents>('appEvents', { since: t1 }), c.cmd<AppEvents>('appEvents', { since: t1 })]);
        return ea.starts >= takeoverCount && eb2.stops + ec2.stops >= takeoverCount ? ([ea, eb2, ec2] as const) : undefined;
      },
      120_000,
      20,
    );
    if (done === undefined) throw new Error(`takeover: ${takeoverCount} takeovers not done within 120 s`);
    const [ea, eb2, ec2] = done;
    const end = Math.max(ea.lastStart, eb2.lastStop, ec2.lastStop);
    add(`takeover_${takeoverCount}`, 'ms', end - t1);
    details.push({ part: 'apps', round, apps: appCount, failover: { killAt: t0, nodedowns: downs.map((d) => d - t0), b: eb, c: ec, lastStartAfterKill: last - t0, lastStartAfterNodedown: last - firstDown }, takeover: { count: takeoverCount, startReturnedMs: tReturned - t1, lastStartOnA: ea.lastStart - t1, lastStopOnBC: Math.max(eb2.lastStop, ec2.lastStop) - t1 } });
    say(`apps: ${takeoverCount} takeovers done ${(end - t1).toFixed(0)} ms after the application.start calls (the calls returned after ${(tReturned - t1).toFixed(0)} ms)`);
  } finally {
    await stopCluster(live);
  }
}

// ---------------------------------------------------------------- simulated message counts

let simSizes = [3, 5, 9, 15];

/** Messages (and bytes) received by the nodes `names` so far. */
function delivered(sim: Simulation, names: readonly string[]): { messages: number; bytes: number } {
  let messages = 0;
  let bytes = 0;
  for (const n of names) {
    if (!sim.isUp(n)) continue;
    const t = sim.node(n).net.traffic().total;
    messages += t.messagesIn;
    bytes += t.bytesIn;
  }
  return { messages, bytes };
}

/** Messages delivered while `op` runs plus `settleMs` of virtual time, minus the idle rate over the same window. */
async function countOp(sim: Simulation, names: readonly string[], idlePerMs: number, op: () => Promise<unknown>, settleMs = 200): Promise<{ messages: number; bytes: number; virtualMs: number }> {
  const before = delivered(sim, names);
  const t0 = sim.now;
  await sim.wait(op());
  const virtualMs = sim.now - t0;
  await sim.run(settleMs);
  const after = delivered(sim, names);
  const idle = idlePerMs * (sim.now - t0);
  return { messages: Math.round(after.messages - before.messages - idle), bytes: after.bytes - before.bytes, virtualMs };
}

async function simSize(n: number): Promise<Record<string, { messages: number; bytes: number; virtualMs: number }>> {
  const sim = new Simulation({ seed: 18, logFrames: false });
  const names = Array.from({ length: n }, (_, i) => `s${i}@s${i}`);
  const app = appName(0);
  const running = new Map<string, boolean>();
  const kernel = { distributed: [{ application: app, timeout: 0, nodes: names }], syncNodesOptional: [] as string[], syncNodesTimeout: 2000 };
  const nodes: DistNode[] = [];
  try {
    for (const [i, name] of names.entries()) {
      const apps = scaleApps(1, (e) => running.set(name, e.ev === 'start'));
      nodes.push(await sim.startNode({ name, tickTime: 60_000, seeds: i === 0 ? [] : [names[0]!], apps, kernel: { ...kernel, syncNodesOptional: names.filter((x) => x !== name) } }));
    }
    await sim.runUntil(() => names.every((x) => sim.node(x).nodes().length === n - 1), 60_000, 'mesh');
    await sim.run(5000);
    for (const x of names) await sim.wait(sim.node(x).application.start(app));
    await sim.runUntil(() => running.get(names[0]!) === true, 10_000, 'app on s0');
    await sim.run(5000);
    // Idle rate (ticks) over a window as long as the measurements'.
    const i0 = delivered(sim, names);
    const tI = sim.now;
    await sim.run(10_000);
    const idlePerMs = (delivered(sim, names).messages - i0.messages) / (sim.now - tI);

    const s1 = sim.node(names[1]!);
    const pid = s1.spawn(async (self) => void (await self.receive()));
    const out: Record<string, { messages: number; bytes: number; virtualMs: number }> = {};
    // Steady state: a first registration from s1 sets up what later ones reuse (each node's
    // monitor on s1's name server as a lock holder, s1's monitor on each peer's name server).
    await sim.wait(s1.global.register('sim_warm', s1.spawn(async (self) => void (await self.receive()))));
    out.register = await countOp(sim, names, idlePerMs, () => s1.global.register('sim_name', pid));
    if (s1.global.whereis('sim_name') === undefined) throw new Error('sim: register did not take');
    out.trans = await countOp(sim, names, idlePerMs, () => s1.global.trans(['sim_res', 'bench'], () => 'ok'));
    // Failover: crash s0 (running the application); count on the survivors.
    const survivors = names.slice(1);
    {
      const before = delivered(sim, survivors);
      const t0 = sim.now;
      sim.crash(names[0]!);
      running.set(names[0]!, false);
      await sim.runUntil(() => running.get(names[1]!) === true, 10_000, 'failover to s1');
      const virtualMs = sim.now - t0;
      await sim.run(200);
      const after = delivered(sim, survivors);
      out.failover = { messages: Math.round(after.messages - before.messages - idlePerMs * (sim.now - t0)), bytes: after.bytes - before.bytes, virtualMs };
    }
    // Takeover: s0 restarted, mesh settled, then application.start there.
    await sim.restart(names[0]!);
    await sim.runUntil(() => names.every((x) => sim.node(x).nodes().length === n - 1), 60_000, 'mesh again');
    await sim.run(5000);
    out.takeover = await countOp(sim, names, idlePerMs, async () => {
      await sim.node(names[0]!).application.start(app);
    });
    await sim.runUntil(() => running.get(names[0]!) === true && running.get(names[1]!) === false, 10_000, 'takeover done');
    return out;
  } finally {
    await sim.stop();
  }
}

/** Least-squares fit y = a·x + b. */
function fit(xs: number[], ys: number[]): { a: number; b: number } {
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  const a = sxx === 0 ? 0 : sxy / sxx;
  return { a, b: my - a * mx };
}

const growth: Record<string, string> = {};

async function simPart(): Promise<void> {
  const per: Record<string, number[]> = {};
  for (const n of simSizes) {
    const t = wallNow();
    const r = await simSize(n);
    for (const [op, v] of Object.entries(r)) {
      add(`sim_${op}_${n}`, 'messages (virtual ms in details)', v.messages);
      (per[op] ??= []).push(v.messages);
    }
    details.push({ part: 'sim', n, ops: r });
    say(`sim N=${n}: ${Object.entries(r).map(([op, v]) => `${op} ${v.messages} msgs / ${v.bytes} B / ${v.virtualMs.toFixed(1)} virtual ms`).join('; ')} (${((wallNow() - t) / 1000).toFixed(1)} s real)`);
  }
  for (const [op, ys] of Object.entries(per)) {
    const { a, b } = fit(simSizes, ys);
    // The log-log slope: ~1 for linear growth, ~2 quadratic, ~3 cubic.
    const k = fit(simSizes.map(Math.log), ys.map((y) => Math.log(Math.max(1, y)))).a;
    const linear = k < 1.5;
    const order = linear ? `~${a.toFixed(1)}·N ${b >= 0 ? '+' : '−'} ${Math.abs(b).toFixed(0)} (log-log slope ${k.toFixed(2)})` : `superlinear, ~N^${k.toFixed(1)} (log-log slope ${k.toFixed(2)})`;
    growth[op] = order;
    say(`sim ${op}: ${ys.join(', ')} messages for N = ${simSizes.join(', ')}: ${order}`);
  }
}

// ---------------------------------------------------------------- main

function table(): string {
  const header = ['figure', 'unit', 'median', 'samples', 'target (met?)'];
  const rows = [...figures.entries()].map(([k, f]) => {
    const m = median(f.samples);
    const t = f.target === undefined ? '' : `${f.target.op === '>=' ? '≥' : '≤'} ${formatNumber(f.target.value)} ${meets(m, f.target) ? 'yes' : 'NO'}`;
    return [k, f.unit, formatNumber(m), f.samples.map((x) => formatNumber(x)).join(' / '), t];
  });
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const right = [false, false, true, true, false];
  const line = (r: string[]): string => r.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const PARTS = ['mesh', 'register', 'names', 'memory', 'apps', 'sim'];

/** Parts that failed (each part's error is recorded and the run goes on; the exit code is 1). */
const failures: Array<{ what: string; error: string }> = [];

async function attempt(what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
    failures.push({ what, error });
    say(`${what} FAILED: ${error}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: commandArgs(),
    options: {
      only: { type: 'string' },
      sizes: { type: 'string' },
      rounds: { type: 'string', default: '3' },
      'idle-s': { type: 'string', default: '15' },
      'reg-names': { type: 'string', default: '300' },
      'reg-warmup': { type: 'string', default: '2000' },
      names: { type: 'string', default: '100000' },
      'names-size': { type: 'string', default: '3' },
      apps: { type: 'string', default: '1000' },
      takeover: { type: 'string', default: '100' },
      'sim-sizes': { type: 'string', default: '3,5,9,15' },
      out: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      'handshake-timeout': { type: 'string' },
    },
  });
  verbose = values.verbose;
  handshakeTimeout = values['handshake-timeout'];
  const list = (s: string): string[] => s.split(',').map((x) => x.trim()).filter((x) => x !== '');
  const parts = new Set(values.only === undefined ? PARTS : list(values.only));
  for (const p of parts) if (!PARTS.includes(p)) throw new Error(`unknown part ${p}; parts: ${PARTS.join(', ')}`);
  const sizes = values.sizes === undefined ? [3, 9, 27] : list(values.sizes).map(Number);
  const rounds = Number(values.rounds);
  idleSeconds = Number(values['idle-s']);
  regNames = Number(values['reg-names']);
  regWarmup = Number(values['reg-warmup']);
  bigNames = Number(values.names);
  namesSize = Number(values['names-size']);
  appCount = Number(values.apps);
  takeoverCount = Number(values.takeover);
  simSizes = list(values['sim-sizes']).map(Number);
  if (!(rounds >= 1) || sizes.some((n) => !(n >= 2))) throw new Error('bad --rounds or --sizes');

  const started = wallNow();
  const clusterParts = new Set([...parts].filter((p) => p === 'mesh' || p === 'register' || p === 'names'));
  if (clusterParts.size > 0) {
    const clusterSizes = [...new Set([...(parts.has('mesh') || parts.has('register') ? sizes : []), ...(parts.has('names') ? [namesSize] : [])])].sort((x, y) => x - y);
    for (const n of clusterSizes) {
      const only = new Set(parts.has('mesh') || parts.has('register') ? (sizes.includes(n) ? clusterParts : new Set(['names'])) : clusterParts);
      // Big meshes are slow to start: 27 nodes get one round unless --rounds asks for fewer anyway.
      const r = n >= 27 ? 1 : rounds;
      for (let round = 1; round <= r; round++) await attempt(`cluster N=${n} round ${round}`, () => clusterRound(n, round, round === 1 ? only : new Set([...only].filter((p) => p !== 'names'))));
    }
  }
  // Heap per connection between the smallest and the largest mesh: the lone-node figure also
  // counts code and tables a node only builds once it has a peer (V8 bytecode is on the heap).
  const heapSizes = Object.keys(meshHeaps).map(Number).sort((x, y) => x - y);
  if (heapSizes.length >= 2) {
    const lo = heapSizes[0]!;
    const hi = heapSizes[heapSizes.length - 1]!;
    add(`heap_per_conn_${lo}_to_${hi}`, 'bytes heap per connection (slope between meshes)', (median(meshHeaps[hi]!) - median(meshHeaps[lo]!)) / (hi - lo));
  }
  if (parts.has('memory')) for (let round = 1; round <= rounds; round++) await attempt(`memory round ${round}`, () => memoryRound(round));
  if (parts.has('apps')) for (let round = 1; round <= rounds; round++) await attempt(`apps round ${round}`, () => appsRound(round));
  if (parts.has('sim')) await attempt('sim', simPart);
  const seconds = (wallNow() - started) / 1000;

  const workloads: Record<string, unknown> = {};
  for (const [k, f] of figures) {
    const m = median(f.samples);
    workloads[k] = { unit: f.unit, rigil: m, samples: f.samples, ...(f.target !== undefined ? { target: { ...f.target, met: meets(m, f.target) } } : {}) };
  }
  process.stdout.write(`\nrigil scale: node processes on loopback (wall clock) and the simulated cluster (messages), ${seconds.toFixed(0)} s\n\n${table()}\n`);
  if (Object.keys(growth).length > 0) process.stdout.write(`\nmessages per decision (simulator, N = ${simSizes.join(', ')}):\n${Object.entries(growth).map(([op, g]) => `  ${op}: ${g}`).join('\n')}\n`);
  if (failures.length > 0) {
    process.stdout.write(`\n${failures.length} part(s) failed: ${failures.map((f) => f.what).join(', ')} (errors in the JSON's "failures")\n`);
    process.exitCode = 1;
  }
  const full = values.only === undefined && values.sizes === undefined;
  const out = values.out ?? (full ? new URL('../results/scale.json', import.meta.url) : undefined);
  if (out === undefined) {
    process.stdout.write('\npartial run (--only/--sizes): results not written (pass --out FILE to write them)\n');
    return;
  }
  const path = writeResults(out, workloads as never, {
    seconds: Math.round(seconds),
    rounds: { mesh: rounds, register: rounds, memory: rounds, mesh27: 1, names: 1, apps: rounds, sim: 1 },
    sizes,
    parts: [...parts],
    settings: { handshakeTimeout: handshakeTimeout ?? 'default', idleSeconds, regNames, regWarmup, names: bigNames, namesSize, apps: appCount, takeover: takeoverCount, simSizes, watched: WATCHED },
    growth,
    failures,
    note: 'Wall-clock figures come from node processes on loopback; sim_* figures are messages delivered in the simulated cluster (virtual time), never wall clock.',
    ticks:
      "idle_msgs/idle_bytes come from node.net.traffic(), which counts data frames only: ticks are written past the counters (connection.ts tick()). At the default tickTime 60 s a silent connection carries one tick frame each way every 15 s, i.e. (N-1)/15 tick frames/s sent per node (1.7/s at N = 27) of a few bytes each.",
    details,
  });
  process.stdout.write(`\nwrote ${path}\n`);
}

try {
  await main();
} catch (e) {
  process.stderr.write(`bench:scale failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
} finally {
  killAll();
  process.exit();
}
