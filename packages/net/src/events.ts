/**
 * The node's event hook (`node.onEvent`) and the counters the metrics are made of.
 *
 * Why a hook of its own rather than `onReport`: reports are log records — free text plus loose
 * fields, emitted for many things, their shape owned by whoever reports. Telemetry wants a small
 * closed set of typed events with stable fields (an OpenTelemetry span event or counter per
 * type). `onEvent` is built on top of the two existing streams — the node's reports and its
 * `nodeup`/`nodedown` events — so nothing new is emitted on any hot path: one handler each,
 * called only when something happened. OTP has no single equivalent: `net_kernel:monitor_nodes/2`,
 * logger handlers for supervisor and dist_ac reports, `erlang:system_monitor/2`.
 */
import type { Node, Pid, Report } from '@rigil/core';
import type { NodeEvent } from './net_kernel.js';

/** Why a distributed application started on a node (@rigil/dist-ac's `MoveCause`). */
export type MoveCause = 'start' | 'failover' | 'takeover' | 'permit' | 'reconcile';

/** An event `node.onEvent` delivers; `node` is always the node that saw it, `at` its `Date.now()`. */
export type RigilEvent =
  /** A peer connected (OTP's `{nodeup, Node}`). */
  | { readonly type: 'nodeup'; readonly node: string; readonly at: number; readonly peer: string; readonly hidden: boolean }
  /** A peer's connection was lost (OTP's `{nodedown, Node}`); `lost` says how, `reason` the error code if any. */
  | { readonly type: 'nodedown'; readonly node: string; readonly at: number; readonly peer: string; readonly hidden: boolean; readonly lost: string | undefined; readonly reason: string | undefined }
  /** A distributed application started here, with why and its fencing epoch (dist-ac's "started here" report). */
  | { readonly type: 'distAc.started'; readonly node: string; readonly at: number; readonly application: string; readonly cause: MoveCause | 'unknown'; readonly epoch: number | null; readonly previous: string | null }
  /** dist-ac stopped the local instance of a distributed application: a reconcile kept another one, or the quorum was lost. */
  | { readonly type: 'distAc.stopped'; readonly node: string; readonly at: number; readonly application: string; readonly cause: 'reconcile' | 'quorum' }
  /** A supervisor restarted a child (supervisor report `child_restarted`). */
  | { readonly type: 'supervisor.restart'; readonly node: string; readonly at: number; readonly supervisor: Pid | undefined; readonly supervisorName: string | undefined; readonly childId: unknown; readonly childPid: Pid | undefined }
  /** A supervisor gave up: more restarts than its intensity allows (it exits `shutdown`). */
  | { readonly type: 'supervisor.gaveUp'; readonly node: string; readonly at: number; readonly supervisor: Pid | undefined; readonly supervisorName: string | undefined; readonly childId: unknown };

/** A subscriber of `node.onEvent`. */
export type EventHandler = (e: RigilEvent) => void;

/** Counters kept from the events since the node started (what the metrics show). */
export interface EventCounters {
  nodeups: number;
  nodedowns: number;
  /** Supervisor restarts on this node, every supervisor (dead ones included). */
  restarts: number;
  /** dist-ac starts on this node, by application, then cause. */
  readonly distAcStarts: Map<string, Map<string, number>>;
  /** dist-ac reconcile stops on this node, by application. */
  readonly distAcReconciles: Map<string, number>;
}

/** Applications counted at most (a bound on the counters' size). */
export const MAX_COUNTED_APPS = 1000;

/** The event hub of one node: turns reports and node events into `RigilEvent`s and counts them. */
export class NodeEvents {
  readonly counters: EventCounters = { nodeups: 0, nodedowns: 0, restarts: 0, distAcStarts: new Map(), distAcReconciles: new Map() };
  private readonly handlers = new Set<EventHandler>();

  constructor(
    private readonly node: Node,
    subscribeNodeEvents: (fn: (e: NodeEvent) => void) => () => void,
  ) {
    node.onReport((r) => this.onReport(r));
    subscribeNodeEvents((e) => this.onNodeEvent(e));
  }

  /** Subscribes `handler`; returns the unsubscribe function. */
  subscribe(handler: EventHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  private onNodeEvent(e: NodeEvent): void {
    const base = { node: this.node.name, at: Date.now(), peer: e.node, hidden: e.hidden };
    if (e.type === 'nodeup') {
      this.counters.nodeups++;
      this.emit({ type: 'nodeup', ...base });
    } else {
      this.counters.nodedowns++;
      this.emit({ type: 'nodedown', ...base, lost: e.lost, reason: e.reason?.code });
    }
  }

  private onReport(r: Report): void {
    if (r.kind === 'supervisor') {
      const base = { node: this.node.name, at: Date.now(), supervisor: r.pid, supervisorName: r.name, childId: r.childId };
      if (r.event === 'child_restarted') {
        this.counters.restarts++;
        this.emit({ type: 'supervisor.restart', ...base, childPid: r.childPid as Pid | undefined });
      } else if (r.event === 'reached_max_restart_intensity') this.emit({ type: 'supervisor.gaveUp', ...base });
      return;
    }
    if (r.kind !== 'dist_ac' || typeof r.application !== 'string') return;
    const app = r.application;
    if (typeof r.epoch === 'number' && 'startType' in r) {
      // dist-ac's "started here" report. Its cause is a field on newer dist-ac; older ones put
      // it only in the message ("<app> started here (<cause>, epoch <n>)").
      const cause = causeOf(r);
      const byCause = this.countedApp(this.counters.distAcStarts, app, () => new Map<string, number>());
      if (byCause !== undefined) byCause.set(cause, (byCause.get(cause) ?? 0) + 1);
      this.emit({ type: 'distAc.started', node: this.node.name, at: Date.now(), application: app, cause, epoch: r.epoch, previous: typeof r.previous === 'string' ? r.previous : null });
      return;
    }
    if (r.code === 'reconcile') {
      if (this.countedApp(this.counters.distAcReconciles, app, () => 0) !== undefined) this.counters.distAcReconciles.set(app, (this.counters.distAcReconciles.get(app) ?? 0) + 1);
      this.emit({ type: 'distAc.stopped', node: this.node.name, at: Date.now(), application: app, cause: 'reconcile' });
    } else if (r.code === 'quorum' && / stopped here /.test(r.message)) {
      this.emit({ type: 'distAc.stopped', node: this.node.name, at: Date.now(), application: app, cause: 'quorum' });
    }
  }

  /** The counter entry of `app` (created), or undefined once `MAX_COUNTED_APPS` are counted. */
  private countedApp<V>(m: Map<string, V>, app: string, make: () => V): V | undefined {
    let v = m.get(app);
    if (v === undefined) {
      if (m.size >= MAX_COUNTED_APPS) return undefined;
      m.set(app, (v = make()));
    }
    return v;
  }

  private emit(e: RigilEvent): void {
    for (const h of this.handlers) {
      try {
        h(e);
      } catch {
        // a broken subscriber must not break the node
      }
    }
  }
}

const CAUSES = new Set(['start', 'failover', 'takeover', 'permit', 'reconcile']);

function causeOf(r: Report): MoveCause | 'unknown' {
  if (typeof r.cause === 'string' && CAUSES.has(r.cause)) return r.cause as MoveCause;
  const m = / started here \(([a-z]+), epoch /.exec(r.message);
  return m !== null && CAUSES.has(m[1]!) ? (m[1] as MoveCause) : 'unknown';
}
