/**
 * Introspection of a node's processes for tools (OTP's `process_info/2` with the items
 * observer and etop show: `registered_name`, `initial_call`/behaviour, `status`,
 * `message_queue_len`, `reductions`, `links`, `monitors`, `memory`).
 *
 * Everything here is read only when a tool asks; nothing is kept per message except the one
 * increment of "messages handled" in the process record (`_take`). Results are plain data
 * (pids stay `Pid`s), bounded in size, so the net layer can send them over rpc.
 *
 * **Memory is an estimate**, not a measurement (JavaScript cannot tell an object's retained
 * size): a fixed cost per process record (`RECORD_BYTES`), 8 bytes per mailbox slot, the
 * pending messages weighed by a bounded walk of the first `SAMPLED_MESSAGES` (the rest assumed
 * alike), fixed costs per link and monitor, and for a behaviour process its state weighed the
 * same way. A walk visits at most `WALK_BUDGET` values, `WALK_DEPTH` levels deep; an array, Map,
 * Set or object with more entries than it looks at is extrapolated from the ones it saw. Good
 * for ranking processes (which one grows), not for accounting.
 */
import type { Node } from './node.js';
import type { Pid } from './pid.js';
import type { ProcessStatus } from './process.js';
import type { ProcessRecord } from './internal/process.js';

/** What `processStats` returns for one process (OTP's `process_info/2`, the items observer shows). */
export interface ProcessStats {
  readonly pid: Pid;
  readonly registeredName: string | undefined;
  /** `'function'` for an async-function process, else its behaviour (`'gen_server'`, `'gen_statem'`, `'supervisor'`). */
  readonly behaviour: string;
  /** The callback module's name when it has one (a class instance's class, or a `name` property). */
  readonly module: string | undefined;
  /** The application it belongs to (OTP's group leader), if any. */
  readonly application: string | undefined;
  readonly status: Exclude<ProcessStatus, 'dead'>;
  readonly messageQueueLen: number;
  /** Messages it has taken from its mailbox (rigil's stand-in for OTP's `reductions`). */
  readonly messagesHandled: number;
  /** Number of links. */
  readonly links: number;
  /** Number of monitors it holds. */
  readonly monitors: number;
  /** Number of monitors held on it. */
  readonly monitoredBy: number;
  readonly trapExit: boolean;
  /** Approximate bytes (see the module comment: an estimate, for ranking). */
  readonly memory: number;
  /** For a supervisor: restarts it made since it started. */
  readonly restarts?: number;
}

/** Bytes counted for every process record (the record, its pid, its flags). */
export const RECORD_BYTES = 200;
const SLOT_BYTES = 8;
const LINK_BYTES = 48;
const MONITOR_BYTES = 96;
const SAMPLED_MESSAGES = 8;
/** Values one memory walk visits at most. */
export const WALK_BUDGET = 64;
/** Levels one memory walk descends at most. */
export const WALK_DEPTH = 4;
/** Entries of one array, Map, Set or object weighed before the rest is extrapolated. */
const WALK_ENTRIES = 8;

/**
 * Facts about a live local process, or undefined (OTP's `process_info/2` with the items
 * observer shows; `memory` is an estimate, see the module comment).
 */
export function processStats(node: Node, pid: Pid): ProcessStats | undefined {
  const p = node._record(pid);
  if (p === undefined) return undefined;
  return statsOf(node, p);
}

/** `processStats` of every live process of `node` (OTP's `processes/0` + `process_info/2`). */
export function allProcessStats(node: Node): ProcessStats[] {
  const out: ProcessStats[] = [];
  for (const pid of node.processes()) {
    const s = processStats(node, pid);
    if (s !== undefined) out.push(s);
  }
  return out;
}

function statsOf(node: Node, p: ProcessRecord): ProcessStats {
  let behaviour = 'function';
  let module: string | undefined;
  let restarts: number | undefined;
  let memory = RECORD_BYTES;
  const loop = p._loop;
  if (loop !== null) {
    behaviour = 'behaviour';
    try {
      const d = loop.describe?.(p._data);
      if (d !== undefined) {
        behaviour = d.behaviour;
        module = d.module;
        restarts = d.restarts;
        memory += approxSize(d.state, { left: WALK_BUDGET }, 0);
      }
    } catch {
      // A state that cannot be looked at (a revoked proxy): the fixed costs only.
    }
  }
  p._spill(); // the mailbox as one array (an inline oldest message moves to its head)
  const queued = p.queueLength;
  memory += p._q.length * SLOT_BYTES + mailboxSize(p, queued);
  const links = p._links?.size ?? 0;
  const monitors = p._monitors?.size ?? 0;
  const monitoredBy = (p._monitoredBy?.size ?? 0) + p._callCount();
  memory += links * LINK_BYTES + (monitors + monitoredBy) * MONITOR_BYTES;
  const status = p.status;
  return {
    pid: p.pid,
    registeredName: p._name,
    behaviour,
    module,
    application: node.application.getApplication(p),
    status: status === 'dead' ? 'waiting' : status,
    messageQueueLen: queued,
    messagesHandled: p._handled,
    links,
    monitors,
    monitoredBy,
    trapExit: p._trap,
    memory: Math.round(memory),
    ...(restarts !== undefined ? { restarts } : {}),
  };
}

/** The pending messages' weight: the first few weighed, the rest assumed alike. */
function mailboxSize(p: ProcessRecord, queued: number): number {
  if (queued === 0) return 0;
  const n = Math.min(queued, SAMPLED_MESSAGES);
  let sum = 0;
  try {
    for (let i = 0; i < n; i++) sum += approxSize(p._q[p._h + i], { left: WALK_BUDGET / 4 }, 0);
  } catch {
    return 0;
  }
  return (sum / n) * queued;
}

/**
 * A rough byte count of `v`: a walk of at most `budget.left` values and `WALK_DEPTH` levels
 * that reads only own data properties (no getter runs) and extrapolates what it does not visit.
 */
function approxSize(v: unknown, budget: { left: number }, depth: number): number {
  switch (typeof v) {
    case 'string':
      return 16 + v.length * 2;
    case 'number':
    case 'boolean':
      return 8;
    case 'bigint':
      return 16 + v.toString(16).length / 2;
    case 'undefined':
    case 'symbol':
    case 'function':
      return 0;
  }
  if (v === null) return 0;
  if (--budget.left < 0 || depth >= WALK_DEPTH) return 32;
  const o = v as object;
  if (ArrayBuffer.isView(o)) return 64 + o.byteLength;
  if (o instanceof ArrayBuffer) return 32 + o.byteLength;
  if (Array.isArray(o)) return 16 + o.length * 8 + sample(o.length, (i) => o[i], budget, depth);
  if (o instanceof Map) {
    const it = Map.prototype.entries.call(o) as IterableIterator<[unknown, unknown]>;
    const size = Number(Reflect.get(Map.prototype, 'size', o));
    return 32 + size * 24 + sampleIter(size, it, (e) => approxSize(e[0], budget, depth + 1) + approxSize(e[1], budget, depth + 1));
  }
  if (o instanceof Set) {
    const it = Set.prototype.values.call(o) as IterableIterator<unknown>;
    const size = Number(Reflect.get(Set.prototype, 'size', o));
    return 32 + size * 16 + sampleIter(size, it, (e) => approxSize(e, budget, depth + 1));
  }
  const keys = Object.keys(o);
  return 24 + keys.length * 16 + sample(keys.length, (i) => {
    const d = Object.getOwnPropertyDescriptor(o, keys[i]!);
    return d !== undefined && 'value' in d ? d.value : undefined;
  }, budget, depth);
}

function sample(n: number, at: (i: number) => unknown, budget: { left: number }, depth: number): number {
  const k = Math.min(n, WALK_ENTRIES);
  if (k === 0) return 0;
  let sum = 0;
  for (let i = 0; i < k; i++) sum += approxSize(at(i), budget, depth + 1);
  return (sum / k) * n;
}

function sampleIter<T>(n: number, it: Iterator<T>, size: (e: T) => number): number {
  const k = Math.min(n, WALK_ENTRIES);
  if (k === 0) return 0;
  let sum = 0;
  let seen = 0;
  for (let r = it.next(); !r.done && seen < k; r = it.next(), seen++) sum += size(r.value);
  return seen === 0 ? 0 : (sum / seen) * n;
}
