/**
 * Regressions found by the fault explorer's `apps-quorum` workload (issue 15: the `apps`
 * workload with `quorum: 'majority'`): each replays a shrunk trace from its seed on 5 nodes and
 * expects the invariants it once violated to hold. Each case names its root cause. Some replay
 * a long prefix of a seed's trace (up to 500 steps, seconds of real time each on a busy machine).
 */
import { describe, expect, it } from 'vitest';
import { explore, generateTrace, parseTrace } from '../src/index.js';

/** Replays `trace` from `seed` with the `apps-quorum` workload and the given invariants; resolves to the violation, if any. */
async function replay(seed: number, trace: string, invariants: string[]): Promise<string | undefined> {
  const r = await explore({ seed, nodes: 5, workload: 'apps-quorum', trace: parseTrace(trace), shrink: false, invariants });
  return r.violation === undefined ? undefined : `${r.violation.invariant}: ${r.violation.message}`;
}

/**
 * Replays seed `seed`'s 300-fault `apps-quorum` trace up to and including step `last` (the
 * failing step), then a settle, with Q1 and Q2; resolves to the violation, if any.
 */
async function replayPrefix(seed: number, last: number): Promise<string | undefined> {
  const trace = generateTrace(seed, 5, 300, 10, 'apps-quorum').slice(0, last + 1);
  if (trace.at(-1) !== 'settle') trace.push('settle');
  const r = await explore({ seed, nodes: 5, workload: 'apps-quorum', trace, shrink: false, invariants: ['Q1', 'Q2'] });
  return r.violation === undefined ? undefined : `${r.violation.invariant}: ${r.violation.message}`;
}

describe('dist-ac with a quorum under the fault explorer: shrunk traces that once failed', () => {
  it('a node that stopped its instance for want of a quorum and is back is a failover candidate again (I2, seeds 1, 2, 3)', async () => {
    // b–e cut: global drops e's links, e (best for ctr) loses its quorum and stops ctr; at the
    // heal d's failover excluded e as the "dead" node and kept ctr on the worse d.
    expect(await replay(1, 'run 1206;run 659;settle;takeover e slow;cut b e;run 1402;settle', ['I1', 'I2', 'Q1'])).toBeUndefined();
    expect(await replay(2, 'send c a 2;run 1189;run 1114;freeze c;reg b g0;stall e 2218;run 646;run 759;settle', ['I1', 'I2', 'Q1'])).toBeUndefined();
    expect(await replay(3, 'cut1 e b;run 499;send c b 1;run 1060;settle', ['I1', 'I2', 'Q1'])).toBeUndefined();
  }, 180_000);

  it('a node whose instance is still starting counts as running it; a quorum start whose views missed a node lost meanwhile decides again (Q1, seeds 2 and 11)', async () => {
    // Seed 2: c was starting slow (its go phase waited on global across a cut) when it lost
    // its links; its view said "not running", so a — no longer reaching c, its views gathered
    // before the nodedown — started slow too, with a newer epoch, while c's ran. Seed 11: the
    // same race on grp, and failover holds that one node's timer carried and another node's
    // decision did not (holds now come from every view; a node some view saw die needs none).
    // The prefixes of the seeds' traces up to the violation.
    expect(await replay(2, 'thaw b;send b e 3;run 1484;restart e;send b c 3;send c a 2;takeover a slow;run 1189;thaw a;run 1114;freeze c;reg c g4;run 714;cut a c;send d e 1;unreg e g3;reg b g0;run 455;crash a;run 320;cut1 b e;send e a 4;send d e 4;run 527;stall e 2218;run 646;cut c a;send a c 5;run 759;freeze e;send b c 1;send c a 5;reg a g3;appstart a slow;incr c 1;run 1168;settle;part a,c,d,e|b;reg a g2;reg e g5;reg c g3;run 261;restart d;send c a 2;send c a 1;send d a 1;run 1046;cut d a;reg c g4;reg e g5;reg b g0;incr e 3;run 717;thaw c;reg d g1;send e b 1;appstop d ctr;permit a slow true;run 181;thaw a;send b e 5;send d c 4;run 118;cut1 e d;takeover c ctr;incr e 5;run 1395;freeze b;send a e 5;send b c 5;permit e grp false;incr e 1;run 1486;freeze b;reg c g4;run 193;healall;reg b g3;reg a g1;incr b 4;incr b 1;run 759;cut d c;reg e g0;reg d g3;permit a slow true;run 1019', ['Q1'])).toBeUndefined();
    expect(await replay(11, 'cut1 d b;send b e 1;send d e 4;reg a g0;incr e 4;run 301;crash c;send c d 1;reg e g5;permit d ctr false;run 588;cut1 d a;send a c 4;send c a 2;run 560;healall;send c b 3;unreg b g5;reg d g0;incr d 3;run 776;restart c;send d a 2;reg a g1;reg c g0;permit e slow false;run 1182;cut d c;run 1441;thaw d;send e c 5;send a c 2;run 276;stall e 2422;send c d 5;send e c 3;send e c 4;incr d 1;run 44;crash b;send e a 5;send c a 1;reg a g4;incr d 5;incr d 1;run 1374;heal e d;reg b g5;run 838;settle;restart d;appstart b ctr;takeover c grp;run 907;thaw a;reg e g0;incr c 1;incr a 1;run 1155;cut a d;reg a g4;appstart b grp;incr b 3;run 657;cut e d;run 379;heal a e;reg e g2;send a d 3;run 275;cut c d;reg b g1;send c d 1;reg a g2;run 154;thaw a;run 398;crash e;reg a g0;send e c 2;send a e 1;appstart c ctr;incr e 1;run 1282;cut1 c a;reg e g3;appstart d slow;run 1321;cut b a;send b e 1;unreg e g0;send a e 2;takeover d ctr;incr a 4;run 1391;settle;thaw c;reg b g1;permit c ctr true;run 935;freeze e;unreg d g2;reg a g1;reg d g5;run 164;heal e b;permit b slow false;appstart b grp;run 389;cut e d;reg a g5;appstart a slow;run 1340;cut c d;reg a g4;unreg c g2;reg e g3;incr c 2;run 431;stall e 1398;incr b 1;run 409;cut c b;reg e g1;reg a g2;permit e grp true;run 1003;crash a;send c e 3;run 515;restart e;reg b g4;send d e 1;run 436;part a,b,c,d|e;send e c 4;send a b 5;incr d 5;run 816;settle;crash e;run 960;cut1 e c;reg d g0;send a d 1;reg b g4;permit e slow false;appstart e ctr;run 801;cut1 a b;unreg b g2;unreg b g2;send a d 5;permit e grp true;run 682;freeze e;reg c g0;incr e 1;incr e 3;run 355;freeze c;run 1343;cut1 b e;send b c 2;incr c 3;incr d 1;run 698;cut1 b e;send a b 5;reg b g0;run 195;freeze c;appstart e slow;takeover c ctr;run 841;thaw c;unreg b g2;unreg a g1;reg b g4;appstart d ctr;run 257;part b,d,e|a,c;send c e 2;incr d 4;incr a 3;run 1204;settle;heal b d;send a d 2;reg a g2;takeover a ctr;run 750;heal a e;send b d 4;send e a 5;run 322;freeze e;send b d 3;unreg a g3;send a b 3;appstart e grp;run 465;cut1 b e;reg d g0;reg a g4;incr b 1;run 588;healall;send c e 1;send d a 3;send d e 4;incr a 5;incr c 3;run 705;healall;send c d 5;run 1355;thaw e;send a d 5;send d c 2;send e b 2;incr e 1;appstop b slow;run 58;cut b a;send a b 4;send a c 5;send c e 3;run 275;heal b a;send d e 2;send a d 1;takeover c slow;incr e 5;run 1053;crash d;reg a g0;send a e 5;reg c g4;takeover d grp;permit c ctr true;run 1387;settle;stall c 1631;send c d 3;send a d 3;reg b g0;appstart b slow;run 1441;freeze d;takeover e ctr;permit a slow true;run 255;heal e b;incr b 2;run 930;cut e d;send d a 5;permit d grp true;run 1013;cut1 e a;incr d 3;takeover d ctr;run 621;restart a;send e c 1;takeover a grp;incr b 3;run 478;heal a e;reg d g1;reg c g1;incr c 2;incr d 1;run 986;thaw c;unreg d g4;reg a g4;run 495;restart c;send b e 3;appstart a slow;appstart b slow;run 1399;crash c;send c a 4;send d b 5;permit a grp false;run 921;settle;thaw c;run 867;crash b;reg b g2;unreg c g1;send d c 2;run 674;healall;incr d 4;takeover a grp;run 1293;heal a b;reg b g3;run 1430;thaw e;appstart c grp;incr a 2;run 89;heal b c;reg d g1;send a d 5;send c b 4;incr e 1;run 1293;heal c a;incr e 4;run 906;stall c 2952;unreg a g5;reg b g3;run 1040;healall;reg a g2;send c d 5;appstart d ctr;run 136;part a,b|c,d,e;reg d g5;takeover d grp;run 1299;settle;cut1 b e;permit e slow true;run 534;part c|a,b,d,e;permit b ctr true;incr e 3;run 1255;cut1 e c;send a d 1;send c b 4;send a e 1;run 1084;crash a;send c e 1;send e d 2;unreg e g3;takeover c grp;appstart d grp;run 308;cut1 e d;send e c 3;permit c grp true;appstart b slow;run 649;part a|b,c,d,e;incr e 3;appstart a slow;run 738;restart e;reg b g5;send e c 5;unreg b g1;takeover b ctr;run 179;thaw c;send b a 4;reg d g3;incr d 2;incr e 5;run 1399;stall e 2631;reg c g1;send d a 5;send c a 1;takeover c grp;run 525;part c,e|a,b,d;send c b 4;reg c g2;run 1254;settle;heal a b;incr d 3;incr a 2;run 1037;part b|a,c,d,e;takeover b ctr;run 1355;thaw c;reg b g3;reg d g0;send e b 5;run 360;freeze b;reg a g0;run 738;restart d;incr a 3;run 708;restart c;send a b 4;reg e g2;send d c 2;run 796;cut a c;send d e 4;send c b 2;incr e 3;run 364;crash e;reg d g0;appstart e grp;incr d 2;run 107;cut e d;unreg c g5;unreg c g0;takeover d slow;incr a 5;run 640;heal a d;send c a 2;unreg b g3;run 994;settle;crash b;send b c 5;unreg a g1;send d a 1;permit b grp false;run 1204;restart c;send a e 4;send a b 1;unreg e g3;permit e grp true;takeover d slow;run 1002;heal c a;reg e g0;reg c g2;unreg c g2;incr d 1;run 941;crash b;send a b 5;unreg d g5;run 1020;cut e b;send a e 2;run 655;cut d c;send c a 4;reg b g4;send e b 2;permit d slow false;run 125;restart b;send d a 3;send b e 4;send a b 3;takeover b slow;incr b 4;run 951;cut b d;reg d g1;run 1461;cut a d;send c d 4;unreg d g4;send e a 4;incr a 5;incr e 3;run 746;stall b 540;send d e 3;send b e 1;run 96;settle;heal d c;reg c g5;reg e g3;send a c 4;run 22;part b,c,d,e|a;send b d 4;appstop a grp;incr d 3;run 619;heal e c;run 1046;cut e b;send a c 1;run 839;cut1 a e;permit d grp true;incr c 2;run 294', ['Q1'])).toBeUndefined();
  }, 180_000);

  it('permit true holds a fresh start like a failover does; an instance being stopped for want of a quorum still counts as running (Q1, seeds 29 and 25)', async () => {
    // Seed 29: e ran ctr and was cut off; `permit d ctr true` started ctr on d 40 ms after
    // d lost e, without the hold a failover waits. Seed 25: c decided while e's slow ran its
    // 200 ms prepStop (the stop for want of a quorum): e's view said "not running". The
    // prefixes of the seeds' traces up to the violation.
    expect(await replay(29, 'cut e a;send b c 5;incr b 5;incr a 5;run 549;thaw b;send e a 2;send b e 5;incr c 2;run 1467;thaw c;takeover a ctr;incr e 3;run 1343;freeze c;run 1282;cut1 e a;reg a g2;incr d 5;run 830;heal a e;reg d g3;run 358;part b,d,e|a,c;permit e grp false;incr c 2;run 1372;cut d e;incr e 3;appstart d ctr;run 395;cut d a;send e b 4;reg e g2;incr d 4;run 1459;crash d;send e d 3;send e a 4;reg a g1;incr d 4;incr a 1;run 373;settle;crash d;send c e 5;reg c g5;send a b 4;appstart e slow;run 911;healall;send e b 1;reg a g2;run 1414;part b,c,d|a,e;send a e 2;run 196;heal a d;reg d g5;unreg b g2;reg a g5;run 1331;cut c b;unreg b g0;reg a g1;run 627;cut b c;send b e 2;send c d 4;unreg d g5;run 664;part a,e|b,c,d;reg d g5;run 548;thaw d;run 207;cut e d;run 453;restart a;permit a grp true;incr b 4;run 298;settle;cut e a;reg d g2;send b d 1;reg c g4;takeover c slow;takeover a ctr;run 538;cut a e;send b a 5;reg e g0;takeover c slow;run 94;healall;send e b 1;send b e 4;reg e g3;incr a 3;permit d ctr true;run 289', ['Q1'])).toBeUndefined();
    expect(await replay(25, 'stall b 1824;send d a 1;reg d g5;incr c 1;run 179;part a,b,c,e|d;appstart e slow;appstart a grp;run 466;stall d 105;reg d g4;send b a 5;send b a 4;incr b 3;run 937;crash b;takeover c grp;permit e ctr false;run 1329;freeze e;incr e 5;appstart c ctr;run 516;cut a b;reg e g0;run 352;crash e;reg a g0;send c a 5;takeover a grp;incr c 4;run 406;heal c d;permit a grp false;incr d 1;run 1040;freeze d;send e d 2;takeover b ctr;permit d ctr false;run 43;crash e;run 854;settle;stall e 2147;send e a 2;run 57;heal a b;incr c 4;run 628;cut1 d e;run 369;heal d c;incr b 1;run 611;stall d 1512;send c a 1;reg a g1;reg c g1;run 1010;restart d;reg a g1;unreg a g0;appstart c grp;run 1415;heal c a;send d c 2;reg a g0;takeover d slow;run 529;cut1 c e;send d e 2;send c e 5;appstart c grp;run 1189;restart a;reg c g2;send e d 5;reg c g2;appstop c grp;run 332;part b,c|a,d,e;send d c 1;permit a slow false;incr d 3;run 936;settle;freeze a;reg e g4;send e b 3;incr a 4;run 713;freeze d;reg a g4;permit b slow false;run 225;heal d e;send e d 5;reg c g2;send a d 3;incr a 5;incr b 1;run 365;stall a 340;permit c grp true;run 508;restart d;send e d 3;reg a g2;send e a 5;incr d 5;run 758;thaw c;reg b g2;appstart b grp;incr e 1;run 1147;part a,b,d|c,e;unreg c g1;send e c 4;run 159;heal e d;reg c g2;send b e 5;run 144;part a,b,d,e|c;unreg b g2;takeover b grp;run 785;cut c a;send a e 5;send e d 5;incr e 1;permit c grp true;run 390;settle;cut e a;send e c 3;send c a 2;incr e 2;takeover e grp;run 126;healall;send b a 2;reg b g4;permit c grp false;takeover a grp;run 1469;freeze a;unreg e g4;permit d slow true;run 509;thaw e;send b c 1;incr a 4;appstart d ctr;run 785;cut a b;takeover b ctr;run 559;crash c;reg c g4;reg b g5;run 1343;cut b c;send a b 1;reg a g2;reg e g4;permit e grp false;appstart e grp;run 734;thaw e;run 243;freeze a;takeover d grp;permit b grp true;run 1473;cut b e;reg c g3;send b a 3;incr d 4;run 1062;settle', ['Q1'])).toBeUndefined();
  }, 180_000);

  it('a flapping connection does not count as the quorum coming back: the downAfter timer runs out (Q3, seeds 4, 5)', async () => {
    // A cut makes global drop the node's links; its redials come up and are dropped again at
    // once, and each nodeup used to cancel the downAfter timer: the instance ran on for good.
    expect(await replay(4, 'cut c e;cut d b;run 1212;run 284;run 995', ['Q1', 'Q3'])).toBeUndefined();
    expect(await replay(5, 'part b,c,d,e|a;freeze b;run 1258;crash c;run 100;heal e a;run 1315', ['Q1', 'Q3'])).toBeUndefined();
  }, 180_000);

  it('epochs survive a majority of the nodes crashing at once: each node keeps them on its disk (Q2, seed 518 × 300, up to step 557)', async () => {
    // a, b and d crashed within 3 s, then c: the restarted nodes had forgotten every promise,
    // and b's start of slow got epoch 2 from a quorum of them, below the 33 a's instance had.
    // The workload's nodes now keep their epochs in an `epochStore` that survives a crash (as
    // `epochDir` does on a real node). (Not shrunk.)
    expect(await replayPrefix(518, 557)).toBeUndefined();
  }, 600_000);

  it('an instance told it was superseded still counts as running while it stops (Q1, seed 75 × 300, up to step 782)', async () => {
    // c took slow over from b while b was cut off (b's instance, epoch 357, ran on); at the
    // heal c told b its instance was superseded. b's stop (a 200 ms prepStop) made its view say
    // "not running" at once, and c decided and started a second instance beside it. The
    // stopping instance now counts as running (as one stopped for want of a quorum does).
    expect(await replayPrefix(75, 782)).toBeUndefined();
  }, 600_000);

  it('a node that thaws fences a start still under way and a stop it was in the middle of, as a thawed node\'s (Q1, seeds 151 and 230 × 300)', async () => {
    // 151: d froze while starting slow; a started it meanwhile; at the thaw only d's running
    // instances were fenced, and its start ran on. 230: e froze 4 ms into slow's 200 ms
    // prepStop (a stop for want of a quorum); c failed it over; after the thaw the stop went on
    // as a quorum stop, not as a thawed node's. (Not shrunk.)
    expect(await replayPrefix(151, 624)).toBeUndefined();
    expect(await replayPrefix(230, 713)).toBeUndefined();
  }, 600_000);

  it('Q1 (the model\'s): a chain of takeovers from an instance still finishing its stop is one handover (seed 840 × 300, up to step 52)', async () => {
    // a's slow was stopping for want of a quorum (its 200 ms prepStop) when b took it over from
    // a, and c took it over from b: c and a overlapped, c descending from a by takeovers. Q1
    // excused only a direct takeover's old and new instance. (Not shrunk.)
    expect(await replayPrefix(840, 52)).toBeUndefined();
  }, 600_000);
});

