/**
 * The one interface between core and the network layer, one way each (as Ergo's `gen.Core`):
 * - `RemoteRouter` — outgoing: what a node asks of the network for pids, names and monitors
 *   of other nodes (filled by @rigil/net's net_kernel);
 * - `RemoteHost` — incoming: what the network may do to a node for traffic that arrives
 *   (given to the network by `node.attach(router)`).
 * Nothing else of a node is reachable from another package: no underscore members.
 */
import type { Pid, Ref } from './pid.js';
import type { MonitorHandler } from './process.js';
import type { ExitReason } from './reason.js';

/**
 * The seam through which a node reaches other nodes (implemented by @rigil/net).
 * Every method is fire-and-forget; failures come back as signals (`noconnection`).
 *
 * Backpressure (OTP's busy distribution port): the three message sends return `true` when the
 * connection to the destination's node is now *busy* — more bytes queued than its high-water
 * mark. The message is queued all the same; core then suspends the sending process (if the
 * send came from one) until the router calls `RemoteHost.resume(node)` (or `nodeDown(node)`).
 * A router without backpressure always returns `false`.
 */
export interface RemoteRouter {
  /** Delivers `msg` to a pid on another node; `true`: that node's connection is busy. */
  send(to: Pid, msg: unknown): boolean;
  /** Delivers `msg` to `name` on `node` (dropped silently when nobody has the name); `true`: busy. */
  sendNamed(name: string, node: string, msg: unknown): boolean;
  /** Delivers a message to an alias (a call reply) made on another node; `true`: busy. */
  sendAlias(tag: Ref, msg: unknown): boolean;
  /** Creates the remote half of a link. */
  link(from: Pid, to: Pid): void;
  /** Removes the remote half of a link. */
  unlink(from: Pid, to: Pid): void;
  /** Sends an exit signal (`linked`: because `from` died while linked). */
  exit(from: Pid, to: Pid, reason: ExitReason, linked: boolean): void;
  /** Asks `node` to monitor `target` for the local monitor `ref` owned by `owner`. */
  monitor(owner: Pid, target: Pid | readonly [string, string], ref: Ref): void;
  /** Cancels a remote monitor. */
  demonitor(owner: Pid, target: Pid | readonly [string, string], ref: Ref): void;
}

/**
 * What the network layer may do to a node for incoming traffic (the other half of the seam;
 * OTP's `dist_util`/`erts` side of a distribution channel).
 */
export interface RemoteHost {
  /** This node's name. */
  readonly name: string;
  /** This incarnation's number. */
  readonly creation: number;
  /** Delivers a message to a local pid; dropped if it is dead or of another incarnation. */
  deliver(to: Pid, msg: unknown): void;
  /** Delivers a message to a locally registered name; dropped if nobody holds it. */
  deliverNamed(name: string, msg: unknown): void;
  /** Delivers a message to a local alias (a call reply); dropped if the alias is inactive. */
  deliverAlias(tag: Ref, msg: unknown): void;
  /** A remote process links to a local one; false if the local one is dead (reply `noproc`). */
  acceptLink(from: Pid, to: Pid): boolean;
  /** A remote process removed its link to a local one. */
  acceptUnlink(from: Pid, to: Pid): void;
  /**
   * A remote process monitors a local pid or name; `owner.onDown` is called once the target
   * exits (at once with `noproc` when there is none).
   */
  acceptMonitor(owner: MonitorHandler, target: Pid | readonly [string, string], ref: Ref): void;
  /** Removes a monitor made by `acceptMonitor`; false if it was no longer active. */
  cancelMonitor(ref: Ref): boolean;
  /** An exit signal from a remote process to a local one (spec §a.2). */
  exitSignal(from: Pid, to: Pid, reason: ExitReason, linked: boolean): void;
  /** A remote process this node monitors went down (or never existed). */
  remoteDown(ref: Ref, reason: ExitReason): void;
  /** The peer ended a monitor this node holds (a call's reply ends the call's monitor). */
  remoteMonitorEnded(ref: Ref): void;
  /**
   * A node went down: remote links fire `noconnection`, remote monitors `DOWN noconnection`;
   * processes suspended on its busy connection run again.
   */
  nodeDown(node: string): void;
  /**
   * The connection to `node` is no longer busy (below its low-water mark): the processes
   * suspended by a send to it run again (OTP: the busy distribution port is free).
   */
  resume(node: string): void;
  /** The canonical `Pid` object for `{node, id, creation}` (a live local process's own pid). */
  internPid(node: string, id: number, creation: number): Pid;
  /** True while `pid` names a live local process. */
  isAlive(pid: Pid): boolean;
}
