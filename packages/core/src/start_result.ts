/**
 * Helpers for the values a start returns — OTP's `{ok, Pid} | ignore | {error, Reason}`
 * (gen_server, gen_statem, supervisor: `{ ok: pid }`, `'ignore'`, `{ error: reason }`, and
 * startMonitor's `{ ok: pid, ref }`), `supervisor.startChild`/`restartChild`'s
 * `{ ok: pid | undefined, info? } | { error }`, and the application controller's
 * `'ok' | { error }`.
 *
 * In Erlang these are unwrapped by pattern matching (`{ok, Pid} = gen_server:start(…)`, a
 * `badmatch` when it fails); `okPid` is that match, throwing a `RigilError` with a stable code
 * instead of a `badmatch`. The rest have no OTP counterpart: they are what a `case` would do.
 *
 * @example
 * const counter = okPid(await genServer.start(node, counterBehaviour, 0));   // ServerPid<Counter>
 * const r = await genServer.start(node, counterBehaviour, 0, { name: 'counter' });
 * const pid = isStarted(r) ? r.ok : alreadyStarted(r);                       // idempotent start
 * assertStarted(await node.applications.start('app'));                      // 'ok' or throw
 */
import { coreError, type RigilError } from './errors.js';
import { isPid, type Pid } from './pid.js';
import { formatReason } from './reason.js';

/** Any start result (see the file comment): `{ ok }`, `'ok'`, `{ error }` or `'ignore'`. */
export type AnyStartResult = { readonly ok: unknown } | { readonly error: unknown } | 'ignore' | 'ok';

/** The successful members of a start result `R`: `{ ok: … }` (with `ref` for startMonitor) or `'ok'`. */
export type StartedOf<R> = Extract<R, 'ok' | { readonly ok: unknown }>;

/** The pid type a start result `R` carries when it succeeds (e.g. `ServerPid<P>` for gen_server's). */
export type PidOf<R> = R extends { readonly ok: infer T } ? Exclude<T, undefined> : never;

/** The error reason type of a start result `R`. */
export type StartErrorOf<R> = R extends { readonly error: infer E } ? E : never;

/**
 * True when the start succeeded: `{ ok: … }` or `'ok'` (narrows `r`). `startChild`'s
 * `{ ok: undefined }` (the child's start returned `'ignore'`) counts as started, as OTP's
 * `{ok, undefined}` does. No OTP equivalent (a `case` on `{ok, _}`).
 */
export function isStarted<R extends AnyStartResult>(r: R): r is StartedOf<R> {
  return r === 'ok' || (typeof r === 'object' && r !== null && 'ok' in r);
}

/**
 * The pid of a successful start; otherwise throws a `RigilError`: `ERR_START_FAILED` for
 * `{ error: reason }` (the error's `reason` is that reason) and `ERR_START_IGNORED` for
 * `'ignore'` or `startChild`'s `{ ok: undefined }`. `what` names the thing started in the
 * message. Mirrors OTP's match `{ok, Pid} = gen_server:start(…)` (a `badmatch` there).
 */
export function okPid<R extends { readonly ok: unknown } | { readonly error: unknown } | 'ignore'>(r: R, what?: string): PidOf<R> {
  if (typeof r === 'object' && r !== null && 'ok' in r && r.ok !== undefined) return r.ok as PidOf<R>;
  throw startFailure(r, what);
}

/**
 * Throws unless the start succeeded (`{ ok: … }` or `'ok'`), with the codes of `okPid`; for the
 * results that carry no pid, such as the application controller's `'ok' | { error }`. Mirrors
 * OTP's match `ok = application:start(App)`.
 */
export function assertStarted<R extends AnyStartResult>(r: R, what?: string): asserts r is StartedOf<R> {
  if (!isStarted(r)) throw startFailure(r, what);
}

/**
 * The reason of a failed start (`{ error: reason }`), or undefined when it succeeded or was
 * ignored. No OTP equivalent (a `case` on `{error, Reason}`).
 */
export function startError<R extends AnyStartResult>(r: R): StartErrorOf<R> | undefined {
  return typeof r === 'object' && r !== null && 'error' in r ? (r.error as StartErrorOf<R>) : undefined;
}

/**
 * The pid already holding the name when a start failed with `{ error: { alreadyStarted: pid } }`
 * (OTP's `{error, {already_started, Pid}}`), else undefined — for an idempotent start:
 * `const pid = isStarted(r) ? r.ok : alreadyStarted(r)`. No OTP equivalent (a `case`).
 * The application controller's `{ alreadyStarted: appName }` holds no pid: undefined.
 */
export function alreadyStarted(r: AnyStartResult): Pid | undefined {
  const e = startError(r);
  if (typeof e !== 'object' || e === null || !('alreadyStarted' in e)) return undefined;
  const holder = e.alreadyStarted;
  return isPid(holder) ? holder : undefined;
}

function startFailure(r: unknown, what: string | undefined): RigilError {
  const prefix = what === undefined ? 'start' : `start of ${what}`;
  if (typeof r === 'object' && r !== null && 'error' in r) {
    const reason = r.error;
    return coreError('ERR_START_FAILED', `${prefix} failed: ${formatReason(reason)}`, reason);
  }
  if (r === 'ignore' || (typeof r === 'object' && r !== null && 'ok' in r)) {
    return coreError('ERR_START_IGNORED', `${prefix} returned ignore: no process was started`, 'ignore');
  }
  return coreError('ERR_BADARG', `${prefix}: not a start result: ${formatReason(r)}`, 'badarg');
}
