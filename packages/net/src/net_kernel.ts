/**
 * The net kernel of a distributed node (OTP's `net_kernel` plus the distribution's half of
 * the runtime): it listens for connections, dials peers lazily, keeps one connection per peer,
 * forms the full mesh (peers share their member lists), redials its seeds and the peers it has
 * known for life (`ReconnectOptions`), routes the remote signals core hands
 * it (`RemoteRouter`), applies inbound ones, and turns a lost connection into `noconnection`
 * signals, `nodedown` messages and failed calls.
 *
 * It reaches the network only through a `Transport` (transport.ts; WebSocket by default, chosen
 * by `DistNode`), as OTP's `net_kernel` reaches it through the `-proto_dist` carrier module.
 */
import { logger, Pid, type ExitReason, type Timer, type MonitorHandler, type Node, type Process, type Ref, type RemoteHost, type RemoteRouter } from '@rigil/core';
import { REASON_MAX_DEPTH, withinDepth, type PidInterner } from './codec.js';
import { Connection, type Admission, type ConnectionOwner, type Traffic } from './connection.js';
import { DistError, distError } from './errors.js';
import { isNodeName } from './handshake.js';
import { Flags, Op } from './protocol.js';
import { RefusalLog } from './refusal_log.js';
import { renderUntrusted } from './render.js';
import { failedDial, type Listener, type Transport, type TransportConnection, type TransportHandlers } from './transport.js';

/**
 * Limits on what a peer's member list (`MEMBERS`) can make this node do (issue 11: one
 * announcement of 2,000 fake nodes made a node dial 4,000 times and keep every address).
 * An authenticated peer is trusted (the cookie is full trust), but a confused or compromised
 * one must not turn the node into a dialler of attacker-chosen addresses. See SECURITY.md.
 */
export const MembersLimits = {
  /** Entries of one announcement looked at; the rest are ignored (and reported). */
  maxEntries: 1024,
  /** New dials one announcement may start; valid entries beyond it are recorded and dialled on use or by a later announcement. */
  dialsPerAnnouncement: 16,
  /** Addresses kept at most (seeds and connected peers included); new ones beyond it are ignored (and reported). */
  maxAddresses: 4096,
  /** Longest address accepted, in characters. */
  maxAddressLength: 2048,
} as const;

/**
 * Back-off of an address learnt from a peer whose dials fail: after the n-th consecutive
 * failure the background dials (member lists, seeds) skip it for
 * min(baseMs · 2^(n-1), maxMs) · (0.75 … 1.25, random), and after `forgetAfter` failures the
 * address is forgotten (a seed's address, or that of a node we were once authenticated with,
 * is never forgotten: those are redialled for life, see `ReconnectOptions`; a peer announcing
 * it again brings it back). Explicit use (`connect`, a send) still dials at once, as in OTP.
 */
export const DialBackoff = {
  baseMs: 1000,
  maxMs: 60_000,
  forgetAfter: 5,
} as const;

/**
 * Reconnect for life (issue 12): the nodes a node keeps dialling, for as long as it runs, until
 * told to `forget` them — its seeds, and every visible node it has been authenticated with
 * (on a hidden node: only those it dialled itself, so a tool never joins the mesh). When the
 * connection to one is lost, or a dial to it fails, it is dialled again after
 * min(baseMs · 2^n, maxMs) · (0.75 … 1.25, from `node.random`), n the failed attempts since it
 * was last up for at least `maxMs` (a connection dropped at once, as `global`'s overlapping-
 * partition prevention drops one, does not reset the back-off), on the node's timers — so a healed cut, a thawed node, a restarted node or a
 * late seed rejoins within about one `maxMs`. These names are never forgotten after failed
 * dials; an address only announced by peers (`MEMBERS`) and never reached keeps the
 * `DialBackoff` rule (forgotten after `forgetAfter` failures).
 *
 * OTP's `net_kernel` does not redial by itself (a lost node comes back when traffic or
 * `global`'s connect_all dials it); rigil does, because nothing else would. As in OTP,
 * `disconnect` does not stop later connects: the peer stays known and is dialled again after
 * the back-off cap (a deliberate disconnect waits the longest delay); `forget` stops it.
 */
export interface ReconnectOptions {
  /** First delay, in ms (default 100). */
  baseMs: number;
  /** Longest delay, in ms (default 2000). */
  maxMs: number;
}

/** Default `ReconnectOptions`. */
export const RECONNECT_DEFAULTS: ReconnectOptions = { baseMs: 100, maxMs: 2000 };

/** Options of the distribution, with their defaults filled in. */
export interface NetOptions {
  /** The shared secret (OTP's cookie); never sent over the wire. */
  cookie: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Address to listen on. */
  host: string;
  /** Do not listen at all (tools that only dial). */
  listen: boolean;
  /** Hidden node: connects without joining the mesh (tools, probes). */
  hidden: boolean;
  /** A silent peer is down after this many ms (OTP's `net_ticktime`, default 60 s). */
  tickTime: number;
  /** A handshake must finish within this many ms. */
  handshakeTimeout: number;
  /** Largest frame accepted or sent, in bytes. */
  maxFrameSize: number;
  /** Largest frame accepted before a connection's handshake finished, in bytes (a few KiB). */
  handshakeFrameSize: number;
  /** Most inbound connections not yet authenticated at once; more are closed at once. */
  maxHandshakes: number;
  /**
   * Bytes queued on a connection above which senders to that node are suspended, until the
   * queue falls to half (OTP's `dist_buf_busy_limit`, default 1 MiB).
   */
  busyLimit: number;
  /** Frames longer than this many bytes go out in fragments of this size (default 64 KiB). */
  fragmentSize: number;
  /** How connections are made (WebSocket by default, with the node's `tls`). */
  transport: Transport;
  /** Peers to know from the start: `name@host:port` or `ws(s)://host:port` URLs. */
  seeds: string[];
  /** Connect to every peer a new peer knows about (OTP's `connect_all`, default true). */
  connectAll: boolean;
  /** Back-off of the redials of known nodes (`ReconnectOptions`). */
  reconnect: ReconnectOptions;
  /** Refused connections are reported once per peer address, code and this many ms, then summarised (refusal_log.ts). */
  refusalLogMs: number;
}

/** A node event, for in-process subscribers (global, dist-ac). */
export interface NodeEvent {
  readonly type: 'nodeup' | 'nodedown';
  readonly node: string;
  readonly hidden: boolean;
  /** For nodedown: why the connection was lost. */
  readonly reason?: DistError | undefined;
  /**
   * For nodedown: how the connection ended (`Connection.lost`, protocol flag `GOODBYE`):
   * `'died'` the peer's side closed without a goodbye — its process is gone; `'goodbye'` the
   * peer closed it on purpose; `'silent'` this node's tick timeout; `'local'` this node closed
   * it (disconnect, a protocol error, its stop). No OTP counterpart.
   */
  readonly lost?: 'died' | 'goodbye' | 'silent' | 'local';
}

/** The message a node monitor receives (OTP's `{nodeup, Node}` / `{nodedown, Node}`). */
export interface NodeMessage {
  readonly tag: 'nodeup' | 'nodedown';
  readonly node: string;
}

/**
 * The canonical remote pids kept per connected peer at most (two generations of half as many:
 * see `intern`). Beyond it, a pid seen again after a long while is a new but equal object.
 */
export const PID_CACHE_LIMIT = 4096;

/** Canonical pids of one peer incarnation: recent ones in `young`, the previous generation in `old`. */
interface PidCache {
  readonly creation: number;
  young: Map<number, Pid>;
  old: Map<number, Pid>;
}

/** Counters of what went wrong, for tools and tests. */
export interface NetStats {
  /** Connections closed because of a frame that did not decode or was too large. */
  badFrames: number;
  /** Connections closed during the handshake (cookie, version, name, timeout). */
  handshakeFailures: number;
  /** Connections closed because a message did not belong to the protocol state. */
  protocolErrors: number;
  /** Peers declared down for silence. */
  tickTimeouts: number;
  /** Inbound connections closed at once because `maxHandshakes` unauthenticated ones were open. */
  handshakesRefused: number;
}

export class NetKernel implements RemoteRouter, ConnectionOwner {
  /** Capability flags we announce. */
  readonly flags: number;
  /** Where we listen (`ws(s)://host:port`), or null. */
  url: string | null = null;
  /** The port we listen on (0 until listening). */
  port = 0;
  /** Counters of failures. */
  readonly stats: NetStats = { badFrames: 0, handshakeFailures: 0, protocolErrors: 0, tickTimeouts: 0, handshakesRefused: 0 };
  /** The traffic of the connections closed so far (`traffic()` adds the live ones). */
  private readonly closedTraffic: Traffic = { bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0, busySends: 0 };
  /** Turns wire pids into canonical objects. */
  readonly interner: PidInterner;
  /** How connections are made (OTP's `-proto_dist` carrier). */
  readonly transport: Transport;

  /** The connection to each peer (up, or being set up), by node name. */
  private readonly conns = new Map<string, Connection>();
  /** Every live connection, including inbound ones not yet admitted and dials by URL. */
  private readonly all = new Set<Connection>();
  /** Where each known node listens. */
  private readonly addresses = new Map<string, string>();
  /** Nodes whose address came from a seed: never forgotten after failed dials. */
  private readonly seedNames = new Set<string>();
  /** Nodes a discovery strategy lists now (discovery.ts): redialled for life like seeds until it stops listing them. */
  private readonly discoveredNames = new Set<string>();
  /** Nodes dialled again for life when lost (seeds and peers we were authenticated with; see `ReconnectOptions`). */
  private readonly known = new Set<string>();
  /** Pending redials of known nodes: failed attempts since last up, and the timer. */
  private readonly redials = new Map<string, { attempt: number; timer: Timer | undefined; upAt?: number | undefined }>();
  /** URL seeds not reached yet, with their failed attempts and pending redial (a reached one is known by name). */
  private readonly urlRedials = new Map<string, { attempt: number; timer: Timer | undefined }>();
  /** Outbound connections dialled to a URL seed, by connection. */
  private readonly urlDials = new Map<Connection, string>();
  /** Consecutive failed dials per node, when a background dial may try it again (`DialBackoff`), and why the last failed. */
  private readonly dialFailures = new Map<string, { count: number; retryAt: number; error: DistError | undefined }>();
  /** Canonical pids of each connected remote node, for the creation they were seen with (bounded). */
  private readonly pidCache = new Map<string, PidCache>();
  /** Monitors peers hold on our processes: peer → their ref id → the ref we handed to core. */
  private readonly accepted = new Map<string, Map<number, Ref>>();
  /** `connect` calls waiting for a connection to come up or fail. */
  private readonly waiters = new Map<string, Array<(ok: boolean) => void>>();
  /** Processes that asked `monitorNode(node)`: one entry per call, as in OTP. */
  private readonly nodeMonitors = new Map<string, Process[]>();
  /** Processes subscribed with `monitorNodes`, and whether they want hidden nodes too. */
  private readonly allMonitors = new Map<Process, { hidden: boolean }>();
  /** Inbound connections that have not proven the cookie yet (bounded by `maxHandshakes`). */
  private readonly unauthenticated = new Set<Connection>();
  /** Authenticated inbound dials parked while our own dial to the same peer is in progress (see `admit`). */
  private readonly parked = new Map<string, Connection>();
  /** In-process subscribers (global, dist-ac). */
  private readonly subscribers = new Set<(e: NodeEvent) => void>();
  /** Where we accept connections, once listening. */
  private listener: Listener | undefined;
  private closed = false;
  /** What this layer may do to its node for incoming traffic (core's side of the seam). */
  private readonly host: RemoteHost;
  /** Reports of refused connections, rate-limited per peer address and code. */
  private readonly refusals: RefusalLog;

  constructor(
    readonly node: Node,
    readonly options: NetOptions,
  ) {
    this.host = node.attach(this);
    this.flags = (options.hidden ? Flags.HIDDEN : 0) | Flags.GLOBAL | Flags.REPLY_DEMONITORS | Flags.FRAGMENTS | Flags.GOODBYE | Flags.PID_CACHE;
    this.interner = (n, id, creation) => this.intern(n, id, creation);
    this.transport = options.transport;
    this.refusals = new RefusalLog(node, options.refusalLogMs);
    for (const seed of options.seeds) this.addSeed(seed);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Starts listening; resolves with the port. */
  async listen(): Promise<number> {
    if (!this.options.listen) return 0;
    const { host, port, maxFrameSize, handshakeFrameSize, maxHandshakes } = this.options;
    const onConnection = (link: TransportConnection): void => {
      if (this.closed || this.unauthenticated.size >= maxHandshakes) {
        // Beyond the cap a stranger costs nothing more than this: no timer, no state, no report
        // (a flood must not flood the log too); it is counted.
        if (!this.closed) this.stats.handshakesRefused++;
        link.bind(IGNORE);
        link.close(this.closed ? 'ERR_NOT_CONNECTED' : 'ERR_TOO_MANY_HANDSHAKES');
        return;
      }
      const c = new Connection(this, link, false, undefined);
      this.all.add(c);
      this.unauthenticated.add(c);
    };
    let listener: Listener;
    try {
      listener = await this.transport.listen({ host, port, maxFrameSize, handshakeFrameSize }, onConnection);
    } catch (e) {
      throw listenError(e, host, port);
    }
    this.listener = listener;
    this.port = listener.port;
    this.url = listener.url;
    return this.port;
  }

  /** Dials every seed in the background (failures are fine: peers are dialled again on use). */
  connectSeeds(): void {
    for (const [name] of this.addresses) if (name !== this.node.name) this.background(this.connect(name), `connecting to seed ${name}`);
    for (const url of this.urlSeeds) {
      this.urlRedials.set(url, { attempt: 0, timer: undefined });
      this.dialUrl(url);
    }
  }

  /** Closes every connection and stops listening; leaves no handle behind. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.refusals.close();
    // No redial outlives the node.
    for (const r of [...this.redials.values(), ...this.urlRedials.values()]) if (r.timer !== undefined) this.node.timers.cancel(r.timer);
    this.redials.clear();
    this.urlRedials.clear();
    for (const c of [...this.all]) c.close('normal', 'node stopping');
    if (this.listener !== undefined) await this.listener.close();
    for (const [, ws] of this.waiters) for (const w of ws) w(false);
    this.waiters.clear();
  }

  // ---------------------------------------------------------------- public API (via DistNode)

  /**
   * Sizes of the kernel's internal tables (connections, addresses, pid caches, monitors,
   * waiters…), for tools that check they stay bounded (the simulation's invariant I7). No OTP
   * counterpart; read-only.
   */
  internalSizes(): Record<string, number> {
    let pids = 0;
    for (const c of this.pidCache.values()) pids += c.young.size + c.old.size;
    let acceptedRefs = 0;
    for (const m of this.accepted.values()) acceptedRefs += m.size;
    return {
      conns: this.conns.size,
      all: this.all.size,
      addresses: this.addresses.size,
      pidCacheNodes: this.pidCache.size,
      pidCachePids: pids,
      accepted: this.accepted.size,
      acceptedRefs,
      waiters: this.waiters.size,
      nodeMonitors: this.nodeMonitors.size,
      allMonitors: this.allMonitors.size,
      unauthenticated: this.unauthenticated.size,
      parked: this.parked.size,
      subscribers: this.subscribers.size,
      known: this.known.size,
      discovered: this.discoveredNames.size,
      redials: [...this.redials.values()].filter((r) => r.upAt === undefined).length,
      // Not the refusal log: it is bounded by construction (`REFUSAL_LOG_DEFAULTS.maxKeys`), not per peer.
    };
  }

  /** Visible connected nodes (OTP's `nodes/0`). */
  nodes(): string[] {
    const out: string[] = [];
    for (const [name, c] of this.conns) if (c.up && !c.hidden) out.push(name);
    return out;
  }

  /**
   * Why the last dial to `name` failed, while it has not succeeded since (undefined otherwise):
   * `ERR_NOT_CONNECTED` with `reason.cause` the OS's code (`ECONNREFUSED`: nothing listens) or
   * `reason.peerCode` the code the peer refused the handshake with (`ERR_BAD_COOKIE`), or the
   * code this node closed it with (`ERR_BAD_NAME`: another node answers at that address;
   * `ERR_HANDSHAKE_TIMEOUT`). For tools that say why a connect failed (`rigil status`); OTP's
   * `net_kernel:connect_node/1` only returns false (the reason goes to the log).
   */
  dialError(name: string): DistError | undefined {
    return this.dialFailures.get(name)?.error;
  }

  /** Hidden connected nodes (OTP's `nodes(hidden)`). */
  hiddenNodes(): string[] {
    const out: string[] = [];
    for (const [name, c] of this.conns) if (c.up && c.hidden) out.push(name);
    return out;
  }

  /** True when a connection to `name` is up. */
  isConnected(name: string): boolean {
    return this.conns.get(name)?.up === true;
  }

  /** The peer's incarnation, while connected. */
  creationOf(name: string): number | undefined {
    const c = this.conns.get(name);
    return c?.up ? c.peerCreation : undefined;
  }

  /**
   * Connects to `name` (OTP's `net_kernel:connect_node/1`); resolves true once up, false if it
   * cannot. A failed dial is tried once more shortly after: the address may have been an old
   * one of a restarted peer that is dialling in with its new address.
   */
  async connect(name: string): Promise<boolean> {
    if (await this.connectOnce(name)) return true;
    if (this.closed || !isNodeName(name) || name === this.node.name) return false;
    // On the node's clock, not `setTimeout`: a simulated cluster drives it.
    await this.node.delay(50);
    return this.connectOnce(name);
  }

  private connectOnce(name: string): Promise<boolean> {
    if (name === this.node.name) return Promise.resolve(true);
    if (this.closed || !isNodeName(name)) return Promise.resolve(false);
    const c = this.conns.get(name) ?? this.dial(name);
    if (c === undefined) return Promise.resolve(false);
    if (c.up) return Promise.resolve(true);
    return new Promise((resolve) => {
      let list = this.waiters.get(name);
      if (list === undefined) this.waiters.set(name, (list = []));
      list.push(resolve);
    });
  }

  /** Closes the connection to `name` (OTP's `erlang:disconnect_node/1`); false if there was none. */
  disconnect(name: string): boolean {
    const c = this.conns.get(name);
    if (c === undefined) return false;
    // A known peer is dialled again, but only after the longest back-off (see `ReconnectOptions`).
    if (this.known.has(name)) this.redials.set(name, { attempt: DELIBERATE, timer: this.redials.get(name)?.timer });
    c.close('normal', 'disconnected');
    return true;
  }

  /**
   * Stops dialling `name` again for life and forgets its address (seed or not), and closes the
   * connection to it if there is one; true if it was known. It comes back only if dialled
   * explicitly, announced by a peer, or if it dials in. No OTP counterpart (OTP does not redial).
   */
  forget(name: string): boolean {
    const was = this.known.delete(name) || this.seedNames.has(name) || this.discoveredNames.has(name);
    this.seedNames.delete(name);
    this.discoveredNames.delete(name);
    this.cancelRedial(name);
    this.addresses.delete(name);
    this.dialFailures.delete(name);
    this.conns.get(name)?.close('normal', 'forgotten');
    return was;
  }

  /**
   * A discovery strategy lists `name` at `url` (discovery.ts): records the address (a changed
   * one replaces the old), keeps dialling it for life as a seed, and dials it now unless a
   * connection to it is up or being set up. The address must be one this node would dial
   * (`checkAddress`), else it is ignored and the reason returned. libcluster's strategies call
   * `connect_node` for each node they find; here the net kernel's redials keep it connected.
   */
  discovered(name: string, url: string): string | undefined {
    if (this.closed || name === this.node.name) return undefined;
    if (!isNodeName(name)) return `bad node name ${renderUntrusted(name)}`;
    const refused = this.checkAddress(url);
    if (refused !== undefined) return refused;
    const changed = this.addresses.get(name) !== url;
    this.addresses.set(name, url);
    const isNew = !this.discoveredNames.has(name);
    this.discoveredNames.add(name);
    // A new name, or a new address of a node not connected now: dial at once, without the back-off
    // a failed dial to the old address left (the record changed, the old failures say nothing).
    if ((isNew || changed) && !this.conns.has(name)) {
      this.dialFailures.delete(name);
      this.cancelRedial(name);
      this.background(this.connect(name), `connecting to discovered node ${name}`);
    }
    return undefined;
  }

  /**
   * A discovery strategy no longer lists `name`: it is not dialled again (unless it is a seed),
   * its address is forgotten unless a connection to it is up, and a live connection stays (it
   * ends as connections do; then the node is not redialled). libcluster's strategies disconnect
   * a vanished node; rigil does not cut a working connection on a DNS answer, which may be stale.
   */
  undiscovered(name: string): void {
    if (!this.discoveredNames.delete(name) || this.seedNames.has(name)) return;
    this.known.delete(name);
    this.cancelRedial(name);
    this.dialFailures.delete(name);
    if (this.conns.get(name)?.up !== true) this.addresses.delete(name);
  }

  /** Names a discovery strategy lists now (see `discovered`), sorted. */
  discoveredNodes(): string[] {
    return [...this.discoveredNames].sort();
  }

  /** Names this node dials again for life when lost (seeds and peers it was authenticated with), sorted. */
  knownNodes(): string[] {
    return [...this.known].sort();
  }

  /** Records where a node listens (`name@host:port` seeds and peers' member lists feed this). */
  addAddress(name: string, url: string): void {
    if (name !== this.node.name) this.addresses.set(name, url);
  }

  /** Where a node listens, if known. */
  addressOf(name: string): string | undefined {
    return this.addresses.get(name);
  }

  /**
   * Monitors a node (OTP's `monitor_node(Node, true)`): the process gets `{ tag: 'nodedown', node }`
   * when the connection is lost — at once if it cannot be made. `flag = false` removes one.
   */
  monitorNode(self: Process, name: string, flag = true): true {
    if (!flag) {
      const list = this.nodeMonitors.get(name);
      const i = list?.indexOf(self) ?? -1;
      if (i >= 0) list!.splice(i, 1);
      return true;
    }
    let list = this.nodeMonitors.get(name);
    if (list === undefined) this.nodeMonitors.set(name, (list = []));
    list.push(self);
    this.background(
      this.connect(name).then((ok) => {
        if (!ok && !this.isConnected(name)) this.fireNodeMonitors(name);
      }),
      `monitoring node ${renderUntrusted(name)}`,
    );
    return true;
  }

  /** Subscribes a process to every nodeup/nodedown (OTP's `net_kernel:monitor_nodes/2`). */
  monitorNodes(self: Process, flag = true, options: { hidden?: boolean } = {}): void {
    if (flag) this.allMonitors.set(self, { hidden: options.hidden ?? false });
    else this.allMonitors.delete(self);
  }

  /**
   * The traffic of every connection to a named peer, and the node's totals since it started
   * (closed connections included), for metrics (OTP's `erlang:dist_get_stat/1` per peer; the
   * totals have no OTP counterpart). Bounded by the number of connections.
   */
  traffic(): { peers: Array<Traffic & { node: string; hidden: boolean; up: boolean; busy: boolean; queuedBytes: number }>; total: Traffic } {
    const total: Traffic = { ...this.closedTraffic };
    const peers: Array<Traffic & { node: string; hidden: boolean; up: boolean; busy: boolean; queuedBytes: number }> = [];
    for (const c of this.all) {
      addTraffic(total, c.traffic);
      if (c.peer !== undefined && this.conns.get(c.peer) === c) {
        peers.push({ node: c.peer, hidden: c.hidden, up: c.up, busy: c.isBusy, queuedBytes: c.queuedBytes, ...c.traffic });
      }
    }
    return { peers, total };
  }

  /** Bytes waiting to go out to `name` (0 when not connected), as OTP's `dist_get_stat` queue size. */
  queuedBytes(name: string): number {
    return this.conns.get(name)?.queuedBytes ?? 0;
  }

  /** True while the connection to `name` is busy: senders to it are suspended (OTP's busy dist port). */
  isBusy(name: string): boolean {
    return this.conns.get(name)?.isBusy ?? false;
  }

  /** Number of canonical pids of `name` held in the remote-pid cache (at most `PID_CACHE_LIMIT`). */
  cachedPids(name: string): number {
    const c = this.pidCache.get(name);
    return c === undefined ? 0 : c.young.size + c.old.size;
  }

  /** Subscribes in-process code to node events; returns the unsubscribe function. */
  subscribe(fn: (e: NodeEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  // ---------------------------------------------------------------- RemoteRouter (outbound signals)
  // The three sends return true when the connection is busy: core then suspends the sender
  // until `connectionDrained` resumes it (OTP's busy distribution port).

  send(to: Pid, msg: unknown): boolean {
    return this.route(to.node)?.send([Op.SEND, to, msg]) ?? false;
  }

  sendNamed(name: string, node: string, msg: unknown): boolean {
    return this.route(node)?.send([Op.REG_SEND, name, msg]) ?? false;
  }

  sendAlias(tag: Ref, msg: unknown): boolean {
    const c = this.route(tag.node);
    if (c === undefined) return false;
    const busy = c.send([Op.ALIAS_SEND, tag, msg]);
    // A call's reply: the caller's monitor on us (same ref) ends with it, on both sides.
    if ((c.peerFlags & Flags.REPLY_DEMONITORS) !== 0) this.dropAccepted(tag.node, tag.id);
    return busy;
  }

  link(from: Pid, to: Pid): void {
    const c = this.route(to.node);
    if (c !== undefined) c.send([Op.LINK, from, to]);
    else this.host.exitSignal(to, from, 'noconnection', true);
  }

  unlink(from: Pid, to: Pid): void {
    this.route(to.node, false)?.send([Op.UNLINK, from, to]);
  }

  exit(from: Pid, to: Pid, reason: ExitReason, linked: boolean): void {
    this.route(to.node, !linked)?.send([Op.EXIT, from, to, reason, linked]);
  }

  monitor(owner: Pid, target: Pid | readonly [string, string], ref: Ref): void {
    const node = target instanceof Pid ? target.node : target[1];
    const c = this.route(node);
    if (c !== undefined) c.send([Op.MONITOR, owner, target instanceof Pid ? target : target[0], ref]);
    else this.host.remoteDown(ref, 'noconnection');
  }

  demonitor(owner: Pid, target: Pid | readonly [string, string], ref: Ref): void {
    const node = target instanceof Pid ? target.node : target[1];
    this.route(node, false)?.send([Op.DEMONITOR, owner, target instanceof Pid ? target : target[0], ref]);
  }

  // ---------------------------------------------------------------- inbound (called by Connection)

  /** Applies one inbound data message; throws `ERR_PROTOCOL_STATE` for a malformed one. */
  dispatch(conn: Connection, m: unknown[]): void {
    const host = this.host;
    switch (m[0]) {
      case Op.SEND:
        if (!(m[1] instanceof Pid)) break;
        host.deliver(m[1], m[2]);
        return;
      case Op.REG_SEND:
        if (typeof m[1] !== 'string') break;
        host.deliverNamed(m[1], m[2]);
        return;
      case Op.ALIAS_SEND:
        if (!isRef(m[1])) break;
        // The sender already ended its half of our monitor with this reply (see REPLY_DEMONITORS).
        if ((conn.peerFlags & Flags.REPLY_DEMONITORS) !== 0) host.remoteMonitorEnded(m[1]);
        host.deliverAlias(m[1], m[2]);
        return;
      case Op.LINK:
        if (!(m[1] instanceof Pid) || !(m[2] instanceof Pid)) break;
        if (!host.acceptLink(m[1], m[2])) conn.send([Op.EXIT, m[2], m[1], 'noproc', true]);
        return;
      case Op.UNLINK:
        if (!(m[1] instanceof Pid) || !(m[2] instanceof Pid)) break;
        host.acceptUnlink(m[1], m[2]);
        return;
      case Op.EXIT:
        if (!(m[1] instanceof Pid) || !(m[2] instanceof Pid)) break;
        checkReason(m[3]);
        host.exitSignal(m[1], m[2], m[3], m[4] === true);
        return;
      case Op.MONITOR:
        if (!(m[1] instanceof Pid) || !isRef(m[3]) || !(m[2] instanceof Pid || typeof m[2] === 'string')) break;
        this.acceptMonitor(conn, m[2] instanceof Pid ? m[2] : [m[2], host.name], m[3]);
        return;
      case Op.DEMONITOR: {
        if (!isRef(m[3])) break;
        this.dropAccepted(conn.peer!, m[3].id);
        return;
      }
      case Op.DOWN:
        if (!isRef(m[1])) break;
        checkReason(m[2]);
        host.remoteDown(m[1], m[2]);
        return;
      case Op.MEMBERS:
        if (!Array.isArray(m[1])) break;
        this.members(conn, m[1] as unknown[]);
        return;
    }
    throw distError('ERR_PROTOCOL_STATE', `malformed or unknown message op ${renderUntrusted(m[0])}`);
  }

  /**
   * Admits an inbound connection once it proved the cookie: `'ok'`, a refusal, or `'park'`.
   * OTP's `net_kernel` decides this at `mark_pending`, when the name arrives and before the
   * challenge; rigil decides it only after the dialler's proof checked (a departure from OTP),
   * so nothing is recorded under a name before that and a stranger's hello claims nothing.
   * - A live connection from the same name and creation: refused (`ERR_DUPLICATE_NAME`).
   * - One from a new creation: the peer restarted and the old connection is half-open; it is
   *   closed at once (links and monitors get `noconnection`, nodedown) and the new one admitted,
   *   as OTP does.
   * - Simultaneous dials (our own dial to the peer is still in its handshake): the dial of the
   *   node with the smaller name wins. The node with the smaller name parks the peer's dial
   *   instead of refusing it, and takes it if its own dial fails (it may have gone to an old
   *   address of a restarted peer); whatever was queued on its dial moves to the winner.
   */
  admit(conn: Connection): Admission {
    this.unauthenticated.delete(conn);
    const peer = conn.peer!;
    if (this.closed) return { code: 'ERR_DUPLICATE_NAME', message: 'node is stopping' };
    if (peer === this.node.name) return { code: 'ERR_DUPLICATE_NAME', message: `a peer claims our own name ${peer}` };
    const existing = this.conns.get(peer);
    if (existing === undefined) {
      this.conns.set(peer, conn);
      return 'ok';
    }
    if (existing.up) {
      if (existing.peerCreation === conn.peerCreation) return { code: 'ERR_DUPLICATE_NAME', message: `${peer} is already connected` };
      this.node.report({ kind: 'dist', message: `${peer} restarted (creation ${conn.peerCreation}, was ${existing.peerCreation}): its old connection is replaced`, code: 'ERR_REPLACED', peer });
      existing.close('ERR_REPLACED', `replaced by a new incarnation of ${peer}`);
      this.conns.set(peer, conn);
      return 'ok';
    }
    if (existing.outbound) {
      if (this.node.name > peer) {
        // Simultaneous dials: the peer's dial wins; ours is superseded and its queue moves over.
        this.supersede(existing, conn);
        return 'ok';
      }
      if (this.parked.has(peer)) return { code: 'ERR_DUPLICATE_NAME', message: `a connection with ${peer} is already being set up` };
      this.parked.set(peer, conn);
      return 'park';
    }
    return { code: 'ERR_DUPLICATE_NAME', message: `a connection with ${peer} is already being set up` };
  }

  /** A connection finished its handshake; returns false if it lost to another one. */
  connectionUp(conn: Connection): boolean {
    const peer = conn.peer!;
    const existing = this.conns.get(peer);
    if (existing !== undefined && existing !== conn) {
      if (existing.up) {
        // Lost to a connection that came up first: what was queued here goes out there.
        conn.superseded = true;
        existing.adopt(conn.takePending());
        conn.close('ERR_DUPLICATE_NAME', `${peer} is already connected`);
        return false;
      }
      this.supersede(existing, conn);
    }
    this.conns.set(peer, conn);
    const parked = this.parked.get(peer);
    if (parked !== undefined && parked !== conn) {
      this.parked.delete(peer);
      parked.superseded = true;
      parked.close('normal', 'simultaneous dial: ours won');
    }
    // The peer's own address, from its hello: recorded only if we could dial it.
    if (conn.peerUrl !== null && !conn.hidden && this.checkAddress(conn.peerUrl) === undefined) this.addresses.set(peer, conn.peerUrl);
    this.dialFailures.delete(peer);
    // Reconnect for life: a visible peer we were authenticated with (on a hidden node, only one
    // it dialled itself: a tool does not join the mesh).
    if (!conn.hidden && (!this.options.hidden || conn.outbound || this.pinned(peer))) this.known.add(peer);
    this.redialUp(peer);
    const viaUrl = this.urlDials.get(conn);
    if (viaUrl !== undefined) this.cancelUrlRedial(viaUrl);
    const cache = this.pidCache.get(peer);
    if (cache !== undefined && cache.creation !== conn.peerCreation) this.pidCache.delete(peer);
    if (!conn.hidden && !this.options.hidden) conn.send([Op.MEMBERS, this.memberList(peer)]);
    return true;
  }

  /**
   * The connection admitted by `connectionUp` is up: announce it. Called once the connection
   * counts as up, so a `nodeup` subscriber already finds the peer in `nodes()` (OTP: `{nodeup, N}`
   * arrives when N is in `nodes()`).
   */
  connectionAnnounced(conn: Connection): void {
    const peer = conn.peer!;
    if (this.conns.get(peer) !== conn) return;
    const ws = this.waiters.get(peer);
    this.waiters.delete(peer);
    nodeLog(`[${this.node.name}] nodeup ${peer}${conn.hidden ? ' (hidden)' : ''}`);
    this.emit({ type: 'nodeup', node: peer, hidden: conn.hidden });
    if (ws !== undefined) for (const w of ws) w(true);
  }

  /**
   * A connection failed in its handshake: a report, rate-limited per peer address (inbound: the
   * transport's `remoteAddress`; outbound: the node dialled) and code (refusal_log.ts).
   */
  handshakeFailed(conn: Connection, code: string, message: string): void {
    const address = conn.outbound ? (conn.peer ?? 'an unknown node') : (conn.remoteAddress ?? 'an unknown address');
    this.refusals.refused(conn.outbound ? 'to' : 'from', address, code, {
      kind: 'dist',
      message,
      code,
      peer: conn.peer,
      ...(conn.outbound ? {} : { address }),
    });
  }

  /** A busy connection drained or closed: the processes a send to its peer suspended run again. */
  connectionDrained(conn: Connection): void {
    if (conn.peer !== undefined) this.host.resume(conn.peer);
  }

  /** A connection closed: nodedown if it was the peer's connection and was up; a failed dial otherwise. */
  connectionClosed(conn: Connection, wasUp: boolean): void {
    this.all.delete(conn);
    addTraffic(this.closedTraffic, conn.traffic);
    const viaUrl = this.urlDials.get(conn);
    if (viaUrl !== undefined) {
      this.urlDials.delete(conn);
      if (!wasUp) this.scheduleUrlRedial(viaUrl);
    }
    this.unauthenticated.delete(conn);
    const reason = conn.closeReason;
    if (reason !== undefined) {
      if (reason.code === 'ERR_BAD_FRAME' || reason.code === 'ERR_FRAME_TOO_LARGE') this.stats.badFrames++;
      else if (reason.code === 'ERR_PROTOCOL_STATE') this.stats.protocolErrors++;
      else if (reason.code === 'ERR_TICK_TIMEOUT') this.stats.tickTimeouts++;
      else if (!wasUp) this.stats.handshakeFailures++;
    }
    const peer = conn.peer;
    if (peer !== undefined && this.parked.get(peer) === conn) this.parked.delete(peer);
    if (peer === undefined || conn.superseded || this.conns.get(peer) !== conn) return;
    this.conns.delete(peer);
    const parked = this.parked.get(peer);
    if (!wasUp && parked !== undefined) {
      // Our dial failed but the peer's (authenticated) dial is waiting: take it, with everything
      // queued on ours — messages, links, monitors (no nodedown; waiters stay).
      this.parked.delete(peer);
      this.conns.set(peer, parked);
      parked.adopt(conn.takePending());
      parked.admitted();
      return;
    }
    if (!wasUp && conn.outbound) this.dialFailed(peer, reason);
    this.scheduleRedial(peer);
    // Links and monitors to the peer fire `noconnection`, pending calls fail (spec §e).
    this.host.nodeDown(peer);
    for (const ref of this.accepted.get(peer)?.values() ?? []) this.host.cancelMonitor(ref);
    this.accepted.delete(peer);
    this.pidCache.delete(peer);
    const ws = this.waiters.get(peer);
    this.waiters.delete(peer);
    if (ws !== undefined) for (const w of ws) w(false);
    if (wasUp) {
      nodeLog(`[${this.node.name}] nodedown ${peer}${conn.hidden ? ' (hidden)' : ''}: ${conn.lost ?? 'lost'}${reason !== undefined ? ` (${reason.code})` : ''}`);
      this.emit({ type: 'nodedown', node: peer, hidden: conn.hidden, reason, ...(conn.lost !== undefined ? { lost: conn.lost } : {}) });
    }
    else this.fireNodeMonitors(peer);
  }

  // ---------------------------------------------------------------- private

  private readonly urlSeeds: string[] = [];

  private addSeed(seed: string): void {
    if (/^wss?:\/\//.test(seed)) {
      const refused = this.checkAddress(seed);
      if (refused !== undefined) throw distError('ERR_BAD_SEED', `bad seed URL ${renderUntrusted(seed)}: ${refused}`);
      this.urlSeeds.push(seed);
      return;
    }
    const m = /^([A-Za-z0-9_.-]+@([A-Za-z0-9_.-]+|\[[0-9a-fA-F:]+\])):(\d{1,5})$/.exec(seed);
    if (m === null || Number(m[3]) > 65535) {
      throw distError('ERR_BAD_SEED', `bad seed ${renderUntrusted(seed)}: expected name@host:port or a ws(s):// URL`);
    }
    this.addAddress(m[1]!, this.transport.address(m[2]!, Number(m[3])));
    this.seedNames.add(m[1]!);
  }

  /**
   * Why `url` is not an address we would dial, or undefined: it must be a URL with a host, of
   * scheme `ws:`/`wss:` (or the scheme of this node's transport), and the transport must not
   * refuse it (a TLS transport refuses plain `ws:`; see `Transport.checkAddress`).
   */
  private checkAddress(url: unknown): string | undefined {
    if (typeof url !== 'string') return 'an address must be a string';
    if (url.length > MembersLimits.maxAddressLength) return `an address of ${url.length} characters is too long`;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return `${renderUntrusted(url)} is not a URL`;
    }
    if (parsed.hostname === '') return `${renderUntrusted(url)} has no host`;
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:' && parsed.protocol !== this.ownScheme()) {
      return `${renderUntrusted(url)} is not a ws:// or wss:// URL`;
    }
    return this.transport.checkAddress?.(url);
  }

  /** The URL scheme of addresses our transport makes (`ws:` for the WebSocket transport). */
  private ownScheme(): string {
    try {
      return new URL(this.transport.address('localhost', 1)).protocol;
    } catch {
      return 'ws:';
    }
  }

  /** Seeds and the nodes discovery lists now: dialled for life, never forgotten after failed dials. */
  private pinned(name: string): boolean {
    return this.seedNames.has(name) || this.discoveredNames.has(name);
  }

  /** A dial to `name` failed: back its address off, and forget it after repeated failures (`DialBackoff`). */
  private dialFailed(name: string, error: DistError | undefined): void {
    const prev = this.dialFailures.get(name);
    const count = (prev?.count ?? 0) + 1;
    if (count >= DialBackoff.forgetAfter && !this.pinned(name) && !this.known.has(name)) {
      this.dialFailures.delete(name);
      this.addresses.delete(name);
      return;
    }
    const delay = Math.min(DialBackoff.maxMs, DialBackoff.baseMs * 2 ** (count - 1)) * (0.75 + this.node.random.float() / 2);
    this.dialFailures.set(name, { count, retryAt: this.node.clock.now() + delay, error });
  }

  /** Runs a promise in the background: a rejection is reported, never left unhandled. */
  private background(p: Promise<unknown>, what: string): void {
    p.catch((e: unknown) => this.node.report({ kind: 'dist', message: `${what} failed`, reason: e }));
  }

  /** The connection to use for `node`, dialling when needed (`dial = false`: never dial). */
  private route(node: string, dial = true): Connection | undefined {
    const c = this.conns.get(node);
    if (c !== undefined) return c;
    return dial ? this.dial(node) : undefined;
  }

  private dial(name: string): Connection | undefined {
    if (this.closed || name === this.node.name) return undefined;
    const url = this.addresses.get(name);
    if (url === undefined) return undefined;
    const c = this.open(url, name);
    this.conns.set(name, c);
    return c;
  }

  private dialUrl(url: string): void {
    if (!this.closed) this.urlDials.set(this.open(url, undefined), url);
  }

  /** The delay before redial number `attempt` (0-based): capped exponential, ±25 % jitter. */
  private redialDelay(attempt: number): number {
    const { baseMs, maxMs } = this.options.reconnect;
    return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 52)) * (0.75 + this.node.random.float() / 2);
  }

  /** Lost (or failed to reach) `name`: dials it again after the back-off if it is known. */
  private scheduleRedial(name: string): void {
    if (this.closed || (!this.known.has(name) && !this.pinned(name))) return;
    const r = this.redials.get(name) ?? { attempt: 0, timer: undefined };
    if (r.timer !== undefined) return;
    if (r.upAt !== undefined) {
      // Lost after being up: the back-off starts over only if it stayed up for `maxMs`; a
      // connection dropped sooner keeps it, but grows it to 4 × baseMs at most — such drops
      // end as soon as the peers' memory of a lost link does (a restarted node's first
      // connections), and its reconnection must not wait the full cap.
      if (this.node.clock.now() - r.upAt >= this.options.reconnect.maxMs) r.attempt = 0;
      else r.attempt = Math.min(r.attempt, QUICK_DROP_ATTEMPTS);
      r.upAt = undefined;
    }
    const delay = this.redialDelay(r.attempt);
    r.attempt++;
    r.timer = this.node.timers.schedule(delay, () => {
      r.timer = undefined;
      // A connection up or being set up (an explicit connect, the peer's own dial) settles it.
      if (this.closed || this.conns.has(name)) return;
      if (this.dial(name) === undefined) this.scheduleRedial(name);
    }, undefined);
    this.redials.set(name, r);
  }

  /**
   * `name` is up: its pending redial is cancelled, but its back-off is kept until the
   * connection has lasted `maxMs` — a peer that drops the connection at once (`global`'s
   * overlapping-partition prevention, while this node is cut off from a node that peer
   * reaches) would otherwise be redialled every `baseMs` for as long as the cut lasts (a
   * storm every ~18 ms in the explorer's logs).
   */
  private redialUp(name: string): void {
    const r = this.redials.get(name);
    if (r === undefined) return;
    if (r.timer !== undefined) this.node.timers.cancel(r.timer);
    r.timer = undefined;
    r.upAt = this.node.clock.now();
  }

  private cancelRedial(name: string): void {
    const r = this.redials.get(name);
    if (r === undefined) return;
    if (r.timer !== undefined) this.node.timers.cancel(r.timer);
    this.redials.delete(name);
  }

  /** A dial to URL seed `url` failed: dial it again after the back-off, until reached once. */
  private scheduleUrlRedial(url: string): void {
    const r = this.urlRedials.get(url);
    if (this.closed || r === undefined || r.timer !== undefined) return;
    const delay = this.redialDelay(r.attempt++);
    r.timer = this.node.timers.schedule(delay, () => {
      r.timer = undefined;
      if (this.urlRedials.get(url) === r) this.dialUrl(url);
    }, undefined);
  }

  private cancelUrlRedial(url: string): void {
    const r = this.urlRedials.get(url);
    if (r?.timer !== undefined) this.node.timers.cancel(r.timer);
    this.urlRedials.delete(url);
  }

  private open(url: string, expected: string | undefined): Connection {
    const { maxFrameSize, handshakeFrameSize, handshakeTimeout } = this.options;
    let link: TransportConnection;
    try {
      link = this.transport.dial(url, { maxFrameSize, handshakeFrameSize, timeout: handshakeTimeout, peer: expected });
    } catch (e) {
      // The contract says `dial` returns at once and reports failures through the handlers; a
      // transport that throws anyway gets a failed dial, never an exception in our caller.
      link = failedDial(distError('ERR_NOT_CONNECTED', `dial failed: ${renderUntrusted(e)}`));
    }
    const c = new Connection(this, link, true, expected);
    this.all.add(c);
    return c;
  }

  private supersede(old: Connection, by: Connection): void {
    old.superseded = true;
    by.adopt(old.takePending());
    this.conns.set(by.peer!, by);
    old.close('normal', 'superseded by the peer\'s connection');
  }

  /** Ends a monitor a peer holds on one of our processes. */
  private dropAccepted(peer: string, refId: number): void {
    const refs = this.accepted.get(peer);
    const ref = refs?.get(refId);
    if (ref === undefined) return;
    refs!.delete(refId);
    this.host.cancelMonitor(ref);
  }

  private acceptMonitor(conn: Connection, target: Pid | readonly [string, string], ref: Ref): void {
    const peer = conn.peer!;
    let refs = this.accepted.get(peer);
    if (refs === undefined) this.accepted.set(peer, (refs = new Map()));
    refs.set(ref.id, ref);
    const handler: MonitorHandler = {
      onDown: (_r, reason) => {
        this.accepted.get(peer)?.delete(ref.id);
        if (this.conns.get(peer) === conn) conn.send([Op.DOWN, ref, reason]);
      },
    };
    this.host.acceptMonitor(handler, target, ref);
  }

  private memberList(except: string): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    if (this.url !== null && !this.options.hidden) out.push([this.node.name, this.url]);
    for (const [name, c] of this.conns) {
      if (name === except || !c.up || c.hidden) continue;
      const url = this.addresses.get(name);
      if (url !== undefined) out.push([name, url]);
    }
    return out;
  }

  /**
   * A peer's member list (transitive connect, OTP's `connect_all`): records where its nodes
   * listen and dials those we are not connected to, within `MembersLimits` and `DialBackoff`.
   * Malformed entries (not `[name@host, url]`, a URL we would not dial) are ignored, with one
   * report per announcement.
   */
  private members(conn: Connection, list: unknown[]): void {
    const dial = this.options.connectAll && !this.options.hidden;
    const now = this.node.clock.now();
    let dials = 0;
    let bad = 0;
    let firstBad: string | undefined;
    let full = 0;
    const n = Math.min(list.length, MembersLimits.maxEntries);
    for (let i = 0; i < n; i++) {
      const entry = list[i];
      const why = !Array.isArray(entry) ? 'not a [name, url] pair' : !isNodeName(entry[0]) ? 'bad node name' : this.checkAddress(entry[1]);
      if (why !== undefined) {
        bad++;
        firstBad ??= `${renderUntrusted(entry)} (${why})`;
        continue;
      }
      const [name, url] = entry as [string, string];
      if (name === this.node.name) continue;
      if (!this.addresses.has(name)) {
        if (this.addresses.size >= MembersLimits.maxAddresses) {
          full++;
          continue;
        }
        this.addresses.set(name, url);
      }
      if (!dial || this.conns.has(name) || dials >= MembersLimits.dialsPerAnnouncement) continue;
      const backoff = this.dialFailures.get(name);
      if (backoff !== undefined && backoff.retryAt > now) continue;
      // A known node in its redial back-off is dialled by its redial: a peer that drops us at
      // once (overlapping-partition prevention) and the members it announces would otherwise
      // have us dial one after the other, each up and dropped, for as long as the cut lasts.
      if (this.redials.get(name)?.timer !== undefined) continue;
      if (this.dial(name) !== undefined) dials++;
    }
    const ignored = list.length - n;
    if (bad > 0 || full > 0 || ignored > 0) {
      const parts: string[] = [];
      if (bad > 0) parts.push(`${bad} malformed (first: ${firstBad})`);
      if (full > 0) parts.push(`${full} beyond the ${MembersLimits.maxAddresses} known addresses`);
      if (ignored > 0) parts.push(`${ignored} beyond the first ${MembersLimits.maxEntries}`);
      this.node.report({ kind: 'dist', message: `member list from ${conn.peer ?? 'a peer'}: ignored ${parts.join(', ')}`, code: 'ERR_BAD_ADDRESS', peer: conn.peer });
    }
  }

  /**
   * The canonical `Pid` object for a wire pid. Remote pids of a connected peer's incarnation are
   * kept so that the same pid decodes to the same object (Map/Set keys). The cache is bounded
   * (issue 11: a peer's short-lived callers must not pile up): two generations of
   * `PID_CACHE_LIMIT / 2` — a full young generation becomes the old one, and the previous old
   * one is dropped; a pid found in the old generation moves back to the young one. An evicted
   * pid that comes back is a new object equal to the old (`Pid.equals`; core's link tables fall
   * back to value equality). Cleared at nodedown.
   */
  private intern(n: string, id: number, creation: number): Pid {
    if (n === this.host.name) return this.host.internPid(n, id, creation);
    let cache = this.pidCache.get(n);
    if (cache === undefined || cache.creation !== creation) {
      const c = this.conns.get(n);
      if (c === undefined || c.peerCreation !== creation) return new Pid(n, id, creation);
      this.pidCache.set(n, (cache = { creation, young: new Map(), old: new Map() }));
    }
    let p = cache.young.get(id);
    if (p !== undefined) return p;
    p = cache.old.get(id);
    if (p !== undefined) cache.old.delete(id);
    else p = new Pid(n, id, creation);
    if (cache.young.size >= PID_CACHE_LIMIT / 2) {
      cache.old = cache.young;
      cache.young = new Map();
    }
    cache.young.set(id, p);
    return p;
  }

  private emit(e: NodeEvent): void {
    for (const fn of [...this.subscribers]) {
      try {
        fn(e);
      } catch (err) {
        this.node.report({ kind: 'dist', message: 'node event subscriber failed', reason: err });
      }
    }
    const msg: NodeMessage = { tag: e.type, node: e.node };
    for (const [p, o] of [...this.allMonitors]) {
      if (!p.alive) this.allMonitors.delete(p);
      else if (!e.hidden || o.hidden) this.host.deliver(p.pid, msg);
    }
    if (e.type === 'nodedown') this.fireNodeMonitors(e.node);
  }

  private fireNodeMonitors(name: string): void {
    const list = this.nodeMonitors.get(name);
    if (list === undefined) return;
    this.nodeMonitors.delete(name);
    for (const p of list) if (p.alive) this.host.deliver(p.pid, { tag: 'nodedown', node: name } satisfies NodeMessage);
  }
}

/** nodeup/nodedown lines (`DEBUG=rigil:dist`): one per connection that came up or went down. */
const nodeLog = logger('dist');

/**
 * What `transport.listen` threw, with a stable code: `ERR_ADDRESS_IN_USE` for the OS's
 * `EADDRINUSE` (another process listens on host:port), `ERR_LISTEN` for another OS error; a
 * `DistError` (a custom transport's) as it is.
 */
function listenError(e: unknown, host: string, port: number): unknown {
  if (e instanceof DistError) return e;
  const cause = (e as { code?: unknown } | null)?.code;
  if (cause === 'EADDRINUSE') return distError('ERR_ADDRESS_IN_USE', `cannot listen on ${host}:${port}: the address is already in use (another node or program listens there)`, { host, port });
  if (typeof cause === 'string') return distError('ERR_LISTEN', `cannot listen on ${host}:${port}: ${(e as Error).message}`, { host, port, cause });
  return e;
}

/** The back-off attempt a connection dropped soon after it came up stays at most at: 4 × baseMs. */
const QUICK_DROP_ATTEMPTS = 2;
/** The redial attempt a deliberate `disconnect` starts from: every delay is the cap. */
const DELIBERATE = 64;
/** Handlers for a connection refused before it was handed to a `Connection`. */
const IGNORE: TransportHandlers = { open() {}, frame() {}, error() {}, closed() {} };
/** Refuses an exit reason nested deeper than `REASON_MAX_DEPTH` (a cheap test for the usual string reason). */
function checkReason(reason: unknown): void {
  if (typeof reason === 'object' && reason !== null && !withinDepth(reason, REASON_MAX_DEPTH)) {
    throw distError('ERR_BAD_FRAME', `an exit reason nested deeper than ${REASON_MAX_DEPTH} levels`);
  }
}

function isRef(x: unknown): x is Ref {
  return typeof x === 'object' && x !== null && x.constructor?.name === 'Ref';
}

/** Adds the counters of `b` to `a`. */
function addTraffic(a: Traffic, b: Traffic): void {
  a.bytesIn += b.bytesIn;
  a.bytesOut += b.bytesOut;
  a.messagesIn += b.messagesIn;
  a.messagesOut += b.messagesOut;
  a.busySends += b.busySends;
}
