/**
 * The explorer's `apps` workload: three distributed applications run by dist-ac on every node,
 * the operations on them (`application.start/stop/takeover/permit` from random nodes, and
 * increments of a counter), and what the invariants I1, I2, I3-apps and I5 need to know.
 *
 * The applications (node ids `a`…, priority lists built from the cluster's names):
 *
 * - `ctr` — a counter: a gen_server `ctr_srv` holding a number, registered globally as `ctr`
 *   in its `go` phase; priority the *reverse* of name order; failover timeout 500 ms; start
 *   phases `init`, `go`. A takeover fetches the old instance's state in `go` (`handover`: the
 *   old instance answers its value and refuses increments from then on, so nothing it
 *   acknowledges afterwards can be lost), before the name moves. Its supervisor has intensity 0
 *   (as toliman's proxima): a killed server ends the application.
 * - `slow` — a slow `prepStop` (200 ms of virtual time), registered globally as `slow` in its
 *   `go` phase; a priority list that is neither name order nor its reverse; intensity 0;
 *   failover timeout 1000 ms.
 * - `grp` — an equal-priority group first (`[[d, b], a, c, e]` on 5 nodes), no start phases
 *   (failovers start `normal`), no global name; failover timeout 300 ms.
 *
 * Every node loads the three and starts dist-ac (sync nodes: every other node, 2 s); the
 * explorer calls `application.start` of each on every node at boot, and again on a node
 * restarted after a crash (as a release would at boot) for each application started there.
 *
 * **Counter lineages (I5).** Every `ctr` instance holds `{ value, lineage }`. A fresh instance
 * (a `normal` start or a failover) begins a new lineage at 0; a takeover fetches the old
 * instance's state and continues its lineage with its value (a takeover that cannot fetch it
 * fails, and the old instance keeps running).
 * The explorer counts, per lineage, the increments that were *acknowledged* (the `call`
 * returned a value). Within a lineage every acknowledged increment added one, so the value of
 * its latest instance is ≥ the lineage's acknowledged count unless an acknowledged increment
 * was lost across a handover.
 *
 * **Quorum (`apps-quorum`, issue 15).** With `quorum: 'majority'` on every application the
 * model also follows every instance from the start of its `start` callback to the end of its
 * `stop` (or its node's crash), with the epoch it read in `start`, for Q1 (never two running
 * instances on nodes that are not frozen, a takeover's old and new instance excepted; an
 * instance dist-ac stops because its node did not run for a while — it thawed — counts as
 * frozen until it has stopped: its epoch fences it), Q2 (epochs strictly increase per
 * application, in the order instances start) and Q3 (an instance on a node without a quorum is
 * stopped within `downAfter` + one tickTime of its node noticing).
 */
import { genServer, supervisor, type ApplicationSpec, type Node, type Pid, type Process, type StartType } from '@rigil/core';
import { distAcOf, distAcResolver, type KernelConfig, type NodeList } from '@rigil/dist-ac';
import type { DistNode } from '@rigil/net';
import type { Simulation } from './simulation.js';

/** The distributed applications of the `apps` workload. */
export const APP_NAMES = ['ctr', 'slow', 'grp'] as const;

/** Virtual ms the `slow` application's `prepStop` takes. */
export const SLOW_PREP_STOP_MS = 200;

/** One running instance of the counter (shared, mutable: the server's state is this object). */
interface CtrInstance {
  readonly node: string;
  /** Virtual time the instance started. */
  readonly startedAt: number;
  lineage: string;
  value: number;
  /** Handed its state over: refuses increments from then on. */
  moved: boolean;
  srv?: Pid;
}

/** An instance as it started: what `placed` needs to judge whether OTP would have put it there. */
interface StartedInstance {
  readonly at: number;
  /** Started by a takeover (placed by definition). */
  readonly takeover: boolean;
  /** Its fencing epoch (finds the move its node recorded for it). */
  readonly epoch: number | null;
  /** Better candidates that were up, not frozen (and had a quorum, when one is set) as it started. */
  readonly better: readonly string[];
  /** Its node and the nodes it was connected to as it started. */
  readonly peers: readonly string[];
}

/** A claim of an application by a node (see `AppsModel.claims`). */
interface Claim {
  readonly at: number;
  readonly reach?: ReadonlySet<string>;
}

type CtrCall = 'incr' | 'handover' | { adopt: { value: number; lineage: string } };
type CtrReply = { ok: number; lineage: string } | { error: 'moved' } | 'ok';

/** One instance of an application, followed for Q1–Q3 (quorum mode). */
interface LiveInstance {
  readonly node: string;
  readonly obj: Node;
  readonly type: StartType;
  readonly epoch: number | null;
  readonly from: number;
  /** For a takeover: the instance it took over (the latest one on the old node when it started). */
  readonly parent?: LiveInstance;
  ended: boolean;
  /** Virtual time its node was first seen without a quorum (Q3), while it runs unfrozen. */
  noQuorumSince?: number;
}

/** Options of the apps model. */
export interface AppsModelOptions {
  /** Every application gets this quorum (`apps-quorum`). */
  readonly quorum?: 'majority';
  /** The nodes' tickTime (for Q3's bound). */
  readonly tickTime?: number;
}

/** What the apps workload knows and has observed (read by the invariants). */
export class AppsModel {
  /** Priority list of each application. */
  readonly priorities = new Map<string, NodeList>();
  /** Per node: the applications `application.start` was called for there (and not stopped since). */
  readonly started = new Map<string, Set<string>>();
  /**
   * Per application: a node where it was pinned by a successful `application.takeover` (OTP
   * does not move it back to a better node until something decides again), with the node's
   * creation then. A better node that starts it (or is permitted again) takes it over: the pin
   * moves there.
   */
  readonly pinned = new Map<string, { node: string; creation: number }>();
  /**
   * Per `node app`: virtual time of the explorer's last *claim* of the application on that
   * node — an `application.start` that decides (at boot, after a restart, or an operation), a
   * `permit true`, a `takeover`. OTP moves an application to a better node only on such a claim.
   * With it, the nodes the claiming node was connected to then and still was when the call
   * returned (`reach`, see `settleClaim`; none recorded for a boot start: it waits for its sync
   * nodes and decides with them).
   */
  private readonly claims = new Map<string, Claim>();
  /** Per node object (incarnation) and application: when its instance started, and what decides whether OTP would place it there (see `placed`). */
  private readonly instances = new WeakMap<Node, Map<string, StartedInstance>>();
  /** Acknowledged increments per counter lineage. */
  readonly acks = new Map<string, number>();
  /** `application.start` calls that have not returned, by `node app` key, with the node's creation. */
  readonly pendingStarts = new Map<string, number>();
  /**
   * `application.takeover` and `application.permit` calls that have not returned (each may be
   * moving the application: a takeover's start phases, a better node permitted again taking it
   * over), with their node, application and the node's creation. A settle waits for them as for
   * pending starts (seed 15: c's `permit true` was still taking `slow` over — its `go` phase
   * waiting on `global`'s lock — when the settle ended, and I2 found `slow` still on b).
   */
  readonly pendingMoves = new Set<{ readonly node: string; readonly app: string; readonly creation: number }>();
  /** I1's memory: two instances of an application seen together while the mesh is whole, since when. */
  readonly duplicates = new Map<string, { key: string; since: number }>();
  /** I5 violations seen when an instance stopped (state lost without a handover). */
  readonly lostState: string[] = [];
  /** Virtual time of the last `appstop`/`permit false` per `node app` key (an asked-for stop). */
  private readonly stopAsked = new Map<string, number>();
  /** Virtual time of the last `reconcile` report per `node app` key. */
  private readonly reconciled = new Map<string, number>();
  /** The counter instance running on each node object. */
  private readonly ctrOn = new WeakMap<Node, CtrInstance>();
  private lineages = 0;
  /** Set when the run is over (the final stop of every node is not a fault). */
  closed = false;
  /** Quorum mode: the instances of each application not yet seen ended. */
  private readonly live = new Map<string, LiveInstance[]>();
  /** Quorum mode: instances still in their start phases, by `node app` (a stop then ends them without `stop`). */
  private readonly inPhases = new Map<string, LiveInstance>();
  /** Quorum mode: the newest epoch an instance of each application started with. */
  private readonly lastEpoch = new Map<string, { epoch: number; node: string; at: number }>();
  /** Q1 violations seen as an instance started. */
  readonly q1: string[] = [];
  /** Q2 violations seen as an instance started. */
  readonly q2: string[] = [];

  constructor(
    private readonly sim: Simulation,
    readonly names: readonly string[],
    readonly options: AppsModelOptions = {},
  ) {
    const n = names.length;
    const reversed = [...names].reverse();
    this.priorities.set('ctr', reversed);
    // Neither name order nor its reverse: rotate the reverse by two.
    this.priorities.set('slow', [...reversed.slice(2 % n), ...reversed.slice(0, 2 % n)]);
    const group = [...new Set([names[Math.min(3, n - 1)]!, names[1]!])];
    this.priorities.set('grp', [group, ...names.filter((x) => !group.includes(x))]);
    for (const name of names) this.started.set(name, new Set());
  }

  /**
   * The kernel configuration node `name` boots with (every boot of it). With a quorum, the node
   * keeps its epochs on a disk that survives its crashes (`epochStore`, as `epochDir` does on a
   * real node): without one, a majority crashing at once forgets every promise, and an epoch
   * can go down (Q2, apps-quorum seed 518).
   */
  kernel(name: string): KernelConfig {
    const timeout: Record<string, number> = { ctr: 500, slow: 1000, grp: 300 };
    const q = this.options.quorum;
    let disk = this.disks.get(name);
    if (disk === undefined) this.disks.set(name, (disk = new Map()));
    const d = disk;
    return {
      distributed: APP_NAMES.map((application) => ({ application, timeout: timeout[application]!, nodes: this.priorities.get(application)!, ...(q !== undefined ? { quorum: q } : {}) })),
      syncNodesOptional: [...this.names],
      syncNodesTimeout: 2000,
      ...(q !== undefined ? { epochStore: { load: (app: string) => d.get(app) ?? 0, save: (app: string, epoch: number) => void d.set(app, epoch) } } : {}),
    };
  }

  /** Per node name: its disk's epochs (quorum mode; see `kernel`). */
  private readonly disks = new Map<string, Map<string, number>>();

  /** The three application specs (fresh closures over this model). */
  specs(): ApplicationSpec[] {
    return [this.ctrSpec(), this.slowSpec(), this.grpSpec()];
  }

  /** Applications that some node has stopped (`appstop`) and not started again: placement is then not checked. */
  irregular(app: string): boolean {
    for (const [, apps] of this.started) if (!apps.has(app)) return true;
    return false;
  }

  /** Rank of `node` in `app`'s priority list (its group's index), or -1. */
  rank(app: string, node: string): number {
    return this.priorities.get(app)!.findIndex((e) => (typeof e === 'string' ? e === node : e.includes(node)));
  }

  // ---------------------------------------------------------------- operations

  /** `application.start(app)` on `node` (an operation, or a boot: `boot`); tracked until it returns. */
  start(node: DistNode, app: string, record: (e: unknown) => void, boot = false): void {
    // Started already (and not a fresh incarnation): the call answers `alreadyStarted` and decides nothing.
    if (node.application.isStarted(app) || node.application.whereRunning(app) !== undefined) {
      node.application.start(app).catch(record);
      return;
    }
    this.started.get(node.name)!.add(app);
    const key = `${node.name} ${app}`;
    // A boot start reaches no node yet when called: it waits for its sync nodes and decides
    // with those it reaches then — not with a sync node that was frozen or cut off and timed
    // out (seed 301: c, restarted while b was frozen, took `slow` over from e without b). Its
    // reach is the nodes it is connected to when the start returns (its decision is made).
    const claim: Claim = boot ? { at: this.sim.now } : this.claim(node);
    this.claims.set(key, claim);
    this.unpinIfBetter(app, node);
    this.pendingStarts.set(key, node.creation);
    const creation = node.creation;
    node.application.start(app).then(
      (r) => {
        if (this.pendingStarts.get(key) === creation) this.pendingStarts.delete(key);
        if (boot && this.claims.get(key) === claim && this.sim.isUp(node.name) && this.sim.node(node.name) === node) this.claims.set(key, { at: claim.at, reach: new Set(node.nodes()) });
        else if (!boot) this.settleClaim(key, claim, node);
        // A start that answered an error did not start the application there (OTP's
        // application controller records it as started only on success): that node has no
        // placement to agree on (I3-apps), is no candidate (I1, I2), until a start succeeds.
        // Seed 41: d's boot start took ctr over from c, whose instance had handed its state
        // to d's previous incarnation (crashed mid-takeover) and refused a second handover.
        if (r !== 'ok' && node.creation === creation && this.sim.isUp(node.name) && this.sim.node(node.name) === node && !node.application.isStarted(app)) this.started.get(node.name)!.delete(app);
      },
      (e: unknown) => {
        if (this.pendingStarts.get(key) === creation) this.pendingStarts.delete(key);
        record(e);
      },
    );
  }

  /** A node crashed: its pending starts died with it. */
  crashed(name: string): void {
    for (const app of APP_NAMES) this.pendingStarts.delete(`${name} ${app}`);
    // A stop under way died with the node (its call never returns).
    for (const app of APP_NAMES) if (this.stopAsked.get(`${name} ${app}`) === Infinity) this.stopAsked.set(`${name} ${app}`, this.sim.now);
    for (const m of this.pendingMoves) if (m.node === name) this.pendingMoves.delete(m);
  }

  /** `application.stop(app)` on `node`. */
  stop(node: DistNode, app: string, record: (e: unknown) => void): void {
    this.started.get(node.name)!.delete(app);
    // Asked from now until the call returns: a stop waits for a start still under way on the
    // node and then stops what it brought up (seed 502: d's boot start took ctr over from a,
    // state included, after the appstop was called; the stop then ended it — asked for).
    const key = `${node.name} ${app}`;
    this.stopAsked.set(key, Infinity);
    const done = (): void => {
      if (this.stopAsked.get(key) === Infinity) this.stopAsked.set(key, this.sim.now);
    };
    if (this.pinned.get(app)?.node === node.name) this.pinned.delete(app);
    node.application.stop(app).then(done, (e: unknown) => {
      done();
      record(e);
    });
  }

  /** `application.takeover(app)` on `node`: pins the application there, unless it fails. */
  takeover(node: DistNode, app: string, record: (e: unknown) => void): void {
    // Pinned from the call on (later starts by better nodes move the pin); undone if it fails.
    // A failed takeover moved nothing (OTP's `takeover_application` answers the error and the
    // application stays where it ran): the pin and the claim go back to what they were.
    const pin = { node: node.name, creation: node.creation };
    const before = this.pinned.get(app);
    const key = `${node.name} ${app}`;
    const claimBefore = this.claims.get(key);
    const claimAt = this.claim(node);
    this.pinned.set(app, pin);
    this.claims.set(key, claimAt);
    const undo = (): void => {
      if (this.pinned.get(app) === pin) {
        if (before !== undefined) this.pinned.set(app, before);
        else this.pinned.delete(app);
      }
      this.dropClaim(key, claimAt, claimBefore);
    };
    const pending = this.trackMove(node, app);
    node.application.takeover(app).then(
      (r) => {
        this.pendingMoves.delete(pending);
        if (r !== 'ok') undo();
        else this.settleClaim(key, claimAt, node);
      },
      (e: unknown) => {
        this.pendingMoves.delete(pending);
        undo();
        record(e);
      },
    );
  }

  /** `application.permit(app, flag)` on `node`. */
  permit(node: DistNode, app: string, flag: boolean, record: (e: unknown) => void): void {
    const key = `${node.name} ${app}`;
    if (!flag) {
      // Asked from now until the call returns, as for `stop`: permit waits for a start or
      // takeover of this node still under way (one decision per node at a time) and then
      // stops what it brought up (seed 1064: b's takeover of ctr, then its permit false while
      // the takeover ran; the permit then stopped the new instance — asked for).
      this.stopAsked.set(key, Infinity);
      if (this.pinned.get(app)?.node === node.name) this.pinned.delete(app);
    }
    const asked = (): void => {
      if (!flag && this.stopAsked.get(key) === Infinity) this.stopAsked.set(key, this.sim.now);
    };
    const claimBefore = this.claims.get(key);
    const claimAt = this.claim(node);
    if (flag) {
      this.claims.set(key, claimAt);
      this.unpinIfBetter(app, node);
    }
    const pending = this.trackMove(node, app);
    node.application.permit(app, flag).then(
      (r) => {
        this.pendingMoves.delete(pending);
        asked();
        // A permit whose start failed (a takeover whose old node went down while the new
        // instance fetched its state) claimed nothing, as a failed takeover (seed 768: e's
        // permit-true takeover from d failed with d's nodedown; d, back, kept ctr, and I2
        // expected e). OTP: the start's error is the caller's; no later move follows from it.
        if (flag && r !== 'ok') this.dropClaim(key, claimAt, claimBefore);
        else if (flag) this.settleClaim(key, claimAt, node);
      },
      (e: unknown) => {
        this.pendingMoves.delete(pending);
        asked();
        record(e);
      },
    );
  }

  /**
   * A claim's call returned: the nodes it reached are those its node was connected to when it
   * was called and still is. A node that went down meanwhile was not in its decision's views:
   * the decision waits for every connected node's view, and a node's nodedown ends that wait
   * (apps seed 244: c's `permit(grp, true)` was called while e, which ran grp, was frozen; c
   * decided after e's nodedown, without it, and e kept grp at the thaw; the claim had counted e
   * as reached, and I2 expected grp to have moved to c).
   */
  private settleClaim(key: string, claim: Claim, node: DistNode): void {
    if (this.claims.get(key) !== claim || claim.reach === undefined || !this.sim.isUp(node.name) || this.sim.node(node.name) !== node) return;
    const now = new Set(node.nodes());
    this.claims.set(key, { at: claim.at, reach: new Set([...claim.reach].filter((n) => now.has(n))) });
  }

  /** A claim that failed (its takeover or permit start did): the one before it stands again, unless another claim came since. */
  private dropClaim(key: string, claim: Claim, before: Claim | undefined): void {
    if (this.claims.get(key) !== claim) return;
    if (before === undefined) this.claims.delete(key);
    else this.claims.set(key, before);
  }

  /** Tracks a takeover or permit call on `node` until it returns (see `pendingMoves`). */
  private trackMove(node: DistNode, app: string): { readonly node: string; readonly app: string; readonly creation: number } {
    const pending = { node: node.name, app, creation: node.creation };
    this.pendingMoves.add(pending);
    return pending;
  }

  /** True while a takeover or permit call of `app` made on a node that is still up (same incarnation) has not returned. */
  movePending(app: string): boolean {
    for (const m of this.pendingMoves) if (m.app === app && this.sim.isUp(m.node) && this.sim.node(m.node).creation === m.creation) return true;
    return false;
  }

  /** `count` increments of the counter from a client process on `node`, one after another; acknowledged ones are counted. */
  increment(node: DistNode, count: number): void {
    node.spawn(async (self) => {
      for (let i = 0; i < count; i++) {
        let r: CtrReply;
        try {
          r = (await genServer.call(self, { global: 'ctr' }, 'incr' satisfies CtrCall, 1000)) as CtrReply;
        } catch {
          return; // no counter registered, or no answer: not acknowledged
        }
        if (typeof r !== 'object' || !('ok' in r)) return;
        this.acks.set(r.lineage, (this.acks.get(r.lineage) ?? 0) + 1);
      }
    });
  }

  /** Watches a node's reports for reconciles (a reconcile may stop an instance without a handover). */
  watch(node: DistNode): void {
    node.onReport((r) => {
      if (r.code === 'reconcile' && typeof r.application === 'string') this.reconciled.set(`${node.name} ${r.application}`, this.sim.now);
      // A stop for want of a quorum is asked for by dist-ac, as a reconcile is (I5).
      if (r.code === 'quorum' && typeof r.application === 'string' && r.message.includes('stopped here')) this.reconciled.set(`${node.name} ${r.application}`, this.sim.now);
    });
  }

  // ---------------------------------------------------------------- quorum mode (Q1–Q3)

  /** Instances of `app` that run now on nodes that are up and not frozen (one dist-ac stops after a thaw counts as frozen). */
  private running(app: string): LiveInstance[] {
    const list = (this.live.get(app) ?? []).filter((i) => !i.ended && this.sim.isUp(i.node) && this.sim.node(i.node) === i.obj);
    this.live.set(app, list);
    return list.filter((i) => !this.sim.isFrozen(i.node) && distAcOf(i.obj).fencingOf(app) !== 'resume');
  }

  /** Q1: two running instances of `app` on different nodes, not a takeover's old and new; undefined when there are none. */
  twoInstances(app: string): string | undefined {
    if (this.options.quorum === undefined) return undefined;
    const run = this.running(app);
    for (let i = 0; i < run.length; i++) {
      for (let j = i + 1; j < run.length; j++) {
        const [x, y] = [run[i]!, run[j]!];
        if (x.node === y.node) continue;
        // `b` descends from `a` by takeovers (a's state handed on, a still finishing its stop):
        // a chain a → b' → b counts as one takeover (apps-quorum seed 840: b took slow over from
        // a, whose stop for want of a quorum ran its prepStop, and c took it over from b).
        const takeover = (a: LiveInstance, b: LiveInstance): boolean => {
          let x: LiveInstance | undefined = b;
          for (let depth = 0; x !== undefined && depth < 8; depth++, x = x.parent) {
            if (typeof x.type === 'object' && 'takeover' in x.type && x.type.takeover === a.node && x.from >= a.from && (x.parent === undefined || x.parent === a)) return true;
          }
          return false;
        };
        if (takeover(x, y) || takeover(y, x)) continue;
        return `${app} runs on ${x.node} (since ${Math.round(x.from)}, epoch ${x.epoch}) and ${y.node} (since ${Math.round(y.from)}, epoch ${y.epoch}) at ${Math.round(this.sim.now)} ms`;
      }
    }
    return undefined;
  }

  /** Q3: an instance on a node that has been without a quorum for longer than `downAfter` + one tickTime; undefined when there is none. */
  lateQuorumStop(): string | undefined {
    if (this.options.quorum === undefined) return undefined;
    const tick = this.options.tickTime ?? 1000;
    for (const app of APP_NAMES) {
      for (const i of this.running(app)) {
        const dac = distAcOf(i.obj);
        if (dac.hasQuorum(app) || dac.fencingOf(app) !== undefined) {
          delete i.noQuorumSince;
          continue;
        }
        i.noQuorumSince ??= this.sim.now;
        const bound = dac.downAfterOf(app) + tick;
        if (this.sim.now - i.noQuorumSince > bound) return `${app} on ${i.node} (epoch ${i.epoch}) still runs ${Math.round(this.sim.now - i.noQuorumSince)} ms after its node was seen without a quorum (bound ${bound} ms)`;
      }
      // Frozen instances start over when they thaw.
      for (const i of this.live.get(app) ?? []) if (this.sim.isUp(i.node) && this.sim.isFrozen(i.node)) delete i.noQuorumSince;
    }
    return undefined;
  }

  /** An instance of `app` ended on `node` (its `stop` ran, or its start failed). */
  private instanceEnded(app: string, node: string): void {
    for (const i of this.live.get(app) ?? []) if (i.node === node) i.ended = true;
  }

  /**
   * Quorum mode: `start` returned the top supervisor `sup`; until the start phases are done, the
   * instance ends when that supervisor goes — a start phase failed, or the start was stopped (no
   * `stop` callback runs then, as in OTP).
   */
  private watchStartPhases(app: string, node: Node, sup: Pid): void {
    const inst = (this.live.get(app) ?? []).findLast((i) => i.obj === node && !i.ended);
    if (inst === undefined) return;
    const key = `${node.name} ${app}`;
    this.inPhases.set(key, inst);
    node.monitor(sup, {
      onDown: () => {
        if (this.inPhases.get(key) !== inst) return;
        this.inPhases.delete(key);
        inst.ended = true;
      },
    });
  }

  /** Quorum mode: the start phases of `app` on `node` are done (its `stop` ends it from now on). */
  private startPhasesDone(app: string, node: Node): void {
    this.inPhases.delete(`${node.name} ${app}`);
  }

  // ---------------------------------------------------------------- observations for the invariants

  /** Up nodes where `app` runs (its master is up and the controller says `local`). */
  runners(app: string): string[] {
    return this.sim.nodes().filter((n) => {
      const node = this.sim.node(n);
      return node.application.whereRunning(app) === 'local';
    });
  }

  /** Up nodes that may run `app`: started there (by the explorer's calls) and permitted. */
  candidates(app: string): string[] {
    return this.sim.nodes().filter((n) => this.started.get(n)!.has(app) && this.sim.node(n).application.isPermitted(app));
  }

  /** Nodes `app` may run on after settle: the best group of candidates, or the pinned node if still valid. */
  allowed(app: string): string[] {
    const cands = new Set(this.candidates(app));
    const out: string[] = [];
    for (const e of this.priorities.get(app)!) {
      const group = (typeof e === 'string' ? [e] : [...e]).filter((x) => cands.has(x));
      if (group.length > 0) {
        out.push(...group);
        break;
      }
    }
    const pin = this.pinned.get(app);
    if (pin !== undefined && cands.has(pin.node) && this.sim.node(pin.node).creation === pin.creation && !out.includes(pin.node)) out.push(pin.node);
    return out;
  }

  /**
   * True when `app` may stay on `runner` although a better candidate is up (I2's outage rule,
   * OTP's semantics): its instance there was placed where OTP places it — a takeover, or a
   * start while no better candidate was reachable from `runner` (down, frozen or not
   * connected: a failover during an outage, one side of a partition) — and no better candidate
   * has claimed it since (a start, `permit true` or takeover there would have moved it). OTP
   * never moves an application back to a better node that merely comes back; rigil's reconcile
   * after a heal keeps the better of two *running* instances. A claim made while its node was
   * not connected to `runner` (each on its side of a partition) did not reach that instance: it
   * started a second one on its side, and which of the two is kept is the reconcile's, which I2
   * does not judge (seed 70: c's start, cut off from b, then a's takeover from c; the
   * reconcile kept b's instance, better than a's).
   */
  keptSinceOutage(app: string, runner: string): boolean {
    const inst = this.instances.get(this.sim.node(runner))?.get(app);
    if (inst === undefined || !this.placed(app, runner, inst)) return false;
    return this.betterCandidates(app, runner).every((n) => {
      const c = this.claims.get(`${n} ${app}`);
      return c === undefined || c.at < inst.at || (c.reach !== undefined && !c.reach.has(runner));
    });
  }

  /**
   * Whether OTP would have placed `runner`'s instance there: a takeover, or no better candidate
   * (up, not frozen, with a quorum when one is set, as the instance started) was among the nodes
   * its decision reached. That is the decision's own views (`Move.decidedWith`) when `runner`
   * decided it, else the nodes `runner` was connected to as the instance started. A better node
   * that connects between the decision and the start does not count (apps seeds 235, 698: d
   * decided ctr's failover with the views of d and b; e, better, connected ~5 ms later, while
   * d's start ran; OTP's failover, too, picks among the nodes it knows to be up when it decides).
   */
  private placed(app: string, runner: string, inst: StartedInstance): boolean {
    if (inst.takeover) return true;
    const move = distAcOf(this.sim.node(runner))
      .info(app)
      .history.findLast((m) => m.node === runner && m.epoch === inst.epoch);
    const reached = move?.decidedWith ?? inst.peers;
    return !inst.better.some((n) => reached.includes(n));
  }

  /** A claim by `node` now, with the nodes it reaches. */
  private claim(node: DistNode): Claim {
    return { at: this.sim.now, reach: new Set(node.nodes()) };
  }

  /** Called by each application's `start` callback on `node`: records when the instance started and whether OTP would place it there. */
  private instanceStarting(app: string, node: Node, type: StartType): void {
    let m = this.instances.get(node);
    if (m === undefined) this.instances.set(node, (m = new Map()));
    const takeover = typeof type === 'object' && 'takeover' in type;
    // With a quorum, a node that reaches none cannot take it: it counts as unreachable.
    const live = (n: string): boolean => this.sim.isUp(n) && !this.sim.isFrozen(n) && (this.options.quorum === undefined || distAcOf(this.sim.node(n)).hasQuorum(app));
    m.set(app, { at: this.sim.now, takeover, epoch: distAcOf(node).ownEpoch(app) ?? null, better: this.betterCandidates(app, node.name).filter(live), peers: [...(node as DistNode).nodes(), node.name] });
    if (this.options.quorum === undefined) return;
    // Quorum mode: Q2 (a newer epoch than every instance before), Q1 (no other running instance).
    const epoch = distAcOf(node).ownEpoch(app) ?? null;
    const last = this.lastEpoch.get(app);
    if (epoch === null) this.q2.push(`${app} started on ${node.name} at ${Math.round(this.sim.now)} ms without an epoch`);
    else if (last !== undefined && epoch <= last.epoch) this.q2.push(`${app} started on ${node.name} at ${Math.round(this.sim.now)} ms with epoch ${epoch}, not above epoch ${last.epoch} of ${last.node} (started at ${Math.round(last.at)} ms)`);
    if (epoch !== null && (last === undefined || epoch > last.epoch)) this.lastEpoch.set(app, { epoch, node: node.name, at: this.sim.now });
    const list = this.live.get(app) ?? [];
    const parent = takeover ? list.findLast((i) => i.node === (type as { takeover: string }).takeover && !i.ended) : undefined;
    const inst: LiveInstance = { node: node.name, obj: node, type, epoch, from: this.sim.now, ended: false, ...(parent !== undefined ? { parent } : {}) };
    for (const i of list) if (i.node === node.name) i.ended = true;
    list.push(inst);
    this.live.set(app, list);
    const two = this.twoInstances(app);
    if (two !== undefined) this.q1.push(`${two} (as the one on ${node.name} started)`);
  }

  /** Up candidates of `app` with a better rank than `node`. */
  private betterCandidates(app: string, node: string): string[] {
    const mine = this.rank(app, node);
    return this.candidates(app).filter((n) => n !== node && this.rank(app, n) >= 0 && (mine < 0 || this.rank(app, n) < mine));
  }

  /** What `node`'s dist-ac says about `app`: the `info` node, and `whereRunning` translated to a node name. */
  records(node: string, app: string): { info: string | null; where: string | undefined } {
    const n = this.sim.node(node);
    const w = n.application.whereRunning(app);
    return { info: distAcOf(n).info(app).node, where: w === 'local' ? node : w };
  }

  /** The counter instance running on `node`, if any. */
  counterOn(node: string): { lineage: string; value: number } | undefined {
    const inst = this.ctrOn.get(this.sim.node(node));
    return inst === undefined ? undefined : { lineage: inst.lineage, value: inst.value };
  }

  // ---------------------------------------------------------------- the applications

  /**
   * A start or `permit true` on `node` while the application is pinned to a worse node: dist-ac
   * takes it over to `node` (a better node that starts it takes it over), so the pin moves there.
   */
  private unpinIfBetter(app: string, node: DistNode): void {
    const pin = this.pinned.get(app);
    if (pin === undefined) return;
    const mine = this.rank(app, node.name);
    if (mine >= 0 && mine < this.rank(app, pin.node)) this.pinned.set(app, { node: node.name, creation: node.creation });
  }

  private newLineage(node: string): string {
    return `${node.slice(0, node.indexOf('@'))}${++this.lineages}`;
  }

  private ctrSpec(): ApplicationSpec {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the callbacks below are OTP-style modules, not methods
    const model = this;
    const server: genServer.GenServerBehaviour<CtrInstance, CtrInstance, { call: CtrCall; reply: CtrReply; cast: never }> = {
      init: (inst, self) => {
        inst.srv = self.pid;
        return { ok: inst };
      },
      handleCall: (req, _from, inst) => {
        if (req === 'incr') {
          if (inst.moved) return { reply: { error: 'moved' }, state: inst };
          inst.value++;
          return { reply: { ok: inst.value, lineage: inst.lineage }, state: inst };
        }
        if (req === 'handover') {
          // The old instance of a takeover: answer the state, refuse increments from now on.
          const wasMoved = inst.moved;
          inst.moved = true;
          return { reply: wasMoved ? { error: 'moved' } : { ok: inst.value, lineage: inst.lineage }, state: inst };
        }
        inst.value = req.adopt.value;
        inst.lineage = req.adopt.lineage;
        return { reply: 'ok', state: inst };
      },
    };
    const sup = (inst: CtrInstance): supervisor.SupervisorBehaviour<undefined> => ({
      init: () => ({ flags: { strategy: 'one_for_all', intensity: 0, period: 1 }, children: [supervisor.worker('srv', server, inst, { name: 'ctr_srv' })] }),
    });
    return {
      name: 'ctr',
      version: '1.0.0',
      startPhases: [{ name: 'init' }, { name: 'go' }],
      mod: {
        async start(type: StartType, _args: unknown, self: Process) {
          model.instanceStarting('ctr', self.node, type);
          const inst: CtrInstance = { node: self.node.name, startedAt: model.sim.now, lineage: model.newLineage(self.node.name), value: 0, moved: false };
          const r = await supervisor.startLink(self, sup(inst), undefined, { name: 'ctr_sup' });
          if (typeof r !== 'object' || !('ok' in r)) {
            model.instanceEnded('ctr', self.node.name);
            return r;
          }
          model.ctrOn.set(self.node, inst);
          model.watchStartPhases('ctr', self.node, r.ok);
          return { ok: r.ok, state: inst };
        },
        async startPhase(phase: string, type: StartType, _args: unknown, self: Process) {
          if (phase !== 'go') return 'ok';
          const node = self.node as DistNode;
          const pid = node.whereis('ctr_srv');
          if (pid === undefined) return { error: 'no ctr_srv' };
          if (typeof type === 'object' && 'takeover' in type) {
            // Fetch the old instance's state while it still runs; without it the takeover fails
            // and the old instance keeps running (toliman's proxima does the same).
            let r: CtrReply;
            try {
              r = (await genServer.call(self, ['ctr_srv', type.takeover], 'handover' satisfies CtrCall, 2000)) as CtrReply;
            } catch (e) {
              return { error: { fetchState: String(e) } };
            }
            if (typeof r !== 'object' || !('ok' in r)) return { error: { fetchState: r } };
            await genServer.call(self, pid, { adopt: { value: r.ok, lineage: r.lineage } } satisfies CtrCall);
          }
          await node.global.reRegister('ctr', pid, distAcResolver('ctr'));
          model.startPhasesDone('ctr', node);
          return 'ok';
        },
        prepStop(inst: CtrInstance) {
          model.stopping(inst);
          return inst;
        },
        stop(inst: CtrInstance) {
          model.instanceEnded('ctr', inst.node);
        },
      },
    };
  }

  /** I5: an instance that stops while its node stays up must have handed its state over, unless the stop was asked for or a reconcile. */
  private stopping(inst: CtrInstance): void {
    if (this.closed || inst.moved) return;
    const node = this.sim.isUp(inst.node) ? this.sim.node(inst.node) : undefined;
    if (node === undefined) return;
    if (this.ctrOn.get(node) === inst) this.ctrOn.delete(node);
    // A killed server ended the application (a crash, not a move): I1 sees where it runs.
    if (inst.srv === undefined || !node.isAlive(inst.srv)) return;
    const key = `${inst.node} ctr`;
    if ((this.stopAsked.get(key) ?? -1) >= inst.startedAt || (this.reconciled.get(key) ?? -1) >= inst.startedAt) return;
    const acked = this.acks.get(inst.lineage) ?? 0;
    if (acked === 0) return;
    this.lostState.push(`ctr on ${inst.node} (lineage ${inst.lineage}, value ${inst.value}, ${acked} acknowledged) stopped at ${this.sim.now} ms without handing its state over (no appstop, no permit false, no reconcile)`);
  }

  private slowSpec(): ApplicationSpec {
    const srv: genServer.GenServerBehaviour<string, undefined> = {
      init: (_a, self) => ({ ok: self.node.name }),
      handleCall: (_req, _from, state) => ({ reply: state, state }),
    };
    const sup: supervisor.SupervisorBehaviour<undefined> = {
      init: () => ({ flags: { strategy: 'one_for_all', intensity: 0, period: 1 }, children: [supervisor.worker('srv', srv, undefined, { name: 'slow_srv' })] }),
    };
    const starting = (type: StartType, node: Node): void => this.instanceStarting('slow', node, type);
    const ended = (node: Node): void => this.instanceEnded('slow', node.name);
    const watch = (node: Node, top: Pid): void => this.watchStartPhases('slow', node, top);
    const phasesDone = (node: Node): void => this.startPhasesDone('slow', node);
    return {
      name: 'slow',
      version: '1.0.0',
      startPhases: [{ name: 'init' }, { name: 'go' }],
      mod: {
        async start(type: StartType, _args: unknown, self: Process) {
          starting(type, self.node);
          const r = await supervisor.startLink(self, sup, undefined, { name: 'slow_sup' });
          if (!(typeof r === 'object' && 'ok' in r)) ended(self.node);
          else watch(self.node, r.ok);
          return typeof r === 'object' && 'ok' in r ? { ok: r.ok, state: self.node } : r;
        },
        async startPhase(phase: string, _type: StartType, _args: unknown, self: Process) {
          if (phase !== 'go') return 'ok';
          const node = self.node as DistNode;
          const pid = node.whereis('slow_srv');
          if (pid === undefined) return { error: 'no slow_srv' };
          await node.global.reRegister('slow', pid, distAcResolver('slow'));
          phasesDone(node);
          return 'ok';
        },
        async prepStop(node: Node) {
          await node.delay(SLOW_PREP_STOP_MS);
          return node;
        },
        stop(node: Node) {
          ended(node);
        },
      },
    };
  }

  private grpSpec(): ApplicationSpec {
    const srv: genServer.GenServerBehaviour<string, undefined> = {
      init: (_a, self) => ({ ok: self.node.name }),
      handleCall: (_req, _from, state) => ({ reply: state, state }),
    };
    const sup: supervisor.SupervisorBehaviour<undefined> = {
      init: () => ({ flags: { strategy: 'one_for_one', intensity: 3, period: 5 }, children: [supervisor.worker('srv', srv, undefined, { name: 'grp_srv' })] }),
    };
    const start = async (type: StartType, _a: unknown, self: Process): Promise<{ ok: Pid; state: Node } | Exclude<Awaited<ReturnType<typeof supervisor.startLink>>, { ok: Pid }>> => {
      this.instanceStarting('grp', self.node, type);
      const r = await supervisor.startLink(self, sup, undefined, { name: 'grp_sup' });
      if (typeof r === 'object' && 'ok' in r) return { ok: r.ok, state: self.node };
      this.instanceEnded('grp', self.node.name);
      return r;
    };
    const stop = (node: Node): void => this.instanceEnded('grp', node.name);
    return { name: 'grp', version: '1.0.0', mod: { start, stop } };
  }
}
