/**
 * The distributed application controller (OTP's `dist_ac`). Semantics: spec §g; design:
 * DESIGN §4.
 *
 * A distributed application is started with `application.start(name)` on every node of its
 * priority list and runs on exactly one: the best available, permitted node. When that node
 * goes down, the best surviving node starts it after `timeout` ms (`{ failover, dead }`, or
 * `normal` for an application without start phases). When a better node starts it while a
 * worse one runs it — or `application.takeover` is called — the new instance starts with
 * `{ takeover, old }` and runs every start phase while the old one still runs, then the old
 * one is stopped.
 *
 * How decisions are made: every placement decision for an application runs under the global
 * lock `['dist_ac', app]` on every connected node, with a fresh view of each node (loaded,
 * permitted, started, running, weight) asked for under that lock — so two nodes never decide
 * from stale views and never both start an application because of a race.
 *
 * Beyond OTP: a partition can leave an instance on each side (each side fails over on its
 * own, as OTP does — there is no quorum). When the partition heals, nodes introduce themselves
 * again and rigil reconciles: the instance on the better node by priority (ties: the smaller
 * node name) keeps running, the other is stopped and the move is reported
 * (OTP's dist_ac never reconciles).
 *
 * Supervision: the `dist_ac` server is a child of the node's `kernel_sup` (as in OTP's
 * kernel). What it knows lives in the `DistAc` object, but while the server was down other
 * nodes' news (`started`, `stopped`) was lost; so a restarted server rebuilds its view: from
 * the local application controller (what was started here, what runs here) and from every
 * connected node (what runs there, via the introductions nodes make when they connect). A
 * malformed request is answered with `{ error: 'bad_request' }` (a call) or dropped with a
 * report (a cast, a stray message); it never stops the server.
 */
import { genServer, Node, logger, type AppResult, type DistributedController, type ExitReason, type GenServerBehaviour, type Process, type RestartType, type StartType, type Timer } from '@rigil/core';
import { addKernelChild, installBuiltins, renderUntrusted, type Builtin, type DistNode, type NodeEvent } from '@rigil/net';
import { DistAcError } from './errors.js';
import { checkKernelConfig, entrySignature, rankOf, syncNodes, type DistributedEntry, type KernelConfig, type NodeList } from './kernel_config.js';

const log = logger('dist_ac');

/** How long a node that left a failover to another waits before checking it happened. */
const RECHECK_MS = 2000;

/** The registered name of the controller's server on every node. */
export const DIST_AC = 'dist_ac';

/** Why a distributed application last moved. */
export type MoveCause =
  /** started where it was placed by `application.start` */
  | 'start'
  /** its node went down */
  | 'failover'
  /** a better node started it, or `application.takeover` was called */
  | 'takeover'
  /** a `permit` change moved it */
  | 'permit'
  /** a healed partition had it running twice; this instance was kept */
  | 'reconcile';

/** Where a distributed application runs and why (`distAc.info(name)`). */
export interface PlacementInfo {
  readonly application: string;
  /** The node running it, or null when it runs nowhere. */
  readonly node: string | null;
  /** The start type of the running instance. */
  readonly startType: StartType | null;
  /** When it started there (ISO time). */
  readonly since: string | null;
  /** The node it ran on before, if it moved. */
  readonly previous: string | null;
  /** Why it last moved. */
  readonly cause: MoveCause | null;
}

/** What a node tells others about one application (asked for under the application's lock). */
interface AppView {
  readonly loaded: boolean;
  readonly permitted: boolean;
  /** `application.start` was called there (and not stopped). */
  readonly started: boolean;
  /** It runs there now. */
  readonly running: boolean;
  /** Number of applications running there (OTP's weight for equal-priority groups). */
  readonly weight: number;
  /** Signature of its `distributed` entry. */
  readonly signature: string | null;
  /** What it knows of the placement. */
  readonly info: PlacementInfo | null;
}

type Request =
  | { op: 'view'; app: string }
  | { op: 'hello'; from: string; running: Array<[string, PlacementInfo]>; signatures: Array<[string, string]> }
  | { op: 'takeoverFrom'; app: string; from: string; cause: MoveCause }
  | { op: 'handedOver'; app: string; info: PlacementInfo };

type Cast =
  | { op: 'started'; app: string; info: PlacementInfo }
  | { op: 'stopped'; app: string; node: string };

/** A decision to wait (outside the lock) for `node` to start the application. */
interface Wait {
  readonly wait: string;
}

/** What to do for a start, a failover or a permit, given the views. */
type Decision =
  | { readonly kind: 'startHere'; readonly type: StartType; readonly from: string | null }
  | { readonly kind: 'elsewhere'; readonly node: string }
  | { readonly kind: 'wait'; readonly node: string }
  | { readonly kind: 'none' };

/** The controller of each node that has one (see `distAcOf`). */
const controllers = new WeakMap<Node, DistAc>();

/**
 * Starts the distributed application controller on `node` (OTP's `dist_ac` + the boot sync of
 * `kernel_config`): validates `config`, waits for the sync nodes, starts the `dist_ac` server
 * under the node's `kernel_sup`, takes control of the distributed applications and introduces
 * itself to the connected nodes.
 */
export async function startDistAc(node: DistNode, config: KernelConfig): Promise<DistAc> {
  const dac = new DistAc(node, checkKernelConfig(config));
  await dac.boot();
  controllers.set(node, dac);
  return dac;
}

/**
 * The distributed application controller of the node `of` runs on (`of`: a node or a process,
 * `self`); throws `DistAcError` `ERR_NO_DIST_AC` when `startDistAc` was not called there. OTP
 * code reaches the local `dist_ac` by its registered name; this is the typed way in rigil.
 *
 * @example
 * const where = distAcOf(self).info('toliman');
 */
export function distAcOf(of: Node | Process): DistAc {
  const node = of instanceof Node ? of : (of as { node?: unknown } | null)?.node;
  const dac = node instanceof Node ? controllers.get(node) : undefined;
  if (dac === undefined) {
    throw new DistAcError('ERR_NO_DIST_AC', `node ${node instanceof Node ? node.name : String(node)} has no distributed application controller: call startDistAc(node, config) first`);
  }
  return dac;
}

/** The rpc procedures dist-ac contributes to its node (installed with @rigil/net's `installBuiltins`). */
export const DIST_AC_BUILTINS: readonly Builtin<DistAc>[] = [
  { name: 'distAc.info', doc: 'where every distributed application runs and why it last moved', args: [], run: (dac) => dac.infoAll() },
];

/** The distributed application controller of one node. */
export class DistAc implements DistributedController {
  /** The `distributed` entries by application name. */
  private readonly entries = new Map<string, DistributedEntry>();
  /** Restart type of every application `application.start` was called for here. */
  private readonly localStarted = new Map<string, RestartType>();
  /** What this node knows of where each application runs. */
  private readonly placement = new Map<string, PlacementInfo>();
  /** Pending failover timers by application. */
  private readonly failovers = new Map<string, Timer>();
  /** `start` calls waiting for another node to start the application. */
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Unsubscribes from node events (on node stop). */
  private unsubscribe: (() => void) | undefined;
  /** Set once the node stops. */
  private stopping = false;
  /** Incarnations of the `dist_ac` server started so far (1 after the first start). */
  private incarnations = 0;
  /** The rebuild started by the latest server incarnation (for tests and tools). */
  private lastRebuild: Promise<void> = Promise.resolve();

  constructor(
    readonly node: DistNode,
    readonly config: KernelConfig,
  ) {
    for (const e of config.distributed ?? []) this.entries.set(e.application, e);
  }

  /** @internal Boot: sync nodes, install into the application controller, introduce ourselves. */
  async boot(): Promise<void> {
    const node = this.node;
    await syncNodes(node, this.config);
    for (const [app, flag] of Object.entries(this.config.permissions ?? {})) node.application.setPermission(app, flag);
    // OTP's child spec for dist_ac under kernel_sup: a permanent worker, shutdown 2000 ms.
    const r = await addKernelChild(node, { id: DIST_AC, start: (sup) => genServer.startLink(sup, server(this), undefined, { name: DIST_AC }), restart: 'permanent', shutdown: 2000 });
    if (!('ok' in r)) throw new DistAcError('ERR_BAD_KERNEL_CONFIG', 'the dist_ac server did not start under kernel_sup', r.error);
    node.application.setDistributedController(this);
    this.unsubscribe = node.onNodeEvent((e) => this.onNodeEvent(e));
    node.onStop(() => {
      this.stopping = true;
      this.unsubscribe?.();
      for (const t of this.failovers.values()) node.cancelTimer(t);
      this.failovers.clear();
      for (const ws of this.waiters.values()) for (const w of ws) w();
    });
    installBuiltins(node.rpc, this, DIST_AC_BUILTINS);
    await Promise.all(node.nodes().map((n) => this.hello(n)));
  }

  /** @internal Called by each incarnation of the `dist_ac` server from its `init`; a restart rebuilds the view. */
  serverStarted(): void {
    if (this.incarnations++ === 0) return;
    this.node.report({ kind: 'dist_ac', message: 'the dist_ac server restarted: rebuilding where the applications run' });
    this.lastRebuild = this.rebuild();
  }

  /** Resolves once the rebuild started by the latest server incarnation is over. */
  rebuilt(): Promise<void> {
    return this.lastRebuild;
  }

  /** How many times the `dist_ac` server has started on this node (1 = never restarted). */
  get serverIncarnations(): number {
    return this.incarnations;
  }

  // ---------------------------------------------------------------- public API

  /** Where `app` runs and why it last moved (`null` fields when it runs nowhere). */
  info(app: string): PlacementInfo {
    return this.placement.get(app) ?? { application: app, node: null, startType: null, since: null, previous: null, cause: null };
  }

  /** `info` of every distributed application. */
  infoAll(): PlacementInfo[] {
    return [...this.entries.keys()].map((a) => this.info(a));
  }

  /** The `distributed` entry of an application. */
  entry(app: string): DistributedEntry | undefined {
    return this.entries.get(app);
  }

  // ---------------------------------------------------------------- DistributedController (called by node.application)

  /** True when `name` is listed in `distributed`. */
  controls(name: string): boolean {
    return this.entries.has(name);
  }

  /** `application.start` of a distributed application: place it, start it here or record where it runs. */
  async start(app: string, restartType: RestartType): Promise<AppResult> {
    this.localStarted.set(app, restartType);
    for (;;) {
      const r = await this.locked(app, async (views) => {
        const d = this.decide(app, views, 'start');
        return this.act(app, d, restartType, d.kind === 'startHere' && d.from !== null ? 'takeover' : 'start');
      });
      if (r !== 'retry') return r;
      if (this.stopping) return { error: 'node_stopping' };
    }
  }

  /** `application.stop` here: forget the local start; if it ran here, tell the others (no failover). */
  stopped(app: string, ranHere: boolean): void {
    this.localStarted.delete(app);
    this.cancelFailover(app);
    if (ranHere) {
      this.placement.delete(app);
      this.broadcast({ op: 'stopped', app, node: this.node.name });
    }
  }

  /** The local instance died: the others mark it not running (an application crash never fails over). */
  died(app: string, _reason: ExitReason): void {
    this.placement.delete(app);
    this.broadcast({ op: 'stopped', app, node: this.node.name });
  }

  /** `application.takeover`: start here with `{ takeover, old }`; resolves once fully started. */
  async takeover(app: string, restartType: RestartType): Promise<AppResult> {
    if (this.node.application.whereRunning(app) === 'local') return { error: { alreadyRunningLocally: app } };
    const r = await this.locked(app, async (views): Promise<AppResult> => {
      const runner = runnerOf(this.entries.get(app)!.nodes, views);
      if (runner === undefined || runner === this.node.name) return { error: { notRunningDistributed: app } };
      this.localStarted.set(app, restartType);
      return this.startHere(app, { takeover: runner }, restartType, 'takeover', runner);
    });
    return r === 'retry' ? { error: 'node_stopping' } : r;
  }

  /**
   * `application.permit`: `false` moves the application to the best other permitted node (or
   * stops it when there is none); `true` brings it here if this node is now the best.
   */
  async permit(app: string, flag: boolean): Promise<AppResult> {
    const restartType = this.localStarted.get(app);
    if (restartType === undefined) return 'ok';
    const r = await this.locked(app, async (views): Promise<AppResult> => {
      const me = this.node.name;
      const running = this.node.application.whereRunning(app) === 'local';
      if (!flag) {
        if (!running) return 'ok';
        // Decide as if it ran nowhere: the best other node that started it takes it over.
        views.set(me, { ...views.get(me)!, running: false, permitted: false });
        const d = this.decide(app, views, 'failover', me);
        if (d.kind === 'elsewhere') {
          const r = (await this.call(d.node, { op: 'takeoverFrom', app, from: me, cause: 'permit' }).catch((e: unknown) => ({ error: e }))) as AppResult;
          if (r === 'ok') return 'ok';
        }
        await this.node.application.notRunning(app);
        this.placement.delete(app);
        this.broadcast({ op: 'stopped', app, node: me });
        return 'ok';
      }
      if (running) return 'ok';
      const d = this.decide(app, views, 'permit');
      if (d.kind === 'startHere') return this.startHere(app, d.type, restartType, d.from !== null ? 'permit' : 'start', d.from);
      return 'ok';
    });
    return r === 'retry' ? { error: 'node_stopping' } : r;
  }

  // ---------------------------------------------------------------- the decision (spec §g.3)

  /**
   * Decides where `app` runs. `mode`: `start` (this node called `application.start`: a better
   * node than the runner takes over; a chosen other node is waited for), `failover` (the runner
   * is gone; only nodes that started it count), `permit` (like start, without waiting).
   * `exclude`: a node that must not be chosen.
   */
  private decide(app: string, views: Map<string, AppView>, mode: 'start' | 'failover' | 'permit', exclude?: string): Decision {
    const entry = this.entries.get(app)!;
    const me = this.node.name;
    const candidate = (n: string): boolean => {
      const v = views.get(n);
      if (v === undefined || n === exclude || !v.loaded || !v.permitted) return false;
      return mode === 'start' ? true : v.started;
    };
    const runner = runnerOf(entry.nodes, views);
    if (runner !== undefined) {
      if (mode !== 'failover' && candidate(me) && me !== runner) {
        const mine = rankOf(entry.nodes, me);
        const theirs = rankOf(entry.nodes, runner);
        if (mine >= 0 && (theirs < 0 || mine < theirs)) return { kind: 'startHere', type: { takeover: runner }, from: runner };
      }
      return runner === me ? { kind: 'none' } : { kind: 'elsewhere', node: runner };
    }
    for (const e of entry.nodes) {
      const group = (typeof e === 'string' ? [e] : [...e]).filter(candidate);
      if (group.length === 0) continue;
      // Equal priority: the fewest running applications wins, ties by name (all nodes agree).
      group.sort((a, b) => views.get(a)!.weight - views.get(b)!.weight || (a < b ? -1 : a > b ? 1 : 0));
      const best = group[0]!;
      if (best === me) return { kind: 'startHere', type: 'normal', from: null };
      return mode === 'start' ? { kind: 'wait', node: best } : mode === 'failover' ? { kind: 'elsewhere', node: best } : { kind: 'none' };
    }
    return { kind: 'none' };
  }

  /** Carries out a decision made for `application.start`; `'retry'` asks for a new decision. */
  private async act(app: string, d: Decision, restartType: RestartType, cause: MoveCause): Promise<AppResult | Wait> {
    switch (d.kind) {
      case 'startHere':
        return this.startHere(app, d.type, restartType, cause, d.from);
      case 'elsewhere':
        await this.node.application.runningElsewhere(app, d.node, restartType);
        return 'ok';
      case 'none':
        if (this.node.application.whereRunning(app) !== 'local') await this.node.application.notRunning(app, restartType);
        return 'ok';
      case 'wait':
        // The chosen node has not started it yet: wait (outside the lock) until some node
        // starts it or a node goes down, then decide again (OTP's `wait_dist_start`).
        return { wait: d.node };
    }
  }

  /** Starts the application here and tells every node. */
  private async startHere(app: string, type: StartType, restartType: RestartType, cause: MoveCause, from: string | null): Promise<AppResult> {
    this.cancelFailover(app);
    const r = await this.node.application.startLocal(app, type, restartType);
    if (r !== 'ok') return r;
    const info: PlacementInfo = {
      application: app,
      node: this.node.name,
      startType: type,
      since: new Date().toISOString(),
      previous: from ?? this.placement.get(app)?.node ?? null,
      cause,
    };
    this.placement.set(app, info);
    this.node.report({ kind: 'dist_ac', message: `${app} started here (${cause})`, application: app, startType: type, previous: info.previous });
    const old = from !== null && this.node.net.isConnected(from) ? from : undefined;
    this.broadcast({ op: 'started', app, info }, old);
    // A takeover returns once the old instance has stopped too (OTP's permit and takeover
    // callers see it gone when the call returns).
    if (old !== undefined) await this.call(old, { op: 'handedOver', app, info }).catch(() => undefined);
    this.wake(app);
    return 'ok';
  }

  // ---------------------------------------------------------------- locking and views

  /**
   * Runs `fn` under the global lock `['dist_ac', app]` on every connected node, with a fresh
   * view of each node. A `{ wait }` result releases the lock, waits for news and runs again.
   */
  private async locked<T>(app: string, fn: (views: Map<string, AppView>) => Promise<T | Wait>): Promise<T | 'retry'> {
    let news: Promise<void> | undefined;
    // Resource `['dist_ac', app]`, requester this node: one decision per application at a time.
    const r = await this.trans(app, async () => {
      const views = await this.views(app);
      log('[%s] %s: views %o', this.node.name, app, [...views].map(([n, v]) => [n, { started: v.started, running: v.running }]));
      const out = await fn(views);
      log('[%s] %s: decided %o', this.node.name, app, out);
      if (isWait(out)) {
        // Listen before the lock is released, so news that follows at once is not missed.
        news = this.waitForNews(app, out.wait);
        return 'retry' as const;
      }
      return out;
    });
    if (r === 'aborted') return 'retry';
    if (news !== undefined) {
      await news;
      return 'retry';
    }
    return r;
  }

  /**
   * `global.trans` on `[['dist_ac', app], this node]` over every connected node, retried with a
   * short random back-off: placement decisions are brief, and OTP's back-off (up to 250 ms on
   * the first retry) would show up directly in failover and takeover times.
   */
  private async trans<T>(app: string, fn: () => Promise<T>): Promise<T | 'aborted'> {
    const g = this.node.global;
    const id = [['dist_ac', app], this.node.name] as const;
    for (let attempt = 0; ; attempt++) {
      const nodes = [this.node.name, ...this.node.nodes()];
      if (await g.setLock(id, nodes, 0)) {
        try {
          return await fn();
        } finally {
          await g.delLock(id, nodes);
        }
      }
      if (this.stopping) return 'aborted';
      // The node's random and timers: seeded and virtual in a simulated cluster.
      await this.node.delay(1 + Math.floor(this.node.random.float() * Math.min(2 + attempt * 4, 50)));
    }
  }

  /** This node's view of `app`, and every connected node's (nodes without dist_ac are left out). */
  private async views(app: string): Promise<Map<string, AppView>> {
    const views = new Map<string, AppView>([[this.node.name, this.view(app)]]);
    await Promise.all(
      this.node.nodes().map(async (n) => {
        try {
          const v = (await this.call(n, { op: 'view', app })) as AppView;
          views.set(n, v);
          const mine = this.entries.get(app);
          if (v.signature !== null && mine !== undefined && v.signature !== entrySignature(mine)) this.mismatch(app, n);
        } catch {
          // down, or no dist_ac there: not a candidate
        }
      }),
    );
    return views;
  }

  /** @internal This node's view of one application. */
  view(app: string): AppView {
    const ac = this.node.application;
    const entry = this.entries.get(app);
    return {
      loaded: ac.getSpec(app) !== undefined,
      permitted: ac.isPermitted(app),
      started: this.localStarted.has(app),
      running: ac.whereRunning(app) === 'local',
      weight: ac.whichApplications().length,
      signature: entry !== undefined ? entrySignature(entry) : null,
      info: this.placement.get(app) ?? null,
    };
  }

  private waitForNews(app: string, _node: string): Promise<void> {
    return new Promise((resolve) => {
      let ws = this.waiters.get(app);
      if (ws === undefined) this.waiters.set(app, (ws = new Set()));
      const w = (): void => {
        ws.delete(w);
        resolve();
      };
      ws.add(w);
    });
  }

  private wake(app: string): void {
    const ws = this.waiters.get(app);
    if (ws !== undefined) for (const w of [...ws]) w();
  }

  // ---------------------------------------------------------------- rebuild after a restart

  /**
   * Rebuilds what a restarted server may have missed. From the local application controller:
   * which distributed applications were started here (and how), and which run here. From
   * every connected node: what runs there (`hello`, as when nodes connect). A placement on
   * another node that no node confirms is dropped, and the application counts as running
   * nowhere here, so a later start, failover or takeover decides afresh.
   */
  private async rebuild(): Promise<void> {
    const ac = this.node.application;
    const me = this.node.name;
    const unconfirmed = new Map<string, string>();
    for (const app of this.entries.keys()) {
      const restartType = ac.restartTypeOf(app);
      if (restartType !== undefined) this.localStarted.set(app, restartType);
      const where = ac.whereRunning(app);
      const known = this.placement.get(app);
      if (where === 'local') {
        if (known?.node !== me) this.placement.set(app, { application: app, node: me, startType: ac.startTypeOf(app) ?? null, since: null, previous: known?.node ?? null, cause: null });
        continue;
      }
      const elsewhere = where ?? known?.node ?? undefined;
      if (elsewhere !== undefined && elsewhere !== me) unconfirmed.set(app, elsewhere);
      this.placement.delete(app);
    }
    await Promise.all(this.node.nodes().map((n) => this.hello(n)));
    for (const [app, node] of unconfirmed) {
      if (this.placement.has(app)) continue;
      if (ac.whereRunning(app) === node) await ac.notRunning(app);
    }
    for (const app of this.entries.keys()) this.wake(app);
  }

  // ---------------------------------------------------------------- messages from other nodes

  /** @internal */
  async handleRequest(req: Request): Promise<unknown> {
    switch (req.op) {
      case 'view':
        return this.view(req.app);
      case 'hello':
        this.onHello(req.from, req.running, req.signatures);
        return this.helloPayload();
      case 'handedOver': {
        // The new instance is fully started elsewhere: stop ours, then answer.
        this.cancelFailover(req.app);
        this.placement.set(req.app, req.info);
        const ac = this.node.application;
        if (this.localStarted.has(req.app) || ac.whereRunning(req.app) === 'local') await ac.runningElsewhere(req.app, req.info.node!, this.localStarted.get(req.app));
        this.wake(req.app);
        return 'ok';
      }
      case 'takeoverFrom': {
        const rt = this.localStarted.get(req.app);
        if (rt === undefined) return { error: 'not_started' };
        return this.startHere(req.app, { takeover: req.from }, rt, req.cause, req.from);
      }
    }
  }

  /** @internal */
  handleCast(msg: Cast): void {
    const me = this.node.name;
    if (msg.op === 'started') {
      const { app, info } = msg;
      if (info.node === null || info.node === me) return;
      this.cancelFailover(app);
      this.placement.set(app, info);
      const ac = this.node.application;
      // The old instance (if it runs here) stops now that the new one is fully started.
      if (this.localStarted.has(app) || ac.whereRunning(app) === 'local') this.background(ac.runningElsewhere(app, info.node, this.localStarted.get(app)), `stopping the local instance of ${app}`);
      this.wake(app);
      return;
    }
    if (msg.op === 'stopped') {
      const { app, node } = msg;
      if (this.placement.get(app)?.node === node) this.placement.delete(app);
      if (this.node.application.whereRunning(app) === node) this.background(this.node.application.notRunning(app), `stopping the local instance of ${app}`);
      this.wake(app);
    }
  }

  // ---------------------------------------------------------------- node events: failover, introductions

  private onNodeEvent(e: NodeEvent): void {
    if (e.hidden || this.stopping) return;
    if (e.type === 'nodeup') {
      this.background(this.hello(e.node), `introducing this node to ${e.node}`);
      return;
    }
    const dead = e.node;
    for (const [app, entry] of this.entries) {
      const ran = this.placement.get(app)?.node === dead || this.node.application.whereRunning(app) === dead;
      if (ran) {
        this.placement.delete(app);
        if (this.localStarted.has(app) && this.node.application.whereRunning(app) === dead) this.background(this.node.application.notRunning(app), `stopping the local instance of ${app}`);
        if (this.localStarted.has(app) && this.node.application.isPermitted(app)) this.armFailover(app, entry, dead);
      }
      this.wake(app);
    }
  }

  /** Fails `app` over after its timeout (spec §g.4). */
  private armFailover(app: string, entry: DistributedEntry, dead: string): void {
    const timeout = entry.timeout ?? 0;
    if (timeout === Infinity) return;
    this.cancelFailover(app);
    if (timeout === 0) {
      this.background(this.failover(app, dead), `failing ${app} over from ${dead}`);
      return;
    }
    const timer = this.node.timers.schedule(timeout, () => {
      this.failovers.delete(app);
      this.background(this.failover(app, dead), `failing ${app} over from ${dead}`);
    }, undefined);
    this.failovers.set(app, timer);
  }

  private async failover(app: string, dead: string, precheck = true): Promise<void> {
    const restartType = this.localStarted.get(app);
    if (restartType === undefined || this.stopping) return;
    const spec = this.node.application.getSpec(app);
    // With start phases the type is `{ failover, dead }`; without, `normal` (OTP compatibility).
    const type: StartType = spec?.startPhases !== undefined ? { failover: dead } : 'normal';
    // Every surviving node that started the application gets here at about the same time;
    // only the one the decision will pick takes the lock (the others would only contend).
    // A node that is not picked checks again later, in case the picked one does not act.
    if (precheck && this.decide(app, await this.views(app), 'failover', dead).kind !== 'startHere') {
      if (this.placement.get(app)?.node == null) this.armRecheck(app, dead);
      return;
    }
    await this.locked(app, async (views): Promise<AppResult> => {
      const d = this.decide(app, views, 'failover', dead);
      if (d.kind === 'startHere') return this.startHere(app, type, restartType, 'failover', dead);
      if (d.kind === 'elsewhere' && views.get(d.node)?.running) await this.node.application.runningElsewhere(app, d.node, restartType);
      return 'ok';
    });
  }

  /** Retries a failover this node left to another, if the application still runs nowhere. */
  private armRecheck(app: string, dead: string): void {
    if (this.failovers.has(app)) return;
    const timer = this.node.timers.schedule(RECHECK_MS, () => {
      this.failovers.delete(app);
      if (this.placement.get(app)?.node == null && this.node.application.whereRunning(app) === undefined) this.background(this.failover(app, dead, false), `failing ${app} over from ${dead}`);
    }, undefined);
    this.failovers.set(app, timer);
  }

  private cancelFailover(app: string): void {
    const t = this.failovers.get(app);
    if (t !== undefined) this.node.cancelTimer(t);
    this.failovers.delete(app);
  }

  /** Runs a promise in the background: a rejection is reported, never left unhandled. */
  private background(p: Promise<unknown>, what: string): void {
    p.catch((e: unknown) => this.node.report({ kind: 'dist_ac', message: `${what} failed`, reason: e }));
  }

  /** Introduces this node to `peer` (at start, and whenever a node connects). */
  private async hello(peer: string): Promise<void> {
    try {
      const r = parseRequest({ op: 'hello', ...(await this.call(peer, { op: 'hello', ...this.helloPayload() }) as object) });
      if (r?.op === 'hello') this.onHello(peer, r.running, r.signatures);
    } catch {
      // no dist_ac there (yet): it introduces itself when it starts
    }
  }

  private helloPayload(): { from: string; running: Array<[string, PlacementInfo]>; signatures: Array<[string, string]> } {
    const running: Array<[string, PlacementInfo]> = [];
    for (const app of this.entries.keys()) {
      if (this.node.application.whereRunning(app) === 'local') running.push([app, this.info(app)]);
    }
    return { from: this.node.name, running, signatures: [...this.entries].map(([a, e]) => [a, entrySignature(e)]) };
  }

  /**
   * Learns what `peer` runs. An application running on both sides (a healed partition) is
   * reconciled: the better node by priority keeps it, the other stops its instance.
   */
  private onHello(peer: string, running: Array<[string, PlacementInfo]>, signatures: Array<[string, string]>): void {
    for (const [app, sig] of signatures) {
      const mine = this.entries.get(app);
      if (mine !== undefined && entrySignature(mine) !== sig) this.mismatch(app, peer);
    }
    const me = this.node.name;
    const ac = this.node.application;
    for (const [app, info] of running) {
      const entry = this.entries.get(app);
      if (entry === undefined) continue;
      this.cancelFailover(app);
      if (ac.whereRunning(app) === 'local') {
        if (better(entry.nodes, peer, me)) {
          this.node.report({ kind: 'dist_ac', message: `${app} ran on both ${me} and ${peer} after a partition; keeping ${peer}'s instance`, application: app, code: 'reconcile' });
          this.placement.set(app, { ...info, cause: 'reconcile' });
          this.background(ac.runningElsewhere(app, peer, this.localStarted.get(app)), `stopping the local instance of ${app}`);
        }
        continue;
      }
      // Both nodes introduce themselves after a heal: keep what is known already (e.g. a reconcile).
      if (this.placement.get(app)?.node !== info.node) this.placement.set(app, info);
      if (this.localStarted.has(app)) this.background(ac.runningElsewhere(app, peer, this.localStarted.get(app)), `stopping the local instance of ${app}`);
      this.wake(app);
    }
  }

  private mismatch(app: string, peer: string): void {
    this.node.report({
      kind: 'dist_ac',
      message: `${peer} has a different distributed entry for ${app}`,
      application: app,
      code: 'ERR_DISTRIBUTION_MISMATCH',
      reason: { distributionMismatch: [app, peer] },
    });
  }

  // ---------------------------------------------------------------- plumbing

  private call(peer: string, req: Request): Promise<unknown> {
    return genServer.call(this.node, [DIST_AC, peer], req, 30_000);
  }

  private broadcast(msg: Cast, except?: string): void {
    for (const n of this.node.nodes()) if (n !== except) genServer.cast(this.node, [DIST_AC, n], msg);
  }
}

function isWait(x: unknown): x is Wait {
  return typeof x === 'object' && x !== null && typeof (x as Wait).wait === 'string';
}

/** The node running `app` according to the views (the best one by priority if several). */
function runnerOf(nodes: NodeList, views: Map<string, AppView>): string | undefined {
  let best: string | undefined;
  for (const [n, v] of views) if (v.running && (best === undefined || better(nodes, n, best))) best = n;
  return best;
}

/** True when `a` has a better priority than `b` (ties: the smaller name). */
function better(nodes: NodeList, a: string, b: string): boolean {
  const ra = rankOf(nodes, a);
  const rb = rankOf(nodes, b);
  if (ra !== rb) return ra >= 0 && (rb < 0 || ra < rb);
  return a < b;
}

/** The dist_ac server: answers other nodes. Started by `kernel_sup`; a restarted one rebuilds the view (`DistAc.serverStarted`). */
function server(dac: DistAc): GenServerBehaviour<null, undefined, { call: Request; reply: unknown; cast: Cast }> {
  return {
    init: () => {
      dac.serverStarted();
      return { ok: null };
    },
    handleCall: (req, from, state, self) => {
      const r = parseRequest(req);
      if (r === undefined) {
        self.node.report({ kind: 'dist_ac', message: 'dist_ac refused a malformed request', reason: describe(req) });
        return { reply: { error: 'bad_request' }, state };
      }
      // Requests may start applications (takeoverFrom): answer from a helper so the server stays responsive.
      self.spawn(async () => {
        try {
          from.reply(await dac.handleRequest(r));
        } catch (e) {
          from.reply({ error: String(e) });
        }
      });
      return { noreply: state };
    },
    handleCast: (msg, state, self) => {
      const m = parseCast(msg);
      if (m === undefined) self.node.report({ kind: 'dist_ac', message: 'dist_ac dropped a malformed cast', reason: describe(msg) });
      else dac.handleCast(m);
      return { noreply: state };
    },
    handleInfo: (msg, state, self) => {
      // OTP's dist_ac ignores unknown messages; rigil reports them too.
      self.node.report({ kind: 'dist_ac', message: 'dist_ac dropped an unexpected message', reason: describe(msg) });
      return { noreply: state };
    },
  };
}

// ---------------------------------------------------------------- validation of what peers send

const isString = (x: unknown): x is string => typeof x === 'string';
const isInfo = (x: unknown): x is PlacementInfo => typeof x === 'object' && x !== null && isString((x as PlacementInfo).application) && ((x as PlacementInfo).node === null || isString((x as PlacementInfo).node));
const isPairs = <T>(x: unknown, second: (v: unknown) => v is T): x is Array<[string, T]> => Array.isArray(x) && x.every((e: unknown) => Array.isArray(e) && e.length === 2 && isString(e[0]) && second(e[1]));

/** The request, if `x` is a well-formed one; undefined otherwise. */
function parseRequest(x: unknown): Request | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const r = x as Record<string, unknown>;
  switch (r.op) {
    case 'view':
      return isString(r.app) ? { op: 'view', app: r.app } : undefined;
    case 'hello':
      return isString(r.from) && isPairs(r.running, isInfo) && isPairs(r.signatures, isString) ? { op: 'hello', from: r.from, running: r.running, signatures: r.signatures } : undefined;
    case 'takeoverFrom':
      return isString(r.app) && isString(r.from) && isString(r.cause) ? { op: 'takeoverFrom', app: r.app, from: r.from, cause: r.cause as MoveCause } : undefined;
    case 'handedOver':
      return isString(r.app) && isInfo(r.info) && r.info.node !== null ? { op: 'handedOver', app: r.app, info: r.info } : undefined;
    default:
      return undefined;
  }
}

/** The cast, if `x` is a well-formed one; undefined otherwise. */
function parseCast(x: unknown): Cast | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const m = x as Record<string, unknown>;
  if (m.op === 'started') return isString(m.app) && isInfo(m.info) ? { op: 'started', app: m.app, info: m.info } : undefined;
  if (m.op === 'stopped') return isString(m.app) && isString(m.node) ? { op: 'stopped', app: m.app, node: m.node } : undefined;
  return undefined;
}

/** A short, printable description of a bad input for a report: bounded and escaped, never the whole term. */
function describe(x: unknown): string {
  return renderUntrusted(x, { maxLength: 120, maxDepth: 2 });
}
