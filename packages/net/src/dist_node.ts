/**
 * A distributed node: a core `Node` with a name, a cookie, a listening WebSocket server and
 * the services that make pids location-transparent (OTP's `net_kernel`, `rpc`, `global`),
 * their servers supervised by the node's `kernel_sup`. Code running in a process reaches them
 * with `distNode(self)`, `globalOf(self)` and `rpcOf(self)`, without casts.
 *
 * @example
 * const a = await DistNode.start({ name: 'a@127.0.0.1', cookie: 'secret', port: 0 });
 * const b = await DistNode.start({ name: 'b@127.0.0.1', cookie: 'secret', seeds: [`a@127.0.0.1:${a.port}`] });
 * await b.connect('a@127.0.0.1');
 * b.send(['logger', 'a@127.0.0.1'], 'hello');
 */
import { Node, type NodeOptions, type Process } from '@rigil/core';
import { installBuiltins, NODE_BUILTINS } from './builtins.js';
import { checkDiscovery, DnsDiscovery, type DiscoveryOptions, type DnsDiscoveryConfig } from './discovery.js';
import { DistError, distError } from './errors.js';
import { NodeEvents, type EventHandler } from './events.js';
import { INTROSPECTION_BUILTINS } from './introspect.js';
import { METRICS_BUILTINS } from './metrics.js';
import { Global, type GlobalOptions } from './global.js';
import { isNodeName } from './handshake.js';
import { startKernelSup } from './kernel_sup.js';
import { NetKernel, RECONNECT_DEFAULTS, type NetOptions, type NodeEvent } from './net_kernel.js';
import { REFUSAL_LOG_DEFAULTS } from './refusal_log.js';
import { Rpc } from './rpc.js';
import type { Transport } from './transport.js';
import { WebSocketTransport, type TlsOptions } from './ws_transport.js';
import { SameHostTransport } from './unix_transport.js';

/** Options of `DistNode.start`. */
export interface DistNodeOptions extends NodeOptions {
  /** `name@host`; by default the node listens on, and is reached at, `host`. */
  name: string;
  /** The shared secret; never sent over the wire. */
  cookie: string;
  /** Port to listen on (default 0: any free port, see `node.port`). */
  port?: number;
  /** Address to listen on (default: the host part of the name). */
  host?: string;
  /** Set false for a node that only dials (tools). Default true. */
  listen?: boolean;
  /** A hidden node does not join the mesh and is not in `nodes()` (tools, probes). */
  hidden?: boolean;
  /** A peer silent for this many ms is down (default 60000, OTP's `net_ticktime`). */
  tickTime?: number;
  /** Milliseconds a handshake may take (default 5000). */
  handshakeTimeout?: number;
  /** Largest frame, in bytes (default 256 MiB). */
  maxFrameSize?: number;
  /**
   * Largest frame accepted before a connection's handshake finished, in bytes (default 4096;
   * at least 1024, at most `maxFrameSize`): a stranger cannot make the node buffer more.
   */
  handshakeFrameSize?: number;
  /**
   * Most inbound connections that have not proven the cookie yet, at once (default 64); more
   * are closed at once and counted in `node.net.stats.handshakesRefused`. Each lasts at most
   * `handshakeTimeout`.
   */
  maxHandshakes?: number;
  /**
   * Backpressure (OTP's `dist_buf_busy_limit`): once this many bytes wait to go out on a
   * connection, a process sending to that node is suspended until they fall below half.
   * Default 1 MiB; at least 1 KiB.
   */
  busyLimit?: number;
  /** Frames longer than this many bytes go out in fragments of this size (default 64 KiB; at least 1 KiB). */
  fragmentSize?: number;
  /** TLS (`wss`) with the user's key and certificate (an option of the default WebSocket transport). */
  tls?: TlsOptions;
  /**
   * How connections are made (OTP's `-proto_dist`): default `new WebSocketTransport({ tls })`.
   * Tests pass an in-memory transport, or a wrapper that cuts links between nodes.
   */
  transport?: Transport;
  /**
   * A directory for Unix-domain sockets: nodes of this host that share it reach each other
   * through `<dir>/rigil-<port>.sock` instead of loopback TCP, others as before (see
   * `SameHostTransport`). Off by default; not with `tls` or `transport`.
   */
  unixSockets?: string;
  /** Peers known from the start (`name@host:port` or `ws(s)://` URLs); dialled in the background. */
  seeds?: string[];
  /**
   * How the node finds its peers besides `seeds` (libcluster's strategies; see discovery.ts):
   * `{ strategy: 'static', nodes }` (more seeds) and `{ strategy: 'dns', query, type,
   * nodeBasename, port?, pollMs?, server? }` (a DNS name polled: new nodes dialled and redialled
   * for life, vanished ones forgotten). One strategy or several.
   */
  discovery?: DiscoveryOptions | readonly DiscoveryOptions[];
  /** Connect to the peers a new peer knows (full mesh; default true). */
  connectAll?: boolean;
  /**
   * Back-off of the redials that keep a node connected for life to its seeds and to every peer
   * it was authenticated with (see `ReconnectOptions` in net_kernel.ts): the first after
   * `baseMs` (default 100), doubling to `maxMs` (default 2000), ±25 % jitter.
   */
  reconnect?: { baseMs?: number; maxMs?: number };
  /** Options of `global`. */
  global?: GlobalOptions;
  /**
   * Connections refused in their handshake (a bad cookie, hostile bytes, a timeout) are reported
   * once per peer address and code and this many ms, then summarised ("N more refused from X in
   * the last 60 s"); default 60000 (see refusal_log.ts).
   */
  refusalLogMs?: number;
}

/** A node of a cluster. */
export class DistNode extends Node {
  /** Connections, routing, node monitoring (OTP's `net_kernel`). */
  readonly net: NetKernel;
  /** Procedures this node exposes and calls to other nodes' (OTP's `rpc`). */
  readonly rpc: Rpc;
  /** The cluster-wide name registry and locks (OTP's `global`). */
  readonly global: Global;
  /** The node's running dns discovery strategies (`options.discovery`), in the order given. */
  readonly discovery: readonly DnsDiscovery[];
  /** When the node started (`clock.now()`, `performance.now()` on the real clock), for `node.info`. */
  readonly startedAt = this.clock.now();
  /** The node's event hook and the counters its metrics read (see `onEvent`, events.ts). */
  readonly events: NodeEvents;

  /** Creates a node without starting it; use `DistNode.start`. */
  constructor(options: DistNodeOptions) {
    const { net, dns } = checkOptions(options);
    super(options);
    this.net = new NetKernel(this, net);
    // Stop hooks run last-registered first: the services registered after this one (global,
    // dist-ac) learn that the node stops before its connections close, and ignore those nodedowns.
    this.onStop(() => this.net.close());
    this.discovery = dns.map((c) => new DnsDiscovery(this.net, c));
    // Discovery stops polling before the connections close (a late answer dials nothing).
    if (this.discovery.length > 0) this.onStop(() => this.discovery.forEach((d) => d.stop()));
    this.rpc = new Rpc(this);
    installBuiltins(this.rpc, this, NODE_BUILTINS);
    installBuiltins(this.rpc, this, INTROSPECTION_BUILTINS);
    this.events = new NodeEvents(this, (fn) => this.net.subscribe(fn));
    installBuiltins(this.rpc, this, METRICS_BUILTINS);
    this.global = new Global(this, options.global);
    this.globalNames = this.global;
  }

  /**
   * Starts a distributed node: validates the options (`ERR_BAD_CONFIG`, `ERR_BAD_SEED`,
   * `ERR_BAD_NAME`, `ERR_BAD_DISCOVERY`), listens (`ERR_ADDRESS_IN_USE` when the port is taken,
   * `ERR_LISTEN` for another OS refusal; nothing is left running then), starts `kernel_sup` with the rpc server
   * (`rex`) and the global name server, dials the seeds in the background and starts the dns
   * discovery strategies' polls (OTP's `net_kernel:start/1` with kernel's boot-time
   * `sync_nodes`/`.hosts.erlang` role played by seeds and discovery).
   */
  static async start(options: DistNodeOptions): Promise<DistNode> {
    const node = new DistNode(options);
    try {
      await node.net.listen();
      await startKernelSup(node);
      node.net.connectSeeds();
      for (const d of node.discovery) d.start();
    } catch (e) {
      await node.stop();
      throw e;
    }
    return node;
  }

  /** The port this node listens on. */
  get port(): number {
    return this.net.port;
  }

  /** Where peers reach this node (`ws://host:port`), or null if it does not listen. */
  get url(): string | null {
    return this.net.url;
  }

  /** Connected visible nodes (OTP's `nodes/0`). */
  nodes(): string[] {
    return this.net.nodes();
  }

  /** Connects to a node (OTP's `net_kernel:connect_node/1`): true once connected. */
  connect(node: string): Promise<boolean> {
    return this.net.connect(node);
  }

  /** Disconnects from a node (OTP's `erlang:disconnect_node/1`). */
  disconnect(node: string): boolean {
    return this.net.disconnect(node);
  }

  /** `'pong'` if `node` can be reached, `'pang'` otherwise (OTP's `net_adm:ping/1`). */
  async ping(node: string): Promise<'pong' | 'pang'> {
    return (await this.net.connect(node)) ? 'pong' : 'pang';
  }

  /** Monitors a node from a process (OTP's `monitor_node/2`): `{ tag: 'nodedown', node }`. */
  monitorNode(self: Process, node: string, flag = true): true {
    return this.net.monitorNode(self, node, flag);
  }

  /** Subscribes a process to `{ tag: 'nodeup' | 'nodedown', node }` (OTP's `net_kernel:monitor_nodes/1`). */
  monitorNodes(self: Process, flag = true, options?: { hidden?: boolean }): void {
    this.net.monitorNodes(self, flag, options);
  }

  /** Subscribes in-process code to node events; returns an unsubscribe function. */
  onNodeEvent(fn: (e: NodeEvent) => void): () => void {
    return this.net.subscribe(fn);
  }

  /**
   * Subscribes to the node's events for telemetry — nodeup/nodedown, dist-ac starts (with
   * cause and epoch) and stops, supervisor restarts (see `RigilEvent` in events.ts); returns an
   * unsubscribe function. No single OTP equivalent (`net_kernel:monitor_nodes/2` plus logger
   * handlers for supervisor and dist_ac reports).
   */
  onEvent(handler: EventHandler): () => void {
    return this.events.subscribe(handler);
  }
}

// ---------------------------------------------------------------- services from a process

/**
 * The distributed node `of` runs on (`of`: a node, or a process — `self`); throws a
 * `DistError` `ERR_NOT_DISTRIBUTED` when it is a plain core `Node`. In OTP every node may be
 * distributed and code reaches its kernel services by registered name; in rigil only a
 * `DistNode` has them, and this is the typed way there.
 *
 * @example
 * async start(_type, _args, self) {
 *   await globalOf(self).register('db', self.pid);
 *   const peers = distNode(self).nodes();
 * }
 */
export function distNode(of: Node | Process): DistNode {
  const node = of instanceof Node ? of : (of as { node?: unknown } | null)?.node;
  if (node instanceof DistNode) return node;
  const name = node instanceof Node ? node.name : String(node);
  throw new DistError('ERR_NOT_DISTRIBUTED', `node ${name} is not distributed: start it with DistNode.start() to use global, rpc or dist-ac`);
}

/** The `global` service of the node `of` runs on (OTP's `global` module, reached on the local node); `ERR_NOT_DISTRIBUTED` otherwise. */
export function globalOf(of: Node | Process): Global {
  return distNode(of).global;
}

/** The rpc service of the node `of` runs on (OTP's `rpc` module on the local node); `ERR_NOT_DISTRIBUTED` otherwise. */
export function rpcOf(of: Node | Process): Rpc {
  return distNode(of).rpc;
}

function checkOptions(o: DistNodeOptions): { net: NetOptions; dns: DnsDiscoveryConfig[] } {
  if (typeof o !== 'object' || o === null) throw distError('ERR_BAD_CONFIG', 'options must be an object');
  if (!isNodeName(o.name)) throw distError('ERR_BAD_NAME', `bad node name ${JSON.stringify(o.name)}: expected name@host`);
  if (typeof o.cookie !== 'string' || o.cookie === '') throw distError('ERR_BAD_CONFIG', 'cookie must be a non-empty string');
  const port = o.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw distError('ERR_BAD_CONFIG', `bad port ${String(o.port)}`);
  const tickTime = o.tickTime ?? 60_000;
  if (!(typeof tickTime === 'number' && tickTime >= 40)) throw distError('ERR_BAD_CONFIG', `tickTime must be at least 40 ms, got ${String(o.tickTime)}`);
  const handshakeTimeout = o.handshakeTimeout ?? 5000;
  if (!(typeof handshakeTimeout === 'number' && handshakeTimeout > 0)) throw distError('ERR_BAD_CONFIG', `bad handshakeTimeout ${String(o.handshakeTimeout)}`);
  const maxFrameSize = o.maxFrameSize ?? 256 * 1024 * 1024;
  if (!(Number.isInteger(maxFrameSize) && maxFrameSize >= 1024)) throw distError('ERR_BAD_CONFIG', `bad maxFrameSize ${String(o.maxFrameSize)}`);
  const handshakeFrameSize = o.handshakeFrameSize ?? 4096;
  if (!(Number.isInteger(handshakeFrameSize) && handshakeFrameSize >= 1024 && handshakeFrameSize <= maxFrameSize)) {
    throw distError('ERR_BAD_CONFIG', `bad handshakeFrameSize ${String(o.handshakeFrameSize)}: an integer from 1024 to maxFrameSize`);
  }
  const maxHandshakes = o.maxHandshakes ?? 64;
  if (!(Number.isInteger(maxHandshakes) && maxHandshakes >= 1)) throw distError('ERR_BAD_CONFIG', `bad maxHandshakes ${String(o.maxHandshakes)}: a positive integer`);
  const busyLimit = o.busyLimit ?? 1024 * 1024;
  if (!(Number.isInteger(busyLimit) && busyLimit >= 1024)) throw distError('ERR_BAD_CONFIG', `busyLimit must be an integer of at least 1024 bytes, got ${String(o.busyLimit)}`);
  const fragmentSize = o.fragmentSize ?? Math.min(64 * 1024, maxFrameSize);
  if (!(Number.isInteger(fragmentSize) && fragmentSize >= 1024 && fragmentSize <= maxFrameSize)) {
    throw distError('ERR_BAD_CONFIG', `fragmentSize must be an integer from 1024 to maxFrameSize, got ${String(o.fragmentSize)}`);
  }
  const seeds = o.seeds ?? [];
  if (!Array.isArray(seeds) || seeds.some((s) => typeof s !== 'string')) throw distError('ERR_BAD_SEED', 'seeds must be an array of strings');
  const discovery = checkDiscovery(o.discovery);
  if (o.listen === false) {
    const needsPort = discovery.dns.find((d) => d.type !== 'SRV' && d.port === undefined);
    if (needsPort !== undefined) throw distError('ERR_BAD_DISCOVERY', `discovery ${needsPort.query}: a node that does not listen needs the port of its peers (port)`);
  }
  if (o.tls !== undefined && (typeof o.tls !== 'object' || o.tls === null || o.tls.key === undefined || o.tls.cert === undefined)) {
    throw distError('ERR_BAD_CONFIG', 'tls needs key and cert');
  }
  const refusalLogMs = o.refusalLogMs ?? REFUSAL_LOG_DEFAULTS.intervalMs;
  if (!(typeof refusalLogMs === 'number' && Number.isFinite(refusalLogMs) && refusalLogMs >= 1)) throw distError('ERR_BAD_CONFIG', `bad refusalLogMs ${String(o.refusalLogMs)}: a number of ms, at least 1`);
  const rc = o.reconnect ?? {};
  if (typeof rc !== 'object' || rc === null) throw distError('ERR_BAD_CONFIG', 'reconnect must be an object { baseMs?, maxMs? }');
  const baseMs = rc.baseMs ?? RECONNECT_DEFAULTS.baseMs;
  const maxMs = rc.maxMs ?? Math.max(RECONNECT_DEFAULTS.maxMs, baseMs);
  if (!(typeof baseMs === 'number' && Number.isFinite(baseMs) && baseMs >= 1) || !(typeof maxMs === 'number' && Number.isFinite(maxMs) && maxMs >= baseMs)) {
    throw distError('ERR_BAD_CONFIG', `bad reconnect ${JSON.stringify(rc)}: baseMs at least 1, maxMs at least baseMs (finite numbers)`);
  }
  if (o.transport !== undefined) {
    const t = o.transport as Partial<Transport> | null;
    if (typeof t !== 'object' || t === null || typeof t.listen !== 'function' || typeof t.dial !== 'function' || typeof t.address !== 'function') {
      throw distError('ERR_BAD_CONFIG', 'transport must have listen, dial and address (see Transport)');
    }
    if (o.tls !== undefined) throw distError('ERR_BAD_CONFIG', 'tls is an option of the default transport: give it to your transport instead');
    if (o.unixSockets !== undefined) throw distError('ERR_BAD_CONFIG', 'unixSockets is an option of the default transport: wrap your transport in a SameHostTransport instead');
  }
  if (o.unixSockets !== undefined) {
    if (typeof o.unixSockets !== 'string' || o.unixSockets === '') throw distError('ERR_BAD_CONFIG', 'unixSockets must be a directory path (a non-empty string)');
    // A same-host connection would skip TLS (and its client-certificate check).
    if (o.tls !== undefined) throw distError('ERR_BAD_CONFIG', 'unixSockets and tls together: a same-host connection would skip TLS; use one or the other');
  }
  const wsTransport = (): Transport => new WebSocketTransport({ tls: o.tls });
  const net: NetOptions = {
    cookie: o.cookie,
    port,
    host: o.host ?? o.name.slice(o.name.indexOf('@') + 1),
    listen: o.listen ?? true,
    hidden: o.hidden ?? false,
    tickTime,
    handshakeTimeout,
    maxFrameSize,
    handshakeFrameSize,
    maxHandshakes,
    busyLimit,
    fragmentSize,
    transport: o.transport ?? (o.unixSockets !== undefined ? new SameHostTransport({ dir: o.unixSockets, inner: wsTransport() }) : wsTransport()),
    seeds: [...seeds, ...discovery.seeds],
    connectAll: o.connectAll ?? true,
    reconnect: { baseMs, maxMs },
    refusalLogMs,
  };
  return { net, dns: discovery.dns };
}
