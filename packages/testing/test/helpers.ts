/**
 * Helpers for the simulation's tests: a started cluster of named nodes, processes that record
 * their mailbox, and a minimal distributed application.
 */
import { afterEach } from 'vitest';
import { genServer, supervisor, type ApplicationSpec, type Pid, type StartType } from '@rigil/core';
import { globalOf, type DistNode } from '@rigil/net';
import { Simulation, type SimNodeOptions } from '../src/index.js';

/** Simulations made by `useSims` are stopped after each test. */
export function useSims(): (seed: number, options?: { logFrames?: boolean }) => Simulation {
  const sims: Simulation[] = [];
  afterEach(async () => {
    for (const s of sims.splice(0)) await s.stop();
  });
  return (seed, options = {}) => {
    const s = new Simulation({ seed, ...options });
    sims.push(s);
    return s;
  };
}

/** Starts `names` in order, each seeded with the ones before it, and runs until they form a full mesh. */
export async function mesh(sim: Simulation, names: readonly string[], options: Partial<SimNodeOptions> = {}): Promise<DistNode[]> {
  const nodes: DistNode[] = [];
  for (const [i, name] of names.entries()) nodes.push(await sim.startNode({ tickTime: 1000, ...options, name, seeds: names.slice(0, i) }));
  await sim.runUntil(() => nodes.every((n) => n.nodes().length === names.length - 1), 5000, 'the full mesh');
  return nodes;
}

/** A process that records every message it receives, in order. */
export function recorder(node: DistNode, name?: string): { pid: Pid; got: unknown[] } {
  const got: unknown[] = [];
  const pid = node.spawn(async (self) => {
    for (;;) got.push(await self.receive());
  });
  if (name !== undefined) node.register(name, pid);
  return { pid, got };
}

/** Where each start of a test application happened, and with which start type. */
export interface Start {
  readonly node: string;
  readonly type: StartType;
  /** Virtual time of the start. */
  readonly at: number;
}

/** A distributed application `name`: a supervisor with one server; every start is recorded in `starts`. */
export function app(name: string, starts: Start[]): ApplicationSpec {
  const server: genServer.GenServerBehaviour<string, undefined> = {
    init: (_a, self) => {
      starts.push({ node: self.node.name, type: self.node.application.startType(self) as StartType, at: self.node.clock.now() });
      return { ok: self.node.name };
    },
    handleCall: (_req, _from, state) => ({ reply: state, state }),
  };
  const sup: supervisor.SupervisorBehaviour<undefined> = {
    init: () => ({ flags: { strategy: 'one_for_one', intensity: 3, period: 5 }, children: [supervisor.worker('srv', server, undefined, { name: `${name}_srv` })] }),
  };
  return { name, version: '1.0.0', mod: { start: (_t, _a, self) => supervisor.startLink(self, sup, undefined, { name: `${name}_sup` }) } };
}

/** Nodes among `nodes` where `app` runs locally. */
export function runners(nodes: readonly DistNode[], appName: string): string[] {
  return nodes.filter((n) => !n.stopped && n.application.whereRunning(appName) === 'local').map((n) => n.name);
}

/**
 * Runs until the nodes form exactly `groups` (each node connected to the rest of its group and
 * to nobody else) for `stableMs` in a row. Nobody dials by hand: the nodes' own redials
 * (reconnect for life) must re-form each group, also after global's prevention of overlapping
 * partitions dropped links inside it. Throws after `maxMs` of virtual time.
 */
export async function settleInto(sim: Simulation, groups: ReadonlyArray<readonly DistNode[]>, maxMs = 10_000, stableMs = 500): Promise<void> {
  const wanted = new Map<DistNode, string[]>();
  for (const g of groups) for (const n of g) wanted.set(n, g.filter((m) => m !== n).map((m) => m.name).sort());
  const ok = (): boolean => [...wanted].every(([n, w]) => n.nodes().sort().join() === w.join());
  let stableSince: number | undefined;
  const t0 = sim.now;
  for (;;) {
    await sim.run(50);
    if (!ok()) stableSince = undefined;
    else if ((stableSince ??= sim.now) <= sim.now - stableMs) return;
    if (sim.now - t0 > maxMs) {
      throw new Error(`the cluster did not settle into ${groups.map((g) => `[${g.map((n) => n.name).join(' ')}]`).join(' ')}: ${[...wanted.keys()].map((n) => `${n.name}->[${n.nodes().join(' ')}]`).join(' ')}`);
    }
  }
}

// ---------------------------------------------------------------- recorded distributed applications

/** What a worker of a `recordedApp` saw at init: which app, on which node, with which start type, at which virtual time. */
export interface WorkerStart {
  readonly app: string;
  readonly node: string;
  readonly worker: number;
  readonly type: StartType | 'local' | undefined;
  readonly at: number;
}

/** What a start phase of a `recordedApp` saw (for a takeover: whether the old node's server answered a call from it). */
export interface PhaseRun {
  readonly app: string;
  readonly node: string;
  readonly phase: string;
  readonly type: StartType;
  readonly oldAnswered?: string;
  readonly at: number;
}

/** The starts and start phases of every `recordedApp` of one test (all nodes share this process). */
export interface Records {
  readonly starts: WorkerStart[];
  readonly phases: PhaseRun[];
}

/** Empty records. */
export function records(): Records {
  return { starts: [], phases: [] };
}

/** `'normal' | 'takeover' | 'failover' | 'local' | 'undefined'` of a start type. */
export function kindOf(t: StartType | 'local' | undefined): string {
  if (t === undefined) return 'undefined';
  if (typeof t === 'string') return t;
  return 'takeover' in t ? 'takeover' : 'failover';
}

/** How many workers of `app` started with a start type of kind `kind` (on `node` if given). */
export function countStarts(r: Records, app: string, kind: string, node?: string): number {
  return r.starts.filter((s) => s.app === app && kindOf(s.type) === kind && (node === undefined || s.node === node)).length;
}

/** Options of `recordedApp`. */
export interface RecordedAppOptions {
  /** Start phases `init` and `go` (default true). */
  phases?: boolean;
  /** Number of workers (default 3, as OTP's application_SUITE counts them). */
  workers?: number;
  /** The global name the `go` phase re-registers for the app's server. */
  globalName?: string;
}

/** Local names of a `recordedApp`'s processes on each node. */
export const serverOf = (app: string): string => `${app}_srv`;
export const supOf = (app: string): string => `${app}_sup`;
export const workerOf = (app: string, i: number): string => `${app}_w${i}`;

/**
 * The simulated twin of @rigil/dist-ac's test application: a top supervisor `<app>_sup` with a
 * server `<app>_srv` (answers any call with its node's name) and `workers` workers recording
 * their start type at init, on the virtual clock. With phases, `go` calls the old node's server
 * during a takeover and re-registers `globalName` to this node's server.
 */
export function recordedApp(r: Records, name: string, o: RecordedAppOptions = {}): ApplicationSpec {
  const workers = o.workers ?? 3;
  const server: genServer.GenServerBehaviour<string, undefined> = {
    init: (_a, self) => ({ ok: self.node.name }),
    handleCall: (_req, _from, state) => ({ reply: state, state }),
  };
  const worker = (i: number): genServer.GenServerBehaviour<null, undefined> => ({
    init: (_a, self) => {
      r.starts.push({ app: name, node: self.node.name, worker: i, type: self.node.application.startType(self), at: self.node.clock.now() });
      return { ok: null };
    },
  });
  const sup: supervisor.SupervisorBehaviour<undefined> = {
    init: () => ({
      flags: { strategy: 'one_for_one', intensity: 3, period: 5 },
      children: [
        supervisor.worker('srv', server, undefined, { name: serverOf(name) }),
        ...Array.from({ length: workers }, (_x, i) => supervisor.worker(`w${i}`, worker(i), undefined, { name: workerOf(name, i) })),
      ],
    }),
  };
  return {
    name,
    version: '1.0.0',
    ...((o.phases ?? true) ? { startPhases: [{ name: 'init' }, { name: 'go' }] } : {}),
    mod: {
      start: (_t, _a, self) => supervisor.startLink(self, sup, undefined, { name: supOf(name) }),
      startPhase: async (phase, type, _args, self) => {
        let oldAnswered: string | undefined;
        if (phase === 'go' && typeof type === 'object' && 'takeover' in type) {
          oldAnswered = await genServer.call(self, [serverOf(name), type.takeover], 'whoami', 2000).then(
            (v) => v as string,
            () => undefined,
          );
        }
        r.phases.push({ app: name, node: self.node.name, phase, type, oldAnswered, at: self.node.clock.now() });
        if (phase === 'go' && o.globalName !== undefined) {
          const pid = self.node.whereis(serverOf(name));
          if (pid === undefined) return { error: 'no server' };
          await globalOf(self).reRegister(o.globalName, pid);
        }
        return 'ok';
      },
    },
  };
}

/** Each node's idea of where `app` runs (for failure messages). */
export function describeRunners(nodes: readonly DistNode[], app: string): string {
  return nodes.map((n) => `${n.name}→${n.stopped ? 'stopped' : String(n.application.whereRunning(app))}`).join(', ');
}

/** True when `app` runs on `expected` only among the live `nodes` and every live node's controller agrees. */
export function onlyOn(nodes: readonly DistNode[], app: string, expected: string): boolean {
  const live = nodes.filter((n) => !n.stopped);
  return runners(live, app).join() === expected && live.every((n) => n.name === expected || n.application.whereRunning(app) === expected);
}

/** Runs until `onlyOn(nodes, app, expected)`; the error says where each node thinks it runs. */
export async function runsOnly(sim: Simulation, nodes: readonly DistNode[], app: string, expected: string, maxMs = 5000): Promise<void> {
  try {
    await sim.runUntil(() => onlyOn(nodes, app, expected), maxMs);
  } catch (e) {
    throw new Error(`${app} did not run on ${expected} only within ${maxMs} ms (seed ${sim.seed}): ${describeRunners(nodes, app)}`, { cause: e });
  }
}

/** Records the virtual time at which `observer` first sees `node` go down (and every later one). */
export function nodedowns(observer: DistNode, node: string): number[] {
  const at: number[] = [];
  observer.onNodeEvent((e) => {
    if (e.type === 'nodedown' && e.node === node) at.push(observer.clock.now());
  });
  return at;
}

/** Settles a promise into a value that can be checked synchronously while the simulation runs it. */
export function track<T>(p: Promise<T>): { done: boolean; value?: T; error?: unknown } {
  const t: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then(
    (v) => Object.assign(t, { done: true, value: v }),
    (e: unknown) => Object.assign(t, { done: true, error: e }),
  );
  return t;
}
