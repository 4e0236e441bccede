/**
 * The fault explorer's built-in invariants (issue 12's I1–I7), by name. Each returns a
 * description of the violation or undefined; those marked *settle* look only after a
 * heal-and-settle checkpoint (see the README for the exact rules).
 */
import { SimError } from './errors.js';
import type { CheckContext, Invariant } from './types.js';
import { APP_NAMES } from './workload_apps.js';

/** Names of the built-in invariants. */
export const IMPLEMENTED_INVARIANTS = ['I1', 'I2', 'I3-mesh', 'I3-names', 'I3-apps', 'I4', 'I5', 'I6', 'I7', 'Q1', 'Q2', 'Q3'] as const;
/** Names of issue 12's invariants that are not implemented yet (none are left). */
export const PENDING_INVARIANTS = [] as const;
/** The invariants that need a workload: checking them without it checks nothing, so `explore` refuses. */
export const WORKLOAD_OF_INVARIANT: Readonly<Record<string, 'global' | 'apps'>> = { 'I3-names': 'global', I1: 'apps', I2: 'apps', 'I3-apps': 'apps', I5: 'apps', Q1: 'apps', Q2: 'apps', Q3: 'apps' };
/** The invariants checked by default for each workload. */
export const DEFAULT_INVARIANTS = {
  net: ['I3-mesh', 'I4', 'I6', 'I7'],
  global: ['I3-mesh', 'I3-names', 'I4', 'I6', 'I7'],
  apps: ['I1', 'I2', 'I3-mesh', 'I3-apps', 'I4', 'I5', 'I6', 'I7'],
  all: ['I1', 'I2', 'I3-mesh', 'I3-names', 'I3-apps', 'I4', 'I5', 'I6', 'I7'],
  // Q1–Q3 hold only with a quorum (issue 15): they check nothing in the other workloads.
  'apps-quorum': ['I1', 'I2', 'I3-mesh', 'I3-apps', 'I4', 'I5', 'I6', 'I7', 'Q1', 'Q2', 'Q3'],
} as const;

/** How long two instances of one application may overlap while the mesh is whole (a takeover's handover takes one round trip). */
export const DUPLICATE_GRACE_MS = 1000;

/** The built-in invariant `name`; throws `ERR_SIM_BAD_ARG` for an unknown one. */
export function builtin(name: string): Invariant {
  const check = CHECKS[name];
  if (check === undefined) throw new SimError('ERR_SIM_BAD_ARG', `unknown invariant ${JSON.stringify(name)} (implemented: ${IMPLEMENTED_INVARIANTS.join(', ')})`);
  return { name, check };
}

const CHECKS: Record<string, (ctx: CheckContext) => string | undefined> = {
  I1: (ctx) => {
    const m = ctx.apps;
    if (m === undefined) return undefined;
    for (const app of APP_NAMES) {
      const runners = m.runners(app);
      if (runners.length < 2) m.duplicates.delete(app);
      if (ctx.phase === 'settle') {
        if (runners.length > 1) return `after settle ${app} runs on ${runners.join(' and ')}`;
        if (m.irregular(app)) continue;
        const cands = m.candidates(app);
        if (runners.length === 0 && cands.length > 0) return `after settle ${app} runs nowhere (started and permitted on ${cands.join(' ')})`;
        for (const [key, creation] of m.pendingStarts) {
          const [node, a] = key.split(' ') as [string, string];
          if (a === app && ctx.sim.isUp(node) && ctx.sim.node(node).creation === creation) return `after settle application.start(${app}) on ${node} has not returned`;
        }
        continue;
      }
      // During the faults: two instances that stay while the mesh is whole.
      if (runners.length < 2 || !ctx.meshStable) {
        m.duplicates.delete(app);
        continue;
      }
      const key = runners.map((n) => `${n}#${ctx.sim.node(n).creation}`).join(' ');
      const d = m.duplicates.get(app);
      if (d === undefined || d.key !== key) m.duplicates.set(app, { key, since: ctx.sim.now });
      else if (ctx.sim.now - d.since >= DUPLICATE_GRACE_MS) return `${app} runs on ${runners.join(' and ')} for ${ctx.sim.now - d.since} ms while the mesh is whole`;
    }
    return undefined;
  },
  I2: (ctx) => {
    const m = ctx.apps;
    if (m === undefined || ctx.phase !== 'settle') return undefined;
    for (const app of APP_NAMES) {
      if (m.irregular(app)) continue;
      const runners = m.runners(app);
      if (runners.length !== 1) continue; // I1's business
      const allowed = m.allowed(app);
      if (allowed.length > 0 && !allowed.includes(runners[0]!) && !m.keptSinceOutage(app, runners[0]!)) return `after settle ${app} runs on ${runners[0]}, expected ${allowed.join(' or ')} (candidates ${m.candidates(app).join(' ')})`;
    }
    return undefined;
  },
  'I3-mesh': (ctx) => {
    if (ctx.phase !== 'settle') return undefined;
    const up = ctx.sim.nodes();
    for (const n of up) {
      const want = up.filter((m) => m !== n).sort().join(' ');
      const got = ctx.sim.node(n).nodes().sort().join(' ');
      if (got !== want) return `after settle ${n} sees [${got}], expected [${want}]`;
    }
    return undefined;
  },
  'I3-names': (ctx) => {
    if (ctx.phase !== 'settle' || ctx.globalOps === undefined) return undefined;
    const d = ctx.globalOps.namesDisagree();
    return d === undefined ? undefined : `after settle ${d}`;
  },
  'I3-apps': (ctx) => {
    const m = ctx.apps;
    if (m === undefined || ctx.phase !== 'settle') return undefined;
    for (const app of APP_NAMES) {
      const runners = m.runners(app);
      if (runners.length > 1) continue; // I1's business
      const runner = runners[0] ?? null;
      for (const n of ctx.sim.nodes()) {
        const r = m.records(n, app);
        if (r.info !== runner) return `after settle ${n}'s dist-ac says ${app} runs on ${r.info ?? 'no node'} (info), but it runs on ${runner ?? 'no node'}`;
        if (m.started.get(n)!.has(app) && (r.where ?? null) !== runner) return `after settle ${n}'s application controller says ${app} runs on ${r.where ?? 'no node'} (whereRunning), but it runs on ${runner ?? 'no node'}`;
      }
    }
    return undefined;
  },
  I4: (ctx) => {
    if (ctx.sim.errors.length > 0) return `exception escaped rigil code: ${String(ctx.sim.errors[0])}`;
    if (ctx.seen.rejections.length > 0) return `unhandled rejection: ${String(ctx.seen.rejections[0])}`;
    if (ctx.seen.opErrors.length > 0) return `a rigil call threw a non-rigil error: ${String(ctx.seen.opErrors[0])}`;
    if (ctx.seen.systemReports.length > 0) return `system server report: ${ctx.seen.systemReports[0]}`;
    return undefined;
  },
  I5: (ctx) => {
    const m = ctx.apps;
    if (m === undefined) return undefined;
    if (m.lostState.length > 0) return m.lostState[0];
    if (ctx.phase !== 'settle') return undefined;
    for (const n of m.runners('ctr')) {
      const c = m.counterOn(n);
      if (c === undefined) continue;
      const acked = m.acks.get(c.lineage) ?? 0;
      if (c.value < acked) return `after settle ctr on ${n} holds ${c.value} but ${acked} increments of its lineage ${c.lineage} were acknowledged`;
    }
    return undefined;
  },
  I6: (ctx) => ctx.seen.orderViolations[0],
  // Q1: never two running instances on nodes that are not frozen (workload_apps.ts says what counts), at every step and at every start.
  Q1: (ctx) => {
    const m = ctx.apps;
    if (m === undefined) return undefined;
    if (m.q1.length > 0) return m.q1[0];
    for (const app of APP_NAMES) {
      const two = m.twoInstances(app);
      if (two !== undefined) return two;
    }
    return undefined;
  },
  // Q2: epochs strictly increase per application, in the order instances start.
  Q2: (ctx) => ctx.apps?.q2[0],
  // Q3: an instance whose node has no quorum stops within downAfter + one tickTime.
  Q3: (ctx) => ctx.apps?.lateQuorumStop(),
  I7: (ctx) => {
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
