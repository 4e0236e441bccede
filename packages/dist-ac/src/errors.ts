/**
 * Every error @rigil/dist-ac raises or reports, each with a stable `code`.
 *
 * | code | when |
 * |---|---|
 * | `ERR_BAD_KERNEL_CONFIG` | a `distributed` entry, sync-node list, timeout or permission is malformed (the message names the entry) |
 * | `ERR_MANDATORY_NODES_DOWN` | `syncNodesMandatory` nodes did not come up within `syncNodesTimeout`: the node refuses to start (OTP's `{mandatory_nodes_down, Nodes}`) |
 * | `ERR_NO_DIST_AC` | `distAcOf(node or process)` on a node where `startDistAc` was not called |
 * | `ERR_NO_EPOCH` | `currentEpoch(self, app)` on a node where no instance of `app` starts or runs |
 * | `ERR_BAD_EPOCH_STORE` | the `epochDir` cannot be created, or an epoch file in it cannot be read or does not hold an epoch: `startDistAc` fails (a node must not promise an epoch it may have promised before) |
 * | `ERR_DISTRIBUTION_MISMATCH` | another node has a different `distributed` entry for the same application (reported; OTP's `{distribution_mismatch, App, Node}`) |
 */
import { RigilError } from '@rigil/core';

/** The stable error codes of @rigil/dist-ac. */
export type DistAcErrorCode = 'ERR_BAD_KERNEL_CONFIG' | 'ERR_MANDATORY_NODES_DOWN' | 'ERR_DISTRIBUTION_MISMATCH' | 'ERR_NO_DIST_AC' | 'ERR_NO_EPOCH' | 'ERR_BAD_EPOCH_STORE';

/** An error of the distributed application controller. */
export class DistAcError extends RigilError {
  override name = 'DistAcError';
  constructor(code: DistAcErrorCode, message: string, reason?: unknown) {
    super(code, message, reason);
  }
}
