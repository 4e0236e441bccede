/**
 * The ledger server (a gen_server, locally `ledger`, globally `ledger`): appends entries to
 * PostgreSQL, every write carrying its instance's placement epoch.
 *
 * In `init` it connects, makes sure the schema exists, and **claims the fence** with its epoch
 * before it serves anything: from that commit on, every older instance is refused by the
 * database, whether or not this one has written yet. Then it registers itself globally as
 * `ledger` with dist-ac's resolver (as toliman's proxima does), so a name clash after a heal
 * keeps the pid of the instance dist-ac keeps. A restarted server (its supervisor restarts it)
 * claims again with the same epoch — accepted, unless a newer instance claimed meanwhile.
 *
 * An append is answered only after its transaction committed; a refusal (`ERR_STALE_EPOCH`) or
 * a database failure (`ERR_DATABASE`) is answered as `{ error }` and nothing was written. A
 * broken connection stops the server (its supervisor starts it again with a new one).
 */
import { type From, type GenServerBehaviour } from '@rigil/core';
import { distAcOf, distAcResolver } from '@rigil/dist-ac';
import { globalOf } from '@rigil/net';
import { LedgerError, type LedgerErrorCode } from './errors.js';
import { LedgerStore, type Appended } from './store.js';

/** The registered name of the server, locally and in `global`, and the application's name. */
export const LEDGER = 'ledger';

/** How often the server checks that the global name still points to it (see `handleInfo`). */
export const NAME_CHECK_MS = 500;

/** The message of that check. */
const CHECK_NAME = { $ledger: 'checkName' } as const;

/** The server's start arguments. */
export interface LedgerArgs {
  /** The instance's placement epoch (dist-ac's). */
  readonly epoch: number;
  /** postgresql://… */
  readonly url: string;
  /** The key of this application's fence row (default `ledger`). */
  readonly app?: string;
}

/** What the server knows. */
export interface LedgerState {
  readonly app: string;
  readonly epoch: number;
  readonly node: string;
  readonly store: LedgerStore;
  /** The fence this instance's claim replaced. */
  readonly claimedOver: number;
  /** Appends acknowledged / refused by this instance. */
  readonly appended: number;
  readonly refused: number;
  /** The database refused this instance once: a newer one exists; it no longer claims the name. */
  readonly fenced: boolean;
}

/** A request to the server. */
export type LedgerRequest = { append: { key: string; payload: unknown } } | { info: true };

/** An error as the server replies it (serialisable: it may cross nodes). */
export interface LedgerFault {
  readonly code: LedgerErrorCode;
  readonly message: string;
  readonly reason?: unknown;
}

/** `info`'s reply. */
export interface LedgerInfo {
  readonly node: string;
  readonly epoch: number;
  readonly claimedOver: number;
  readonly appended: number;
  readonly refused: number;
}

/** The server's replies. */
export type LedgerReply = { ok: Appended } | { ok: LedgerInfo } | { error: LedgerFault };

function fault(e: unknown): LedgerFault {
  if (e instanceof LedgerError) return { code: e.code as LedgerErrorCode, message: e.message, reason: e.reason };
  return { code: 'ERR_DATABASE', message: e instanceof Error ? e.message : String(e) };
}

/** The ledger server's callbacks. */
export const ledgerServer: GenServerBehaviour<LedgerState, LedgerArgs, { call: LedgerRequest; reply: LedgerReply; cast: never }> = {
  async init(args, self) {
    if (!(typeof args.epoch === 'number' && Number.isSafeInteger(args.epoch) && args.epoch >= 0)) {
      return { stop: { code: 'ERR_NO_EPOCH', epoch: args.epoch } };
    }
    const app = args.app ?? LEDGER;
    const store = await LedgerStore.connect(args.url, { applicationName: `rigil-ledger ${self.node.name}` });
    try {
      await store.ensureSchema();
      const { fenceBefore } = await store.claim(app, args.epoch, self.node.name);
      if ((await globalOf(self).reRegister(LEDGER, self.pid, distAcResolver(LEDGER))) !== 'yes') throw new Error('global registration failed');
      self.sendAfter(NAME_CHECK_MS, self.pid, CHECK_NAME);
      return { ok: { app, epoch: args.epoch, node: self.node.name, store, claimedOver: fenceBefore, appended: 0, refused: 0, fenced: false } };
    } catch (e) {
      await store.close();
      // A stale claim at start: a newer instance exists; this one must not run.
      return { stop: fault(e) };
    }
  },

  async handleCall(req, _from: From<LedgerReply>, state) {
    if (typeof req === 'object' && req !== null && 'info' in req) {
      const { node, epoch, claimedOver, appended, refused } = state;
      return { reply: { ok: { node, epoch, claimedOver, appended, refused } }, state };
    }
    const a = typeof req === 'object' && req !== null && 'append' in req ? (req.append as { key?: unknown; payload?: unknown } | null) : null;
    if (a === null || typeof a !== 'object' || typeof a.key !== 'string' || a.key === '' || a.key.length > 200) {
      return { reply: { error: { code: 'ERR_BAD_REQUEST', message: 'expected { append: { key: non-empty string (≤ 200 chars), payload } }' } }, state };
    }
    try {
      const entry = await state.store.append(state.app, state.epoch, state.node, a.key, a.payload);
      return { reply: { ok: entry }, state: { ...state, appended: state.appended + 1 } };
    } catch (e) {
      const f = fault(e);
      const next = f.code === 'ERR_STALE_EPOCH' ? { ...state, refused: state.refused + 1, fenced: true } : state;
      // A connection that broke is not used again: stop, and the supervisor starts a fresh server.
      if (state.store.failed) return { stop: { code: f.code, message: f.message }, reply: { error: f }, state: next };
      return { reply: { error: f }, state: next };
    }
  },

  /**
   * Every NAME_CHECK_MS: the instance dist-ac places here, with this epoch, registers the global
   * name again if it has gone. Works around global's known gap (@rigil/dist-ac README
   * "Partitions"): after a freeze and a heal, a merge can overwrite the name with the stale
   * instance's pid, and when dist-ac stops that instance the name is gone everywhere — the
   * ledger runs but nobody reaches it. Only a missing name is taken back, and only by the current
   * placement: a stale instance (placed elsewhere by dist-ac, or refused by the fence) never
   * takes it from a newer one. No OTP counterpart (OTP's global kills the losing pid instead).
   */
  async handleInfo(msg, state, self) {
    if (!(typeof msg === 'object' && msg !== null && (msg as { $ledger?: unknown }).$ledger === CHECK_NAME.$ledger)) return { noreply: state };
    try {
      const placed = distAcOf(self).info(LEDGER);
      const g = globalOf(self);
      if (!state.fenced && placed.node === state.node && placed.epoch === state.epoch && g.whereis(LEDGER) === undefined) {
        await g.reRegister(LEDGER, self.pid, distAcResolver(LEDGER));
        self.node.report({ kind: 'ledger', message: `ledger: the global name was gone; registered again (epoch ${state.epoch})` });
      }
    } catch {
      // no dist-ac here, or global busy: try again at the next check
    }
    self.sendAfter(NAME_CHECK_MS, self.pid, CHECK_NAME);
    return { noreply: state };
  },

  async terminate(_reason, state) {
    await state.store.close();
  },
};
