/**
 * The observer's model of the cluster: a hidden node polls every node it knows of (the one it
 * was pointed at, then every peer that node reports through `node.peers`) about every
 * `POLL_MS`, and follows its own nodeup/nodedown events, so a node going down shows at once.
 * From the answers it keeps one `ClusterView` — nodes and who is connected to whom, each
 * node's applications, each distributed application's placement and the timeline of its moves
 * (merged from every node's `distAc.info`, deduplicated, kept after the node that reported a
 * move is gone), global names and locks — and tells its listeners whenever the view changed.
 *
 * OTP's observer polls the one node it is attached to (`observer_backend:sys_info/0` and
 * friends every ~1 s); this one polls each node directly, since a rigil node answers rpc only
 * for itself, and it dials each peer as a hidden node (never joining the mesh).
 */
import { RpcError, type DistNode, type Json } from '@rigil/net';

/** Milliseconds between two polls of the cluster. */
export const POLL_MS = 500;
/** Milliseconds one node has to answer one poll call. */
export const CALL_MS = 1500;
/** Moves kept per application in the timeline (oldest dropped first). */
export const TIMELINE_LIMIT = 200;
/** Nodes followed at most (a larger cluster shows its first ones). */
export const MAX_NODES = 200;

/** One node as the observer sees it. */
export interface NodeView {
  readonly name: string;
  /** The observer's last poll of it answered and its connection is up. */
  readonly up: boolean;
  /** When `up` last changed, as the observer saw it (ISO time). */
  readonly since: string;
  readonly creation: number | null;
  readonly processes: number | null;
  readonly uptimeMs: number | null;
  /** The visible nodes it is connected to (its last answer; empty while down). */
  readonly peers: string[];
  /** Where it listens, if known. */
  readonly url: string | null;
  /** The applications running there (`application.which`). */
  readonly applications: Array<{ name: string; description: string; version: string }>;
  /** The procedures it exposes include the application controls of `rigil start` (takeover, permit). */
  readonly controls: boolean;
}

/** One move in an application's timeline, merged across nodes. */
export interface TimelineMove {
  /** The node it moved to; null for a stop. */
  readonly node: string | null;
  readonly cause: string;
  readonly previous: string | null;
  readonly epoch: number | null;
  /** The earliest time any node recorded it (ISO). */
  readonly at: string;
  readonly startType: Json;
  /** The nodes that reported it. */
  readonly seenBy: string[];
  readonly reason?: string;
}

/** A distributed application as the observer sees it. */
export interface AppView {
  readonly application: string;
  /** The node running it (as its best-informed reporter says), or null. */
  readonly node: string | null;
  readonly epoch: number | null;
  readonly cause: string | null;
  readonly since: string | null;
  readonly previous: string | null;
  readonly startType: Json;
  /** The nodes whose `distributed` lists it (those that report it). */
  readonly reportedBy: string[];
  /** Oldest first. */
  readonly timeline: TimelineMove[];
}

/** Everything the page shows, but processes and trees (asked for one node at a time). */
export interface ClusterView {
  readonly target: string;
  readonly observer: string;
  /** When this view was taken (ISO time). */
  readonly at: string;
  readonly nodes: NodeView[];
  readonly applications: AppView[];
  readonly global: {
    readonly names: Array<{ name: string; pid: string; node: string }>;
    readonly locks: Array<{ node: string; resource: string; requester: string; holders: string[] }>;
  };
  /** Node events the observer saw, newest last (at most 100). */
  readonly events: Array<{ at: string; node: string; event: 'nodeup' | 'nodedown' }>;
}

interface Placement {
  application: string;
  node: string | null;
  startType: Json;
  since: string | null;
  previous: string | null;
  cause: string | null;
  epoch?: number | null;
  history?: Array<{ node: string | null; startType: Json; cause: string; at: string; previous: string | null; epoch?: number | null; reason?: string }>;
}

interface NodeState {
  name: string;
  up: boolean;
  since: string;
  creation: number | null;
  processes: number | null;
  uptimeMs: number | null;
  peers: string[];
  url: string | null;
  applications: NodeView['applications'];
  controls: boolean;
  placements: Placement[];
  names: Array<[string, unknown]>;
  locks: Array<{ resource: string; requester: string; holders: string[] }>;
}

interface MoveRecord extends TimelineMove {
  readonly key: string;
}

/** Moves counted per application and cause, from the merged timelines (for `/metrics`). */
export type MoveCounts = Map<string, Map<string, number>>;

const iso = (): string => new Date().toISOString();

/**
 * Polls a cluster through a hidden node and keeps its `ClusterView` (see the module comment).
 * `start()` begins polling; `stop()` ends it (the hidden node is the caller's to stop).
 */
export class ClusterCollector {
  private readonly states = new Map<string, NodeState>();
  private readonly timelines = new Map<string, MoveRecord[]>();
  /** Every move key ever counted (so a move dropped from a bounded timeline is not counted again). */
  private readonly counted = new Set<string>();
  /** Moves seen per application and cause. */
  readonly moveCounts: MoveCounts = new Map();
  private readonly events: ClusterView['events'] = [];
  private readonly listeners = new Set<(v: ClusterView) => void>();
  private view: ClusterView;
  private lastJson = '';
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private polling: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    readonly probe: DistNode,
    readonly target: string,
  ) {
    this.states.set(target, blank(target, true));
    this.view = this.build();
  }

  /** The current view (what observer's windows show at a refresh; no single OTP call). */
  get current(): ClusterView {
    return this.view;
  }

  /** Calls `fn` with each new view (after a change); returns an unsubscribe function. No OTP counterpart (observer redraws on its timer). */
  onChange(fn: (v: ClusterView) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Starts polling (first poll at once) and following the hidden node's node events (OTP's `net_kernel:monitor_nodes/1`). */
  start(): void {
    this.unsubscribe = this.probe.onNodeEvent((e) => {
      if (e.hidden) return;
      this.events.push({ at: iso(), node: e.node, event: e.type });
      if (this.events.length > 100) this.events.shift();
      const s = this.states.get(e.node);
      if (s !== undefined && e.type === 'nodedown' && s.up) this.markDown(s);
      this.publish();
      // A nodeup: poll soon, so the node's facts follow without waiting a full period.
      if (e.type === 'nodeup') this.kick();
    });
    this.schedule(0);
  }

  /** Polls now unless a poll is under way, e.g. after an action changed something (observer's "Refresh"). */
  kick(): void {
    if (this.stopped) return;
    if (this.polling !== undefined) return;
    clearTimeout(this.timer);
    this.schedule(0);
  }

  /** Stops polling; resolves once the poll under way (if any) has ended (observer's `stop/0`, without the node). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.unsubscribe?.();
    this.listeners.clear();
    await this.polling;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.polling = this.pollAll()
        .catch(() => undefined)
        .finally(() => {
          this.polling = undefined;
          if (!this.stopped) this.schedule(POLL_MS);
        });
    }, ms);
  }

  private async pollAll(): Promise<void> {
    await Promise.all([...this.states.values()].map((s) => this.poll(s)));
    if (this.stopped) return;
    this.mergeMoves();
    this.publish();
  }

  private markDown(s: NodeState): void {
    s.up = false;
    s.since = iso();
    s.peers = [];
    s.processes = null;
    s.uptimeMs = null;
    s.applications = [];
    s.placements = [];
    s.names = [];
    s.locks = [];
  }

  private call(node: string, procedure: string, args: unknown[] = []): Promise<unknown> {
    return this.probe.rpc.call(node, procedure, args, CALL_MS);
  }

  /** A call that answers undefined when the node lacks the procedure (an older node, or not started by `rigil start`). */
  private async optional(node: string, procedure: string): Promise<unknown> {
    try {
      return await this.call(node, procedure);
    } catch (e) {
      if (e instanceof RpcError && e.code === 'ERR_UNKNOWN_PROCEDURE') return undefined;
      throw e;
    }
  }

  private async poll(s: NodeState): Promise<void> {
    try {
      // A node the hidden node is not connected to is dialled by the first call (and again later
      // by the net kernel's redials: every peer was recorded with `discovered`).
      const info = (await this.call(s.name, 'node.info')) as { creation: number; nodes: string[]; processes: number; uptimeMs: number };
      const [peers, apps, procs, placements, names, locks] = await Promise.all([
        this.optional(s.name, 'node.peers'),
        this.call(s.name, 'application.which'),
        s.up && s.creation === info.creation && s.controls ? Promise.resolve(undefined) : this.optional(s.name, 'rpc.procedures'),
        this.optional(s.name, 'distAc.info'),
        this.call(s.name, 'global.names'),
        this.optional(s.name, 'global.locks'),
      ]);
      if (this.stopped) return;
      if (!s.up || s.creation !== info.creation) {
        s.since = iso();
        s.up = true;
      }
      s.creation = info.creation;
      s.processes = info.processes;
      s.uptimeMs = info.uptimeMs;
      s.peers = [...info.nodes].sort();
      s.applications = Array.isArray(apps) ? (apps as NodeView['applications']).map((a) => ({ name: String(a.name), description: String(a.description ?? ''), version: String(a.version ?? '') })) : [];
      if (Array.isArray(procs)) s.controls = procs.includes('application.takeover');
      s.placements = Array.isArray(placements) ? (placements as Placement[]) : [];
      s.names = Array.isArray(names) ? (names as Array<[string, unknown]>) : [];
      s.locks = Array.isArray(locks) ? (locks as NodeState['locks']) : [];
      if (Array.isArray(peers)) this.learnPeers(peers as Array<[string, string | null]>);
      // Peers named without an address (a node that predates `node.peers`) are still shown.
      for (const p of info.nodes) this.know(p);
    } catch {
      if (this.stopped) return;
      if (s.up) this.markDown(s);
    }
  }

  private learnPeers(list: Array<[string, string | null]>): void {
    for (const [name, url] of list) {
      if (typeof name !== 'string' || name === this.probe.name) continue;
      // Dial it, and redial it for life when lost (a hidden node joins nothing by dialling).
      if (typeof url === 'string' && this.probe.net.addressOf(name) !== url) this.probe.net.discovered(name, url);
      this.know(name);
    }
  }

  private know(name: string): void {
    if (this.states.has(name) || this.states.size >= MAX_NODES || name === this.probe.name) return;
    this.states.set(name, blank(name, false));
  }

  /** Folds every node's reported moves into the timelines (dedup by target, cause, epoch, previous). */
  private mergeMoves(): void {
    for (const s of this.states.values()) {
      for (const p of s.placements) {
        const list = this.timelines.get(p.application) ?? [];
        this.timelines.set(p.application, list);
        for (const m of p.history ?? []) {
          const epoch = typeof m.epoch === 'number' ? m.epoch : null;
          // The same move as seen by different nodes: same destination, cause, epoch and origin.
          // Without an epoch (an older node) the second it was learnt stands in for it.
          const key = `${m.node ?? '-'}|${m.cause}|${epoch ?? m.at.slice(0, 19)}|${m.previous ?? '-'}`;
          const i = list.findIndex((x) => x.key === key);
          if (i >= 0) {
            const old = list[i]!;
            if (!old.seenBy.includes(s.name)) list[i] = { ...old, at: m.at < old.at ? m.at : old.at, seenBy: [...old.seenBy, s.name].sort() };
            continue;
          }
          list.push({ key, node: m.node, cause: m.cause, previous: m.previous, epoch, at: m.at, startType: m.startType ?? null, seenBy: [s.name], ...(m.reason !== undefined ? { reason: String(m.reason) } : {}) });
          if (!this.counted.has(`${p.application}|${key}`)) {
            this.counted.add(`${p.application}|${key}`);
            const byCause = this.moveCounts.get(p.application) ?? new Map<string, number>();
            this.moveCounts.set(p.application, byCause);
            byCause.set(m.cause, (byCause.get(m.cause) ?? 0) + 1);
          }
        }
        // Ordered by epoch where both have one (epochs only grow), else by time.
        list.sort((x, y) => (x.epoch !== null && y.epoch !== null && x.epoch !== y.epoch ? x.epoch - y.epoch : x.at < y.at ? -1 : x.at > y.at ? 1 : 0));
        if (list.length > TIMELINE_LIMIT) list.splice(0, list.length - TIMELINE_LIMIT);
      }
    }
  }

  private publish(): void {
    const v = this.build();
    const { at: _at, ...rest } = v;
    const json = JSON.stringify(rest);
    if (json === this.lastJson) return;
    this.lastJson = json;
    this.view = v;
    for (const fn of this.listeners) fn(v);
  }

  private build(): ClusterView {
    const states = [...this.states.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    const up = states.filter((s) => s.up);
    const apps = new Set<string>();
    for (const s of up) for (const p of s.placements) apps.add(p.application);
    for (const a of this.timelines.keys()) apps.add(a);
    const applications: AppView[] = [...apps].sort().map((app) => {
      const reports = up.flatMap((s) => s.placements.filter((p) => p.application === app).map((p) => ({ by: s.name, p })));
      // The best-informed report: the running node's own word, else the highest epoch, else the latest.
      const own = reports.find((r) => r.p.node === r.by);
      const best =
        own ??
        [...reports].sort((x, y) => (y.p.epoch ?? -1) - (x.p.epoch ?? -1) || String(y.p.since ?? '').localeCompare(String(x.p.since ?? '')))[0];
      const p = best?.p;
      const running = p?.node != null && up.some((s) => s.name === p.node) ? p.node : null;
      return {
        application: app,
        node: running,
        epoch: running !== null ? (p?.epoch ?? null) : null,
        cause: p?.cause ?? null,
        since: p?.since ?? null,
        previous: p?.previous ?? null,
        startType: p?.startType ?? null,
        reportedBy: reports.map((r) => r.by),
        timeline: (this.timelines.get(app) ?? []).map(({ key: _k, ...m }) => m),
      };
    });
    const names = new Map<string, { name: string; pid: string; node: string }>();
    for (const s of up) {
      for (const [name, pid] of s.names) {
        if (names.has(name) || pid === null || pid === undefined) continue;
        const node = (pid as { node?: unknown }).node;
        names.set(name, { name, pid: String(pid), node: typeof node === 'string' ? node : '' });
      }
    }
    return {
      target: this.target,
      observer: this.probe.name,
      at: iso(),
      nodes: states.map((s) => ({
        name: s.name,
        up: s.up,
        since: s.since,
        creation: s.creation,
        processes: s.processes,
        uptimeMs: s.uptimeMs,
        peers: s.peers,
        url: s.url ?? this.probe.net.addressOf(s.name) ?? null,
        applications: s.applications,
        controls: s.controls,
      })),
      applications,
      global: {
        names: [...names.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
        locks: up.flatMap((s) => s.locks.map((l) => ({ node: s.name, ...l }))),
      },
      events: [...this.events],
    };
  }
}

function blank(name: string, up: boolean): NodeState {
  return { name, up, since: iso(), creation: null, processes: null, uptimeMs: null, peers: [], url: null, applications: [], controls: false, placements: [], names: [], locks: [] };
}
