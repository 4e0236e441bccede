/**
 * Exit reasons and the signal messages (`EXIT`, `DOWN`) a process can receive.
 *
 * An exit reason is any value, as in OTP. The conventional ones:
 * `'normal'`, `'shutdown'`, `{ shutdown: x }` (expected, never reported), `'kill'`
 * (untrappable when sent with `exit/2`), `'killed'`, `'noproc'`, `'noconnection'`, and
 * `ErrorReason` for a process whose code threw.
 */
import type { Pid, Ref } from './pid.js';

/** Any exit reason (OTP: any term). See the module comment for the conventional ones. */
export type ExitReason = unknown;

/** The reason a process exits with when its code throws an `Error` (OTP's `{Reason, Stack}`). */
export interface ErrorReason {
  /** The error's class name, e.g. `TypeError` or `RigilError`. */
  readonly error: string;
  /** The error's message. */
  readonly message: string;
  /** The stack trace, when there is one. */
  readonly stack?: string;
  /** The stable code of a rigil error. */
  readonly code?: string;
  /** The OTP-style reason carried by a rigil error (e.g. a call's exit reason). */
  readonly reason?: unknown;
}

/** `{ shutdown: x }`: an expected termination carrying a detail (OTP's `{shutdown, X}`). */
export interface ShutdownReason {
  readonly shutdown: unknown;
}

/** Message a trapping process receives for an exit signal (OTP's `{'EXIT', From, Reason}`). */
export interface ExitMessage {
  readonly tag: 'EXIT';
  readonly from: Pid;
  readonly reason: ExitReason;
}

/** Message a monitor owner receives (OTP's `{'DOWN', Ref, process, Object, Reason}`). */
export interface DownMessage {
  readonly tag: 'DOWN';
  readonly ref: Ref;
  readonly type: 'process';
  /** The monitored pid, or `[name, node]` when a name was monitored. */
  readonly object: Pid | readonly [string, string];
  readonly reason: ExitReason;
}

/** True for an `EXIT` message. */
export function isExit(m: unknown): m is ExitMessage {
  return typeof m === 'object' && m !== null && (m as ExitMessage).tag === 'EXIT';
}

/** True for a `DOWN` message, optionally for one monitor ref. */
export function isDown(m: unknown, ref?: Ref): m is DownMessage {
  return (
    typeof m === 'object' &&
    m !== null &&
    (m as DownMessage).tag === 'DOWN' &&
    (ref === undefined || (m as DownMessage).ref === ref)
  );
}

/** True for `{ shutdown: x }`. */
export function isShutdownReason(r: unknown): r is ShutdownReason {
  return typeof r === 'object' && r !== null && !Array.isArray(r) && Object.keys(r).length === 1 && 'shutdown' in r;
}

/**
 * True for the reasons OTP treats as expected — `normal`, `shutdown`, `{shutdown, _}` — which
 * produce no crash report.
 */
export function isQuietReason(r: unknown): boolean {
  return r === 'normal' || r === 'shutdown' || isShutdownReason(r);
}

/** True for an `ErrorReason`. */
export function isErrorReason(r: unknown): r is ErrorReason {
  return typeof r === 'object' && r !== null && typeof (r as ErrorReason).error === 'string' && 'message' in r;
}

/** The reason a process exits with when its code throws `e`. */
export function reasonFromThrown(e: unknown): ExitReason {
  if (e instanceof Error) {
    const r: { -readonly [K in keyof ErrorReason]: ErrorReason[K] } = { error: e.name, message: e.message };
    if (e.stack !== undefined) r.stack = e.stack;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') r.code = code;
    const reason = (e as { reason?: unknown }).reason;
    if (reason !== undefined) r.reason = reason;
    return r;
  }
  return { error: 'nocatch', message: safeString(e), reason: e };
}

/** Renders a reason for logs. */
export function formatReason(r: unknown): string {
  if (typeof r === 'string') return r;
  if (isErrorReason(r)) return `${r.error}: ${r.message}`;
  return safeString(r);
}

function safeString(v: unknown): string {
  try {
    return typeof v === 'object' ? JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)) : String(v);
  } catch {
    return String(v);
  }
}
