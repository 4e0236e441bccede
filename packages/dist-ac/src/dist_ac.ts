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
 * How decisions are made: every placement decision for an application runs under a global
 * lock on resource `['dist_ac', app]` over every connected node, with a fresh view of each node
 * (loaded, permitted, started, running, weight) asked for under that lock — so two nodes never
 * decide from stale views and never both start an application because of a race. Each
 * decision has its own requester (OTP: one per caller, `{?LOCK_ID, self()}`), and the
 * decisions of one node for one application run one after the other (OTP: one `dist_ac`
 * gen_server per node), so a failover can never run inside a takeover of the same node.
 * A decision that finds the lock taken waits for the holder's `decided` announcement, not a
 * poll loop. A node the decision does not pick waits on the picked node (OTP's
 * `wait_dist_start`): until some node announces it started it, or the picked node goes down
 * (a node monitor: the node's `nodedown`), and then decides again.
 *
 * Records: every start (`started`), every stop (`stopped`) and every failed start (`failed`)
 * is announced to every node (OTP's `dist_ac_app_started` / `dist_ac_app_stopped`), so what
 * each node knows of the placement — `info`, the application controller's `whereRunning` —
 * stays current. `info(app).history` keeps the last moves.
 *
 * Beyond OTP: a partition can leave an instance on each side (each side fails over on its
 * own, as OTP does — there is no quorum). When the partition heals, nodes introduce themselves
 * again and rigil reconciles: the instance on the better node by priority (ties: the smaller
 * node name) keeps running, the other is stopped and the move is reported (OTP's dist_ac
 * never reconciles). A node that hears of two instances whose nodes cannot reach each other
 * (overlapping partitions) tells the worse one to stop. The same rule decides `global` name clashes of an application that
 * registers its names with the resolver `distAcResolver(app)`, so dist-ac and `global` keep the
 * same instance (one decider; README "Partitions").
 *
 * Fencing epochs (No OTP counterpart; step 6): every start of an instance — `start`,
 * `failover`, `takeover`, `permit` — mints an epoch for it, a number that only grows for the
 * application and that two instances never share. Every node keeps the highest epoch of each
 * application it has seen (`maxEpoch`): carried in the views asked for under the
 * application's lock, in every announcement (`started`, `stopped`'s kept instance, `keep`,
 * introductions) and in a `takeoverFrom` request. A node minting an epoch takes the smallest
 * number above its `maxEpoch` that is ≡ rank + 1 (mod L), L = the number of listed nodes and
 * rank = its index in the flattened priority list: two nodes (two sides of a partition) never
 * mint the same number, and a decider that saw an instance's epoch always mints a larger one.
 * A reconcile keeps an instance, so it keeps that instance's epoch. The instance reads it
 * from its `start` on with `currentEpoch(self, app)` (`distAcOf(self).info(app).epoch`) and
 * passes it to the systems it writes to, which refuse older epochs (fencing tokens).
 *
 * Quorum (No OTP counterpart; issue 15): an entry with `quorum: 'majority'` or a number n
 * runs only on a node connected to a quorum of its listed nodes (itself included). Such a node
 * mints each epoch with a promise round: a quorum of the listed nodes must accept (store) it,
 * and a node never accepts an epoch at or below the highest it has seen (a Paxos-style
 * promise, phase 1 of single-decree Paxos). With a quorum of at least a majority any two
 * quorums share a node, so a minority can never mint a newer epoch and two starts are ordered
 * by their epochs (a static quorum below a majority gives that up). A node running it that loses its quorum stops it `downAfter` ms later; a node
 * that did not run for more than tickTime / 2 (frozen, stalled) stops it at once on resume.
 * The other side waits, before it starts the application, for the minority to have stopped:
 * at least `downAfter` + 1.25 × tickTime after a silent nodedown (tick timeout), `downAfter` +
 * tickTime / 2 after the peer said goodbye, and not at all after a peer that died (its
 * connection closed without a goodbye: `NodeEvent.lost`). README "Quorum and fencing" gives
 * the bound.
 *
 * Supervision: the `dist_ac` server is a child of the node's `kernel_sup` (as in OTP's
 * kernel). What it knows lives in the `DistAc` object, but while the server was down other
 * nodes' news (`started`, `stopped`) was lost; so a restarted server rebuilds its view: from
 * the local application controller (what was started here, what runs here) and from every
 * connected node (what runs there, via the introductions nodes make when they connect). A
 * malformed request is answered with `{ error: 'bad_request' }` (a call) or dropped with a
 * report (a cast, a stray message); it never stops the server.
 */
import { genServer, Node, Pid, logger, type AppResult, type DistributedController, type ExitReason, type GenServerBehaviour, type Process, type RestartType, type StartType, type Timer } from '@rigil/core';
import { addKernelChild, installBuiltins, renderUntrusted, type Builtin, type DistNode, type NodeEvent } from '@rigil/net';
import { fileEpochStore, type EpochStore } from './epoch_store.js';
import { DistAcError } from './errors.js';
import { checkKernelConfig, entrySignature, listedNodes, quorumSize, rankOf, syncNodes, type DistributedEntry, type KernelConfig, type NodeList } from './kernel_config.js';

const log = logger('dist_ac');

/** The registered name of the controller's server on every node. */
export const DIST_AC = 'dist_ac';

/** How many moves `info(app).history` keeps per application (the oldest go first). */
export const HISTORY_LIMIT = 16;

/**
 * A decision that found its application's lock taken waits for the holder's `decided`
 * announcement; this (jittered up to twice as long) is only the fallback for an announcement
 * that cannot reach this node (the holder is not connected to it).
 */
const LOCK_FALLBACK_MS = 500;

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

/** Where a distributed application runs and why (what nodes tell each other). */
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
  /**
   * The fencing epoch of the running instance (see "Fencing epochs" above): a number that only
   * grows for this application and that no two instances share; null when it runs nowhere
   * (or the record came from a node that predates epochs).
   */
  readonly epoch: number | null;
  /**
   * For a takeover: the fencing epoch of the instance it took over, as the taking node saw it
   * (No OTP counterpart); null or absent for other starts, or when unknown (a node that
   * predates the field). It tells which instance of the old node was taken over: the old node
   * may have restarted, or started another instance, since (see `onHello`, seed 82).
   */
  readonly replaced?: number | null;
  /**
   * For a takeover: the creation (incarnation) of the old node when it was taken from (No OTP
   * counterpart); null or absent otherwise, or when unknown. A node restarted alone mints
   * epochs from scratch and may give a fresh instance the very epoch its previous incarnation's
   * instance had (apps seed 1081): the epoch alone does not say which instance was taken over.
   */
  readonly replacedCreation?: number | null;
}

/** One entry of an application's move history (`distAc.info(app).history`, oldest first). */
export interface Move {
  /** The node it moved to; null when it stopped running (`cause: 'stopped'`). */
  readonly node: string | null;
  /** The start type it was started with there (null for a stop). */
  readonly startType: StartType | null;
  /** Why it moved; `'stopped'`: it stopped running (`application.stop`, a crash, a reconcile on the losing node, `permit(false)` with nowhere to go). */
  readonly cause: MoveCause | 'stopped';
  /** When this node learnt of the move (ISO time). */
  readonly at: string;
  /** The node it ran on before. */
  readonly previous: string | null;
  /** For a stop dist-ac made itself: why (e.g. `'quorum lost'`). */
  readonly reason?: string;
  /** The fencing epoch of the instance this move started (for a stop: of the instance that stopped); null when unknown. */
  readonly epoch: number | null;
  /**
   * For a start this node decided itself: the nodes whose views the decision had (this node
   * included), i.e. the nodes it reached under the application's lock. A failover picks the
   * best of these, as OTP's picks among the nodes it knows to be up; a better node that
   * connected a moment later does not move it back. Absent for moves learnt from other nodes
   * and for a takeover asked for by the old node (No OTP counterpart).
   */
  readonly decidedWith?: readonly string[];
}

/** `distAc.info(app)`: the placement, and the last moves this node knows of. */
export interface AppPlacement extends PlacementInfo {
  /** The last `HISTORY_LIMIT` moves as seen from this node, oldest first. */
  readonly history: readonly Move[];
  /**
   * With a quorum (null without): how many listed nodes it needs, how many this node reaches
   * (itself included), whether a local instance is being stopped for want of it (`'quorum'`:
   * lost; `'resume'`: this node did not run for a while), and whether a local instance's
   * `downAfter` timer runs (`lostSince`).
   */
  readonly quorum: { readonly required: number; readonly reached: number; readonly stopping: 'quorum' | 'resume' | null; readonly lostSince: boolean } | null;
}

/** What a node tells others about one application (asked for under the application's lock). */
interface AppView {
  readonly loaded: boolean;
  readonly permitted: boolean;
  /** `application.start` was called there (and not stopped). */
  readonly started: boolean;
  /** It runs there now. */
  readonly running: boolean;
  /** A decision of that node for it is under way, or its failover timer is armed (it will act). */
  readonly busy?: boolean;
  /** It is giving its instance up (a `permit false` handing it over, a reconcile's yield); absent from nodes that predate the field. */
  readonly leaving?: boolean;
  /** Number of applications running there (OTP's weight for equal-priority groups). */
  readonly weight: number;
  /** Signature of its `distributed` entry. */
  readonly signature: string | null;
  /** What it knows of the placement. */
  readonly info: PlacementInfo | null;
  /** The highest epoch of the application that node has seen or minted (0: none); absent from nodes that predate epochs. */
  readonly epoch?: number;
  /** The epoch of the instance starting or running there (null: none); absent from nodes that predate the field. */
  readonly own?: number | null;
  /** With a quorum: that node reaches a quorum of the listed nodes. */
  readonly quorum?: boolean;
  /** With a quorum: the node that node knows runs the application and reaches (itself included), if any. */
  readonly runner?: string | null;
  /** With a quorum: per listed node it lost recently, the ms it still holds back starts of the application for it. */
  readonly holds?: Array<[string, number]>;
  /** With a quorum: listed nodes it saw die (a close without a goodbye) and not come back since. */
  readonly died?: string[];
}

type Request =
  | { op: 'view'; app: string }
  | { op: 'hello'; from: string; running: Array<[string, PlacementInfo]>; signatures: Array<[string, string]> }
  | { op: 'takeoverFrom'; app: string; from: string; cause: MoveCause; epoch: number; own?: number }
  | { op: 'handedOver'; app: string; info: PlacementInfo }
  /** With a quorum: "store epoch `epoch` of `app` as promised" (accepted only above every epoch seen). */
  | { op: 'promise'; app: string; epoch: number };

type Cast =
  /** `node` started `app` (OTP's `dist_ac_app_started` with `ok`). */
  | { op: 'started'; app: string; info: PlacementInfo }
  /** `node` no longer runs `app` (OTP's `dist_ac_app_stopped`). */
  | { op: 'stopped'; app: string; node: string; kept?: PlacementInfo }
  /** `node` could not start `app` (OTP's `dist_ac_app_started` with an error). */
  | { op: 'failed'; app: string; node: string }
  /** A decision about `app` released its lock. */
  | { op: 'decided'; app: string }
  /** "You were picked and nobody runs `app`: decide" — from a node waiting on this one. */
  | { op: 'decide'; app: string }
  /** "`info.node` runs `app` too and is better: stop yours" — from a node that reaches both (they may not reach each other). */
  | { op: 'keep'; app: string; info: PlacementInfo }
  /** "Your instance of `app` (epoch `epoch`, your incarnation `creation`) was taken over while you were cut off: stop it" — from a node that recorded the takeover. */
  | { op: 'superseded'; app: string; epoch: number; creation: number; by: PlacementInfo };

/** What woke a waiting decision. */
type News = { readonly kind: 'failed'; readonly node: string } | { readonly kind: 'other' };

/** A decision to wait (outside the lock) for `node` to start the application. */
interface Wait {
  readonly wait: string;
  /** Ask `node` to decide: it started the application and nothing of its own will make it act. */
  readonly kick: boolean;
  /** Decide again after this many ms at the latest (a quorum start held back until the old instance must have stopped). */
  readonly holdMs?: number;
}

/** What to do for a start, a failover or a permit, given the views. */
type Decision =
  | { readonly kind: 'startHere'; readonly type: StartType; readonly from: string | null; readonly fromEpoch?: number | null }
  | { readonly kind: 'elsewhere'; readonly node: string; readonly info: PlacementInfo | null }
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

/**
 * The fencing epoch of the instance of `app` running (or starting) on the node of `self` (No
 * OTP counterpart): read it in the application's `start` and pass it with every write to the
 * systems the application writes to, which refuse writes with an older epoch. Throws
 * `DistAcError` `ERR_NO_EPOCH` when no instance of `app` starts or runs on that node, and
 * `ERR_NO_DIST_AC` when the node has no distributed application controller.
 *
 * @example
 * start: (_type, _args, self) => { const epoch = currentEpoch(self, 'ledger'); ... }
 */
export function currentEpoch(self: Process, app: string): number {
  const dac = distAcOf(self);
  const epoch = dac.ownEpoch(app);
  if (epoch === undefined) throw new DistAcError('ERR_NO_EPOCH', `${app} neither starts nor runs on ${dac.node.name}: it has no epoch there`);
  return epoch;
}

/**
 * The name of the `global` resolver dist-ac registers on every node for the distributed
 * application `app` (No OTP counterpart): on a name clash after a heal it keeps the pid on the
 * node dist-ac's reconcile keeps (the better node by `app`'s priority list, ties: the smaller
 * name), and leaves the other pid alone — dist-ac stops that instance's application the
 * orderly way. Register an application's global names with it:
 * `globalOf(self).register('proxima', pid, distAcResolver('proxima'))`.
 */
export function distAcResolver(app: string): string {
  return `dist_ac:${app}`;
}

/** The rpc procedures dist-ac contributes to its node (installed with @rigil/net's `installBuiltins`). */
export const DIST_AC_BUILTINS: readonly Builtin<DistAc>[] = [
  { name: 'distAc.info', doc: 'where every distributed application runs, why it last moved, and its last moves', args: [], run: (dac) => dac.infoAll() },
];

/** The distributed application controller of one node. */
export class DistAc implements DistributedController {
  /** The `distributed` entries by application name. */
  private readonly entries = new Map<string, DistributedEntry>();
  /** Restart type of every application `application.start` was called for here. */
  private readonly localStarted = new Map<string, RestartType>();
  /** What this node knows of where each application runs. */
  private readonly placement = new Map<string, PlacementInfo>();
  /** The last moves of each application, oldest first. */
  private readonly history = new Map<string, Move[]>();
  /** The nodes whose views the decision under each application's lock has, while it runs (`Move.decidedWith`). */
  private readonly deciding = new Map<string, readonly string[]>();
  /** Pending failover timers by application. */
  private readonly failovers = new Map<string, Timer>();
  /** Decisions waiting for news of an application (a start, a stop, a node event, a released lock). */
  private readonly waiters = new Map<string, Set<(news: News) => void>>();
  /** The tail of each application's queue of decisions on this node (one at a time, as OTP's one server). */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Decision loops under way on this node, by application. */
  private readonly active = new Map<string, number>();
  /** Applications starting here now, with the nodes seen running them meanwhile (reconciled once the start is over). */
  private readonly startingHere = new Map<string, Set<string>>();
  /** Numbers this node's decisions (each is its own lock requester). */
  private decisions = 0;
  /** The current lock holder process per application (see `trans`), with its decisions under way. */
  private readonly holders = new Map<string, Holder>();
  /** Unsubscribes from node events (on node stop). */
  private unsubscribe: (() => void) | undefined;
  /** Set once the node stops. */
  private stopping = false;
  /** Incarnations of the `dist_ac` server started so far (1 after the first start). */
  private incarnations = 0;
  /** The rebuild started by the latest server incarnation (for tests and tools). */
  private lastRebuild: Promise<void> = Promise.resolve();
  /** The highest epoch of each application this node has seen or minted (`maxEpoch`; see "Fencing epochs"). */
  private readonly maxEpoch = new Map<string, number>();
  /** Applications whose superseded local instance is being stopped (`onSuperseded`): it still counts as running in the quorum view. */
  private readonly superseding = new Set<string>();
  /** Per `app node`: the instance of that node a recorded takeover replaced (`learnTakenOver`). */
  private readonly takenOver = new Map<string, { readonly creation: number; readonly epoch: number; readonly by: PlacementInfo }>();
  /** Where `maxEpoch` is kept across restarts (`epochDir`, `epochStore`), if anywhere. */
  private readonly epochStore: EpochStore | undefined;
  /** The epoch of the instance starting or running here, by application. */
  private readonly localEpoch = new Map<string, number>();
  /** For an instance here that took over: the epoch of the instance it replaced, when known (`PlacementInfo.replaced`). */
  private readonly localReplaced = new Map<string, number | null>();
  /** For an instance here that took over: the old node's creation then (`PlacementInfo.replacedCreation`). */
  private readonly localReplacedCreation = new Map<string, number | null>();
  /** Applications whose local instance this node is giving up (`AppView.leaving`). */
  private readonly leaving = new Set<string>();
  /** When this node last asked for the views of each application (a quorum start checks nothing was lost since). */
  private readonly viewedAt = new Map<string, number>();
  /** Nodes this node lost, with when (node clock) and how (see `holdFor`); cleared at their nodeup. */
  private readonly lost = new Map<string, { at: number; how: NodeEvent['lost'] }>();
  /** With a quorum: the `downAfter` timer of a local instance whose node lost its quorum. */
  private readonly quorumTimers = new Map<string, Timer>();
  /** With a quorum: local instances dist-ac is stopping because the quorum is lost (`'quorum'`) or because this node did not run for a while (`'resume'`). */
  private readonly fencing = new Map<string, 'quorum' | 'resume'>();
  /** The periodic quorum check (only when some entry has a quorum). */
  private checkTimer: Timer | undefined;
  /** Node-clock time of the last periodic quorum check. */
  private lastCheck = 0;
  /** Node-clock time of the last check that found this node had not run for more than tickTime / 2 (frozen, stalled). */
  private lastGapAt = -Infinity;
  /** Periodic checks so far (a decision to retry is retried on every fourth). */
  private checks = 0;
  /** Whether this node reached a quorum of each application at the last check (a periodic check decides when it reaches one again). */
  private readonly hadQuorum = new Map<string, boolean>();
  /** Applications whose last placement attempt here found no quorum for its epoch, or a runner it cannot reach: retried by the periodic check. */
  private readonly retry = new Set<string>();
  /** Node-clock time each connected node's connection came up (quorum counts only connections up for tickTime / 2: see `reached`). */
  private readonly upSince = new Map<string, number>();
  /** Per node and application (`node app`), how many `stopped` announcements and nodedowns of it this node has had (an introduction checked meanwhile is superseded: `checkIntroduction`). */
  private readonly newsOf = new Map<string, number>();

  constructor(
    readonly node: DistNode,
    readonly config: KernelConfig,
  ) {
    for (const e of config.distributed ?? []) this.entries.set(e.application, e);
    this.epochStore = config.epochStore ?? (config.epochDir !== undefined ? fileEpochStore(config.epochDir) : undefined);
    if (this.epochStore !== undefined) {
      for (const app of this.entries.keys()) {
        let n: unknown;
        try {
          n = this.epochStore.load(app);
        } catch (e) {
          throw e instanceof DistAcError ? e : new DistAcError('ERR_BAD_EPOCH_STORE', `the epoch store cannot load ${app}'s epoch`, e);
        }
        if (!(typeof n === 'number' && Number.isSafeInteger(n) && n >= 0)) throw new DistAcError('ERR_BAD_EPOCH_STORE', `the epoch store gave ${app} a value that is not an epoch`);
        if (n > 0) this.maxEpoch.set(app, n);
      }
    }
  }

  /** @internal Boot: sync nodes, install into the application controller, introduce ourselves. */
  async boot(): Promise<void> {
    const node = this.node;
    await syncNodes(node, this.config);
    for (const [app, flag] of Object.entries(this.config.permissions ?? {})) node.application.setPermission(app, flag);
    // One decider after a heal: global's clashes for an application's names follow the reconcile rule.
    for (const [app, entry] of this.entries) node.global.registerResolver(distAcResolver(app), (_name, p1, p2) => keeper(entry.nodes, p1, p2));
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
      for (const app of this.entries.keys()) this.wake(app);
    });
    installBuiltins(node.rpc, this, DIST_AC_BUILTINS);
    await Promise.all(node.nodes().map((n) => this.hello(n)));
    if ([...this.entries.values()].some((e) => quorumSize(e) > 0)) {
      this.lastCheck = node.clock.now();
      // Connected before dist-ac started (the boot's sync): stable already.
      for (const n of node.nodes()) if (!this.upSince.has(n)) this.upSince.set(n, -Infinity);
      this.scheduleCheck();
      node.onStop(() => {
        if (this.checkTimer !== undefined) node.cancelTimer(this.checkTimer);
        for (const t of this.quorumTimers.values()) node.cancelTimer(t);
        this.quorumTimers.clear();
      });
    }
  }

  /** @internal Called by each incarnation of the `dist_ac` server from its `init`; a restart rebuilds the view. */
  serverStarted(): void {
    if (this.incarnations++ === 0) return;
    this.node.report({ kind: 'dist_ac', message: 'the dist_ac server restarted: rebuilding where the applications run' });
    this.lastRebuild = this.rebuild();
  }

  /** Resolves once the rebuild started by the latest server incarnation is over (No OTP counterpart). */
  rebuilt(): Promise<void> {
    return this.lastRebuild;
  }

  /** How many times the `dist_ac` server has started on this node (1 = never restarted). */
  get serverIncarnations(): number {
    return this.incarnations;
  }

  // ---------------------------------------------------------------- public API

  /** Where `app` runs, why it last moved and its last moves (`null` fields when it runs nowhere); No OTP counterpart (OTP's `application:info/0` shows `running`). */
  info(app: string): AppPlacement {
    const p = this.placement.get(app) ?? { application: app, node: null, startType: null, since: null, previous: null, cause: null, epoch: null };
    // While an instance starts or runs here, `epoch` is its own (also inside its `start`,
    // before the placement names this node, and during a takeover away from it).
    const mine = this.ownEpoch(app);
    const entry = this.entries.get(app);
    const q = entry !== undefined ? quorumSize(entry) : 0;
    const quorum = q === 0 ? null : { required: q, reached: this.reached(app), stopping: this.fencing.get(app) ?? null, lostSince: this.quorumTimers.has(app) };
    return { ...p, epoch: mine ?? p.epoch ?? null, quorum, history: [...(this.history.get(app) ?? [])] };
  }

  /** The epoch of the instance of `app` starting or running on this node, if any (No OTP counterpart). */
  ownEpoch(app: string): number | undefined {
    if (!this.startingHere.has(app) && this.node.application.whereRunning(app) !== 'local') return undefined;
    return this.localEpoch.get(app);
  }

  /** The highest epoch of `app` this node has seen or minted (0: none yet; No OTP counterpart). */
  maxEpochOf(app: string): number {
    return this.maxEpoch.get(app) ?? 0;
  }

  /** `info` of every distributed application (No OTP counterpart; the `distAc.info` rpc procedure). */
  infoAll(): AppPlacement[] {
    return [...this.entries.keys()].map((a) => this.info(a));
  }

  /** The `distributed` entry of an application (OTP's `dist_find_nodes`). */
  entry(app: string): DistributedEntry | undefined {
    return this.entries.get(app);
  }

  // ---------------------------------------------------------------- DistributedController (called by node.application)

  /** True when `name` is listed in `distributed` (OTP: the application is under dist_ac's control, `control_application`). */
  controls(name: string): boolean {
    return this.entries.has(name);
  }

  /**
   * `application.start` of a distributed application (OTP's `start_appl`): place it, start it
   * here or record where it runs. Resolves once the placement is decided: when another node is
   * picked, once that node has started it (or, if it went down, after a new decision).
   */
  async start(app: string, restartType: RestartType): Promise<AppResult> {
    this.localStarted.set(app, restartType);
    const r = await this.decideLoop(app, 'start', restartType);
    // A start that failed (e.g. a boot start's takeover whose start phase failed) leaves the
    // application not started here — the application controller does not record it, as OTP's
    // `application_controller` adds it to `started` only on success — so dist-ac forgets it
    // too: this node is no candidate for failovers and takes no part in placing it, or it
    // would run (and `whereRunning` be set) where `application.start` answered an error (seed
    // 41). OTP's dist_ac keeps the name in its `started` list but records the application as
    // running nowhere (`ac_application_run` with an error), and its application controller
    // then refuses to start it there.
    if (r !== 'ok' && !this.node.application.isStarted(app) && this.node.application.whereRunning(app) === undefined && this.localStarted.get(app) === restartType) this.localStarted.delete(app);
    return r;
  }

  /** `application.stop` here: forget the local start; if it ran here, tell the others, no failover (OTP's `ac_application_stopped` → `dist_ac_app_stopped`). */
  stopped(app: string, ranHere: boolean): void {
    this.localStarted.delete(app);
    this.cancelFailover(app);
    if (ranHere) this.announceStopped(app);
  }

  /** The local instance died: the others mark it not running, an application crash never fails over (OTP's `ac_application_not_run` → `dist_ac_app_stopped`). */
  died(app: string, _reason: ExitReason): void {
    this.announceStopped(app);
  }

  /** `application.takeover`: start here with `{ takeover, old }`; resolves once fully started (OTP's `takeover_application`). */
  async takeover(app: string, restartType: RestartType): Promise<AppResult> {
    if (this.node.application.whereRunning(app) === 'local') return { error: { alreadyRunningLocally: app } };
    const r = await this.locked(app, async (views): Promise<AppResult> => {
      const runner = runnerOf(this.entries.get(app)!.nodes, views);
      if (runner === undefined || runner === this.node.name) return { error: { notRunningDistributed: app } };
      this.localStarted.set(app, restartType);
      return this.startHere(app, { takeover: runner }, restartType, 'takeover', runner, runner, views.get(runner)?.own ?? null);
    });
    return r === 'retry' ? { error: 'node_stopping' } : r;
  }

  /**
   * `application.permit`: `false` moves the application to the best other permitted node (or
   * stops it when there is none); `true` brings it here if this node is now the best (OTP's
   * `permit_application` / `permit/6`).
   */
  async permit(app: string, flag: boolean): Promise<AppResult> {
    const restartType = this.localStarted.get(app);
    if (restartType === undefined) return 'ok';
    const r = await this.locked(app, async (views): Promise<AppResult> => {
      const running = this.node.application.whereRunning(app) === 'local';
      if (!flag) {
        if (!running) return 'ok';
        this.leaving.add(app);
        try {
          return await this.giveUp(app, views);
        } finally {
          this.leaving.delete(app);
        }
      }
      if (running) return 'ok';
      const d = this.decide(app, views, 'permit');
      if (d.kind === 'startHere' && d.from === null && this.holdOf(app, views) > 0) {
        // With a quorum, a fresh instance waits until a lost node must have stopped its own:
        // the periodic check places it then (`decideLoop` waits out the hold).
        this.retry.add(app);
        return 'ok';
      }
      if (d.kind === 'startHere') return this.startHere(app, d.type, restartType, d.from !== null ? 'permit' : 'start', d.from, d.from ?? this.placement.get(app)?.node ?? null, d.fromEpoch ?? null);
      return 'ok';
    });
    return r === 'retry' ? { error: 'node_stopping' } : r;
  }

  /** `permit(app, false)` with the local instance running, under the lock: hand it to the best other node, or stop it. */
  private async giveUp(app: string, views: Map<string, AppView>): Promise<AppResult> {
    const me = this.node.name;
    // Decide as if it ran nowhere: the best other node that started it takes it over.
    views.set(me, { ...views.get(me)!, running: false, permitted: false });
    const d = this.decide(app, views, 'failover', me);
    if (d.kind === 'wait') {
      const own = this.localEpoch.get(app);
      const r = (await this.call(d.node, { op: 'takeoverFrom', app, from: me, cause: 'permit', epoch: this.maxEpochOf(app), ...(own !== undefined ? { own } : {}) }).catch((e: unknown) => ({ error: e }))) as AppResult;
      if (r === 'ok') return 'ok';
      // The call yields: a reconcile at a heal may have stopped the local instance
      // meanwhile, recording where the application runs now. That record stands (apps
      // seed 13: d's permit false found b unable to take ctr over, and marked it running
      // nowhere after d had yielded it to e). OTP's dist_ac runs permit inside its one
      // gen_server, so nothing interleaves there.
      if (this.node.application.whereRunning(app) !== 'local') return 'ok';
    }
    await this.node.application.notRunning(app);
    this.announceStopped(app);
    return 'ok';
  }

  // ---------------------------------------------------------------- the decision (spec §g.3)

  /**
   * Decides where `app` runs. `mode`: `start` (this node called `application.start`: a better
   * node than the runner takes over; a chosen other node is waited for), `failover` (nobody
   * runs it: only nodes that started it count, a chosen other node is waited for), `permit`
   * (like start, without waiting). `exclude`: a node that must not be chosen.
   */
  private decide(app: string, views: Map<string, AppView>, mode: 'start' | 'failover' | 'permit', exclude?: string): Decision {
    const entry = this.entries.get(app)!;
    const me = this.node.name;
    const quorate = quorumSize(entry) > 0;
    // A "dead" node that is back, reachable and not running (with a quorum: it stopped its
    // instance for want of one; without: a takeover from it finished elsewhere, or it
    // restarted) is a candidate again: the views say what it runs. OTP's dist_ac drops a node
    // from the run lists at its nodedown and adds it back when it reconnects
    // (`dist_ac_app_loaded`), before the failover timer picks a node (seed 65: b failed slow
    // over from c although c, better, was back).
    if (mode === 'failover' && exclude !== undefined && exclude !== me && views.get(exclude)?.running === false) exclude = undefined;
    const candidate = (n: string): boolean => {
      const v = views.get(n);
      if (v === undefined || n === exclude || !v.loaded || !v.permitted) return false;
      // With a quorum, only a node that reaches one may run it.
      if (quorate && (n === me ? !this.hasQuorum(app) : v.quorum !== true)) return false;
      return mode === 'start' ? true : v.started;
    };
    const runner = runnerOf(entry.nodes, views);
    if (runner === undefined && quorate) {
      // A node starting it (its start phases run) or stopping it: wait for its news, never start a second.
      for (const [n, v] of views) if (n !== me && v.runner === n && !v.running) return mode === 'permit' ? { kind: 'none' } : { kind: 'wait', node: n };
      // A node this one does not reach may run it, known to a node that reaches both (a
      // partial partition): never start a second instance; decide again later (`check`).
      for (const [n, v] of views) {
        if (v.runner != null && v.runner !== me && !views.has(v.runner) && n !== exclude) {
          this.retry.add(app);
          return { kind: 'none' };
        }
      }
    }
    if (runner !== undefined) {
      if (mode !== 'failover' && candidate(me) && me !== runner) {
        const mine = rankOf(entry.nodes, me);
        const theirs = rankOf(entry.nodes, runner);
        if (mine >= 0 && (theirs < 0 || mine < theirs)) return { kind: 'startHere', type: { takeover: runner }, from: runner, fromEpoch: views.get(runner)?.own ?? null };
      }
      if (runner === me) return { kind: 'none' };
      const info = views.get(runner)?.info ?? null;
      return { kind: 'elsewhere', node: runner, info: info?.node === runner ? info : null };
    }
    for (const e of entry.nodes) {
      const group = (typeof e === 'string' ? [e] : [...e]).filter(candidate);
      if (group.length === 0) continue;
      // Equal priority: the fewest running applications wins, ties by name (all nodes agree).
      group.sort((a, b) => views.get(a)!.weight - views.get(b)!.weight || (a < b ? -1 : a > b ? 1 : 0));
      const best = group[0]!;
      if (best === me) return { kind: 'startHere', type: 'normal', from: null };
      return mode === 'permit' ? { kind: 'none' } : { kind: 'wait', node: best };
    }
    return { kind: 'none' };
  }

  /**
   * Decides again and again until the placement is settled (OTP's `start_appl` with
   * `wait_dist_start`): `start` for `application.start`, `failover` once the runner `dead`
   * is gone (or, without `dead`, when a waiting node asked this one to decide). A node that
   * is not picked waits on the picked one, outside the lock.
   */
  private async decideLoop(app: string, mode: 'start' | 'failover', restartType: RestartType, dead?: string): Promise<AppResult> {
    this.active.set(app, (this.active.get(app) ?? 0) + 1);
    try {
      for (;;) {
        if (this.stopping) return { error: 'node_stopping' };
        if (mode === 'failover') {
          // Done once it runs here or on a node this one reaches (a record naming an unreachable node is stale).
          const where = this.node.application.whereRunning(app);
          if (!this.localStarted.has(app) || where === 'local' || (where !== undefined && this.node.net.isConnected(where))) return 'ok';
          // Every surviving node gets here at about the same time; one the decision does not
          // pick waits on the picked one without contending for the lock. It listens before
          // asking for the views, so a start announced meanwhile is not missed. The node that
          // leads the list among the survivors goes to the lock at once: the decision under
          // the lock, with fresh views, is the one that counts, and the round of views saved
          // is the failover's critical path (OTP's dist_ac decides from what it knows, with no
          // round at all; rigil asks, as the nodes' records may be behind).
          if (!this.leadsFailover(app)) {
            const next = this.news(app);
            const views = await this.views(app);
            const d = this.decide(app, views, mode, dead);
            if (d.kind === 'wait') {
              if (kickable(views.get(d.node)!)) this.kick(d.node, app);
              const news = await next.promise;
              if (news.kind === 'failed' && news.node === d.node) return { error: { startFailed: d.node } };
              continue;
            }
            next.cancel();
          }
        }
        let waited: News | undefined;
        let waitedOn: string | undefined;
        const r = await this.locked<AppResult>(app, async (views) => {
          const d = this.decide(app, views, mode, dead);
          if (d.kind === 'wait') {
            waitedOn = d.node;
            return { wait: d.node, kick: kickable(views.get(d.node)!) };
          }
          if (d.kind === 'startHere' && d.from === null) {
            // With a quorum, a fresh instance waits until the old one must have stopped.
            const hold = this.holdOf(app, views);
            if (hold > 0) return { wait: this.node.name, kick: false, holdMs: hold };
          }
          return this.act(app, d, restartType, mode, dead);
        }, (news) => (waited = news));
        if (r !== 'retry') return r;
        // OTP's wait_dist_start: the picked node could not start it.
        if (waited?.kind === 'failed' && waited.node === waitedOn) return { error: { startFailed: waitedOn } };
      }
    } finally {
      const n = (this.active.get(app) ?? 1) - 1;
      if (n === 0) this.active.delete(app);
      else this.active.set(app, n);
    }
  }

  /**
   * True when no connected node ranks with or above this one in `app`'s priority list: the
   * failover's decision will pick this node unless its views say otherwise (not started, not
   * permitted here; then it waits under the lock's decision like any other node).
   */
  private leadsFailover(app: string): boolean {
    const nodes = this.entries.get(app)!.nodes;
    const mine = rankOf(nodes, this.node.name);
    if (mine < 0) return false;
    return this.node.nodes().every((n) => {
      const r = rankOf(nodes, n);
      return r < 0 || r > mine;
    });
  }

  /** Carries out a decision made by `decideLoop` (not a wait). */
  private async act(app: string, d: Decision, restartType: RestartType, mode: 'start' | 'failover', dead: string | undefined): Promise<AppResult> {
    const ac = this.node.application;
    switch (d.kind) {
      case 'startHere': {
        if (d.from !== null) return this.startHere(app, d.type, restartType, 'takeover', d.from, d.from, d.fromEpoch ?? null);
        if (mode === 'failover' && dead !== undefined) {
          // With start phases the type is `{ failover, dead }`; without, `normal` (OTP compatibility).
          // The dead node is never a takeover's old node: it may be back, running an instance
          // that must not be handed over (OTP's failover never contacts it).
          const type: StartType = ac.getSpec(app)?.startPhases !== undefined ? { failover: dead } : 'normal';
          return this.startHere(app, type, restartType, 'failover', null, dead);
        }
        const r = await this.startHere(app, d.type, restartType, 'start', null, this.placement.get(app)?.node ?? null);
        if (mode === 'start' && isNoQuorum(r)) {
          // No quorum yet (nodes still connecting at boot, or this side is a minority):
          // `application.start` succeeds as on a node that waits for the chosen one (OTP's
          // wait_dist_start), and the periodic check places it once a quorum is reached.
          this.retry.add(app);
          if (ac.whereRunning(app) !== 'local') await ac.notRunning(app, restartType);
          return 'ok';
        }
        return r;
      }
      case 'elsewhere':
        // The runner's own record, first-hand, when this node has none for it: a node whose
        // record was dropped (the runner's connection dropped and restored, its stop unheard)
        // learns it here, or it would say "runs nowhere" until the runner's next move (apps
        // seed 15). OTP's wait_dist_start records the runner from its `dist_ac_app_started`.
        if (d.info !== null && this.placement.get(app)?.node !== d.node) this.record(app, d.info);
        if (ac.whereRunning(app) !== d.node) await ac.runningElsewhere(app, d.node, restartType);
        return 'ok';
      case 'none':
      case 'wait': {
        // The controller follows dist-ac's record: a node this decision did not reach (no view)
        // may be recorded as the runner (apps seed 97: c, not permitted, decided at a's nodedown
        // with no other view while its record named e; the controller said "nowhere").
        const rec = this.placement.get(app)?.node;
        if (rec != null && rec !== this.node.name) {
          if (ac.whereRunning(app) !== rec) await ac.runningElsewhere(app, rec, restartType);
        } else if (ac.whereRunning(app) !== 'local') await ac.notRunning(app, restartType);
        return 'ok';
      }
    }
  }

  /**
   * Starts the application here and tells every node. `old`: the node a takeover takes it
   * from (told to stop its instance once this one is fully started); `previous`: where it ran
   * before, for the records; `replaced`: the epoch of the old instance a takeover replaces, when
   * known (`PlacementInfo.replaced`).
   */
  private async startHere(app: string, type: StartType, restartType: RestartType, cause: MoveCause, old: string | null, previous: string | null, replaced: number | null = null, decidedWith = this.deciding.get(app)): Promise<AppResult> {
    this.cancelFailover(app);
    const me = this.node.name;
    const epoch = this.mint(app);
    const began = this.node.clock.now();
    if (quorumSize(this.entries.get(app)!) > 0 && !(await this.promised(app, epoch, began))) {
      // Checked again on the next node event or periodic check.
      return { error: { noQuorum: app } };
    }
    const seen = new Set<string>();
    this.startingHere.set(app, seen);
    this.localEpoch.set(app, epoch);
    this.localReplaced.set(app, old !== null ? replaced : null);
    const replacedCreation = old !== null && old !== me ? (this.node.net.creationOf(old) ?? null) : null;
    this.localReplacedCreation.set(app, replacedCreation);
    let r: AppResult;
    try {
      r = await this.node.application.startLocal(app, type, restartType);
    } finally {
      if (this.startingHere.get(app) === seen) this.startingHere.delete(app);
    }
    if (r !== 'ok') {
      this.broadcast({ op: 'failed', app, node: me });
      return r;
    }
    const info: PlacementInfo = { application: app, node: me, startType: type, since: this.now(), previous, cause, epoch, replaced: old !== null ? replaced : null, replacedCreation };
    this.record(app, info, decidedWith);
    this.node.report({ kind: 'dist_ac', message: `${app} started here (${cause}, epoch ${epoch})`, application: app, startType: type, previous, epoch });
    const live = old !== null && old !== me && this.node.net.isConnected(old) ? old : undefined;
    this.broadcast({ op: 'started', app, info }, live);
    // A takeover returns once the old instance has stopped too (OTP's permit and takeover
    // callers see it gone when the call returns).
    if (live !== undefined) await this.call(live, { op: 'handedOver', app, info }).catch(() => undefined);
    // Nodes seen running it while ours started (a heal meanwhile): settle who keeps it.
    for (const n of seen) if (n !== live) this.background(this.hello(n), `introducing this node to ${n}`);
    // With a quorum: this node did not run for a while during the start (it may have been
    // failed over meanwhile), or it lost its quorum meanwhile.
    if (this.lastGapAt >= began && quorumSize(this.entries.get(app)!) > 0) this.fence(app, 'this node did not run for a while during the start', 'resume');
    else this.check(app);
    this.wake(app);
    return 'ok';
  }

  // ---------------------------------------------------------------- epochs

  /**
   * Mints the epoch of a new instance of `app` here (No OTP counterpart): the smallest number
   * above every epoch this node has seen that is ≡ rank + 1 (mod L) — L listed nodes, rank this
   * node's index in the flattened list (an unlisted node, which only `application.takeover` can
   * place, counts as rank L of L + 1) — so two nodes never mint the same epoch. Called under
   * the application's lock, after the views raised `maxEpoch` to every connected node's.
   */
  private mint(app: string): number {
    const listed = listedNodes(this.entries.get(app)!.nodes);
    let rank = listed.indexOf(this.node.name);
    let l = listed.length;
    if (rank < 0) [rank, l] = [listed.length, listed.length + 1];
    const max = this.maxEpochOf(app);
    const base = rank + 1;
    const epoch = max < base ? base : base + (Math.floor((max - base) / l) + 1) * l;
    this.raiseEpoch(app, epoch);
    return epoch;
  }

  /** Raises `maxEpoch` of `app` to `epoch` (an epoch seen in a view, an announcement or a request). */
  private see(app: string, epoch: unknown): void {
    if (typeof epoch === 'number' && Number.isSafeInteger(epoch) && epoch > this.maxEpochOf(app)) this.raiseEpoch(app, epoch);
  }

  /** Sets `maxEpoch` of `app`, in the epoch store first when there is one (before any promise or start with it). */
  private raiseEpoch(app: string, epoch: number): void {
    this.epochStore?.save(app, epoch);
    this.maxEpoch.set(app, epoch);
  }

  // ---------------------------------------------------------------- quorum (No OTP counterpart; issue 15)

  /**
   * How many listed nodes of `app` this node reaches, itself included; with `stable`, only
   * connections up for min(tickTime / 2, downAfter / 2): one that flaps (`global` drops a link
   * to a node that lost another, the redial comes up and is dropped again) must not count as
   * the quorum coming back for a running instance — it would cancel its `downAfter` timer
   * forever.
   */
  private reached(app: string, stable = false): number {
    const me = this.node.name;
    const now = this.node.clock.now();
    const min = stable ? Math.min(this.tickTime() / 2, this.downAfterOf(app) / 2) : 0;
    return listedNodes(this.entries.get(app)!.nodes).filter((n) => n === me || (this.node.net.isConnected(n) && now - (this.upSince.get(n) ?? -Infinity) >= min)).length;
  }

  /** True when `app` has no quorum setting, or this node reaches a quorum of its listed nodes (No OTP counterpart). */
  hasQuorum(app: string): boolean {
    const e = this.entries.get(app);
    if (e === undefined) return false;
    const q = quorumSize(e);
    return q === 0 || this.reached(app) >= q;
  }

  /** `hasQuorum` over stable connections only (see `reached`). */
  private hasStableQuorum(app: string): boolean {
    const q = quorumSize(this.entries.get(app)!);
    return q === 0 || this.reached(app, true) >= q;
  }

  /** True while dist-ac is stopping the local instance of `app` for want of a quorum (`'quorum'`) or after this node did not run for a while (`'resume'`); No OTP counterpart. */
  fencingOf(app: string): 'quorum' | 'resume' | undefined {
    return this.fencing.get(app);
  }

  private tickTime(): number {
    return this.node.net.options.tickTime;
  }

  /** `downAfter` of `app` (default tickTime / 4). */
  downAfterOf(app: string): number {
    return this.entries.get(app)?.downAfter ?? this.tickTime() / 4;
  }

  /**
   * How long, after a listed node was lost, this node holds back new instances of `app` (with
   * a quorum): until that node — if it ran the application and lost its quorum with us — must
   * have stopped it. T = tickTime. A silent peer is declared down 0.25 T to T after the cut
   * that silenced it (frames every ≤ T/2, a check every T/4 against 0.75 T of silence), so it
   * may notice the cut up to 0.75 T later than we do, then waits `downAfter`, then stops: we
   * wait `downAfter` + 0.75 T + a margin of T/2 (the stop itself, timer lag). A peer that said
   * goodbye lost us when it closed: `downAfter` + T/2. A peer that died (closed without a
   * goodbye) runs nothing: 0.
   */
  private holdFor(app: string, lost: NodeEvent['lost']): number {
    const t = this.tickTime();
    const d = this.downAfterOf(app);
    if (lost === 'died') return 0;
    if (lost === 'goodbye' || lost === 'local') return d + t / 2;
    return d + 1.25 * t;
  }

  /**
   * The ms a fresh start of `app` must still wait (with a quorum): the longest hold any viewed
   * node (this one included) has for a listed node it lost — except for a node some viewed
   * node saw die (its connection closed without a goodbye: a killed process runs nothing).
   * One node may see a goodbye-less close while another closed its own link on purpose first
   * (`global` drops the links to a node another one lost): the death decides.
   */
  private holdOf(app: string, views: Map<string, AppView>): number {
    if (quorumSize(this.entries.get(app)!) === 0) return 0;
    const died = new Set<string>();
    for (const v of views.values()) for (const n of v.died ?? []) died.add(n);
    let h = 0;
    for (const v of views.values()) for (const [n, ms] of v.holds ?? []) if (!died.has(n) && ms > h) h = ms;
    return Math.ceil(h);
  }

  /**
   * The promise round of a start with a quorum (Paxos phase 1): every reachable listed node is
   * asked to store `epoch`; it accepts only an epoch above every one it has seen. The start
   * goes on only if a quorum accepted (this node included), this node still reaches a quorum,
   * nothing raised its own epoch meanwhile and it did not stop running meanwhile.
   */
  private async promised(app: string, epoch: number, began: number): Promise<boolean> {
    const entry = this.entries.get(app)!;
    const q = quorumSize(entry);
    const me = this.node.name;
    const peers = listedNodes(entry.nodes).filter((n) => n !== me && this.node.net.isConnected(n));
    const answers = await Promise.all(
      peers.map(async (n) => {
        try {
          const r = await this.call(n, { op: 'promise', app, epoch });
          if (r === 'ok') return true;
          this.see(app, (r as { max?: unknown } | null)?.max);
        } catch {
          // down meanwhile: not an acceptance
        }
        return false;
      }),
    );
    const acks = 1 + answers.filter(Boolean).length;
    // A listed node lost meanwhile (not dead) may run an instance the views missed: decide again, with its hold.
    const listed = listedNodes(entry.nodes);
    const since = Math.min(began, this.viewedAt.get(app) ?? began);
    const lostMeanwhile = [...this.lost].some(([n, l]) => l.at >= since && l.how !== 'died' && listed.includes(n));
    const ok = acks >= q && !lostMeanwhile && this.maxEpochOf(app) === epoch && this.lastGapAt < began && this.hasQuorum(app) && !this.stopping;
    if (!ok) {
      log('[%s] %s: epoch %d not promised (%d of %d)', me, app, epoch, acks, q);
      this.retry.add(app);
    }
    return ok;
  }

  /**
   * With a quorum: a local instance whose node lost its quorum gets a `downAfter` timer (and
   * stops when it fires without the quorum back), one whose node has it again loses the
   * timer; an application that runs nowhere this node knows of is placed again when this node
   * reaches a quorum: on node events (`'event'`), and on a periodic check (`'periodic'`) when
   * the quorum has just come back (a connection became stable) or an attempt is to be retried
   * (every fourth check) — not on every check: each decision costs calls to every node.
   */
  private check(app: string, why: 'event' | 'periodic' = 'event'): void {
    const entry = this.entries.get(app);
    if (entry === undefined || this.stopping) return;
    const q = quorumSize(entry);
    if (q === 0) return;
    const quorate = this.hasQuorum(app);
    const back = quorate && this.hadQuorum.get(app) !== true;
    this.hadQuorum.set(app, quorate);
    const decide = why === 'event' || back || (this.retry.has(app) && this.checks % 4 === 0);
    const ac = this.node.application;
    const local = ac.whereRunning(app) === 'local';
    // An instance still in its start phases counts as running here: its start may wait on
    // the network for long (a global registration, a takeover's state), and it must not
    // outlive the quorum any longer than a started one (apps-quorum seed 16).
    if ((local || this.startingHere.has(app)) && !this.fencing.has(app)) {
      if (this.hasStableQuorum(app)) {
        if (this.quorumTimers.has(app)) this.node.report({ kind: 'dist_ac', message: `${app}: quorum back (${this.reached(app)} listed nodes reached, ${q} needed)`, application: app, code: 'quorum' });
        this.cancelQuorumTimer(app);
      } else if (!quorate && !this.quorumTimers.has(app)) {
        const after = this.downAfterOf(app);
        this.node.report({ kind: 'dist_ac', message: `${app}: quorum lost (${this.reached(app)} listed nodes reached, ${q} needed); stopping it in ${after} ms unless it returns`, application: app, code: 'quorum' });
        const timer = this.node.timers.schedule(after, () => {
          this.quorumTimers.delete(app);
          // A timer that fires late means this node did not run meanwhile (a stall or a freeze
          // began before it was due): that is a resume, and fences as one (apps-quorum seed 13).
          this.resumeCheck();
          if (!this.hasStableQuorum(app) && (ac.whereRunning(app) === 'local' || this.startingHere.has(app))) this.fence(app, 'quorum lost', 'quorum');
        }, undefined);
        this.quorumTimers.set(app, timer);
      }
      return;
    }
    this.cancelQuorumTimer(app);
    if (!decide || local || this.startingHere.has(app) || this.fencing.has(app)) return;
    const rt = this.localStarted.get(app);
    // (`timeout: Infinity` never fails over: nor does a quorum coming back.)
    if (rt === undefined || entry.timeout === Infinity || !ac.isPermitted(app) || !quorate || this.active.has(app) || this.failovers.has(app)) return;
    const where = ac.whereRunning(app);
    if (where !== undefined && this.node.net.isConnected(where)) return;
    this.retry.delete(app);
    this.background(this.decideLoop(app, 'failover', rt), `placing ${app} (quorum reached)`);
  }

  private cancelQuorumTimer(app: string): void {
    const t = this.quorumTimers.get(app);
    if (t !== undefined) this.node.cancelTimer(t);
    this.quorumTimers.delete(app);
  }

  /** Stops the local instance of `app` for want of a quorum and says why (report, history, `info(app).quorum.stopping`). */
  private fence(app: string, reason: string, kind: 'quorum' | 'resume'): void {
    if (this.fencing.has(app)) return;
    this.cancelQuorumTimer(app);
    this.cancelFailover(app);
    this.fencing.set(app, kind);
    const epoch = this.localEpoch.get(app);
    this.node.report({ kind: 'dist_ac', message: `${app} stopped here (epoch ${epoch ?? '?'}): ${reason}`, application: app, code: 'quorum', reason });
    const ac = this.node.application;
    this.background(
      // A start still under way here is stopped too (apps-quorum seed 16).
      Promise.all([ac.notRunning(app), ac.stopStarting(app)]).finally(() => {
        this.fencing.delete(app);
        this.announceStopped(app, reason);
        this.check(app);
      }),
      `stopping ${app} (${reason})`,
    );
  }

  /**
   * Notices that this node did not run for more than tickTime / 2 (frozen, stalled: its timers
   * are late): it cannot know whether the others failed it over meanwhile, so it stops its
   * instances of applications with a quorum at once, before anything else for them — the
   * checks place them again if it still reaches a quorum and is the best node.
   */
  private resumeCheck(): void {
    const now = this.node.clock.now();
    const gap = now - this.lastCheck;
    this.lastCheck = now;
    if (gap <= this.tickTime() / 2) return;
    this.lastGapAt = now;
    for (const [app, e] of this.entries) {
      // A start under way too (its start phases may run): apps-quorum seeds 151, 230 — d froze
      // while starting slow, a started it meanwhile, and d's start ran on after the thaw.
      if (quorumSize(e) > 0 && (this.node.application.whereRunning(app) === 'local' || this.startingHere.has(app))) this.fence(app, `this node did not run for ${Math.round(gap)} ms (frozen or stalled): it may have been failed over`, 'resume');
      // A stop for want of a quorum that the freeze interrupted (its prepStop goes on after the
      // thaw) is now a thawed node's stop too: the others may have failed it over meanwhile
      // (apps-quorum seed 230: e froze 4 ms into slow's 200 ms prepStop; c failed it over).
      else if (this.fencing.get(app) === 'quorum') this.fencing.set(app, 'resume');
    }
  }

  /** The periodic quorum check, every tickTime / 4 (only when some entry has a quorum). */
  private scheduleCheck(): void {
    this.checkTimer = this.node.timers.schedule(this.tickTime() / 4, () => {
      this.checkTimer = undefined;
      if (this.stopping) return;
      this.resumeCheck();
      this.checks++;
      for (const app of this.entries.keys()) this.check(app, 'periodic');
      this.scheduleCheck();
    }, undefined);
  }

  // ---------------------------------------------------------------- locking and views

  /**
   * Runs `fn` under the application's lock over every connected node, with a fresh view of
   * each node, after the decisions of this node for `app` queued before it. A `{ wait }`
   * result releases the lock, waits for news (`onNews` sees what woke it) and gives `'retry'`.
   */
  private async locked<T>(app: string, fn: (views: Map<string, AppView>) => Promise<T | Wait>, onNews?: (news: News) => void): Promise<T | 'retry'> {
    let news: Promise<News> | undefined;
    const r = await this.queued(app, () =>
      this.trans(app, async () => {
        const views = await this.views(app);
        log('[%s] %s: views %o', this.node.name, app, [...views].map(([n, v]) => [n, { started: v.started, running: v.running }]));
        this.deciding.set(app, [...views.keys()]);
        let out: T | Wait;
        try {
          out = await fn(views);
        } finally {
          this.deciding.delete(app);
        }
        log('[%s] %s: decided %o', this.node.name, app, out);
        if (isWait(out)) {
          // Listen before the lock is released, so news that follows at once is not missed.
          news = this.waitOn(app, out);
          return 'retry' as const;
        }
        return out;
      }),
    );
    if (r === 'aborted') return 'retry';
    if (news !== undefined) {
      onNews?.(await news);
      return 'retry';
    }
    return r;
  }

  /** Runs `fn` after every decision of this node for `app` queued before it (OTP: one `dist_ac` server per node). */
  private queued<T>(app: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(app) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.queues.set(app, tail);
    void tail.then(() => {
      if (this.queues.get(app) === tail) this.queues.delete(app);
    });
    return run;
  }

  /**
   * `global.trans` on resource `['dist_ac', app]` over every connected node, with a requester
   * of its own for this decision (OTP's `{?LOCK_ID, self()}`: one lock per caller; a shared
   * requester would let two decisions of one node hold it at once). When the lock is taken
   * it waits for news — the holder's `decided`, a node event — instead of polling it.
   */
  private async trans<T>(app: string, fn: () => Promise<T>): Promise<T | 'aborted'> {
    const g = this.node.global;
    const id = [['dist_ac', app], `${this.node.name}#${++this.decisions}`] as const;
    // The lock's holder is a process that ends once a node has gone down and the decisions
    // using it are over (OTP's holder is the dist_ac server, which lives on): a lock request
    // that reaches a node only after the decision is over — held in a frozen node's socket,
    // handled after its nodedown released our locks; this node waited for that node's nodedown
    // meanwhile — then names a dead holder, and that node's monitor releases it at once. With
    // a long-lived holder such a stale lock blocked the application's decisions for good. (One
    // holder per decision would do too, but fills every peer's remote-pid cache.)
    let h = this.holders.get(app);
    if (h === undefined) this.holders.set(app, (h = { pid: this.node.spawn(async (self) => void (await self.receive())), users: 0 }));
    h.users++;
    const holder = h.pid;
    try {
      for (;;) {
        if (this.stopping) return 'aborted';
        const nodes = [this.node.name, ...this.node.nodes()];
        const released = this.news(app, LOCK_FALLBACK_MS * (1 + this.node.random.float()));
        if (await g.setLock(id, nodes, 0, holder)) {
          released.cancel();
          try {
            return await fn();
          } finally {
            await g.delLock(id, nodes, holder);
            this.broadcast({ op: 'decided', app });
          }
        }
        await released.promise;
      }
    } finally {
      if (--h.users === 0 && this.holders.get(app) !== h) this.node.send(holder, 'done');
    }
  }

  /** A node went down: the current lock holders retire (they end once their decisions are over; see `trans`). */
  private retireHolders(): void {
    for (const h of this.holders.values()) if (h.users === 0) this.node.send(h.pid, 'done');
    this.holders.clear();
  }


  /** This node's view of `app`, and every connected node's (nodes without dist_ac are left out; slow ones are waited for). */
  private async views(app: string): Promise<Map<string, AppView>> {
    this.viewedAt.set(app, this.node.clock.now());
    const views = new Map<string, AppView>([[this.node.name, this.view(app)]]);
    await Promise.all(
      this.node.nodes().map(async (n) => {
        try {
          const v = (await this.call(n, { op: 'view', app })) as AppView;
          // A superseded instance is told to stop, but counts as running until it has (its
          // stop takes its prepStop; apps-quorum seed 75: counted as stopped at once, a second
          // instance started beside it).
          if (v.running) this.supersede(app, n, v.own);
          views.set(n, v);
          this.see(app, v.epoch);
          this.see(app, v.info?.epoch);
          const mine = this.entries.get(app);
          if (v.signature !== null && mine !== undefined && v.signature !== entrySignature(mine)) this.mismatch(app, n);
        } catch {
          // down (the call ends with its nodedown), or no dist_ac there: not a candidate
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
      busy: this.active.has(app) || this.failovers.has(app) || this.startingHere.has(app),
      leaving: this.leaving.has(app),
      weight: ac.whichApplications().length,
      signature: entry !== undefined ? entrySignature(entry) : null,
      info: this.placement.get(app) ?? null,
      epoch: this.maxEpochOf(app),
      own: this.ownEpoch(app) ?? null,
      ...(entry !== undefined && quorumSize(entry) > 0 ? this.quorumView(app) : {}),
    };
  }

  /** The quorum fields of this node's view of `app`. */
  private quorumView(app: string): { quorum: boolean; runner: string | null; holds: Array<[string, number]>; died: string[] } {
    const me = this.node.name;
    const p = this.placement.get(app)?.node ?? null;
    // An instance starting here, or being stopped for want of a quorum (its `prepStop` may run), counts as running here.
    const here = this.node.application.whereRunning(app) === 'local' || this.startingHere.has(app) || this.fencing.has(app) || this.superseding.has(app);
    const runner = here ? me : p !== null && p !== me && this.node.net.isConnected(p) ? p : null;
    const listed = listedNodes(this.entries.get(app)!.nodes);
    const now = this.node.clock.now();
    const holds: Array<[string, number]> = [];
    const died: string[] = [];
    for (const [n, l] of this.lost) {
      if (!listed.includes(n)) continue;
      if (l.how === 'died') died.push(n);
      const ms = Math.ceil(l.at + this.holdFor(app, l.how) - now);
      if (ms > 0) holds.push([n, ms]);
    }
    return { quorum: this.hasQuorum(app), runner, holds, died };
  }

  /**
   * Waits on the picked node (OTP's `wait_dist_start`): until news of `app` — some node
   * started it, stopped it or failed to start it, a node went down (the picked one's nodedown
   * is the node monitor) or came up. With `kick`, the picked node is asked to decide first.
   */
  private waitOn(app: string, w: Wait): Promise<News> {
    const { promise } = this.news(app, w.holdMs);
    if (w.kick) this.kick(w.wait, app);
    return promise;
  }

  /** Asks `node` to decide where `app` runs (it was picked, and nothing of its own will make it act). */
  private kick(node: string, app: string): void {
    genServer.cast(this.node, [DIST_AC, node], { op: 'decide', app } satisfies Cast);
  }

  /** The next news of `app` (or `fallbackMs` passing, if given); `cancel` stops listening. */
  private news(app: string, fallbackMs?: number): { promise: Promise<News>; cancel: () => void } {
    let ws = this.waiters.get(app);
    if (ws === undefined) this.waiters.set(app, (ws = new Set()));
    const set = ws;
    let timer: Timer | undefined;
    let done!: (news: News) => void;
    const promise = new Promise<News>((resolve) => {
      done = (news) => {
        set.delete(done);
        if (timer !== undefined) this.node.cancelTimer(timer);
        resolve(news);
      };
    });
    set.add(done);
    if (fallbackMs !== undefined && !this.stopping) timer = this.node.timers.schedule(fallbackMs, () => done({ kind: 'other' }), undefined);
    return { promise, cancel: () => done({ kind: 'other' }) };
  }

  private wake(app: string, news: News = { kind: 'other' }): void {
    const ws = this.waiters.get(app);
    if (ws !== undefined) for (const w of [...ws]) w(news);
  }

  // ---------------------------------------------------------------- records

  /** Wall-clock time as an ISO string, for people reading `info` (decisions never look at it). */
  private now(): string {
    return new Date().toISOString();
  }

  /** Records that `app` now runs where `info` says (a move, kept in the history). */
  private record(app: string, info: PlacementInfo, decidedWith?: readonly string[]): void {
    this.learnTakenOver(app, info);
    const before = this.placement.get(app);
    const epoch = typeof info.epoch === 'number' ? info.epoch : null;
    this.see(app, epoch);
    this.placement.set(app, { ...info, epoch });
    log('[%s] %s: record %s (%s, epoch %o)', this.node.name, app, info.node, info.cause ?? 'start', epoch);
    if (before?.node === info.node && before.since === info.since && before.epoch === epoch) return;
    this.remember(app, { node: info.node, startType: info.startType, cause: info.cause ?? 'start', at: this.now(), previous: info.previous ?? before?.node ?? null, epoch, ...(decidedWith !== undefined ? { decidedWith } : {}) });
  }

  /**
   * Remembers, from a takeover's record, which instance it replaced: its node, that node's
   * incarnation and the instance's epoch (`replaced`, `replacedCreation`). A node that missed
   * the takeover (frozen, cut off) still runs that instance when it comes back, though its
   * state went to the new one; it is told to stop it (`supersede`). OTP's old node stops on
   * the new node's `dist_ac_app_started`; one that missed it runs on (OTP never reconciles).
   * No OTP counterpart. Bounded: one entry per application and node.
   */
  private learnTakenOver(app: string, info: PlacementInfo): void {
    const old = takeoverSource(info.startType);
    if (old === undefined || old === this.node.name || typeof info.replaced !== 'number' || typeof info.replacedCreation !== 'number') return;
    // Only listed nodes run it: a peer's record naming any other node is not remembered (the
    // map stays bounded whatever peers send).
    if (!listedNodes(this.entries.get(app)!.nodes).includes(old)) return;
    const key = `${app} ${old}`;
    const cur = this.takenOver.get(key);
    if (cur !== undefined && cur.creation === info.replacedCreation && cur.epoch >= info.replaced) return;
    this.takenOver.set(key, { creation: info.replacedCreation, epoch: info.replaced, by: info });
  }

  /**
   * True when `node` runs an instance of `app` (epoch `epoch`) that a takeover this node
   * recorded replaced: that instance handed its state over and must not be kept, by a
   * reconcile or a decision. `node` is told to stop it (`superseded`). Apps seed 957: e, frozen
   * mid-takeover, came back running the instance whose state b had taken (b had crashed since);
   * the reconcile kept e's instance, better by priority, and it refused every increment.
   */
  private supersede(app: string, node: string, epoch: number | null | undefined): boolean {
    const t = this.takenOver.get(`${app} ${node}`);
    if (t === undefined || typeof epoch !== 'number' || epoch > t.epoch || this.node.net.creationOf(node) !== t.creation) return false;
    log('[%s] %s: %s runs the instance (epoch %d) %s took over: telling it to stop', this.node.name, app, node, epoch, t.by.node);
    genServer.cast(this.node, [DIST_AC, node], { op: 'superseded', app, epoch: t.epoch, creation: t.creation, by: t.by } satisfies Cast);
    return true;
  }

  /** A node that recorded a takeover of this node's instance (while this node was cut off) says so: stop it, report it, and let the others decide where it runs. */
  private onSuperseded(app: string, epoch: number, creation: number, by: PlacementInfo): void {
    const ac = this.node.application;
    const own = this.localEpoch.get(app);
    if (creation !== this.node.creation || ac.whereRunning(app) !== 'local' || this.startingHere.has(app) || this.leaving.has(app) || own === undefined || own > epoch) return;
    this.node.report({ kind: 'dist_ac', message: `${app} was taken over by ${by.node ?? 'another node'} (epoch ${by.epoch ?? '?'}) while this node was cut off; stopping its old instance (epoch ${own})`, application: app, code: 'superseded' });
    this.cancelFailover(app);
    this.leaving.add(app);
    this.superseding.add(app);
    this.background(
      ac
        .notRunning(app)
        .then(() => this.announceStopped(app, 'superseded'))
        .finally(() => {
          this.leaving.delete(app);
          this.superseding.delete(app);
        })
        .then(() => this.relearn(app, true)),
      `stopping the superseded instance of ${app}`,
    );
  }

  /** Records that `app` no longer runs on `node` (when that is where this node believed it ran). */
  private forget(app: string, node: string, reason?: string): void {
    const p = this.placement.get(app);
    if (p?.node !== node) return;
    this.placement.delete(app);
    log('[%s] %s: forget %s (%s)', this.node.name, app, node, reason ?? 'stopped');
    this.remember(app, { node: null, startType: null, cause: 'stopped', at: this.now(), previous: node, epoch: p.epoch ?? null, ...(reason !== undefined ? { reason } : {}) });
  }

  private remember(app: string, move: Move): void {
    let h = this.history.get(app);
    if (h === undefined) this.history.set(app, (h = []));
    h.push(move);
    if (h.length > HISTORY_LIMIT) h.splice(0, h.length - HISTORY_LIMIT);
  }

  /**
   * Whether this node should record `info` (a start announced by its node) over what it
   * knows: yes, unless it knows of another live instance on a better node that `info` did not
   * take over from (a start that raced a heal: that instance is kept, the announcer's is
   * reconciled away).
   */
  private newer(app: string, info: PlacementInfo): boolean {
    const cur = this.placement.get(app)?.node ?? null;
    if (cur === null || cur === info.node || this.replaces(app, info)) return true;
    const live = cur === this.node.name ? this.node.application.whereRunning(app) === 'local' : this.node.net.isConnected(cur);
    return !(live && better(this.entries.get(app)!.nodes, cur, info.node!));
  }

  /**
   * Whether `info`'s instance took over from the instance this node records for `app`: its
   * start type names the recorded node as the takeover's old node and, when both epochs are
   * known, its epoch is above the recorded one. A takeover mints its epoch after seeing the old
   * instance's (under the lock, or in `takeoverFrom`), so an older epoch means it took over an
   * earlier instance of that node — e.g. a node cut off since introduces the instance it took
   * from b long ago, while b has failed it over (start type `normal`, a newer epoch) meanwhile.
   * No OTP counterpart (OTP has no epochs and never hears of an instance twice).
   */
  private replaces(app: string, info: PlacementInfo): boolean {
    const cur = this.placement.get(app);
    if (cur?.node == null || cur.node !== takeoverSource(info.startType)) return false;
    return !(typeof info.epoch === 'number' && typeof cur.epoch === 'number' && info.epoch < cur.epoch);
  }

  /**
   * Learns where `app` runs from a reconcile stop that names `kept` (the instance kept), when
   * this node knows of no instance of it. `kept` is second-hand — the loser's word — and may
   * be out of date: the kept node may have yielded to a better instance since, its stop
   * announced while this node was not connected to it (an introduction that followed then
   * said it ran nothing, but this node's record named another node then). So the kept node is
   * asked first; if it runs no instance, the connected nodes are (`relearn`). OTP records only
   * first-hand news (each node announces its own start and stop, `dist_ac_app_started` /
   * `dist_ac_app_stopped`); OTP's dist_ac never reconciles, so has no second-hand news.
   */
  private async learnKept(app: string, kept: PlacementInfo): Promise<void> {
    const ac = this.node.application;
    const settled = (): boolean => this.stopping || this.placement.has(app) || ac.whereRunning(app) === 'local';
    if (settled()) return;
    const node = kept.node;
    if (node !== null && node !== this.node.name && this.node.net.isConnected(node)) {
      const v = (await this.call(node, { op: 'view', app }).catch(() => undefined)) as AppView | undefined;
      if (settled()) return;
      if (v?.running === true && this.node.net.isConnected(node)) {
        this.record(app, v.info?.node === node ? v.info : kept);
        if (this.startedHere(app) && ac.whereRunning(app) !== node) await ac.runningElsewhere(app, node, this.localStarted.get(app));
        this.wake(app);
        return;
      }
    }
    // A reconcile stopped an instance for this one: if none runs now, one must start again.
    await this.relearn(app, true);
  }

  /**
   * A record of `app` was dropped and nothing replaced it, though an instance may still run
   * (a reconcile kept one on a node this node had not recorded — e.g. it had recorded the
   * loser's stale introduction): ask the connected nodes and record the one running it, if
   * any (No OTP counterpart: OTP's dist_ac never reconciles, so never loses a record this way).
   */
  private async relearn(app: string, decideIfNone = false): Promise<void> {
    const views = await this.views(app);
    const ac = this.node.application;
    if (this.stopping || this.placement.has(app) || ac.whereRunning(app) === 'local') return;
    const runner = runnerOf(this.entries.get(app)!.nodes, views);
    if (runner === undefined) {
      // Only after a reconcile's stop (`decideIfNone`): a plain stop or a crash of the running
      // instance is not failed over (OTP).
      if (!decideIfNone) return;
      // Nothing runs it among the nodes this one reaches, and none is deciding or starting it:
      // every instance this node heard of stopped for another that no longer runs — a
      // reconcile's yield to a stale record crossing a `permit false` move (seed 107: d yielded
      // to b, which had just handed it to a; a yielded to d). Decide again, as a failover does
      // (its lock and `wait` make one node start it). No OTP counterpart (OTP never reconciles).
      const rt = this.localStarted.get(app);
      const quiet = ![...views.values()].some((v) => v.busy === true || v.leaving === true);
      if (rt !== undefined && quiet && !this.active.has(app) && !this.failovers.has(app) && !this.startingHere.has(app)) {
        log('[%s] %s: runs nowhere this node reaches: deciding again', this.node.name, app);
        this.background(this.decideLoop(app, 'failover', rt), `deciding where ${app} runs`);
      }
      return;
    }
    if (runner === this.node.name || !this.node.net.isConnected(runner)) return;
    const own = views.get(runner)!.info;
    this.record(app, own?.node === runner ? own : { application: app, node: runner, startType: null, since: null, previous: null, cause: null, epoch: null });
    if (this.startedHere(app) && ac.whereRunning(app) !== runner) await ac.runningElsewhere(app, runner, this.localStarted.get(app));
    this.wake(app);
  }

  /**
   * `application.start` was called here for `app`, as dist-ac or the application controller
   * knows it: the controller's record of where it runs must then follow every record made
   * here (apps seed 1194: c's controller had it started, dist-ac's start had not run since c
   * restarted, and a learnt placement left the controller saying it ran nowhere).
   */
  private startedHere(app: string): boolean {
    return this.localStarted.has(app) || this.node.application.isStarted(app);
  }

  /** The local instance stopped (or never got going): forget it here and tell every node (OTP's `dist_ac_app_stopped`). */
  private announceStopped(app: string, reason?: string): void {
    this.forget(app, this.node.name, reason);
    this.broadcast({ op: 'stopped', app, node: this.node.name });
    this.wake(app);
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
        if (known?.node !== me) this.record(app, { application: app, node: me, startType: ac.startTypeOf(app) ?? null, since: null, previous: known?.node ?? null, cause: null, epoch: this.localEpoch.get(app) ?? null });
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
    if (req.op === 'handedOver') this.see(req.app, req.info.epoch);
    if (req.op === 'takeoverFrom') this.see(req.app, req.epoch);
    switch (req.op) {
      case 'view':
        return this.view(req.app);
      case 'hello':
        this.onHello(req.from, req.running, req.signatures);
        return this.helloPayload();
      case 'handedOver': {
        // The new instance is fully started elsewhere: stop ours, then answer.
        this.cancelFailover(req.app);
        if (!this.newer(req.app, req.info)) {
          // A reconcile meanwhile kept a better live instance (this node yielded to it while the
          // takeover from it was under way): keep that record, the new instance is the one
          // reconciled away. Recording it would leave this node naming nothing once it stops.
          this.tellToYield(req.info.node!, req.app);
          this.wake(req.app);
          return 'ok';
        }
        this.record(req.app, req.info);
        const ac = this.node.application;
        const ran = ac.whereRunning(req.app) === 'local';
        if (this.startedHere(req.app) || ran) await ac.runningElsewhere(req.app, req.info.node!, this.localStarted.get(req.app));
        // Nodes the new node's `started` missed (not connected to it then) hear it from here —
        // unless it has stopped meanwhile (its `stopped` came while ours stopped): then only
        // that ours stopped, for nodes still naming this one (apps seed 1052 after 1797's fix:
        // c handed slow to e, e yielded to b during c's 200 ms prepStop, and a kept naming c).
        if (ran) this.broadcast(this.placement.get(req.app)?.node === req.info.node ? { op: 'stopped', app: req.app, node: this.node.name, kept: req.info } : { op: 'stopped', app: req.app, node: this.node.name }, req.info.node!);
        this.wake(req.app);
        return 'ok';
      }
      case 'promise':
        // Paxos phase 1: store an epoch above every one seen; refuse (naming the highest) otherwise.
        if (req.epoch > this.maxEpochOf(req.app)) {
          this.raiseEpoch(req.app, req.epoch);
          return 'ok';
        }
        return { max: this.maxEpochOf(req.app) };
      case 'takeoverFrom': {
        const rt = this.localStarted.get(req.app);
        if (rt === undefined) return { error: 'not_started' };
        return this.startHere(req.app, { takeover: req.from }, rt, req.cause, req.from, req.from, req.own ?? null, undefined);
      }
    }
  }

  /** @internal */
  handleCast(msg: Cast): void {
    const me = this.node.name;
    const ac = this.node.application;
    const { app } = msg;
    if (!this.entries.has(app)) return;
    if (msg.op === 'started' || msg.op === 'keep') this.see(app, msg.info.epoch);
    if (msg.op === 'stopped') this.see(app, msg.kept?.epoch);
    switch (msg.op) {
      case 'started': {
        const { info } = msg;
        if (info.node === null || info.node === me) return;
        const seen = this.startingHere.get(app);
        if (seen !== undefined) {
          // Ours is starting too: settled once it has (startHere introduces us to them).
          seen.add(info.node);
          return;
        }
        const mine = ac.whereRunning(app) === 'local';
        if (mine && takeoverSource(info.startType) !== me) {
          // Two instances (a start that raced a heal): the introductions settle which is kept.
          this.background(this.hello(info.node), `introducing this node to ${info.node}`);
          return;
        }
        if (!this.newer(app, info)) {
          this.background(this.keepOrLearn(app, info), `checking where ${app} runs`);
          return;
        }
        this.cancelFailover(app);
        this.displace(app, info);
        this.record(app, info);
        // The old instance (if it runs here) stops now that the new one is fully started.
        if (this.startedHere(app) || mine) this.background(ac.runningElsewhere(app, info.node, this.localStarted.get(app)), `stopping the local instance of ${app}`);
        this.wake(app);
        return;
      }
      case 'stopped': {
        this.newsOf.set(`${msg.node} ${app}`, (this.newsOf.get(`${msg.node} ${app}`) ?? 0) + 1);
        const dropped = this.placement.get(app)?.node === msg.node;
        this.forget(app, msg.node);
        if (ac.whereRunning(app) === msg.node) this.background(ac.notRunning(app), `recording that ${app} runs nowhere`);
        // A reconcile stop names the instance kept: a node that had recorded the loser (e.g.
        // from the loser's introduction after a heal) learns where it runs instead of nothing.
        if (msg.kept !== undefined) this.background(this.learnKept(app, msg.kept), `asking where ${app} runs`);
        // Another instance may still run, not reconciled yet (a node cut off from the one that
        // stopped: seed 147): ask the connected nodes rather than record nothing.
        else if (dropped) this.background(this.relearn(app), `asking where ${app} runs`);
        this.wake(app);
        return;
      }
      case 'failed':
        this.wake(app, { kind: 'failed', node: msg.node });
        return;
      case 'decided':
        this.wake(app);
        return;
      case 'keep':
        this.background(this.onKeep(app, msg.info), `checking that ${msg.info.node ?? 'no node'} runs ${app}`);
        return;
      case 'superseded':
        this.onSuperseded(app, msg.epoch, msg.creation, msg.by);
        return;
      case 'decide': {
        // A node waits on this one: decide, unless something here will act anyway.
        const rt = this.localStarted.get(app);
        if (rt === undefined || this.active.has(app) || this.failovers.has(app) || this.startingHere.has(app) || this.stopping) return;
        this.background(this.decideLoop(app, 'failover', rt), `deciding where ${app} runs`);
        return;
      }
    }
  }

  // ---------------------------------------------------------------- node events: failover, introductions

  private onNodeEvent(e: NodeEvent): void {
    if (e.hidden || this.stopping) return;
    if (this.checkTimer !== undefined) this.resumeCheck();
    if (e.type === 'nodeup') {
      this.upSince.set(e.node, this.node.clock.now());
      this.lost.delete(e.node);
    } else {
      // With a quorum, no fresh instance until a lost node must have stopped its own (`holdOf`).
      // A goodbye-less close of a connection up for less than min(tickTime / 4, 50 ms) is no
      // proof of a death: a link that flaps (dropped by `global` as its handshake ends) may
      // close before the goodbye can be sent — counted as silent.
      const now = this.node.clock.now();
      const young = now - (this.upSince.get(e.node) ?? now) < Math.min(this.tickTime() / 4, 50);
      this.upSince.delete(e.node);
      for (const app of this.entries.keys()) this.newsOf.set(`${e.node} ${app}`, (this.newsOf.get(`${e.node} ${app}`) ?? 0) + 1);
      this.lost.set(e.node, { at: now, how: e.lost === 'died' && young ? 'silent' : e.lost });
    }
    if (e.type === 'nodeup') {
      this.background(this.hello(e.node), `introducing this node to ${e.node}`);
      for (const app of this.entries.keys()) this.wake(app);
      for (const app of this.entries.keys()) this.check(app);
      return;
    }
    this.retireHolders();
    const dead = e.node;
    const ac = this.node.application;
    for (const [app, entry] of this.entries) {
      // Decisions waiting on the dead node decide again (OTP's monitor_node in
      // wait_dist_start); woken before a failover is armed below, which listens for news too
      // and would otherwise wake itself at once and ask every node for its views twice (on a
      // 2-core machine the round the survivors spend on that delays the failover's lock).
      this.wake(app);
      const ran = this.placement.get(app)?.node === dead || ac.whereRunning(app) === dead;
      if (ran) {
        this.forget(app, dead);
        if (this.startedHere(app) && ac.whereRunning(app) === dead) this.background(ac.notRunning(app), `recording that ${app} runs nowhere`);
        if (this.localStarted.has(app) && ac.isPermitted(app)) this.armFailover(app, entry, dead);
        // A node that takes no part in the failover still keeps its record current: another
        // instance may run on a node it reaches (apps seed 1095: d, not permitted, dropped its
        // record of c at c's nodedown while a — which c's reconcile never reached — ran slow).
        else this.background(this.relearn(app), `asking where ${app} runs`);
      }
      this.check(app);
    }
  }

  /** Fails `app` over after its timeout (spec §g.4; OTP's `restart_appls`). */
  private armFailover(app: string, entry: DistributedEntry, dead: string): void {
    // (With a quorum the decision also waits until the dead node must have stopped its
    // instance: `holdOf`, from every node's views.)
    const timeout = entry.timeout ?? 0;
    if (timeout === Infinity) return;
    this.cancelFailover(app);
    const go = (): void => {
      const rt = this.localStarted.get(app);
      if (rt !== undefined) this.background(this.decideLoop(app, 'failover', rt, dead), `failing ${app} over from ${dead}`);
    };
    if (timeout === 0) return go();
    const timer = this.node.timers.schedule(timeout, () => {
      this.failovers.delete(app);
      go();
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
    const me = this.node.name;
    const ac = this.node.application;
    for (const app of this.entries.keys()) {
      if (ac.whereRunning(app) !== 'local') continue;
      const p = this.placement.get(app);
      running.push([app, p?.node === me ? p : { application: app, node: me, startType: ac.startTypeOf(app) ?? null, since: null, previous: p?.node ?? null, cause: null, epoch: this.localEpoch.get(app) ?? null, replaced: this.localReplaced.get(app) ?? null, replacedCreation: this.localReplacedCreation.get(app) ?? null }]);
    }
    return { from: this.node.name, running, signatures: [...this.entries].map(([a, e]) => [a, entrySignature(e)]) };
  }

  /**
   * Learns what `peer` runs. An application running on both sides (a healed partition) is
   * reconciled: the better node by priority keeps it, the other stops its instance and says
   * so. A record naming `peer` for an application it does not run is dropped; one naming a
   * better live node is kept over `peer`'s (a losing side's view never overwrites it).
   */
  private onHello(peer: string, running: Array<[string, PlacementInfo]>, signatures: Array<[string, string]>): void {
    for (const [app, sig] of signatures) {
      const mine = this.entries.get(app);
      if (mine !== undefined && entrySignature(mine) !== sig) this.mismatch(app, peer);
    }
    const me = this.node.name;
    const ac = this.node.application;
    const theirs = new Map(running.filter(([app]) => this.entries.has(app)));
    for (const [app, info] of theirs) this.see(app, info.epoch);
    for (const [app, entry] of this.entries) {
      const info = theirs.get(app);
      if (info === undefined || info.node !== peer) {
        // `peer` does not run it: a record saying so is stale.
        const stale = this.placement.get(app);
        if (stale?.node === peer) {
          this.forget(app, peer);
          if (ac.whereRunning(app) === peer) this.background(ac.notRunning(app), `recording that ${app} runs nowhere`);
          this.wake(app);
          // A record a reconcile made (this node, or the one that told it, yielded to `peer`'s
          // instance) that `peer` no longer runs: that instance went — `peer` restarted, say,
          // its nodedown unseen here — and if nothing runs now one must start again, as after a
          // nodedown. Apps seed 1686: a, frozen, thawed to a queued `keep` naming d, yielded to
          // it; d had restarted meanwhile, and a, the only candidate, never started grp again.
          this.background(this.relearn(app, stale.cause === 'reconcile'), `asking where ${app} runs`);
        }
        continue;
      }
      if (this.supersede(app, peer, info.epoch)) continue;
      const seen = this.startingHere.get(app);
      if (seen !== undefined) {
        seen.add(peer);
        continue;
      }
      this.cancelFailover(app);
      if (ac.whereRunning(app) === 'local') {
        // A takeover whose old node was cut off before `handedOver` (and `started`) reached it:
        // the newer instance (higher epoch) took over from the older one — its state included —
        // so the old one stops, whichever node is better. OTP's old node stops its instance
        // when the new node's `dist_ac_app_started` arrives; rigil hears it again from the
        // introduction. The priority rule would keep the old instance and lose what the new
        // one acknowledged since (I5, seed 64).
        // Only a takeover of *this* instance counts: `replaced` (when known) must be its epoch.
        // A takeover of an earlier instance of this node (before a restart: seed 82, e took ctr
        // over from d's previous incarnation; d, restarted alone, started a fresh instance with
        // a lower epoch) says nothing about this one: the priority rule below settles it, as a
        // reconcile (reported), not as a silent handover of a state that was never handed over.
        // The epoch is not enough across a restart: d, restarted alone, minted its fresh
        // instance the epoch its previous incarnation's had (seed 1081); `replacedCreation`
        // (the old node's incarnation when taken from) must be this node's too.
        const own = this.localEpoch.get(app);
        const epochs = typeof info.epoch === 'number' && own !== undefined;
        const mineReplaced = this.localReplaced.get(app);
        const mineReplacedCreation = this.localReplacedCreation.get(app);
        const ofThisIncarnation = info.replacedCreation == null || info.replacedCreation === this.node.creation;
        if (epochs && takeoverSource(info.startType) === me && info.epoch > own && (info.replaced == null || info.replaced === own) && ofThisIncarnation) {
          this.background(this.handleRequest({ op: 'handedOver', app, info }), `stopping the local instance of ${app}`);
          continue;
        }
        if (epochs && takeoverSource(ac.startTypeOf(app) ?? null) === peer && own > info.epoch && (mineReplaced == null || mineReplaced === info.epoch) && (mineReplacedCreation == null || mineReplacedCreation === this.node.net.creationOf(peer))) continue;
        if (better(entry.nodes, peer, me)) this.background(this.confirmAndYield(app, info, 'after a partition'), `settling who keeps ${app}`);
        continue;
      }
      const cur = this.placement.get(app);
      if (cur?.node != null && cur.node !== peer && cur.node !== me && movedFrom(cur.startType) === peer && this.node.net.isConnected(cur.node)) {
        // The instance this node knows of replaced `peer`'s (a failover or takeover from it),
        // yet `peer` introduces itself as running it: either `peer`'s is the older instance (it
        // was cut off meanwhile; both run and the reconcile settles it), or `peer` took it back
        // since and the known one has stopped. Ask the known node which.
        log('[%s] %s: %s introduces itself running it; asking %s', me, app, peer, cur.node);
        this.background(this.checkIntroduction(app, cur.node, info), `checking where ${app} runs`);
        continue;
      }
      if (!this.newer(app, info)) {
        log('[%s] %s: %s introduces itself running it; %s is better: checking it still runs it', me, app, peer, this.placement.get(app)?.node);
        this.background(this.keepOrLearn(app, info), `checking where ${app} runs`);
        continue;
      }
      this.displace(app, info);
      // Both nodes introduce themselves after a heal: keep what is known already (e.g. a reconcile).
      if (this.placement.get(app)?.node !== peer) this.record(app, info);
      if (this.startedHere(app) && ac.whereRunning(app) !== peer) this.background(ac.runningElsewhere(app, peer, this.localStarted.get(app)), `recording that ${app} runs on ${peer}`);
      this.wake(app);
    }
  }

  /**
   * A node that reaches both says `info.node` runs `app` too and is better (`keep`): stop ours
   * (`confirmAndYield`). A `keep` is second-hand, the sender's record, which may lag: seed 94,
   * b yielded `slow` to c while c gave it to e (`permit false`); a node still naming b told e
   * to keep b's instance, e stopped, and `slow` ran nowhere. A node this one does not reach
   * cannot be asked (overlapping partitions, what `keep` is for): the sender is trusted then.
   * No OTP counterpart (OTP's dist_ac never reconciles).
   */
  private onKeep(app: string, info: PlacementInfo): Promise<void> {
    return this.confirmAndYield(app, info, `a node that reaches both says ${info.node} runs it too`);
  }

  /**
   * The reconcile's losing side: stops the local instance of `app` for `info.node`'s — better
   * by priority — once `info.node` confirms, when this node reaches it, that it still runs it
   * and is not giving it up (`leaving`). What named it (an introduction sent at nodeup, a `keep`) may be
   * out of date: that node may be yielding to a third instance or giving it up (`permit
   * false`). Apps seed 1052: at a heal b yielded `slow` to c on c's introduction while c was
   * handing it to d (permit false), and d yielded to b: three instances, each stopped for
   * another, and `slow` ran nowhere. Yielding only to a node that still runs it and is
   * permitted keeps the pairwise decisions from forming such a cycle.
   */
  private async confirmAndYield(app: string, info: PlacementInfo, why: string): Promise<void> {
    const me = this.node.name;
    const other = info.node;
    const applies = (): boolean => other !== null && other !== me && this.node.application.whereRunning(app) === 'local' && !this.startingHere.has(app) && better(this.entries.get(app)!.nodes, other, me);
    if (!applies()) return;
    if (this.node.net.isConnected(other!)) {
      const v = (await this.call(other!, { op: 'view', app }).catch(() => undefined)) as AppView | undefined;
      if (v?.running !== true || v.leaving === true || !applies() || this.supersede(app, other!, v.own)) {
        log('[%s] %s: not yielding to %s (%s): running %o, leaving %o', me, app, other, why, v?.running, v?.leaving);
        return;
      }
    }
    this.yieldTo(app, info, why);
  }

  /** The reconcile on the losing node: keep `info.node`'s instance, stop ours the orderly way and say so. */
  private yieldTo(app: string, info: PlacementInfo, why: string): void {
    const me = this.node.name;
    const ac = this.node.application;
    this.cancelFailover(app);
    this.node.report({ kind: 'dist_ac', message: `${app} ran on both ${me} and ${info.node} (${why}); keeping ${info.node}'s instance`, application: app, code: 'reconcile' });
    this.record(app, { ...info, cause: 'reconcile' });
    this.leaving.add(app);
    this.background(
      ac
        .runningElsewhere(app, info.node!, this.localStarted.get(app))
        // The kept node hears it too: it may have yielded itself meanwhile (seed 1797: e yielded
        // to a while a yielded to b, and a then recorded e — a never heard that e stopped).
        .then(() => this.broadcast({ op: 'stopped', app, node: me, kept: { ...info, cause: 'reconcile' } }))
        .finally(() => this.leaving.delete(app)),
      `stopping the local instance of ${app}`,
    );
  }

  /**
   * `worse` runs `app`, but this node knows a live instance on a better node: tell `worse` to
   * stop its own. With overlapping partitions (A–B cut, C reaching both) A and B never meet;
   * C, which hears of both, settles it (No OTP counterpart: OTP's dist_ac never reconciles).
   */
  private tellToYield(worse: string, app: string): void {
    const kept = this.placement.get(app);
    if (kept?.node != null && kept.node !== worse) genServer.cast(this.node, [DIST_AC, worse], { op: 'keep', app, info: kept } satisfies Cast);
  }

  /**
   * `peerInfo` (an introduction) names an instance that `known`'s replaced: record it unless
   * `known` still runs its instance and that one is the one a reconcile keeps.
   */
  private async checkIntroduction(app: string, known: string, peerInfo: PlacementInfo): Promise<void> {
    const peer = peerInfo.node!;
    const news = this.newsOf.get(`${peer} ${app}`) ?? 0;
    const v = (await this.call(known, { op: 'view', app }).catch(() => undefined)) as AppView | undefined;
    const ac = this.node.application;
    // `peer` announced a stop (or went down) while `known` was asked: its introduction is
    // older than that news and must not be applied after it. OTP's dist_ac handles each node's
    // messages in order, so a node's later `dist_ac_app_stopped` always supersedes what it said
    // before; this asynchronous check must not reorder them (e.g. a takeover's old node
    // introduced itself, then stopped its instance once handed over: recording the
    // introduction then named a node running nothing, for good).
    if ((this.newsOf.get(`${peer} ${app}`) ?? 0) !== news) return;
    // The record naming `known` may have been dropped meanwhile (`known` stopped its instance,
    // e.g. yielding to a node this one does not reach yet): `peer`'s introduction is then all
    // this node has to go on. Another record (or a local instance) since: that one stands.
    const cur = this.placement.get(app)?.node;
    if ((cur !== undefined && cur !== known) || ac.whereRunning(app) === 'local' || !this.node.net.isConnected(peer)) return;
    if (v?.running === true && better(this.entries.get(app)!.nodes, known, peer)) {
      // Both run it and this node reaches both (they may not reach each other: seed 147, b
      // and c cut apart, d between them): the worse one yields, as in `onHello`.
      this.tellToYield(peer, app);
      return;
    }
    this.record(app, peerInfo);
    if (this.startedHere(app) && ac.whereRunning(app) !== peer) await ac.runningElsewhere(app, peer, this.localStarted.get(app));
    this.wake(app);
  }

  /**
   * `info` (a start or an introduction) names an instance on a worse node than the one this
   * node records: the recorded node is asked first. Still running it (and not giving it up),
   * `info`'s node is told to yield (`keep`); not running it, the record was stale — e.g. learnt
   * from an old introduction of a node that has stopped since — and `info` is recorded (apps
   * seed 1222: e kept naming c, which ran nothing, and ignored b's takeover for good).
   */
  private async keepOrLearn(app: string, info: PlacementInfo): Promise<void> {
    const peer = info.node!;
    const known = this.placement.get(app)?.node;
    if (known == null || known === peer) return;
    const news = this.newsOf.get(`${peer} ${app}`) ?? 0;
    const v = known === this.node.name ? this.view(app) : ((await this.call(known, { op: 'view', app }).catch(() => undefined)) as AppView | undefined);
    if ((this.newsOf.get(`${peer} ${app}`) ?? 0) !== news || this.placement.get(app)?.node !== known) return;
    if (v?.running === true && v.leaving !== true) {
      this.tellToYield(peer, app);
      return;
    }
    const ac = this.node.application;
    if (ac.whereRunning(app) === 'local' || !this.node.net.isConnected(peer)) return;
    log('[%s] %s: %s runs nothing: recording %s', this.node.name, app, known, peer);
    this.record(app, info);
    if (this.startedHere(app) && ac.whereRunning(app) !== peer) await ac.runningElsewhere(app, peer, this.localStarted.get(app));
    this.wake(app);
  }

  /** `info` replaces this node's record of `app`: a live node the record named, that `info` did not take over from, runs a worse instance — tell it. */
  private displace(app: string, info: PlacementInfo): void {
    const cur = this.placement.get(app)?.node;
    if (cur == null || cur === info.node || cur === this.node.name || this.replaces(app, info) || !this.node.net.isConnected(cur)) return;
    genServer.cast(this.node, [DIST_AC, cur], { op: 'keep', app, info } satisfies Cast);
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

  /** Calls `peer`'s dist_ac; no timeout: a slow peer is waited for, a call to a node that goes down ends with its nodedown. */
  private call(peer: string, req: Request): Promise<unknown> {
    return genServer.call(this.node, [DIST_AC, peer], req, Infinity);
  }

  private broadcast(msg: Cast, except?: string): void {
    for (const n of this.node.nodes()) if (n !== except) genServer.cast(this.node, [DIST_AC, n], msg);
  }
}

/** A lock holder process (`DistAc.trans`) and the number of decisions using it. */
interface Holder {
  readonly pid: Pid;
  users: number;
}

function isWait(x: unknown): x is Wait {
  return typeof x === 'object' && x !== null && typeof (x as Wait).wait === 'string';
}

/**
 * True when a picked node must be asked to decide: it started the application (so it takes
 * part) and nothing of its own will make it act — no decision under way, no failover armed.
 */
function kickable(v: AppView): boolean {
  return v.started && v.busy !== true;
}

/** The node an instance with start type `t` replaced (a takeover's old node, a failover's dead node), if any. */
function movedFrom(t: StartType | null): string | undefined {
  if (typeof t !== 'object' || t === null) return undefined;
  return 'takeover' in t ? t.takeover : t.failover;
}

/** The node a takeover start type takes over from, if it is one. */
function takeoverSource(t: StartType | null): string | undefined {
  return typeof t === 'object' && t !== null && 'takeover' in t ? t.takeover : undefined;
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

/** The pid a `distAcResolver` keeps: the one on the node the reconcile keeps. */
function keeper(nodes: NodeList, p1: Pid, p2: Pid): Pid {
  return better(nodes, p2.node, p1.node) ? p2 : p1;
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
const isEpoch = (x: unknown): boolean => x === undefined || x === null || (typeof x === 'number' && Number.isSafeInteger(x) && x > 0);
const isCreation = (x: unknown): boolean => x === undefined || x === null || (typeof x === 'number' && Number.isSafeInteger(x) && x >= 0);
const isInfo = (x: unknown): x is PlacementInfo =>
  typeof x === 'object' &&
  x !== null &&
  isString((x as PlacementInfo).application) &&
  ((x as PlacementInfo).node === null || isString((x as PlacementInfo).node)) &&
  isEpoch((x as PlacementInfo).epoch) &&
  isEpoch((x as PlacementInfo).replaced) &&
  isCreation((x as PlacementInfo).replacedCreation);
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
      return isString(r.app) && isString(r.from) && isString(r.cause)
        ? { op: 'takeoverFrom', app: r.app, from: r.from, cause: r.cause as MoveCause, epoch: typeof r.epoch === 'number' ? r.epoch : 0, ...(typeof r.own === 'number' && Number.isSafeInteger(r.own) ? { own: r.own } : {}) }
        : undefined;
    case 'handedOver':
      return isString(r.app) && isInfo(r.info) && r.info.node !== null ? { op: 'handedOver', app: r.app, info: r.info } : undefined;
    case 'promise':
      return isString(r.app) && typeof r.epoch === 'number' && Number.isSafeInteger(r.epoch) && r.epoch > 0 ? { op: 'promise', app: r.app, epoch: r.epoch } : undefined;
    default:
      return undefined;
  }
}

/** The cast, if `x` is a well-formed one; undefined otherwise. */
function parseCast(x: unknown): Cast | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const m = x as Record<string, unknown>;
  if (!isString(m.app)) return undefined;
  switch (m.op) {
    case 'started':
      return isInfo(m.info) ? { op: 'started', app: m.app, info: m.info } : undefined;
    case 'stopped':
      if (!isString(m.node)) return undefined;
      if (m.kept === undefined) return { op: 'stopped', app: m.app, node: m.node };
      return isInfo(m.kept) ? { op: 'stopped', app: m.app, node: m.node, kept: m.kept } : undefined;
    case 'failed':
      return isString(m.node) ? { op: m.op, app: m.app, node: m.node } : undefined;
    case 'decided':
    case 'decide':
      return { op: m.op, app: m.app };
    case 'keep':
      return isInfo(m.info) ? { op: 'keep', app: m.app, info: m.info } : undefined;
    case 'superseded':
      return Number.isSafeInteger(m.epoch) && isCreation(m.creation) && m.creation !== null && m.creation !== undefined && isInfo(m.by)
        ? { op: 'superseded', app: m.app, epoch: m.epoch as number, creation: m.creation as number, by: m.by }
        : undefined;
    default:
      return undefined;
  }
}

/** A short, printable description of a bad input for a report: bounded and escaped, never the whole term. */
function describe(x: unknown): string {
  return renderUntrusted(x, { maxLength: 120, maxDepth: 2 });
}

/** Whether a start attempt failed for want of a quorum (`{ error: { noQuorum: app } }`). */
function isNoQuorum(r: AppResult): boolean {
  return typeof r === 'object' && typeof r.error === 'object' && r.error !== null && 'noQuorum' in r.error;
}
