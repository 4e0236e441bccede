/**
 * Regressions found by the fault explorer's `apps` workload (issue 14): each replays a shrunk
 * trace from its seed on 5 nodes and expects the invariant it once violated to hold. Each case
 * names its root cause; see packages/testing/README.md for the invariants' model.
 */
import { describe, expect, it } from 'vitest';
import { explore, parseTrace } from '../src/index.js';

/** Replays `trace` from `seed` with the `apps` workload and the given invariants; resolves to the violation, if any. */
async function replay(seed: number, trace: string, invariants: string[]): Promise<string | undefined> {
  const r = await explore({ seed, nodes: 5, workload: 'apps', trace: parseTrace(trace), shrink: false, invariants });
  return r.violation === undefined ? undefined : `${r.violation.invariant}: ${r.violation.message}`;
}

describe('dist-ac under the fault explorer: shrunk traces that once failed', () => {
  it('a takeover finishing after its old node yielded to a better instance does not overwrite that node\'s record (I3-apps, seed 7)', async () => {
    // e takes slow over from b while b (which failed it over in a partition) yields to c's
    // better instance at the heal; b's `handedOver` used to record e, then e yielded to c and
    // b was left naming no node.
    expect(await replay(7, 'run 534;cut1 d a;unreg e g5;cut1 c e;run 1422;run 864;takeover e slow;settle', ['I1', 'I3-apps'])).toBeUndefined();
  });
});
