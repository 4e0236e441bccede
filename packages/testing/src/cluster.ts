/**
 * A cluster of real `DistNode`s in this OS process, over real sockets on loopback (port 0, so
 * tests never collide), fully meshed before `startCluster` resolves, and `stop()` that closes
 * every listener, socket and timer — for users' tests of distributed code that should run on
 * the real transport (the `Simulation` is the deterministic, virtual-time alternative).
 * Also `freePort()`, for a node whose address must be known before it starts.
 *
 * No OTP equivalent: OTP's tests use `peer:start_link/1` (separate emulators) or Common Test's
 * `ct_slave`; rigil nodes are objects, so several share one process.
 */
import { createServer, type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { DistNode, type DistNodeOptions, type TlsOptions } from '@rigil/net';
import { SimError } from './errors.js';
import { waitFor } from './wait_for.js';

/** Options of `startCluster`. */
export interface ClusterOptions {
  /** How many nodes (default 3), named `n1@host`, `n2@host`, …; ignored when `names` is given. */
  readonly nodes?: number;
  /** The node names (`name@host`), instead of `nodes`. */
  readonly names?: readonly string[];
  /** The cookie of every node (default: a random one, so two clusters in one process never mix). */
  readonly cookie?: string;
  /** Host of the default names `n1@host`, … (default `'127.0.0.1'`); each node listens on its name's host. */
  readonly host?: string;
  /** TLS (`wss`) for every node: the WebSocket transport's `key`, `cert`, `ca`, … */
  readonly tls?: TlsOptions;
  /** More `DistNode` options for every node (e.g. `tickTime`, `reconnect`); the cluster's own win. */
  readonly nodeOptions?: Partial<Omit<DistNodeOptions, 'name' | 'cookie' | 'port' | 'seeds' | 'tls'>>;
  /** Milliseconds (real time) the nodes may take to form a full mesh (default 10000). */
  readonly meshTimeoutMs?: number;
}

/** A running cluster from `startCluster`. */
export interface Cluster {
  /** The nodes, in the order of `names` (or `n1`, `n2`, …). */
  readonly nodes: readonly DistNode[];
  /** Their cookie. */
  readonly cookie: string;
  /** The node named `name` (the full `name@host`, or the part before `@`); throws if unknown. */
  node(name: string): DistNode;
  /** A node's seed string `name@host:port`, to start another node that joins this cluster. */
  seed(node: DistNode): string;
  /** True while every node is connected to every other. */
  meshed(): boolean;
  /** Stops every node (closing its listener, connections and timers); idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a fully meshed cluster of real `DistNode`s on loopback, each on a free port (port 0),
 * and resolves once every node sees every other in `nodes()`. If the mesh does not form in
 * `meshTimeoutMs`, stops what it started and rejects with `SimError` `ERR_CLUSTER_TIMEOUT`.
 * No OTP equivalent (OTP's tests start peers with `peer:start_link/1`).
 *
 * @example
 * const cluster = await startCluster({ nodes: 3 });
 * try {
 *   const [a, b] = cluster.nodes;
 *   // … a.spawn, b.global.register, genServer.call(b, globalName<…>('x'), …)
 * } finally {
 *   await cluster.stop();
 * }
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const host = options.host ?? '127.0.0.1';
  const names = options.names ?? Array.from({ length: checkCount(options.nodes ?? 3) }, (_, i) => `n${i + 1}@${host}`);
  if (names.length === 0 || new Set(names).size !== names.length || !names.every((n) => typeof n === 'string' && /^[^@]+@[^@]+$/.test(n))) {
    throw new SimError('ERR_SIM_BAD_ARG', `startCluster: names must be distinct name@host strings, got ${JSON.stringify(names)}`);
  }
  const cookie = options.cookie ?? randomBytes(12).toString('hex');
  const meshTimeoutMs = options.meshTimeoutMs ?? 10_000;
  const nodes: DistNode[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= Promise.all(nodes.map((n) => n.stop())).then(() => undefined));
  const seed = (n: DistNode): string => `${n.name}:${n.port}`;
  const meshed = (): boolean => nodes.every((x) => nodes.every((y) => x === y || x.nodes().includes(y.name)));
  try {
    for (const name of names) {
      const node = await DistNode.start({
        ...options.nodeOptions,
        name,
        cookie,
        port: 0,
        // Every earlier node as a seed: the mesh does not hang on one of them.
        seeds: nodes.map(seed),
        ...(options.tls !== undefined ? { tls: options.tls } : {}),
      });
      nodes.push(node);
    }
    try {
      await waitFor(meshed, { timeoutMs: meshTimeoutMs, intervalMs: 5, what: 'the full mesh' });
    } catch (e) {
      const views = nodes.map((n) => `${n.name} sees [${n.nodes().join(', ')}]`).join('; ');
      throw new SimError('ERR_CLUSTER_TIMEOUT', `startCluster: no full mesh after ${meshTimeoutMs} ms: ${views}`, 'timeout', { cause: e });
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    nodes,
    cookie,
    node(name: string): DistNode {
      const n = nodes.find((x) => x.name === name || x.name.split('@')[0] === name);
      if (n === undefined) throw new SimError('ERR_SIM_UNKNOWN_NODE', `no node ${JSON.stringify(name)} in this cluster`);
      return n;
    },
    seed,
    meshed,
    stop,
  };
}

function checkCount(n: number): number {
  if (!(Number.isSafeInteger(n) && n >= 1)) throw new SimError('ERR_SIM_BAD_ARG', `startCluster: nodes must be a positive integer, got ${String(n)}`);
  return n;
}

/**
 * A TCP port free right now on `host` (default `'127.0.0.1'`), or on every one of several
 * hosts: the OS picks it on the first, the others are tried, up to 20 picks. The port is
 * released before it resolves, so another process may take it in between: prefer port 0 where
 * the address need not be known in advance. No OTP equivalent.
 */
export async function freePort(host: string | readonly string[] = '127.0.0.1'): Promise<number> {
  const hosts = typeof host === 'string' ? [host] : [...host];
  if (hosts.length === 0) throw new SimError('ERR_SIM_BAD_ARG', 'freePort: no host');
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      first.once('error', reject).listen(0, hosts[0], () => resolve((first.address() as AddressInfo).port));
    });
    const servers = [first];
    let free = true;
    for (const h of hosts.slice(1)) {
      const s = createServer();
      servers.push(s);
      free &&= await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false)).listen(port, h, () => resolve(true));
      });
      if (!free) break;
    }
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
    if (free) return port;
  }
  throw new SimError('ERR_NO_FREE_PORT', `freePort: no port free on every one of ${hosts.join(', ')}`);
}
