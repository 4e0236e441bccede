/**
 * Two nodes in two terminals (README): run
 *   npx tsx examples/demo/src/two_terminals.ts a 9201
 *   npx tsx examples/demo/src/two_terminals.ts b 9202 a@127.0.0.1:9201
 * The first node serves an `echo` gen_server; the second finds it, then sends, links,
 * monitors and calls across, printing each step, and exits (the first keeps serving until
 * Ctrl-C).
 */
import { genServer, isDown, isExit, type Pid } from '@rigil/core';
import { DistNode } from '@rigil/net';

const [short = 'a', port = '9201', peer] = process.argv.slice(2);
const node = await DistNode.start({ name: `${short}@127.0.0.1`, cookie: 'two-terminals', port: Number(port), ...(peer ? { seeds: [peer] } : {}) });
await genServer.start(node, { init: () => ({ ok: 0 }), handleCall: (req: unknown, _from: unknown, n: number) => ({ reply: { echo: req, from: node.name, calls: n + 1 }, state: n + 1 }) }, undefined, { name: 'echo' });
console.log(`${node.name} listening on ${node.url}`);

if (peer === undefined) {
  console.log('waiting for the other node (Ctrl-C to stop)');
  process.once('SIGINT', () => void node.stop());
  await node.whenStopped();
} else {
  const other = peer.slice(0, peer.lastIndexOf(':'));
  console.log(`connect ${other}:`, await node.connect(other));
  console.log('call:', await genServer.call(node, ['echo', other], 'hello'));
  await new Promise<void>((done) => {
    node.spawn(async (self) => {
      self.trapExit(true);
      const reply = (await genServer.call(self, ['echo', other], 'who are you')) as { from: string };
      console.log('call from a process:', reply);
      const remote = (await node.rpc.call(other, 'whereis', ['echo'])) as Pid;
      const ref = self.monitor(remote);
      self.link(remote);
      console.log(`monitoring and linked to ${String(remote)} on ${remote.node}`);
      self.send(remote, 'a plain message (handled by handleInfo)');
      self.exit(remote, 'bye'); // an exit signal across nodes: the echo server dies with 'bye'
      const down = await self.receive((m) => isDown(m, ref), 5000);
      const exit = await self.receive((m) => isExit(m), 5000);
      console.log('DOWN:', isDown(down) ? down.reason : down, '| EXIT:', isExit(exit) ? exit.reason : exit);
      done();
    });
  });
  await node.stop();
}
