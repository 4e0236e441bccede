/**
 * Reports (OTP's logger events: crash reports, supervisor reports, progress reports).
 *
 * Every report goes to the `debug` logger under `rigil:<kind>` and to the node's
 * subscribers (`node.onReport`), which is how tests and tools observe them.
 */
import createDebug from 'debug';
import type { Pid } from './pid.js';
import { formatReason } from './reason.js';

/** A report about something that happened on a node. */
export interface Report {
  /** `crash` (a process exited abnormally), `supervisor` (child terminated, intensity reached), `progress`, `application`, … */
  readonly kind: string;
  /** The node the report is from. */
  readonly node: string;
  /** The process concerned, if any. */
  readonly pid?: Pid;
  /** Its registered name, if any. */
  readonly name?: string;
  /** Human summary. */
  readonly message: string;
  /** The exit reason or other structured detail. */
  readonly reason?: unknown;
  /** More structured fields (child id, supervisor, application, …). */
  readonly [key: string]: unknown;
}

/** A subscriber to reports. */
export type ReportHandler = (report: Report) => void;

const loggers = new Map<string, createDebug.Debugger>();

/** The `debug` logger of a namespace under `rigil:`. */
export function logger(kind: string): createDebug.Debugger {
  let d = loggers.get(kind);
  if (d === undefined) {
    d = createDebug(`rigil:${kind}`);
    loggers.set(kind, d);
  }
  return d;
}

/** Writes a report to the `debug` namespace `rigil:<kind>`. */
export function writeReport(r: Report): void {
  const d = logger(r.kind);
  if (!d.enabled) return;
  const who = r.pid ? ` ${r.pid}${r.name ? ` (${r.name})` : ''}` : '';
  d(`[${r.node}]${who} ${r.message}${r.reason !== undefined ? `: ${formatReason(r.reason)}` : ''}`);
}
