/**
 * `global`: the cluster-wide name registry and locks (OTP's `global`). Semantics: spec §f.
 *
 * **Names.** Every visible node runs a name server (`global_name_server`) holding a full
 * replica of the names, so `whereis` is a local lookup. A registration takes the `global` lock
 * on this node and every node `global` knows (OTP's `trans_all_known`: after the lock is set it
 * checks that no node became known meanwhile, else it lets go and tries again), checks the
 * replica, and inserts the name on every one of them before it returns: two nodes racing for
 * one name never both win, and a registration that waited for the lock reaches a node that
 * joined meanwhile. rigil's registrar departs from OTP's in its rounds (see `change`): the
 * registrations queued on a node share one lock, and the second round both applies them on
 * each node and releases the lock there (`apply`) — two rounds of calls per batch, where OTP
 * makes three per registration — and a lock's holder keeps its monitor on each node between
 * locks (`grant`). A name disappears everywhere when its process dies or its node goes down:
 * the node where a named pid lives watches it (one exit observer for all its named pids, `watchLocal`) and, when it dies,
 * tells the name server of every connected visible node (`pidDown`); the other nodes set no
 * monitor on remote pids, and drop the names of a node's pids at its nodedown. A name that
 * reached a node other than straight from its pid's node (a third node's registration, a
 * merge, a re-sync) is *unconfirmed* there until the pid's node answers a liveness check
 * (`alive`), which makes that node watch the pid too. rigil departs from OTP here: OTP's
 * `global` monitors every registered pid from every node (`insert_global_name`), which costs a
 * remote monitor per name per node — on the pid's node one per other node — and a monitor
 * message per registration per node; see `insert`.
 *
 * **Known nodes and merges.** As in OTP, `global` keeps the set of nodes it has synced names
 * with (`known`, OTP's `known`): this node's partition. When a visible node comes up that is
 * not known, the two partitions merge once (OTP's `init_connect` … `exchange` … `resolved` …
 * `new_nodes`), driven by the node with the smaller name of the connecting pair (the boss):
 * each side locks its own partition with one shared lock id (OTP's two lockers), the boss
 * fetches the names of every locked node of both sides (OTP exchanges one node's per side; see
 * `exchangeNames`), resolves each clash once — with its own side's resolver, run where its
 * side's pid lives (OTP's `exchange_names` on `node() < Node`) — and each side applies the
 * outcome to every node of its partition, bringing each to the merged table, and learns the
 * other partition's nodes (OTP's `new_nodes`). A name whose pid is on a node the merge made
 * known is checked once the first connection to it is up (OTP's monitor auto-connects). The other nodes of both partitions see the nodeups between them too,
 * but they already know each other then: no second exchange, no second resolution. A failed
 * attempt is retried with back-off while the peer stays connected; the other side asks the boss
 * to sync if it has not after a while (rigil runs the exchange from the boss only, with the
 * other side answering; OTP runs it symmetrically — the effect is the same).
 *
 * **Overlapping partitions** (OTP 25+'s `prevent_overlapping_partitions`, on by default): a
 * node that loses a known node tells every node it is connected to (`lost_connection`), each
 * passes it on once, and every receiver connected to the lost node disconnects from it (the
 * lost node itself disconnects from the reporter), so the cluster splits into fully connected
 * partitions; a node dropped that way is forgotten first, so its nodedown is not reported
 * again. Reconnect for life then redials: rigil remembers each lost pair until either end
 * reports it connected again, and a node that comes up while this node is connected to the
 * other end of a remembered lost pair is disconnected at once (re-applied at every reconnect).
 * A merge that makes a node know one it cannot reach re-reports the loss (OTP does the same
 * from its lost-connection records). Hidden nodes never take part: a hidden node runs no merge
 * and registers its names on itself only (OTP's `global` ignores hidden connections).
 *
 * The name server is a child of the node's `kernel_sup`. The replica lives in the `Global`
 * object, but a crash may have left it half-updated and the inserts and deletes peers sent
 * while the server was down are lost; so every incarnation of the server re-syncs the names
 * with every known node under the `global` lock (OTP's `global` does a full sync with every
 * node when it starts). A malformed request is answered with `{ error: 'bad_request' }` (a call)
 * or dropped with a report (a cast, a stray message); it never stops the server.
 *
 * **Waiting.** Requests between name servers have no timeout (OTP's `multi_call` waits for
 * each node): a slow node is waited for; only its nodedown ends the wait. They are ordinary
 * `gen_server` calls on the wire, but a node keeps one monitor on each peer's name server for
 * all of them instead of one per call (`peerCall`).
 *
 * **Versions.** The `apply` request is new (issue 18): a name server of an earlier rigil
 * answers it `bad_request`, so every node of a cluster must run this version or a later one.
 */
import { genServer, logger, Pid, type GenServerBehaviour, type GlobalName, type GlobalNames, type Node, type Process, type Protocol, type Random, type Ref, type ServerPid } from '@rigil/core';
import { DistError, describeBadInput as describe, distError } from './errors.js';
import { renderUntrusted } from './render.js';
import type { NodeEvent } from './net_kernel.js';
import type { Rpc } from './rpc.js';

/** The registered name of the name server on every node. */
export const GLOBAL_NAME_SERVER = 'global_name_server';

/** `rigil:global`: every change of a replica's name table, and why (off unless DEBUG enables it). */
const nameLog = logger('global');

/** Lock resource reserved for `global`'s own registrations (OTP's `global`). */
export const GLOBAL_LOCK = 'global';

/** A lock id (OTP's `{ResourceId, LockRequesterId}`). */
export type LockId = readonly [resource: unknown, requester: unknown];

/**
 * What `global` needs of its node (a `DistNode` is one): the core node, its connected peers,
 * node events, and rpc to run a resolver where its pid lives. Declared here so that `global`
 * does not import the node class that owns it.
 */
export type GlobalHost = Node & {
  /** Connected visible nodes. */
  nodes(): string[];
  /** Connects to `node`; true once connected. */
  connect(node: string): Promise<boolean>;
  /** Drops the connection to `node`. */
  disconnect(node: string): boolean;
  /** Subscribes to nodeup/nodedown; returns an unsubscribe function. */
  onNodeEvent(fn: (e: NodeEvent) => void): () => void;
  /** The net kernel: whether a node is connected, and whether this node is hidden. */
  readonly net: { isConnected(node: string): boolean; readonly options: { readonly hidden: boolean } };
  /** The node's rpc service (resolvers run where their pid lives). */
  readonly rpc: Rpc;
};

/**
 * A name-clash resolver (OTP's `Resolve(Name, Pid1, Pid2)`): returns the pid that keeps the
 * name, or anything else (e.g. `undefined`, OTP's `none`) to unregister it; a resolver that
 * throws unregisters it too (OTP catches it the same way). `node` is the node it runs on.
 */
export type Resolver = (name: string, pid1: Pid, pid2: Pid, node: GlobalHost) => Pid | undefined | Promise<Pid | undefined>;

/** Message a pid gets from `randomNotifyName` / `notifyAllName`. */
export interface NameConflict {
  readonly tag: 'global_name_conflict';
  readonly name: string;
  /** The other pid (`notifyAllName` only). */
  readonly other?: Pid;
}

/**
 * One name in the replica: kept small (three fields; the resolver's and the pid's node's
 * strings are shared by every entry, see `intern`), as a replica holds every name of the cluster.
 */
interface NameEntry {
  readonly pid: Pid;
  /**
   * The resolver to use on a clash: a name registered on the nodes that may resolve (built-ins
   * are everywhere), or `fn:<node>` for a function passed to `register` on that node.
   */
  resolver: string;
  /**
   * True when this node knows the pid's node will tell it of the pid's death (`pidDown`): the
   * pid is local, or the name came straight from the pid's node over the current connection, or
   * that node answered a liveness check (`alive`) saying the pid lives. False while a check is
   * due (see `insert`).
   */
  confirmed: boolean;
}

/** One lock held on this node. */
interface LockEntry {
  /** Key of the requester id that holds it. */
  readonly requester: string;
  /** The processes holding it (same requester), by printed pid (their monitors: `Global.holderMons`). */
  readonly holders: Map<string, Pid>;
}

/** A name operation of a merge: insert `[name, pid, resolver]`, or delete `[name, null, '']`. */
type NameOp = [name: string, pid: Pid | null, resolver: string];

/** Requests between name servers. */
type GlobalRequest =
  | { op: 'lock'; resource: unknown; requester: unknown; holder: Pid }
  | { op: 'unlock'; resource: unknown; requester: unknown; holder: Pid }
  | { op: 'insert'; name: string; pid: Pid; resolver: string }
  | { op: 'delete'; name: string; pid?: Pid }
  /**
   * Applies `ops` in order (each an insert, or a delete of a name whatever its pid), then
   * releases the lock `unlock` (resource, requester, holder): the second and last round of a
   * registration (see `Global.change`). No OTP counterpart: OTP's registrar sends each
   * registration and then the `del_lock` as two rounds of calls.
   */
  | { op: 'apply'; ops: NameOp[]; unlock: [resource: unknown, requester: unknown, holder: Pid] }
  | { op: 'names' }
  /**
   * Which of `pids` (of the receiving node) are alive: one boolean each; the receiver watches
   * those alive and announces their deaths (`pidDown`). No OTP counterpart (see `insert`).
   */
  | { op: 'alive'; pids: Pid[] }
  /**
   * `pid`, a process of the caller's node, died: drop its names. A call, whose caller's node
   * must be the pid's: a peer dropping the names of another node's pids by mistake is refused.
   * This is no authentication: the caller's pid is the peer's word too (the dist layer does not
   * bind a call's `from` to the connection it came on), so a peer that passed the handshake
   * could still drop another node's names from this node's replica — only here, until the next
   * merge. No OTP counterpart (OTP's DOWN of each node's own monitor).
   */
  | { op: 'pidDown'; pid: Pid }
  /** Merge, other side: lock your partition for the sync with `boss`. */
  | { op: 'syncLock'; boss: string }
  /** Merge, other side: your partition's names and nodes (under the lock). */
  | { op: 'exchange'; boss: string }
  /** Merge, other side: apply `ops` and the merged partition `group` to your partition, then unlock it. */
  | { op: 'merge'; boss: string; ops: NameOp[]; mine: string[]; theirs: string[]; kills?: Pid[] }
  /**
   * Merge, every node of a side: apply `ops`; `mine` and `theirs` are now one partition (OTP's
   * `new_nodes`); kill the pids of `kills` that live here (see `exchangeNames`).
   */
  | { op: 'newNodes'; ops: NameOp[]; mine: string[]; theirs: string[]; kills?: Pid[] };

/** Casts between name servers; `via` is the sending node. */
type GlobalCast = { via: string } & (
  /**
   * `from` lost its connection to `lost` (OTP's `lost_connection`); `creation` is `from`'s and
   * `seq` orders its reports within that incarnation (OTP: `XCreationA`, `OpIdA`). Repeated
   * while the loss lasts (see `POP_REFRESH_MS`).
   */
  | { op: 'lostConnection'; from: string; lost: string; creation: number; seq: number }
  /** `from` is connected to `to` again (ends a remembered `lostConnection`). No OTP counterpart. */
  | { op: 'connected'; from: string; to: string; creation: number; seq: number }
  /** The sender has seen this node come up but no merge yet: the boss is asked to run it. */
  | { op: 'syncRequest' }
  /** Merge, other side: the boss `via` gave up; unlock. */
  | { op: 'syncAbort' }
  /** The sender drops its connection to us to prevent overlapping partitions: forget it first (OTP's `remove_connection`). */
  | { op: 'removeConnection' }
);

/** A cast before the sender fills in `via`. */
type CastBody = GlobalCast extends infer C ? (C extends unknown ? Omit<C, 'via'> : never) : never;

/** Options of `global`. */
export interface GlobalOptions {
  /** Split partial partitions into clean ones, as OTP 25+ (default true). */
  preventOverlappingPartitions?: boolean;
}

/** Attempts of the non-boss side to lock its partition for a merge before it answers busy. */
const SYNC_LOCK_ATTEMPTS = 3;
/** How long a registration waits for the merges with nodes that just came up (see `underGlobalLock`). */
const REGISTRATION_SYNC_WAIT_MS = 5000;
/** After a nodeup, the non-boss side asks the boss to merge if it has not within this many ms. */
const SYNC_WATCHDOG_MS = 3000;
/**
 * A node repeats its own lost connections this often while they last, so that nodes that
 * connect later learn them and re-apply the prevention (OTP reports a loss once; it does not
 * redial either, and rigil's reconnect for life keeps recreating the overlap).
 */
const POP_REFRESH_MS = 1000;
/**
 * A lost connection reported by another node is forgotten when not repeated for this long:
 * its reporter crashed, reconnected out of our sight or stopped reporting (OTP also keeps its
 * `lost_connection` records on a timer).
 */
const POP_TTL_MS = 3500;
/** Most pids in one `alive` request (a bigger one from a peer is refused as malformed). */
const ALIVE_BATCH = 4096;
/** Most registrations one lock round carries (see `Global.change`); also the most ops an `apply` request may hold. */
const CHANGE_BATCH = 512;
/**
 * Most bytes of names (plus `CHANGE_OP_BYTES` each) one lock round carries after its first: a
 * batch stays far below any sensible `maxFrameSize` (a frame above it would be dropped, and
 * the registrar would wait for its answer for ever).
 */
const CHANGE_BATCH_BYTES = 32 * 1024;
/** What one op of an `apply` costs on the wire besides its name (pid, resolver, framing), about. */
const CHANGE_OP_BYTES = 48;
/** Lock holders whose monitor is kept while they hold no lock on this node (see `Global.holderMons`). */
const IDLE_HOLDER_MONITORS = 64;
/** Most distinct strings `intern` shares (past it, strings are kept as they come). */
const INTERN_MAX = 1024;

/** The liveness checks due with one node (see `runChecks`). */
interface Checks {
  /** Pids to ask about, by printed form. */
  readonly pids: Map<string, Pid>;
  /** Pids asked about, not answered yet. */
  asked: number;
  /** Whether `runChecks` runs for them. */
  running: boolean;
}

/** This node's monitor on a lock holder (see `Global.holderMons`): the locks it holds here, by resource key. */
interface HolderMonitor {
  ref: Ref | undefined;
  /** Resource key -> requester key of each lock the holder holds here. */
  readonly locks: Map<string, string>;
}

/** One call waiting for a peer's name server's answer (see `Global.peerCall`). */
interface PeerCall {
  readonly req: GlobalRequest;
  readonly resolve: (reply: unknown) => void;
  readonly reject: (e: unknown) => void;
  tag: Ref | undefined;
}

/** The calls pending with one peer's name server, and the one monitor on it that fails them. */
interface PeerLink {
  readonly calls: Set<PeerCall>;
  monitor: Ref | undefined;
  /** Set once the monitor fired or the node went down: the link takes no more calls. */
  down: boolean;
}

/** A registration, re-registration or unregistration of this node, waiting for its turn (see `Global.change`). */
interface NameChange {
  readonly kind: 'register' | 'reRegister' | 'unregister';
  readonly name: string;
  readonly pid: Pid | undefined;
  readonly resolver: string;
  /** The resolver as given (a function is kept on this node: `keepFn`). */
  readonly fn: string | Resolver | undefined;
  readonly resolve: (outcome: 'yes' | 'no' | undefined) => void;
  readonly reject: (e: unknown) => void;
}

/** A remembered connection report (see `lostConnection`). */
interface CutMemo {
  lost: boolean;
  /** The reporter's creation and sequence number (OTP's `XCreationA`, `OpIdA`). */
  readonly creation: number;
  readonly seq: number;
  /** When it was last reported (node clock, ms). */
  readonly at: number;
}

/** The `global` service of a node: `node.global` (or `globalOf(self)`). */
export class Global implements GlobalNames {
  /** The replica of the names. */
  private readonly names = new Map<string, NameEntry>();
  /**
   * Names held by each pid, by the pid's node and number: a single name string, or a `Set`
   * when a pid holds more than one (`register` allows one; `reRegister` or a merge may add
   * more). Two pids of one node and number (two creations) share a slot; lookups compare the
   * entries' pids (see `namesOf`). No per-pid key string: this table holds every name's pid.
   */
  private readonly nameOf = new Map<string, Map<number, string | Set<string>>>();
  /**
   * This node's own named pids (and pids a peer asked about), by pid number: their exits are
   * seen through one exit observer (`Node.onLocalExit`), not a monitor each (see `watchLocal`).
   */
  private readonly watched = new Set<number>();
  /**
   * Monitors of remote pids whose node will not announce their deaths: this node is hidden, or
   * the pid lives on a hidden node (neither runs `global` with us). By name.
   */
  private readonly remoteMons = new Map<string, Ref>();
  /** Liveness checks due, by node: the pids to ask about and whether a check runs (see `runChecks`). */
  private readonly checks = new Map<string, Checks>();
  /** Strings shared by the entries (resolver names, pids' nodes), see `intern`. */
  private readonly strings = new Map<string, string>();
  /** Locks held on this node, by resource key. */
  private readonly locks = new Map<string, LockEntry>();
  /**
   * This node's monitors on lock holders, by holder pid: one per holder however many locks it
   * holds here, kept (up to `IDLE_HOLDER_MONITORS`, oldest dropped first) when it holds none, so
   * that a node registering names again and again costs no monitor and demonitor message per
   * lock (see `grant`).
   */
  private readonly holderMons = new Map<string, HolderMonitor>();
  /** Holders of `holderMons` that hold no lock here now, oldest first. */
  private readonly idleHolders = new Set<string>();
  /** The calls pending with each peer's name server, and this node's one monitor on it (see `peerCall`). */
  private readonly peerLinks = new Map<string, PeerLink>();
  /** Resolvers by name: the built-ins plus those registered with `registerResolver`. */
  private readonly resolvers = new Map<string, Resolver>();
  /** Function resolvers passed to `register` on this node, by global name (dropped with the name). */
  private readonly localFns = new Map<string, Resolver>();
  /** Nodes whose names this node has synced with: its partition (OTP's `known`). */
  private readonly known = new Set<string>();
  /** Merges this node drives (it is the boss), by peer. */
  private readonly syncing = new Set<string>();
  /**
   * Merges the other side drives, by boss: the nodes this node locked for each, and the
   * connection generation of each when they were locked (see `linksOf`).
   */
  private readonly peerSyncs = new Map<string, { readonly nodes: string[]; readonly links: ReadonlyMap<string, number | undefined> }>();
  /**
   * Connection generation per peer, bumped at every nodeup and nodedown: a merge lock taken for
   * a boss is kept only if the connection it was asked on is still the one up (see `lockForSync`),
   * and a merge's outcome goes only to the nodes still on the connection they were locked and
   * read over (see `trySync`).
   */
  private readonly linkGen = new Map<string, number>();
  /** Pending watchdogs (see `SYNC_WATCHDOG_MS`), by peer. */
  private readonly watchdogs = new Map<string, unknown>();
  /** Connection reports (`from>lost`), own and others'; see the module doc. */
  private readonly cuts = new Map<string, CutMemo>();
  /** The timer repeating own lost connections and expiring others' (runs while `cuts` is not empty). */
  private cutTimer: unknown;
  /** Nodes a merge made known that this node is connecting to for the first time, with that attempt (see `callServer`). */
  private readonly connecting = new Map<string, Promise<boolean>>();
  /** Nodes whose coming nodedown is not a lost connection (dropped on purpose, by us or by them). */
  private readonly silent = new Set<string>();
  /** `sync()` calls waiting for the merges with the connected nodes. */
  private syncWaiters: Array<() => void> = [];
  /** Sequence of this node's own connection reports. */
  private seq = 0;
  /** Local registrations run one at a time (OTP's registrar process). */
  private registrar: Promise<unknown> = Promise.resolve();
  /** Name changes waiting for the registrar, in call order (see `change`). */
  private changes: NameChange[] = [];
  /** Whether a turn of the registrar is queued to take `changes`. */
  private changeQueued = false;
  /** The current incarnation of the name server (the holder of the node's own locks). */
  private server: Pid | undefined;
  /** Incarnations of the name server started so far (1 after the first start). */
  private incarnations = 0;
  /** The last re-sync started by a name server incarnation (for tests and tools). */
  private lastSync: Promise<void> = Promise.resolve();
  /** Set once the node stops: node events are ignored from then on. */
  private stopping = false;
  /** `preventOverlappingPartitions`. */
  private readonly pop: boolean;

  /** Creates the `global` service of `node` and follows its node events; the server is started by `kernel_sup`. */
  constructor(
    private readonly node: GlobalHost,
    options: GlobalOptions = {},
  ) {
    this.pop = options.preventOverlappingPartitions ?? true;
    this.resolvers.set('randomExitName', randomExitName);
    this.resolvers.set('randomNotifyName', randomNotifyName);
    this.resolvers.set('notifyAllName', notifyAllName);
    node.onNodeEvent((e) => this.onNodeEvent(e));
    node.onLocalExit((pid) => this.localExit(pid));
    node.onStop(() => {
      this.stopping = true;
      for (const t of this.watchdogs.values()) node.timers.cancel(t as never);
      this.watchdogs.clear();
      if (this.cutTimer !== undefined) node.timers.cancel(this.cutTimer as never);
      this.cutTimer = undefined;
    });
  }

  /**
   * @internal Called by each incarnation of the name server from its `init`: it becomes the
   * holder of the node's locks, and re-syncs the names with every known node.
   */
  serverStarted(pid: Pid): void {
    this.server = pid;
    if (this.incarnations++ > 0) this.node.report({ kind: 'global', message: 'the global name server restarted: re-syncing names with the known nodes' });
    if (this.known.size > 0) this.lastSync = this.resync();
  }

  /**
   * Resolves once this node has merged names with every connected visible node (OTP's
   * `global:sync/0`), or `maxMs` passed (default forever); at once on a hidden node.
   */
  sync(maxMs = Infinity): Promise<void> {
    if (this.inSync()) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: unknown;
      const done = (): void => {
        if (timer !== undefined) this.node.timers.cancel(timer as never);
        resolve();
      };
      this.syncWaiters.push(done);
      if (maxMs !== Infinity) {
        timer = this.node.timers.schedule(maxMs, () => {
          timer = undefined;
          this.syncWaiters = this.syncWaiters.filter((w) => w !== done);
          resolve();
        }, undefined);
      }
    });
  }

  private inSync(): boolean {
    return this.hidden || this.stopping || this.node.nodes().every((n) => this.known.has(n));
  }

  /** Wakes the `sync()` callers once in sync. */
  private checkSynced(): void {
    if (this.syncWaiters.length === 0 || !this.inSync()) return;
    const ws = this.syncWaiters;
    this.syncWaiters = [];
    for (const w of ws) w();
  }

  /** Resolves once the re-sync started by the latest name server incarnation is over. No OTP counterpart. */
  synced(): Promise<void> {
    return this.lastSync;
  }

  /** How many times the name server has started on this node (1 = never restarted). No OTP counterpart. */
  get serverIncarnations(): number {
    return this.incarnations;
  }

  // ---------------------------------------------------------------- names

  /**
   * Registers `name` for `pid` on this node and every node `global` knows (OTP's
   * `global:register_name/3`): `'no'` if the name is taken or the pid already has a name.
   * `resolve` is a built-in resolver name, one registered with `registerResolver` (on the nodes
   * that may resolve: where the pids live), or a function (kept on this node only, and run
   * here). Throws `ERR_BADARG` for a name that is not a non-empty string or a pid that is not a `Pid`.
   * `name` may be a typed `globalName<P>(…)` from @rigil/core: then `pid` must be a server of `P`.
   */
  register<P extends Protocol>(typedName: string | GlobalName<P>, pid: ServerPid<NoInfer<P>>, resolve: string | Resolver = 'randomExitName'): Promise<'yes' | 'no'> {
    const name = plainName(typedName);
    checkName(name);
    checkPid(pid);
    const resolver = this.resolverName(resolve);
    return this.change({ kind: 'register', name, pid, resolver, fn: resolve }) as Promise<'yes' | 'no'>;
  }

  /** Points `name` (a string or a typed `globalName`) at `pid` on every known node, replacing any holder (OTP's `global:re_register_name/3`); always `'yes'`. */
  reRegister<P extends Protocol>(typedName: string | GlobalName<P>, pid: ServerPid<NoInfer<P>>, resolve: string | Resolver = 'randomExitName'): Promise<'yes'> {
    const name = plainName(typedName);
    checkName(name);
    checkPid(pid);
    const resolver = this.resolverName(resolve);
    return this.change({ kind: 'reRegister', name, pid, resolver, fn: resolve }) as Promise<'yes'>;
  }

  /** Removes `name` (a string or a typed `globalName`) on every known node (OTP's `global:unregister_name/1`); a no-op if absent. */
  async unregister(typedName: string | GlobalName): Promise<void> {
    const name = plainName(typedName);
    await this.change({ kind: 'unregister', name, pid: undefined, resolver: '', fn: undefined });
  }

  /**
   * Sizes of global's internal tables (names, names by pid, monitors for names — local ones,
   * and remote ones for pids of hidden nodes —, pids waiting for a liveness check, locks,
   * resolvers, known nodes, merges in progress, remembered lost connections), for tools that
   * check they stay bounded (the simulation's invariant I7). No OTP counterpart; read-only.
   */
  internalSizes(): Record<string, number> {
    let nameOf = 0;
    for (const m of this.nameOf.values()) nameOf += m.size;
    let checks = 0;
    for (const c of this.checks.values()) checks += c.pids.size + c.asked;
    return {
      names: this.names.size,
      nameOf,
      watched: this.watched.size,
      remoteMonitors: this.remoteMons.size,
      checks,
      locks: this.locks.size,
      holderMonitors: this.holderMons.size,
      peerCalls: [...this.peerLinks.values()].reduce((sum, l) => sum + l.calls.size, 0),
      resolvers: this.resolvers.size,
      localFns: this.localFns.size,
      known: this.known.size,
      syncing: this.syncing.size + this.peerSyncs.size,
      cuts: this.cuts.size,
    };
  }

  /** The pid holding `name`, from the local replica (OTP's `global:whereis_name/1`); typed by a typed `globalName`. */
  whereis<P extends Protocol>(name: GlobalName<P>): ServerPid<P> | undefined;
  whereis(name: string): Pid | undefined;
  whereis(name: string | GlobalName): Pid | undefined {
    return this.names.get(plainName(name))?.pid;
  }

  /** Every registered name (OTP's `global:registered_names/0`). */
  registeredNames(): string[] {
    return [...this.names.keys()];
  }

  /** The nodes this node has synced names with, sorted (OTP's `global`'s `known`; no public OTP function). */
  knownNodes(): string[] {
    return [...this.known].sort();
  }

  /**
   * Sends `msg` to the holder of `name` and returns its pid (OTP's `global:send/2`); an
   * unknown name throws `ERR_GLOBAL_NOT_REGISTERED`.
   */
  send<P extends Protocol>(name: GlobalName<P>, msg: unknown): ServerPid<P>;
  send(name: string, msg: unknown): Pid;
  send(typedName: string | GlobalName, msg: unknown): Pid {
    const name = plainName(typedName);
    const pid = this.whereis(name);
    if (pid === undefined) throw new DistError('ERR_GLOBAL_NOT_REGISTERED', `no process is registered globally as ${JSON.stringify(name)}`, { badarg: [name, msg] });
    this.node.send(pid, msg);
    return pid;
  }

  /**
   * Makes a resolver usable by name on this node (OTP's `{Module, Function}` resolver, usable
   * on every node where the module is loaded): register it under the same name on every node
   * where a pid registered with it may live — a clash is resolved where the pid of the
   * resolving side lives. Registering a name again replaces the function.
   */
  registerResolver(name: string, fn: Resolver): void {
    if (typeof name !== 'string' || name === '' || name.startsWith('fn:')) throw distError('ERR_BADARG', `bad resolver name ${describe(name)}`);
    if (typeof fn !== 'function') throw distError('ERR_BADARG', 'a resolver must be a function');
    this.resolvers.set(name, fn);
  }

  /**
   * The locks held on this node now, for tools (an observer page): each lock's resource and
   * requester as text (a string as itself, anything else as its JSON) and the pids holding it,
   * the first `limit` locks by resource. OTP keeps them in the `global_locks` ets table, which
   * observer's table viewer shows; rigil has no ets, so this copies them. Read-only.
   */
  lockInfo(limit = 1000): Array<{ resource: string; requester: string; holders: string[] }> {
    const text = (key: string): string => key.slice(2);
    return [...this.locks]
      .map(([key, l]) => ({ resource: text(key), requester: text(l.requester), holders: [...l.holders.keys()].slice(0, 100) }))
      .sort((x, y) => (x.resource < y.resource ? -1 : x.resource > y.resource ? 1 : 0))
      .slice(0, limit);
  }

  /**
   * The pid of every name in the replica, whose death removes the name here: local ones
   * through this node's monitor, remote ones through their node's `pidDown` (for tests and
   * tools). No OTP counterpart.
   */
  monitoredPids(): Pid[] {
    return [...this.names.values()].map((e) => e.pid);
  }

  // ---------------------------------------------------------------- locks

  /**
   * Sets a lock on `nodes` (default: this node and every connected one), all or nothing
   * (OTP's `global:set_lock/3`). Retries with OTP's randomised back-off up to `retries` times
   * (a non-negative integer, default `Infinity`: forever); resolves false when it could not.
   * `holder` is the process the lock dies with (default: this node's name server, i.e. the
   * node). A node that does not answer is waited for (OTP's `multi_call`); one that goes down
   * holds no lock. Bad arguments reject with `ERR_BADARG`.
   */
  async setLock(id: LockId, nodes?: readonly string[], retries = Infinity, holder?: Process | Pid): Promise<boolean> {
    const [resource, requester] = checkLockId(id);
    checkRetries(retries);
    const holderPid = this.holderPid(holder);
    const targets = checkNodes(nodes) ?? this.connectedGroup();
    for (let attempt = 1; ; attempt++) {
      if (await this.lockOnce(targets, resource, requester, holderPid)) return true;
      if (attempt > retries) return false;
      await this.sleep(backoff(attempt, this.node.random));
    }
  }

  /** Releases a lock on `nodes`; resolves once every node has released it (OTP's `global:del_lock/2`). */
  async delLock(id: LockId, nodes?: readonly string[], holder?: Process | Pid): Promise<true> {
    const [resource, requester] = checkLockId(id);
    const holderPid = this.holderPid(holder);
    await Promise.all((checkNodes(nodes) ?? this.connectedGroup()).map((n) => this.unlockOn(n, resource, requester, holderPid)));
    return true;
  }

  /**
   * Runs `fn` holding the lock (OTP's `global:trans/4`): returns its value, or `'aborted'` if the
   * lock could not be set; the lock is released even if `fn` throws.
   */
  async trans<T>(id: LockId, fn: () => T | Promise<T>, nodes?: readonly string[], retries = Infinity, holder?: Process | Pid): Promise<T | 'aborted'> {
    checkRetries(retries);
    if (typeof fn !== 'function') throw distError('ERR_BADARG', 'trans needs a function');
    const targets = checkNodes(nodes) ?? this.connectedGroup();
    if (!(await this.setLock(id, targets, retries, holder))) return 'aborted';
    try {
      return await fn();
    } finally {
      await this.delLock(id, targets, holder);
    }
  }

  /** @internal Runs one of this node's resolvers (the `global.resolve` built-in procedure): the winner, or null. */
  async resolveHere(resolver: string, name: string, other: Pid, own: Pid): Promise<Pid | null> {
    const fn = resolver === `fn:${this.node.name}` ? this.localFns.get(name) : this.resolvers.get(resolver);
    if (fn === undefined) throw distError('ERR_BADARG', `resolver ${resolver} is not known on ${this.node.name}`);
    const r = await fn(name, other, own, this.node);
    return r instanceof Pid ? r : null;
  }

  // ---------------------------------------------------------------- name server side (called by the server)

  /** @internal Whether this node watches its local process `pid` (a named one, or one a peer asked about), for tests and tools. */
  watches(pid: Pid): boolean {
    return pid.node === this.node.name && pid.creation === this.node.creation && this.watched.has(pid.id);
  }

  /** @internal True when `node` is this node or a connected one. No OTP counterpart. */
  connectedTo(node: string): boolean {
    return node === this.node.name || this.node.net.isConnected(node);
  }

  /**
   * @internal Applies a request of another node's name server (validated by `parseRequest`),
   * sent by `from` (a node name; this node by default); a promise is a deferred reply.
   */
  handleRequest(req: GlobalRequest, from: string = this.node.name): unknown {
    switch (req.op) {
      case 'lock':
        return this.grant(req.resource, req.requester, req.holder) ? 'granted' : 'denied';
      case 'unlock':
        this.release(keyOf(req.resource), keyOf(req.requester), req.holder);
        return 'ok';
      case 'insert':
        // Straight from the pid's node: it sent its `pidDown`s after this, on this connection.
        this.insert(req.name, req.pid, req.resolver, 'insert', from === req.pid.node);
        return 'ok';
      case 'alive':
        return req.pids.map((p) => this.aliveHere(p));
      case 'pidDown':
        // Only the pid's own node speaks for it (as the caller's pid says; see `pidDown`).
        if (req.pid.node !== from) {
          this.node.report({ kind: 'global', message: `the global name server ignored a pidDown from ${renderUntrusted(from)} for a pid of ${renderUntrusted(req.pid.node)}` });
          return { error: 'not_yours' };
        }
        if (!this.hidden) this.pidGone(req.pid, `${from}: pidDown`);
        return 'ok';
      case 'delete':
        this.remove(req.name, req.pid);
        return 'ok';
      case 'apply': {
        for (const [name, pid, resolver] of req.ops) {
          // Straight from the pid's node, as `insert`.
          if (pid !== null) this.insert(name, pid, resolver, 'insert', from === pid.node);
          else this.remove(name, undefined);
        }
        const [resource, requester, holder] = req.unlock;
        this.release(keyOf(resource), keyOf(requester), holder);
        return 'ok';
      }
      case 'names':
        return this.nameList();
      case 'syncLock':
        return this.lockForSync(req.boss);
      case 'exchange': {
        const sync = this.peerSyncs.get(req.boss);
        if (sync === undefined) return { error: 'not_locked' };
        const group = sync.nodes;
        return this.gatherTables(group).then((tables) => ({ names: this.nameList(), group, tables }));
      }
      case 'merge':
        return this.mergeHere(req.boss, req.ops, req.mine, req.theirs, req.kills ?? []);
      case 'newNodes':
        this.newNodes(req.ops, req.mine, req.theirs, req.kills ?? []);
        return 'ok';
    }
  }

  /** @internal Applies a cast of another node's name server (validated by `parseCast`). */
  handleCast(msg: GlobalCast): void {
    const via = msg.via;
    if (msg.op === 'syncAbort') {
      this.background(this.unlockForSync(via), `ending the merge with ${via}`);
      return;
    }
    // Only a visible node we are connected to takes part (a hidden node's reports are ignored).
    if (this.stopping || this.hidden || !this.node.nodes().includes(via)) return;
    if (msg.op === 'removeConnection') this.forgetNode(via);
    else if (msg.op === 'lostConnection') this.lostConnection(msg.from, msg.lost, msg.creation, msg.seq);
    else if (msg.op === 'connected') this.reconnected(msg.from, msg.to, msg.creation, msg.seq);
    else if (this.node.name < via) {
      // `via` does not know us (it asks for the merge): if we know it, that is one-sided.
      this.forgetOneSided(via);
      this.startSync(via);
    }
  }

  /**
   * `peer` asked for a merge, so it does not know this node: forget it if we know it (the
   * merge that follows carries the names over), so that the pair merges. No OTP counterpart
   * (OTP's protocol starts from either side and never consults `known` to answer).
   */
  private forgetOneSided(peer: string): void {
    if (!this.known.delete(peer)) return;
    this.node.report({ kind: 'global', message: `${peer} does not know this node but this node knew it: merging again` });
  }

  // ---------------------------------------------------------------- private: names

  private nameList(): NameOp[] {
    return [...this.names].map(([n, e]) => [n, e.pid, e.resolver]);
  }

  /**
   * Puts `name` -> `pid` in the replica. `confirmed`: it came straight from the pid's node
   * (see `NameEntry.confirmed`).
   *
   * rigil departs from OTP in how a name follows its pid. OTP's `insert_global_name` makes
   * every node monitor the pid: per name, a remote monitor on each node and, on the pid's node,
   * one monitor per other node, plus a monitor message per registration per node. rigil keeps
   * ONE watch on the pid's node (`watchLocal`, an exit observer, not even a monitor), which tells every connected visible node
   * of the death (`pidDown`, see `localExit`); the other nodes drop the names of a node's pids
   * at its nodedown (OTP's DOWN `noconnection`). That is exact for a name that came from the
   * pid's node over the current connection: its `pidDown` comes after it on that connection.
   * A name that came any other way (a third node's insert, a merge, a re-sync, a name inserted
   * while the pid's node is still being connected) is unconfirmed: this node asks the pid's node
   * (`runChecks`), whose answer and later `pidDown` travel on one connection, in order — a death
   * before the answer makes it "dead", one after sends a `pidDown` after it.
   */
  private insert(name: string, pid: Pid, resolver: string, why = 'insert', confirmed = false): void {
    if (nameLog.enabled) nameLog(`${this.node.name}: ${why} ${name} -> ${String(pid)}`);
    const me = this.node.name;
    const local = pid.node === me;
    const old = this.names.get(name);
    if (old !== undefined) {
      if (old.pid.equals(pid)) {
        if (old.resolver !== resolver) old.resolver = this.intern(resolver);
        // Told by someone else than the pid's node: the pid may have died before (a re-sync
        // after this node's server missed a pidDown), so ask.
        if (!local && !confirmed && old.confirmed && this.checked(pid.node)) {
          old.confirmed = false;
          this.queueCheck(old.pid);
        }
        this.dropFn(name);
        return;
      }
      this.remove(name, undefined, `replaced by ${String(pid)}: remove`);
    }
    // A pid of a node neither connected nor being connected (a merge's first connection, see
    // `connecting`): its names went with its nodedown; nothing would tell us of its death (OTP:
    // the monitor fires `noconnection` at once).
    if (!local && !this.node.net.isConnected(pid.node) && !this.connecting.has(pid.node)) {
      if (nameLog.enabled) nameLog(`${me}: ${name} not kept, ${pid.node} is not connected`);
      this.dropFn(name);
      return;
    }
    const held = local ? pid : this.internPid(pid);
    const remote = !local && !this.checked(pid.node);
    const entry: NameEntry = { pid: held, resolver: this.intern(resolver), confirmed: local || remote || confirmed };
    this.names.set(name, entry);
    this.addNameOf(held, name);
    this.dropFn(name);
    if (local) this.watchLocal(held);
    else if (remote) this.monitorRemote(name, held);
    else if (!entry.confirmed) this.queueCheck(held);
  }

  /**
   * True when the names of `node`'s pids follow `pidDown` and checks; false when `node` will not
   * announce (this node is hidden, or `node` is a connected hidden node): such pids keep a
   * remote monitor per name, as in OTP.
   */
  private checked(node: string): boolean {
    if (this.hidden) return false;
    return !this.node.net.isConnected(node) || this.node.nodes().includes(node);
  }

  /** Monitors a remote pid of a node that will not announce its death (see `checked`); its DOWN drops the name. */
  private monitorRemote(name: string, pid: Pid): void {
    let dead = false;
    const ref = this.node.monitor(pid, {
      onDown: () => {
        dead = true;
        if (this.remoteMons.get(name) !== ref) return;
        this.remoteMons.delete(name);
        this.remove(name, pid, `${String(pid)} down: remove`);
      },
    });
    if (!dead) this.remoteMons.set(name, ref);
    else this.remove(name, pid, `${String(pid)} down: remove`);
  }

  /**
   * Watches a local pid (see `insert`): its death drops its names and is announced
   * (`localExit`). One exit observer of the node serves every watched pid, where OTP's
   * `global` holds a monitor per name: ~20 bytes a pid instead of ~400.
   */
  private watchLocal(pid: Pid): void {
    // A pid of an earlier incarnation of this node (a merge may carry one here) is dead; it must
    // not take the slot of this incarnation's pid of the same number either.
    if (pid.creation !== this.node.creation || !this.node.isAlive(pid)) {
      this.localGone(pid);
      return;
    }
    this.watched.add(pid.id);
  }

  /**
   * A local process exited (the node's exit observer, for every process): if watched, drop its
   * names here and tell every connected visible node, and those being connected (a merge in
   * flight may have given them the name), to drop them too.
   */
  private localExit(pid: Pid): void {
    if (pid.creation !== this.node.creation || !this.watched.delete(pid.id)) return;
    this.localGone(pid);
  }

  /** A local pid is dead: drops its names and announces it (see `localExit`). */
  private localGone(pid: Pid): void {
    this.pidGone(pid, `${String(pid)} down`);
    if (this.hidden || this.stopping) return;
    const to = new Set([...this.node.nodes(), ...this.connecting.keys()]);
    // Not awaited: the reply only ends the call (a node that goes down needs no answer).
    for (const n of to) this.peerCall(n, { op: 'pidDown', pid }).catch(() => undefined);
  }

  /**
   * Answers a peer's liveness check of `pid`: alive when it is a live process of this node
   * (this creation); then watched, so that its death is announced to the asker after this answer.
   */
  private aliveHere(pid: Pid): boolean {
    if (pid.node !== this.node.name || pid.creation !== this.node.creation || !this.node.isAlive(pid)) return false;
    if (this.hidden) return true;
    this.watchLocal(pid);
    return this.watched.has(pid.id);
  }

  /** Drops every name of `pid` held here. */
  private pidGone(pid: Pid, why: string): void {
    for (const name of this.namesOf(pid)) this.remove(name, pid, `${why}: remove`);
  }

  /** Asks `pid`'s node, soon, whether `pid` lives (see `runChecks`). */
  private queueCheck(pid: Pid): void {
    let c = this.checks.get(pid.node);
    if (c === undefined) this.checks.set(pid.node, (c = { pids: new Map(), asked: 0, running: false }));
    c.pids.set(String(pid), pid);
    if (c.running) return;
    c.running = true;
    const run = c;
    queueMicrotask(() => this.background(this.runChecks(pid.node, run), `checking the names of ${pid.node}'s pids`));
  }

  /**
   * Asks `node` which of the pids due a check live, in batches: drops the names of the dead
   * ones, confirms the others. A failed check (its name server restarting) is retried with
   * back-off while `node` stays connected; its nodedown ends it (the names go with the node).
   * Checks a node being connected wait for the connection (`callServer`).
   */
  private async runChecks(node: string, c: Checks): Promise<void> {
    let attempt = 0;
    try {
      while (c.pids.size > 0 && this.checks.get(node) === c && !this.stopping) {
        if (!this.node.net.isConnected(node) && !this.connecting.has(node)) {
          this.checks.delete(node);
          this.dropNamesOn(node, (e) => !e.confirmed);
          return;
        }
        const batch: Pid[] = [];
        for (const [k, p] of c.pids) {
          c.pids.delete(k);
          batch.push(p);
          if (batch.length >= ALIVE_BATCH) break;
        }
        let answer: unknown;
        c.asked = batch.length;
        try {
          answer = await this.callServer(node, { op: 'alive', pids: batch });
        } catch {
          answer = undefined;
        }
        c.asked = 0;
        if (this.checks.get(node) !== c) return;
        if (!Array.isArray(answer) || answer.length !== batch.length) {
          for (const p of batch) if (!c.pids.has(String(p))) c.pids.set(String(p), p);
          await this.sleep(backoff(Math.min(++attempt, 4), this.node.random));
          continue;
        }
        attempt = 0;
        batch.forEach((p, i) => {
          if (answer[i] !== true) this.pidGone(p, `${node} says ${String(p)} is dead`);
          else for (const name of this.namesOf(p)) this.names.get(name)!.confirmed = true;
        });
      }
    } finally {
      c.running = false;
      if (this.checks.get(node) === c && c.pids.size === 0) this.checks.delete(node);
    }
  }

  /**
   * A shared copy of `s` (a resolver name, a node name): every entry of a replica of 100,000
   * names points at one string instead of each keeping the one its message decoded.
   */
  private intern(s: string): string {
    const k = this.strings.get(s);
    if (k !== undefined) return k;
    if (this.strings.size < INTERN_MAX) this.strings.set(s, s);
    return s;
  }

  /** `pid` with its node's name shared (see `intern`). */
  private internPid(pid: Pid): Pid {
    return new Pid(this.intern(pid.node), pid.id, pid.creation);
  }

  /** The names `pid` holds here. */
  private namesOf(pid: Pid): string[] {
    const slot = this.nameOf.get(pid.node)?.get(pid.id);
    if (slot === undefined) return [];
    const all = typeof slot === 'string' ? [slot] : [...slot];
    return all.filter((n) => this.names.get(n)?.pid.equals(pid) === true);
  }

  /** True when `pid` holds a name here. */
  private hasName(pid: Pid): boolean {
    return this.namesOf(pid).length > 0;
  }

  private addNameOf(pid: Pid, name: string): void {
    let byId = this.nameOf.get(pid.node);
    if (byId === undefined) this.nameOf.set(pid.node, (byId = new Map()));
    const slot = byId.get(pid.id);
    if (slot === undefined) byId.set(pid.id, name);
    else if (typeof slot === 'string') {
      if (slot !== name) byId.set(pid.id, new Set([slot, name]));
    } else slot.add(name);
  }

  private forgetName(pid: Pid, name: string): void {
    const byId = this.nameOf.get(pid.node);
    const slot = byId?.get(pid.id);
    if (byId === undefined || slot === undefined) return;
    if (typeof slot === 'string') {
      if (slot === name) byId.delete(pid.id);
    } else if (slot.delete(name) && slot.size === 1) byId.set(pid.id, [...slot][0]!);
    if (byId.size === 0) this.nameOf.delete(pid.node);
  }

  private remove(name: string, onlyPid?: Pid, why = 'remove'): void {
    const e = this.names.get(name);
    if (e === undefined || (onlyPid !== undefined && !e.pid.equals(onlyPid))) return;
    if (nameLog.enabled) nameLog(`${this.node.name}: ${why} ${name} (was ${String(e.pid)})`);
    this.names.delete(name);
    this.forgetName(e.pid, name);
    const rm = this.remoteMons.get(name);
    if (rm !== undefined) {
      this.remoteMons.delete(name);
      this.node.demonitor(rm);
    }
    // A local pid that holds no name any more is not watched any more (OTP's demonitor).
    if (e.pid.node === this.node.name && e.pid.creation === this.node.creation && !this.hasName(e.pid)) this.watched.delete(e.pid.id);
    this.dropFn(name);
  }

  /** Forgets the function resolver of `name` once the replica no longer names it (no growth per register). */
  private dropFn(name: string): void {
    if (this.localFns.has(name) && this.names.get(name)?.resolver !== `fn:${this.node.name}`) this.localFns.delete(name);
  }

  /** Keeps a function resolver for `name` (before the insert that names it). */
  private keepFn(name: string, resolve: string | Resolver): void {
    if (typeof resolve === 'function') this.localFns.set(name, resolve);
  }

  private resolverName(resolve: string | Resolver): string {
    if (typeof resolve === 'function') return `fn:${this.node.name}`;
    if (typeof resolve !== 'string' || !this.resolvers.has(resolve)) throw distError('ERR_BADARG', `unknown resolver ${describe(resolve)}: a name given to registerResolver, a built-in, or a function`);
    return resolve;
  }

  /**
   * Runs the resolver of this side's entry for a clash (OTP's `resolve_it`, by rpc on the node
   * of this side's pid; a function resolver runs on the node that registered it). The winner,
   * or null to unregister: a resolver that throws or answers anything but one of the two pids
   * unregisters the name, as in OTP; an unreachable node keeps the other side's pid (OTP's badrpc).
   */
  private async resolveClash(name: string, mine: Pick<NameEntry, 'pid' | 'resolver'>, theirs: Pid): Promise<Pid | null> {
    const where = mine.resolver.startsWith('fn:') ? mine.resolver.slice(3) : mine.pid.node;
    // A clash on one side can name a pid of a node out of both sides: a call there would dial
    // it, and a cut dial stalls the merge, both sides locked, until it gives up.
    if (where !== this.node.name && !this.node.net.isConnected(where) && !this.connecting.has(where)) {
      this.node.report({ kind: 'global', message: `resolving ${name}: ${where} is not connected; keeping the other pid` });
      return theirs;
    }
    let answer: unknown;
    try {
      answer = where === this.node.name
        ? await this.resolveHere(mine.resolver, name, theirs, mine.pid)
        : await this.node.rpc.call(where, 'global.resolve', [mine.resolver, name, theirs, mine.pid], Infinity);
    } catch (e) {
      const code = (e as { code?: unknown } | null)?.code;
      if (code === 'ERR_RPC_NODEDOWN' || code === 'ERR_NOT_CONNECTED') {
        this.node.report({ kind: 'global', message: `resolving ${name}: ${where} is unreachable; keeping the other side's pid`, reason: e });
        return theirs;
      }
      this.node.report({ kind: 'global', message: `the resolver for ${name} failed: unregistering it`, reason: e });
      return null;
    }
    if (answer instanceof Pid && (answer.equals(theirs) || answer.equals(mine.pid))) return answer;
    if (answer !== null) this.node.report({ kind: 'global', message: `the resolver for ${name} answered neither pid: unregistering it`, reason: describe(answer) });
    return null;
  }

  // ---------------------------------------------------------------- private: merges

  private onNodeEvent(e: NodeEvent): void {
    // A hidden node takes no part in `global` (OTP ignores hidden connections, both ways).
    if (e.hidden || this.stopping || this.hidden) return;
    this.linkGen.set(e.node, (this.linkGen.get(e.node) ?? 0) + 1);
    if (e.type === 'nodeup') this.recheck(e.node);
    if (e.type === 'nodedown') this.nodeDown(e.node);
    // After every subscriber has seen the nodeup: a drop made here (overlapping partitions) comes after it.
    else queueMicrotask(() => this.nodeUp(e.node));
  }

  private nodeUp(peer: string): void {
    const me = this.node.name;
    if (this.stopping || !this.node.net.isConnected(peer)) return;
    this.silent.delete(peer);
    if (this.pop) {
      const own = this.cuts.get(`${me}>${peer}`);
      if (own?.lost === true) {
        // Our own lost link is back (a healed cut): say so, so that the others connect again.
        this.report('connected', peer, false);
      }
      // Re-apply the prevention: connected to one end of a pair reported lost, a node that did
      // not lose `peer` itself drops it (the ends of a healed cut see each other and report it).
      const other = own?.lost === true ? undefined : this.node.nodes().find((n) => n !== peer && this.isCut(n, peer));
      if (other !== undefined) {
        this.node.report({ kind: 'global', message: `${peer} lost its connection to ${other}: disconnecting from ${peer} to prevent overlapping partitions` });
        this.dropNode(peer);
        return;
      }
    }
    if (this.known.has(peer)) return;
    if (me < peer) this.startSync(peer);
    else this.watch(peer);
  }

  /** `node` is up: the names of its pids not confirmed yet are checked (they may have come while it was being connected). */
  private recheck(node: string): void {
    for (const name of this.namesOn(node)) {
      const e = this.names.get(name)!;
      if (!e.confirmed) this.queueCheck(e.pid);
    }
  }

  private nodeDown(peer: string): void {
    this.connecting.delete(peer);
    // The calls pending there fail now, as their monitors' DOWN would (see `peerCall`).
    const link = this.peerLinks.get(peer);
    if (link !== undefined) this.peerDown(peer, link, 'nodedown');
    // The names of `peer`'s pids go with it (OTP: each name server's monitor fires
    // `noconnection`); so do the checks due there.
    this.checks.delete(peer);
    this.dropNamesOn(peer);
    queueMicrotask(() => this.checkSynced());
    const wasKnown = (this.known.delete(peer) || this.syncing.has(peer) || this.peerSyncs.has(peer)) && !this.silent.delete(peer);
    if (this.peerSyncs.has(peer)) this.background(this.unlockForSync(peer), `ending the merge with ${peer}`);
    if (this.pop && wasKnown) this.report('lostConnection', peer, true);
  }

  /** Records and multicasts one of this node's own connection reports. */
  private report(op: 'lostConnection' | 'connected', peer: string, lost: boolean): void {
    const me = this.node.name;
    const seq = ++this.seq;
    const creation = this.node.creation;
    this.remember(`${me}>${peer}`, { lost, creation, seq, at: this.node.clock.now() });
    this.multicast(op === 'lostConnection' ? { op, from: me, lost: peer, creation, seq } : { op, from: me, to: peer, creation, seq }, undefined);
  }

  /**
   * True when a report of `from` (incarnation `creation`, number `seq`) is newer than what we
   * remember of `key`: another incarnation's, or a later one of the same.
   */
  private isNews(key: string, creation: number, seq: number): boolean {
    const seen = this.cuts.get(key);
    return seen === undefined || seen.creation !== creation || seq > seen.seq;
  }

  private remember(key: string, memo: CutMemo): void {
    this.cuts.set(key, memo);
    this.cutTimer ??= this.node.timers.schedule(POP_REFRESH_MS, () => this.refreshCuts(), undefined);
  }

  /**
   * Every `POP_REFRESH_MS`: repeats this node's own lost connections (with a new number, so
   * that every node passes them on once more) and forgets others' reports not repeated within
   * `POP_TTL_MS`, and own reports of a connection that is back.
   */
  private refreshCuts(): void {
    this.cutTimer = undefined;
    if (this.stopping) return;
    const me = this.node.name;
    const now = this.node.clock.now();
    for (const [key, memo] of [...this.cuts]) {
      const [from, other] = key.split('>') as [string, string];
      if (from !== me) {
        if (now - memo.at > POP_TTL_MS) this.cuts.delete(key);
      } else if (!memo.lost) {
        if (now - memo.at > POP_TTL_MS) this.cuts.delete(key);
      } else if (this.node.net.isConnected(other)) {
        this.cuts.delete(key);
      } else {
        this.report('lostConnection', other, true);
      }
    }
    if (this.cuts.size > 0) this.cutTimer ??= this.node.timers.schedule(POP_REFRESH_MS, () => this.refreshCuts(), undefined);
  }

  /** Casts a connection report to every connected visible node but `except` (OTP's `gns_volatile_multicast`). */
  private multicast(msg: CastBody, except: string | undefined): void {
    for (const n of this.node.nodes()) if (n !== except) this.castTo(n, msg);
  }

  private castTo(node: string, msg: CastBody): void {
    genServer.cast(this.node, [GLOBAL_NAME_SERVER, node], { ...msg, via: this.node.name });
  }

  /** True when a connection between `a` and `b` was reported lost and not reported back. */
  private isCut(a: string, b: string): boolean {
    return this.cuts.get(`${a}>${b}`)?.lost === true || this.cuts.get(`${b}>${a}`)?.lost === true;
  }

  /**
   * OTP 25+'s `lost_connection`: remember, pass on once, and disconnect to keep partitions clean
   * (spec §f.4). A repetition of a loss we already remember only refreshes it: the drop was
   * made when we first learned it, and is re-applied at nodeup (see `nodeUp`).
   */
  private lostConnection(from: string, lost: string, creation: number, seq: number): void {
    if (from === this.node.name) return;
    const key = `${from}>${lost}`;
    if (!this.isNews(key, creation, seq)) return;
    const known = this.cuts.get(key)?.lost === true;
    this.remember(key, { lost: true, creation, seq, at: this.node.clock.now() });
    this.multicast({ op: 'lostConnection', from, lost, creation, seq }, from);
    if (!this.pop || known) return;
    // The lost node itself asks the reporter to go (OTP's remove_connection); everyone else drops the lost node.
    const drop = lost === this.node.name ? from : lost;
    if (!this.node.net.isConnected(drop)) {
      this.known.delete(drop);
      this.dropNamesOn(drop);
      return;
    }
    this.node.report({ kind: 'global', message: `${from} lost its connection to ${lost}: disconnecting from ${drop} to prevent overlapping partitions` });
    this.dropNode(drop);
  }

  private reconnected(from: string, to: string, creation: number, seq: number): void {
    if (from === this.node.name) return;
    const key = `${from}>${to}`;
    if (!this.isNews(key, creation, seq)) return;
    this.remember(key, { lost: false, creation, seq, at: this.node.clock.now() });
    this.multicast({ op: 'connected', from, to, creation, seq }, from);
  }

  /** Disconnects `peer` for the prevention of overlapping partitions: forgotten first, so its nodedown is not reported again. */
  private dropNode(peer: string): void {
    this.castTo(peer, { op: 'removeConnection' });
    this.forgetNode(peer);
    this.node.disconnect(peer);
  }

  /**
   * Removes the names of pids on `node`, which is out of this node's partition and not connected:
   * their monitors fire only with a nodedown of a connection, and the one they wait on may be a
   * dial that never completes (a cut) or completes later (a heal), after the other nodes of the
   * partition dropped the same names at their nodedown (OTP: the monitor's DOWN `noconnection`).
   */
  private dropNamesOn(node: string, which: (e: NameEntry) => boolean = () => true): void {
    for (const name of this.namesOn(node)) {
      const e = this.names.get(name);
      if (e !== undefined && which(e)) this.remove(name, undefined, `${node} lost: remove`);
    }
  }

  /** The names held here by pids of `node` (a copy). */
  private namesOn(node: string): string[] {
    const byId = this.nameOf.get(node);
    if (byId === undefined) return [];
    const out: string[] = [];
    for (const slot of byId.values()) {
      if (typeof slot === 'string') out.push(slot);
      else out.push(...slot);
    }
    return out.filter((n) => this.names.get(n)?.pid.node === node);
  }

  /** Forgets `peer` so that losing it is not reported (OTP clears what it knows of it). */
  private forgetNode(peer: string): void {
    this.known.delete(peer);
    this.silent.add(peer);
  }

  /** The non-boss side: if no merge happened after a while, asks the boss (the protocol's retry from this side). */
  private watch(peer: string): void {
    if (this.watchdogs.has(peer)) return;
    const t = this.node.timers.schedule(SYNC_WATCHDOG_MS, () => {
      this.watchdogs.delete(peer);
      if (this.stopping || this.known.has(peer) || this.peerSyncs.has(peer) || !this.node.net.isConnected(peer)) return;
      this.castTo(peer, { op: 'syncRequest' });
      this.watch(peer);
    }, undefined);
    this.watchdogs.set(peer, t);
  }

  /** The boss side: merges with `peer`'s partition, retrying while it stays connected and unknown. */
  private startSync(peer: string): void {
    if (this.syncing.has(peer)) return;
    this.syncing.add(peer);
    const run = async (): Promise<void> => {
      for (let attempt = 1; this.wantsSync(peer); attempt++) {
        let done = false;
        try {
          done = await this.trySync(peer);
        } catch (e) {
          this.node.report({ kind: 'global', message: `merging names with ${peer} failed; trying again`, reason: e });
        }
        if (done) return;
        await this.sleep(backoff(Math.min(attempt, 4), this.node.random));
      }
    };
    run().finally(() => this.syncing.delete(peer)).catch(() => undefined);
  }

  private wantsSync(peer: string): boolean {
    return !this.stopping && !this.known.has(peer) && this.node.net.isConnected(peer);
  }

  /**
   * One merge attempt with `peer`'s partition (this node is the boss: the smaller name of the
   * pair). True when done (merged, or nothing left to do).
   */
  private async trySync(peer: string): Promise<boolean> {
    const me = this.node.name;
    const id: LockId = [GLOBAL_LOCK, `sync:${me}|${peer}`];
    const mine = await this.lockGroup(id, 1);
    if (mine === undefined) return false;
    const links = this.linksOf(mine);
    let peerLocked = false;
    let merged = false;
    try {
      if (!this.wantsSync(peer)) return true;
      const answer = await this.callServer(peer, { op: 'syncLock', boss: me });
      if (answer !== 'locked') return false;
      peerLocked = true;
      const ex = parseExchange(await this.callServer(peer, { op: 'exchange', boss: me }));
      if (ex === undefined || !this.wantsSync(peer)) return false;
      // Every locked node's table, both sides (see `exchangeNames`).
      const myTables = await this.gatherTables(mine);
      const theirTables = ex.tables ?? [[peer, ex.names] as [string, NameOp[]]];
      if (!this.wantsSync(peer)) return false;
      // Every locked node of each side must have given its table, over the connection it was
      // locked on: the outcome's operations for a side are what brings the tables read to the
      // merged one, and applied to a table not read they drop or replace what only it held.
      // (Explorer seed 13: c locked {c, b}, then lost b — both dropped each other's names — and
      // b dialled c again; the read of b's table failed, the outcome computed from c's table
      // alone reached b over the new connection and replaced b's own g4 by a's pid, which b
      // then dropped (a was cut off from b): g4 was gone everywhere and b's pid lived on
      // without it.) A side that changed meanwhile is merged again, from a fresh lock.
      // OTP compares two nodes' tables only (see `exchangeNames`) and has no such case.
      if (!readAll(mine, myTables) || (ex.tables !== undefined && !readAll(ex.group, ex.tables)) || !this.sameLinks(mine, links)) return false;
      const [opsMine, opsTheirs, kills] = await this.exchangeNames(myTables, theirTables);
      const theirs = ex.group;
      if (!this.wantsSync(peer) || !this.sameLinks(mine, links)) return false;
      if (nameLog.enabled) nameLog(`${me}: merging [${mine.join(' ')}] (tables of ${myTables.map(([n, t]) => `${n}:${t.length}`).join(' ')}) with ${peer}'s [${theirs.join(' ')}] (tables of ${theirTables.map(([n, t]) => `${n}:${t.length}`).join(' ')}), ${kills.length} kills`);
      const applied = await this.callServer(peer, { op: 'merge', boss: me, ops: opsTheirs, mine: theirs, theirs: mine, kills });
      if (applied !== 'ok') return false;
      merged = true;
      // A node lost since (its names dropped here, ours there) and maybe connected again gets
      // nothing: it does not know us any more and asks for a merge of its own.
      await this.everywhere(mine.filter((n) => this.sameLinks([n], links)), { op: 'newNodes', ops: opsMine, mine, theirs, kills });
      return true;
    } finally {
      if (peerLocked && !merged) this.castTo(peer, { op: 'syncAbort' });
      await this.delLock(id, mine);
    }
  }

  /**
   * The tables of `nodes` (this node's own included), under the merge's lock; a node that does
   * not answer (down meanwhile) is left out. No OTP counterpart (see `exchangeNames`).
   */
  private async gatherTables(nodes: readonly string[]): Promise<Array<[string, NameOp[]]>> {
    const answers = await Promise.all(
      nodes.map(async (n): Promise<[string, NameOp[]] | undefined> => {
        if (n === this.node.name) return [n, this.nameList()];
        try {
          const names = parseNames(await this.callServer(n, { op: 'names' }));
          return names === undefined ? undefined : [n, names];
        } catch {
          return undefined;
        }
      }),
    );
    return answers.filter((a): a is [string, NameOp[]] => a !== undefined);
  }

  /**
   * OTP's `exchange_names` on the node with the smaller name: the merged table, each clash
   * resolved once, here; and what every node of this side (`opsMine`) and of the other side
   * (`opsTheirs`) must do to hold it. Also the losers `randomExitName` killed: the kill is sent
   * from the node it ran on (OTP's `exit(Max, kill)` on `node(Pid2)`), which may not reach the
   * loser's node — a partition cut off from it — and a lost kill leaves the loser alive without
   * its name. rigil departs from OTP here: every node of both sides repeats the kill of a loser
   * that lives on it when it applies the outcome (a kill is idempotent).
   *
   * rigil departs from OTP in what it compares, too: OTP exchanges the tables of the two nodes
   * that saw the nodeup and assumes every node of a partition holds the same one. rigil's
   * nodes of one partition may not (a node that lost the connection to a pid's node dropped
   * its names while one that kept it did not; an update under the lock reached part of the
   * partition before its sender was cut off), and a merge is the one moment both sides are
   * locked: so each side's table is the union of its locked nodes' tables, and the
   * operations of a side bring every node of it to the merged table, not just the first.
   * A name held by different pids on one side is a clash as much as one across the merge, and
   * is resolved the same way, loser killed: a registration under the lock can reach part of a
   * partition only (its node list was the registrar's, and one node of it was in another
   * partition's list as well), and keeping one pid silently left the other alive without its
   * name for good (explorer seed 703). The claims are weighed in table order: this side's
   * first, so across the merge it is this side's resolver that runs, as in OTP.
   */
  private async exchangeNames(myTables: ReadonlyArray<[string, NameOp[]]>, theirTables: ReadonlyArray<[string, NameOp[]]>): Promise<[NameOp[], NameOp[], Pid[]]> {
    const claims = claimsOf([...myTables, ...theirTables]);
    const merged = new Map<string, [Pid, string]>();
    const kills: Pid[] = [];
    for (const [name, [first, ...others]] of claims) {
      let held: [Pid, string] | null = first!;
      for (const other of others) {
        const winner: Pid | null = await this.resolveClash(name, { pid: held[0], resolver: held[1] }, other[0]);
        if (nameLog.enabled) nameLog(`${this.node.name}: ${name} held by ${String(held[0])} and ${String(other[0])}: ${winner === null ? 'neither' : String(winner)} keeps it`);
        if (winner !== null && held[1] === 'randomExitName' && this.resolvers.get('randomExitName') === randomExitName) kills.push(winner.equals(other[0]) ? held[0] : other[0]);
        // Neither keeps it: the name goes, and the claims not yet weighed lose it too (their
        // pids live on, unregistered, as the resolver's two did).
        if (winner === null) {
          held = null;
          break;
        }
        if (winner.equals(other[0])) held = other;
      }
      if (held !== null) merged.set(name, held);
    }
    return [opsToHold(merged, myTables), opsToHold(merged, theirTables), kills];
  }

  /** The other side: locks this node's partition for `boss`'s merge (a few attempts, then busy: the boss backs off). */
  private async lockForSync(boss: string): Promise<'locked' | 'busy'> {
    // The boss asks only when it does not know this node: knowledge on one side only (a
    // merge's node list named the other end of a loss) would block every merge of the pair for
    // good. OTP's `init_connect` does not look at `known` either: forget the boss and merge.
    this.forgetOneSided(boss);
    if (this.peerSyncs.has(boss) || this.hidden || !this.node.net.isConnected(boss)) return 'busy';
    const id: LockId = [GLOBAL_LOCK, `sync:${boss}|${this.node.name}`];
    const gen = this.linkGen.get(boss);
    const nodes = await this.lockGroup(id, SYNC_LOCK_ATTEMPTS);
    if (nodes === undefined) return 'busy';
    // The boss's connection went down (and maybe up again) meanwhile: its call failed there, so
    // nobody would ever finish this merge or unlock; the boss retries on the new connection.
    if (!this.node.net.isConnected(boss) || this.known.has(boss) || this.linkGen.get(boss) !== gen) {
      await this.delLock(id, nodes);
      return 'busy';
    }
    this.peerSyncs.set(boss, { nodes, links: this.linksOf(nodes) });
    return 'locked';
  }

  private async unlockForSync(boss: string): Promise<void> {
    const sync = this.peerSyncs.get(boss);
    if (sync === undefined) return;
    this.peerSyncs.delete(boss);
    await this.delLock([GLOBAL_LOCK, `sync:${boss}|${this.node.name}`], sync.nodes);
  }

  /** The other side: applies the boss's outcome to this partition (OTP's `resolved` + `new_nodes`), then unlocks it. */
  private async mergeHere(boss: string, ops: NameOp[], mine: string[], theirs: string[], kills: Pid[]): Promise<unknown> {
    const sync = this.peerSyncs.get(boss);
    if (sync === undefined) return { error: 'not_locked' };
    try {
      // A node of this side lost since it was locked and read: the outcome does not fit its
      // table any more (see `trySync`, explorer seed 13); the boss merges again.
      if (!this.sameLinks(sync.nodes, sync.links)) return { error: 'changed' };
      await this.everywhere(sync.nodes, { op: 'newNodes', ops, mine, theirs, kills });
    } finally {
      await this.unlockForSync(boss);
    }
    return 'ok';
  }

  /** OTP's `new_nodes`: apply a merge's name operations and learn the other partition's nodes. */
  private newNodes(ops: NameOp[], mine: string[], theirs: string[], kills: Pid[]): void {
    for (const pid of kills) if (pid.node === this.node.name) this.node.exit(pid, 'kill');
    const me = this.node.name;
    queueMicrotask(() => this.checkSynced());
    // Each side was a fully connected partition: what we remembered lost inside one is stale —
    // but for a loss between us and a node we are not connected to: the lists were taken when
    // the sides were locked, and a node lost since is still lost (clearing the loss would make
    // us know it again, unreachable, with the names of its pids dropped here but not there).
    for (const group of [mine, theirs]) {
      for (const a of group) {
        for (const b of group) {
          const memo = this.cuts.get(`${a}>${b}`);
          const ours = (a === me && !this.node.net.isConnected(b)) || (b === me && !this.node.net.isConnected(a));
          if (memo?.lost === true && !ours) memo.lost = false;
        }
      }
    }
    // A node of our own side we do not know (any more) is not ours to add: we lost it while the
    // merge ran, and with it the names of its pids, which it still holds. Knowing it again here
    // would make one partition of two disagreeing tables; left out, it asks for a merge of its
    // own (see `forgetOneSided`), which exchanges the names. The same holds for such a node
    // listed on both sides (the two partitions overlapped: it was lost by one of them).
    // The connections are started before the names are applied, so that the names of pids on
    // the nodes being connected are kept and checked once connected (see `insert`); the names
    // of a node lost again are dropped after.
    const lostAgain: string[] = [];
    for (const n of [...mine.filter((m) => this.known.has(m)), ...theirs.filter((t) => !mine.includes(t))]) {
      if (n === me || this.known.has(n)) continue;
      this.known.add(n);
      if (this.node.net.isConnected(n)) continue;
      if (this.pop && this.isCut(me, n)) {
        // We lost `n` (or `n` lost us: one end of a loss forgets the other silently) and never
        // got it back: the merge recreated an overlap; report it again. Knowing `n` meanwhile
        // would send it nothing (it is not connected) while counting it in our partition.
        this.known.delete(n);
        lostAgain.push(n);
        continue;
      }
      // OTP's connect_all: a node of the other partition we are not connected to yet.
      const attempt = this.node.connect(n);
      this.connecting.set(n, attempt);
      this.background(
        attempt.then((ok) => {
          if (this.connecting.get(n) === attempt) this.connecting.delete(n);
          if (!ok && !this.node.net.isConnected(n)) this.connectFailed(n);
        }),
        `connecting to ${n}`,
      );
    }
    for (const [name, pid] of ops) {
      if (pid === null) this.remove(name, undefined, 'merge: remove');
    }
    for (const [name, pid, resolver] of ops) if (pid !== null) this.insert(name, pid, resolver, 'merge: insert');
    for (const n of lostAgain) {
      this.dropNamesOn(n);
      this.report('lostConnection', n, true);
    }
  }

  /**
   * The first connection to `n`, a node a merge made known, failed: as OTP's nodedown after a
   * failed `connect_all`, `n` is lost (forgotten, its pids' names dropped). Its first failed
   * request says so as soon as the dial does: requests counted `n` out from then on (a
   * registration went ahead without it), so keeping it known until the attempt's retry is
   * over — or for good, if the retry connects — would leave two tables in one partition.
   * rigil departs from OTP in when: OTP's nodedown comes once `connect_node` gave up; rigil's
   * `connect` tries a failed dial once more, so the first failure a request or a monitor of
   * the node's pids sees counts as that nodedown (those already acted on it).
   */
  private connectFailed(n: string): void {
    this.connecting.delete(n);
    if (this.stopping || !this.known.has(n)) return;
    this.nodeDown(n);
    this.dropNamesOn(n);
  }

  /**
   * Rebuilds the replica from the known nodes (a restarted name server missed what they
   * sent while it was down). Runs under the `global` lock on every known node, so no
   * registration is half-done meanwhile: the union of the peers' replicas replaces ours, names
   * they do not hold are dropped. When no peer answers, the local replica is all there is and
   * is kept.
   */
  private resync(): Promise<void> {
    return this.serialised(() =>
      this.underGlobalLock(async (nodes) => {
        const peers = nodes.filter((n) => n !== this.node.name);
        const answers = await Promise.all(
          peers.map(async (peer) => {
            try {
              return parseNames(await this.callServer(peer, { op: 'names' }));
            } catch {
              return undefined; // the peer went away (or has no name server yet): it has nothing to give
            }
          }),
        );
        const lists = answers.filter((a): a is NameOp[] => a !== undefined);
        if (lists.length === 0) return;
        const merged = new Map<string, [Pid, string]>();
        for (const list of lists) for (const [name, pid, resolver] of list) if (pid !== null && !merged.has(name)) merged.set(name, [pid, resolver]);
        for (const name of [...this.names.keys()]) if (!merged.has(name)) this.remove(name, undefined, 'resync: remove');
        for (const [name, [pid, resolver]] of merged) this.insert(name, pid, resolver, 'resync: insert');
      }),
    ).catch((e: unknown) => {
      this.node.report({ kind: 'global', message: 're-syncing the names failed', reason: e });
    });
  }

  // ---------------------------------------------------------------- private: locks

  /**
   * Grants a lock on this node (OTP's `handle_set_lock`). A holder that is already dead (its
   * monitor fires at once: a dead local pid, an unreachable node) gets the lock and loses it
   * at once, as in OTP where its DOWN message removes it: nothing is kept, nothing recurses.
   */
  private grant(resource: unknown, requester: unknown, holder: Pid): boolean {
    const key = keyOf(resource);
    const req = keyOf(requester);
    let l = this.locks.get(key);
    if (l !== undefined && l.requester !== req) return false;
    const hk = String(holder);
    if (l?.holders.has(hk) === true) return true;
    // A holder on a node this node is not connected to is as good as dead (OTP's DOWN with
    // `noconnection`): its request came on a connection that is gone — the requester saw that
    // nodedown, counted this node out and will never unlock it here — so nothing is kept.
    // Monitoring it instead would dial the node, and a new connection would keep the stale lock
    // for as long as the holder lives (a frozen node processes such a request after it thaws).
    if (holder.node !== this.node.name && !this.node.net.isConnected(holder.node)) return true;
    const hm = this.holderMonitor(holder, hk);
    if (hm === undefined) return true;
    l = this.locks.get(key);
    if (l === undefined) this.locks.set(key, (l = { requester: req, holders: new Map() }));
    l.holders.set(hk, holder);
    hm.locks.set(key, req);
    this.idleHolders.delete(hk);
    return true;
  }

  /**
   * This node's monitor on `holder` (OTP's `handle_set_lock` monitors each holder once too):
   * the kept one, or a new one; undefined when the holder is dead already (the monitor fired
   * at once). Its DOWN releases every lock the holder holds here.
   *
   * rigil departs from OTP in keeping the monitor of a holder that holds no lock here any more
   * (up to `IDLE_HOLDER_MONITORS`): a node's name server holds the `global` lock of every
   * registration it makes, and OTP's monitor and demonitor per lock are two messages per
   * registration and node; a kept monitor costs one entry and no message.
   */
  private holderMonitor(holder: Pid, hk: string): HolderMonitor | undefined {
    const kept = this.holderMons.get(hk);
    if (kept !== undefined) return kept;
    let dead = false;
    const hm: HolderMonitor = { ref: undefined, locks: new Map() };
    hm.ref = this.node.monitor(holder, {
      onDown: () => {
        dead = true;
        if (this.holderMons.get(hk) !== hm) return;
        this.holderMons.delete(hk);
        this.idleHolders.delete(hk);
        for (const [key, req] of hm.locks) this.release(key, req, holder);
      },
    });
    if (dead) return undefined;
    this.holderMons.set(hk, hm);
    return hm;
  }

  private release(key: string, requester: string, holder: Pid): void {
    const l = this.locks.get(key);
    if (l === undefined || l.requester !== requester) return;
    const hk = String(holder);
    if (l.holders.delete(hk)) {
      const hm = this.holderMons.get(hk);
      if (hm !== undefined) {
        hm.locks.delete(key);
        if (hm.locks.size === 0) this.idle(hk);
      }
    }
    if (l.holders.size === 0) this.locks.delete(key);
  }

  /** `hk`'s holder holds no lock here now: its monitor is kept, the oldest idle one dropped past `IDLE_HOLDER_MONITORS`. */
  private idle(hk: string): void {
    this.idleHolders.add(hk);
    if (this.idleHolders.size <= IDLE_HOLDER_MONITORS) return;
    const oldest = this.idleHolders.values().next().value as string;
    this.idleHolders.delete(oldest);
    const o = this.holderMons.get(oldest);
    this.holderMons.delete(oldest);
    if (o?.ref !== undefined) this.node.demonitor(o.ref);
  }

  /** One all-or-nothing attempt on `targets`; partial grants are rolled back (OTP's `set_lock_on_nodes`). */
  private async lockOnce(targets: readonly string[], resource: unknown, requester: unknown, holder: Pid): Promise<boolean> {
    const answers = await Promise.all(targets.map((n) => this.lockOn(n, resource, requester, holder)));
    // 'down': a node that is not there holds no lock (OTP drops it from the set).
    if (answers.every((a) => a !== 'denied')) return true;
    await Promise.all(targets.filter((_n, i) => answers[i] === 'granted').map((n) => this.unlockOn(n, resource, requester, holder)));
    return false;
  }

  private async lockOn(node: string, resource: unknown, requester: unknown, holder: Pid): Promise<'granted' | 'denied' | 'down'> {
    if (node === this.node.name) return this.grant(resource, requester, holder) ? 'granted' : 'denied';
    try {
      const r = await this.callServer(node, { op: 'lock', resource, requester, holder });
      return r === 'granted' ? 'granted' : 'denied';
    } catch {
      // Down, or no name server there (restarting): OTP's multi_call counts it a bad node and
      // the lock is set without it.
      return 'down';
    }
  }

  private async unlockOn(node: string, resource: unknown, requester: unknown, holder: Pid): Promise<void> {
    if (node === this.node.name) {
      this.release(keyOf(resource), keyOf(requester), holder);
      return;
    }
    try {
      await this.callServer(node, { op: 'unlock', resource, requester, holder });
    } catch {
      // a node that went down released its locks with it
    }
  }

  /**
   * Locks `id` on this node and every known node (OTP's `set_lock_known`): once set, checks
   * that no node became known meanwhile, else lets go and tries again. `attempts` bounds the
   * tries (`Infinity`: until it succeeds); undefined when it gave up. Resolves with the nodes.
   */
  private async lockGroup(id: LockId, attempts: number): Promise<string[] | undefined> {
    const holder = this.serverPid();
    for (let attempt = 1; ; attempt++) {
      const nodes = this.group();
      if (await this.lockOnce(nodes, id[0], id[1], holder)) {
        if ([...this.known].every((n) => nodes.includes(n))) return nodes;
        await this.delLock(id, nodes);
      }
      if (attempt >= attempts) return undefined;
      await this.sleep(backoff(attempt, this.node.random));
    }
  }

  // ---------------------------------------------------------------- private: plumbing

  private get hidden(): boolean {
    return this.node.net.options.hidden;
  }

  /** The connection generation of each node of `nodes` now (see `linkGen`). No OTP counterpart. */
  private linksOf(nodes: readonly string[]): Map<string, number | undefined> {
    return new Map(nodes.map((n) => [n, this.linkGen.get(n)]));
  }

  /**
   * True when every node of `nodes` but this one is still known and on the connection it had
   * when `links` was taken (`linksOf`): none was lost, or lost and connected again, meanwhile.
   */
  private sameLinks(nodes: readonly string[], links: ReadonlyMap<string, number | undefined>): boolean {
    return nodes.every((n) => n === this.node.name || (this.known.has(n) && this.linkGen.get(n) === links.get(n)));
  }

  /** This node and every node it has synced with (OTP's `[node() | Known]`). */
  private group(): string[] {
    return [this.node.name, ...[...this.known].sort()];
  }

  /** The default node set of `setLock`/`trans`: this node and the connected visible ones (OTP's `[node() | nodes()]`). */
  private connectedGroup(): string[] {
    return this.hidden ? [this.node.name] : [this.node.name, ...this.node.nodes()];
  }

  private serverPid(): Pid {
    if (this.server === undefined) throw distError('ERR_NOT_CONNECTED', 'global is not started on this node');
    return this.server;
  }

  private holderPid(holder: Process | Pid | undefined): Pid {
    if (holder === undefined) return this.serverPid();
    if (holder instanceof Pid) return holder;
    const pid = (holder as { pid?: unknown } | null)?.pid;
    if (!(pid instanceof Pid)) throw distError('ERR_BADARG', `a lock holder is a pid or a process, got ${describe(holder)}`);
    return pid;
  }

  /**
   * Calls `node`'s name server without a timeout (OTP's `multi_call`): only its nodedown ends the
   * wait. A node this node is not connected to fails at once, as a bad node: a call would dial
   * it and deliver the request on a later connection, after the partitions split — an insert
   * or a lock would then land in the other partition behind the merge's back (the merge
   * exchanges names assuming each side's replicas agree); the merge carries the change over
   * instead. A node a merge just made known, not connected yet (`connecting`), is waited for
   * (OTP's `multi_call` auto-connects): it belongs to this partition — but only while the
   * merge's first connection attempt lasts: a request that fails before the node is connected
   * ends it, and the node is lost (`connectFailed`). (A request made right after the dial
   * failed, before the attempt's outcome was handled, dialled again and landed after a heal, behind the next
   * merge's back: two nodes each cut off registered one name, each took the other's
   * registration at the heal, and no merge ever compared the two.)
   */
  private callServer(node: string, req: GlobalRequest): Promise<unknown> {
    if (this.node.net.isConnected(node)) return this.peerCall(node, req);
    const attempt = this.connecting.get(node);
    if (attempt === undefined) return Promise.reject(notConnected(node));
    return this.peerCall(node, req).catch((e: unknown) => {
      if (this.connecting.get(node) === attempt && !this.node.net.isConnected(node)) this.connectFailed(node);
      throw e;
    });
  }

  /**
   * Calls `node`'s name server: a `gen_server` call (the server sees an ordinary call and
   * answers it), but one monitor on that server per peer instead of one per call (OTP's
   * `gen_server:multi_call` monitors per call; a remote monitor is two messages, a monitor and
   * a demonitor, as many as the call itself). Replies come to an alias per call; the
   * monitor's DOWN — the server died, or the connection went down — fails every call pending
   * with it, as their own monitors would have (see `peerDown`).
   */
  private peerCall(node: string, req: GlobalRequest): Promise<unknown> {
    const link = this.peerLink(node);
    return new Promise((resolve, reject) => {
      if (link.down) {
        reject(notConnected(node));
        return;
      }
      const call: PeerCall = { req, resolve, reject, tag: undefined };
      const tag = this.node.alias({
        onAlias: (reply) => {
          this.node.unalias(tag);
          if (!link.calls.delete(call)) return;
          resolve(reply);
        },
      });
      call.tag = tag;
      link.calls.add(call);
      this.node.send([GLOBAL_NAME_SERVER, node], { $gen: 'call', pid: this.node.systemPid, tag, req });
    });
  }

  /** The link to `node`'s name server: the live one, or a new one with its monitor (see `peerCall`). */
  private peerLink(node: string): PeerLink {
    const live = this.peerLinks.get(node);
    if (live !== undefined && !live.down) return live;
    const link: PeerLink = { calls: new Set(), monitor: undefined, down: false };
    this.peerLinks.set(node, link);
    link.monitor = this.node.monitor([GLOBAL_NAME_SERVER, node], { onDown: (_ref, reason) => this.peerDown(node, link, reason) });
    return link;
  }

  /**
   * `node`'s name server went down with `reason` (or the connection did: `noconnection`): every
   * call pending with it fails. If the server died but the node is still connected, a lock
   * request among them may yet be granted by the next incarnation (it shares this node's locks
   * table, see the module doc) — one the caller counts as not granted and would never release;
   * so each is followed by an unlock, which comes after it on the connection (a no-op if the
   * lock was never granted).
   */
  private peerDown(node: string, link: PeerLink, reason: unknown): void {
    if (link.down && link.calls.size === 0) return;
    link.down = true;
    if (this.peerLinks.get(node) === link) this.peerLinks.delete(node);
    if (link.monitor !== undefined && reason === 'nodedown') this.node.demonitor(link.monitor);
    const calls = [...link.calls];
    link.calls.clear();
    const stillConnected = reason !== 'noconnection' && reason !== 'nodedown' && this.node.net.isConnected(node);
    for (const c of calls) {
      if (c.tag !== undefined) this.node.unalias(c.tag);
      if (stillConnected && (c.req.op === 'lock' || c.req.op === 'apply')) {
        const [resource, requester, holder] = c.req.op === 'lock' ? [c.req.resource, c.req.requester, c.req.holder] : c.req.unlock;
        // A call whose answer nobody waits for (its tag is no alias): an ordinary unlock there.
        this.node.send([GLOBAL_NAME_SERVER, node], { $gen: 'call', pid: this.node.systemPid, tag: this.node.makeRef(), req: { op: 'unlock', resource, requester, holder } });
      }
      c.reject(distError('ERR_NOT_CONNECTED', `the global name server of ${node} is down`, { reason: describe(reason) }));
    }
  }

  /** Runs `fn` after the previous local registration finished (OTP's single registrar process). */
  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.registrar.then(fn, fn);
    this.registrar = run.catch(() => undefined);
    return run;
  }

  /**
   * Queues a name change of this node for the registrar (OTP's `registrar` process, which runs
   * each registration in a `trans_all_known` of its own). rigil's registrar takes every
   * registration queued when its turn comes (up to `CHANGE_BATCH`) under ONE lock: the lock
   * round, then one `apply` round that makes the changes on every node and releases the lock
   * there — two rounds of calls per batch where OTP makes three per registration (lock,
   * register, unlock). Each change is decided in call order, against the replica and the
   * changes before it in the batch, so the outcomes are those of one registration at a time.
   * A re-registration or unregistration has a batch of its own.
   */
  private change(c: Omit<NameChange, 'resolve' | 'reject'>): Promise<'yes' | 'no' | undefined> {
    return new Promise((resolve, reject) => {
      this.changes.push({ ...c, resolve, reject });
      if (this.changeQueued) return;
      this.changeQueued = true;
      void this.serialised(() => this.runChanges());
    });
  }

  /** The registrar's turn: the next batch of `changes` (see `change`). */
  private async runChanges(): Promise<void> {
    this.changeQueued = false;
    const first = this.changes[0];
    if (first === undefined) return;
    let n = 1;
    let bytes = first.name.length;
    if (first.kind === 'register') {
      for (; n < this.changes.length && n < CHANGE_BATCH && this.changes[n]!.kind === 'register'; n++) {
        bytes += this.changes[n]!.name.length + CHANGE_OP_BYTES;
        if (bytes > CHANGE_BATCH_BYTES) break;
      }
    }
    const batch = this.changes.splice(0, n);
    if (this.changes.length > 0) {
      this.changeQueued = true;
      void this.serialised(() => this.runChanges());
    }
    try {
      // Registrations that fail now fail under the lock too (registrations only add names):
      // no lock for them (as OTP's `register_name` checks before its `trans_all_known`).
      let open = batch;
      if (first.kind === 'register') {
        const taken = (c: NameChange): boolean => this.names.has(c.name) || this.hasName(c.pid!);
        for (const c of batch) if (taken(c)) c.resolve('no');
        open = batch.filter((c) => !taken(c));
      }
      if (open.length === 0) return;
      const [id, nodes] = await this.lockKnown();
      let ops: NameOp[] = [];
      const outcomes: Array<'yes' | 'no' | undefined> = [];
      try {
        ops = this.decide(open, outcomes);
      } finally {
        if (ops.length === 0) await this.delLock(id, nodes);
      }
      if (ops.length > 0) {
        // Each node releases the lock once it applied the batch; a local failure (a bug) must not keep it.
        await this.everywhere(nodes, { op: 'apply', ops, unlock: [id[0], id[1], this.serverPid()] }).catch(async (e: unknown) => {
          await this.delLock(id, nodes);
          throw e;
        });
      }
      open.forEach((c, i) => c.resolve(outcomes[i]));
    } catch (e) {
      for (const c of batch) c.reject(e);
    }
  }

  /**
   * Decides each change of a batch under the lock, in order (see `change`): its outcome in
   * `outcomes`, and the name operations to apply everywhere. Keeps the function resolvers of
   * the names it gives.
   */
  private decide(batch: readonly NameChange[], outcomes: Array<'yes' | 'no' | undefined>): NameOp[] {
    const ops: NameOp[] = [];
    const named = new Set<string>();
    const namedPids = new Set<string>();
    for (const c of batch) {
      if (c.kind === 'unregister') {
        if (this.names.has(c.name)) ops.push([c.name, null, '']);
        outcomes.push(undefined);
        continue;
      }
      const pid = c.pid!;
      if (c.kind === 'register' && (this.names.has(c.name) || named.has(c.name) || this.hasName(pid) || namedPids.has(String(pid)))) {
        outcomes.push('no');
        continue;
      }
      named.add(c.name);
      namedPids.add(String(pid));
      this.keepFn(c.name, c.fn!);
      ops.push([c.name, pid, c.resolver]);
      outcomes.push('yes');
    }
    return ops;
  }

  /**
   * Takes `[global, registrar@this node]` on this node and every known one (OTP's
   * `set_lock_known`): the lock id and the nodes it holds. rigil waits (boundedly) first for
   * the merges with nodes that just came up, so that a registration reaches every node
   * connected when it was made; OTP's registrar does not wait (the merge carries the name over
   * later). Same outcome, sooner agreement.
   */
  private async lockKnown(): Promise<[LockId, string[]]> {
    await this.sync(REGISTRATION_SYNC_WAIT_MS);
    const id: LockId = [GLOBAL_LOCK, `registrar@${this.node.name}`];
    return [id, (await this.lockGroup(id, Infinity))!];
  }

  /** Holds `[global, registrar@this node]` on this node and every known one while `fn` runs (OTP's `trans_all_known`). */
  private async underGlobalLock<T>(fn: (nodes: string[]) => Promise<T>): Promise<T> {
    const [id, nodes] = await this.lockKnown();
    try {
      return await fn(nodes);
    } finally {
      await this.delLock(id, nodes);
    }
  }

  /**
   * Applies a request on every node of `nodes` and waits for all (down nodes are skipped). The
   * requests to the other nodes are sent before this node applies its own: an insert of a
   * local pid that is dead by then makes this node announce the death (`pidDown`) after the
   * insert, on each connection, so that no node keeps the name (see `insert`).
   */
  private async everywhere(nodes: readonly string[], req: GlobalRequest): Promise<void> {
    const me = this.node.name;
    const sent = nodes
      .filter((n) => n !== me)
      .map(async (n) => {
        try {
          await this.callServer(n, req);
        } catch {
          // a node that went down does not need the update; its replica dies with it
        }
      });
    if (nodes.includes(me)) this.handleRequest(req, me);
    await Promise.all(sent);
  }

  /** Runs a promise in the background: a rejection is reported, never left unhandled. */
  private background(p: Promise<unknown>, what: string): void {
    p.catch((e: unknown) => this.node.report({ kind: 'global', message: `${what} failed`, reason: e }));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.node.timers.schedule(ms, resolve, undefined));
  }
}

/**
 * The name server process (OTP's `global_name_server`): answers other nodes' requests. Started
 * by `kernel_sup`; each incarnation re-syncs the names (`Global.serverStarted`). A request
 * whose answer needs other nodes (a merge) is answered later, without blocking the server.
 */
export function globalNameServer(g: Global): GenServerBehaviour<null, undefined, { call: GlobalRequest; reply: unknown; cast: GlobalCast }> {
  return {
    init: (_args, self) => {
      g.serverStarted(self.pid);
      return { ok: null };
    },
    handleCall: (req, from, state, self) => {
      const r = parseRequest(req);
      if (r === undefined) {
        self.node.report({ kind: 'global', message: 'the global name server refused a malformed request', reason: describe(req) });
        return { reply: { error: 'bad_request' }, state };
      }
      if (r.op === 'insert' && r.pid.node === from.pid.node && !g.connectedTo(from.pid.node)) {
        // OTP handles the messages a connection delivered before its nodedown: such an insert
        // of a pid of the caller's node is made, then the nodedown's DOWN (noconnection) drops
        // it. rigil's nodedown overtakes the mailbox (a thawed node sees it first), and the
        // insert's monitor would dial the node and survive: this node would keep a name the rest
        // of its partition dropped at the same nodedown. So it is dropped, as OTP ends up.
        self.node.report({ kind: 'global', message: `the global name server dropped an insert of ${renderUntrusted(r.name)} from ${from.pid.node}, whose connection went down` });
        return { noreply: state };
      }
      if (r.op === 'apply' && !g.connectedTo(from.pid.node)) {
        // The same for the inserts of such a batch (the others are made, as OTP makes them); no
        // answer, as above: the caller saw the nodedown.
        const caller = from.pid.node;
        const dropped = r.ops.filter(([, pid]) => pid?.node === caller);
        if (dropped.length > 0) self.node.report({ kind: 'global', message: `the global name server dropped ${dropped.length} inserts from ${renderUntrusted(caller)}, whose connection went down` });
        g.handleRequest({ ...r, ops: r.ops.filter(([, pid]) => pid?.node !== caller) }, caller);
        return { noreply: state };
      }
      const answer = g.handleRequest(r, from.pid.node);
      if (!(answer instanceof Promise)) return { reply: answer, state };
      (answer as Promise<unknown>).then(
        (v) => (from).reply(v),
        (e: unknown) => {
          self.node.report({ kind: 'global', message: `the global name server failed to answer ${r.op}`, reason: e });
          (from).reply({ error: 'failed' });
        },
      );
      return { noreply: state };
    },
    handleCast: (msg, state, self) => {
      const m = parseCast(msg);
      if (m === undefined) self.node.report({ kind: 'global', message: 'the global name server dropped a malformed cast', reason: describe(msg) });
      else g.handleCast(m);
      return { noreply: state };
    },
    handleInfo: (msg, state, self) => {
      // OTP's global logs an unexpected message and goes on.
      self.node.report({ kind: 'global', message: 'the global name server dropped an unexpected message', reason: describe(msg) });
      return { noreply: state };
    },
  };
}

// ---------------------------------------------------------------- validation of what peers send

const isNames = (x: unknown): x is NameOp[] =>
  Array.isArray(x) && x.every((e: unknown) => Array.isArray(e) && e.length === 3 && typeof e[0] === 'string' && (e[1] === null || e[1] instanceof Pid) && typeof e[2] === 'string');
const isPidList = (x: unknown): x is Pid[] | undefined => x === undefined || (Array.isArray(x) && x.length <= 65_536 && x.every((p) => p instanceof Pid));
const isNodeList = (x: unknown): x is string[] => Array.isArray(x) && x.length <= 65_536 && x.every((n) => typeof n === 'string');

/** The request, if `x` is a well-formed one; undefined otherwise. */
function parseRequest(x: unknown): GlobalRequest | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const r = x as Record<string, unknown>;
  const ok = ((): boolean => {
    switch (r.op) {
      case 'lock':
      case 'unlock':
        return 'resource' in r && 'requester' in r && r.holder instanceof Pid;
      case 'insert':
        return typeof r.name === 'string' && r.name !== '' && r.pid instanceof Pid && typeof r.resolver === 'string';
      case 'delete':
        return typeof r.name === 'string' && (r.pid === undefined || r.pid instanceof Pid);
      case 'apply':
        return (
          Array.isArray(r.ops) && r.ops.length <= CHANGE_BATCH && isNames(r.ops) && r.ops.every(([name]) => name !== '') &&
          Array.isArray(r.unlock) && r.unlock.length === 3 && r.unlock[2] instanceof Pid
        );
      case 'names':
        return true;
      case 'alive':
        return Array.isArray(r.pids) && r.pids.length <= ALIVE_BATCH && r.pids.every((p) => p instanceof Pid);
      case 'pidDown':
        return r.pid instanceof Pid;
      case 'syncLock':
      case 'exchange':
        return typeof r.boss === 'string';
      case 'merge':
        return typeof r.boss === 'string' && isNames(r.ops) && isNodeList(r.mine) && isNodeList(r.theirs) && isPidList(r.kills);
      case 'newNodes':
        return isNames(r.ops) && isNodeList(r.mine) && isNodeList(r.theirs) && isPidList(r.kills);
      default:
        return false;
    }
  })();
  return ok ? (r as unknown as GlobalRequest) : undefined;
}

/** The cast, if `x` is a well-formed one; undefined otherwise. */
function parseCast(x: unknown): GlobalCast | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const m = x as Record<string, unknown>;
  if (typeof m.via !== 'string') return undefined;
  const ok =
    m.op === 'lostConnection' ? typeof m.from === 'string' && typeof m.lost === 'string' && Number.isSafeInteger(m.seq) && Number.isSafeInteger(m.creation)
    : m.op === 'connected' ? typeof m.from === 'string' && typeof m.to === 'string' && Number.isSafeInteger(m.seq) && Number.isSafeInteger(m.creation)
    : m.op === 'syncRequest' || m.op === 'syncAbort' || m.op === 'removeConnection';
  return ok ? (m as unknown as GlobalCast) : undefined;
}

/** A peer's answer to `names`, if well-formed. */
function parseNames(x: unknown): NameOp[] | undefined {
  return isNames(x) ? x : undefined;
}

/** A peer's answer to `exchange`, if well-formed. */
function parseExchange(x: unknown): { names: NameOp[]; group: string[]; tables?: Array<[string, NameOp[]]> } | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const r = x as Record<string, unknown>;
  if (!isNames(r.names) || !isNodeList(r.group)) return undefined;
  if (r.tables === undefined) return { names: r.names, group: r.group };
  const ok = Array.isArray(r.tables) && r.tables.length <= 65_536 && r.tables.every((t: unknown) => Array.isArray(t) && t.length === 2 && typeof t[0] === 'string' && isNames(t[1]));
  return ok ? { names: r.names, group: r.group, tables: r.tables as Array<[string, NameOp[]]> } : undefined;
}

/** True when `tables` holds the table of every node of `nodes` (each answered the merge's read). */
function readAll(nodes: readonly string[], tables: ReadonlyArray<[string, NameOp[]]>): boolean {
  return nodes.every((n) => tables.some(([t]) => t === n));
}

/**
 * Every pid that claims each name in `tables`, in table order (this side's first, each side
 * answering node's own first), without repeats: two claims of one name are a clash, whether on
 * one side or across the merge.
 */
function claimsOf(tables: ReadonlyArray<[string, NameOp[]]>): Map<string, Array<[Pid, string]>> {
  const claims = new Map<string, Array<[Pid, string]>>();
  for (const [, names] of tables) {
    for (const [name, pid, resolver] of names) {
      if (pid === null) continue;
      const list = claims.get(name);
      if (list === undefined) claims.set(name, [[pid, resolver]]);
      else if (!list.some(([p]) => p.equals(pid))) list.push([pid, resolver]);
    }
  }
  return claims;
}

/** The operations that bring every one of `tables` to `merged` (an insert a node already holds is a no-op there). */
function opsToHold(merged: ReadonlyMap<string, [Pid, string]>, tables: ReadonlyArray<[string, NameOp[]]>): NameOp[] {
  const ops = new Map<string, NameOp>();
  for (const [, names] of tables) {
    const held = new Map<string, Pid>();
    for (const [name, pid] of names) if (pid !== null) held.set(name, pid);
    for (const [name, [pid, resolver]] of merged) if (!ops.has(name) && held.get(name)?.equals(pid) !== true) ops.set(name, [name, pid, resolver]);
    for (const name of held.keys()) if (!merged.has(name) && !ops.has(name)) ops.set(name, [name, null, '']);
  }
  return [...ops.values()];
}

// ---------------------------------------------------------------- built-in resolvers

/** Orders two pids by node name (OTP's `minmax/2`). */
function minmax(a: Pid, b: Pid): [Pid, Pid] {
  return a.node < b.node || (a.node === b.node && Pid.compare(a, b) <= 0) ? [a, b] : [b, a];
}

/** Keeps the pid on the smaller node name and kills the other (OTP's `random_exit_name/3`, the default). */
export const randomExitName: Resolver = (_name, p1, p2, node) => {
  const [min, max] = minmax(p1, p2);
  node.exit(max, 'kill');
  return min;
};

/** Keeps the pid on the smaller node name and tells the other (OTP's `random_notify_name/3`). */
export const randomNotifyName: Resolver = (name, p1, p2, node) => {
  const [min, max] = minmax(p1, p2);
  node.send(max, { tag: 'global_name_conflict', name } satisfies NameConflict);
  return min;
};

/** Unregisters the name and tells both pids (OTP's `notify_all_name/3`). */
export const notifyAllName: Resolver = (name, p1, p2, node) => {
  node.send(p1, { tag: 'global_name_conflict', name, other: p2 } satisfies NameConflict);
  node.send(p2, { tag: 'global_name_conflict', name, other: p1 } satisfies NameConflict);
  return undefined;
};

// ---------------------------------------------------------------- helpers

/**
 * OTP's back-off after failed attempt `n`: uniform in [1, min(2^n·1000/8, 8000)] ms, drawn from
 * the node's `random` (seeded in a simulation).
 */
export function backoff(n: number, random: Pick<Random, 'float'>): number {
  const max = Math.min(2 ** n * 125, 8000);
  return 1 + Math.floor(random.float() * max);
}

function notConnected(node: string): DistError {
  return distError('ERR_NOT_CONNECTED', `${node} is not connected`);
}

/**
 * The string of a global name: `name` itself, or the `global` of a typed `{ global: name }`
 * (core's `globalName`; its protocol is a phantom type, so only the string matters here).
 */
function plainName(name: string | { readonly global: string }): string {
  return typeof name === 'object' && name !== null && typeof name.global === 'string' ? name.global : (name as string);
}

function checkName(name: unknown): void {
  if (typeof name !== 'string' || name === '') throw distError('ERR_BADARG', `bad global name ${describe(name)}: a non-empty string`);
}

function checkPid(pid: unknown): void {
  if (!(pid instanceof Pid)) throw distError('ERR_BADARG', `global registers pids, got ${describe(pid)}`);
}

function checkLockId(id: unknown): readonly [unknown, unknown] {
  if (!Array.isArray(id) || id.length !== 2) throw distError('ERR_BADARG', 'a lock id is [resource, requester]');
  return id as unknown as readonly [unknown, unknown];
}

/** OTP's `set_lock/3` guard: `Retries` is a non-negative integer or `infinity`. */
function checkRetries(retries: unknown): void {
  if (!(retries === Infinity || (typeof retries === 'number' && Number.isSafeInteger(retries) && retries >= 0))) {
    throw distError('ERR_BADARG', `retries must be a non-negative integer or Infinity, got ${describe(retries)}`);
  }
}

function checkNodes(nodes: unknown): string[] | undefined {
  if (nodes === undefined) return undefined;
  if (!Array.isArray(nodes) || !nodes.every((n) => typeof n === 'string')) throw distError('ERR_BADARG', `nodes must be an array of node names, got ${describe(nodes)}`);
  return nodes;
}

/** A stable key for any encodable term (pids print canonically). */
function keyOf(x: unknown): string {
  if (typeof x === 'string') return `s:${x}`;
  return `j:${JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Map ? [...v] : v instanceof Set ? [...v] : v))}`;
}
