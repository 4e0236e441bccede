/**
 * Every error @rigil/testing raises, each with a stable `code`.
 *
 * | code | when |
 * |---|---|
 * | `ERR_SIM_TIMEOUT` | `runUntil`/`wait` reached its budget of virtual time before the condition held or the promise settled |
 * | `ERR_SIM_BUSY` | a driving call (`run`, `runUntil`, `wait`, `startNode`, `restart`, `stopNode`, `stop`) while another one is still running: one driver at a time |
 * | `ERR_SIM_UNKNOWN_NODE` | a fault or lookup names a node the simulation never started |
 * | `ERR_SIM_NODE_DOWN` | the node named is crashed or stopped, and the call needs it running |
 * | `ERR_SIM_NODE_UP` | `startNode` of a name whose node is running |
 * | `ERR_SIM_ADDRESS_IN_USE` | a node listens on a `host:port` another live node listens on |
 * | `ERR_SIM_BAD_ARG` | a malformed argument (a negative duration, a bad latency, a non-integer seed) |
 * | `ERR_SIM_LIVELOCK` | the cluster never went quiet: immediates kept coming for 100 000 rounds at one virtual instant |
 * | `ERR_SIM_STOPPED` | the simulation was stopped |
 * | `ERR_WAIT_TIMEOUT` | `waitFor`'s condition did not hold within its timeout (the message names what was awaited; `cause` is the condition's last error, if it threw) |
 * | `ERR_NO_FREE_PORT` | `freePort` found no port free on every host asked for, in 20 tries |
 * | `ERR_CLUSTER_TIMEOUT` | `startCluster`'s nodes did not form a full mesh within `meshTimeoutMs` (every node it started is stopped) |
 */
import { RigilError } from '@rigil/core';

/** The stable error codes of @rigil/testing. */
export type SimErrorCode =
  | 'ERR_SIM_TIMEOUT'
  | 'ERR_SIM_BUSY'
  | 'ERR_SIM_UNKNOWN_NODE'
  | 'ERR_SIM_NODE_DOWN'
  | 'ERR_SIM_NODE_UP'
  | 'ERR_SIM_ADDRESS_IN_USE'
  | 'ERR_SIM_BAD_ARG'
  | 'ERR_SIM_LIVELOCK'
  | 'ERR_SIM_STOPPED'
  | 'ERR_WAIT_TIMEOUT'
  | 'ERR_CLUSTER_TIMEOUT'
  | 'ERR_NO_FREE_PORT';

/** An error of @rigil/testing: the simulation and the test helpers (`waitFor`, `startCluster`). */
export class SimError extends RigilError {
  override name = 'SimError';
  constructor(code: SimErrorCode, message: string, reason?: unknown, options?: { cause?: unknown }) {
    super(code, message, reason, options);
  }
}
