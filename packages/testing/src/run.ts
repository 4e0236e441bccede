/**
 * Runs one trace of the fault explorer on a fresh simulated cluster: boots the nodes (with
 * dist-ac and the applications for the `apps` workload), applies each step, checks the
 * invariants after every step, and settles at checkpoints. Steps that do not apply when they
 * come (freezing a crashed node) are skipped, deterministically, so any sub-trace is valid.
 */
import { writeFileSync } from 'node:fs';
import { RigilError, setLogWriter, type Pid, type Report } from '@rigil/core';
import type { DistNode } from '@rigil/net';
import type { CheckContext, Invariant, Observations, Violation } from './types.js';
import { Simulation } from './simulation.js';
import { hasApps, hasGlobal, NAME_POOL, nodeNames, parseStep, type Step, type Workload } from './trace.js';
import { AppsModel, APP_NAMES } from './workload_apps.js';
import { GlobalOps, idle } from './workload_global.js';

/** Registered names of the system servers whose crash is an I4 violation. */
const SYSTEM_SERVERS = new Set(['kernel_sup', 'rex', 'global_name_server', 'dist_ac']);
/** Virtual time a checkpoint may take to re-form the full mesh. */
const SETTLE_MAX_MS = 30_000;
/** The mesh must hold this long to count as settled. */
const SETTLE_STABLE_MS = 1_000;
/** Virtual time a checkpoint may take, once the mesh is whole, for names and applications to settle (failover timeouts, takeovers). */
const SETTLE_APPS_MAX_MS = 30_000;
/** Names and placements must hold this long to count as settled. */
const SETTLE_APPS_STABLE_MS = 500;
/** The mesh counts as stable for I1 once it has been whole, with no node frozen, this long. */
export const MESH_GRACE_MS = 3_000;

/** Options of one run. */
export interface RunOptions {
  readonly seed: number;
  readonly nodes: number;
  readonly trace: readonly Step[];
  readonly invariants: readonly Invariant[];
  readonly tickTime: number;
  readonly workload: Workload;
  /**
   * Write the run's event log here at its end: the simulation's log, each step, and the lines
   * of the `rigil:*` loggers that `DEBUG` enables, all stamped with virtual time.
   */
  readonly logFile?: string;
}

/** What a run found. */
export interface RunResult {
  readonly violation?: Violation;
  readonly virtualMs: number;
  readonly delivered: number;
}

/** Runs one trace from one seed on a fresh cluster; stops at the first violation. */
export async function runTrace(o: RunOptions): Promise<RunResult> {
  const run = new Run(o);
  try {
    return await run.play();
  } finally {
    await run.close();
  }
}

class Run {
  private readonly sim: Simulation;
  private readonly names: string[];
  private readonly seen: Observations;
  private readonly applied: Step[] = [];
  /** Next sequence number per (sender node incarnation, receiver node). */
  private readonly nextSeq = new Map<string, number>();
  private readonly apps: AppsModel | undefined;
  private readonly globalOps: GlobalOps | undefined;
  /** Virtual time of the last change of the mesh (a node event, crash, restart, freeze, thaw). */
  private lastMeshChange = 0;
  private readonly onRejection = (reason: unknown): void => {
    this.seen.rejections.push(reason);
  };
  /** Records a failed rigil call made by an operation: only a non-rigil error (a crash, e.g. a RangeError) is an I4 violation. */
  private readonly record = (e: unknown): void => {
    if (!(e instanceof RigilError)) this.seen.opErrors.push(e);
  };

  constructor(private readonly o: RunOptions) {
    this.sim = new Simulation({ seed: o.seed, logFrames: false });
    this.names = nodeNames(o.nodes);
    this.apps = hasApps(o.workload) ? new AppsModel(this.sim, this.names, o.workload === 'apps-quorum' ? { quorum: 'majority', tickTime: o.tickTime } : {}) : undefined;
    this.globalOps = hasGlobal(o.workload) ? new GlobalOps(this.sim) : undefined;
    this.seen = { systemReports: [], rejections: [], orderViolations: [], opErrors: [], nameCount: NAME_POOL + (this.apps !== undefined ? 2 : 0), delivered: 0 };
    process.on('unhandledRejection', this.onRejection);
    if (o.logFile !== undefined) setLogWriter((line) => this.sim.note(line));
  }

  async play(): Promise<RunResult> {
    const { sim, names } = this;
    let violation: Violation | undefined;
    const specs = this.apps?.specs();
    for (const [i, name] of names.entries()) {
      const kernel = this.apps?.kernel(name);
      const node = await sim.startNode({ name, tickTime: this.o.tickTime, seeds: names.slice(0, i), ...(kernel !== undefined ? { kernel, apps: specs } : {}) });
      this.equip(node);
    }
    // A release starts its applications at boot, on every node.
    if (this.apps !== undefined) for (const name of names) for (const app of APP_NAMES) this.apps.start(sim.node(name), app, this.record, true);
    await this.settle();
    const trace = this.o.trace;
    for (let i = 0; i < trace.length && violation === undefined; i++) {
      const step = trace[i]!;
      if (this.o.logFile !== undefined) sim.note(`step ${i}: ${step}`);
      const phase = await this.apply(step);
      if (phase === undefined) continue;
      this.applied.push(step);
      const ctx: CheckContext = { sim, names, phase, applied: this.applied, seen: this.seen, meshStable: this.meshStable(), apps: this.apps, globalOps: this.globalOps };
      for (const inv of this.o.invariants) {
        const msg = inv.check(ctx);
        if (msg !== undefined) {
          violation = { invariant: inv.name, message: msg, step: i };
          break;
        }
      }
    }
    const out = { virtualMs: sim.now, delivered: this.seen.delivered };
    return violation === undefined ? out : { ...out, violation };
  }

  async close(): Promise<void> {
    if (this.apps !== undefined) this.apps.closed = true;
    try {
      await this.sim.stop();
    } finally {
      process.off('unhandledRejection', this.onRejection);
      if (this.o.logFile !== undefined) {
        setLogWriter(undefined);
        writeFileSync(this.o.logFile, `${this.sim.log.join('\n')}\n`);
      }
    }
  }

  /** Applies one step; returns the phase to check, or undefined when it was skipped. */
  private async apply(step: Step): Promise<'step' | 'settle' | undefined> {
    const { sim } = this;
    const { kind, args } = parseStep(step, this.o.nodes);
    const full = (id: string | undefined): string => (id === undefined ? '' : `${id}@${id}`);
    const [x, y] = [full(args[0]), full(args[1])];
    const up = (name: string): boolean => sim.isUp(name);
    const running = (name: string): boolean => sim.isUp(name) && !sim.isFrozen(name);
    const changed = (): void => {
      this.lastMeshChange = sim.now;
    };
    switch (kind) {
      case 'cut':
      case 'cut1':
        sim.cut(x, y, { oneWay: kind === 'cut1' });
        return 'step';
      case 'heal':
        sim.heal(x, y);
        return 'step';
      case 'part':
        sim.partition(args[0]!.split('|').map((g) => g.split(',').filter((id) => id !== '').map((id) => full(id))));
        return 'step';
      case 'healall':
        sim.healAll();
        return 'step';
      case 'freeze':
        if (!running(x)) return undefined;
        sim.freeze(x);
        changed();
        return 'step';
      case 'thaw':
        if (!(up(x) && sim.isFrozen(x))) return undefined;
        sim.thaw(x);
        changed();
        return 'step';
      case 'stall':
        if (!running(x)) return undefined;
        sim.stall(x, Number(args[1]));
        changed();
        return 'step';
      case 'crash':
        if (!up(x)) return undefined;
        sim.crash(x);
        this.apps?.crashed(x);
        changed();
        return 'step';
      case 'restart':
        if (up(x)) return undefined;
        await this.restart(x);
        return 'step';
      case 'run':
        await sim.run(Number(args[0]));
        return 'step';
      case 'settle':
        await this.settle();
        return 'settle';
    }
    // Operations: from a running node only (a frozen process runs nothing).
    if (!running(x)) return undefined;
    const node = sim.node(x);
    switch (kind) {
      case 'reg':
        if (this.globalOps !== undefined) this.globalOps.register(node, args[1]!, this.record);
        else node.global.register(args[1]!, idle(node)).catch(this.record);
        break;
      case 'unreg':
        if (this.globalOps !== undefined) this.globalOps.unregister(node, args[1]!, this.record);
        else node.global.unregister(args[1]!).catch(this.record);
        break;
      case 'send': {
        const from = `${x}#${node.creation}`;
        const key = `${from}>${y}`;
        for (let k = 0; k < Number(args[2]); k++) {
          const seq = this.nextSeq.get(key) ?? 0;
          this.nextSeq.set(key, seq + 1);
          node.send(['sink', y], { from, seq });
        }
        break;
      }
      default:
        return this.operate(node, kind, args);
    }
    return 'step';
  }

  /** The `global` and `apps` workloads' operations; skipped when the run has no such workload. */
  private operate(node: DistNode, kind: string, args: string[]): 'step' | undefined {
    const g = this.globalOps;
    const a = this.apps;
    switch (kind) {
      case 'rereg':
        if (g === undefined) return undefined;
        g.reRegister(node, args[1]!, this.record);
        break;
      case 'lock':
      case 'lockdie':
        if (g === undefined) return undefined;
        g.lock(node, args[1]!, Number(args[2]), kind === 'lockdie', this.record);
        break;
      case 'trans':
        if (g === undefined) return undefined;
        g.trans(node, args[1]!, Number(args[2]), this.record);
        break;
      case 'appstart':
        if (a === undefined) return undefined;
        a.start(node, args[1]!, this.record);
        break;
      case 'appstop':
        if (a === undefined) return undefined;
        a.stop(node, args[1]!, this.record);
        break;
      case 'takeover':
        if (a === undefined) return undefined;
        a.takeover(node, args[1]!, this.record);
        break;
      case 'permit':
        if (a === undefined) return undefined;
        a.permit(node, args[1]!, args[2] === 'true', this.record);
        break;
      case 'incr':
        if (a === undefined) return undefined;
        a.increment(node, Number(args[1]));
        break;
      default:
        return undefined;
    }
    return 'step';
  }

  /** Restarts a crashed node; a release starts the applications that were started there before. */
  private async restart(name: string): Promise<void> {
    const node = await this.sim.restart(name);
    this.equip(node);
    this.lastMeshChange = this.sim.now;
    if (this.apps !== undefined) for (const app of APP_NAMES) if (this.apps.started.get(name)!.has(app)) this.apps.start(node, app, this.record, true);
  }

  /** Per-incarnation setup: a sink checking per-sender order, report watching, mesh-change tracking. */
  private equip(node: DistNode): void {
    const { seen } = this;
    node.onReport((r: Report) => {
      const sys = r.kind === 'kernel' || (typeof r.name === 'string' && SYSTEM_SERVERS.has(r.name));
      if (sys) seen.systemReports.push(`${node.name} ${r.kind} ${r.name ?? ''}: ${r.message}`);
    });
    node.onNodeEvent((e) => {
      if (!e.hidden) this.lastMeshChange = this.sim.now;
    });
    this.apps?.watch(node);
    const last = new Map<string, number>();
    const pid: Pid = node.spawn(async (self) => {
      for (;;) {
        const m = (await self.receive()) as { from: string; seq: number };
        const prev = last.get(m.from);
        if (prev !== undefined && m.seq <= prev) seen.orderViolations.push(`${node.name} got seq ${m.seq} from ${m.from} after ${prev}`);
        last.set(m.from, m.seq);
        seen.delivered++;
      }
    });
    node.register('sink', pid);
  }

  /** The whole cluster of running nodes is one mesh, nobody is frozen, and it has not changed for `MESH_GRACE_MS`. */
  private meshStable(): boolean {
    const up = this.sim.nodes();
    if (up.some((n) => this.sim.isFrozen(n))) return false;
    if (!up.every((n) => this.sim.node(n).nodes().length === up.length - 1)) return false;
    return this.sim.now - this.lastMeshChange >= MESH_GRACE_MS;
  }

  /**
   * A checkpoint: thaw, heal and restart everything, then only run — the nodes' own redials
   * (reconnect for life) must re-form the full mesh and hold it for `SETTLE_STABLE_MS` within
   * `SETTLE_MAX_MS`; then, with a workload that has them, give names and applications up to
   * `SETTLE_APPS_MAX_MS` to agree (failover timeouts, takeovers, reconciles) and hold it for
   * `SETTLE_APPS_STABLE_MS`. The invariants judge the outcome: settle never fails by itself.
   */
  private async settle(): Promise<void> {
    const { sim, names } = this;
    for (const name of names) if (sim.isUp(name) && sim.isFrozen(name)) sim.thaw(name);
    sim.healAll();
    for (const name of names) if (!sim.isUp(name)) await this.restart(name);
    const whole = (): boolean => names.every((a) => sim.node(a).nodes().length === names.length - 1);
    if (!(await this.holds(whole, SETTLE_MAX_MS, SETTLE_STABLE_MS))) return;
    if (this.apps === undefined && this.globalOps === undefined) return;
    await this.holds(() => whole() && this.globalOps?.namesDisagree() === undefined && this.appsSettled(), SETTLE_APPS_MAX_MS, SETTLE_APPS_STABLE_MS);
  }

  /** Runs until `pred` has held for `stableMs` (checked every 100 ms), at most `maxMs`; true if it did. */
  private async holds(pred: () => boolean, maxMs: number, stableMs: number): Promise<boolean> {
    const { sim } = this;
    const t0 = sim.now;
    let since: number | undefined;
    while (sim.now - t0 < maxMs) {
      await sim.run(100);
      if (!pred()) since = undefined;
      else if ((since ??= sim.now) <= sim.now - stableMs) return true;
    }
    return false;
  }

  /** Every application runs at most once — exactly once where it should run — and every node's records say where. */
  private appsSettled(): boolean {
    const m = this.apps;
    if (m === undefined) return true;
    for (const app of APP_NAMES) {
      const runners = m.runners(app);
      if (runners.length > 1) return false;
      if (!m.irregular(app) && runners.length === 0 && m.candidates(app).length > 0) return false;
      // A start under way (e.g. a restarted node's boot start, taking the application over)
      // has not settled its placement yet, whether or not some node stopped the application.
      for (const [key] of m.pendingStarts) if (key.endsWith(` ${app}`)) return false;
      // So has a takeover or a permit still under way (seed 15: a permit's takeover).
      if (m.movePending(app)) return false;
      const runner = runners[0] ?? null;
      // What I3-apps judges: every node's dist-ac record, and the application controller's
      // `whereRunning` of every node that started it.
      if (!this.sim.nodes().every((n) => m.records(n, app).info === runner && (!m.started.get(n)!.has(app) || (m.records(n, app).where ?? null) === runner))) return false;
    }
    return true;
  }
}
