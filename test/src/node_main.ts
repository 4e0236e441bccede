/**
 * A distributed node as its own OS process, for the multi-process tests (test/src/os_cluster.ts).
 *
 *   node --import tsx test/src/node_main.ts --name a@127.0.0.1 --cookie c [--port 0]
 *        [--seed b@127.0.0.1:1234 ...] [--tick-time 10000]
 *
 * It starts a DistNode, registers
 * - `echo`: a gen_server that replies with what it is called with; `{ hold: true }` is never
 *   answered (a call left pending), `{ whereis: name }` answers the pid registered as `name`;
 * - `idle`: a registered process that only waits (a target for remote links and monitors),
 *   spawned at the same point of every start, so each incarnation gives it the same pid id;
 * - rpc procedure `os.pid` (the OS pid), spawnable function `idle` (a process that waits) and
 *   `ticker(to, everyMs)` (sends `{ tick: n }` to `to` every `everyMs` until sent `'stop'`),
 * then prints one line `{"ready":true,"name":…,"port":…,"creation":…,"pid":…}` on stdout.
 *
 * It stops gracefully on SIGTERM or SIGINT, and exits when stdin reaches its end: the parent
 * holds the other end of that pipe, so a child never outlives the test run that started it.
 */
import { parseArgs } from 'node:util';
import { genServer, type GenServerBehaviour, type Pid, type Process } from '@rigil/core';
import { DistNode } from '@rigil/net';

/** What the echo server is called with. */
export type EchoRequest = { hold: true } | { whereis: string } | { echo: unknown };

const echoServer: GenServerBehaviour<null, undefined, { call: EchoRequest; reply: unknown }> = {
  init: () => ({ ok: null }),
  handleCall: (req, _from, state, self) => {
    if (typeof req === 'object' && req !== null) {
      if ('hold' in req) return { noreply: state };
      if ('whereis' in req) return { reply: self.node.whereis(req.whereis) ?? null, state };
      if ('echo' in req) return { reply: req.echo, state };
    }
    return { reply: req, state };
  },
};

/** A process that waits until it is told to stop (or killed). */
async function idle(self: Process): Promise<void> {
  await self.receive((m) => m === 'stop');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      name: { type: 'string' },
      cookie: { type: 'string' },
      port: { type: 'string', default: '0' },
      seed: { type: 'string', multiple: true, default: [] },
      'tick-time': { type: 'string' },
    },
    strict: true,
  });
  if (values.name === undefined || values.cookie === undefined) throw new Error('--name and --cookie are required');
  const node = await DistNode.start({
    name: values.name,
    cookie: values.cookie,
    port: Number(values.port),
    seeds: values.seed,
    ...(values['tick-time'] !== undefined ? { tickTime: Number(values['tick-time']) } : {}),
  });

  const started = await genServer.start(node, echoServer, undefined, { name: 'echo' });
  if (started === 'ignore' || !('ok' in started)) throw new Error(`echo server did not start: ${JSON.stringify(started)}`);
  node.register('idle', node.spawn(idle));
  node.rpc.register('os.pid', () => process.pid);
  node.rpc.registerFunction('idle', (self) => idle(self));
  // `ticker(to, everyMs)`: sends `{ tick: n }` to `to` every `everyMs` (a peer that keeps talking
  // while the test process stalls its own event loop).
  node.rpc.registerFunction('ticker', async (self, to, everyMs) => {
    for (let n = 0; ; n++) {
      self.send(to as Pid, { tick: n });
      if ((await self.receive((m) => m === 'stop', everyMs as number)) === 'stop') return;
    }
  });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    const hardStop = setTimeout(() => process.exit(1), 5000);
    hardStop.unref();
    node.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();

  process.stdout.write(JSON.stringify({ ready: true, name: node.name, port: node.port, creation: node.creation, pid: process.pid }) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`node_main: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
