import { genServer, Node, type Process, type GenServerBehaviour } from '@rigil/core';
const which = process.argv[2];
const N = 1_000_000;
const idle: GenServerBehaviour<null, undefined> = { init: () => ({ ok: null }) };
const node = new Node({ name: 'bench@local' });
const t0 = performance.now();
if (which === 'fn') {
  let started = 0; let res!: () => void; const all = new Promise<void>((r) => (res = r));
  const body = async (self: Process) => { if (++started === N) res(); await self.receive(); };
  for (let i = 0; i < N; i++) node.spawn(body);
  await all;
} else {
  for (let i = 0; i < N; i += 10000) { const b = []; for (let j = 0; j < 10000; j++) b.push(genServer.start(node, idle, undefined)); await Promise.all(b); }
}
console.log(which, (N / (performance.now() - t0) * 1000).toFixed(0), '/s');
await node.stop();
