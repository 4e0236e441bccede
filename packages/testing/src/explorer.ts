/**
 * The fault explorer: drives a simulated cluster (`Simulation`) through a random schedule of
 * faults (cuts one-way and two-way, partitions, heals, freezes and thaws, stalls, crashes and
 * restarts) and operations from random nodes — chosen by the *workload*: `net` (`global`
 * register/unregister, message traffic with sequence numbers), `global` (+ re-registers and
 * locks), `apps` (+ three distributed applications on dist-ac: start, stop, takeover, permit,
 * counter increments), `all` — with periodic heal-and-settle checkpoints, and checks invariants
 * by name. A schedule is a *trace*: a list of steps generated up front from the seed, so a run
 * is a function of `(seed, workload, trace)` — which makes a failing run replayable and
 * shrinkable (delete steps while the same invariant still fails, replaying the reduced trace
 * from the same seed).
 *
 * Files: `trace.ts` (generating, printing, parsing steps), `run.ts` (one run on a fresh
 * cluster, checkpoints), `invariants.ts` (I1–I7), `workload_global.ts`, `workload_apps.ts`.
 */
import { SimError } from './errors.js';
import { builtin, DEFAULT_INVARIANTS, WORKLOAD_OF_INVARIANT } from './invariants.js';
import { runTrace } from './run.js';
import { generateTrace, hasApps, hasGlobal, isFault, parseStep, workloadOf, WORKLOADS, type Step, type Workload } from './trace.js';
import type { Invariant, Violation } from './types.js';

export { generateTrace, parseTrace, formatTrace, isFault, nodeNames, workloadOf, WORKLOADS, type Step, type Workload } from './trace.js';
export type { CheckContext, Invariant, Observations, Violation } from './types.js';
export { IMPLEMENTED_INVARIANTS, PENDING_INVARIANTS, DEFAULT_INVARIANTS } from './invariants.js';

/** Options of `explore`. */
export interface ExploreOptions {
  readonly seed: number;
  /** Cluster size (default 5). */
  readonly nodes?: number;
  /** Number of faults in a generated trace (default 100). Ignored with `trace`. */
  readonly faults?: number;
  /**
   * What the operations exercise (default `net`; with `trace`, the smallest workload that has
   * every step). Steps of a workload the run does not have are skipped.
   */
  readonly workload?: Workload;
  /** Invariants: names of the built-in ones (`IMPLEMENTED_INVARIANTS`) or custom ones. Default: the workload's (`DEFAULT_INVARIANTS`). */
  readonly invariants?: ReadonlyArray<string | Invariant>;
  /** A heal-and-settle checkpoint after every this many faults (default 10). */
  readonly checkpointEvery?: number;
  /** Replay this trace instead of generating one from the seed. */
  readonly trace?: readonly Step[];
  /** Shrink a failing trace (default true). */
  readonly shrink?: boolean;
  /** `tickTime` of the nodes (default 1000 ms). */
  readonly tickTime?: number;
  /** Write the first run's event log (with the `DEBUG`-enabled `rigil:*` lines, in virtual time) to this file. */
  readonly logFile?: string;
}

/** The outcome of `explore`. */
export interface ExploreResult {
  readonly seed: number;
  readonly nodes: number;
  readonly workload: Workload;
  readonly trace: readonly Step[];
  /** Faults in the trace. */
  readonly faults: number;
  readonly violation?: Violation;
  /** The shrunk trace (only when a violation was found and shrinking was on). */
  readonly shrunk?: readonly Step[];
  /** Replays the shrinker made. */
  readonly replays: number;
  /** Sequenced messages delivered in the (first) run. */
  readonly delivered: number;
  /** Virtual ms of the (first) run. */
  readonly virtualMs: number;
  /** Real ms of the (first) run. */
  readonly realMs: number;
}

/**
 * Resolves invariant names to invariants; throws `ERR_SIM_BAD_ARG` for an unknown one, or
 * (with `workload`) for one that needs a workload the run does not have.
 */
export function resolveInvariants(list: ReadonlyArray<string | Invariant>, workload?: Workload): Invariant[] {
  return list.map((i) => {
    if (typeof i !== 'string') return i;
    const inv = builtin(i);
    const needs = WORKLOAD_OF_INVARIANT[i];
    if (workload !== undefined && needs !== undefined && !(needs === 'apps' ? hasApps(workload) : hasGlobal(workload))) {
      throw new SimError('ERR_SIM_BAD_ARG', `invariant ${i} needs the ${needs} workload (or all); this run's workload is ${workload}`);
    }
    return inv;
  });
}

/**
 * Explores one seed: generates its trace (or takes `trace`), runs it on a fresh simulated
 * cluster, checks the invariants after every step and every checkpoint, and on a violation
 * shrinks the trace (greedy deletion, replaying from the same seed). No OTP counterpart.
 */
export async function explore(options: ExploreOptions): Promise<ExploreResult> {
  const nodes = options.nodes ?? 5;
  if (!Number.isSafeInteger(options.seed)) throw new SimError('ERR_SIM_BAD_ARG', `seed must be an integer, got ${String(options.seed)}`);
  if (!(Number.isInteger(nodes) && nodes >= 2 && nodes <= 26)) throw new SimError('ERR_SIM_BAD_ARG', `nodes must be an integer in 2..26, got ${String(nodes)}`);
  if (options.workload !== undefined && !WORKLOADS.includes(options.workload)) throw new SimError('ERR_SIM_BAD_ARG', `unknown workload ${JSON.stringify(options.workload)} (one of ${WORKLOADS.join(', ')})`);
  const workload = options.workload ?? (options.trace !== undefined ? workloadOf(options.trace) : 'net');
  const invariants = resolveInvariants(options.invariants ?? [...DEFAULT_INVARIANTS[workload]], workload);
  const trace = options.trace !== undefined ? [...options.trace] : generateTrace(options.seed, nodes, options.faults ?? 100, options.checkpointEvery ?? 10, workload);
  for (const s of trace) parseStep(s, nodes);
  const run = (t: readonly Step[]): ReturnType<typeof runTrace> => runTrace({ seed: options.seed, nodes, trace: t, invariants, tickTime: options.tickTime ?? 1000, workload });
  const t0 = performance.now();
  const first = await runTrace({ seed: options.seed, nodes, trace, invariants, tickTime: options.tickTime ?? 1000, workload, ...(options.logFile !== undefined ? { logFile: options.logFile } : {}) });
  const realMs = performance.now() - t0;
  const base = { seed: options.seed, nodes, workload, trace, faults: trace.filter(isFault).length, virtualMs: first.virtualMs, delivered: first.delivered, realMs };
  if (first.violation === undefined) return { ...base, replays: 0 };
  if (options.shrink === false) return { ...base, violation: first.violation, replays: 0 };
  const { shrunk, replays } = await shrinkTrace(trace, first.violation, run);
  return { ...base, violation: first.violation, shrunk, replays };
}

/**
 * Shrinks a failing trace: cuts it after the failing step (keeping a final checkpoint), then
 * deletes chunks of steps — halves, quarters, … single steps — while the same invariant still
 * fails on a replay from the same seed.
 */
async function shrinkTrace(trace: readonly Step[], v: Violation, run: (t: readonly Step[]) => ReturnType<typeof runTrace>): Promise<{ shrunk: Step[]; replays: number }> {
  let replays = 0;
  const fails = async (t: Step[]): Promise<boolean> => {
    replays++;
    return (await run(t)).violation?.invariant === v.invariant;
  };
  let cur = trace.slice(0, v.step + 1);
  if (cur[cur.length - 1] !== 'settle') cur.push('settle');
  if (!(await fails(cur))) cur = [...trace];
  for (let chunk = Math.max(1, Math.floor(cur.length / 2)); chunk >= 1; chunk = Math.floor(chunk / 2)) {
    for (let i = 0; i < cur.length; ) {
      const cand = [...cur.slice(0, i), ...cur.slice(i + chunk)];
      if (cand.length > 0 && (await fails(cand))) cur = cand;
      else i += chunk;
    }
  }
  return { shrunk: cur, replays };
}
