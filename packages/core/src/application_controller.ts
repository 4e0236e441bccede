/**
 * The application controller (OTP's `application_controller`), reached as `node.application`:
 * loads applications, starts them (dependencies first, start phases in order), stops them,
 * applies restart types when they die, and holds their environment.
 *
 * Distributed applications are handed to a `DistributedController` (@rigil/dist-ac) when one is
 * installed; without one, `takeover` and `permit` behave as OTP's do for local applications.
 * Semantics: spec §d.
 */
import {
  checkApplicationSpec,
  isRestartType,
  type AppResult,
  type ApplicationInfo,
  type ApplicationSpec,
  type DistributedController,
  type EnvOptions,
  type RestartType,
  type StartType,
} from './application.js';
import { ApplicationMaster } from './application_master.js';
import { coreError } from './errors.js';
import type { NodeType as Node } from './process.js';
import type { Pid } from './pid.js';
import type { Process } from './process.js';
import { recordOf } from './internal/process.js';
import { type ExitReason } from './reason.js';

/** Where a started application runs: here (its master), on another node, or nowhere. */
type Placement = ApplicationMaster | { readonly distributed: string };

/** `node.application`: the application controller of one node. */
export class ApplicationController {
  /** Loaded applications by name. */
  private readonly loaded = new Map<string, ApplicationSpec>();
  /** Current environment of each loaded (or pre-configured) application. */
  private readonly env = new Map<string, Map<string, unknown>>();
  /**
   * Values set with `setEnv(…, { persistent: true })`, re-applied over every later load. With
   * `config` this is OTP's `conf_data`: a persistent `unsetEnv` deletes the key from both, so
   * a later load gives the spec's value again (OTP keeps no tombstone).
   */
  private readonly persistentEnv = new Map<string, Map<string, unknown>>();
  /** Node configuration (OTP's sys.config): overrides a spec's `env` at load. */
  private readonly config = new Map<string, Readonly<Record<string, unknown>>>();
  /** Started applications and their restart types, in start order (OTP's `started`). */
  private readonly started = new Map<string, RestartType>();
  /** Where each started application runs (OTP's `running`); absent = started but not running. */
  private readonly running = new Map<string, Placement>();
  /** `start` calls in progress; concurrent ones share the outcome. */
  private readonly starting = new Map<string, Promise<AppResult>>();
  /** `stop` calls still under way (waiting for a start they end), by application. */
  private readonly stopping = new Map<string, Promise<AppResult>>();
  /** Local instances being started (by `start`, or by the distributed controller). */
  private readonly localStarting = new Map<string, Promise<AppResult>>();
  /** The master of each `startLocal` still under way (a stop may end it). */
  private readonly startingMasters = new Map<string, ApplicationMaster>();
  /** Permissions (OTP's kernel `permissions`); absent = permitted. */
  private readonly permissions = new Map<string, boolean>();
  /** The distributed application controller, once installed. */
  private dist: DistributedController | undefined = undefined;

  constructor(private readonly node: Node) {}

  // ---------------------------------------------------------------- load / unload

  /**
   * Loads an application (OTP's `application:load/1`): records the spec and its environment
   * (spec defaults, overridden by node configuration and persistent `setEnv`).
   * Already loaded: `{ error: { alreadyLoaded: name } }`. A malformed spec throws `ERR_BADARG`.
   */
  load(spec: ApplicationSpec): AppResult {
    const problem = checkApplicationSpec(spec);
    if (problem !== undefined) throw coreError('ERR_BADARG', `bad application spec${nameOf(spec)}: ${problem}`);
    if (this.loaded.has(spec.name)) return { error: { alreadyLoaded: spec.name } };
    this.loaded.set(spec.name, spec);
    // Load only writes the keys the spec and the configuration define; values set earlier
    // for other keys stay (OTP's `add_env/2`).
    const env = mapOf(this.env, spec.name);
    for (const [k, v] of Object.entries(spec.env ?? {})) env.set(k, v);
    for (const [k, v] of Object.entries(this.config.get(spec.name) ?? {})) env.set(k, v);
    for (const [k, v] of this.persistentEnv.get(spec.name) ?? []) env.set(k, v);
    return 'ok';
  }

  /** Unloads an application (OTP's `application:unload/1`); running → `{ error: { running } }`. */
  unload(name: string): AppResult {
    if (!this.loaded.has(name)) return { error: { notLoaded: name } };
    if (this.running.get(name) instanceof ApplicationMaster || this.starting.has(name) || this.localStarting.has(name)) return { error: { running: name } };
    this.loaded.delete(name);
    this.env.delete(name);
    return 'ok';
  }

  /** Sets node configuration for applications (OTP's sys.config), applied now and at every load. */
  configure(config: Readonly<Record<string, Readonly<Record<string, unknown>>>>): void {
    for (const [app, values] of Object.entries(config)) {
      this.config.set(app, { ...(this.config.get(app) ?? {}), ...values });
      const env = this.env.get(app);
      if (env !== undefined) for (const [k, v] of Object.entries(values)) env.set(k, v);
    }
  }

  // ---------------------------------------------------------------- start / stop

  /**
   * Starts an application (OTP's `application:start/2`), loading it first when given a spec.
   * Resolves once `start` and every start phase have returned. Errors are values:
   * `{ error: { notLoaded } | { alreadyStarted } | { notStarted: dep } | { invalidRestartType } | … }`.
   */
  start(app: string | ApplicationSpec, restartType: RestartType = 'temporary'): Promise<AppResult> {
    const name = typeof app === 'string' ? app : app.name;
    if (typeof app !== 'string' && !this.loaded.has(name)) this.load(app);
    if (!isRestartType(restartType)) return Promise.resolve({ error: { invalidRestartType: restartType } });
    const spec = this.loaded.get(name);
    if (spec === undefined) return Promise.resolve({ error: { notLoaded: name } });
    // A stop called before this start and still under way (it waits for an earlier start)
    // goes first: calls take effect in the order they were made. Joining the earlier start
    // instead would answer 'ok' for an application that stop then ends (apps seed 461:
    // start, stop, start on e, and e ended with the application stopped).
    const stopping = this.stopping.get(name);
    if (stopping !== undefined) {
      const again = (): Promise<AppResult> => this.start(app, restartType);
      return stopping.then(again, again);
    }
    const pending = this.starting.get(name);
    if (pending !== undefined) return pending;
    if (this.running.has(name)) return Promise.resolve({ error: { alreadyStarted: name } });
    for (const dep of spec.applications ?? []) {
      if (!this.started.has(dep)) return Promise.resolve({ error: { notStarted: dep } });
    }
    if (this.dist?.controls(name)) return this.track(name, this.dist.start(name, restartType));
    if (this.permissions.get(name) === false) {
      this.started.set(name, restartType);
      return Promise.resolve('ok');
    }
    return this.track(name, this.startLocal(name, 'normal', restartType));
  }

  /** Starts an application unless it is already started (OTP's `application:ensure_started/2`). */
  async ensureStarted(app: string | ApplicationSpec, restartType: RestartType = 'temporary'): Promise<AppResult> {
    const r = await this.start(app, restartType);
    if (r !== 'ok' && isAlreadyStarted(r)) return 'ok';
    return r;
  }

  /**
   * Starts an application and, depth-first, every dependency not yet started
   * (OTP's `application:ensure_all_started/2`). Returns the applications it started, in order;
   * on failure it stops those again and returns `{ error: [app, reason] }`.
   */
  async ensureAllStarted(app: string | ApplicationSpec, restartType: RestartType = 'temporary'): Promise<{ ok: string[] } | { error: readonly [string, unknown] }> {
    if (typeof app !== 'string' && !this.loaded.has(app.name)) this.load(app);
    const name = typeof app === 'string' ? app : app.name;
    const startedNow: string[] = [];
    const visit = async (n: string, path: string[]): Promise<{ error: readonly [string, unknown] } | undefined> => {
      if (this.started.has(n)) return undefined;
      const spec = this.loaded.get(n);
      if (spec === undefined) return { error: [n, { notLoaded: n }] };
      if (path.includes(n)) return { error: [n, { circularDependencies: [...path, n] }] };
      for (const dep of spec.applications ?? []) {
        const e = await visit(dep, [...path, n]);
        if (e !== undefined) return e;
      }
      const r = await this.start(n, restartType);
      if (r === 'ok') startedNow.push(n);
      else if (!isAlreadyStarted(r)) return { error: [n, r.error] };
      return undefined;
    };
    const e = await visit(name, []);
    if (e !== undefined) {
      for (const n of [...startedNow].reverse()) await this.stop(n);
      return e;
    }
    return { ok: startedNow };
  }

  /**
   * Stops an application (OTP's `application:stop/1`): prepStop → shut the tree down → stop →
   * kill what is left. Not started → `{ error: { notStarted: name } }`. A distributed
   * application stopped where it runs does not fail over.
   */
  stop(name: string): Promise<AppResult> {
    const run = this.stopAfterStarts(name);
    this.stopping.set(name, run);
    const done = (): void => {
      if (this.stopping.get(name) === run) this.stopping.delete(name);
    };
    run.then(done, done);
    return run;
  }

  private async stopAfterStarts(name: string): Promise<AppResult> {
    const pending = this.starting.get(name) ?? this.localStarting.get(name);
    if (pending !== undefined) await pending;
    if (!this.started.has(name)) return { error: { notStarted: name } };
    this.started.delete(name);
    const where = this.running.get(name);
    this.running.delete(name);
    if (where instanceof ApplicationMaster) await where.stop();
    if (this.dist?.controls(name)) await this.dist.stopped(name, where instanceof ApplicationMaster);
    return 'ok';
  }

  /**
   * Moves a distributed application to this node (OTP's `application:takeover/2`). Without a
   * distributed controller (or for a local application) this is
   * `{ error: { notRunningDistributed: name } }`, or `{ error: { alreadyRunningLocally } }`.
   */
  takeover(name: string, restartType: RestartType = 'temporary'): Promise<AppResult> {
    if (!isRestartType(restartType)) return Promise.resolve({ error: { invalidRestartType: restartType } });
    if (!this.loaded.has(name)) return Promise.resolve({ error: { notLoaded: name } });
    if (this.dist?.controls(name)) return this.dist.takeover(name, restartType);
    if (this.running.get(name) instanceof ApplicationMaster) return Promise.resolve({ error: { alreadyRunningLocally: name } });
    return Promise.resolve({ error: { notRunningDistributed: name } });
  }

  /**
   * Allows or forbids an application on this node (OTP's `application:permit/2`). For a local
   * application: `false` stops it (it stays started), `true` starts it again if it was started.
   */
  async permit(name: string, flag: boolean): Promise<AppResult> {
    if (typeof flag !== 'boolean') throw coreError('ERR_BADARG', `permit expects a boolean, got ${String(flag)}`, 'badarg');
    if (!this.loaded.has(name)) return { error: { notLoaded: name } };
    this.permissions.set(name, flag);
    if (this.dist?.controls(name)) return this.dist.permit(name, flag);
    const where = this.running.get(name);
    if (!flag && where instanceof ApplicationMaster) {
      this.running.delete(name);
      await where.stop();
      return 'ok';
    }
    const restartType = this.started.get(name);
    if (flag && restartType !== undefined && !this.running.has(name)) return this.startLocal(name, 'normal', restartType);
    return 'ok';
  }

  // ---------------------------------------------------------------- queries

  /** Applications running on this node, most recently started first (OTP's `which_applications/0`). */
  whichApplications(): ApplicationInfo[] {
    const out: ApplicationInfo[] = [];
    for (const [name, where] of this.running) {
      if (where instanceof ApplicationMaster && where.phase !== 'starting') out.push(info(this.loaded.get(name) ?? where.spec));
    }
    return out.reverse();
  }

  /** Loaded applications (OTP's `loaded_applications/0`). */
  loadedApplications(): ApplicationInfo[] {
    return [...this.loaded.values()].map(info);
  }

  /** The spec of a loaded application, or undefined (OTP's `get_all_key/1`). */
  getSpec(name: string): ApplicationSpec | undefined {
    return this.loaded.get(name);
  }

  /** Where a started application runs: `'local'`, another node's name, or undefined (not running). */
  whereRunning(name: string): string | undefined {
    const where = this.running.get(name);
    if (where === undefined) return undefined;
    return where instanceof ApplicationMaster ? 'local' : where.distributed;
  }

  /** True when `name` has been started on this node (running here, elsewhere, or not permitted). */
  isStarted(name: string): boolean {
    return this.started.has(name);
  }

  /** The restart type a started application was started with. */
  restartTypeOf(name: string): RestartType | undefined {
    return this.started.get(name);
  }

  /**
   * The pid of the master of a locally running application, or undefined
   * (OTP's `application_controller:get_master/1`). A library application has no master process.
   */
  getMaster(name: string): Pid | undefined {
    const where = this.running.get(name);
    return where instanceof ApplicationMaster ? where.pid : undefined;
  }

  /**
   * The top supervisor of a locally running application (the pid its `start` returned), or
   * undefined (OTP's `application_master:get_child/1`).
   */
  topSupervisor(name: string): Pid | undefined {
    const where = this.running.get(name);
    return where instanceof ApplicationMaster ? where.top : undefined;
  }

  /** The start type of a locally running application, or undefined. */
  startTypeOf(name: string): StartType | undefined {
    const where = this.running.get(name);
    return where instanceof ApplicationMaster ? where.startType : undefined;
  }

  /** The application `pid` (or the process) belongs to, or undefined (OTP's `application:get_application/1`). */
  getApplication(who: Pid | Process): string | undefined {
    const p = 'alive' in who ? who : this.node.process(who);
    const g = p === undefined ? undefined : recordOf(p)._group;
    return g instanceof ApplicationMaster ? g.spec.name : undefined;
  }

  /**
   * The start type seen from inside an application (OTP's `application:start_type/0`): the
   * current type while it starts, `'local'` afterwards, undefined outside any application.
   */
  startType(self: Process): StartType | 'local' | undefined {
    const g = recordOf(self)._group;
    if (!(g instanceof ApplicationMaster)) return undefined;
    return g.phase === 'starting' ? g.startType : 'local';
  }

  // ---------------------------------------------------------------- environment

  /**
   * An environment value (OTP's `application:get_env/2,3`): by application name, or by a
   * process of the application (`get_env/1`). Returns `def` when unset.
   */
  getEnv<T = unknown>(app: string | Process, key: string, def?: T): T | undefined {
    const name = typeof app === 'string' ? app : this.getApplication(app);
    if (name === undefined) return def;
    const env = this.env.get(name);
    return env !== undefined && env.has(key) ? (env.get(key) as T) : def;
  }

  /** Every environment value of an application (OTP's `application:get_all_env/1`). */
  getAllEnv(app: string | Process): Record<string, unknown> {
    const name = typeof app === 'string' ? app : this.getApplication(app);
    return Object.fromEntries(name !== undefined ? (this.env.get(name) ?? []) : []);
  }

  /** Sets an environment value, loaded or not (OTP's `application:set_env/4`). */
  setEnv(app: string, key: string, value: unknown, options: EnvOptions = {}): void {
    let env = this.env.get(app);
    if (env === undefined) this.env.set(app, (env = new Map()));
    env.set(key, value);
    if (options.persistent) mapOf(this.persistentEnv, app).set(key, value);
  }

  /**
   * Removes an environment value (OTP's `application:unset_env/3`). With `persistent` it also
   * forgets the key's persistent value and its node configuration, as OTP's
   * `handle_call({unset_env, …})` deletes it from `conf_data`; it does not hide the spec's
   * value, so a later load (a reload) gives the spec's value again (OTP's
   * application_SUITE:persistent_env).
   */
  unsetEnv(app: string, key: string, options: EnvOptions = {}): void {
    this.env.get(app)?.delete(key);
    if (!options.persistent) return;
    this.persistentEnv.get(app)?.delete(key);
    const config = this.config.get(app);
    if (config !== undefined && Object.hasOwn(config, key)) {
      const { [key]: _dropped, ...rest } = config;
      this.config.set(app, rest);
    }
  }

  /** A key of the application's spec (OTP's `application:get_key/2`). */
  getKey<K extends keyof ApplicationSpec>(app: string, key: K): ApplicationSpec[K] | undefined {
    return this.loaded.get(app)?.[key];
  }

  // ---------------------------------------------------------------- seam for @rigil/dist-ac

  /** Installs the distributed application controller (called by @rigil/dist-ac). */
  setDistributedController(dc: DistributedController | undefined): void {
    this.dist = dc;
  }

  /** Sets the initial permission of an application (OTP's kernel `permissions`). */
  setPermission(name: string, flag: boolean): void {
    this.permissions.set(name, flag);
  }

  /** True unless `permit(name, false)` (or configuration) forbids the application here. */
  isPermitted(name: string): boolean {
    return this.permissions.get(name) !== false;
  }

  /**
   * Starts an application here with a given start type (OTP's AC `start_appl` as dist_ac drives it).
   * Used by @rigil/dist-ac for normal, failover and takeover starts.
   */
  startLocal(name: string, type: StartType, restartType: RestartType): Promise<AppResult> {
    const pending = this.localStarting.get(name);
    if (pending !== undefined) return pending;
    const spec = this.loaded.get(name);
    if (spec === undefined) return Promise.resolve({ error: { notLoaded: name } });
    if (this.running.get(name) instanceof ApplicationMaster) return Promise.resolve({ error: { alreadyStarted: name } });
    for (const dep of spec.applications ?? []) {
      if (!this.started.has(dep)) return Promise.resolve({ error: { notStarted: dep } });
      if (this.running.get(dep) === undefined) return Promise.resolve({ error: { notRunning: dep } });
    }
    const master = new ApplicationMaster(this.node, spec, type);
    const p = this.runMaster(name, master, restartType).finally(() => {
      if (this.localStarting.get(name) === p) this.localStarting.delete(name);
      if (this.startingMasters.get(name) === master) this.startingMasters.delete(name);
    });
    this.localStarting.set(name, p);
    this.startingMasters.set(name, master);
    return p;
  }

  /** Records a started application as running on another node (OTP's `{distributed, Node}`), stopping a local instance. */
  async runningElsewhere(name: string, node: string, restartType?: RestartType): Promise<void> {
    if (restartType !== undefined && !this.started.has(name)) this.started.set(name, restartType);
    const where = this.running.get(name);
    this.running.set(name, { distributed: node });
    if (where instanceof ApplicationMaster) await where.stop();
  }

  /** Records a started application as not running anywhere, stopping a local instance. */
  async notRunning(name: string, restartType?: RestartType): Promise<void> {
    if (restartType !== undefined && !this.started.has(name)) this.started.set(name, restartType);
    const where = this.running.get(name);
    this.running.delete(name);
    if (where instanceof ApplicationMaster) await where.stop();
  }

  /**
   * Stops a `startLocal` still under way (its `start` or start phases): that call then returns
   * `{ error: { reason: 'stopped' } }`, as OTP's master answers a stop in `init_loop/4`
   * (terminate, exit normal). Resolves at once when no start is under way. Used by
   * @rigil/dist-ac to fence a start that lost its quorum.
   */
  async stopStarting(name: string): Promise<void> {
    await this.startingMasters.get(name)?.stop();
  }

  /** Stops every running application, most recently started first (node shutdown). */
  async stopAll(): Promise<void> {
    for (const name of [...this.running.keys()].reverse()) {
      const where = this.running.get(name);
      this.running.delete(name);
      if (where instanceof ApplicationMaster) await where.stop();
    }
  }

  // ---------------------------------------------------------------- private

  private track(name: string, p: Promise<AppResult>): Promise<AppResult> {
    const tracked = p.finally(() => {
      if (this.starting.get(name) === tracked) this.starting.delete(name);
    });
    this.starting.set(name, tracked);
    return tracked;
  }

  private async runMaster(name: string, master: ApplicationMaster, restartType: RestartType): Promise<AppResult> {
    const r = await master.start();
    if (r !== 'ok') {
      this.node.report({ kind: 'application', message: `${name} failed to start`, application: name, reason: r.error });
      // Stopped on purpose while it started: not a failure that takes the node down.
      if (master.stopRequested) return r;
      // A permanent application that cannot start stops the node; so does a transient one,
      // unless its start exited `normal` (spec §d.5).
      const normal = (r.error as { reason?: unknown } | null)?.reason === 'normal';
      if (restartType === 'permanent' || (restartType === 'transient' && !normal)) void this.node.stop();
      return r;
    }
    this.started.set(name, restartType);
    this.running.set(name, master);
    this.node.report({ kind: 'progress', message: `application ${name} started`, application: name, startType: master.startType });
    if (master.pid !== undefined) this.node.monitor(master.pid, { onDown: (_ref, reason) => this.masterDown(name, master, reason) });
    return 'ok';
  }

  /** A master exited: expected after a stop; otherwise the application died (spec §d.5). */
  private masterDown(name: string, master: ApplicationMaster, reason: ExitReason): void {
    if (master.stopRequested || reason instanceof Error) return;
    if (this.running.get(name) === master) this.running.delete(name);
    const restartType = this.started.get(name) ?? 'temporary';
    this.node.report({ kind: 'application', message: `application ${name} exited`, application: name, reason, restartType });
    if (restartType === 'permanent' || (restartType === 'transient' && reason !== 'normal')) {
      // The node goes down; a distributed application then fails over from its nodedown, so the
      // others must not be told it merely stopped.
      this.node.report({ kind: 'application', message: `${restartType} application ${name} exited: stopping the node`, application: name, reason });
      void this.node.stop();
      return;
    }
    this.dist?.died(name, reason);
  }
}

function info(spec: ApplicationSpec): ApplicationInfo {
  return { name: spec.name, description: spec.description ?? '', version: spec.version ?? '' };
}

function isAlreadyStarted(r: AppResult): boolean {
  return typeof r === 'object' && typeof r.error === 'object' && r.error !== null && 'alreadyStarted' in r.error;
}

function nameOf(spec: unknown): string {
  const n = (spec as { name?: unknown } | null)?.name;
  return typeof n === 'string' ? ` ${JSON.stringify(n)}` : '';
}

function mapOf<K, V>(m: Map<string, Map<K, V>>, key: string): Map<K, V> {
  let v = m.get(key);
  if (v === undefined) m.set(key, (v = new Map()));
  return v;
}
