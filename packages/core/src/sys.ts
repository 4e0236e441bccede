/**
 * System messages to behaviour processes (OTP's `sys` module): read or replace a server's
 * state and status without going through its callbacks.
 */
import { call, type Caller, type ServerRef } from './gen.js';
import type { Pid } from './pid.js';

/** The server's current state (OTP's `sys:get_state/2`). */
export function getState<S = unknown>(caller: Caller, server: ServerRef, timeoutMs = 5000): Promise<S> {
  return call<S>(caller, server, { getState: true }, timeoutMs, 'system');
}

/** The status of a behaviour process: pid, module, name, state, queue length (OTP's `sys:get_status/2`). */
export interface Status {
  readonly pid: Pid;
  readonly module: string;
  readonly status: 'running';
  readonly name: string | undefined;
  readonly state: unknown;
  readonly messageQueueLen: number;
}

/** The server's status (OTP's `sys:get_status/2`). */
export function getStatus(caller: Caller, server: ServerRef, timeoutMs = 5000): Promise<Status> {
  return call<Status>(caller, server, { getStatus: true }, timeoutMs, 'system');
}

/** Replaces the server's state with `fn(state)` and returns the new state (OTP's `sys:replace_state/2`). */
export function replaceState<S>(caller: Caller, server: ServerRef, fn: (s: S) => S, timeoutMs = 5000): Promise<S> {
  return call<S>(caller, server, { replaceState: fn }, timeoutMs, 'system');
}
