/**
 * @rigil/testing — a deterministic simulated cluster for rigil's tests and yours: real
 * `DistNode`s on an in-memory transport, one virtual clock, every random choice drawn from one
 * seed, and the faults a cluster exists to survive (cuts, freezes, stalls, crashes, restarts).
 *
 * @packageDocumentation
 * @module @rigil/testing
 */
export { Simulation, type SimulationOptions, type SimNodeOptions } from './simulation.js';
export { SimTransport } from './network.js';
export type { Latency } from './world.js';
export { SimError, type SimErrorCode } from './errors.js';
export {
  explore,
  generateTrace,
  parseTrace,
  formatTrace,
  resolveInvariants,
  isFault,
  nodeNames,
  workloadOf,
  WORKLOADS,
  IMPLEMENTED_INVARIANTS,
  PENDING_INVARIANTS,
  DEFAULT_INVARIANTS,
  type ExploreOptions,
  type ExploreResult,
  type Invariant,
  type CheckContext,
  type Observations,
  type Step,
  type Violation,
  type Workload,
} from './explorer.js';
export { AppsModel, APP_NAMES, SLOW_PREP_STOP_MS } from './workload_apps.js';
export { GlobalOps, LOCK_POOL } from './workload_global.js';
