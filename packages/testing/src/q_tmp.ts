import { explore } from './explorer.js';
await explore({ seed: 1, nodes: 5, faults: 20, workload: 'global', invariants: ['I3-names','I4'], checkpointEvery: 10, shrink: false });
const e0 = performance.eventLoopUtilization();
const t0 = performance.now();
await explore({ seed: 1, nodes: 5, faults: 300, workload: 'global', invariants: ['I3-names','I4'], checkpointEvery: 10, shrink: false });
console.log(performance.now() - t0, performance.eventLoopUtilization(e0));
console.log(process.getActiveResourcesInfo());
