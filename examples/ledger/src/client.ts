/**
 * Calling the ledger from any node: a call to the server registered globally as `ledger`,
 * wherever dist-ac runs it, and the rpc procedures a node exposes so that tools (and the test's
 * hidden client node) can append through it.
 */
import { genServer, type Caller } from '@rigil/core';
import type { DistNode } from '@rigil/net';
import { LedgerError, type LedgerErrorCode } from './errors.js';
import { LEDGER, type LedgerFault, type LedgerInfo, type LedgerReply } from './ledger_server.js';
import type { Appended } from './store.js';

/**
 * Appends `payload` under `key` (a key appended before is not appended again) through the
 * global `ledger`; resolves once the entry committed. Throws `LedgerError`: `ERR_STALE_EPOCH`
 * (the instance reached is fenced off), `ERR_DATABASE`, `ERR_BAD_REQUEST`, or `ERR_NOT_RUNNING`
 * when no instance answered within `timeoutMs`. A gen_server call (OTP's `gen_server:call({global, ledger}, …)`).
 */
export async function append(caller: Caller, key: string, payload: unknown, timeoutMs = 5000): Promise<Appended> {
  let r: LedgerReply;
  try {
    r = await genServer.call(caller, { global: LEDGER }, { append: { key, payload } }, timeoutMs);
  } catch (e) {
    throw new LedgerError('ERR_NOT_RUNNING', `no ledger answered: ${(e as Error).message}`, { cause: (e as { reason?: unknown }).reason });
  }
  if ('error' in r) throw new LedgerError(r.error.code, r.error.message, r.error.reason);
  return r.ok as Appended;
}

/** What the global `ledger` says of itself (node, epoch, counts). A gen_server call, as `append`. */
export async function ledgerInfo(caller: Caller, timeoutMs = 5000): Promise<LedgerInfo> {
  const r = await genServer.call(caller, { global: LEDGER }, { info: true }, timeoutMs);
  if ('error' in r) throw new LedgerError(r.error.code, r.error.message, r.error.reason);
  return r.ok as LedgerInfo;
}

/** The reply of the `ledger.append` rpc procedure. */
export type AppendResult = { ok: Appended } | { error: LedgerFault };

/**
 * Exposes `ledger.append(key, payload)` on `node` (replies `{ ok: entry }` or `{ error: { code,
 * message } }`, never throws) and `ledger.info()`. No OTP counterpart (an rpc target).
 */
export function exposeLedgerProcedures(node: DistNode): void {
  node.rpc.register('ledger.append', async ([key, payload], self): Promise<AppendResult> => {
    if (typeof key !== 'string') return { error: { code: 'ERR_BAD_REQUEST', message: 'key must be a string' } };
    try {
      return { ok: await append(self, key, payload) };
    } catch (e) {
      const code: LedgerErrorCode = e instanceof LedgerError ? (e.code as LedgerErrorCode) : 'ERR_NOT_RUNNING';
      return { error: { code, message: (e as Error).message } };
    }
  });
  node.rpc.register('ledger.info', async (_args, self) => ledgerInfo(self));
}
