/**
 * The kernel parameters of distributed applications (OTP's `kernel` app env read by
 * `dist_ac` and `kernel_config`): validation, and the boot-time wait for sync nodes.
 */
import type { DistNode } from '@rigil/net';
import { isEpochStore, type EpochStore } from './epoch_store.js';
import { DistAcError } from './errors.js';

/** A priority list: node names, or arrays of equal-priority node names (OTP's `{N1, N2}`). */
export type NodeList = ReadonlyArray<string | readonly string[]>;

/** One entry of `distributed` (OTP's `{App, Time, Nodes}`). */
export interface DistributedEntry {
  readonly application: string;
  /** Milliseconds to wait after the running node goes down before failing over (default 0; `Infinity`: never). */
  readonly timeout?: number;
  readonly nodes: NodeList;
  /**
   * When this application may run (No OTP counterpart; issue 15): `'none'` (default; OTP's
   * behaviour: each side of a partition may run it), `'majority'` (a node starts, fails over or
   * takes it over only while connected to more than half of the listed nodes, itself
   * included), or a number n (a static quorum: at least n listed nodes, 1 ≤ n ≤ listed). A
   * node running it that loses its quorum stops it after `downAfter` ms. See README "Quorum
   * and fencing".
   */
  readonly quorum?: 'none' | 'majority' | number;
  /** With a quorum: how long (ms) a node that lost it keeps running the application before it stops it (default tickTime / 4; Akka's `stable-after`). */
  readonly downAfter?: number;
}

/** The kernel parameters that concern distributed applications. */
export interface KernelConfig {
  /** Which applications are distributed, and where they may run (OTP's `distributed`). */
  readonly distributed?: readonly DistributedEntry[];
  /** Nodes that must be up for this node to boot (OTP's `sync_nodes_mandatory`). */
  readonly syncNodesMandatory?: readonly string[];
  /** Nodes waited for at boot, but not required (OTP's `sync_nodes_optional`). */
  readonly syncNodesOptional?: readonly string[];
  /** How long boot waits for the sync nodes; without it there is no wait at all (OTP's `sync_nodes_timeout`). */
  readonly syncNodesTimeout?: number;
  /** Initial permissions (OTP's `permissions`); absent = permitted. */
  readonly permissions?: Readonly<Record<string, boolean>>;
  /**
   * A directory where this node keeps the highest fencing epoch of each application, so that
   * it survives a restart (No OTP counterpart; `fileEpochStore`). Without it (or `epochStore`)
   * epochs live in memory: with a quorum they keep increasing only while fewer than a quorum
   * of the listed nodes restart at once. README "Quorum and fencing".
   */
  readonly epochDir?: string;
  /** The same as `epochDir` with a store of your own (e.g. a database row); not both. */
  readonly epochStore?: EpochStore;
}

const NODE = /^[A-Za-z0-9_.-]+@[A-Za-z0-9_.:-]+$/;

/** Checks a kernel config; throws `ERR_BAD_KERNEL_CONFIG` naming the bad entry. */
export function checkKernelConfig(c: unknown): KernelConfig {
  const bad = (where: string, what: string): never => {
    throw new DistAcError('ERR_BAD_KERNEL_CONFIG', `${where}: ${what}`, { badConfig: where });
  };
  if (typeof c !== 'object' || c === null || Array.isArray(c)) bad('kernel config', 'must be an object');
  const k = c as Record<string, unknown>;
  const known = new Set(['distributed', 'syncNodesMandatory', 'syncNodesOptional', 'syncNodesTimeout', 'permissions', 'epochDir', 'epochStore']);
  for (const key of Object.keys(k)) if (!known.has(key)) bad(key, 'unknown kernel parameter');
  if (k.distributed !== undefined) {
    if (!Array.isArray(k.distributed)) bad('distributed', 'must be an array of { application, timeout?, nodes }');
    const seen = new Set<string>();
    (k.distributed as unknown[]).forEach((e, i) => {
      const where = `distributed[${i}]`;
      if (typeof e !== 'object' || e === null) bad(where, 'must be { application, timeout?, nodes, quorum?, downAfter? }');
      const d = e as Record<string, unknown>;
      for (const key of Object.keys(d)) if (!['application', 'timeout', 'nodes', 'quorum', 'downAfter'].includes(key)) bad(`${where}.${key}`, 'unknown key');
      if (typeof d.application !== 'string' || d.application === '') bad(`${where}.application`, 'must be an application name');
      if (seen.has(d.application as string)) bad(`${where}.application`, `${String(d.application)} is listed twice`);
      seen.add(d.application as string);
      if (d.timeout !== undefined && !(typeof d.timeout === 'number' && d.timeout >= 0)) bad(`${where}.timeout`, 'must be a number of ms ≥ 0 or Infinity');
      if (!Array.isArray(d.nodes) || d.nodes.length === 0) bad(`${where}.nodes`, 'must be a non-empty priority list');
      const names = new Set<string>();
      for (const n of d.nodes as unknown[]) {
        const group = Array.isArray(n) ? (n as unknown[]) : [n];
        if (group.length === 0) bad(`${where}.nodes`, 'an equal-priority group must not be empty');
        for (const g of group) {
          if (typeof g !== 'string' || !NODE.test(g)) bad(`${where}.nodes`, `${JSON.stringify(g)} is not a node name (name@host)`);
          if (names.has(g as string)) bad(`${where}.nodes`, `${String(g)} is listed twice`);
          names.add(g as string);
        }
      }
      const q = d.quorum;
      if (q !== undefined && q !== 'none' && q !== 'majority' && !(typeof q === 'number' && Number.isInteger(q) && q >= 1 && q <= names.size)) {
        bad(`${where}.quorum`, `must be 'none', 'majority' or an integer from 1 to the number of listed nodes (${names.size})`);
      }
      if (d.downAfter !== undefined && !(typeof d.downAfter === 'number' && Number.isFinite(d.downAfter) && d.downAfter >= 0)) bad(`${where}.downAfter`, 'must be a finite number of ms ≥ 0');
      if (d.downAfter !== undefined && (q === undefined || q === 'none')) bad(`${where}.downAfter`, "only applies with a quorum ('majority' or a number)");
    });
  }
  for (const key of ['syncNodesMandatory', 'syncNodesOptional'] as const) {
    const v = k[key];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.some((n) => typeof n !== 'string' || !NODE.test(n))) bad(key, 'must be an array of node names (name@host)');
  }
  if (k.syncNodesTimeout !== undefined && !(typeof k.syncNodesTimeout === 'number' && k.syncNodesTimeout >= 0)) {
    bad('syncNodesTimeout', 'must be a number of ms ≥ 0 or Infinity');
  }
  if (k.permissions !== undefined) {
    if (typeof k.permissions !== 'object' || k.permissions === null || Array.isArray(k.permissions)) bad('permissions', 'must map application names to booleans');
    for (const [app, v] of Object.entries(k.permissions as object)) if (typeof v !== 'boolean') bad(`permissions.${app}`, 'must be a boolean');
  }
  if (k.epochDir !== undefined && (typeof k.epochDir !== 'string' || k.epochDir === '')) bad('epochDir', 'must be a directory path');
  if (k.epochStore !== undefined && !isEpochStore(k.epochStore)) bad('epochStore', 'must be an object with load(app) and save(app, epoch)');
  if (k.epochDir !== undefined && k.epochStore !== undefined) bad('epochStore', 'give epochDir or epochStore, not both');
  return k;
}

/**
 * Waits for the sync nodes at boot (OTP's `kernel_config:sync_nodes/0`): with
 * `syncNodesTimeout` unset nothing happens; otherwise every listed node is pinged and the
 * wait lasts until all are up or the timeout passes. Mandatory nodes still missing then make
 * the boot fail with `ERR_MANDATORY_NODES_DOWN`.
 */
export async function syncNodes(node: DistNode, config: KernelConfig): Promise<{ up: string[]; missing: string[] }> {
  const timeout = config.syncNodesTimeout;
  const mandatory = (config.syncNodesMandatory ?? []).filter((n) => n !== node.name);
  const optional = (config.syncNodesOptional ?? []).filter((n) => n !== node.name);
  const all = [...new Set([...mandatory, ...optional])];
  if (timeout === undefined || all.length === 0) return { up: node.nodes(), missing: [] };
  // The node's clock and timers, not Date/setTimeout: a simulated cluster drives them.
  const clock = node.clock;
  const deadline = clock.now() + timeout;
  // Each missing node is dialled again until all are connected at once or the time is up (a
  // node may boot after us). All at once, as OTP's kernel:sync_nodes, which waits on nodeup and
  // nodedown both: a connection made and then dropped — `global`'s overlapping-partition
  // prevention drops a restarted node's first connections until the peers that lost it
  // reconnect — does not count, or a restarted node decides placements without the node that
  // runs them and starts a second instance.
  const allUp = (): boolean => all.every((n) => node.net.isConnected(n));
  while (clock.now() < deadline && !node.stopped) {
    if (allUp()) {
      // A drop comes right after the nodeup (a microtask of `global`'s): look again after a tick.
      await node.delay(1);
      if (allUp()) break;
      continue;
    }
    await Promise.all(all.filter((n) => !node.net.isConnected(n)).map((n) => node.connect(n)));
    if (!allUp()) await node.delay(Math.min(100, Math.max(1, deadline - clock.now())));
  }
  const missing = all.filter((n) => !node.net.isConnected(n));
  const missingMandatory = mandatory.filter((n) => missing.includes(n));
  if (missingMandatory.length > 0) {
    throw new DistAcError('ERR_MANDATORY_NODES_DOWN', `mandatory nodes did not come up within ${timeout} ms: ${missingMandatory.join(', ')}`, {
      mandatoryNodesDown: missingMandatory,
    });
  }
  return { up: all.filter((n) => !missing.includes(n)), missing };
}

/** The priority rank of `node` in `nodes` (its entry's index), or -1 when not listed. */
export function rankOf(nodes: NodeList, node: string): number {
  return nodes.findIndex((e) => (typeof e === 'string' ? e === node : e.includes(node)));
}

/** Every node of a priority list, flattened. */
export function listedNodes(nodes: NodeList): readonly string[] {
  // Asked on every quorum check and decision: computed once per list (a config's lists are not
  // changed after `checkKernelConfig`; a simulated apps-quorum run spent 3.5 % of its time here).
  let listed = listedCache.get(nodes);
  if (listed === undefined) listedCache.set(nodes, (listed = Object.freeze(nodes.flatMap((e) => (typeof e === 'string' ? [e] : [...e])))));
  return listed;
}

const listedCache = new WeakMap<NodeList, readonly string[]>();
const signatureCache = new WeakMap<DistributedEntry, string>();

/** A stable signature of an entry, to detect nodes configured differently (the quorum settings only when set, so entries without them sign as before). */
export function entrySignature(e: DistributedEntry): string {
  const cached = signatureCache.get(e);
  if (cached !== undefined) return cached;
  const base = [e.timeout ?? 0, e.nodes.map((n) => (typeof n === 'string' ? n : [...n].sort()))];
  const q = quorumSize(e);
  const signature = JSON.stringify(q === 0 ? base : [...base, q, e.downAfter ?? null]);
  signatureCache.set(e, signature);
  return signature;
}

/** How many listed nodes (itself included) a node must reach to run the entry's application: 0 for `quorum: 'none'` (No OTP counterpart). */
export function quorumSize(e: DistributedEntry): number {
  const q = e.quorum ?? 'none';
  if (q === 'none') return 0;
  if (q === 'majority') return Math.floor(listedNodes(e.nodes).length / 2) + 1;
  return q;
}
