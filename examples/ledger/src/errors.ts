/**
 * Every error the ledger example raises or replies with, each with a stable `code`.
 *
 * | code | when |
 * |---|---|
 * | `ERR_STALE_EPOCH` | the database refused a write (or an instance's claim at start) because its epoch is older than the fence: a newer placement of the application has written or claimed since. The attempt is recorded in `ledger_refused`. |
 * | `ERR_NO_EPOCH` | the ledger server was started without a placement epoch (not as a distributed application under dist-ac) |
 * | `ERR_BAD_REQUEST` | an append request is malformed (no string `key`, a payload that is not JSON) |
 * | `ERR_NOT_RUNNING` | `append` found no `ledger` registered in `global` (the application runs nowhere reachable), or the call to it failed |
 * | `ERR_DATABASE` | PostgreSQL failed the request (connection lost, timeout): nothing was acknowledged |
 */
import { RigilError } from '@rigil/core';

/** The stable error codes of the ledger example. */
export type LedgerErrorCode = 'ERR_STALE_EPOCH' | 'ERR_NO_EPOCH' | 'ERR_BAD_REQUEST' | 'ERR_NOT_RUNNING' | 'ERR_DATABASE';

/** An error of the ledger example. */
export class LedgerError extends RigilError {
  override name = 'LedgerError';
  constructor(code: LedgerErrorCode, message: string, reason?: unknown) {
    super(code, message, reason);
  }
}
