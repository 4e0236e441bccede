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

type CtrCall = 'incr' | 'handover' | { adopt: { value: number; lineage: string } };
type CtrReply = { ok: number; lineage: string } | { error: 'moved' } | 'ok';

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
   */
  private readonly claims = new Map<string, number>();
  /** Per node object (incarnation) and application: when its instance started, and whether OTP would place it there (see `placedThere`). */
  private readonly instances = new WeakMap<Node, Map<string, { at: number; placed: boolean }>>();
  /** Acknowledged increments per counter lineage. */
  readonly acks = new Map<string, number>();
  /** `application.start` calls that have not returned, by `node app` key, with the node's creation. */
  readonly pendingStarts = new Map<string, number>();
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

  constructor(
    private readonly sim: Simulation,
    readonly names: readonly string[],
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

  /** The kernel configuration every node boots with. */
  kernel(): KernelConfig {
    const timeout: Record<string, number> = { ctr: 500, slow: 1000, grp: 300 };
    return {
      distributed: APP_NAMES.map((application) => ({ application, timeout: timeout[application]!, nodes: this.priorities.get(application)! })),
      syncNodesOptional: [...this.names],
      syncNodesTimeout: 2000,
    };
  }

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

  /** `application.start(app)` on `node` (an operation, or a boot); tracked until it returns. */
  start(node: DistNode, app: string, record: (e: unknown) => void): void {
    // Started already (and not a fresh incarnation): the call answers `alreadyStarted` and decides nothing.
    if (node.application.isStarted(app) || node.application.whereRunning(app) !== undefined) {
      node.application.start(app).catch(record);
      return;
    }
    this.started.get(node.name)!.add(app);
    this.claims.set(`${node.name} ${app}`, this.sim.now);
    this.unpinIfBetter(app, node);
    const key = `${node.name} ${app}`;
    this.pendingStarts.set(key, node.creation);
    const creation = node.creation;
    node.application.start(app).then(
      () => {
        if (this.pendingStarts.get(key) === creation) this.pendingStarts.delete(key);
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
  }

  /** `application.stop(app)` on `node`. */
  stop(node: DistNode, app: string, record: (e: unknown) => void): void {
    this.started.get(node.name)!.delete(app);
    this.stopAsked.set(`${node.name} ${app}`, this.sim.now);
    if (this.pinned.get(app)?.node === node.name) this.pinned.delete(app);
    node.application.stop(app).catch(record);
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
    const claimAt = this.sim.now;
    this.pinned.set(app, pin);
    this.claims.set(key, claimAt);
    const undo = (): void => {
      if (this.pinned.get(app) === pin) {
        if (before !== undefined) this.pinned.set(app, before);
        else this.pinned.delete(app);
      }
      if (this.claims.get(key) !== claimAt) return;
      if (claimBefore === undefined) this.claims.delete(key);
      else this.claims.set(key, claimBefore);
    };
    node.application.takeover(app).then(
      (r) => {
        if (r !== 'ok') undo();
      },
      (e: unknown) => {
        undo();
        record(e);
      },
    );
  }

  /** `application.permit(app, flag)` on `node`. */
  permit(node: DistNode, app: string, flag: boolean, record: (e: unknown) => void): void {
    if (!flag) {
      this.stopAsked.set(`${node.name} ${app}`, this.sim.now);
      if (this.pinned.get(app)?.node === node.name) this.pinned.delete(app);
    } else {
      this.claims.set(`${node.name} ${app}`, this.sim.now);
      this.unpinIfBetter(app, node);
    }
    node.application.permit(app, flag).catch(record);
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
    });
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
   * after a heal keeps the better of two *running* instances.
   */
  keptSinceOutage(app: string, runner: string): boolean {
    const inst = this.instances.get(this.sim.node(runner))?.get(app);
    if (inst === undefined || !inst.placed) return false;
    return this.betterCandidates(app, runner).every((n) => (this.claims.get(`${n} ${app}`) ?? -1) < inst.at);
  }

  /** Called by each application's `start` callback on `node`: records when the instance started and whether OTP would place it there. */
  private instanceStarting(app: string, node: Node, type: StartType): void {
    let m = this.instances.get(node);
    if (m === undefined) this.instances.set(node, (m = new Map()));
    const takeover = typeof type === 'object' && 'takeover' in type;
    const peers = (node as DistNode).nodes();
    const reachable = (n: string): boolean => this.sim.isUp(n) && !this.sim.isFrozen(n) && peers.includes(n);
    m.set(app, { at: this.sim.now, placed: takeover || !this.betterCandidates(app, node.name).some(reachable) });
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
          if (typeof r !== 'object' || !('ok' in r)) return r;
          model.ctrOn.set(self.node, inst);
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
          return 'ok';
        },
        prepStop(inst: CtrInstance) {
          model.stopping(inst);
          return inst;
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
    return {
      name: 'slow',
      version: '1.0.0',
      startPhases: [{ name: 'init' }, { name: 'go' }],
      mod: {
        async start(type: StartType, _args: unknown, self: Process) {
          starting(type, self.node);
          const r = await supervisor.startLink(self, sup, undefined, { name: 'slow_sup' });
          return typeof r === 'object' && 'ok' in r ? { ok: r.ok, state: self.node } : r;
        },
        async startPhase(phase: string, _type: StartType, _args: unknown, self: Process) {
          if (phase !== 'go') return 'ok';
          const node = self.node as DistNode;
          const pid = node.whereis('slow_srv');
          if (pid === undefined) return { error: 'no slow_srv' };
          await node.global.reRegister('slow', pid, distAcResolver('slow'));
          return 'ok';
        },
        async prepStop(node: Node) {
          await node.delay(SLOW_PREP_STOP_MS);
          return node;
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
    const start = (type: StartType, _a: unknown, self: Process): ReturnType<typeof supervisor.startLink> => {
      this.instanceStarting('grp', self.node, type);
      return supervisor.startLink(self, sup, undefined, { name: 'grp_sup' });
    };
    return { name: 'grp', version: '1.0.0', mod: { start } };
  }
}
