/**
 * Regressions of `global` found by the fault explorer (`--workload global`, invariant
 * I3-names: after heal-and-settle every node has the same name table and each name's pid is
 * alive). Each case replays the shrunk trace of one root cause, deterministically, and expects
 * no violation; each failed before its fix.
 */
import { describe, expect, it } from 'vitest';
import { explore, generateTrace, parseTrace } from '../src/index.js';

/** Replays `trace` from `seed` on 5 nodes with the global workload and returns the violation, if any. */
async function replay(seed: number, trace: string): Promise<string | undefined> {
  const r = await explore({ seed, nodes: 5, workload: 'global', invariants: ['I3-names'], trace: parseTrace(trace), shrink: false });
  return r.violation === undefined ? undefined : `${r.violation.invariant}: ${r.violation.message}`;
}

/**
 * Replays seed `seed`'s 300-fault `global` trace up to and including step `last` (the step that
 * failed), then a settle if that step is not one — the explorer's first cut when it shrinks —
 * and returns the I3-names violation, if any. Up to that step the run is the seed's own.
 */
async function replayPrefix(seed: number, last: number): Promise<string | undefined> {
  const trace = generateTrace(seed, 5, 300, 10, 'global').slice(0, last + 1);
  if (trace.at(-1) !== 'settle') trace.push('settle');
  const r = await explore({ seed, nodes: 5, workload: 'global', invariants: ['I3-names'], trace, shrink: false });
  return r.violation === undefined ? undefined : `${r.violation.invariant}: ${r.violation.message}`;
}

describe('global under the fault explorer: regressions', () => {
  it('a lock request a frozen node handles after its requester dropped the connection is not kept (it blocked every merge)', async () => {
    // c is frozen with d's registration lock request in its mailbox; d counts c out (nodedown)
    // and never unlocks it there. Thawed, c granted it to d's live name server over a new
    // connection, and kept its partition locked for good: no merge, the tables never agreed.
    // The same trace, once requests no longer dial lost nodes, showed the next cause: a merge
    // made d know e, which had lost d (the loss remembered from e's end only); d then
    // registered g5 without e.
    expect(await replay(30, 'cut d e;cut1 c b;run 1240;heal b c;run 1066;stall c 1062;send d a 3;rereg d g5;run 763;crash b;settle')).toBeUndefined();
  });

  it("a registration's insert to a node it lost is not delivered on a later connection (it bypassed the merge)", async () => {
    // a registers g2 while prevent-overlapping-partitions cuts it off from everyone; its insert
    // to b and c dialled them and landed after the heal, before the merge: the merge then saw
    // g2 on both sides and never gave it to d and e.
    expect(await replay(2, 'run 843;cut1 b a;reg d g0;run 852;cut a c;reg a g2;run 1126;run 243;settle')).toBeUndefined();
  });

  it('a node that forgets a node it is not connected to drops the names of pids there (its monitors would never fire)', async () => {
    // c, frozen, lost everyone; a merge gave it b's g2 while b was unreachable from c, then c
    // forgot b (a remembered loss) without a nodedown. a, d and e dropped g2 at their nodedown
    // of b; c kept it, waiting on a dial, and the next merge took c's table for its partition's.
    expect(await replay(8, 'freeze c;reg b g2;cut1 b c;run 1409;thaw c;run 526;settle')).toBeUndefined();
  });

  it('knowledge on one side only is repaired: the node asked to merge forgets the asker and merges (it blocked the pair for good)', async () => {
    // A merge's node list made e know a, which had dropped e; a (the boss of the pair) asked e
    // to merge and e answered "known", for ever. a registered g2 in a partition of its own, and
    // e's partition merged with the rest as if a's table were e's.
    expect(await replay(10, 'part b,c,e|a,d;run 1311;heal d e;run 1061;part b,c,d|a,e;reg a g2;run 1341;run 1364;settle')).toBeUndefined();
  });

  it('a merge outcome does not make a node know again a node of its own side it lost meanwhile', async () => {
    // The merge's node list for this side was taken under the lock; a node that lost one of
    // them before the outcome arrived (dropping the names of its pids at that nodedown) knew it
    // again, and one partition held two different tables for good.
    expect(await replay(2, 'freeze b;run 852;part b,c,d,e|a;lock d l2 166;run 1226;stall e 270;send c e 3;trans c l1 259;rereg d g1;run 743;reg c g3;lock d l1 14;run 317;freeze e;run 592;run 1076;settle')).toBeUndefined();
  });

  it('a request to a node a merge just made known waits for the first connection to it', async () => {
    // a merged with c, d and e while its dial to e (dropped for overlap, then cut) was pending;
    // its registration of g2 counted e in but sent it nothing, as if e were lost.
    expect(await replay(5, 'cut1 a b;send b e 3;lockdie c l0 762;run 752;part b|a,c,d,e;cut a e;run 1049;rereg a g2;settle')).toBeUndefined();
  });

  it("a request handled after its caller's connection went down is dropped (a thawed node took an insert behind its partition's back)", async () => {
    // a and e, frozen, held b's insert of g1 in their mailboxes. Thawed, a saw b's nodedown
    // first (dropping b's names), then applied the insert; its monitor dialled b and survived.
    // a then merged with c and d, giving them g1, while d dropped it at a later nodedown of b
    // and c did not: one partition held two tables, and the merge with b changed neither.
    expect(await replay(2, 'send b c 2;trans b l1 279;run 1001;cut e b;run 1304;cut e d;reg d g1;lock d l1 303;rereg a g3;run 154;send d a 4;lock d l2 695;run 205;settle;cut a c;reg b g0;run 1060;stall e 2598;send d a 5;trans d l0 221;run 509;rereg b g5;run 1086;crash c;run 217;freeze d;run 1264;crash d;run 1471;run 1146;freeze e;send a b 3;reg b g1;run 533;freeze a;run 582;run 124;settle')).toBeUndefined();
  });

  it("the loser of a merge's clash is killed even when the resolver's node cannot reach it", async () => {
    // e registered g2 in a partition of its own and merged, through c only, with a's side,
    // whose g2 won; randomExitName ran on a, which could not reach e: the kill was lost, the
    // merge took the name from e's pid, and it lived on without it.
    expect(await replay(13, 'rereg a g2;part a,b,c,d|e;run 994;reg e g2;heal e c;run 606;crash a;settle')).toBeUndefined();
  });

  it("a merge outcome does not clear a loss of the receiver's own that happened after the lists were taken", async () => {
    // A merge's node lists are taken when the sides are locked. A node that lost one of the
    // listed nodes meanwhile (dropping the names of its pids) saw the outcome's "each side is
    // fully connected" clear its own loss, knew the node again, and merged with a table that
    // lacked that node's names while the node kept them. (Diagnosed on a run of seed 18; this
    // replays seed 4's whole generated run, which fails without the fix and did not shrink in
    // the time there was.)
    const r = await explore({ seed: 4, nodes: 5, faults: 300, workload: 'global', invariants: ['I3-names'], shrink: false });
    expect(r.violation === undefined ? undefined : `${r.violation.invariant}: ${r.violation.message}`).toBeUndefined();
    // A whole 300-fault run: seconds when the machine is quiet, more than the default 30 s on a
    // loaded one (and a test that times out leaves its cluster running under the next test).
  }, 180_000);

  it("a request to a node a merge made known goes only on the merge's own connection attempt (a second dial landed after the heal)", async () => {
    // a and b knew each other from a merge but had never connected (a's dial to b is cut one
    // way). Each, cut off, registered g4 while waiting on that dial; when it timed out, the
    // insert to the other was made before the failed attempt was handled, dialled again, and
    // landed after the heal: a took b's pid and b took a's, and no merge ever compared them.
    expect(await replay(27, 'rereg c g4;lock a l1 197;settle;cut a d;run 1027;cut1 a b;freeze d;send b a 3;freeze c;run 1323;part a,b,c,d|e;reg a g4;rereg b g4;run 1346;run 1102;run 903;run 250;run 97;settle')).toBeUndefined();
  });

  it("a merge's name on a node this node cannot dial yet waits for the merge's connection to it (its monitor dropped it at once)", async () => {
    // d, restarted, merged with c's partition {a, b, c, e}; it had no address for e yet (it
    // learns it when e dials it), so the monitor of e's g1 fired noconnection at once and d
    // dropped g1 while everyone else kept it — one partition, two tables, for good.
    expect(await replay(24, 'reg b g3;lock a l1 16;run 358;stall a 2032;run 698;reg e g1;cut1 a e;run 1335;reg a g4;run 1355;crash d;settle')).toBeUndefined();
  });

  it('a merge brings every node of both sides to the merged table, not only the node that answered (explorer seed 88)', async () => {
    // c lost b (dropping b's g2) while e, still connected to b, kept it; e then forgot b (b asked
    // it to merge) and b merged with {c, e}. The exchange compared b's table with e's only: both
    // held g2, so nothing was sent, and c never got g2 back — one partition, two tables, which
    // no later merge compared. (This replays seed 88's whole generated run, which fails without
    // the fix; there was no time to shrink it.)
    const r = await explore({ seed: 88, nodes: 5, faults: 300, workload: 'global', invariants: ['I3-names'], shrink: false });
    expect(r.violation === undefined ? undefined : `${r.violation.invariant}: ${r.violation.message}`).toBeUndefined();
  }, 120_000);

  it('an update that reached only part of a partition is repaired at the next merge (explorer seed 2)', async () => {
    // b's unregister of g3 reached a and c but not e (b was cut off from e mid-way); a, c and
    // e stayed one partition with two tables, and the merges with b and d took one node's
    // table for each side. Shrunk from seed 2 (fails on the code before this session's fixes).
    expect(await replay(2, 'run 87;run 455;run 320;cut1 b e;run 527;cut c a;lockdie a l2 369;run 1366;stall a 221;freeze b;run 199;cut c d;run 84;reg e g1;rereg b g3;lockdie e l1 382;run 975;run 800;lock e l2 297;lockdie e l0 793;run 843;cut1 b a;run 852;run 1386;run 1054;run 338;rereg d g4;run 161;send e c 4;run 195;send d a 2;run 815;cut d e;reg e g5;send c e 1;trans e l2 239;lockdie a l0 280;run 568;settle;crash e;send b a 5;rereg d g4;lock b l1 435;reg c g3;unreg a g0;lock c l2 148;lock d l1 317;run 1050;reg a g2;lockdie d l2 447;lockdie c l0 653;run 496;send d e 3;trans a l1 301;crash b;run 727;send d e 5;lockdie d l0 30;run 1291;part a,b,d,e|c;unreg a g5;run 1345;rereg a g3;run 634;run 547;healall;run 1061;unreg a g0;run 592;freeze a;run 1076;settle;stall d 2316;lockdie b l2 163;run 1361;cut c d;reg a g1;unreg c g4;lock d l1 163;send a e 3;run 268;freeze c;cut c b;run 950;run 194;stall b 2478;run 1366;run 1457;lockdie b l0 375;run 1423;cut1 b e;send b a 2;lock b l1 345;run 878;crash c;trans a l2 62;run 680;lock d l2 657;settle;send d b 4;trans d l0 396;run 1328;freeze d;unreg b g3;trans a l2 622;run 625;cut b e;run 1400;settle')).toBeUndefined();
  });

  it("a name is not owed to its holder while a re-register of it by another pid is pending or lost with its caller (the check's; explorer seed 1871)", async () => {
    // c registered g4; a's re-register of g4 waited on a stalled d, a stalled and crashed: the
    // re-register had reached some nodes (g4 went to a's pid, then away with a's crash), and
    // the check still owed g4 to c's live pid. Like an unregister, a pending or orphaned
    // re-register may have taken the name. The prefix of seed 1871's trace up to the violation.
    expect(await replay(1871, 'healall;trans c l0 642;run 612;crash b;send d b 5;send d b 2;lock a l2 84;run 422;healall;reg c g2;reg b g5;trans c l1 464;run 1448;thaw c;lockdie e l2 167;run 1173;cut d e;send b a 5;reg c g4;send c b 2;trans a l2 789;run 252;stall d 2034;rereg a g4;lock e l0 74;run 654;part d,e|a,b,c;reg c g2;send d a 1;send a e 3;lockdie e l2 538;run 221;cut e a;run 557;stall a 2672;reg b g1;send d a 5;send b c 2;rereg c g2;lock e l0 27;run 637;crash a;trans c l2 557;run 1451;settle')).toBeUndefined();
  }, 180_000);

  it('two pids holding one name on one side of a merge is a clash, resolved and the loser killed (one was kept silently)', async () => {
    // During a heal-all storm of overlap-prevention drops, b re-registered g4 under the lock on
    // {a, b} only, while c's partition counted a in and still named e's pid: the merge took
    // each side's union with the first table's pid, so g4 went to e's pid everywhere and b's
    // pid lived on without its name.
    expect(await replay(703, 'trans d l2 398;trans d l2 288;run 299;part b,c,d,e|a;send d b 4;reg b g5;lockdie c l1 340;run 380;send d c 5;run 1207;run 324;send c e 1;trans e l0 110;lock c l0 119;run 565;cut d e;lock c l1 275;lockdie d l1 26;run 662;trans b l1 713;run 141;heal a b;reg a g1;run 1008;settle;cut1 a e;run 383;cut1 a b;lock c l1 634;run 53;trans a l0 20;run 1293;run 228;send d c 5;unreg d g2;trans e l2 565;run 647;heal b a;reg e g2;run 877;heal a e;unreg b g4;rereg c g0;run 983;freeze d;reg a g3;lockdie e l1 705;rereg e g4;run 147;trans c l2 57;settle;cut b d;unreg d g3;run 1484;part c,d,e|a,b;run 1020;healall;send c d 1;rereg b g4;unreg b g2;run 839;crash e;settle')).toBeUndefined();
  }, 120_000);

  it("a merge's outcome reaches only the nodes whose tables it was computed from (seed 13 × 300, up to step 496)", async () => {
    // c, the boss, locked {c, b} for a merge with d's {d, a}, then lost b (each dropped the
    // other's names, b kept its own g4); b dialled c again before c read the tables, so b's
    // read failed and the outcome came from c's table alone. It reached b over the new
    // connection and replaced b's g4 by a's pid, which b then dropped (a was cut off from b):
    // g4 was registered nowhere while b's pid lived. A side that changed since it was locked
    // is now merged again from a fresh lock. (Not shrunk: no time.)
    expect(await replayPrefix(13, 496)).toBeUndefined();
  }, 600_000);
});
