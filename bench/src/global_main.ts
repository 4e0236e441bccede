/**
 * Prints the `global` workloads (bench/src/global_workloads.ts):
 *
 *   node --import tsx bench/src/global_main.ts
 */
import { runGlobalWorkloads } from './global_workloads.js';

const results = await runGlobalWorkloads();
for (const [name, r] of Object.entries(results)) {
  const value = r.unit === 'ns' ? r.rigil.toFixed(1) : r.rigil.toFixed(4);
  console.log(`${name.padEnd(16)} ${value.padStart(10)} ${r.unit.padEnd(3)} target ${r.target.padEnd(9)} ${r.met ? 'met' : 'MISSED'}`);
}
console.log(JSON.stringify(results));
