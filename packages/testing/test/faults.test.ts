/**
 * The simulation's faults have the semantics real networks and processes have: a cut stalls
 * (no close; the tick timeout ends it), a heal retransmits what the cut held, a frozen node
 * runs nothing until thawed, a crash resets its connections, a restart is a new creation.
 */
import { describe, expect, it } from 'vitest';
import type { DistNode, NodeEvent } from '@rigil/net';
import { mesh, recorder, useSims } from './helpers.js';

const sim = useSims();

/** Records the node events of `node` with their virtual time. */
function events(node: DistNode): Array<NodeEvent & { at: number }> {
  const out: Array<NodeEvent & { at: number }> = [];
  node.onNodeEvent((e) => out.push({ ...e, at: node.clock.now() }));
  return out;
}

describe('link cuts', () => {
  it('a cut stalls the connection silently and the tick timeout declares nodedown within tickTime of virtual time', async () => {
    const s = sim(1);
    const [a, b] = await mesh(s, ['a@a', 'b@b']);
    const ea = events(a!);
    const eb = events(b!);
    const logFrom = s.log.length;
    s.cut('a@a', 'b@b');
    const t0 = s.now;
    await s.run(700);
    // Nothing closes across a cut: no FIN or reset, no nodedown yet.
    expect(s.log.slice(logFrom).filter((l) => / (fin|rst) /.test(l))).toEqual([]);
    expect(a!.nodes()).toEqual(['b@b']);
    await s.runUntil(() => a!.nodes().length === 0 && b!.nodes().length === 0, 1000, 'both sides to see nodedown');
    for (const e of [ea, eb]) {
      expect(e).toHaveLength(1);
      expect(e[0]!.type).toBe('nodedown');
      expect(e[0]!.reason?.code).toBe('ERR_TICK_TIMEOUT');
      expect(e[0]!.at - t0).toBeGreaterThanOrEqual(750);
      expect(e[0]!.at - t0).toBeLessThanOrEqual(1000);
    }
  });

  it('a cut healed before the tick timeout loses nothing: messages sent across it arrive after the heal, in order', async () => {
    const s = sim(2);
    const [a, b] = await mesh(s, ['a@a', 'b@b']);
    const ea = events(a!);
    const r = recorder(b!, 'inbox');
    s.cut('a@a', 'b@b');
    for (const m of [1, 2, 3]) a!.send(['inbox', 'b@b'], m);
    await s.run(400);
    expect(r.got).toEqual([]);
    s.heal('a@a', 'b@b');
    await s.runUntil(() => r.got.length === 3, 100, 'the held messages');
    expect(r.got).toEqual([1, 2, 3]);
    await s.run(3000);
    expect(ea).toEqual([]);
  });

  it('a one-way cut: the side that hears nothing declares nodedown, and its close reaches the other side', async () => {
    const s = sim(3);
    const [a, b] = await mesh(s, ['a@a', 'b@b']);
    const ea = events(a!);
    const eb = events(b!);
    s.cut('a@a', 'b@b', { oneWay: true });
    await s.runUntil(() => eb.length === 1 && ea.length === 1, 1100, 'nodedown on both');
    expect(eb[0]!.reason?.code).toBe('ERR_TICK_TIMEOUT');
    // a hears b's close (b → a still works) rather than timing out itself.
    expect(ea[0]!.reason?.code).toBe('ERR_NOT_CONNECTED');
    expect(ea[0]!.at).toBeGreaterThan(eb[0]!.at);
  });

  it('after a cut ended the connection, heal lets the nodes connect again when one dials', async () => {
    const s = sim(4);
    const [a, b] = await mesh(s, ['a@a', 'b@b']);
    s.cut('a@a', 'b@b');
    await s.runUntil(() => a!.nodes().length === 0 && b!.nodes().length === 0, 1100);
    // While cut, a dial cannot get through: it fails after the handshake timeout.
    expect(await s.wait(a!.connect('b@b'))).toBe(false);
    s.heal('a@a', 'b@b');
    expect(await s.wait(a!.connect('b@b'))).toBe(true);
    expect(b!.nodes()).toEqual(['a@a']);
  });

  it('partition cuts every link between groups and none inside them; healAll heals them all', async () => {
    const s = sim(5);
    const [a, b, c] = await mesh(s, ['a@a', 'b@b', 'c@c']);
    s.partition([['a@a'], ['b@b', 'c@c']]);
    await s.runUntil(() => a!.nodes().length === 0, 1100);
    await s.run(2000);
    expect(b!.nodes()).toEqual(['c@c']);
    expect(c!.nodes()).toEqual(['b@b']);
    s.healAll();
    expect(await s.wait(a!.connect('b@b'))).toBe(true);
    await s.runUntil(() => a!.nodes().length === 2, 1000, 'a to rejoin both');
  });

  it('latency is per link: frames take at least its base', async () => {
    const s = sim(6);
    const [a, b] = await mesh(s, ['a@a', 'b@b']);
    s.setLatency('a@a', 'b@b', { base: 200, jitter: 0 });
    const r = recorder(b!, 'inbox');
    a!.send(['inbox', 'b@b'], 'hi');
    await s.run(199);
    expect(r.got).toEqual([]);
    await s.run(1);
    expect(r.got).toEqual(['hi']);
  });
});

describe('node faults', () => {
  it('a frozen node receives nothing and fires no timer until thawed; a short freeze loses nothing', async () => {
    const s = sim(7);
    const [a, b] = await mesh(s, ['a@a', 'b@b']);
    const ea = events(a!);
    const r = recorder(b!, 'inbox');
    let fired = false;
    b!.timers.schedule(100, () => (fired = true), undefined);
    s.freeze('b@b');
    a!.send(['inbox', 'b@b'], 'm1');
    a!.send(['inbox', 'b@b'], 'm2');
    await s.run(500);
    expect(r.got).toEqual([]);
    expect(fired).toBe(false);
    s.thaw('b@b');
    await s.run(0);
    expect(fired).toBe(true);
    expect(r.got).toEqual(['m1', 'm2']);
    await s.run(3000);
    expect(ea).toEqual([]);
  });

  it('a long freeze: peers declare the frozen node down within tickTime; it sees them down when thawed', async () => {
    const s = sim(8);
    const [a, b] = await mesh(s, ['a@a', 'b@b']);
    const ea = events(a!);
    const eb = events(b!);
    s.freeze('b@b');
    const t0 = s.now;
    await s.runUntil(() => ea.length === 1, 1100);
    expect(ea[0]!.reason?.code).toBe('ERR_TICK_TIMEOUT');
    expect(ea[0]!.at - t0).toBeLessThanOrEqual(1000);
    await s.run(4000);
    expect(eb).toEqual([]);
    s.thaw('b@b');
    await s.runUntil(() => eb.length === 1, 100, 'b to see a down');
    expect(b!.nodes()).toEqual([]);
  });

  it('a stalled event loop is a freeze that ends by itself, with every overdue timer firing at once', async () => {
    const s = sim(9);
    const [a, b] = await mesh(s, ['a@a', 'b@b']);
    const ea = events(a!);
    const fired: number[] = [];
    for (const ms of [100, 200, 300]) b!.timers.schedule(ms, () => fired.push(b!.clock.now()), undefined);
    const t0 = s.now;
    s.stall('b@b', 2000);
    expect(s.isFrozen('b@b')).toBe(true);
    await s.run(2500);
    expect(s.isFrozen('b@b')).toBe(false);
    expect(fired).toEqual([t0 + 2000, t0 + 2000, t0 + 2000]);
    expect(ea[0]).toMatchObject({ type: 'nodedown', reason: { code: 'ERR_TICK_TIMEOUT' } });
  });

  it('a crash resets its connections: peers see nodedown after one trip, and its address refuses dials', async () => {
    const s = sim(10);
    const [a, b] = await mesh(s, ['a@a', 'b@b']);
    const ea = events(a!);
    const t0 = s.now;
    s.crash('b@b');
    expect(s.isUp('b@b')).toBe(false);
    expect(b!.stopped).toBe(false); // dropped, not stopped: no stop hook ran
    await s.runUntil(() => ea.length === 1, 100);
    expect(ea[0]!.reason?.code).toBe('ERR_NOT_CONNECTED');
    expect(ea[0]!.at - t0).toBeLessThanOrEqual(2);
    expect(await s.wait(a!.connect('b@b'))).toBe(false);
    expect(s.log.some((l) => /refused a@a#1 -> b:4371/.test(l))).toBe(true);
  });

  it('a crash behind a cut is not seen until the tick timeout', async () => {
    const s = sim(11);
    const [a] = await mesh(s, ['a@a', 'b@b']);
    const ea = events(a!);
    s.cut('a@a', 'b@b');
    const t0 = s.now;
    s.crash('b@b');
    await s.runUntil(() => ea.length === 1, 1100);
    expect(ea[0]!.reason?.code).toBe('ERR_TICK_TIMEOUT');
    expect(ea[0]!.at - t0).toBeGreaterThanOrEqual(750);
  });

  it('a restarted node has a new creation, the same address, and reconnects when dialled', async () => {
    const s = sim(12);
    const [a, b] = await mesh(s, ['a@a', 'b@b']);
    const old = b!.creation;
    s.crash('b@b');
    await s.runUntil(() => a!.nodes().length === 0, 100);
    const b2 = await s.restart('b@b');
    expect(b2).not.toBe(b);
    expect(b2.creation).not.toBe(old);
    expect(b2.url).toBe(s.addressOf('b@b'));
    expect(await s.wait(a!.connect('b@b'))).toBe(true);
    expect(a!.net.creationOf('b@b')).toBe(b2.creation);
    expect(b2.nodes()).toEqual(['a@a']);
  });

  it('a late seed: a node started before its seed joins it by itself once the seed comes up', async () => {
    const s = sim(13);
    const b = await s.startNode({ name: 'b@b', tickTime: 1000, seeds: ['a@a'] });
    await s.run(5000);
    expect(b.nodes()).toEqual([]);
    const a = await s.startNode({ name: 'a@a', tickTime: 1000 });
    const t0 = s.now;
    // b keeps redialling its seed with a back-off capped at 2000 ms (±25 %).
    await s.runUntil(() => a.nodes().length === 1 && b.nodes().length === 1, 2600, 'b to join its late seed');
    expect(s.now - t0).toBeLessThanOrEqual(2500);
    expect(a.nodes()).toEqual(['b@b']);
  });
});

describe('reconnect for life', () => {
  it('a two-way cut that ended the connections re-forms the full mesh by itself within 2 × the back-off cap of the heal', async () => {
    const s = sim(21);
    const [a, b, c] = await mesh(s, ['a@a', 'b@b', 'c@c']);
    s.cut('a@a', 'b@b');
    await s.runUntil(() => !a!.net.isConnected('b@b') && !b!.net.isConnected('a@a'), 1100, 'the cut to end a–b');
    // Global's prevention of overlapping partitions may drop more links; wait well past it.
    await s.run(10_000);
    expect(a!.net.isConnected('b@b')).toBe(false);
    s.heal('a@a', 'b@b');
    const t0 = s.now;
    await s.runUntil(() => [a, b, c].every((n) => n!.nodes().length === 2), 4000, 'the full mesh after the heal');
    expect(s.now - t0).toBeLessThanOrEqual(4000);
  });

  it('a node frozen past the tick timeout rejoins every peer by itself once thawed', async () => {
    const s = sim(22);
    const [a, b, c] = await mesh(s, ['a@a', 'b@b', 'c@c']);
    s.freeze('c@c');
    await s.runUntil(() => a!.nodes().length === 1 && b!.nodes().length === 1, 1100, 'the peers to see c down');
    await s.run(8000);
    s.thaw('c@c');
    await s.runUntil(() => [a, b, c].every((n) => n!.nodes().length === 2), 4000, 'c to rejoin');
  });

  it('a crashed node that restarts is redialled by its peers and rejoins the full mesh with its new creation', async () => {
    const s = sim(23);
    const [a, b] = await mesh(s, ['a@a', 'b@b', 'c@c']);
    s.crash('c@c');
    await s.runUntil(() => a!.nodes().length === 1 && b!.nodes().length === 1, 100);
    await s.run(6000);
    const c2 = await s.restart('c@c');
    await s.runUntil(() => [a!, b!, c2].every((n) => n.nodes().length === 2), 4000, 'the restarted c to rejoin');
    expect(a!.net.creationOf('c@c')).toBe(c2.creation);
    expect(b!.net.creationOf('c@c')).toBe(c2.creation);
  });

  it('a forgotten node is not redialled, and stop leaves no redial timer behind', async () => {
    const s = sim(24);
    const [a, b] = await mesh(s, ['a@a', 'b@b']);
    expect(a!.net.knownNodes()).toEqual(['b@b']);
    s.crash('b@b');
    await s.runUntil(() => a!.nodes().length === 0, 100);
    await s.run(1000);
    // Until forgotten, a keeps dialling b's address (refused while b is down).
    expect(s.log.filter((l) => /refused a@a#\d+ -> b:/.test(l)).length).toBeGreaterThan(0);
    expect(a!.net.internalSizes().redials).toBe(1);
    expect(a!.net.forget('b@b')).toBe(true);
    expect(a!.net.internalSizes().redials).toBe(0);
    const from = s.log.length;
    await s.run(10_000);
    // No dial of a's reached b's (dead) address after the forget.
    expect(s.log.slice(from).filter((l) => /refused a@a#\d+ -> b:/.test(l))).toEqual([]);
    expect(a!.net.addressOf('b@b')).toBeUndefined();
    await a!.stop();
    expect(a!.timers.size).toBe(0);
    void b;
  });

  it('a hidden node does not redial the peers it only learnt from others', async () => {
    const s = sim(25);
    await mesh(s, ['a@a', 'b@b']);
    const t = await s.startNode({ name: 't@t', tickTime: 1000, hidden: true, seeds: ['a@a'] });
    await s.runUntil(() => t.net.isConnected('a@a'), 1000);
    // b dials the tool: t did not dial b itself, so it will not redial b; nor does b redial a tool.
    const b = s.node('b@b');
    b.net.addAddress('t@t', s.addressOf('t@t'));
    expect(await s.wait(b.connect('t@t'))).toBe(true);
    expect(t.net.knownNodes()).toEqual(['a@a']);
    expect(b.net.knownNodes()).toEqual(['a@a']);
    b.disconnect('t@t');
    await s.run(5000);
    expect(t.net.isConnected('b@b')).toBe(false);
    expect(t.net.isConnected('a@a')).toBe(true);
  });
});

describe('the driver', () => {
  it('one driving call at a time, and clear errors for unknown nodes and bad arguments', async () => {
    const s = sim(14);
    await mesh(s, ['a@a', 'b@b']);
    const running = s.run(100);
    await expect(s.run(1)).rejects.toMatchObject({ code: 'ERR_SIM_BUSY' });
    await running;
    expect(() => s.cut('a@a', 'zz@zz')).toThrow(expect.objectContaining({ code: 'ERR_SIM_UNKNOWN_NODE' }));
    expect(() => s.stall('a@a', -1)).toThrow(expect.objectContaining({ code: 'ERR_SIM_BAD_ARG' }));
    await expect(s.runUntil(() => false, 100)).rejects.toMatchObject({ code: 'ERR_SIM_TIMEOUT' });
    await expect(s.startNode({ name: 'a@a' })).rejects.toMatchObject({ code: 'ERR_SIM_NODE_UP' });
    s.crash('b@b');
    expect(() => s.node('b@b')).toThrow(expect.objectContaining({ code: 'ERR_SIM_NODE_DOWN' }));
    expect(s.errors).toEqual([]);
  });
});
