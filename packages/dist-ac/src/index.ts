/**
 * @rigil/dist-ac — distributed applications (OTP's `dist_ac`): an application listed in
 * `distributed` runs on exactly one node of its priority list, fails over when that node
 * dies and is taken over when a better node returns.
 *
 * @packageDocumentation
 * @module @rigil/dist-ac
 */
export { startDistAc, distAcOf, currentEpoch, distAcResolver, DistAc, DIST_AC, DIST_AC_BUILTINS, HISTORY_LIMIT, type PlacementInfo, type AppPlacement, type Move, type MoveCause } from './dist_ac.js';
export { checkKernelConfig, syncNodes, rankOf, listedNodes, quorumSize, type KernelConfig, type DistributedEntry, type NodeList } from './kernel_config.js';
export { fileEpochStore, type EpochStore } from './epoch_store.js';
export { DistAcError, type DistAcErrorCode } from './errors.js';
