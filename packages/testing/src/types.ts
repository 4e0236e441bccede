/**
 * The types an invariant of the fault explorer works with (what it sees when it is checked,
 * and what it reports).
 */
import type { Simulation } from './simulation.js';
import type { Step } from './trace.js';
import type { AppsModel } from './workload_apps.js';
import type { GlobalOps } from './workload_global.js';

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
  /** The running nodes form one mesh, none is frozen, and nothing changed in it for 3 s of virtual time. */
  readonly meshStable: boolean;
  /** The `apps` workload's model and observations (undefined without that workload). */
  readonly apps: AppsModel | undefined;
  /** The `global` workload's operations (undefined without that workload). */
  readonly globalOps: GlobalOps | undefined;
}

/** An invariant: returns a description of the violation, or undefined when it holds. */
export interface Invariant {
  readonly name: string;
  check(ctx: CheckContext): string | undefined;
}

/** What the explorer records while it runs. */
export interface Observations {
  /** Reports from system servers (kernel_sup, rex, global_name_server, dist_ac) that crashed or were restarted. */
  readonly systemReports: string[];
  /** Unhandled promise rejections seen during the run. */
  readonly rejections: unknown[];
  /** Non-rigil errors (a RangeError, a TypeError) a rigil call made by an operation rejected with. */
  readonly opErrors: unknown[];
  /** Per-pair order violations (I6). */
  readonly orderViolations: string[];
  /** Names the operations may have registered (for I7's bound). */
  readonly nameCount: number;
  /** Sequenced messages the sinks received (traffic that got through). */
  delivered: number;
}

/** A violated invariant. */
export interface Violation {
  readonly invariant: string;
  readonly message: string;
  /** Index in the trace of the step after which it was seen. */
  readonly step: number;
}

