/**
 * @rigil/net — nodes connected over WebSocket with msgpackr framing: cookie authentication,
 * remote send/link/monitor/exit/call, node monitoring, rpc, and `global`.
 */
export { DistNode, distNode, globalOf, rpcOf, type DistNodeOptions } from './dist_node.js';
export { KERNEL_SUP, KERNEL_SUP_FLAGS, addKernelChild } from './kernel_sup.js';
export { installBuiltins, installControlBuiltins, checkArgs, arg, NODE_BUILTINS, CONTROL_BUILTINS, type Builtin, type ArgSpec, type BuiltinHost } from './builtins.js';
export { NetKernel, type NetOptions, type NodeEvent, type NodeMessage, type NetStats, type TlsOptions } from './net_kernel.js';
export { Rpc, REX, type Procedure, type SpawnableFunction } from './rpc.js';
export { DistError, RpcError, badArgs, type DistErrorCode } from './errors.js';
export { Encoder, Decoder, encodePlain, decodePlain, roundTrip, type PidInterner } from './codec.js';
export { PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, Flags, Op, Hs } from './protocol.js';
export { proof, checkProof, makeChallenge, isNodeName } from './handshake.js';
export { MAX_BATCH, type ConnectionState } from './connection.js';
export { Global, GLOBAL_NAME_SERVER, type GlobalHost, GLOBAL_LOCK, randomExitName, randomNotifyName, notifyAllName, backoff, type LockId, type Resolver, type NameConflict, type GlobalOptions } from './global.js';
