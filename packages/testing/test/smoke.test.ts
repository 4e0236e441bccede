import { describe, expect, it } from 'vitest';
import { Simulation } from '../src/index.js';

describe('smoke', () => {
  it('two nodes connect', async () => {
    const sim = new Simulation({ seed: 1 });
    const a = await sim.startNode({ name: 'a@a', tickTime: 1000 });
    const b = await sim.startNode({ name: 'b@b', tickTime: 1000, seeds: ['a@a'] });
    const took = await sim.runUntil(() => a.nodes().includes('b@b') && b.nodes().includes('a@a'), 1000);
    console.log('took', took, sim.log.slice(0, 30).join('\n'));
    const t0 = performance.now();
    await sim.run(60_000);
    console.log('60s virtual in', performance.now() - t0, 'ms; log', sim.log.length);
    await sim.stop();
  });
});
