/**
 * Test helpers for @rigil/dist-ac: polling with deadlines, a cluster of named nodes in this OS
 * process over real loopback sockets (every node stopped after each test, restarts included),
 * and a test application whose workers record the start type they were started with.
 */
import { afterEach } from 'vitest';
import { genServer, supervisor, type ApplicationSpec, type Process, type Report, type StartType } from '@rigil/core';
import { DistNode, distNode, type DistNodeOptions } from '@rigil/net';
import { FaultyTransport } from '@rigil/net/testing';
import { startDistAc, type DistAc, type KernelConfig } from '../src/index.js';

// ---------------------------------------------------------------- polling

/** Polls `cond` every few ms until it returns something truthy; throws after `timeoutMs`. */
export async function waitFor<T>(cond: () => T, timeoutMs = 5000, what: string | (() => string) = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
}

/** Resolves after `ms` of real time: only for "X does NOT happen within this window" checks. */
export function elapse(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Settles a promise into a value that can be checked synchronously (pending until it does). */
export function track<T>(p: Promise<T>): { done: boolean; value?: T; error?: unknown; at?: number } {
  const t: { done: boolean; value?: T; error?: unknown; at?: number } = { done: false };
  p.then(
    (v) => {
      t.done = true;
      t.value = v;
      t.at = Date.now();
    },
    (e: unknown) => {
      t.done = true;
      t.error = e;
      t.at = Date.now();
    },
  );
  return t;
}

// ---------------------------------------------------------------- the test application

/** What a worker saw at `init`: which app, on which node, with which `startType`. */
export interface StartRecord {
  readonly app: string;
  readonly node: string;
  readonly worker: number;
  readonly type: StartType | 'local' | undefined;
  readonly at: number;
}

/** What a start phase saw. */
export interface PhaseRecord {
  readonly app: string;
  readonly node: string;
  readonly phase: string;
  readonly type: StartType;
  /** For a takeover: what the old node's server answered when called from this phase (undefined: it did not answer). */
  readonly oldAnswered?: string;
  readonly at: number;
}

/** The shared collectors (all nodes run in this process, so a plain array is enough). */
export interface Collector {
  readonly starts: StartRecord[];
  readonly phases: PhaseRecord[];
}

export function collector(): Collector {
  return { starts: [], phases: [] };
}

/** `'normal' | 'takeover' | 'failover' | 'local' | 'undefined'` of a start type. */
export function kindOf(t: StartType | 'local' | undefined): string {
  if (t === undefined) return 'undefined';
  if (typeof t === 'string') return t;
  return 'takeover' in t ? 'takeover' : 'failover';
}

/** How many workers of `app` started with start type kind `kind` (optionally on `node`). */
export function countStarts(c: Collector, app: string, kind: string, node?: string): number {
  return c.starts.filter((s) => s.app === app && kindOf(s.type) === kind && (node === undefined || s.node === node)).length;
}

/** Options of `testApp`. */
export interface TestAppOptions {
  /** Give the app start phases `init` and `go` (default true). */
  phases?: boolean;
  /** Number of workers (default 3). */
  workers?: number;
  /** Global name the `go` phase (re-)registers for the app's server (requires phases). */
  globalName?: string;
  /** The top supervisor's restart intensity (default 3). */
  intensity?: number;
}

/** Local name of the app's server (answers `'whoami'` with its node name) on each node. */
export const serverOf = (app: string): string => `${app}_srv`;
/** Local name of the app's top supervisor on each node. */
export const supOf = (app: string): string => `${app}_sup`;
/** Local name of the app's `i`th worker on each node. */
export const workerOf = (app: string, i: number): string => `${app}_w${i}`;

/**
 * An application spec: a top supervisor (registered locally as `<app>_sup`) with a server
 * (`<app>_srv`) and `workers` workers (`<app>_w<i>`), each recording its `startType` at init into
 * `c.starts`. With phases, `go` calls the old node's server during a takeover (recording whether
 * it answered) and points `globalName` at this node's server.
 */
export function testApp(c: Collector, name: string, o: TestAppOptions = {}): ApplicationSpec {
  const phases = o.phases ?? true;
  const workers = o.workers ?? 3;
  const server: genServer.GenServerBehaviour<string, undefined> = {
    init: (_a, self) => ({ ok: self.node.name }),
    handleCall: (_req, _from, state) => ({ reply: state, state }),
  };
  const worker = (i: number): genServer.GenServerBehaviour<null, undefined> => ({
    init: (_a, self) => {
      c.starts.push({ app: name, node: self.node.name, worker: i, type: self.node.application.startType(self), at: Date.now() });
      return { ok: null };
    },
  });
  const sup: supervisor.SupervisorBehaviour<undefined> = {
    init: () => ({
      flags: { strategy: 'one_for_one', intensity: o.intensity ?? 3, period: 5 },
      children: [
        supervisor.worker('srv', server, undefined, { name: serverOf(name) }),
        ...Array.from({ length: workers }, (_x, i) => supervisor.worker(`w${i}`, worker(i), undefined, { name: workerOf(name, i) })),
      ],
    }),
  };
  return {
    name,
    version: '1.0.0',
    ...(phases ? { startPhases: [{ name: 'init' }, { name: 'go' }] } : {}),
    mod: {
      start: (_type, _args, self: Process) => supervisor.startLink(self, sup, undefined, { name: supOf(name) }),
      startPhase: async (phase: string, type: StartType, _args: unknown, self: Process) => {
        const node = distNode(self);
        let oldAnswered: string | undefined;
        if (phase === 'go' && typeof type === 'object' && 'takeover' in type) {
          try {
            oldAnswered = (await genServer.call(self, [serverOf(name), type.takeover], 'whoami', 2000)) as string;
          } catch {
            oldAnswered = undefined;
          }
        }
        c.phases.push({ app: name, node: node.name, phase, type, oldAnswered, at: Date.now() });
        if (phase === 'go' && o.globalName !== undefined) {
          const pid = node.whereis(serverOf(name));
          if (pid === undefined) return { error: 'no server' };
          await node.global.reRegister(o.globalName, pid);
        }
        return 'ok';
      },
    },
  };
}

// ---------------------------------------------------------------- cluster

let serial = 0;

/** A unique suffix for this test's node names (names keep their prefix order: cp1 < cp2 < cp3). */
export function tag(): string {
  return `t${++serial}x${process.pid}`;
}

/** A node with its dist_ac. */
export interface Member {
  readonly node: DistNode;
  readonly dac: DistAc;
  readonly reports: Report[];
}

/**
 * Nodes of one test. `start(name, kernel, seeds)` starts a node on port 0 and its dist_ac; every
 * node (restarted ones included) is stopped in `afterEach`.
 */
export class Cluster {
  private readonly nodes: DistNode[] = [];

  /** Starts a bare node (no dist_ac) on port 0, dialling `seeds` (other nodes); its links can be cut (`FaultyTransport.of`). */
  async node(name: string, seeds: readonly DistNode[] = [], options: Partial<DistNodeOptions> = {}): Promise<DistNode> {
    const node = await DistNode.start({ name, cookie: 'c', port: 0, seeds: seeds.filter((s) => !s.stopped).map((s) => `${s.name}:${s.port}`), transport: new FaultyTransport(), ...options });
    this.nodes.push(node);
    return node;
  }

  /** Starts a node connected to `seeds` (waits for the connections), loads `apps`, then starts dist_ac. */
  async member(name: string, kernel: KernelConfig, seeds: readonly DistNode[] = [], apps: readonly ApplicationSpec[] = []): Promise<Member> {
    const node = await this.node(name, seeds);
    const reports: Report[] = [];
    node.onReport((r) => {
      if (r.kind === 'dist_ac') reports.push(r);
    });
    for (const s of seeds) if (!s.stopped) await node.connect(s.name);
    for (const s of seeds) if (!s.stopped) await waitFor(() => node.net.isConnected(s.name) && s.net.isConnected(name), 5000, `${name} connected to ${s.name}`);
    for (const a of apps) node.application.load(a);
    const dac = await startDistAc(node, kernel);
    return { node, dac, reports };
  }

  /** Starts members `names` in order, each seeded with the ones before it (a full mesh). */
  async members(names: readonly string[], kernel: KernelConfig, apps: readonly ApplicationSpec[] = []): Promise<Member[]> {
    const out: Member[] = [];
    for (const n of names) {
      out.push(
        await this.member(
          n,
          kernel,
          out.map((m) => m.node),
          apps,
        ),
      );
    }
    for (const m of out) await waitFor(() => out.every((o) => o === m || m.node.net.isConnected(o.node.name)), 5000, `${m.node.name} sees the mesh`);
    return out;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.splice(0).map((n) => n.stop()));
  }
}

/** A cluster whose nodes are all stopped after each test. */
export function useCluster(): Cluster {
  const c = new Cluster();
  afterEach(() => c.stopAll());
  return c;
}

/** Where `app` runs according to `m`'s application controller: `'local'`, a node name, or undefined. */
export function where(m: Member, app: string): string | undefined {
  return m.node.application.whereRunning(app);
}

/** True when `app` is listed by `whichApplications()` on `m`. */
export function runsOn(m: Member, app: string): boolean {
  return m.node.application.whichApplications().some((a) => a.name === app);
}

/** The members (by node name) where `app` runs locally right now. */
export function runners(ms: readonly Member[], app: string): string[] {
  return ms.filter((m) => !m.node.stopped && m.node.application.whereRunning(app) === 'local').map((m) => m.node.name);
}

/** Waits until `app` runs on exactly `expected` among `ms`, and every live member's controller agrees. */
export async function waitRunsOnly(ms: readonly Member[], app: string, expected: string, timeoutMs = 5000): Promise<void> {
  await waitFor(
    () => {
      const r = runners(ms, app);
      if (r.length !== 1 || r[0] !== expected) return false;
      return ms.every((m) => m.node.stopped || m.node.name === expected || m.node.application.whereRunning(app) === expected);
    },
    timeoutMs,
    () => `${app} to run on ${expected} only (now: ${describeRunners(ms, app)})`,
  );
}

/** For error messages: each member's idea of where `app` runs. */
export function describeRunners(ms: readonly Member[], app: string): string {
  return ms.map((m) => `${m.node.name}→${m.node.stopped ? 'stopped' : String(m.node.application.whereRunning(app))}`).join(', ');
}

