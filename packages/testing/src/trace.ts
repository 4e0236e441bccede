/**
 * Traces of the fault explorer: generating one from a seed and a workload, printing and
 * parsing steps. A step is a printed string (`crash a`, `takeover b ctr`); its workload is
 * implied by its kind.
 */
import { SeededRandom } from '@rigil/core';
import { SimError } from './errors.js';
import { APP_NAMES } from './workload_apps.js';
import { LOCK_POOL } from './workload_global.js';

/** One step of a trace, in its printed form (see `parseStep`). */
export type Step = string;

/**
 * What the operations exercise: `net` (faults, `global` register/unregister, message
 * traffic), `global` (+ re-registers and locks), `apps` (+ distributed applications on dist-ac),
 * `all` (both), `apps-quorum` (the `apps` workload with `quorum: 'majority'` on every
 * application; the same steps as `apps` for a seed).
 */
export type Workload = 'net' | 'global' | 'apps' | 'all' | 'apps-quorum';

/** The workloads, for validation. */
export const WORKLOADS: readonly Workload[] = ['net', 'global', 'apps', 'all', 'apps-quorum'];

/** The pool of global names the operations use. */
export const NAME_POOL = 6;

const FAULT_KINDS = new Set(['cut', 'cut1', 'heal', 'part', 'healall', 'freeze', 'thaw', 'stall', 'crash', 'restart']);
const GLOBAL_KINDS = new Set(['rereg', 'lock', 'lockdie', 'trans']);
const APP_KINDS = new Set(['appstart', 'appstop', 'takeover', 'permit', 'incr']);

/** True when `step` is a fault (not an operation, a run or a checkpoint). */
export function isFault(step: Step): boolean {
  return FAULT_KINDS.has(step.split(' ')[0]!);
}

/** True when the workload includes the `global` operations. */
export function hasGlobal(w: Workload): boolean {
  return w === 'global' || w === 'all';
}

/** True when the workload includes the distributed applications. */
export function hasApps(w: Workload): boolean {
  return w === 'apps' || w === 'all' || w === 'apps-quorum';
}

/** The smallest workload that has every step of `trace` (a step's workload is implied by its kind). */
export function workloadOf(trace: readonly Step[]): Workload {
  let g = false;
  let a = false;
  for (const s of trace) {
    const kind = s.trim().split(/\s+/)[0]!;
    g ||= GLOBAL_KINDS.has(kind);
    a ||= APP_KINDS.has(kind);
  }
  return g && a ? 'all' : g ? 'global' : a ? 'apps' : 'net';
}

/** The node names of a cluster of `n`: `a@a`, `b@b`, … */
export function nodeNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const id = String.fromCharCode(97 + i);
    return `${id}@${id}`;
  });
}

/**
 * Generates the trace of `seed`: `faults` faults, each followed by some operations from random
 * nodes and a run of virtual time, and a heal-and-settle checkpoint every `checkpointEvery`
 * faults and at the end. The `net` operations come first and are drawn as they always were
 * (so a seed's `net` trace does not change); the workload's own operations follow.
 */
export function generateTrace(seed: number, nodes: number, faults: number, checkpointEvery = 10, workload: Workload = 'net'): Step[] {
  // A generator of its own (not the simulation's): the trace does not depend on the run.
  const r = new SeededRandom(seed ^ 0x5eed);
  const ids = nodeNames(nodes).map((n) => n.slice(0, n.indexOf('@')));
  const pick = (): string => ids[r.int(0, ids.length)]!;
  const other = (a: string): string => {
    const rest = ids.filter((x) => x !== a);
    return rest[r.int(0, rest.length)]!;
  };
  const app = (): string => APP_NAMES[r.int(0, APP_NAMES.length)]!;
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
    if (hasGlobal(workload)) {
      for (let i = r.int(0, 3); i > 0; i--) {
        const o = r.int(0, 10);
        const n = pick();
        const l = `l${r.int(0, LOCK_POOL)}`;
        if (o < 2) out.push(`rereg ${n} g${r.int(0, NAME_POOL)}`);
        else if (o < 5) out.push(`lock ${n} ${l} ${r.int(10, 800)}`);
        else if (o < 7) out.push(`lockdie ${n} ${l} ${r.int(10, 800)}`);
        else out.push(`trans ${n} ${l} ${r.int(10, 800)}`);
      }
    }
    if (hasApps(workload)) {
      for (let i = r.int(0, 3); i > 0; i--) {
        const o = r.int(0, 20);
        const n = pick();
        if (o < 3) out.push(`appstart ${n} ${app()}`);
        else if (o < 4) out.push(`appstop ${n} ${app()}`);
        else if (o < 7) out.push(`takeover ${n} ${app()}`);
        else if (o < 10) out.push(`permit ${n} ${app()} ${r.int(0, 2) === 0 ? 'false' : 'true'}`);
        else out.push(`incr ${n} ${r.int(1, 6)}`);
      }
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
  return t.split(/[;\n]/).map((s) => s.trim()).filter((s) => s !== '');
}

/** The inline form of a trace (`;`-separated), as `--replay` takes it. */
export function formatTrace(trace: readonly Step[]): string {
  return trace.join(';');
}

/** A parsed step: its kind and arguments. */
export interface Parsed {
  readonly kind: string;
  readonly args: string[];
}

/** Parses and checks one step; throws `ERR_SIM_BAD_ARG` for a malformed one. */
export function parseStep(step: Step, nodes: number): Parsed {
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
  const arity = (k: number): void => {
    if (args.length !== k) bad();
  };
  const appName = (x: string | undefined): void => {
    if (!(APP_NAMES as readonly (string | undefined)[]).includes(x)) bad();
  };
  switch (kind) {
    case 'cut':
    case 'cut1':
    case 'heal':
      node(args[0]);
      node(args[1]);
      if (args[0] === args[1]) bad();
      arity(2);
      break;
    case 'part': {
      const groups = (args[0] ?? '').split('|').map((g) => g.split(',').filter((x) => x !== ''));
      if (groups.length < 2) bad();
      arity(1);
      for (const g of groups) for (const x of g) node(x);
      break;
    }
    case 'healall':
    case 'settle':
      arity(0);
      break;
    case 'freeze':
    case 'thaw':
    case 'crash':
    case 'restart':
      node(args[0]);
      arity(1);
      break;
    case 'stall':
      node(args[0]);
      num(args[1]);
      arity(2);
      break;
    case 'reg':
    case 'unreg':
    case 'rereg':
      node(args[0]);
      arity(2);
      if (!/^[\w-]+$/.test(args[1]!)) bad();
      break;
    case 'send':
      node(args[0]);
      node(args[1]);
      num(args[2]);
      arity(3);
      break;
    case 'lock':
    case 'lockdie':
    case 'trans':
      node(args[0]);
      if (!/^l\d+$/.test(args[1] ?? '')) bad();
      num(args[2]);
      arity(3);
      break;
    case 'appstart':
    case 'appstop':
    case 'takeover':
      node(args[0]);
      appName(args[1]);
      arity(2);
      break;
    case 'permit':
      node(args[0]);
      appName(args[1]);
      if (args[2] !== 'true' && args[2] !== 'false') bad();
      arity(3);
      break;
    case 'incr':
      node(args[0]);
      num(args[1]);
      arity(2);
      break;
    case 'run':
      num(args[0]);
      arity(1);
      break;
    default:
      bad();
  }
  return { kind, args };
}
