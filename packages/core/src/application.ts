/**
 * The application behaviour (OTP's `application`): what an application is — a typed spec
 * plus a callback module — and the values the controller takes and returns.
 * Semantics: spec §d. The controller itself is `application_controller.ts`, the per-application
 * process is `application_master.ts`.
 *
 * @example
 * const app: ApplicationSpec = {
 *   name: 'shop', version: '1.0.0', applications: ['db'], env: { port: 8080 },
 *   startPhases: [{ name: 'init' }, { name: 'go' }],
 *   mod: { start: (type, _args, self) => supervisor.startLink(self, shopSup, undefined),
 *          startPhase: async (phase) => 'ok' },
 * };
 * node.application.load(app);
 * await node.application.start('shop');
 */
import type { Pid } from './pid.js';
import type { Process } from './process.js';
import type { ExitReason } from './reason.js';

/** How an application is started (OTP's `StartType`). */
export type StartType = 'normal' | { readonly takeover: string } | { readonly failover: string };

/**
 * What happens when the application dies (OTP's `RestartType`): `permanent` stops the node,
 * `transient` stops it unless the exit was `normal`, `temporary` only reports.
 */
export type RestartType = 'permanent' | 'transient' | 'temporary';

/** A start phase (OTP's `{Phase, PhaseArgs}` in `start_phases`). */
export interface StartPhase {
  readonly name: string;
  readonly args?: unknown;
}

/** What `start` of an application module returns (OTP's `{ok, Pid} | {ok, Pid, State} | {error, R}`). */
export type ApplicationStartResult = Pid | { ok: Pid; state?: unknown } | { error: ExitReason } | 'ignore';

/** The callback module of an application (OTP's `application` behaviour). */
export interface ApplicationModule<S = unknown> {
  /** Starts the application's top supervisor, linked to `self` (OTP's `Mod:start/2`). */
  start(type: StartType, args: unknown, self: Process): ApplicationStartResult | { ok: Pid; state?: S } | Promise<ApplicationStartResult | { ok: Pid; state?: S }>;
  /** Runs one start phase after `start` (OTP's `Mod:start_phase/3`); must return `'ok'` or `{ error }`. */
  startPhase?(phase: string, type: StartType, args: unknown, self: Process): 'ok' | { error: unknown } | Promise<'ok' | { error: unknown }>;
  /** Called before the tree is shut down; its result becomes the state `stop` sees (OTP's `Mod:prep_stop/1`). */
  prepStop?(state: S): S | Promise<S>;
  /** Called after the tree has stopped (OTP's `Mod:stop/1`). */
  stop?(state: S): void | Promise<void>;
}

/** An application (OTP's `.app` resource plus its callback module). */
export interface ApplicationSpec {
  /** The application's name. */
  readonly name: string;
  /** Version string. */
  readonly version?: string;
  /** One-line description. */
  readonly description?: string;
  /** Applications that must be started before this one. */
  readonly applications?: readonly string[];
  /** Applications loaded with this one and started by its own supervisors. */
  readonly includedApplications?: readonly string[];
  /** Default environment (overridden by node configuration and `setEnv`). */
  readonly env?: Readonly<Record<string, unknown>>;
  /**
   * Start phases, run in this order after `start`. Absent is different from empty (OTP):
   * with phases defined (even `[]`), a failover start has type `{ failover, node }`;
   * without, it is `normal`.
   */
  readonly startPhases?: readonly StartPhase[];
  /** The callback module; absent for a library application (no processes). */
  readonly mod?: ApplicationModule<any>;
  /** Arguments passed to `mod.start`. */
  readonly modArgs?: unknown;
  /** Milliseconds after which the application is stopped (OTP's `maxT`). */
  readonly maxT?: number;
}

/** A row of `whichApplications` / `loadedApplications` (OTP's `{App, Description, Vsn}`). */
export interface ApplicationInfo {
  readonly name: string;
  readonly description: string;
  readonly version: string;
}

/** Options of `setEnv` / `unsetEnv`. */
export interface EnvOptions {
  /**
   * OTP's `{persistent, true}`: `setEnv` keeps the value over later loads of the application;
   * `unsetEnv` forgets such a value (and the node configuration's), so a later load gives the
   * spec's value again.
   */
  persistent?: boolean;
}

/** Result of `start`, `stop`, `takeover`, `permit`: `'ok'` or `{ error }` (OTP's `ok | {error, R}`). */
export type AppResult = 'ok' | { error: unknown };

/**
 * The seam through which the distributed application controller (@rigil/dist-ac) takes
 * control of distributed applications (OTP's `dist_ac` ↔ `application_controller` protocol).
 */
export interface DistributedController {
  /** True when `name` is distributed and this controller decides where it runs. */
  controls(name: string): boolean;
  /** `application.start` of a controlled application: decide where it runs and start it there. */
  start(name: string, restartType: RestartType): Promise<AppResult>;
  /** `application.stop` of a controlled application on this node (does not fail over); `ranHere`: it was running here. */
  stopped(name: string, ranHere: boolean): Promise<void> | void;
  /** The local instance of a controlled application died (OTP's `ac_application_stopped`). */
  died(name: string, reason: ExitReason): void;
  /** `application.takeover`. */
  takeover(name: string, restartType: RestartType): Promise<AppResult>;
  /** `application.permit`. */
  permit(name: string, flag: boolean): Promise<AppResult>;
}

/** Validates an application spec; returns the first problem or undefined. */
export function checkApplicationSpec(spec: unknown): string | undefined {
  if (typeof spec !== 'object' || spec === null) return 'an application spec must be an object';
  const s = spec as Partial<ApplicationSpec>;
  if (typeof s.name !== 'string' || s.name === '') return 'name must be a non-empty string';
  for (const key of ['applications', 'includedApplications'] as const) {
    const v = s[key];
    if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) return `${key} must be an array of application names`;
  }
  if (s.env !== undefined && (typeof s.env !== 'object' || s.env === null || Array.isArray(s.env))) return 'env must be an object';
  if (s.startPhases !== undefined) {
    if (!Array.isArray(s.startPhases)) return 'startPhases must be an array of { name, args? }';
    for (const p of s.startPhases as unknown[]) {
      if (typeof p !== 'object' || p === null || typeof (p as StartPhase).name !== 'string') return 'startPhases must be an array of { name, args? }';
    }
  }
  if (s.mod !== undefined && (typeof s.mod !== 'object' || s.mod === null || typeof s.mod.start !== 'function')) return 'mod must have a start function';
  if (s.maxT !== undefined && !(typeof s.maxT === 'number' && s.maxT > 0)) return 'maxT must be a positive number of milliseconds';
  return undefined;
}

/** True when `t` is a valid restart type. */
export function isRestartType(t: unknown): t is RestartType {
  return t === 'permanent' || t === 'transient' || t === 'temporary';
}
