/**
 * Where a node keeps the highest fencing epoch of each distributed application it has seen,
 * so that it survives the node's restart (No OTP counterpart: OTP has no epochs).
 *
 * Without a store the epochs live in memory. With a quorum, a newer epoch needs the promise of
 * a quorum of the listed nodes, and a node never promises at or below the highest it has seen
 * (README "Quorum and fencing"); that holds across crashes only while fewer than a quorum of
 * the listed nodes lose their memory at once. If a majority restarts together (explorer
 * `apps-quorum` seed 518: a, b and d crashed within 3 s, then c), the restarted nodes promise
 * again from 0 and a new instance can be minted an epoch below one already used — the fenced
 * database then refuses every write of the new instance. Paxos acceptors keep their promises
 * on disk for this reason; `epochDir` (or an `epochStore`) does the same for dist-ac.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DistAcError } from './errors.js';

/** A node's durable record of the highest epoch of each application (the kernel parameter `epochStore`). */
export interface EpochStore {
  /** The highest epoch recorded for `app` (0: none). Read once per application when dist-ac starts. */
  load(app: string): number;
  /** Records `epoch` as the highest for `app`; must be durable when it returns (it precedes every promise and every start with that epoch). */
  save(app: string, epoch: number): void;
}

/** Largest epoch file read (a number and a newline); anything longer is not ours. */
const MAX_FILE_BYTES = 64;

/**
 * An `EpochStore` in directory `dir` (one per node; created if missing): one file per
 * application, `<app>.epoch`, replaced atomically (written to a temporary file, `fsync`ed,
 * renamed over). A file that does not hold a non-negative safe integer fails the start with
 * `ERR_BAD_EPOCH_STORE` — a node must not promise epochs it may have promised before.
 *
 * @example
 * await startDistAc(node, { distributed: [...], epochDir: '/var/lib/ledger/epochs' });
 */
export function fileEpochStore(dir: string): EpochStore {
  if (typeof dir !== 'string' || dir === '') throw new DistAcError('ERR_BAD_KERNEL_CONFIG', 'epochDir: must be a directory path', { badConfig: 'epochDir' });
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new DistAcError('ERR_BAD_EPOCH_STORE', `epochDir ${dir} cannot be created`, e);
  }
  const file = (app: string): string => join(dir, `${encodeURIComponent(app)}.epoch`);
  return {
    load(app) {
      let text: string;
      try {
        text = readFileSync(file(app), 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
        throw new DistAcError('ERR_BAD_EPOCH_STORE', `the epoch file of ${app} in ${dir} cannot be read`, e);
      }
      const n = text.length <= MAX_FILE_BYTES && /^\d+\n?$/.test(text) ? Number(text.trim()) : NaN;
      if (!Number.isSafeInteger(n)) throw new DistAcError('ERR_BAD_EPOCH_STORE', `the epoch file of ${app} in ${dir} does not hold an epoch`);
      return n;
    },
    save(app, epoch) {
      const target = file(app);
      const tmp = `${target}.tmp`;
      const fd = openSync(tmp, 'w');
      try {
        writeSync(fd, `${epoch}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, target);
    },
  };
}

/** True when `x` has the shape of an `EpochStore`. */
export function isEpochStore(x: unknown): x is EpochStore {
  return typeof x === 'object' && x !== null && typeof (x as EpochStore).load === 'function' && typeof (x as EpochStore).save === 'function';
}
