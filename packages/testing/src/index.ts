/**
 * @rigil/testing — a deterministic simulated cluster for rigil's tests and yours: real
 * `DistNode`s on an in-memory transport, one virtual clock, every random choice drawn from one
 * seed, and the faults a cluster exists to survive (cuts, freezes, stalls, crashes, restarts).
 * Also the helpers a test of rigil code needs: `waitFor` (poll with a deadline), `okPid`,
 * `startCluster` (real nodes over loopback sockets, fully meshed), `freePort`, and core's
 * `SimulatedClock` (a single node in virtual time).
 *
 * @packageDocumentation
 * @module @rigil/testing
 */
export { waitFor, type WaitForOptions } from './wait_for.js';
export { startCluster, freePort, type Cluster, type ClusterOptions } from './cluster.js';
// Re-exported from @rigil/core, so a test imports its helpers from one place.
export { okPid, assertStarted, isStarted, startError, alreadyStarted, SimulatedClock, settle } from '@rigil/core';
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
