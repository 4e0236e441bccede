/**
 * The trivial distributed application of the dist-ac benchmark (bench/src/dist_ac.ts), loaded
 * by `rigil start` on every node of the benchmark cluster (config `applications[].export:
 * 'benchApp'`, a `(node) => spec` factory).
 *
 * `bench_app`: a top supervisor `bench_sup` with one gen_server `bench_srv`; start phases
 * `init`, `go`. In `go`, a takeover start first fetches the old instance's state (a gen_server
 * call to `bench_srv` on the old node, which answers with its payload: a Buffer of
 * `env.bench_app.stateBytes` bytes, 16 by default), then `go` re-registers the server
 * globally as `bench_app`.
 *
 * The factory also gives the node a few procedures for the benchmark (all cheap unless a
 * watcher runs):
 * - `bench.now` → this process's wall clock in ms with sub-ms precision (`performance.timeOrigin +
 *   performance.now()`), for clock offsets;
 * - `bench.log` [sinceMs] → the events of this node since then: application callbacks
 *   (`start`, `phase`, `fetched`, `registered`, `prepStop`, `stopped`), node events
 *   (`nodeup`, `nodedown`), dist_ac reports and changes of `bench_app` in the local replica
 *   of the global names (`name`, see `hookNames`), each with its time;
 * - `bench.watch` [{ name, untilNode?, untilNotNode?, maxMs }] → an id: polls
 *   `global.whereis(name)` locally on every event-loop turn (setImmediate) and records each change;
 *   it ends when the name resolves to a pid on `untilNode` (or on a node other than
 *   `untilNotNode`), at `bench.watchStop` [id], or after `maxMs`;
 * - `bench.watchResult` [id] → once it has ended: `{ changes: [[t, node | null]], polls,
 *   maxTurnMs, longestUndefinedMs, end }`;
 * - `bench.watchStop` [id];
 * - `bench.stateSize` → the byte size of the local `bench_srv`'s state.
 *
 * With `BENCH_DIST_AC_TRACE=1` in the node's environment, the calls of a few methods of the
 * node's dist_ac controller and of `global` are logged too (`trace` events with the method,
 * its start time and duration) — instance-level wrappers installed from here, for profiling.
 */
import { performance } from 'node:perf_hooks';
import { genServer, supervisor, type ApplicationSpec, type GenServerBehaviour, type Process, type StartType, type SupervisorBehaviour } from '@rigil/core';
import type { DistNode } from '@rigil/net';

export const APP = 'bench_app';
const SRV = 'bench_srv';
const SUP = 'bench_sup';

/** Wall-clock ms, sub-ms precision, comparable between processes of one machine. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** One entry of a node's benchmark log. */
export interface LogEvent {
  readonly t: number;
  readonly ev: string;
  readonly [key: string]: unknown;
}

/** What a finished watcher reports. */
export interface WatchResult {
  /** Every change seen: [time, node of the pid or null when unregistered]; the first is the initial value. */
  readonly changes: Array<[number, string | null]>;
  readonly polls: number;
  /** The longest time between two polls (the watcher's resolution). */
  readonly maxTurnMs: number;
  /** The longest run of polls that saw no pid (from the first such poll to the next poll with a pid, or the end). */
  readonly longestUndefinedMs: number;
  readonly end: 'until' | 'stopped' | 'maxMs';
}

interface WatchSpec {
  readonly name: string;
  readonly untilNode?: string;
  readonly untilNotNode?: string;
  readonly maxMs?: number;
}

type Req = 'getState' | 'size' | { setState: Buffer };
type SrvState = { payload: Buffer };

/** bench_srv: holds the payload; `getState` answers it, `{ setState }` replaces it. */
const benchSrv: GenServerBehaviour<SrvState, number, { call: Req; reply: unknown; cast: never }> = {
  init: (bytes) => ({ ok: { payload: Buffer.alloc(bytes, 0x61) } }),
  handleCall(req, _from, state) {
    if (req === 'getState') return { reply: state.payload, state };
    if (req === 'size') return { reply: state.payload.length, state };
    return { reply: 'ok', state: { payload: req.setState } };
  },
};

function isTakeover(type: StartType): type is { readonly takeover: string } {
  return typeof type === 'object' && 'takeover' in type;
}

/** The per-node benchmark state (one node per process). */
const perNode = new WeakMap<DistNode, { log: LogEvent[] }>();

function record(node: DistNode, ev: string, extra: Record<string, unknown> = {}): void {
  perNode.get(node)?.log.push({ t: wallNow(), ev, ...extra });
}

/** The application spec factory (config `export: 'benchApp'`). */
export function benchApp(node: DistNode): ApplicationSpec {
  installProcedures(node);
  const stateBytes = (): number => Number(node.application.getEnv(APP, 'stateBytes', 16));
  // A takeover instance starts empty and gets the old instance's state in `go`.
  const sup: SupervisorBehaviour<StartType> = {
    init: (type) => ({
      flags: { strategy: 'one_for_all', intensity: 0, period: 1 },
      children: [supervisor.worker(SRV, benchSrv, isTakeover(type) ? 0 : stateBytes(), { name: SRV, restart: 'permanent', shutdown: 5000 })],
    }),
  };
  return {
    name: APP,
    version: '0.0.0',
    description: 'dist-ac benchmark application',
    startPhases: [{ name: 'init' }, { name: 'go' }],
    mod: {
      async start(type: StartType, _args, self: Process) {
        record(node, 'start', { type });
        const r = await supervisor.startLink(self, sup, type, { name: SUP });
        record(node, 'supStarted');
        return r;
      },
      async startPhase(phase, type, _args, self) {
        record(node, 'phase', { phase });
        if (phase !== 'go') return 'ok';
        const pid = node.whereis(SRV);
        if (pid === undefined) return { error: 'no local bench_srv' };
        if (isTakeover(type)) {
          record(node, 'fetching');
          const payload = (await genServer.call(self, [SRV, type.takeover], 'getState', 30_000)) as Buffer;
          record(node, 'fetched', { bytes: payload.length });
          await genServer.call(self, SRV, { setState: payload }, 30_000);
          record(node, 'stateSet');
        }
        await node.global.reRegister(APP, pid);
        record(node, 'registered');
        return 'ok';
      },
      prepStop(state) {
        record(node, 'prepStop');
        return state;
      },
      stop() {
        record(node, 'stopped');
      },
    },
  };
}

function installProcedures(node: DistNode): void {
  if (perNode.has(node)) return;
  const log: LogEvent[] = [];
  perNode.set(node, { log });
  node.onNodeEvent((e) => {
    if (!e.hidden) record(node, e.type, { node: e.node });
  });
  node.onReport((r) => {
    if (r.kind === 'dist_ac') record(node, 'report', { message: r.message });
  });
  hookNames(node);
  if (process.env.BENCH_DIST_AC_TRACE === '1') installTrace(node);
  node.rpc.register('bench.now', () => wallNow());
  node.rpc.register('bench.log', ([since]) => log.filter((e) => e.t >= Number(since ?? 0)));
  node.rpc.register('bench.stateSize', async () => genServer.call(node, SRV, 'size', 5000));

  const watchers = new Map<number, { stop: () => void; done: Promise<WatchResult> }>();
  let nextId = 1;
  node.rpc.register('bench.watch', ([spec]) => {
    const id = nextId++;
    watchers.set(id, watch(node, spec as WatchSpec));
    return id;
  });
  node.rpc.register('bench.watchStop', ([id]) => {
    watchers.get(Number(id))?.stop();
    return 'ok';
  });
  node.rpc.register('bench.watchResult', async ([id]) => {
    const w = watchers.get(Number(id));
    if (w === undefined) throw new Error(`no watcher ${String(id)}`);
    const r = await w.done;
    watchers.delete(Number(id));
    return r;
  });
}

/** Polls `global.whereis(spec.name)` on every event-loop turn; the first poll happens before it returns. */
function watch(node: DistNode, spec: WatchSpec): { stop: () => void; done: Promise<WatchResult> } {
  const changes: Array<[number, string | null]> = [];
  const start = wallNow();
  const maxMs = spec.maxMs ?? 10_000;
  let stopped = false;
  let polls = 0;
  let last = start;
  let maxTurnMs = 0;
  let current: string | null | undefined;
  let undefinedSince: number | undefined;
  let longestUndefinedMs = 0;
  let resolve!: (r: WatchResult) => void;
  const done = new Promise<WatchResult>((r) => (resolve = r));
  const poll = (): void => {
    const t = wallNow();
    polls++;
    if (t - last > maxTurnMs) maxTurnMs = t - last;
    last = t;
    const v = node.global.whereis(spec.name)?.node ?? null;
    if (v !== current) {
      changes.push([t, v]);
      current = v;
    }
    if (v === null) undefinedSince ??= t;
    else if (undefinedSince !== undefined) {
      longestUndefinedMs = Math.max(longestUndefinedMs, t - undefinedSince);
      undefinedSince = undefined;
    }
    const reached = v !== null && (spec.untilNode !== undefined ? v === spec.untilNode : spec.untilNotNode !== undefined && v !== spec.untilNotNode);
    const end = reached ? 'until' : stopped ? 'stopped' : t - start > maxMs ? 'maxMs' : undefined;
    if (end !== undefined) {
      if (undefinedSince !== undefined) longestUndefinedMs = Math.max(longestUndefinedMs, t - undefinedSince);
      resolve({ changes, polls, maxTurnMs, longestUndefinedMs, end });
      return;
    }
    setImmediate(poll);
  };
  poll();
  return { stop: () => void (stopped = true), done };
}

/**
 * Logs every change of `bench_app` in this node's replica of the global names (`name` events
 * with the pid's node, or null when it was removed): the exact time the name resolves
 * differently here, without polling. Wraps `set`/`delete` of global's private `names` map on
 * this instance (bench-only instrumentation; does nothing if that map is not found).
 */
function hookNames(node: DistNode): void {
  const names = (node.global as unknown as { names?: unknown }).names;
  if (!(names instanceof Map)) return;
  const m = names as Map<string, { pid: { node: string } }>;
  const set = m.set.bind(m);
  const del = m.delete.bind(m);
  m.set = (k, v) => {
    const r = set(k, v);
    if (k === APP) record(node, 'name', { node: v.pid.node });
    return r;
  };
  m.delete = (k) => {
    const had = m.has(k);
    const r = del(k);
    if (k === APP && had) record(node, 'name', { node: null });
    return r;
  };
}

/** Methods whose calls are traced (dist_ac's are private: wrapped on the instance, by name). */
const TRACED_DIST_AC = ['onNodeEvent', 'armFailover', 'failover', 'views', 'trans', 'locked', 'decide', 'startHere', 'handleRequest', 'handleCast', 'broadcast'];
const TRACED_GLOBAL = ['setLock', 'delLock', 'reRegister'];

function installTrace(node: DistNode): void {
  const ac = node.application as unknown as { setDistributedController(c: object): unknown };
  const set = ac.setDistributedController.bind(ac);
  // The factory runs before the controller exists: catch it when it is installed.
  ac.setDistributedController = (c: object) => {
    traceMethods(node, 'dist_ac', c, TRACED_DIST_AC);
    return set(c);
  };
  traceMethods(node, 'global', node.global, TRACED_GLOBAL);
}

function traceMethods(node: DistNode, prefix: string, target: object, names: string[]): void {
  const o = target as Record<string, unknown>;
  for (const name of names) {
    const f = o[name];
    if (typeof f !== 'function') continue;
    const fn = `${prefix}.${name}`;
    o[name] = function (this: unknown, ...args: unknown[]): unknown {
      const t = wallNow();
      const arg = describeArg(args[0]);
      const r = (f as (...a: unknown[]) => unknown).apply(this, args);
      if (r instanceof Promise) {
        return r.then(
          (v) => (perNode.get(node)?.log.push({ t, ev: 'trace', fn, arg, dt: wallNow() - t, result: describeArg(v) }), v),
          (e: unknown) => (perNode.get(node)?.log.push({ t, ev: 'trace', fn, arg, dt: wallNow() - t, result: 'throw' }), Promise.reject(e)),
        );
      }
      perNode.get(node)?.log.push({ t, ev: 'trace', fn, arg, dt: wallNow() - t, result: describeArg(r) });
      return r;
    };
  }
}

function describeArg(x: unknown): string {
  if (x === undefined) return '';
  if (typeof x === 'string') return x;
  if (Array.isArray(x)) return `[${x.length}]`;
  if (typeof x === 'object' && x !== null) {
    const k = x as Record<string, unknown>;
    if (typeof k.op === 'string') return `op=${k.op}`;
    if (typeof k.type === 'string') return `${k.type} ${String(k.node ?? '')}`;
    if (typeof k.kind === 'string') return `kind=${k.kind}`;
    return Object.keys(k).slice(0, 3).join(',');
  }
  return String(x);
}
