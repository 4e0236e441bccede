/**
 * The command channel of OS-process test nodes (test/src/node_main.ts, the ledger example's
 * child): what a parent may ask a child, and how a child carries it out.
 */
import type { DistNode } from '@rigil/net';
import { FaultyTransport } from '@rigil/net/testing';

/** A command of the parent, written on the child's stdin (one JSON object a line). */
export type ChildCommand = { cmd: 'status' } | { cmd: 'block'; peer: string; silent?: boolean } | { cmd: 'unblock'; peer: string };

/** The reply to `status`. */
export interface ChildStatus {
  /** `nodes()`: the visible nodes connected. */
  nodes: string[];
  /** `net.knownNodes()`: the nodes redialled for life. */
  known: string[];
  /** `net.stats`. */
  stats: Record<string, number>;
}

/** Runs one command of the parent (see `ChildCommand`) on a child node: `status`, and `block`/`unblock` through `FaultyTransport`. */
export function runChildCommand(node: DistNode, c: ChildCommand): ChildStatus | { ok: true } {
  switch (c.cmd) {
    case 'status':
      return { nodes: node.nodes(), known: node.net.knownNodes(), stats: { ...node.net.stats } };
    case 'block':
      FaultyTransport.of(node).block(c.peer, { silent: c.silent === true });
      return { ok: true };
    case 'unblock':
      FaultyTransport.of(node).unblock(c.peer);
      return { ok: true };
    default:
      throw new Error(`unknown command ${JSON.stringify((c as { cmd: unknown }).cmd)}`);
  }
}
