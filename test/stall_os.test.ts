/**
 * A stall of our own event loop is not the peer's silence (issue 11, problem 8). The peer runs
 * in its own OS process (test/src/node_main.ts), so it keeps sending while this process is
 * stuck in a synchronous loop; once the loop ends, the frames wait in our socket. The tick
 * check — a timer, run before the event loop's poll phase — must not declare the peer down
 * before those frames are read.
 */
import { performance } from 'node:perf_hooks';
import { afterEach, expect, it } from 'vitest';
import { type Pid } from '@rigil/core';
import { DistNode, type NodeEvent } from '@rigil/net';
import { OsCluster, waitFor } from './src/os_cluster.js';

const COOKIE = 'stall-test-cookie';
const cluster = new OsCluster();
const locals: DistNode[] = [];

afterEach(async () => {
  try {
    await Promise.all(locals.splice(0).map((n) => n.stop()));
  } finally {
    await cluster.cleanup();
  }
});

/** Blocks this OS process's event loop for `ms` (from an immediate, as a long computation would). */
function stall(ms: number): Promise<void> {
  return new Promise((resolve) =>
    setImmediate(() => {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        // busy: no timer, no socket is served meanwhile
      }
      resolve();
    }),
  );
}

// Scenario: t (tickTime 1000) receives { tick } every 20 ms from a child node; t's event loop
// then stalls for 850 ms, twice. The child's own tickTime is long: it would rightly see t's
// stall as t's silence, which is not what this test is about.
it('a synchronous stall of the local event loop does not declare a peer down that kept sending', async () => {
  const peer = await cluster.spawn({ name: 'talker@127.0.0.1', cookie: COOKIE, tickTime: 20_000 });
  const t = await DistNode.start({ name: 'staller@127.0.0.1', cookie: COOKIE, port: 0, seeds: [peer.seed], tickTime: 1000 });
  locals.push(t);
  expect(await t.connect(peer.name)).toBe(true);
  const events: NodeEvent[] = [];
  t.onNodeEvent((e) => events.push(e));
  let ticks = 0;
  const sink: Pid = t.spawn(async (self) => {
    for (;;) if ((await self.receive()) !== undefined) ticks++;
  });
  const ticker = await t.rpc.spawn(peer.name, 'ticker', [sink, 20]);
  await waitFor(() => ticks >= 10, 5000, 'ticks from the peer');

  for (let round = 0; round < 2; round++) {
    await stall(850);
    const seen = ticks;
    // Two tick periods of normal running after the stall: any late verdict has been given.
    await waitFor(() => ticks >= seen + 25, 5000, 'ticks after the stall');
    expect(events.filter((e) => e.type === 'nodedown'), `round ${round}`).toEqual([]);
  }
  expect(t.net.stats.tickTimeouts).toBe(0);
  expect(t.nodes()).toEqual([peer.name]);
  t.send(ticker, 'stop');
});
