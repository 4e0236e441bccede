/**
 * What the node's parts (links, monitors, registry) need from the node itself: its identity,
 * its process table and the way out to other nodes. node.ts builds one `Kernel` per node and
 * hands it to each part, so the parts never import node.ts.
 */
import type { Pid } from '../pid.js';
import type { ExitReason } from '../reason.js';
import type { RemoteRouter } from '../remote.js';
import type { Report } from '../logger.js';
import type { ProcessRecord } from './process.js';

/** The node as its parts see it (see the module comment). */
export interface Kernel {
  /** The node's name. */
  readonly name: string;
  /** The node's incarnation number. */
  readonly creation: number;
  /** The sender of signals made from outside any process. */
  readonly systemPid: Pid;
  /** The router to other nodes (the no-distribution router until the network attaches). */
  readonly router: RemoteRouter;
  /** The live local process of `pid`, or undefined. */
  local(pid: Pid): ProcessRecord | undefined;
  /** Ends `p` with `reason` (the node's exit path: name freed, links and monitors signalled). */
  terminate(p: ProcessRecord, reason: ExitReason): void;
  /** Emits a report (a crash in a handler, …). */
  report(r: Omit<Report, 'node'>): void;
}
