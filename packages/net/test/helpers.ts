/**
 * Shared test helpers for @rigil/net: polling with a deadline, a cluster of nodes in this OS
 * process (all stopped after each test), processes that record their mailbox, and a raw
 * WebSocket client that speaks the handshake by hand (for bad-input tests; attacker.ts is the
 * hostile one).
 */
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import { formatReason, Pid, type Process, type Report } from '@rigil/core';
import { DistNode, type DistNodeOptions, type Transport } from '../src/index.js';
import { decodePlain, encodePlain } from '../src/codec.js';
import { checkMac, mac, makeNonce, type Transcript } from '../src/handshake.js';
import { PROTOCOL_VERSION } from '../src/protocol.js';

/**
 * Polls `cond` until it returns a truthy value, failing after `timeoutMs`.
 * Never sleeps blindly: it re-checks every few milliseconds.
 */
export async function waitFor<T>(cond: () => T, timeoutMs = 3000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
}

/** Resolves after `ms` of real time (only for bounded liveness checks, never to "let things settle"). */
export function elapse(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `fn` inside a new process of `node` and resolves with what it returns. Rejects if `fn`
 * throws, or if the process exits before `fn` returned (e.g. killed by a link).
 */
export function runIn<T>(node: DistNode, fn: (self: Process) => Promise<T> | T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const pid = node.spawn(async (self) => {
      let value: T;
      try {
        value = await fn(self);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
        throw e;
      }
      resolve(value);
    });
    node.monitor(pid, {
      onDown: (_ref, reason) => reject(new Error(`process ${pid} exited before returning: ${formatReason(reason)}`)),
    });
  });
}

/** A process that records every message it receives, in order. */
export function spawnRecorder(node: DistNode, options: { trapExit?: boolean; name?: string } = {}): { pid: Pid; got: unknown[]; exit: { reason?: unknown; down: boolean } } {
  const got: unknown[] = [];
  const pid = node.spawn(async (self) => {
    for (;;) got.push(await self.receive());
  }, { trapExit: options.trapExit ?? false });
  if (options.name !== undefined) node.register(options.name, pid);
  const exit: { reason?: unknown; down: boolean } = { down: false };
  node.monitor(pid, {
    onDown: (_r, reason) => {
      exit.down = true;
      exit.reason = reason;
    },
  });
  return { pid, got, exit };
}

/** The pid `node` uses for `pid` (as if it had come over the wire): the canonical interned object. */
export function seen(node: DistNode, pid: Pid): Pid {
  return node.net.interner(pid.node, pid.id, pid.creation);
}

/** Collects the reports of `node` of kind `dist`. */
export function distReports(node: DistNode): Report[] {
  const out: Report[] = [];
  node.onReport((r) => {
    if (r.kind === 'dist') out.push(r);
  });
  return out;
}

let serial = 0;

/** A fresh node name on the loopback host. */
export function uniqueName(base: string): string {
  return `${base}${++serial}_${process.pid}@127.0.0.1`;
}

/**
 * The nodes, raw sockets and other closeables of one test file; everything is stopped in
 * `afterEach`. `const cluster = useCluster();`
 */
export class Cluster {
  private readonly nodes: DistNode[] = [];
  private readonly sockets: WebSocket[] = [];
  private readonly closers: Array<() => Promise<void> | void> = [];

  /** `transport`: makes each node's transport (e.g. a `FaultyTransport`, to cut links); default WebSocket. */
  constructor(private readonly options: ClusterOptions = {}) {}

  /** Starts a node named `base…@127.0.0.1` (unless `name` is given) on port 0 with cookie `c`. */
  async start(base: string, options: Partial<DistNodeOptions> = {}): Promise<DistNode> {
    const transport = this.options.transport?.();
    const node = await DistNode.start({ name: uniqueName(base), cookie: 'c', port: 0, ...(transport !== undefined ? { transport } : {}), ...options });
    this.nodes.push(node);
    return node;
  }

  /** Starts `n` nodes and connects each to every other. */
  async startConnected(n: number, options: Partial<DistNodeOptions> = {}): Promise<DistNode[]> {
    const nodes: DistNode[] = [];
    for (let i = 0; i < n; i++) {
      const seeds = nodes.map((m) => `${m.name}:${m.port}`);
      nodes.push(await this.start(String.fromCharCode(97 + i), { seeds, ...options }));
    }
    for (const x of nodes) for (const y of nodes) if (x !== y) await x.connect(y.name);
    for (const x of nodes) {
      await waitFor(() => nodes.every((y) => y === x || x.net.isConnected(y.name)), 3000, `${x.name} connected to all`);
    }
    return nodes;
  }

  /** Seed string of a node. */
  seed(node: DistNode): string {
    return `${node.name}:${node.port}`;
  }

  /** Tracks a node started elsewhere. */
  add(node: DistNode): DistNode {
    this.nodes.push(node);
    return node;
  }

  /** Tracks a raw socket. */
  socket(ws: WebSocket): WebSocket {
    this.sockets.push(ws);
    return ws;
  }

  /** Tracks anything else to close. */
  onCleanup(fn: () => Promise<void> | void): void {
    this.closers.push(fn);
  }

  /** Stops everything started since the last call. */
  async stopAll(): Promise<void> {
    for (const ws of this.sockets.splice(0)) ws.terminate();
    await Promise.all(this.nodes.splice(0).map((n) => n.stop()));
    for (const c of this.closers.splice(0)) await c();
  }
}

/** Options of a test cluster. */
export interface ClusterOptions {
  /** Makes the transport of each node started (default: the node's own, WebSocket). */
  transport?: () => Transport;
}

/** A cluster whose nodes are stopped after each test. */
export function useCluster(options: ClusterOptions = {}): Cluster {
  const c = new Cluster(options);
  afterEach(() => c.stopAll());
  return c;
}

// ---------------------------------------------------------------- raw WebSocket peers

/** A raw `ws` client with a queue of received frames and the close it saw. */
export class RawPeer {
  readonly frames: Array<{ data: Buffer; binary: boolean }> = [];
  closed: { code: number; reason: string } | undefined;
  opened = false;
  error: Error | undefined;
  private waiters: Array<() => void> = [];

  constructor(readonly ws: WebSocket) {
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => {
      this.opened = true;
      this.wake();
    });
    ws.on('message', (data: Buffer, binary: boolean) => {
      this.frames.push({ data, binary });
      this.wake();
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', (e: Error) => {
      this.error = e;
      this.wake();
    });
  }

  /** Opens a raw socket to a node's port (tracked by `cluster`). */
  static async open(cluster: Cluster, port: number, options: WebSocket.ClientOptions = {}): Promise<RawPeer> {
    const ws = cluster.socket(new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false, ...options }));
    const peer = new RawPeer(ws);
    await peer.until(() => peer.opened || peer.closed !== undefined || peer.error !== undefined, 3000, 'socket open');
    if (!peer.opened) throw new Error(`raw socket did not open: ${peer.error?.message ?? JSON.stringify(peer.closed)}`);
    return peer;
  }

  /** Waits (with a deadline) until `cond` holds. */
  until<T>(cond: () => T, timeoutMs = 3000, what = 'raw peer condition'): Promise<NonNullable<T>> {
    return waitFor(cond, timeoutMs, what);
  }

  /** Takes the next received frame, waiting for it. */
  async next(timeoutMs = 3000): Promise<Buffer> {
    await this.until(() => this.frames.length > 0 || this.closed !== undefined, timeoutMs, 'next frame');
    const f = this.frames.shift();
    if (f === undefined) throw new Error(`socket closed before a frame arrived: ${JSON.stringify(this.closed)}`);
    return f.data;
  }

  /** Waits until the node closes the socket; returns the close code and reason. */
  async waitClosed(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closed, timeoutMs, 'socket closed by the node');
  }

  send(data: Uint8Array | string, binary = true): void {
    this.ws.send(data, { binary });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Options of a hand-made handshake. */
export interface RawHandshake {
  cookie: string;
  name?: string;
  creation?: number;
  flags?: number;
  version?: number;
}

/**
 * Opens a raw socket to `node` and completes the protocol-2 handshake by hand (hello, challenge,
 * answer with the dialler's mac, ack with the acceptor's mac checked). Returns the peer, up, as
 * node `name`.
 */
export async function rawConnect(cluster: Cluster, node: DistNode, h: RawHandshake): Promise<RawPeer & { name: string; creation: number }> {
  const name = h.name ?? uniqueName('raw');
  const creation = h.creation ?? 7;
  const flags = h.flags ?? 0;
  const version = h.version ?? PROTOCOL_VERSION;
  const peer = await RawPeer.open(cluster, node.port);
  const nonce = makeNonce();
  peer.send(encodePlain({ t: 'hello', v: version, flags, name, creation, url: null, nonce }));
  const ch = decodePlain(await peer.next());
  if (ch.t !== 'challenge') throw new Error(`expected a challenge, got ${String(ch.t)}`);
  if (ch.name !== node.name) throw new Error(`reached ${String(ch.name)}, not ${node.name}`);
  const t: Transcript = {
    version: Math.min(version, ch.v as number),
    dialler: { name, creation, flags, nonce },
    acceptor: { name: node.name, creation: ch.creation as number, flags: ch.flags as number, nonce: ch.nonce as Uint8Array },
  };
  peer.send(encodePlain({ t: 'answer', mac: mac(h.cookie, 'dialler', t) }));
  const ack = decodePlain(await peer.next());
  if (ack.t !== 'ack') throw new Error(`expected ack, got ${String(ack.t)}`);
  if (!checkMac(h.cookie, 'acceptor', t, ack.mac)) throw new Error('the node did not prove it knows the cookie');
  return Object.assign(peer, { name, creation });
}

/** A pid on a raw peer (for the node to send to). */
export function rawPid(peer: { name: string; creation: number }, id: number): Pid {
  return new Pid(peer.name, id, peer.creation);
}

/**
 * Polls an async `cond` until it resolves truthy, failing after `timeoutMs` (for conditions
 * that need a round trip, e.g. trying a lock with `retries = 0`).
 */
export async function eventually<T>(cond: () => Promise<T>, timeoutMs = 3000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
