/**
 * One node process of the scale benchmark (bench/src/scale.ts starts it with `--expose-gc`):
 * `DistNode.start({ name, cookie, port, seeds, tickTime, handshakeTimeout? })`, optionally with `--apps N`
 * distributed applications (bench/src/scale_apps.ts, every one `{ nodes: --app-nodes,
 * timeout: 0 }`) under dist-ac (`startDistAc`, the other app nodes as optional sync nodes).
 *
 * Prints `{"ready":true,"port":…,"pid":…,"t":…}` on stdout once listening, then serves
 * commands: one JSON object `{ id, cmd, ...args }` per line on stdin, answered on stdout by
 * `{ id, result }` or `{ id, error }` (see `COMMANDS`). Times are wall-clock ms with sub-ms
 * precision (`performance.timeOrigin + performance.now()`), comparable between the processes
 * of one machine. Exits when stdin ends, or on SIGTERM/SIGINT.
 */
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Pid, Process } from '@rigil/core';
import { startDistAc } from '@rigil/dist-ac';
import { DistNode } from '@rigil/net';
import { appName, scaleApps, type AppEvent } from './scale_apps.js';

/** Wall-clock ms, sub-ms precision. */
function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

const gc = (globalThis as { gc?: () => void }).gc;

/** heapUsed after two full collections (needs `--expose-gc`; without it, as is). */
function heapAfterGc(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

/** The p-th percentile (0..1) of sorted `xs`. */
function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    cookie: { type: 'string' },
    port: { type: 'string', default: '0' },
    seeds: { type: 'string', default: '' },
    'tick-time': { type: 'string', default: '60000' },
    apps: { type: 'string', default: '0' },
    'app-nodes': { type: 'string', default: '' },
    expect: { type: 'string', default: '0' },
    'handshake-timeout': { type: 'string' },
  },
});
if (values.name === undefined || values.cookie === undefined) throw new Error('--name and --cookie are required');
const seeds = values.seeds === '' ? [] : values.seeds.split(',');
const appCount = Number(values.apps);
const appNodes = values['app-nodes'] === '' ? [] : values['app-nodes'].split(',');

/** Starts and stops of the benchmark applications on this node: [time, event]. */
const appEvents: Array<[number, AppEvent]> = [];
/** When this node saw each peer go down (the last time). */
const nodedownAt = new Map<string, number>();
/** `--expect K`: when this node first had K visible peers (null until then). */
const expectPeers = Number(values.expect);
let fullAt: number | null = null;

const handshakeTimeout = values['handshake-timeout'] !== undefined ? { handshakeTimeout: Number(values['handshake-timeout']) } : {};
const node = await DistNode.start({ name: values.name, cookie: values.cookie, port: Number(values.port), host: '127.0.0.1', seeds, tickTime: Number(values['tick-time']), ...handshakeTimeout });
// The node's reports (refused handshakes, global's disconnections, crashes…) on stderr, timed,
// for the benchmark's diagnostics of a slow mesh (`--verbose` echoes them; scale.ts keeps the tail).
node.onReport((r) => process.stderr.write(`${wallNow().toFixed(1)} report ${r.kind}: ${r.message}\n`));
node.onNodeEvent((e) => {
  if (e.type === 'nodedown') nodedownAt.set(e.node, wallNow());
  if (fullAt === null && expectPeers > 0 && node.nodes().length >= expectPeers) fullAt = wallNow();
});
if (appCount > 0) {
  for (const spec of scaleApps(appCount, (e) => appEvents.push([wallNow(), e]))) node.application.load(spec);
  const others = appNodes.filter((n) => n !== node.name);
  await startDistAc(node, {
    distributed: Array.from({ length: appCount }, (_, i) => ({ application: appName(i), timeout: 0, nodes: appNodes })),
    syncNodesOptional: others,
    syncNodesTimeout: 10_000,
  });
}

/** Idle processes spawned by `spawn` (they wait for a message that never comes), for names and monitors. */
const idle: Pid[] = [];
/** Remote pids fetched by `fetchPids`. */
let remote: Pid[] = [];
/** The process holding the monitors or links of `watch`, and how to end it. */
let watcher: { pid: Pid; stop: () => void } | undefined;

/** Idle processes that have run up to their `receive` (what they allocate when they first run is theirs, not a later measurement's). */
let idleReady = 0;

function spawnIdle(count: number): void {
  for (let i = 0; i < count; i++) {
    idle.push(
      node.spawn(async (self) => {
        idleReady++;
        await self.receive();
      }),
    );
  }
}

/** Resolves once every idle process has run up to its `receive`. */
async function idleSettled(): Promise<void> {
  while (idleReady < idle.length) await new Promise((resolve) => setImmediate(resolve));
}

node.rpc.register('scale.pids', () => idle);
node.rpc.register('scale.ping', () => 'pong');

type Args = Record<string, unknown>;

/** The commands: each returns a JSON-able result. */
const COMMANDS: Record<string, (a: Args) => unknown> = {
  /** Visible peers connected now. */
  nodes: () => node.nodes().length,
  /** When this node first had `--expect` visible peers (null until then). */
  fullAt: () => fullAt,
  /** CPU time used so far (µs), the wall clock, the traffic totals and heapUsed (no gc). */
  sample: () => ({ t: wallNow(), cpu: process.cpuUsage(), traffic: node.net.traffic().total, heapUsed: process.memoryUsage().heapUsed }),
  /** heapUsed after gc, and the RSS. */
  heap: () => ({ heapUsed: heapAfterGc(), rss: process.memoryUsage().rss }),
  /** Spawns `count` idle processes. */
  spawn: async (a) => {
    spawnIdle(Number(a.count));
    await idleSettled();
    return idle.length;
  },
  /**
   * Registers `count` global names `${prefix}<i>` for idle processes (spawned first as needed,
   * outside the timing), `concurrency` at a time. Returns every registration's latency
   * summarised (ms) and the total time.
   */
  register: async (a) => {
    const count = Number(a.count);
    const conc = Number(a.concurrency ?? 1);
    const prefix = String(a.prefix);
    const first = Number(a.firstPid ?? 0);
    if (idle.length < first + count) {
      spawnIdle(first + count - idle.length);
      await idleSettled();
    }
    const lat = new Array<number>(count);
    let next = 0;
    let failed = 0;
    const t0 = wallNow();
    const worker = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        const s = performance.now();
        const r = await node.global.register(`${prefix}${i}`, idle[first + i]!);
        lat[i] = performance.now() - s;
        if (r !== 'yes') failed++;
      }
    };
    await Promise.all(Array.from({ length: conc }, worker));
    const ms = wallNow() - t0;
    const sorted = [...lat].sort((x, y) => x - y);
    // The p50 of each tenth of the registrations, in order: how much of the figure is warm-up.
    const tenths = Array.from({ length: 10 }, (_, k) => pct(lat.slice(Math.floor((k * count) / 10), Math.floor(((k + 1) * count) / 10)).sort((x, y) => x - y), 0.5));
    return { count, concurrency: conc, failed, ms, p50: pct(sorted, 0.5), p99: pct(sorted, 0.99), max: sorted[sorted.length - 1], p50ByTenth: tenths };
  },
  /** Names known to this node's replica of global. */
  names: () => node.global.registeredNames().length,
  /**
   * ns per `global.whereis` of `count` names `${prefix}<i>` (local replica): one warm-up pass,
   * then passes until at least a million lookups; misses counted.
   */
  whereis: (a) => {
    const count = Number(a.count);
    const prefix = String(a.prefix);
    const keys = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
    let misses = 0;
    for (const k of keys) if (node.global.whereis(k) === undefined) misses++;
    const loops = Math.max(1, Math.ceil(1_000_000 / count));
    const s = performance.now();
    for (let l = 0; l < loops; l++) for (const k of keys) if (node.global.whereis(k) === undefined) misses++;
    return { nsPerOp: ((performance.now() - s) * 1e6) / (count * loops), misses };
  },
  /** Fetches the idle pids of `node` over rpc (kept for `watch`). */
  fetchPids: async (a) => {
    remote = (await node.rpc.call(String(a.node), 'scale.pids', [], 60_000)) as Pid[];
    return remote.length;
  },
  /**
   * One process here monitors (`kind: 'monitor'`) or links to (`'link'`, trapping exits) every
   * fetched remote pid; resolves after an rpc round trip to their node, so that every monitor
   * or link request has reached it (same connection, in order).
   */
  watch: async (a) => {
    const kind = String(a.kind);
    let ready!: () => void;
    const done = new Promise<void>((r) => (ready = r));
    const pid = node.spawn(
      async (self: Process) => {
        for (const p of remote) {
          if (kind === 'link') self.link(p);
          else self.monitor(p);
        }
        ready();
        await self.receive((m) => m === 'stop');
      },
      { trapExit: true },
    );
    await done;
    watcher = { pid, stop: () => node.send(pid, 'stop') };
    const peer = remote[0]?.node;
    if (peer !== undefined) await node.rpc.call(peer, 'scale.ping', [], 60_000);
    return remote.length;
  },
  /** Ends the watcher (its monitors or links go with it) and waits for an rpc round trip. */
  unwatch: async () => {
    const w = watcher;
    watcher = undefined;
    if (w === undefined) return 'none';
    w.stop();
    for (let i = 0; i < 1000 && node.isAlive(w.pid); i++) await new Promise((r) => setImmediate(r));
    const peer = remote[0]?.node;
    if (peer !== undefined) await node.rpc.call(peer, 'scale.ping', [], 60_000);
    return 'ok';
  },
  /** Forgets the fetched remote pids. */
  dropPids: () => {
    remote = [];
    return 'ok';
  },
  /** Calls `application.start` of applications `from`..`from+count-1`, `concurrency` at a time; the non-ok results. */
  startApps: async (a) => {
    const from = Number(a.from ?? 0);
    const count = Number(a.count);
    const conc = Number(a.concurrency ?? 50);
    let next = 0;
    const bad: string[] = [];
    const worker = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        const r = await node.application.start(appName(from + i));
        if (r !== 'ok') bad.push(`${appName(from + i)}: ${JSON.stringify(r)}`);
      }
    };
    await Promise.all(Array.from({ length: conc }, worker));
    return { bad: bad.slice(0, 5), badCount: bad.length };
  },
  /** Benchmark applications running here now. */
  running: () => node.application.whichApplications().filter((i) => /^app\d+$/.test(i.name)).length,
  /** Starts and stops here since `since`: counts and the time of the last of each. */
  appEvents: (a) => {
    const since = Number(a.since ?? 0);
    let starts = 0;
    let stops = 0;
    let lastStart = 0;
    let lastStop = 0;
    let firstStart = Infinity;
    for (const [t, e] of appEvents) {
      if (t < since) continue;
      if (e.ev === 'start') {
        starts++;
        lastStart = Math.max(lastStart, t);
        firstStart = Math.min(firstStart, t);
      } else {
        stops++;
        lastStop = Math.max(lastStop, t);
      }
    }
    return { starts, stops, lastStart, lastStop, firstStart: Number.isFinite(firstStart) ? firstStart : null };
  },
  /** When this node last saw `node` go down (null if never). */
  nodedownAt: (a) => nodedownAt.get(String(a.node)) ?? null,
};

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(1), 3000).unref();
  node.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
const lines = createInterface({ input: process.stdin });
lines.on('close', stop);
lines.on('line', (line) => {
  const req = JSON.parse(line) as { id: number; cmd: string } & Args;
  const fn = COMMANDS[req.cmd];
  const answer = (o: object): void => void process.stdout.write(JSON.stringify({ id: req.id, ...o }) + '\n');
  if (fn === undefined) return answer({ error: `unknown command ${req.cmd}` });
  Promise.resolve()
    .then(() => fn(req))
    .then(
      (result) => answer({ result }),
      (e: unknown) => answer({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
    );
});
process.stdout.write(JSON.stringify({ ready: true, port: node.port, pid: process.pid, t: wallNow() }) + '\n');
