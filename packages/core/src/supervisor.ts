/**
 * supervisor: a process that starts, watches and restarts children (OTP's `supervisor`).
 * Semantics: spec §c.
 *
 * A supervisor is a gen_server that traps exits. Children start in order and stop in
 * reverse order; when one dies, the restart strategy decides which are restarted, and
 * restart intensity (more than `intensity` restarts within `period` seconds) decides when the
 * supervisor gives up and exits with `shutdown`.
 *
 * Values follow OTP's shapes: atoms are snake_case strings (`'not_found'`, `'running'`),
 * tagged tuples are objects keyed by the camelCased tag (`{ alreadyStarted: pid }`,
 * `{ invalidRestartType: 'prmanent' }`).
 *
 * @example
 * const sup: SupervisorBehaviour<void> = {
 *   init: () => ({ flags: { strategy: 'one_for_one', intensity: 3, period: 5 },
 *                  children: [worker('cache', cacheServer, undefined)] }),
 * };
 * await supervisor.startLink(self, sup, undefined);
 */
import { coreError } from './errors.js';
import { call as genCall, requireCaller, requireProcess, type Caller, type ServerRef } from './gen.js';
import * as genServer from './gen_server.js';
import type { Node } from './node.js';
import { Pid } from './pid.js';
import type { Process } from './process.js';
import { callbackName, DESCRIBE, type BehaviourDescription } from './internal/process.js';
import { isExit, isQuietReason, reasonFromThrown, type ExitReason } from './reason.js';

/** Restart strategy (OTP's `strategy`). */
export type Strategy = 'one_for_one' | 'one_for_all' | 'rest_for_one' | 'simple_one_for_one';
/** When a child is restarted (OTP's `restart`). */
export type RestartType = 'permanent' | 'transient' | 'temporary';
/** How a child is stopped: kill at once, wait this many ms then kill, or wait forever. */
export type Shutdown = 'brutal_kill' | number | 'infinity';
/** Worker or supervisor (OTP's `type`). */
export type ChildType = 'worker' | 'supervisor';
/** A child's id (OTP: any term; compared with `===`). */
export type ChildId = string | number;

/** Supervisor flags (OTP's `sup_flags()`); defaults: one_for_one, intensity 1, period 5 s. */
export interface SupFlags {
  strategy?: Strategy;
  intensity?: number;
  /** Seconds. */
  period?: number;
}

/** What a child's start function may return. */
export type ChildStartResult =
  | Pid
  | { ok: Pid; info?: unknown }
  | { pid: Pid; info?: unknown }
  | 'ignore'
  | { ok: undefined }
  | { error: ExitReason };

/**
 * Starts a child, linked to the supervisor process `sup` (OTP's `{M, F, A}`); for
 * simple_one_for_one the arguments of `startChild` are appended.
 */
export type ChildStart = (sup: Process, ...extra: any[]) => ChildStartResult | Promise<ChildStartResult>;

/** A child specification (OTP's `child_spec()`). */
export interface ChildSpec {
  id: ChildId;
  start: ChildStart;
  /** Default `permanent`. */
  restart?: RestartType;
  /** Default 5000 for workers, `infinity` for supervisors. */
  shutdown?: Shutdown;
  /** Default `worker`. */
  type?: ChildType;
  /** Names of the modules the child runs, for release handling; default `[String(id)]`. */
  modules?: string[] | 'dynamic';
}

/** A child spec with every default filled in, as `getChildSpec` returns it. */
export interface FullChildSpec {
  readonly id: ChildId;
  readonly start: ChildStart;
  readonly restart: RestartType;
  readonly shutdown: Shutdown;
  readonly type: ChildType;
  readonly modules: string[] | 'dynamic';
}

/** What a supervisor's `init` returns (OTP's `{ok, {SupFlags, [ChildSpec]}} | ignore`). */
export type SupervisorInit = { flags: SupFlags; children: ChildSpec[] } | 'ignore';

/** The callback of a supervisor (OTP's supervisor callback module). */
export interface SupervisorBehaviour<A = undefined> {
  init(args: A, self: Process): SupervisorInit | Promise<SupervisorInit>;
}

/** One row of `whichChildren` (OTP's `{Id, Child, Type, Modules}`). */
export interface ChildInfo {
  readonly id: ChildId | undefined;
  readonly pid: Pid | undefined | 'restarting';
  readonly type: ChildType;
  readonly modules: string[] | 'dynamic';
}

/** What `countChildren` returns (OTP's `[{specs,_},{active,_},{supervisors,_},{workers,_}]`). */
export interface ChildCounts {
  readonly specs: number;
  readonly active: number;
  readonly supervisors: number;
  readonly workers: number;
}

/** Result of `startChild` / `restartChild`. */
export type StartChildResult = { ok: Pid | undefined; info?: unknown } | { error: unknown };

// ---------------------------------------------------------------- public API

/**
 * Starts a supervisor linked to the calling process (OTP's `supervisor:start_link/2,3`).
 * `self` must be the calling process: anything else (a `Node`, say) rejects with `ERR_BADARG`;
 * from outside a process, use `start`.
 */
export function startLink<A>(self: Process, behaviour: SupervisorBehaviour<A>, args: A, options: { name?: string | { global: string } } = {}): Promise<genServer.StartResult> {
  try {
    requireProcess(self, 'supervisor.startLink');
    checkBehaviour(behaviour, 'supervisor.startLink');
  } catch (e) {
    return Promise.reject(e);
  }
  return genServer.startLink(self, SUPERVISOR, { behaviour, args }, { ...options, trapExit: true });
}

/** Starts a supervisor not linked to anyone (for tests and the top of a node's tree). */
export function start<A>(caller: Caller, behaviour: SupervisorBehaviour<A>, args: A, options: { name?: string | { global: string } } = {}): Promise<genServer.StartResult> {
  try {
    requireCaller(caller, 'supervisor.start');
    checkBehaviour(behaviour, 'supervisor.start');
  } catch (e) {
    return Promise.reject(e);
  }
  return genServer.start(caller, SUPERVISOR, { behaviour, args }, { ...options, trapExit: true });
}

function checkBehaviour(behaviour: unknown, api: string): void {
  if (typeof behaviour !== 'object' || behaviour === null || typeof (behaviour as { init?: unknown }).init !== 'function') {
    throw coreError('ERR_BADARG', `${api}: the behaviour must be an object with an init function`, 'badarg');
  }
}

/**
 * Adds and starts a child (OTP's `supervisor:start_child/2`): a spec, or for
 * simple_one_for_one the extra start arguments.
 */
export function startChild(caller: Caller, sup: ServerRef, specOrArgs: ChildSpec | unknown[]): Promise<StartChildResult> {
  return genCall(caller, sup, { startChild: specOrArgs }, Infinity);
}

/** Stops a child, keeping its spec unless temporary (OTP's `supervisor:terminate_child/2`): `'ok'` or `{ error: 'not_found' | 'simple_one_for_one' }`. */
export function terminateChild(caller: Caller, sup: ServerRef, idOrPid: ChildId | Pid): Promise<'ok' | { error: 'not_found' | 'simple_one_for_one' }> {
  return genCall(caller, sup, { terminateChild: idOrPid }, Infinity);
}

/** Restarts a stopped child from its spec (OTP's `supervisor:restart_child/2`). */
export function restartChild(caller: Caller, sup: ServerRef, id: ChildId): Promise<StartChildResult> {
  return genCall(caller, sup, { restartChild: id }, Infinity);
}

/** Deletes a stopped child's spec (OTP's `supervisor:delete_child/2`). */
export function deleteChild(caller: Caller, sup: ServerRef, id: ChildId): Promise<'ok' | { error: 'running' | 'restarting' | 'not_found' | 'simple_one_for_one' }> {
  return genCall(caller, sup, { deleteChild: id }, Infinity);
}

/** Lists the children, in start order (OTP's `supervisor:which_children/1`). */
export function whichChildren(caller: Caller, sup: ServerRef): Promise<ChildInfo[]> {
  return genCall(caller, sup, { whichChildren: true }, Infinity);
}

/** Counts specs, live children, supervisors and workers (OTP's `supervisor:count_children/1`). */
export function countChildren(caller: Caller, sup: ServerRef): Promise<ChildCounts> {
  return genCall(caller, sup, { countChildren: true }, Infinity);
}

/** A child's full spec (OTP's `supervisor:get_childspec/2`): `{ ok: spec }` or `{ error: 'not_found' }`. */
export function getChildSpec(caller: Caller, sup: ServerRef, idOrPid: ChildId | Pid): Promise<{ ok: FullChildSpec } | { error: 'not_found' }> {
  return genCall(caller, sup, { getChildSpec: idOrPid }, Infinity);
}

/** Validates child specs without starting anything (OTP's `supervisor:check_childspecs/1`). */
export function checkChildSpecs(specs: unknown): 'ok' | { error: unknown } {
  if (!Array.isArray(specs)) return { error: { badStartSpec: specs } };
  const seen = new Set<unknown>();
  for (const s of specs) {
    const r = checkSpec(s);
    if ('error' in r) return r;
    if (seen.has(r.ok.id)) return { error: { duplicateChildName: r.ok.id } };
    seen.add(r.ok.id);
  }
  return 'ok';
}

/** A child spec for a gen_server worker started with `startLink` (a convenience, like `?CHILD` macros). */
export function worker<S, A, P extends genServer.Protocol>(
  id: ChildId,
  behaviour: genServer.GenServerBehaviour<S, A, P>,
  args: A,
  options: Omit<ChildSpec, 'id' | 'start'> & { name?: string | { global: string } } = {},
): ChildSpec {
  const { name, ...rest } = options;
  return { id, start: (sup) => genServer.startLink(sup, behaviour, args, name !== undefined ? { name } : {}), ...rest };
}

/** A child spec for a nested supervisor (type `supervisor`, shutdown `infinity`). */
export function supervisorChild<A>(id: ChildId, behaviour: SupervisorBehaviour<A>, args: A, options: Omit<ChildSpec, 'id' | 'start' | 'type'> = {}): ChildSpec {
  return { id, start: (sup) => startLink(sup, behaviour, args), type: 'supervisor', ...options };
}

// ---------------------------------------------------------------- validation

function checkSpec(s: unknown): { ok: FullChildSpec } | { error: unknown } {
  if (typeof s !== 'object' || s === null) return { error: { invalidChildSpec: s } };
  const spec = s as Partial<ChildSpec>;
  if (!('id' in spec) || spec.id === undefined) return { error: 'missing_id' };
  if (!('start' in spec) || spec.start === undefined) return { error: 'missing_start' };
  if (typeof spec.start !== 'function') return { error: { invalidMfa: spec.start } };
  const restart = spec.restart ?? 'permanent';
  if (restart !== 'permanent' && restart !== 'transient' && restart !== 'temporary') return { error: { invalidRestartType: restart } };
  const type = spec.type ?? 'worker';
  if (type !== 'worker' && type !== 'supervisor') return { error: { invalidChildType: type } };
  const shutdown = spec.shutdown ?? (type === 'worker' ? 5000 : 'infinity');
  if (!(shutdown === 'brutal_kill' || shutdown === 'infinity' || (typeof shutdown === 'number' && Number.isInteger(shutdown) && shutdown >= 0))) {
    return { error: { invalidShutdown: shutdown } };
  }
  const modules = spec.modules ?? [String(spec.id)];
  if (modules !== 'dynamic') {
    if (!Array.isArray(modules)) return { error: { invalidModules: modules } };
    for (const m of modules) if (typeof m !== 'string') return { error: { invalidModule: m } };
  }
  return { ok: { id: spec.id, start: spec.start, restart, shutdown, type, modules } };
}

function checkFlags(f: unknown): { ok: Required<SupFlags> } | { error: unknown } {
  if (typeof f !== 'object' || f === null) return { error: { supervisorData: { invalidType: f } } };
  const flags = f as SupFlags;
  const strategy = flags.strategy ?? 'one_for_one';
  if (!['one_for_one', 'one_for_all', 'rest_for_one', 'simple_one_for_one'].includes(strategy)) {
    return { error: { supervisorData: { invalidStrategy: strategy } } };
  }
  const intensity = flags.intensity ?? 1;
  if (!Number.isInteger(intensity) || intensity < 0) return { error: { supervisorData: { invalidIntensity: intensity } } };
  const period = flags.period ?? 5;
  if (!Number.isInteger(period) || period <= 0) return { error: { supervisorData: { invalidPeriod: period } } };
  return { ok: { strategy, intensity, period } };
}

// ---------------------------------------------------------------- the supervisor process

interface SupArgs {
  behaviour: SupervisorBehaviour<unknown>;
  args: unknown;
}

/** A child the supervisor knows (OTP's `#child{}`). */
interface Child {
  /** The live pid, `undefined` when stopped, `'restarting'` while a failed restart is retried. */
  pid: Pid | undefined | 'restarting';
  /** The spec, defaults filled in. */
  readonly spec: FullChildSpec;
  /** Extra start arguments (simple_one_for_one). */
  readonly extra: unknown[];
}

/** The supervisor's state (OTP's `#state{}`). */
interface SupState {
  /** Flags, validated. */
  readonly flags: Required<SupFlags>;
  /** Children in start order (not used for simple_one_for_one). */
  children: Child[];
  /** simple_one_for_one: the template spec. */
  readonly template: FullChildSpec | undefined;
  /** simple_one_for_one: live children by pid. */
  readonly dynamic: Map<Pid, Child>;
  /** Times (seconds) of the restarts within the current period. */
  restarts: number[];
  /** Restarts made since the supervisor started (for introspection; OTP keeps no such count). */
  restartTotal: number;
  /** The callback module's name, if it has one (introspection). */
  readonly module: string | undefined;
}

/**
 * How introspection sees a supervisor (a gen_server whose callbacks are SUPERVISOR): read
 * only when a tool asks, from the state (undefined while init runs).
 */
function describeSupervisor(state: SupState | undefined): BehaviourDescription {
  return { behaviour: 'supervisor', module: state?.module, restarts: state?.restartTotal ?? 0, state };
}

type SupCall =
  | { startChild: ChildSpec | unknown[] }
  | { terminateChild: ChildId | Pid }
  | { restartChild: ChildId }
  | { deleteChild: ChildId }
  | { whichChildren: true }
  | { countChildren: true }
  | { getChildSpec: ChildId | Pid };

/** Message a supervisor casts itself to retry a failed restart (OTP's `try_again_restart`). */
interface TryAgain {
  readonly $sup: 'try_again';
  readonly child: Child;
}

const SUPERVISOR: genServer.GenServerBehaviour<SupState, SupArgs, { call: SupCall; reply: any; cast: TryAgain }> = {
  async init({ behaviour, args }, self) {
    const r = await behaviour.init(args, self);
    if (r === 'ignore') return 'ignore';
    if (typeof r !== 'object' || r === null || !('flags' in r) || !Array.isArray(r.children)) return { stop: { badReturn: r } };
    const f = checkFlags(r.flags);
    if ('error' in f) return { stop: f.error };
    const flags = f.ok;
    const specs: FullChildSpec[] = [];
    for (const s of r.children) {
      const c = checkSpec(s);
      if ('error' in c) return { stop: { startSpec: c.error } };
      if (specs.some((x) => x.id === c.ok.id)) return { stop: { startSpec: { duplicateChildName: c.ok.id } } };
      specs.push(c.ok);
    }
    if (flags.strategy === 'simple_one_for_one') {
      if (specs.length !== 1) return { stop: { badStartSpec: r.children } };
      return { ok: { flags, children: [], template: specs[0], dynamic: new Map(), restarts: [], restartTotal: 0, module: callbackName(behaviour) } };
    }
    const state: SupState = { flags, children: [], template: undefined, dynamic: new Map(), restarts: [], restartTotal: 0, module: callbackName(behaviour) };
    for (const spec of specs) {
      const child: Child = { pid: undefined, spec, extra: [] };
      const res = await startOne(self, child);
      if ('error' in res) {
        report(self, 'start_error', child, res.error);
        await terminateChildren(self, state.children);
        return { stop: { shutdown: { failedToStartChild: spec.id, reason: res.error } } };
      }
      if (res.ok !== undefined || spec.restart !== 'temporary') state.children.push(child);
    }
    return { ok: state };
  },

  async handleCall(req, _from, state, self) {
    if ('startChild' in req) return { reply: await doStartChild(self, state, req.startChild), state };
    if ('terminateChild' in req) return { reply: await doTerminateChild(self, state, req.terminateChild), state };
    if ('restartChild' in req) return { reply: await doRestartChild(self, state, req.restartChild), state };
    if ('deleteChild' in req) return { reply: doDeleteChild(state, req.deleteChild), state };
    if ('whichChildren' in req) return { reply: whichOf(state), state };
    if ('countChildren' in req) return { reply: countOf(state), state };
    if ('getChildSpec' in req) {
      const c = findChild(state, req.getChildSpec);
      return { reply: c !== undefined ? { ok: c.spec } : { error: 'not_found' }, state };
    }
    return { reply: { error: 'badarg' }, state };
  },

  async handleCast(msg, state, self) {
    // Only a child still waiting for its retry is retried (it may have been terminated meanwhile).
    if (msg.$sup === 'try_again' && msg.child.pid === 'restarting') {
      const ok = await restartAfterDeath(self, state, msg.child);
      if (!ok) return { stop: 'shutdown', state };
    }
    return { noreply: state };
  },

  async handleInfo(msg, state, self) {
    if (!isExit(msg)) return { noreply: state };
    const child = childOfPid(state, msg.from);
    if (child === undefined) return { noreply: state };
    const ok = await childDied(self, state, child, msg.reason);
    return ok ? { noreply: state } : { stop: 'shutdown', state };
  },

  async terminate(_reason, state, self) {
    if (state === undefined) return;
    if (state.template !== undefined) await terminateDynamic(self, state);
    else await terminateChildren(self, state.children);
  },
};

// ---------------------------------------------------------------- starting

async function startOne(self: Process, child: Child): Promise<{ ok: Pid | undefined; info?: unknown } | { error: unknown }> {
  let r: unknown;
  try {
    r = await child.spec.start(self, ...child.extra);
  } catch (e) {
    return { error: reasonFromThrown(e) };
  }
  const res = normaliseStart(r);
  if ('ok' in res) child.pid = res.ok;
  return res;
}

function normaliseStart(r: unknown): { ok: Pid | undefined; info?: unknown } | { error: unknown } {
  if (r instanceof Pid) return { ok: r };
  if (r === 'ignore') return { ok: undefined };
  if (typeof r === 'object' && r !== null) {
    const o = r as { ok?: unknown; pid?: unknown; info?: unknown; error?: unknown };
    if ('ok' in o && (o.ok instanceof Pid || o.ok === undefined)) return 'info' in o ? { ok: o.ok, info: o.info } : { ok: o.ok };
    if (o.pid instanceof Pid) return 'info' in o ? { ok: o.pid, info: o.info } : { ok: o.pid };
    if ('error' in o) return { error: o.error };
  }
  return { error: { badReturn: r } };
}

async function doStartChild(self: Process, state: SupState, specOrArgs: ChildSpec | unknown[]): Promise<StartChildResult> {
  if (state.template !== undefined) {
    const extra = Array.isArray(specOrArgs) ? specOrArgs : [specOrArgs];
    const child: Child = { pid: undefined, spec: state.template, extra };
    const r = await startOne(self, child);
    if ('error' in r) return r;
    if (r.ok !== undefined) state.dynamic.set(r.ok, child);
    return r;
  }
  const c = checkSpec(specOrArgs);
  if ('error' in c) return c;
  const existing = state.children.find((x) => x.spec.id === c.ok.id);
  if (existing !== undefined) {
    if (existing.pid instanceof Pid) return { error: { alreadyStarted: existing.pid } };
    return { error: 'already_present' };
  }
  const child: Child = { pid: undefined, spec: c.ok, extra: [] };
  const r = await startOne(self, child);
  if ('error' in r) return r;
  if (r.ok !== undefined || c.ok.restart !== 'temporary') state.children.push(child);
  return r;
}

async function doRestartChild(self: Process, state: SupState, id: ChildId): Promise<StartChildResult> {
  if (state.template !== undefined) return { error: 'simple_one_for_one' };
  const child = state.children.find((c) => c.spec.id === id);
  if (child === undefined) return { error: 'not_found' };
  if (child.pid instanceof Pid) return { error: 'running' };
  if (child.pid === 'restarting') return { error: 'restarting' };
  return startOne(self, child);
}

function doDeleteChild(state: SupState, id: ChildId): 'ok' | { error: 'running' | 'restarting' | 'not_found' | 'simple_one_for_one' } {
  if (state.template !== undefined) return { error: 'simple_one_for_one' };
  const i = state.children.findIndex((c) => c.spec.id === id);
  if (i < 0) return { error: 'not_found' };
  const c = state.children[i]!;
  if (c.pid instanceof Pid) return { error: 'running' };
  if (c.pid === 'restarting') return { error: 'restarting' };
  state.children.splice(i, 1);
  return 'ok';
}

async function doTerminateChild(self: Process, state: SupState, idOrPid: ChildId | Pid): Promise<'ok' | { error: 'not_found' | 'simple_one_for_one' }> {
  if (state.template !== undefined) {
    if (!(idOrPid instanceof Pid)) return { error: 'simple_one_for_one' };
    const child = state.dynamic.get(idOrPid);
    if (child === undefined) return self.node.isAlive(idOrPid) ? { error: 'not_found' } : 'ok';
    state.dynamic.delete(idOrPid);
    await shutdownChild(self, child);
    return 'ok';
  }
  const child = idOrPid instanceof Pid ? state.children.find((c) => c.pid === idOrPid) : state.children.find((c) => c.spec.id === idOrPid);
  if (child === undefined) return { error: 'not_found' };
  await shutdownChild(self, child);
  if (child.spec.restart === 'temporary') state.children = state.children.filter((c) => c !== child);
  return 'ok';
}

Object.defineProperty(SUPERVISOR, DESCRIBE, { value: describeSupervisor });

// ---------------------------------------------------------------- restarting

/** A child exited: apply its restart type; false when intensity was exceeded (the supervisor must stop). */
async function childDied(self: Process, state: SupState, child: Child, reason: ExitReason): Promise<boolean> {
  if (!(isQuietReason(reason) && child.spec.restart !== 'permanent')) report(self, 'child_terminated', child, reason);
  const pid = child.pid as Pid;
  child.pid = undefined;
  const restart = child.spec.restart;
  const keep = restart === 'permanent' || (restart === 'transient' && !isQuietReason(reason));
  if (state.template !== undefined) {
    state.dynamic.delete(pid);
    if (!keep) return true;
  } else if (!keep) {
    if (restart === 'temporary') state.children = state.children.filter((c) => c !== child);
    return true;
  }
  return restartAfterDeath(self, state, child);
}

/** Counts a restart and restarts by strategy; false when intensity was exceeded. */
async function restartAfterDeath(self: Process, state: SupState, child: Child): Promise<boolean> {
  if (!addRestart(self.node, state)) {
    report(self, 'reached_max_restart_intensity', child, 'shutdown');
    return false;
  }
  state.restartTotal++;
  let failed: Child | undefined;
  switch (state.flags.strategy) {
    case 'simple_one_for_one': {
      const r = await startOne(self, child);
      if ('error' in r) failed = child;
      else if (r.ok !== undefined) state.dynamic.set(r.ok, child);
      break;
    }
    case 'one_for_one': {
      const r = await startOne(self, child);
      if ('error' in r) failed = child;
      break;
    }
    case 'one_for_all':
    case 'rest_for_one': {
      const from = state.flags.strategy === 'one_for_all' ? 0 : Math.max(0, state.children.indexOf(child));
      const group = state.children.slice(from);
      await terminateChildren(self, group.filter((c) => c !== child));
      // Temporary bystanders are dropped, not restarted (spec §c.3).
      state.children = state.children.filter((c) => !(c !== child && group.includes(c) && c.spec.restart === 'temporary'));
      const restartGroup = group.filter((c) => state.children.includes(c));
      for (const c of restartGroup) {
        const r = await startOne(self, c);
        if ('error' in r) {
          failed = c;
          // The ones restarted already go down again; the whole group is retried.
          await terminateChildren(self, restartGroup.slice(0, restartGroup.indexOf(c)));
          break;
        }
      }
      break;
    }
  }
  // OTP logs a progress report for every child start, restarts included; rigil reports the
  // restart itself (what `node.onEvent` and the metrics count as a supervisor restart).
  if (failed === undefined) report(self, 'child_restarted', child, undefined);
  if (failed !== undefined) {
    report(self, 'start_error', failed, 'restart failed');
    // The retry restarts from the child that died (for rest_for_one, its whole group), so
    // that one is marked restarting too, not only the one that failed to start.
    failed.pid = 'restarting';
    child.pid = 'restarting';
    genServer.cast(self, self.pid, { $sup: 'try_again', child } satisfies TryAgain);
  }
  return true;
}

/** OTP's `add_restart/1`: true while the restarts within `period` stay ≤ `intensity`. */
function addRestart(node: Node, state: SupState): boolean {
  const now = node.clock.now() / 1000;
  const period = state.flags.period;
  state.restarts = [now, ...state.restarts.filter((t) => now - t <= period)];
  return state.restarts.length <= state.flags.intensity;
}

// ---------------------------------------------------------------- stopping

/** Stops children in reverse start order (OTP's `terminate_children/2`). */
async function terminateChildren(self: Process, children: Child[]): Promise<void> {
  for (let i = children.length - 1; i >= 0; i--) await shutdownChild(self, children[i]!);
}

/** Stops every simple_one_for_one child at once, then waits (OTP's `terminate_dynamic_children/1`). */
async function terminateDynamic(self: Process, state: SupState): Promise<void> {
  const children = [...state.dynamic.values()];
  state.dynamic.clear();
  await Promise.all(children.map((c) => shutdownChild(self, c)));
}

/**
 * Stops one child (OTP's `shutdown/2`): monitor it, send `shutdown` (or `kill` for brutal_kill),
 * wait up to the shutdown time for `DOWN`, then kill it; finally unlink and drop its `EXIT`.
 */
async function shutdownChild(self: Process, child: Child): Promise<void> {
  const pid = child.pid;
  child.pid = undefined;
  if (!(pid instanceof Pid)) return;
  const node = self.node;
  const shutdown = child.spec.shutdown;
  const reason = await new Promise<ExitReason>((resolve) => {
    let timer: ReturnType<typeof node.timers.schedule> | undefined;
    node.monitor(pid, {
      onDown(_ref, why) {
        if (timer !== undefined) node.timers.cancel(timer);
        resolve(why);
      },
    });
    if (shutdown === 'brutal_kill') {
      self.exit(pid, 'kill');
      return;
    }
    self.exit(pid, 'shutdown');
    // The kill goes out even if the supervisor itself is gone by then.
    if (shutdown !== 'infinity') timer = node.timers.schedule(shutdown, () => node.exit(pid, 'kill'), undefined);
  });
  self.unlink(pid);
  self.flush((m) => isExit(m) && m.from === pid);
  const expected = shutdown === 'brutal_kill' ? reason === 'killed' : reason === 'shutdown' || (child.spec.restart !== 'permanent' && isQuietReason(reason));
  if (!expected && reason !== 'noproc') report(self, 'shutdown_error', child, reason);
}

// ---------------------------------------------------------------- queries

function childOfPid(state: SupState, pid: Pid): Child | undefined {
  if (state.template !== undefined) return state.dynamic.get(pid);
  return state.children.find((c) => c.pid === pid);
}

function findChild(state: SupState, idOrPid: ChildId | Pid): Child | undefined {
  if (idOrPid instanceof Pid) return childOfPid(state, idOrPid);
  if (state.template !== undefined) return undefined;
  return state.children.find((c) => c.spec.id === idOrPid);
}

function allChildren(state: SupState): Child[] {
  return state.template !== undefined ? [...state.dynamic.values()] : state.children;
}

function whichOf(state: SupState): ChildInfo[] {
  const simple = state.template !== undefined;
  return allChildren(state).map((c) => ({ id: simple ? undefined : c.spec.id, pid: c.pid, type: c.spec.type, modules: c.spec.modules }));
}

function countOf(state: SupState): ChildCounts {
  const all = allChildren(state);
  const specs = state.template !== undefined ? 1 : all.length;
  let supervisors = 0;
  let workers = 0;
  for (const c of all) {
    if (c.spec.type === 'supervisor') supervisors++;
    else workers++;
  }
  return { specs, active: all.filter((c) => c.pid instanceof Pid).length, supervisors, workers };
}

function report(self: Process, event: string, child: Child, reason: ExitReason): void {
  self.node.report({
    kind: 'supervisor',
    pid: self.pid,
    name: self.registeredName,
    message: `${event}: child ${String(child.spec.id)}`,
    event,
    childId: child.spec.id,
    childPid: child.pid instanceof Pid ? child.pid : undefined,
    reason,
  });
}
