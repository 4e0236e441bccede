/**
 * @rigil/testing — a deterministic simulated cluster for rigil's tests and yours: real
 * `DistNode`s on an in-memory transport, one virtual clock, every random choice drawn from one
 * seed, and the faults a cluster exists to survive (cuts, freezes, stalls, crashes, restarts).
 */
export { Simulation, type SimulationOptions, type SimNodeOptions } from './simulation.js';
export { SimTransport } from './network.js';
export type { Latency } from './world.js';
export { SimError, type SimErrorCode } from './errors.js';
