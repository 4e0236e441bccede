/**
 * A distributed node: a core `Node` with a name, a cookie, a listening WebSocket server and
 * the services that make pids location-transparent (OTP's `net_kernel`, `rpc`, and — once
 * installed — `global`).
 *
 * @example
 * const a = await DistNode.start({ name: 'a@127.0.0.1', cookie: 'secret', port: 0 });
 * const b = await DistNode.start({ name: 'b@127.0.0.1', cookie: 'secret', seeds: [`a@127.0.0.1:${a.port}`] });
 * await b.connect('a@127.0.0.1');
 * b.send(['logger', 'a@127.0.0.1'], 'hello');
 */
import { genServer, Node, type NodeOptions, type Process } from '@rigil/core';
import { distError } from './errors.js';
import { Global, type GlobalOptions } from './global.js';
import { isNodeName } from './handshake.js';
import { NetKernel, type NetOptions, type NodeEvent } from './net_kernel.js';
import { REX, Rpc, rexServer } from './rpc.js';
import type { Transport } from './transport.js';
import { WebSocketTransport, type TlsOptions } from './ws_transport.js';

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
  /** TLS (`wss`) with the user's key and certificate (an option of the default WebSocket transport). */
  tls?: TlsOptions;
  /**
   * How connections are made (OTP's `-proto_dist`): default `new WebSocketTransport({ tls })`.
   * Tests pass an in-memory transport, or a wrapper that cuts links between nodes.
   */
  transport?: Transport;
  /** Peers known from the start (`name@host:port` or `ws(s)://` URLs); dialled in the background. */
  seeds?: string[];
  /** Connect to the peers a new peer knows (full mesh; default true). */
  connectAll?: boolean;
  /** Options of `global`. */
  global?: GlobalOptions;
}

/** A node of a cluster. */
export class DistNode extends Node {
  /** Connections, routing, node monitoring (OTP's `net_kernel`). */
  readonly net: NetKernel;
  /** Procedures this node exposes and calls to other nodes' (OTP's `rpc`). */
  readonly rpc: Rpc;
  /** The cluster-wide name registry and locks (OTP's `global`). */
  readonly global: Global;
  /** When the node started (`performance.now()`), for `node.info`. */
  readonly startedAt = performance.now();

  /** Creates a node without starting it; use `DistNode.start`. */
  constructor(options: DistNodeOptions) {
    const net = checkOptions(options);
    super(options);
    this.net = new NetKernel(this, net);
    this.rpc = new Rpc(this);
    this.global = new Global(this, options.global);
    this.globalNames = this.global;
    this.setRouter(this.net);
    this.onStop(() => this.net.close());
  }

  /**
   * Starts a distributed node: validates the options (`ERR_BAD_CONFIG`, `ERR_BAD_SEED`,
   * `ERR_BAD_NAME`), listens, starts the rpc server and dials the seeds in the background.
   */
  static async start(options: DistNodeOptions): Promise<DistNode> {
    const node = new DistNode(options);
    try {
      await node.net.listen();
      const rex = await genServer.start(node, rexServer(node.rpc), undefined, { name: REX });
      if (rex === 'ignore' || !('ok' in rex)) throw distError('ERR_BAD_CONFIG', 'the rpc server did not start');
      await node.global.start();
    } catch (e) {
      await node.stop();
      throw e;
    }
    node.net.connectSeeds();
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
}

function checkOptions(o: DistNodeOptions): NetOptions {
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
  const seeds = o.seeds ?? [];
  if (!Array.isArray(seeds) || seeds.some((s) => typeof s !== 'string')) throw distError('ERR_BAD_SEED', 'seeds must be an array of strings');
  if (o.tls !== undefined && (typeof o.tls !== 'object' || o.tls === null || o.tls.key === undefined || o.tls.cert === undefined)) {
    throw distError('ERR_BAD_CONFIG', 'tls needs key and cert');
  }
  if (o.transport !== undefined) {
    const t = o.transport as Partial<Transport> | null;
    if (typeof t !== 'object' || t === null || typeof t.listen !== 'function' || typeof t.dial !== 'function' || typeof t.address !== 'function') {
      throw distError('ERR_BAD_CONFIG', 'transport must have listen, dial and address (see Transport)');
    }
    if (o.tls !== undefined) throw distError('ERR_BAD_CONFIG', 'tls is an option of the default transport: give it to your transport instead');
  }
  return {
    cookie: o.cookie,
    port,
    host: o.host ?? o.name.slice(o.name.indexOf('@') + 1),
    listen: o.listen ?? true,
    hidden: o.hidden ?? false,
    tickTime,
    handshakeTimeout,
    maxFrameSize,
    transport: o.transport ?? new WebSocketTransport({ tls: o.tls }),
    seeds,
    connectAll: o.connectAll ?? true,
  };
}
