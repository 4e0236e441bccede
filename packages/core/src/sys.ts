/**
 * System messages to behaviour processes (OTP's `sys` module): read or replace a server's
 * state and status without going through its callbacks. Any behaviour built on gen.ts answers
 * them (gen_server, supervisor, gen_statem) through its `getState`, `getStatus` and
 * `replaceState` hooks; `gen.handleSystem` is the server side.
 */
import { RigilError } from './errors.js';
import { call, type Caller, type ServerRef, type SystemCallbackFailed, type SystemStatus } from './gen.js';
import { Pid } from './pid.js';

/** The server's current state (OTP's `sys:get_state/2`). */
export function getState<S = unknown>(caller: Caller, server: ServerRef, timeoutMs = 5000): Promise<S> {
  return call<S>(caller, server, { getState: true }, timeoutMs, 'system').then((r) => checked(r, server));
}

/** The status of a behaviour process: pid, module, name, state, queue length (OTP's `sys:get_status/2`). */
export type Status = SystemStatus;

/** The server's status (OTP's `sys:get_status/2`). */
export function getStatus(caller: Caller, server: ServerRef, timeoutMs = 5000): Promise<Status> {
  return call<Status>(caller, server, { getStatus: true }, timeoutMs, 'system').then((r) => checked(r, server));
}

/**
 * Replaces the server's state with `fn(state)` and returns the new state (OTP's
 * `sys:replace_state/2`). If `fn` throws, the state is unchanged, the server runs on, and the
 * promise rejects with `ERR_CALLBACK_FAILED`.
 */
export function replaceState<S>(caller: Caller, server: ServerRef, fn: (s: S) => S, timeoutMs = 5000): Promise<S> {
  return call<S>(caller, server, { replaceState: fn }, timeoutMs, 'system').then((r) => checked(r, server));
}

/** Turns the server's "callback failed" reply into a rejection (OTP's sys exits with `{callback_failed, …}`). */
function checked<T>(r: T, server: ServerRef): T {
  const f = r as Partial<SystemCallbackFailed> | null;
  if (typeof f === 'object' && f !== null && f.$gen === 'sys_error') {
    throw new RigilError('ERR_CALLBACK_FAILED', `the ${String(f.callback)} callback of ${describe(server)} failed`, { callbackFailed: f.reason });
  }
  return r;
}

function describe(server: ServerRef): string {
  return typeof server === 'string' || server instanceof Pid ? String(server) : JSON.stringify(server);
}
