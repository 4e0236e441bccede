/**
 * The rigil command's log (stderr): its own progress lines, the node's reports, and the lines
 * of the `debug` namespaces `rigil:*` that `DEBUG` enables — as text (`[node] message`, the
 * default) or, with `--log-format json` (or the config's `log.format`), one JSON object per
 * line: `{ "ts", "level", "ns", "msg", ...fields }`.
 *
 * Bounded: what a peer can put in a line (a report's message, reason, peer name) is escaped
 * and cut (`escapeUntrusted`, `renderUntrusted`), never stringified whole; fields are strings,
 * numbers or booleans only. A report is written once: the `debug` line of a report
 * (`LogLineInfo.report`) is dropped, the command writes the report itself from `onReport`.
 */
import { setLogWriter, type LogLineInfo, type Report } from '@rigil/core';
import { escapeUntrusted, renderUntrusted } from '@rigil/net';
import { CliError } from './errors.js';

/** How log lines are written. */
export type LogFormat = 'text' | 'json';

/** The formats `--log-format` takes. */
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/** Severity of a line (the JSON `level`). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Scalar fields of a JSON line. */
export type LogFields = Record<string, string | number | boolean>;

/** Longest message written, in characters (longer ones are cut, with an ellipsis). */
export const MAX_MESSAGE = 2000;

/** Checks a `--log-format` value; throws `ERR_USAGE` naming the allowed ones. */
export function checkLogFormat(v: unknown, where: string): LogFormat {
  if (typeof v === 'string' && (LOG_FORMATS as readonly string[]).includes(v)) return v as LogFormat;
  throw new CliError('ERR_USAGE', `${where} must be one of ${LOG_FORMATS.join(', ')}, got ${JSON.stringify(typeof v === 'string' ? escapeUntrusted(v, 40) : v)}`);
}

/** Report kinds whose reports are errors (a process or a server died). */
const ERROR_KINDS = new Set(['crash', 'supervisor', 'gen_server', 'gen_statem', 'terminate']);

/** The level of a report: errors for crashes, warnings for reports with a code, info otherwise. */
export function reportLevel(r: Report): LogLevel {
  if (ERROR_KINDS.has(r.kind)) return 'error';
  return r.code !== undefined ? 'warn' : 'info';
}

/**
 * The rigil command's log writer. `node` (the node's name) prefixes text lines and is a field
 * of JSON lines. (No OTP counterpart: OTP's logger formatters play the part.)
 */
export class CliLog {
  constructor(
    readonly format: LogFormat,
    /** The node the lines are about (text prefix `[node]`, JSON field `node`), if any. */
    private readonly node?: string,
    private readonly write: (text: string) => void = (t) => void process.stderr.write(t),
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** One line of the command's own (namespace `rigil:cli`). */
  line(msg: string, level: LogLevel = 'info', fields: LogFields = {}): void {
    this.emit(level, 'rigil:cli', msg, fields);
  }

  /** A node's report, bounded and escaped: kind, message, reason, and its scalar fields. */
  report(r: Report): void {
    const reason = r.reason === undefined ? undefined : typeof r.reason === 'string' ? escapeUntrusted(r.reason, 1000) : renderUntrusted(r.reason, { maxLength: 1000, maxDepth: 4 });
    const message = escapeUntrusted(r.message, MAX_MESSAGE);
    if (this.format === 'text') {
      this.text(`${escapeUntrusted(r.kind, 40)}: ${message}${reason !== undefined ? `: ${reason}` : ''}`);
      return;
    }
    const fields: LogFields = {};
    for (const [k, v] of Object.entries(r)) {
      if (k === 'kind' || k === 'message' || k === 'reason' || k === 'node' || k.length > 40) continue;
      if (typeof v === 'string') fields[k] = escapeUntrusted(v, 300);
      else if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') fields[k] = v;
      else if (k === 'pid' && v !== undefined && v !== null) fields[k] = escapeUntrusted(String(v), 300);
    }
    if (reason !== undefined) fields.reason = reason;
    if (r.node !== this.node) fields.from = escapeUntrusted(r.node, 300);
    this.emit(reportLevel(r), `rigil:${escapeUntrusted(r.kind, 40)}`, message, fields);
  }

  /**
   * Routes the `rigil:*` `debug` lines `DEBUG` enables through this log (`setLogWriter`), as
   * `debug` lines of their namespace; the debug lines of reports are dropped (`report` writes
   * them). Returns the function that puts debug's own writer back.
   */
  captureDebug(): () => void {
    setLogWriter((line: string, info: LogLineInfo) => {
      if (info.report !== undefined) return;
      if (this.format === 'text') this.write(`${escapeUntrusted(line, MAX_MESSAGE)}\n`);
      else this.emit('debug', info.namespace, escapeUntrusted(info.message, MAX_MESSAGE), {});
    });
    return () => setLogWriter(undefined);
  }

  private text(msg: string): void {
    this.write(`${this.node !== undefined ? `[${this.node}] ` : ''}${msg}\n`);
  }

  private emit(level: LogLevel, ns: string, msg: string, fields: LogFields): void {
    if (this.format === 'text') {
      this.text(msg);
      return;
    }
    const out: Record<string, string | number | boolean> = { ts: this.now().toISOString(), level, ns, msg };
    if (this.node !== undefined) out.node = this.node;
    // The fixed keys first, and they win over a report field of the same name.
    for (const [k, v] of Object.entries(fields)) if (!Object.hasOwn(out, k)) out[k] = v;
    this.write(`${JSON.stringify(out)}\n`);
  }
}
