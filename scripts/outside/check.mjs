// Run by scripts/outside-check.sh with plain `node`, in a fresh project outside the repository
// that installed the packed tarballs with npm: the compiled packages load and work.
import assert from 'node:assert/strict';
import { Node, genServer, supervisor } from '@rigil/core';
import { DistNode } from '@rigil/net';

// A local supervision tree: a gen_server under a supervisor, restarted after a crash.
const local = new Node({ name: 'local@localhost' });
const counter = {
  init: (start) => ({ ok: start }),
  handleCall: (_req, _from, n) => ({ reply: n, state: n }),
  handleCast: (_msg, n) => ({ noreply: n + 1 }),
};
await supervisor.start(local, {
  init: () => ({ flags: { strategy: 'one_for_one', intensity: 3, period: 5 }, children: [supervisor.worker('counter', counter, 0, { name: 'counter' })] }),
}, undefined);
genServer.cast(local, 'counter', 'inc');
assert.equal(await genServer.call(local, 'counter', 'get'), 1);
await local.stop();

// Two nodes over WebSocket: a gen_server call by name across them.
const cookie = 'outside-check-cookie-0123456789';
const a = await DistNode.start({ name: 'a@127.0.0.1', cookie, port: 0 });
const b = await DistNode.start({ name: 'b@127.0.0.1', cookie, port: 0, seeds: [`a@127.0.0.1:${a.port}`] });
await genServer.start(a, { init: () => ({ ok: 0 }), handleCall: (req, _from, n) => ({ reply: { echo: req, calls: n + 1 }, state: n + 1 }) }, undefined, { name: 'echo' });
assert.equal(await b.connect('a@127.0.0.1'), true);
assert.deepEqual(await genServer.call(b, ['echo', a.name], 'hello'), { echo: 'hello', calls: 1 });
await b.stop();
await a.stop();
console.log(`check.mjs ok (node ${process.version})`);
