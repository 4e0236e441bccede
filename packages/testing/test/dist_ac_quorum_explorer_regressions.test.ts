/**
 * Regressions found by the fault explorer's `apps-quorum` workload (issue 15: the `apps`
 * workload with `quorum: 'majority'`): each replays a shrunk trace from its seed on 5 nodes and
 * expects the invariants it once violated to hold. Each case names its root cause.
 */
import { describe, expect, it } from 'vitest';
import { explore, parseTrace } from '../src/index.js';

/** Replays `trace` from `seed` with the `apps-quorum` workload and the given invariants; resolves to the violation, if any. */
async function replay(seed: number, trace: string, invariants: string[]): Promise<string | undefined> {
  const r = await explore({ seed, nodes: 5, workload: 'apps-quorum', trace: parseTrace(trace), shrink: false, invariants });
  return r.violation === undefined ? undefined : `${r.violation.invariant}: ${r.violation.message}`;
}

describe('dist-ac with a quorum under the fault explorer: shrunk traces that once failed', () => {
  it('a node that stopped its instance for want of a quorum and is back is a failover candidate again (I2, seeds 1, 2, 3)', async () => {
    // b–e cut: global drops e's links, e (best for ctr) loses its quorum and stops ctr; at the
    // heal d's failover excluded e as the "dead" node and kept ctr on the worse d.
    expect(await replay(1, 'run 1206;run 659;settle;takeover e slow;cut b e;run 1402;settle', ['I1', 'I2', 'Q1'])).toBeUndefined();
    expect(await replay(2, 'send c a 2;run 1189;run 1114;freeze c;reg b g0;stall e 2218;run 646;run 759;settle', ['I1', 'I2', 'Q1'])).toBeUndefined();
    expect(await replay(3, 'cut1 e b;run 499;send c b 1;run 1060;settle', ['I1', 'I2', 'Q1'])).toBeUndefined();
  });

  it('a flapping connection does not count as the quorum coming back: the downAfter timer runs out (Q3, seeds 4, 5)', async () => {
    // A cut makes global drop the node's links; its redials come up and are dropped again at
    // once, and each nodeup used to cancel the downAfter timer: the instance ran on for good.
    expect(await replay(4, 'cut c e;cut d b;run 1212;run 284;run 995', ['Q1', 'Q3'])).toBeUndefined();
    expect(await replay(5, 'part b,c,d,e|a;freeze b;run 1258;crash c;run 100;heal e a;run 1315', ['Q1', 'Q3'])).toBeUndefined();
  });
});
