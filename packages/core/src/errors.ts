/**
 * Every error @rigil/core raises, in one place, each with a stable `code`.
 *
 * Expected outcomes (a name already taken, a child already present) are values, not errors;
 * what is thrown here is what OTP would raise as an exception (`badarg`, `exit(noproc)`, …).
 *
 * | code | raised when | OTP equivalent |
 * |---|---|---|
 * | `ERR_BADARG` | an argument has the wrong shape (bad name, bad timeout, bad destination) | `badarg` |
 * | `ERR_NOT_REGISTERED` | `send` or `unregister` with a local name nobody holds | `badarg` |
 * | `ERR_NAME_TAKEN` | `register` with a name another process holds | `badarg` |
 * | `ERR_ALREADY_NAMED` | `register` of a process that already has a name | `badarg` |
 * | `ERR_NOPROC` | an operation needs a live local process and it is dead or unknown | `noproc` |
 * | `ERR_NOT_LOCAL` | `register` of a pid that lives on another node | `badarg` |
 * | `ERR_CALL_TIMEOUT` | `gen_server.call` got no reply within its timeout | `exit({timeout, _})` |
 * | `ERR_CALL_NOPROC` | the called server does not exist | `exit({noproc, _})` |
 * | `ERR_CALL_EXIT` | the called server exited before replying (`reason` holds why) | `exit({Reason, _})` |
 * | `ERR_CALL_NODEDOWN` | the connection to the server's node went down | `exit({{nodedown, N}, _})` |
 * | `ERR_CALLING_SELF` | a process called itself | `exit({calling_self, _})` |
 * | `ERR_NODE_STOPPED` | the node was stopped while the operation was pending | — |
 * | `ERR_BAD_RETURN` | a behaviour callback returned a value of the wrong shape | `{bad_return_value, V}` |
 * | `ERR_CALLBACK_FAILED` | a `sys` request's callback threw in the server (e.g. `replaceState`'s function); the server runs on | `exit({callback_failed, …})` |
 * | `ERR_START_FAILED` | `okPid`/`assertStarted` got `{ error: reason }` from a start (`reason` holds it) | `{badmatch, {error, R}}` |
 * | `ERR_START_IGNORED` | `okPid`/`assertStarted` got `'ignore'` (or `startChild`'s `{ ok: undefined }`): no process was started | `{badmatch, ignore}` |
 */

import { formatReason } from './reason.js';

/** The stable error codes of @rigil/core (see the table above). */
export type CoreErrorCode =
  | 'ERR_BADARG'
  | 'ERR_NOT_REGISTERED'
  | 'ERR_NAME_TAKEN'
  | 'ERR_ALREADY_NAMED'
  | 'ERR_NOPROC'
  | 'ERR_NOT_LOCAL'
  | 'ERR_CALL_TIMEOUT'
  | 'ERR_CALL_NOPROC'
  | 'ERR_CALL_EXIT'
  | 'ERR_CALL_NODEDOWN'
  | 'ERR_CALLING_SELF'
  | 'ERR_NODE_STOPPED'
  | 'ERR_BAD_RETURN'
  | 'ERR_CALLBACK_FAILED'
  | 'ERR_START_FAILED'
  | 'ERR_START_IGNORED';

/**
 * The base class of every error rigil throws: a stable `code`, a human message, and the
 * OTP-style `reason` term (what an Erlang process would have exited with).
 */
export class RigilError extends Error {
  override name = 'RigilError';
  /** Stable machine-readable code, listed in the package's `errors.ts`. */
  readonly code: string;
  /** The OTP-style reason term, e.g. `'noproc'` or `{ timeout: … }`. */
  readonly reason: unknown;

  constructor(code: string, message: string, reason?: unknown, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.reason = reason ?? code;
  }
}

/** Creates a core error; `reason` defaults to the code. */
export function coreError(code: CoreErrorCode, message: string, reason?: unknown): RigilError {
  return new RigilError(code, message, reason);
}

/** True when `e` is a rigil error with the given code. */
export function hasCode(e: unknown, code: string): boolean {
  return e instanceof RigilError && e.code === code;
}

/**
 * A `gen_server.call` (or `sys` call) that did not get a reply: timeout, no such server, the
 * server exited, its node went down, or the caller called itself. `reason` is OTP's reason
 * (`'timeout'`, `'noproc'`, `{ nodedown: node }`, the server's exit reason, `'calling_self'`).
 */
export class CallError extends RigilError {
  override name = 'CallError';
  /** The server as the caller addressed it. */
  readonly server: unknown;
  /** The request that was sent. */
  readonly request: unknown;

  constructor(code: CoreErrorCode, reason: unknown, server: unknown, request: unknown) {
    super(code, `call to ${describe(server)} failed: ${formatReason(reason)}`, reason);
    this.server = server;
    this.request = request;
  }
}

function describe(x: unknown): string {
  if (typeof x === 'string') return x;
  if (typeof x === 'object' && x !== null && typeof (x as { toString?: unknown }).toString === 'function' && (x).toString !== Object.prototype.toString) {
    return String(x);
  }
  try {
    return JSON.stringify(x) ?? String(x);
  } catch {
    return String(x);
  }
}
