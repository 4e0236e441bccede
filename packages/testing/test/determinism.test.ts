/**
 * Same seed, same run, bit for bit: a scenario with a mesh, global registrations, messages, a
 * cut and heal, a crash and restart produces the identical event log twice; another seed does not.
 */
import { describe, expect, it } from 'vitest';
import { Simulation } from '../src/index.js';
import { mesh, recorder } from './helpers.js';

/** The scenario; returns the event log and what the nodes ended up agreeing on. */
async function scenario(seed: number): Promise<{ log: string; names: string[][]; inbox: unknown[] }> {
  const sim = new Simulation({ seed, frameDigests: true });
  try {
    const [a, b, c] = await mesh(sim, ['a@a', 'b@b', 'c@c']);
    const ra = recorder(a!, 'inbox');
    const rc = recorder(c!, 'inbox');
    expect(await sim.wait(a!.global.register('ra', ra.pid))).toBe('yes');
    expect(await sim.wait(c!.global.register('rc', rc.pid))).toBe('yes');
    for (let i = 0; i < 20; i++) {
      b!.send(['inbox', 'a@a'], { i });
      c!.global.send('ra', { from: 'c', i });
    }
    await sim.run(200);
    sim.cut('a@a', 'b@b');
    a!.send(['inbox', 'c@c'], 'during the cut');
    await sim.run(1500);
    sim.heal('a@a', 'b@b');
    await sim.wait(a!.connect('b@b'));
    sim.crash('c@c');
    await sim.run(500);
    const c2 = await sim.restart('c@c');
    await sim.wait(c2.connect('a@a'));
    await sim.runUntil(() => [a!, b!, c2].every((n) => n.nodes().length === 2), 5000, 'the mesh again');
    await sim.run(2000);
    const names = [a!, b!, c2].map((n) => n.global.registeredNames().sort());
    await sim.stop();
    expect(sim.errors).toEqual([]);
    return { log: sim.log.join('\n'), names, inbox: ra.got };
  } finally {
    await sim.stop();
  }
}

describe('determinism', () => {
  it('two runs of one seed produce identical event logs, bit for bit; another seed produces a different one', async () => {
    const one = await scenario(42);
    const two = await scenario(42);
    expect(one.log.length).toBeGreaterThan(1000);
    expect(two.log).toBe(one.log);
    expect(two.inbox).toEqual(one.inbox);
    // The run did what it says: names survived on every node, except the crashed node's.
    expect(one.names).toEqual([['ra'], ['ra'], ['ra']]);
    expect(one.inbox).toHaveLength(40);
    const other = await scenario(43);
    expect(other.log).not.toBe(one.log);
  });
});
