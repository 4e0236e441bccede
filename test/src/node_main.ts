/**
 * A distributed node as its own OS process, for the multi-process tests (test/src/os_cluster.ts).
 *
 *   node --import tsx test/src/node_main.ts --name a@127.0.0.1 --cookie c [--port 0]
 *        [--seed b@127.0.0.1:1234 ...] [--tick-time 10000] [--faulty]
 *        [--reconnect-base-ms 100] [--reconnect-max-ms 2000]
 *
 * `--faulty` wraps its transport in `FaultyTransport` (`@rigil/net/testing`), so the parent can
 * cut and heal its links through the command channel below.
 *
 * It starts a DistNode, registers
 * - `echo`: a gen_server that replies with what it is called with; `{ hold: true }` is never
 *   answered (a call left pending), `{ whereis: name }` answers the pid registered as `name`;
 * - `idle`: a registered process that only waits (a target for remote links and monitors),
 *   spawned at the same point of every start, so each incarnation gives it the same pid id;
 * - rpc procedure `os.pid` (the OS pid), spawnable function `idle` (a process that waits) and
 *   `ticker(to, everyMs)` (sends `{ tick: n }` to `to` every `everyMs` until sent `'stop'`),
 * then prints one line `{"ready":true,"name":…,"port":…,"creation":…,"pid":…,"nodes":[…]}` on stdout.
 *
 * From its start it prints one line per node event of a visible node,
 * `{"event":"nodeup"|"nodedown","node":…}`, and
 * runs the commands the parent writes on stdin, one JSON object a line, each answered by a line
 * `{"reply":id,…}` (`ChildCommand`, in child_commands.ts): `status` (its `nodes()`, known nodes and net stats),
 * `block`/`unblock` a peer (`--faulty` only; `silent` stalls the link instead of closing it).
 *
 * It stops gracefully on SIGTERM or SIGINT, and exits when stdin reaches its end: the parent
 * holds the other end of that pipe, so a child never outlives the test run that started it.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { genServer, type GenServerBehaviour, type Pid, type Process } from '@rigil/core';
import { DistNode } from '@rigil/net';
import { FaultyTransport } from '@rigil/net/testing';
import { runChildCommand as run, type ChildCommand } from './child_commands.js';

export type { ChildCommand, ChildStatus } from './child_commands.js';

/** Longest command line read; longer ones are refused (the parent never writes one). */
const MAX_COMMAND = 4096;

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
      faulty: { type: 'boolean', default: false },
      'reconnect-base-ms': { type: 'string' },
      'reconnect-max-ms': { type: 'string' },
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
    ...(values.faulty ? { transport: new FaultyTransport() } : {}),
    reconnect: {
      ...(values['reconnect-base-ms'] !== undefined ? { baseMs: Number(values['reconnect-base-ms']) } : {}),
      ...(values['reconnect-max-ms'] !== undefined ? { maxMs: Number(values['reconnect-max-ms']) } : {}),
    },
  });
  const print = (v: unknown): void => void process.stdout.write(JSON.stringify(v) + '\n');
  // At once, before anything awaits: the seeds are being dialled already.
  node.onNodeEvent((e) => {
    // Not `nodes()` here: a nodeup subscriber runs before the new connection counts as up.
    if (!e.hidden) print({ event: e.type, node: e.node });
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

  print({ ready: true, name: node.name, port: node.port, creation: node.creation, pid: process.pid, nodes: node.nodes() });
  createInterface({ input: process.stdin }).on('line', (line) => {
    let id: unknown;
    try {
      if (line.length > MAX_COMMAND) throw new Error(`command line of ${line.length} characters`);
      const c = JSON.parse(line) as ChildCommand & { id: unknown };
      id = c.id;
      print({ reply: id, ...run(node, c) });
    } catch (e) {
      print({ reply: id ?? null, error: e instanceof Error ? e.message : String(e) });
    }
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`node_main: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
