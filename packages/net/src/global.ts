/**
 * `global`: the cluster-wide name registry and locks (OTP's `global`). Semantics: spec §f.
 *
 * Every visible node runs a name server (`global_name_server`) holding a full replica of the
 * names, so `whereis` is a local lookup. A registration takes the `global` lock on every
 * connected node, checks the replica, and inserts the name on every node before it returns:
 * two nodes racing for one name never both win. Each name server monitors every registered
 * pid, so a name disappears everywhere when its process dies or its node goes down.
 *
 * When two partitions connect, the node with the smaller name exchanges names with the other
 * side and resolves clashes with the resolver of its own side, run where its side's pid lives
 * (built-ins: `randomExitName` — the default, keeps the pid on the smaller node name and
 * kills the other —, `randomNotifyName`, `notifyAllName`); the outcome goes to every node.
 *
 * Overlapping partitions: rigil prevents them by default, as OTP 25+ does
 * (`preventOverlappingPartitions`): a node that loses its connection to B tells every node it
 * knows, and those still connected to B disconnect from it, so the cluster splits into
 * cleanly separated groups. With the option off, partial partitions are left as they are.
 *
 * The name server is a child of the node's `kernel_sup`. The replica lives in the `Global`
 * object, but a crash may have left it half-updated and the inserts and deletes peers sent
 * while the server was down are lost; so every incarnation of the server re-syncs the names
 * with every connected node under the `global` lock (OTP's `global` does a full sync with every
 * node when it starts). Locks held on this node stay held: their holders are watched by node
 * monitors, not by the server (OTP's lock table dies with the server and is not re-synced).
 * A malformed request is answered with `{ error: 'bad_request' }` (a call) or dropped with a
 * report (a cast, a stray message); it never stops the server.
 */
import { genServer, Pid, type GenServerBehaviour, type GlobalNames, type Node, type Process, type Random, type Ref } from '@rigil/core';
import { DistError, describeBadInput as describe, distError } from './errors.js';
import type { NodeEvent } from './net_kernel.js';
import type { Rpc } from './rpc.js';

/** The registered name of the name server on every node. */
export const GLOBAL_NAME_SERVER = 'global_name_server';

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
  /** Drops the connection to `node`. */
  disconnect(node: string): boolean;
  /** Subscribes to nodeup/nodedown; returns an unsubscribe function. */
  onNodeEvent(fn: (e: NodeEvent) => void): () => void;
  /** The net kernel, to ask whether a node is connected. */
  readonly net: { isConnected(node: string): boolean };
  /** The node's rpc service (resolvers run where their pid lives). */
  readonly rpc: Rpc;
};

/**
 * A name-clash resolver (OTP's `Resolve(Name, Pid1, Pid2)`): returns the pid that keeps the
 * name, or anything else (e.g. `undefined`) to unregister it. `node` is the node it runs on.
 */
export type Resolver = (name: string, pid1: Pid, pid2: Pid, node: GlobalHost) => Pid | undefined | Promise<Pid | undefined>;

/** Message a pid gets from `randomNotifyName` / `notifyAllName`. */
export interface NameConflict {
  readonly tag: 'global_name_conflict';
  readonly name: string;
  /** The other pid (`notifyAllName` only). */
  readonly other?: Pid;
}

/** One name in the replica. */
interface NameEntry {
  readonly pid: Pid;
  /** Name of the resolver to use on a clash (a built-in, or one registered on the registering node). */
  readonly resolver: string;
  /** This node's monitor on the pid. */
  readonly monitor: Ref;
}

/** One lock held on this node. */
interface LockEntry {
  /** Key of the requester id that holds it. */
  readonly requester: string;
  /** The processes holding it (same requester), with this node's monitor on each. */
  readonly holders: Map<string, { pid: Pid; monitor: Ref }>;
}

/** Requests between name servers. */
type GlobalRequest =
  | { op: 'lock'; resource: unknown; requester: unknown; holder: Pid }
  | { op: 'unlock'; resource: unknown; requester: unknown; holder: Pid }
  | { op: 'insert'; name: string; pid: Pid; resolver: string }
  | { op: 'delete'; name: string; pid?: Pid }
  | { op: 'names' }
  | { op: 'apply'; decisions: Array<[string, Pid | null, string]> };

type GlobalCast = { op: 'lostConnection'; from: string; lost: string };

/** Options of `global`. */
export interface GlobalOptions {
  /** Split partial partitions into clean ones, as OTP 25+ (default true). */
  preventOverlappingPartitions?: boolean;
}

/** The `global` service of a node: `node.global` (or `globalOf(self)`). */
/** Conflict decisions a name server remembers (see `Global.runResolver`). */
const DECIDED_LIMIT = 1024;

export class Global implements GlobalNames {
  /** The replica of the names. */
  private readonly names = new Map<string, NameEntry>();
  /** Names held by each pid, by the pid's printed form (`register` allows one; `reRegister` may add more). */
  private readonly nameOf = new Map<string, Set<string>>();
  /** Locks held on this node, by resource key. */
  private readonly locks = new Map<string, LockEntry>();
  /** Resolvers by name (built-ins plus user ones). */
  private readonly resolvers = new Map<string, Resolver>();
  /** Decisions of conflicts resolved here, by name and the two pids (see `runResolver`). */
  private readonly decided = new Map<string, Promise<Pid | null>>();
  /** Local registrations run one at a time (OTP's registrar process). */
  private registrar: Promise<unknown> = Promise.resolve();
  /** Numbers the names of function resolvers registered here. */
  private nextResolver = 1;
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
    node.onStop(() => {
      this.stopping = true;
    });
  }

  /**
   * @internal Called by each incarnation of the name server from its `init`: it becomes the
   * holder of the node's locks, and re-syncs the names with every connected node.
   */
  serverStarted(pid: Pid): void {
    this.server = pid;
    if (this.incarnations++ > 0) this.node.report({ kind: 'global', message: 'the global name server restarted: re-syncing names with the connected nodes' });
    if (this.node.nodes().length > 0) this.lastSync = this.resync();
  }

  /** Resolves once the re-sync started by the latest name server incarnation is over. */
  synced(): Promise<void> {
    return this.lastSync;
  }

  /** How many times the name server has started on this node (1 = never restarted). */
  get serverIncarnations(): number {
    return this.incarnations;
  }

  // ---------------------------------------------------------------- names

  /**
   * Registers `name` for `pid` on every connected node (OTP's `global:register_name/3`):
   * `'no'` if the name is taken or the pid already has a name. `resolve` is a built-in
   * resolver name, a resolver registered with `registerResolver`, or a function (usable on
   * this node only).
   */
  register(name: string, pid: Pid, resolve: string | Resolver = 'randomExitName'): Promise<'yes' | 'no'> {
    checkName(name);
    const resolver = this.resolverName(resolve);
    return this.serialised(async () => {
      if (this.names.has(name) || this.nameOf.has(String(pid))) return 'no';
      return this.underGlobalLock(async (nodes) => {
        if (this.names.has(name) || this.nameOf.has(String(pid))) return 'no';
        await this.everywhere(nodes, { op: 'insert', name, pid, resolver });
        return 'yes';
      });
    });
  }

  /** Points `name` at `pid` on every node, replacing any holder (OTP's `global:re_register_name/3`); always `'yes'`. */
  reRegister(name: string, pid: Pid, resolve: string | Resolver = 'randomExitName'): Promise<'yes'> {
    checkName(name);
    const resolver = this.resolverName(resolve);
    return this.serialised(() =>
      this.underGlobalLock(async (nodes) => {
        await this.everywhere(nodes, { op: 'insert', name, pid, resolver });
        return 'yes' as const;
      }),
    );
  }

  /** Removes `name` on every node (OTP's `global:unregister_name/1`); a no-op if absent. */
  unregister(name: string): Promise<void> {
    return this.serialised(() =>
      this.underGlobalLock(async (nodes) => {
        if (this.names.has(name)) await this.everywhere(nodes, { op: 'delete', name });
      }),
    );
  }

  /**
   * Sizes of global's internal tables (names, names by pid, locks, resolvers), for tools that
   * check they stay bounded (the simulation's invariant I7). No OTP counterpart; read-only.
   */
  internalSizes(): Record<string, number> {
    return { names: this.names.size, nameOf: this.nameOf.size, locks: this.locks.size, resolvers: this.resolvers.size };
  }

  /** The pid holding `name`, from the local replica (OTP's `global:whereis_name/1`). */
  whereis(name: string): Pid | undefined {
    return this.names.get(name)?.pid;
  }

  /** Every registered name (OTP's `global:registered_names/0`). */
  registeredNames(): string[] {
    return [...this.names.keys()];
  }

  /**
   * Sends `msg` to the holder of `name` and returns its pid (OTP's `global:send/2`); an
   * unknown name throws `ERR_GLOBAL_NOT_REGISTERED`.
   */
  send(name: string, msg: unknown): Pid {
    const pid = this.whereis(name);
    if (pid === undefined) throw new DistError('ERR_GLOBAL_NOT_REGISTERED', `no process is registered globally as ${JSON.stringify(name)}`, { badarg: [name, msg] });
    this.node.send(pid, msg);
    return pid;
  }

  /** Makes a resolver usable by name on this node (register it on every node that may resolve). */
  registerResolver(name: string, fn: Resolver): void {
    this.resolvers.set(name, fn);
  }

  /** Pids this node's name server monitors for names (for tests and tools). */
  monitoredPids(): Pid[] {
    return [...this.names.values()].map((e) => e.pid);
  }

  // ---------------------------------------------------------------- locks

  /**
   * Sets a lock on `nodes` (default: this node and every connected one), all or nothing
   * (OTP's `global:set_lock/3`). Retries with OTP's randomised back-off up to `retries` times
   * (default forever); resolves false when it could not. `holder` is the process the lock dies
   * with (default: this node's name server, i.e. the node).
   */
  async setLock(id: LockId, nodes?: readonly string[], retries = Infinity, holder?: Process | Pid): Promise<boolean> {
    const [resource, requester] = checkLockId(id);
    const holderPid = holder === undefined ? this.serverPid() : holder instanceof Pid ? holder : holder.pid;
    const targets = nodes ?? this.knownNodes();
    for (let attempt = 1; ; attempt++) {
      const granted: string[] = [];
      let ok = true;
      const answers = await Promise.all(targets.map((n) => this.lockOn(n, resource, requester, holderPid)));
      answers.forEach((a, i) => {
        if (a === 'granted') granted.push(targets[i]!);
        else if (a === 'denied') ok = false;
        // 'down': a node that is not there holds no lock (OTP drops it from the set)
      });
      if (ok) return true;
      // Roll back the partial grants everywhere before trying again (OTP's multi_call).
      await Promise.all(granted.map((n) => this.unlockOn(n, resource, requester, holderPid)));
      if (attempt > retries) return false;
      await this.sleep(backoff(attempt, this.node.random));
    }
  }

  /** Releases a lock on `nodes`; resolves once every node has released it (OTP's `global:del_lock/2`). */
  async delLock(id: LockId, nodes?: readonly string[], holder?: Process | Pid): Promise<true> {
    const [resource, requester] = checkLockId(id);
    const holderPid = holder === undefined ? this.serverPid() : holder instanceof Pid ? holder : holder.pid;
    await Promise.all((nodes ?? this.knownNodes()).map((n) => this.unlockOn(n, resource, requester, holderPid)));
    return true;
  }

  /**
   * Runs `fn` holding the lock (OTP's `global:trans/4`): returns its value, or `'aborted'` if the
   * lock could not be set; the lock is released even if `fn` throws.
   */
  async trans<T>(id: LockId, fn: () => T | Promise<T>, nodes?: readonly string[], retries = Infinity, holder?: Process | Pid): Promise<T | 'aborted'> {
    const targets = nodes ?? this.knownNodes();
    if (!(await this.setLock(id, targets, retries, holder))) return 'aborted';
    try {
      return await fn();
    } finally {
      await this.delLock(id, targets, holder);
    }
  }

  /** @internal Runs one of this node's resolvers (the `global.resolve` built-in procedure). */
  resolveHere(resolver: string, name: string, other: Pid, own: Pid): Promise<Pid | null> {
    return this.runResolver(resolver, name, other, own);
  }

  // ---------------------------------------------------------------- name server side (called by the server)

  /** @internal Applies a request of another node's name server (validated by `parseRequest`). */
  handleRequest(req: GlobalRequest): unknown {
    switch (req.op) {
      case 'lock':
        return this.grant(req.resource, req.requester, req.holder) ? 'granted' : 'denied';
      case 'unlock':
        this.release(keyOf(req.resource), keyOf(req.requester), req.holder);
        return 'ok';
      case 'insert':
        this.insert(req.name, req.pid, req.resolver);
        return 'ok';
      case 'delete':
        this.remove(req.name, req.pid);
        return 'ok';
      case 'names':
        return [...this.names].map(([n, e]) => [n, e.pid, e.resolver]);
      case 'apply':
        for (const [name, pid, resolver] of req.decisions) {
          if (pid === null) this.remove(name);
          else this.insert(name, pid, resolver);
        }
        return 'ok';
    }
  }

  /** @internal Applies a cast of another node's name server (validated by `parseCast`). */
  handleCast(msg: GlobalCast): void {
    if (msg.op === 'lostConnection') this.lostConnection(msg.from, msg.lost);
  }

  // ---------------------------------------------------------------- private: names

  private insert(name: string, pid: Pid, resolver: string): void {
    const old = this.names.get(name);
    if (old !== undefined) {
      if (old.pid.equals(pid)) return;
      this.remove(name);
    }
    let dead = false;
    const monitor = this.node.monitor(pid, {
      onDown: () => {
        dead = true;
        const e = this.names.get(name);
        if (e !== undefined && e.monitor === monitor) {
          this.names.delete(name);
          this.forgetName(pid, name);
        }
      },
    });
    // The monitor may have fired at once (a dead pid, an unreachable node): nothing to keep.
    if (dead) return;
    this.names.set(name, { pid, resolver, monitor });
    let set = this.nameOf.get(String(pid));
    if (set === undefined) this.nameOf.set(String(pid), (set = new Set()));
    set.add(name);
  }

  private forgetName(pid: Pid, name: string): void {
    const set = this.nameOf.get(String(pid));
    if (set !== undefined && set.delete(name) && set.size === 0) this.nameOf.delete(String(pid));
  }

  private remove(name: string, onlyPid?: Pid): void {
    const e = this.names.get(name);
    if (e === undefined || (onlyPid !== undefined && !e.pid.equals(onlyPid))) return;
    this.names.delete(name);
    this.forgetName(e.pid, name);
    this.node.demonitor(e.monitor);
  }

  private resolverName(resolve: string | Resolver): string {
    if (typeof resolve === 'string') {
      if (!this.resolvers.has(resolve)) throw distError('ERR_BAD_CONFIG', `unknown resolver ${JSON.stringify(resolve)}`);
      return resolve;
    }
    if (typeof resolve !== 'function') throw distError('ERR_BAD_CONFIG', 'a resolver must be a name or a function');
    const name = `fn:${this.node.name}:${this.nextResolver++}`;
    this.resolvers.set(name, resolve);
    return name;
  }

  /**
   * Runs a resolver once per conflict: two exchanges of one merge (different pairs of nodes,
   * e.g. a–y and m–z when {a, m} meets {y, z}) can meet the same clash between the same two pids
   * at once; both end up here, where this side's pid lives, and share the one decision — OTP
   * resolves a clash once. (Step 4 replaces the per-pair exchange with OTP's whole-partition one.)
   */
  private runResolver(resolver: string, name: string, other: Pid, own: Pid): Promise<Pid | null> {
    const key = `${name}\u0000${String(own)}\u0000${String(other)}`;
    const known = this.decided.get(key);
    if (known !== undefined) return known;
    const fn = this.resolvers.get(resolver);
    if (fn === undefined) return Promise.reject(distError('ERR_BAD_CONFIG', `resolver ${resolver} is not known on ${this.node.name}`));
    const decision = (async () => {
      const r = await fn(name, other, own, this.node);
      return r instanceof Pid ? r : null;
    })();
    this.decided.set(key, decision);
    // Bounded: the oldest decisions go first (a conflict is only met again within one merge).
    if (this.decided.size > DECIDED_LIMIT) this.decided.delete(this.decided.keys().next().value!);
    return decision;
  }

  /**
   * Exchanges names with `peer` (a newly connected partition) and resolves clashes; runs on the
   * node with the smaller name, under the `global` lock on both sides (spec §f.2).
   */
  private exchange(peer: string): Promise<void> {
    return this.serialised(() => this.underGlobalLock(async () => {
      let theirs: Array<[string, Pid, string]>;
      try {
        const answer = parseNames(await genServer.call(this.node, [GLOBAL_NAME_SERVER, peer], { op: 'names' } satisfies GlobalRequest, 10_000));
        if (answer === undefined) return; // not a name list: nothing we can merge
        theirs = answer;
      } catch {
        return; // the peer went away again
      }
      const decisions: Array<[string, Pid | null, string]> = [];
      const seen = new Set<string>();
      for (const [name, pid, resolver] of theirs) {
        seen.add(name);
        const mine = this.names.get(name);
        if (mine === undefined) decisions.push([name, pid, resolver]);
        else if (mine.pid.equals(pid)) continue;
        else {
          const winner = await this.resolveClash(name, mine, pid);
          decisions.push([name, winner, winner !== null && winner.equals(mine.pid) ? mine.resolver : resolver]);
        }
      }
      for (const [name, e] of this.names) if (!seen.has(name)) decisions.push([name, e.pid, e.resolver]);
      if (decisions.length > 0) await this.everywhere([...new Set([...this.knownNodes(), peer])], { op: 'apply', decisions });
    }, [this.node.name, peer]));
  }

  /**
   * Rebuilds the replica from the connected nodes (a restarted name server missed what they
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
              return parseNames(await genServer.call(this.node, [GLOBAL_NAME_SERVER, peer], { op: 'names' } satisfies GlobalRequest, 10_000));
            } catch {
              return undefined; // the peer went away (or has no name server yet): it has nothing to give
            }
          }),
        );
        const lists = answers.filter((a): a is Array<[string, Pid, string]> => a !== undefined);
        if (lists.length === 0) return;
        const merged = new Map<string, [Pid, string]>();
        for (const list of lists) for (const [name, pid, resolver] of list) if (!merged.has(name)) merged.set(name, [pid, resolver]);
        for (const name of [...this.names.keys()]) if (!merged.has(name)) this.remove(name);
        for (const [name, [pid, resolver]] of merged) this.insert(name, pid, resolver);
      }),
    ).catch((e: unknown) => {
      this.node.report({ kind: 'global', message: 're-syncing the names failed', reason: e });
    });
  }

  /** Runs this side's resolver where this side's pid lives; a failure keeps the other side's pid. */
  private async resolveClash(name: string, mine: NameEntry, theirs: Pid): Promise<Pid | null> {
    try {
      if (mine.pid.node === this.node.name) return await this.runResolver(mine.resolver, name, theirs, mine.pid);
      return (await this.node.rpc.call(mine.pid.node, 'global.resolve', [mine.resolver, name, theirs, mine.pid], 10_000)) as Pid | null;
    } catch (e) {
      this.node.report({ kind: 'global', message: `resolver for ${name} failed; keeping the other side's pid`, reason: e });
      return theirs;
    }
  }

  // ---------------------------------------------------------------- private: locks

  private grant(resource: unknown, requester: unknown, holder: Pid): boolean {
    const key = keyOf(resource);
    const req = keyOf(requester);
    let l = this.locks.get(key);
    if (l === undefined) this.locks.set(key, (l = { requester: req, holders: new Map() }));
    else if (l.requester !== req) return false;
    const hk = String(holder);
    if (!l.holders.has(hk)) {
      const monitor = this.node.monitor(holder, { onDown: () => this.release(key, req, holder) });
      // A dead holder (DOWN fired at once) released it already.
      if (this.locks.get(key) === l) l.holders.set(hk, { pid: holder, monitor });
      else return this.grant(resource, requester, holder);
    }
    return true;
  }

  private release(key: string, requester: string, holder: Pid): void {
    const l = this.locks.get(key);
    if (l === undefined || l.requester !== requester) return;
    const h = l.holders.get(String(holder));
    if (h === undefined) {
      if (l.holders.size === 0) this.locks.delete(key);
      return;
    }
    l.holders.delete(String(holder));
    this.node.demonitor(h.monitor);
    if (l.holders.size === 0) this.locks.delete(key);
  }

  private async lockOn(node: string, resource: unknown, requester: unknown, holder: Pid): Promise<'granted' | 'denied' | 'down'> {
    if (node === this.node.name) return this.grant(resource, requester, holder) ? 'granted' : 'denied';
    try {
      return (await genServer.call(this.node, [GLOBAL_NAME_SERVER, node], { op: 'lock', resource, requester, holder } satisfies GlobalRequest, 10_000)) as 'granted' | 'denied';
    } catch {
      return 'down';
    }
  }

  private async unlockOn(node: string, resource: unknown, requester: unknown, holder: Pid): Promise<void> {
    if (node === this.node.name) {
      this.release(keyOf(resource), keyOf(requester), holder);
      return;
    }
    try {
      await genServer.call(this.node, [GLOBAL_NAME_SERVER, node], { op: 'unlock', resource, requester, holder } satisfies GlobalRequest, 10_000);
    } catch {
      // a node that went down released its locks with it
    }
  }

  // ---------------------------------------------------------------- private: plumbing

  private knownNodes(): string[] {
    return [this.node.name, ...this.node.nodes()];
  }

  private serverPid(): Pid {
    if (this.server === undefined) throw distError('ERR_NOT_CONNECTED', 'global is not started on this node');
    return this.server;
  }

  /** Runs `fn` after the previous local registration finished (OTP's single registrar process). */
  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.registrar.then(fn, fn);
    this.registrar = run.catch(() => undefined);
    return run;
  }

  /** Holds `[global, registrar@this node]` on every known node while `fn` runs. */
  private async underGlobalLock<T>(fn: (nodes: string[]) => Promise<T>, nodes?: string[]): Promise<T> {
    const targets = nodes ?? this.knownNodes();
    const id: LockId = [GLOBAL_LOCK, `registrar@${this.node.name}`];
    await this.setLock(id, targets);
    try {
      return await fn(targets);
    } finally {
      await this.delLock(id, targets);
    }
  }

  /** Applies a request on every node of `nodes` and waits for all (down nodes are skipped). */
  private async everywhere(nodes: readonly string[], req: GlobalRequest): Promise<void> {
    await Promise.all(
      nodes.map(async (n) => {
        if (n === this.node.name) {
          this.handleRequest(req);
          return;
        }
        try {
          await genServer.call(this.node, [GLOBAL_NAME_SERVER, n], req, 10_000);
        } catch {
          // a node that went down does not need the update; its replica dies with it
        }
      }),
    );
  }

  private onNodeEvent(e: NodeEvent): void {
    if (e.hidden || this.stopping) return;
    if (e.type === 'nodeup') {
      if (this.node.name < e.node) {
        this.exchange(e.node).catch((err: unknown) => this.node.report({ kind: 'global', message: `exchanging names with ${e.node} failed`, reason: err }));
      }
      return;
    }
    if (this.pop) {
      for (const n of this.node.nodes()) {
        genServer.cast(this.node, [GLOBAL_NAME_SERVER, n], { op: 'lostConnection', from: this.node.name, lost: e.node } satisfies GlobalCast);
      }
    }
  }

  /** OTP 25+ prevent_overlapping_partitions: keep partitions clean (spec §f.4). */
  private lostConnection(from: string, lost: string): void {
    if (!this.pop || this.stopping) return;
    if (lost === this.node.name) {
      if (this.node.net.isConnected(from)) this.node.disconnect(from);
      return;
    }
    if (this.node.net.isConnected(lost)) {
      this.node.report({ kind: 'global', message: `${from} lost its connection to ${lost}: disconnecting from ${lost} to prevent overlapping partitions` });
      this.node.disconnect(lost);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.node.timers.schedule(ms, resolve, undefined));
  }
}

/**
 * The name server process (OTP's `global_name_server`): answers other nodes' requests. Started
 * by `kernel_sup`; each incarnation re-syncs the names (`Global.serverStarted`).
 */
export function globalNameServer(g: Global): GenServerBehaviour<null, undefined, { call: GlobalRequest; reply: unknown; cast: GlobalCast }> {
  return {
    init: (_args, self) => {
      g.serverStarted(self.pid);
      return { ok: null };
    },
    handleCall: (req, _from, state, self) => {
      const r = parseRequest(req);
      if (r === undefined) {
        self.node.report({ kind: 'global', message: 'the global name server refused a malformed request', reason: describe(req) });
        return { reply: { error: 'bad_request' }, state };
      }
      return { reply: g.handleRequest(r), state };
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

/** The request, if `x` is a well-formed one; undefined otherwise. */
function parseRequest(x: unknown): GlobalRequest | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const r = x as Record<string, unknown>;
  switch (r.op) {
    case 'lock':
    case 'unlock':
      return 'resource' in r && 'requester' in r && r.holder instanceof Pid ? (r as unknown as GlobalRequest) : undefined;
    case 'insert':
      return typeof r.name === 'string' && r.name !== '' && r.pid instanceof Pid && typeof r.resolver === 'string' ? (r as unknown as GlobalRequest) : undefined;
    case 'delete':
      return typeof r.name === 'string' && (r.pid === undefined || r.pid instanceof Pid) ? (r as unknown as GlobalRequest) : undefined;
    case 'names':
      return { op: 'names' };
    case 'apply': {
      const d = r.decisions;
      const ok = Array.isArray(d) && d.every((e: unknown) => Array.isArray(e) && e.length === 3 && typeof e[0] === 'string' && (e[1] === null || e[1] instanceof Pid) && typeof e[2] === 'string');
      return ok ? (r as unknown as GlobalRequest) : undefined;
    }
    default:
      return undefined;
  }
}

/** The cast, if `x` is a well-formed one; undefined otherwise. */
function parseCast(x: unknown): GlobalCast | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const m = x as Record<string, unknown>;
  return m.op === 'lostConnection' && typeof m.from === 'string' && typeof m.lost === 'string' ? { op: 'lostConnection', from: m.from, lost: m.lost } : undefined;
}

/** A peer's answer to `names`, if well-formed. */
function parseNames(x: unknown): Array<[string, Pid, string]> | undefined {
  if (!Array.isArray(x)) return undefined;
  const ok = x.every((e: unknown) => Array.isArray(e) && e.length === 3 && typeof e[0] === 'string' && e[1] instanceof Pid && typeof e[2] === 'string');
  return ok ? (x as Array<[string, Pid, string]>) : undefined;
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

function checkName(name: unknown): void {
  if (typeof name !== 'string' || name === '') throw distError('ERR_BAD_CONFIG', `bad global name ${JSON.stringify(name)}`);
}

function checkLockId(id: unknown): readonly [unknown, unknown] {
  if (!Array.isArray(id) || id.length !== 2) throw distError('ERR_BAD_CONFIG', 'a lock id is [resource, requester]');
  return id as unknown as readonly [unknown, unknown];
}

/** A stable key for any encodable term (pids print canonically). */
function keyOf(x: unknown): string {
  if (typeof x === 'string') return `s:${x}`;
  return `j:${JSON.stringify(x, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Map ? [...v] : v instanceof Set ? [...v] : v))}`;
}
