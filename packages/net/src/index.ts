/**
 * @rigil/net — nodes connected over a transport (WebSocket by default) with msgpackr framing:
 * cookie authentication, remote send/link/monitor/exit/call, node monitoring, rpc, and `global`.
 *
 * This is the public surface. The wire (codec, protocol ops, handshake proofs, batching limits)
 * is internal: the package's own tests import it from `src/` directly.
 *
 * @packageDocumentation
 * @module @rigil/net
 */
export { DistNode, distNode, globalOf, rpcOf, type DistNodeOptions } from './dist_node.js';
export { KERNEL_SUP, KERNEL_SUP_FLAGS, addKernelChild } from './kernel_sup.js';
export { installBuiltins, installControlBuiltins, checkArgs, arg, NODE_BUILTINS, CONTROL_BUILTINS, type Builtin, type ArgSpec, type BuiltinHost } from './builtins.js';
export {
  DnsDiscovery,
  DiscoveryLimits,
  DNS_DISCOVERY_DEFAULTS,
  checkDiscovery,
  resolverLookup,
  type DiscoveryOptions,
  type StaticDiscoveryOptions,
  type DnsDiscoveryOptions,
  type DnsDiscoveryConfig,
  type DnsDiscoveryStats,
  type DnsLookup,
  type SrvAnswer,
} from './discovery.js';
export { NetKernel, RECONNECT_DEFAULTS, type NetOptions, type NodeEvent, type NodeMessage, type NetStats, type ReconnectOptions } from './net_kernel.js';
export type { Traffic } from './connection.js';
export type { Transport, TransportConnection, TransportHandlers, Listener, ListenOptions, DialOptions } from './transport.js';
export { WebSocketTransport, type WebSocketTransportOptions, type TlsOptions } from './ws_transport.js';
export { SameHostTransport, isThisHost, type SameHostTransportOptions } from './unix_transport.js';
export { Rpc, REX, type Procedure, type SpawnableFunction } from './rpc.js';
export { DistError, RpcError, badArgs, type DistErrorCode } from './errors.js';
export type { PidInterner } from './codec.js';
export { RefusalLog, REFUSAL_LOG_DEFAULTS, OTHER_ADDRESSES } from './refusal_log.js';
export { renderUntrusted, escapeUntrusted, type RenderOptions } from './render.js';
export { boundedValue, type BoundedOptions, type Bounded, type Json } from './bounded.js';
export { NodeEvents, MAX_COUNTED_APPS, type RigilEvent, type EventHandler, type EventCounters, type MoveCause as EventMoveCause } from './events.js';
export {
  INTROSPECTION_BUILTINS,
  MAX_PAGE,
  TREE_DEPTH,
  TREE_WIDTH,
  TREE_NODES,
  processPage,
  processDetail,
  applicationTree,
  processState,
  parsePid,
  type ProcessSort,
  type ProcessRow,
  type ProcessPage,
  type ProcessDetail,
  type TreeNode,
  type ApplicationTree,
  type ProcessState,
} from './introspect.js';
export { renderMetrics, serveMetrics, escapeLabel, METRICS_BUILTINS, MAX_SUPERVISORS, type MetricsHost } from './metrics.js';
export { Global, GLOBAL_NAME_SERVER, type GlobalHost, GLOBAL_LOCK, randomExitName, randomNotifyName, notifyAllName, type LockId, type Resolver, type NameConflict, type GlobalOptions } from './global.js';
