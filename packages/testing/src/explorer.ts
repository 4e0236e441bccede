/**
 * The fault explorer: drives a simulated cluster (`Simulation`) through a random schedule of
 * faults (cuts one-way and two-way, partitions, heals, freezes and thaws, stalls, crashes and
 * restarts) and operations from random nodes (`global` register/unregister, message traffic
 * with sequence numbers), with periodic heal-and-settle checkpoints, and checks invariants by
 * name. A schedule is a *trace*: a list of steps generated up front from the seed, so a run is
 * a function of `(seed, trace)` — which makes a failing run replayable and shrinkable (delete
 * steps while the same invariant still fails, replaying the reduced trace from the same seed).
 *
 * A checkpoint heals everything, thaws and restarts every node, then only runs: the nodes'
 * own redials (reconnect for life) must re-form the full mesh and hold it for
 * `SETTLE_STABLE_MS` within `SETTLE_MAX_MS`, so I3-mesh tests reconnection itself. Steps that do not apply when they come (freezing a crashed node,
 * thawing a running one) are skipped, deterministically, so any sub-trace is a valid trace.
 */
import { SeededRandom, type Pid, type Report } from '@rigil/core';
import type { DistNode } from '@rigil/net';
import { SimError } from './errors.js';
import { Simulation } from './simulation.js';

/** One step of a trace, in its printed form (see `parseStep`). */
export type Step = string;

/** What an invariant sees when it is checked. */
export interface CheckContext {
  readonly sim: Simulation;
  /** Every node name of the cluster (up or not). */
  readonly names: readonly string[];
  /** `'step'` after every step; `'settle'` after a heal-and-settle checkpoint. */
  readonly phase: 'step' | 'settle';
  /** The steps applied so far (skipped ones excluded). */
  readonly applied: readonly Step[];
  /** The explorer's observations (reports, rejections, order violations). */
  readonly seen: Observations;
}

/** An invariant: returns a description of the violation, or undefined when it holds. */
export interface Invariant {
  readonly name: string;
  check(ctx: CheckContext): string | undefined;
}

/** What the explorer records while it runs. */
export interface Observations {
  /** Reports from system servers (kernel_sup, rex, global_name_server) that crashed or were restarted. */
  readonly systemReports: string[];
  /** Unhandled promise rejections seen during the run. */
  readonly rejections: unknown[];
  /** Per-pair order violations (I6). */
  readonly orderViolations: string[];
  /** Names the operations may have registered (for I7's bound). */
  readonly nameCount: number;
  /** Sequenced messages the sinks received (traffic that got through). */
  delivered: number;
}

/** Options of `explore`. */
export interface ExploreOptions {
  readonly seed: number;
  /** Cluster size (default 5). */
  readonly nodes?: number;
  /** Number of faults in a generated trace (default 100). Ignored with `trace`. */
  readonly faults?: number;
  /** Invariants: names of the built-in ones (`IMPLEMENTED_INVARIANTS`) or custom ones. Default: all built-in. */
  readonly invariants?: ReadonlyArray<string | Invariant>;
  /** A heal-and-settle checkpoint after every this many faults (default 10). */
  readonly checkpointEvery?: number;
  /** Replay this trace instead of generating one from the seed. */
  readonly trace?: readonly Step[];
  /** Shrink a failing trace (default true). */
  readonly shrink?: boolean;
  /** `tickTime` of the nodes (default 1000 ms). */
  readonly tickTime?: number;
}

/** A violated invariant. */
export interface Violation {
  readonly invariant: string;
  readonly message: string;
  /** Index in the trace of the step after which it was seen. */
  readonly step: number;
}

/** The outcome of `explore`. */
export interface ExploreResult {
  readonly seed: number;
  readonly nodes: number;
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

/** Names of the built-in invariants that are implemented. */
export const IMPLEMENTED_INVARIANTS = ['I3-mesh', 'I4', 'I6', 'I7'] as const;
/** Names of issue 12's invariants that are not implemented yet (rejected by `explore`). */
export const PENDING_INVARIANTS = ['I1', 'I2', 'I3-names', 'I3-apps', 'I5'] as const;

/** Registered names of the system servers whose crash is an I4 violation. */
const SYSTEM_SERVERS = new Set(['kernel_sup', 'rex', 'global_name_server']);
/** The pool of global names the operations use. */
const NAME_POOL = 6;
/** Virtual time a checkpoint may take to re-form the full mesh. */
const SETTLE_MAX_MS = 30_000;
/** The mesh must hold this long to count as settled. */
const SETTLE_STABLE_MS = 1_000;

const FAULT_KINDS = new Set(['cut', 'cut1', 'heal', 'part', 'healall', 'freeze', 'thaw', 'stall', 'crash', 'restart']);

/** True when `step` is a fault (not an operation, a run or a checkpoint). */
export function isFault(step: Step): boolean {
  return FAULT_KINDS.has(step.split(' ')[0]!);
}

/** The node names of a cluster of `n`: `a@a`, `b@b`, … */
export function nodeNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const id = String.fromCharCode(97 + i);
    return `${id}@${id}`;
  });
}

/**
 * Generates the trace of `seed`: `faults` faults, each followed by a run of virtual time and
 * some operations, and a heal-and-settle checkpoint every `checkpointEvery` faults and at the end.
 * Printed steps: `cut a b`, `cut1 a b` (a → b only), `heal a b`, `part a,b|c,d,e`, `healall`,
 * `freeze a`, `thaw a`, `stall a MS`, `crash a`, `restart a`, `reg a NAME`, `unreg a NAME`,
 * `send a b COUNT`, `run MS`, `settle` (ids are node letters).
 */
export function generateTrace(seed: number, nodes: number, faults: number, checkpointEvery = 10): Step[] {
  // A generator of its own (not the simulation's): the trace does not depend on the run.
  const r = new SeededRandom(seed ^ 0x5eed);
  const ids = nodeNames(nodes).map((n) => n.slice(0, n.indexOf('@')));
  const pick = (): string => ids[r.int(0, ids.length)]!;
  const other = (a: string): string => {
    const rest = ids.filter((x) => x !== a);
    return rest[r.int(0, rest.length)]!;
  };
  const out: Step[] = [];
  for (let f = 1; f <= faults; f++) {
    const roll = r.int(0, 100);
    const a = pick();
    if (roll < 18) out.push(`cut ${a} ${other(a)}`);
    else if (roll < 28) out.push(`cut1 ${a} ${other(a)}`);
    else if (roll < 40) out.push(`heal ${a} ${other(a)}`);
    else if (roll < 46) {
      const shuffled = [...ids].sort(() => r.float() - 0.5);
      const k = r.int(1, ids.length);
      out.push(`part ${shuffled.slice(0, k).sort().join(',')}|${shuffled.slice(k).sort().join(',')}`);
    } else if (roll < 52) out.push('healall');
    else if (roll < 62) out.push(`freeze ${a}`);
    else if (roll < 72) out.push(`thaw ${a}`);
    else if (roll < 80) out.push(`stall ${a} ${r.int(100, 3000)}`);
    else if (roll < 90) out.push(`crash ${a}`);
    else out.push(`restart ${a}`);
    // Operations from random nodes, then some virtual time.
    const ops = r.int(0, 4);
    for (let i = 0; i < ops; i++) {
      const o = r.int(0, 10);
      const n = pick();
      if (o < 3) out.push(`reg ${n} g${r.int(0, NAME_POOL)}`);
      else if (o < 4) out.push(`unreg ${n} g${r.int(0, NAME_POOL)}`);
      else out.push(`send ${n} ${other(n)} ${r.int(1, 6)}`);
    }
    out.push(`run ${r.int(20, 1500)}`);
    if (f % checkpointEvery === 0 || f === faults) out.push('settle');
  }
  return out;
}

/** Parses a trace from its inline form (`;`-separated steps) or a JSON array. */
export function parseTrace(text: string): Step[] {
  const t = text.trim();
  if (t.startsWith('[')) {
    const v: unknown = JSON.parse(t);
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new SimError('ERR_SIM_BAD_ARG', 'a JSON trace is an array of step strings');
    return v.map((s: string) => s.trim()).filter((s) => s !== '');
  }
  return t.split(';').map((s) => s.trim()).filter((s) => s !== '');
}

/** The inline form of a trace (`;`-separated), as `--replay` takes it. */
export function formatTrace(trace: readonly Step[]): string {
  return trace.join(';');
}

/** The built-in invariants (see the README for what each checks). */
function builtin(name: string): Invariant {
  switch (name) {
    case 'I3-mesh':
      return {
        name,
        check: (ctx) => {
          if (ctx.phase !== 'settle') return undefined;
          const up = ctx.sim.nodes();
          for (const n of up) {
            const want = up.filter((m) => m !== n).sort().join(' ');
            const got = ctx.sim.node(n).nodes().sort().join(' ');
            if (got !== want) return `after settle ${n} sees [${got}], expected [${want}]`;
          }
          return undefined;
        },
      };
    case 'I4':
      return {
        name,
        check: (ctx) => {
          if (ctx.sim.errors.length > 0) return `exception escaped rigil code: ${String(ctx.sim.errors[0])}`;
          if (ctx.seen.rejections.length > 0) return `unhandled rejection: ${String(ctx.seen.rejections[0])}`;
          if (ctx.seen.systemReports.length > 0) return `system server report: ${ctx.seen.systemReports[0]}`;
          return undefined;
        },
      };
    case 'I6':
      return { name, check: (ctx) => ctx.seen.orderViolations[0] };
    case 'I7':
      return {
        name,
        check: (ctx) => {
          if (ctx.phase !== 'settle') return undefined;
          const n = ctx.names.length;
          // Per-peer tables hold at most a few entries per node ever known; global's at most one per name.
          const netBound = 4 * n;
          const pidBound = 64 * n;
          const nameBound = 2 * ctx.seen.nameCount + 8;
          for (const name of ctx.sim.nodes()) {
            const node = ctx.sim.node(name);
            for (const [k, v] of Object.entries(node.net.internalSizes())) {
              const bound = k === 'pidCachePids' || k === 'acceptedRefs' || k === 'allMonitors' || k === 'subscribers' ? pidBound : netBound;
              if (v > bound) return `${name}: net_kernel ${k} has ${v} entries after settle (bound ${bound})`;
            }
            for (const [k, v] of Object.entries(node.global.internalSizes())) {
              if (v > nameBound) return `${name}: global ${k} has ${v} entries after settle (bound ${nameBound})`;
            }
          }
          return undefined;
        },
      };
    default:
      if ((PENDING_INVARIANTS as readonly string[]).includes(name)) throw new SimError('ERR_SIM_BAD_ARG', `invariant ${name} is not implemented yet (implemented: ${IMPLEMENTED_INVARIANTS.join(', ')})`);
      throw new SimError('ERR_SIM_BAD_ARG', `unknown invariant ${JSON.stringify(name)} (implemented: ${IMPLEMENTED_INVARIANTS.join(', ')})`);
  }
}

/** Resolves invariant names to invariants; throws `ERR_SIM_BAD_ARG` for one not implemented. */
export function resolveInvariants(list: ReadonlyArray<string | Invariant>): Invariant[] {
  return list.map((i) => (typeof i === 'string' ? builtin(i) : i));
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
  const invariants = resolveInvariants(options.invariants ?? [...IMPLEMENTED_INVARIANTS]);
  const trace = options.trace !== undefined ? [...options.trace] : generateTrace(options.seed, nodes, options.faults ?? 100, options.checkpointEvery ?? 10);
  for (const s of trace) parseStep(s, nodes);
  const tickTime = options.tickTime ?? 1000;
  const t0 = performance.now();
  const first = await runTrace(options.seed, nodes, trace, invariants, tickTime);
  const realMs = performance.now() - t0;
  const base = { seed: options.seed, nodes, trace, faults: trace.filter(isFault).length, virtualMs: first.virtualMs, delivered: first.delivered, realMs };
  if (first.violation === undefined) return { ...base, replays: 0 };
  if (options.shrink === false) return { ...base, violation: first.violation, replays: 0 };
  const { shrunk, replays } = await shrinkTrace(options.seed, nodes, trace, first.violation, invariants, tickTime);
  return { ...base, violation: first.violation, shrunk, replays };
}

/**
 * Shrinks a failing trace: cuts it after the failing step (keeping a final checkpoint), then
 * deletes chunks of steps — halves, quarters, … single steps — while the same invariant still
 * fails on a replay from the same seed.
 */
async function shrinkTrace(seed: number, nodes: number, trace: readonly Step[], v: Violation, invariants: Invariant[], tickTime: number): Promise<{ shrunk: Step[]; replays: number }> {
  let replays = 0;
  const fails = async (t: Step[]): Promise<boolean> => {
    replays++;
    const r = await runTrace(seed, nodes, t, invariants, tickTime);
    return r.violation?.invariant === v.invariant;
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

interface Parsed {
  readonly kind: string;
  readonly args: string[];
}

/** Parses and checks one step; throws `ERR_SIM_BAD_ARG` for a malformed one. */
function parseStep(step: Step, nodes: number): Parsed {
  const [kind = '', ...args] = step.trim().split(/\s+/);
  const ids = new Set(nodeNames(nodes).map((n) => n.slice(0, n.indexOf('@'))));
  const bad = (): never => {
    throw new SimError('ERR_SIM_BAD_ARG', `bad trace step ${JSON.stringify(step)} for ${nodes} nodes`);
  };
  const node = (x: string | undefined): void => {
    if (x === undefined || !ids.has(x)) bad();
  };
  const num = (x: string | undefined): void => {
    if (x === undefined || !/^\d+$/.test(x)) bad();
  };
  switch (kind) {
    case 'cut':
    case 'cut1':
    case 'heal':
      node(args[0]);
      node(args[1]);
      if (args[0] === args[1] || args.length !== 2) bad();
      break;
    case 'part': {
      const groups = (args[0] ?? '').split('|').map((g) => g.split(',').filter((x) => x !== ''));
      if (groups.length < 2 || args.length !== 1) bad();
      for (const g of groups) for (const x of g) node(x);
      break;
    }
    case 'healall':
    case 'settle':
      if (args.length !== 0) bad();
      break;
    case 'freeze':
    case 'thaw':
    case 'crash':
    case 'restart':
      node(args[0]);
      if (args.length !== 1) bad();
      break;
    case 'stall':
      node(args[0]);
      num(args[1]);
      break;
    case 'reg':
    case 'unreg':
      node(args[0]);
      if (args.length !== 2 || !/^[\w-]+$/.test(args[1]!)) bad();
      break;
    case 'send':
      node(args[0]);
      node(args[1]);
      num(args[2]);
      break;
    case 'run':
      num(args[0]);
      break;
    default:
      bad();
  }
  return { kind, args };
}

interface RunResult {
  readonly violation?: Violation;
  readonly virtualMs: number;
  readonly delivered: number;
}

/** Runs one trace from one seed on a fresh cluster; stops at the first violation. */
async function runTrace(seed: number, n: number, trace: readonly Step[], invariants: Invariant[], tickTime: number): Promise<RunResult> {
  const sim = new Simulation({ seed, logFrames: false });
  const names = nodeNames(n);
  const full = (id: string): string => `${id}@${id}`;
  const systemReports: string[] = [];
  const rejections: unknown[] = [];
  const orderViolations: string[] = [];
  const seen: Observations = { systemReports, rejections, orderViolations, nameCount: NAME_POOL, delivered: 0 };
  const applied: Step[] = [];
  /** Next sequence number per (sender node incarnation, receiver node). */
  const nextSeq = new Map<string, number>();
  const onRejection = (reason: unknown): void => {
    rejections.push(reason);
  };
  process.on('unhandledRejection', onRejection);

  /** Per-incarnation setup: a sink checking per-sender order, and report watching. */
  const equip = (node: DistNode): void => {
    node.onReport((r: Report) => {
      const sys = r.kind === 'kernel' || (typeof r.name === 'string' && SYSTEM_SERVERS.has(r.name));
      if (sys) systemReports.push(`${node.name} ${r.kind} ${r.name ?? ''}: ${r.message}`);
    });
    const last = new Map<string, number>();
    const pid: Pid = node.spawn(async (self) => {
      for (;;) {
        const m = (await self.receive()) as { from: string; seq: number };
        const prev = last.get(m.from);
        if (prev !== undefined && m.seq <= prev) orderViolations.push(`${node.name} got seq ${m.seq} from ${m.from} after ${prev}`);
        last.set(m.from, m.seq);
        seen.delivered++;
      }
    });
    node.register('sink', pid);
  };
  const up = (name: string): boolean => sim.isUp(name);
  const running = (name: string): boolean => sim.isUp(name) && !sim.isFrozen(name);
  const ignore = (p: Promise<unknown>): void => {
    p.catch(() => undefined);
  };

  const settle = async (): Promise<void> => {
    for (const name of names) if (up(name) && sim.isFrozen(name)) sim.thaw(name);
    sim.healAll();
    for (const name of names) if (!up(name)) equip(await sim.restart(name));
    // Nobody dials by hand: the nodes' redials must re-form the mesh and keep it for SETTLE_STABLE_MS.
    const t0 = sim.now;
    let stableSince: number | undefined;
    const full = (): boolean => names.every((a) => sim.node(a).nodes().length === names.length - 1);
    while (sim.now - t0 < SETTLE_MAX_MS) {
      await sim.run(100);
      if (!full()) stableSince = undefined;
      else if ((stableSince ??= sim.now) <= sim.now - SETTLE_STABLE_MS) return;
    }
  };

  let violation: Violation | undefined;
  let result: RunResult = { virtualMs: 0, delivered: 0 };
  try {
    for (const [i, name] of names.entries()) equip(await sim.startNode({ name, tickTime, seeds: names.slice(0, i) }));
    await settle();
    for (let i = 0; i < trace.length && violation === undefined; i++) {
      const step = trace[i]!;
      const { kind, args } = parseStep(step, n);
      const [x, y] = [args[0] === undefined ? '' : full(args[0]), args[1] === undefined ? '' : full(args[1])];
      let did = true;
      let phase: 'step' | 'settle' = 'step';
      switch (kind) {
        case 'cut':
        case 'cut1':
          sim.cut(x, y, { oneWay: kind === 'cut1' });
          break;
        case 'heal':
          sim.heal(x, y);
          break;
        case 'part':
          sim.partition(args[0]!.split('|').map((g) => g.split(',').filter((id) => id !== '').map(full)));
          break;
        case 'healall':
          sim.healAll();
          break;
        case 'freeze':
          if (running(x)) sim.freeze(x);
          else did = false;
          break;
        case 'thaw':
          if (up(x) && sim.isFrozen(x)) sim.thaw(x);
          else did = false;
          break;
        case 'stall':
          if (running(x)) sim.stall(x, Number(args[1]));
          else did = false;
          break;
        case 'crash':
          if (up(x)) sim.crash(x);
          else did = false;
          break;
        case 'restart':
          if (!up(x)) equip(await sim.restart(x));
          else did = false;
          break;
        case 'reg':
          if (running(x)) {
            const node = sim.node(x);
            const pid = node.spawn(async (self) => {
              for (;;) await self.receive();
            });
            ignore(node.global.register(args[1]!, pid));
          } else did = false;
          break;
        case 'unreg':
          if (running(x)) ignore(sim.node(x).global.unregister(args[1]!));
          else did = false;
          break;
        case 'send':
          if (running(x)) {
            const node = sim.node(x);
            const from = `${x}#${node.creation}`;
            const key = `${from}>${y}`;
            for (let k = 0; k < Number(args[2]); k++) {
              const seq = nextSeq.get(key) ?? 0;
              nextSeq.set(key, seq + 1);
              node.send(['sink', y], { from, seq });
            }
          } else did = false;
          break;
        case 'run':
          await sim.run(Number(args[0]));
          break;
        case 'settle':
          await settle();
          phase = 'settle';
          break;
      }
      if (!did) continue;
      applied.push(step);
      const ctx: CheckContext = { sim, names, phase, applied, seen };
      for (const inv of invariants) {
        const msg = inv.check(ctx);
        if (msg !== undefined) {
          violation = { invariant: inv.name, message: msg, step: i };
          break;
        }
      }
    }
  } finally {
    const virtualMs = sim.now;
    try {
      await sim.stop();
    } finally {
      process.off('unhandledRejection', onRejection);
    }
    result = violation === undefined ? { virtualMs, delivered: seen.delivered } : { violation, virtualMs, delivered: seen.delivered };
  }
  return result;
}
