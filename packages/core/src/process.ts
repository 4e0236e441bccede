/**
 * What a process's own code sees of itself: the documented `self` handle (OTP's `self()` and
 * the BIFs a process calls on itself: receive, send, link, monitor, exit, trap_exit, spawn).
 *
 * The record behind it — mailbox, links, monitors, flags, the scheduler's bookkeeping — is
 * internal (`internal/process.ts`) and not part of the public API.
 *
 * This module sits below `node.ts` in the import graph, yet `self.node` is a `Node`: node.ts
 * fills in `NodeRegister` by declaration merging (the pattern of TanStack Router's `Register`),
 * so modules under node.ts can name the node's type without importing node.ts, and no import
 * cycle forms, type imports included.
 */
import type { Pid, Ref } from './pid.js';
import type { ExitReason } from './reason.js';
import type { Timer } from './timer.js';

/**
 * @internal Filled by node.ts with `{ node: Node }` (declaration merging). Modules below
 * node.ts name the node's type as `NodeType`.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface NodeRegister {}

/** The `Node` class of @rigil/core, named here without importing node.ts (see the module comment). */
export type NodeType = NodeRegister extends { node: infer N } ? N : never;

/** Lifecycle of a process. */
export type ProcessStatus =
  /** spawned, its function not yet entered */
  | 'starting'
  /** running code, or runnable */
  | 'running'
  /** blocked in `receive`, or an idle behaviour */
  | 'waiting'
  /** held by a send to a node whose connection is busy, until it drains (OTP's `suspended`) */
  | 'suspended'
  /** exited; the handle is only kept by whoever still references it */
  | 'dead';

/** What `receive` returns when its timeout fires (OTP's `after` clause). */
export const TIMEOUT: unique symbol = Symbol('rigil.timeout');
/** The type of `TIMEOUT`. */
export type Timeout = typeof TIMEOUT;

/** A receive pattern: a predicate over messages, ideally a type guard. */
export type Matcher<T = unknown> = ((m: unknown) => m is T) | ((m: unknown) => boolean);

/** The body of an async-function process. */
export type ProcessFunction = (self: Process) => unknown;

/** Thrown inside a process's own code to unwind it once the process has exited. */
export class ProcessExited {
  constructor(readonly reason: ExitReason) {}
}

/** Where a message can be sent: a pid, a local registered name, or `[name, node]`. */
export type Destination = Pid | string | readonly [name: string, node: string];

/** What a monitor can watch: a pid, a local name, or `[name, node]`. */
export type MonitorTarget = Pid | string | readonly [name: string, node: string];

/** Options of `spawn`. */
export interface SpawnOptions {
  /** Start with trap_exit set. */
  trapExit?: boolean;
}

/** Receives `DOWN` for a monitor held by code outside any process (calls, supervisors' helpers). */
export interface MonitorHandler {
  onDown(ref: Ref, reason: ExitReason, object: Pid | readonly [string, string]): void;
}

/** Receives messages sent to an alias (OTP's process alias), e.g. a call's reply. */
export interface AliasHandler {
  onAlias(msg: unknown): void;
}

/**
 * A process, as its own code sees it (`self`): handed to an async-function process's body and
 * to every behaviour callback.
 * @example node.spawn(async (self) => { const m = await self.receive(); self.send(m.from, 'ok'); });
 */
export interface Process {
  /** This process's pid (OTP's `self()`). */
  readonly pid: Pid;
  /** The node the process runs on. */
  readonly node: NodeType;
  /** True while this process is alive (OTP's `is_process_alive(self())`). */
  readonly alive: boolean;
  /** Number of messages waiting in the mailbox (OTP's `process_info(self(), message_queue_len)`). */
  readonly queueLength: number;
  /** Lifecycle status of this process (OTP's `process_info(self(), status)`). */
  readonly status: ProcessStatus;
  /** Registered name, if any (OTP's `process_info(self(), registered_name)`). */
  readonly registeredName: string | undefined;

  /**
   * Takes the oldest message that `match` accepts, waiting up to `timeoutMs` (OTP's `receive`).
   * Unmatched messages stay in the mailbox in order. `timeoutMs = 0` polls; omitted or
   * `Infinity` waits forever; on timeout the promise resolves to `TIMEOUT`.
   * @example const m = await self.receive((m): m is Ping => isPing(m), 1000);
   */
  receive(): Promise<unknown>;
  receive<T>(match: ((m: unknown) => m is T) | undefined): Promise<T>;
  receive(match: ((m: unknown) => boolean) | undefined): Promise<unknown>;
  receive<T>(match: ((m: unknown) => m is T) | undefined, timeoutMs: number): Promise<T | Timeout>;
  receive(match: ((m: unknown) => boolean) | undefined, timeoutMs: number): Promise<unknown>;
  /**
   * Sends `msg` to a pid, a local name or `[name, node]` (OTP's `erlang:send/2`); a dead sender
   * sends nothing. A send to a node whose connection is busy (more queued than its `busyLimit`)
   * suspends this process: its next `receive` waits until the connection drains.
   */
  send(dest: Destination, msg: unknown): void;
  /** Links this process to `pid` (OTP's `link/1`); a dead `pid` sends this process an exit `noproc`. */
  link(pid: Pid): void;
  /** Removes the link to `pid` (OTP's `unlink/1`). */
  unlink(pid: Pid): void;
  /** Monitors a pid or `[name, node]` (OTP's `monitor(process, X)`); returns the monitor ref. */
  monitor(target: MonitorTarget): Ref;
  /**
   * Removes a monitor (OTP's `demonitor/2`); with `flush` also drops a `DOWN` already queued.
   * Returns false when the monitor was already gone.
   */
  demonitor(ref: Ref, options?: { flush?: boolean }): boolean;
  /**
   * `exit(reason)` ends this process now with `reason` (OTP's `exit/1`) and never returns;
   * `exit(pid, reason)` sends `pid` an exit signal (OTP's `exit/2`).
   */
  exit(reason: ExitReason): never;
  exit(pid: Pid, reason: ExitReason): void;
  /** Sets trap_exit and returns the previous value (OTP's `process_flag(trap_exit, Flag)`). */
  trapExit(flag: boolean): boolean;
  /** Spawns a process (OTP's `spawn/1`). */
  spawn(fn: ProcessFunction, options?: SpawnOptions): Pid;
  /** Spawns a process linked to this one, atomically (OTP's `spawn_link/1`). */
  spawnLink(fn: ProcessFunction): Pid;
  /** Spawns a process and monitors it, atomically (OTP's `spawn_monitor/1`). */
  spawnMonitor(fn: ProcessFunction): { pid: Pid; ref: Ref };
  /** Sends `msg` to `dest` after `ms` milliseconds (OTP's `erlang:send_after/3`). */
  sendAfter(ms: number, dest: Destination, msg: unknown): Timer;
  /** Removes and returns every queued message that `match` accepts (all when omitted). */
  flush(match?: Matcher): unknown[];
}
