/**
 * Reports (OTP's logger events: crash reports, supervisor reports, progress reports).
 *
 * Every report goes to the `debug` logger under `rigil:<kind>` and to the node's
 * subscribers (`node.onReport`), which is how tests and tools observe them.
 */
import { format } from 'node:util';
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

/**
 * What a log writer is told besides the line: the `debug` namespace (`rigil:dist`), the
 * message without it, and the report when the line is one (`writeReport`), so a writer that
 * renders reports itself (the rigil command's JSON log) can tell them apart.
 */
export interface LogLineInfo {
  readonly namespace: string;
  readonly message: string;
  readonly report?: Report;
}

/** Where `setLogWriter` sends the lines: the line as `debug` formats it, and what it is. */
export type LogWriter = (line: string, info: LogLineInfo) => void;

const loggers = new Map<string, createDebug.Debugger>();
let writer: LogWriter | undefined;
/** The report `writeReport` is writing, while it is (the writer's `info.report`). */
let writing: Report | undefined;

/** The `debug` logger of a namespace under `rigil:`. */
export function logger(kind: string): createDebug.Debugger {
  let d = loggers.get(kind);
  if (d === undefined) {
    d = createDebug(`rigil:${kind}`);
    if (writer !== undefined) redirect(d, writer);
    loggers.set(kind, d);
  }
  return d;
}

/**
 * Sends the lines of every `rigil:*` logger that `DEBUG` enables to `w` instead of stderr
 * (`undefined`: back to stderr), with their namespace and, for a report, the report itself
 * (`LogLineInfo`). A simulated cluster uses it to put them in its event log, stamped with
 * virtual time; the rigil command to write them as JSON lines. OTP's
 * `logger:add_handler/3` plays the part.
 */
export function setLogWriter(w: LogWriter | undefined): void {
  writer = w;
  for (const d of loggers.values()) redirect(d, w);
}

/** debug's instances and module carry `useColors`, which its types leave out. */
type Colours = { useColors: boolean };

function redirect(d: createDebug.Debugger, w: LogWriter | undefined): void {
  const c = d as createDebug.Debugger & Colours;
  if (w === undefined) {
    // Back to debug's own writer (its `log` property is then looked up on createDebug).
    delete (d as { log?: unknown }).log;
    c.useColors = (createDebug as unknown as { useColors(): boolean }).useColors();
    return;
  }
  c.useColors = false;
  // Without colours debug prefixes an ISO date (unless DEBUG_HIDE_DATE): the writer stamps its own time.
  d.log = (...args: unknown[]) => {
    const line = format(...args).replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /, '');
    const prefix = `${d.namespace} `;
    const message = line.startsWith(prefix) ? line.slice(prefix.length) : line;
    w(line, writing !== undefined ? { namespace: d.namespace, message, report: writing } : { namespace: d.namespace, message });
  };
}

/** Writes a report to the `debug` namespace `rigil:<kind>`. */
export function writeReport(r: Report): void {
  const d = logger(r.kind);
  if (!d.enabled) return;
  const who = r.pid ? ` ${r.pid}${r.name ? ` (${r.name})` : ''}` : '';
  writing = r;
  try {
    d(`[${r.node}]${who} ${r.message}${r.reason !== undefined ? `: ${formatReason(r.reason)}` : ''}`);
  } finally {
    writing = undefined;
  }
}
