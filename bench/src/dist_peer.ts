/**
 * The other OS process of the distribution benchmark (bench/src/dist.ts starts it):
 * - a rigil node (`--name`, `--cookie`) with three servers: `sink` (counts messages; after
 *   `{ expect: n, notify: pid }` it sends `'done'` to `pid` once n more have arrived), `pong`
 *   (answers `{ ping: x, from: pid }` with `{ pong: x }`) and `srv` (a gen_server that replies
 *   with the request; `{ whereis: name }` replies with that process's pid);
 * - the raw baseline's server (bench/src/dist_raw.ts) on its own port.
 * With `--unix-sockets DIR` the node also listens on its Unix-domain socket there.
 *
 * Prints `{"ready":true,"rigilPort":…,"rawPort":…}` on stdout, then serves control
 * requests (one JSON object per line on stdin, answered on stdout with the same `id`):
 * `{ id, cmd: 'isConnected', node }` answers `{ id, connected }`.
 * Exits when stdin ends, or on SIGTERM/SIGINT.
 */
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { genServer, type GenServerBehaviour, type Pid } from '@rigil/core';
import { DistNode } from '@rigil/net';
import { WebSocketServer } from 'ws';
import { rawAccept, RawOp } from './dist_raw.js';

type SinkState = { n: number; expect: number; notify: Pid | null };

const sink: GenServerBehaviour<SinkState, undefined> = {
  init: () => ({ ok: { n: 0, expect: -1, notify: null } }),
  handleInfo: (m, s, self) => {
    if (typeof m === 'object' && m !== null && 'expect' in m) {
      const e = m as { expect: number; notify: Pid };
      s.n = 0;
      s.expect = e.expect;
      s.notify = e.notify;
    } else if (++s.n === s.expect) self.send(s.notify!, 'done');
    return { noreply: s };
  },
};

const pong: GenServerBehaviour<null, undefined> = {
  init: () => ({ ok: null }),
  handleInfo: (m, s, self) => {
    const p = m as { ping: unknown; from: Pid };
    self.send(p.from, { pong: p.ping });
    return { noreply: s };
  },
};

const srv: GenServerBehaviour<null, undefined> = {
  init: () => ({ ok: null }),
  handleCall: (req, _from, s, self) => {
    if (typeof req === 'object' && req !== null && 'whereis' in req) return { reply: self.node.whereis((req as { whereis: string }).whereis) ?? null, state: s };
    return { reply: req, state: s };
  },
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { name: { type: 'string' }, cookie: { type: 'string' }, 'unix-sockets': { type: 'string' } } });
  const dbg = process.env.BENCH_DIST_DEBUG !== undefined; // log the peer's node events and reports
  if (values.name === undefined || values.cookie === undefined) throw new Error('--name and --cookie are required');
  const uds = values['unix-sockets'];
  const node = await DistNode.start({ name: values.name, cookie: values.cookie, port: 0, ...(uds !== undefined ? { unixSockets: uds } : {}) });
  if (dbg) node.onNodeEvent((e) => process.stderr.write(`peer: ${e.type} ${e.node} ${String(e.reason?.message)}\n`));
  if (dbg) node.onReport((r) => process.stderr.write(`peer report: ${r.message}\n`));
  for (const [name, b] of [['sink', sink], ['pong', pong], ['srv', srv]] as const) {
    const r = await genServer.start(node, b, undefined, { name });
    if (r === 'ignore' || !('ok' in r)) throw new Error(`${name} did not start`);
  }

  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  wss.on('connection', (ws) =>
    rawAccept(ws, (conn) => {
      let n = 0;
      let expect = -1;
      conn.onMessage = (m) => {
        switch (m[0]) {
          case RawOp.SINK:
            if (++n === expect) conn.send([RawOp.DONE]);
            break;
          case RawOp.EXPECT:
            n = 0;
            expect = m[1] as number;
            break;
          case RawOp.PING:
            conn.send([RawOp.PONG, m[1]]);
            break;
          case RawOp.CALL:
            conn.send([RawOp.REPLY, m[1], m[2]]);
            break;
        }
      };
    }),
  );

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), 3000).unref();
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    node.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const lines = createInterface({ input: process.stdin });
  lines.on('close', stop);
  lines.on('line', (line) => {
    const req = JSON.parse(line) as { id: number; cmd: string; node?: string };
    if (req.cmd === 'isConnected') process.stdout.write(JSON.stringify({ id: req.id, connected: node.net.isConnected(req.node!) }) + '\n');
    else process.stdout.write(JSON.stringify({ id: req.id, error: `unknown command ${req.cmd}` }) + '\n');
  });

  const rawPort = (wss.address() as AddressInfo).port;
  process.stdout.write(JSON.stringify({ ready: true, rigilPort: node.port, rawPort, pid: process.pid }) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`dist_peer: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
