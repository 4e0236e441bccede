/**
 * Real network partitions between nodes of this OS process, for tests: `partition` cuts every
 * link between groups with the fault-injecting transport (`FaultyTransport.block` on both sides:
 * the connection is closed and every reconnection refused) and waits until the cluster is really
 * split into exactly those groups; `heal` lifts the blocks and waits for the full mesh again.
 * The nodes must have been started with `transport: new FaultyTransport()`.
 *
 * With `preventOverlappingPartitions` (the default) a cut can make `global` drop links inside a
 * group too (a node hears that a peer lost a node it is still connected to); `partition`
 * reconnects those, so it returns with every group fully connected inside and cut from the
 * others.
 */
import type { DistNode } from '../src/index.js';
import { FaultyTransport } from './faulty_transport.js';

const POLL_MS = 5;

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
}

/**
 * Polls until `ok()` holds for `stablePolls` polls in a row (so a cut still in flight cannot
 * undo it right after), running `repair()` before each poll; throws after `timeoutMs`.
 */
async function until(ok: () => boolean, repair: () => void, timeoutMs: number, what: () => string, stablePolls = 6): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let streak = 0;
  for (;;) {
    repair();
    streak = ok() ? streak + 1 : 0;
    if (streak >= stablePolls) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function describe(nodes: readonly DistNode[]): string {
  return nodes.map((n) => `${n.name} -> [${n.nodes().join(', ')}]`).join('; ');
}

/** Cuts the link between `a` and `b` (both directions) until `unblock`. */
export function cut(a: DistNode, b: DistNode): void {
  FaultyTransport.of(a).block(b.name);
  FaultyTransport.of(b).block(a.name);
}

/**
 * Splits the cluster into `groups`: every pair of nodes in different groups is blocked on both
 * sides; resolves once each node is connected to exactly the other nodes of its group (stably).
 */
export async function partition(groups: DistNode[][], timeoutMs = 5000): Promise<void> {
  const all = groups.flat();
  for (let i = 0; i < groups.length; i++) {
    for (let j = i + 1; j < groups.length; j++) {
      for (const a of groups[i]!) for (const b of groups[j]!) cut(a, b);
    }
  }
  const wanted = new Map<DistNode, string[]>();
  for (const g of groups) for (const n of g) wanted.set(n, g.filter((m) => m !== n).map((m) => m.name));
  await until(
    () => all.every((n) => sameSet(n.nodes(), wanted.get(n)!)),
    () => {
      for (const n of all) for (const peer of wanted.get(n)!) if (!n.net.isConnected(peer)) void n.connect(peer);
    },
    timeoutMs,
    () => `partition ${groups.map((g) => `[${g.map((n) => n.name).join(', ')}]`).join(' ')}; now ${describe(all)}`,
  );
}

/** Lifts every block between `nodes`, reconnects them, and resolves once they form a full mesh (stably). */
export async function heal(nodes: DistNode[], timeoutMs = 5000): Promise<void> {
  for (const a of nodes) for (const b of nodes) if (a !== b) FaultyTransport.of(a).unblock(b.name);
  await until(
    () => nodes.every((n) => nodes.every((m) => m === n || n.net.isConnected(m.name))),
    () => {
      for (const n of nodes) for (const m of nodes) if (m !== n && !n.net.isConnected(m.name)) void n.connect(m.name);
    },
    timeoutMs,
    () => `full mesh; now ${describe(nodes)}`,
  );
}
