/**
 * The ledger example: a distributed application that appends to PostgreSQL, every write
 * fenced by its placement epoch (see README).
 */
export { ledger, ledgerSup, ledgerApp } from './ledger_app.js';
export { ledgerServer, LEDGER, type LedgerArgs, type LedgerState, type LedgerRequest, type LedgerReply, type LedgerFault, type LedgerInfo } from './ledger_server.js';
export { append, ledgerInfo, exposeLedgerProcedures, type AppendResult } from './client.js';
export { LedgerStore, type Appended, type Audit, type StoreOptions } from './store.js';
export { LedgerError, type LedgerErrorCode } from './errors.js';
