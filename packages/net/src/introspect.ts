/**
 * Introspection of a node from outside it — the data behind `rigil processes`, `rigil tree`,
 * `rigil state` and an observer page (OTP's observer and etop read the same through
 * `erlang:process_info/2`, `supervisor:which_children/1` and `sys:get_state/1`).
 *
 * Each data function takes the node and returns plain JSON-able data (pids as strings, as
 * printed), bounded: a page of at most `MAX_PAGE` processes, a tree at most `TREE_DEPTH` deep
 * and `TREE_WIDTH` wide (`TREE_NODES` in all), a state cut by `boundedValue`. The built-ins at
 * the end expose them over rpc (`INTROSPECTION_BUILTINS`, installed on every `DistNode`), so an
 * observe server can call the functions in-process and a tool over rpc, with the same results.
 */
import { allProcessStats, Pid, processStats, supervisor, sys, type ChildInfo, type FullChildSpec, type Node, type ProcessInfo, type ProcessStats } from '@rigil/core';
import { arg, type ArgSpec, type Builtin } from './builtins.js';
import { boundedValue, type BoundedOptions, type Json } from './bounded.js';
import { badArgs } from './errors.js';

/** Processes one `processes` page holds at most. */
export const MAX_PAGE = 1000;
/** Supervision levels `applicationTree` descends at most. */
export const TREE_DEPTH = 8;
/** Children shown per supervisor at most (the rest are counted in `more`). */
export const TREE_WIDTH = 100;
/** Tree nodes shown at most in all. */
export const TREE_NODES = 2000;
/** Milliseconds a supervisor or server has to answer an introspection call. */
export const CALL_TIMEOUT = 2000;
/** Longest pid string or name accepted. */
const MAX_TARGET = 300;

/** How `processes` sorts (largest first): mailbox length, messages handled (`reductions`), memory. */
export type ProcessSort = 'mailbox' | 'reductions' | 'memory';

/** One row of `processes` (OTP's etop line). */
export interface ProcessRow {
  readonly pid: string;
  readonly name: string | null;
  readonly behaviour: string;
  readonly module: string | null;
  readonly application: string | null;
  readonly status: string;
  readonly mailbox: number;
  /** Messages handled (rigil's reductions). */
  readonly reductions: number;
  readonly links: number;
  readonly monitors: number;
  /** Approximate bytes (see @rigil/core's introspect.ts). */
  readonly memory: number;
}

/** A page of `processes`. */
export interface ProcessPage {
  /** Live processes on the node. */
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
  readonly sort: ProcessSort;
  readonly processes: ProcessRow[];
}

/**
 * A page of the node's processes sorted by `sort` (largest first; ties by pid), with the total
 * (OTP's etop, `observer`'s process tab). `limit` is capped at `MAX_PAGE`.
 */
export function processPage(node: Node, options: { sort?: ProcessSort; offset?: number; limit?: number } = {}): ProcessPage {
  const sort = options.sort ?? 'mailbox';
  const offset = options.offset ?? 0;
  const limit = Math.min(options.limit ?? 100, MAX_PAGE);
  const all = allProcessStats(node);
  const key = sort === 'mailbox' ? (s: ProcessStats) => s.messageQueueLen : sort === 'reductions' ? (s: ProcessStats) => s.messagesHandled : (s: ProcessStats) => s.memory;
  all.sort((a, b) => key(b) - key(a) || a.pid.id - b.pid.id);
  return { total: all.length, offset, limit, sort, processes: all.slice(offset, offset + limit).map(row) };
}

function row(s: ProcessStats): ProcessRow {
  return {
    pid: String(s.pid),
    name: s.registeredName ?? null,
    behaviour: s.behaviour,
    module: s.module ?? null,
    application: s.application ?? null,
    status: s.status,
    mailbox: s.messageQueueLen,
    reductions: s.messagesHandled,
    links: s.links,
    monitors: s.monitors,
    memory: s.memory,
  };
}

/** The most pids listed per link/monitor list of `processInfo`. */
const MAX_LISTED = 100;

/**
 * What the `process.info` built-in returns (OTP's `process_info/1`): core's `ProcessInfo` —
 * with the link and monitor lists cut to their first `MAX_LISTED` pids — plus the figures of
 * `processes`. Pids stay `Pid`s (they print, and serialise to JSON, as `<node.id.creation>`).
 */
export interface ProcessDetail extends Omit<ProcessInfo, 'kind'> {
  readonly kind: 'function' | 'behaviour';
  readonly behaviour: string;
  readonly module: string | null;
  readonly application: string | null;
  /** Messages handled (rigil's reductions). */
  readonly messagesHandled: number;
  /** Links, monitors held, monitors on it: the full counts (the lists are cut). */
  readonly linkCount: number;
  readonly monitorCount: number;
  /** Approximate bytes (see @rigil/core's introspect.ts). */
  readonly memory: number;
  /** For a supervisor: restarts since it started, else null. */
  readonly restarts: number | null;
}

/**
 * Facts about one local process — named by a `Pid`, a pid string as printed or a registered
 * name — or null (OTP's `process_info/1`).
 */
export function processDetail(node: Node, target: Pid | string): ProcessDetail | null {
  const pid = resolveTarget(node, target);
  if (pid === undefined) return null;
  const s = processStats(node, pid);
  const info = node.processInfo(pid);
  if (s === undefined || info === undefined) return null;
  return {
    ...info,
    links: info.links.slice(0, MAX_LISTED),
    monitors: info.monitors.slice(0, MAX_LISTED),
    monitoredBy: info.monitoredBy.slice(0, MAX_LISTED),
    behaviour: s.behaviour,
    module: s.module ?? null,
    application: s.application ?? null,
    messagesHandled: s.messagesHandled,
    linkCount: s.links,
    monitorCount: s.monitors,
    memory: s.memory,
    restarts: s.restarts ?? null,
  };
}

/**
 * Parses a pid as printed (`<name@host.12.3456>`), strictly: angle brackets, a node name
 * `name@host`, then id and creation as decimal integers; undefined for anything else.
 */
export function parsePid(s: string): { node: string; id: number; creation: number } | undefined {
  if (s.length > MAX_TARGET) return undefined;
  const m = /^<([^\s<>@]+@[^\s<>@]+)\.(\d{1,15})\.(\d{1,10})>$/.exec(s);
  if (m === null) return undefined;
  const id = Number(m[2]);
  const creation = Number(m[3]);
  if (!Number.isSafeInteger(id) || !Number.isSafeInteger(creation)) return undefined;
  return { node: m[1]!, id, creation };
}

/** The local pid `target` names (a pid, a pid string, a registered name), or undefined. */
function resolveTarget(node: Node, target: Pid | string): Pid | undefined {
  if (target instanceof Pid) return target.node === node.name ? target : undefined;
  if (target.startsWith('<')) {
    const p = parsePid(target);
    if (p === undefined || p.node !== node.name) return undefined;
    return node.internPid(p.node, p.id, p.creation);
  }
  return node.whereis(target);
}

/** One node of an application's supervision tree. */
export interface TreeNode {
  /** The child id in its supervisor (null for the top, and for simple_one_for_one children). */
  readonly id: string | number | null;
  /** Its pid, or null when it is not running. */
  readonly pid: string | null;
  readonly name: string | null;
  readonly type: 'supervisor' | 'worker';
  /** Its restart type in its supervisor (null for the top). */
  readonly restart: string | null;
  /** `'running'`/`'waiting'`/… (the process's status), `'restarting'`, `'undefined'` (not running) or `'dead'`. */
  readonly state: string;
  readonly behaviour: string | null;
  readonly module: string | null;
  /** For a supervisor: restarts since it started. */
  readonly restarts: number | null;
  /** For a supervisor: its children (the first `TREE_WIDTH`). */
  readonly children?: TreeNode[];
  /** Children left out (width, depth or the total budget). */
  readonly more?: number;
  /** Why its children could not be read (a supervisor that did not answer in time). */
  readonly error?: string;
}

/** What `applicationTree` returns. */
export interface ApplicationTree {
  readonly application: string;
  readonly node: string;
  /** The top supervisor's tree, or null when the application does not run on this node (or has no process). */
  readonly top: TreeNode | null;
}

/**
 * The supervision tree of an application running on `node` (OTP's observer application tab,
 * built from `application_master:get_child/1`, `supervisor:which_children/1` and
 * `supervisor:get_childspec/2`), bounded by `TREE_DEPTH`, `TREE_WIDTH` and `TREE_NODES`.
 */
export async function applicationTree(node: Node, app: string): Promise<ApplicationTree> {
  const top = node.application.topSupervisor(app);
  if (top === undefined) return { application: app, node: node.name, top: null };
  const budget = { left: TREE_NODES - 1 };
  return { application: app, node: node.name, top: await treeOf(node, top, null, null, 0, budget) };
}

async function treeOf(node: Node, pid: Pid, id: string | number | null, spec: FullChildSpec | null, depth: number, budget: { left: number }): Promise<TreeNode> {
  const s = processStats(node, pid);
  const base = {
    id,
    pid: String(pid),
    name: s?.registeredName ?? null,
    type: s?.behaviour === 'supervisor' ? ('supervisor' as const) : (spec?.type ?? 'worker'),
    restart: spec?.restart ?? null,
    state: s?.status ?? 'dead',
    behaviour: s?.behaviour ?? null,
    module: s?.module ?? null,
    restarts: s?.restarts ?? null,
  };
  if (s?.behaviour !== 'supervisor') return base;
  let which: ChildInfo[];
  try {
    which = await withTimeout(supervisor.whichChildren(node, pid));
  } catch (e) {
    return { ...base, children: [], error: describeError(e) };
  }
  if (depth + 1 >= TREE_DEPTH) return { ...base, children: [], more: which.length };
  const shown = which.slice(0, Math.min(TREE_WIDTH, Math.max(0, budget.left)));
  budget.left -= shown.length;
  const children: TreeNode[] = [];
  for (const c of shown) {
    let childSpec: FullChildSpec | null = null;
    try {
      const r = await withTimeout(supervisor.getChildSpec(node, pid, c.pid instanceof Pid && c.id === undefined ? c.pid : (c.id as string | number)));
      if ('ok' in r) childSpec = r.ok;
    } catch {
      // the supervisor stopped answering: the row goes without its restart type
    }
    const cid = c.id ?? null;
    if (c.pid instanceof Pid) children.push(await treeOf(node, c.pid, cid, childSpec ?? { type: c.type } as FullChildSpec, depth + 1, budget));
    else {
      children.push({ id: cid, pid: null, name: null, type: c.type, restart: childSpec?.restart ?? null, state: c.pid === 'restarting' ? 'restarting' : 'undefined', behaviour: null, module: null, restarts: null });
    }
  }
  const more = which.length - shown.length;
  return more > 0 ? { ...base, children, more } : { ...base, children };
}

function withTimeout<T>(p: Promise<T>): Promise<T> {
  // The gen calls already time out (their default is 5 s); this caps them at CALL_TIMEOUT.
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${CALL_TIMEOUT} ms`)), CALL_TIMEOUT);
    }),
  ]).finally(() => clearTimeout(timer));
}

function describeError(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : String((e as Error)?.message ?? e).slice(0, 200);
}

/** What `processState` returns. */
export interface ProcessState {
  readonly pid: string;
  readonly name: string | null;
  readonly behaviour: string;
  readonly module: string | null;
  readonly mailbox: number;
  /** The state as `sys.getStatus` gives it (the behaviour's `formatStatus` applied), bounded. */
  readonly state: Json;
  /** True when `state` was cut (see `boundedValue`). */
  readonly truncated: boolean;
}

/**
 * The state of a behaviour process through `sys.getStatus` — so the callback module's
 * `formatStatus` applies — as a bounded JSON-able copy (OTP's `sys:get_status/1` as observer
 * shows it); null for an unknown process. An async-function process has no state to ask for:
 * `ERR_RPC_BAD_ARGS`.
 */
export async function processState(node: Node, target: Pid | string, options: BoundedOptions = {}): Promise<ProcessState | null> {
  const pid = resolveTarget(node, target);
  const s = pid === undefined ? undefined : processStats(node, pid);
  if (pid === undefined || s === undefined) return null;
  if (s.behaviour === 'function') throw badArgs('process.state', `${String(pid)} is an async-function process: only behaviour processes (gen_server, gen_statem, supervisor) have a state to show`);
  const status = await sys.getStatus(node, pid, CALL_TIMEOUT);
  const b = boundedValue(status.state, options);
  return { pid: String(pid), name: s.registeredName ?? null, behaviour: s.behaviour, module: s.module ?? null, mailbox: status.messageQueueLen, state: b.value, truncated: b.truncated };
}

// ---------------------------------------------------------------- built-ins

/** A pid, a pid string as printed, or a registered name (bounded length). */
const target = (name: string): ArgSpec => ({
  name,
  expects: `a pid, a pid string like <name@host.12.3456> or a registered name (at most ${MAX_TARGET} characters)`,
  check: (v) => v instanceof Pid || (typeof v === 'string' && v !== '' && v.length <= MAX_TARGET && (!v.startsWith('<') || parsePid(v) !== undefined)),
});

const SORTS: readonly string[] = ['mailbox', 'reductions', 'memory'];

/** `processes`' options: `{ sort?, offset?, limit? }` and nothing else. */
const pageOptions: ArgSpec = {
  name: 'options',
  expects: `{ sort?: ${SORTS.map((s) => `'${s}'`).join(' | ')}, offset?: integer ≥ 0, limit?: integer 1..${MAX_PAGE} }`,
  optional: true,
  check: (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Pid) return false;
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!['sort', 'offset', 'limit'].includes(k)) return false;
    if (o.sort !== undefined && !SORTS.includes(o.sort as string)) return false;
    if (o.offset !== undefined && !(Number.isSafeInteger(o.offset) && (o.offset as number) >= 0)) return false;
    if (o.limit !== undefined && !(Number.isSafeInteger(o.limit) && (o.limit as number) >= 1 && (o.limit as number) <= MAX_PAGE)) return false;
    return true;
  },
};

/** The introspection procedures every `DistNode` exposes (installed with `NODE_BUILTINS`). */
export const INTROSPECTION_BUILTINS: readonly Builtin<Node>[] = [
  {
    name: 'process.info',
    doc: "a local process's facts (pid, pid string or registered name), or null (OTP’s process_info/1)",
    args: [target('process')],
    run: (node, [t]) => processDetail(node, t as Pid | string),
  },
  {
    name: 'processes',
    doc: `a page of the processes, largest first: processes({ sort: ${SORTS.join('|')}, offset, limit ≤ ${MAX_PAGE} }) (OTP’s etop)`,
    args: [pageOptions],
    run: (node, [o]) => processPage(node, (o ?? {})),
  },
  {
    name: 'application.tree',
    doc: "an application's supervision tree on this node, bounded (OTP’s observer, supervisor:which_children/1)",
    args: [arg.string('application')],
    run: (node, [app]) => applicationTree(node, app as string),
  },
  {
    name: 'process.state',
    doc: "a behaviour process's state via sys.getStatus, bounded (OTP’s sys:get_status/1)",
    args: [target('process')],
    run: (node, [t]) => processState(node, t as Pid | string),
  },
];
