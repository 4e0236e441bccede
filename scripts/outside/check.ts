// Compiled by scripts/outside-check.sh with tsc (strict, NodeNext, exactOptionalPropertyTypes,
// noPropertyAccessFromIndexSignature, no skipLibCheck) in a fresh project outside the
// repository, against the published .d.ts of every package, then run with node.
import assert from 'node:assert/strict';
import { Node, genServer, supervisor, type ApplicationSpec, type GenServerBehaviour, type Pid } from '@rigil/core';
import { DistNode, type DistNodeOptions } from '@rigil/net';
import { startDistAc, type KernelConfig } from '@rigil/dist-ac';
import * as testing from '@rigil/testing';
import { CliError, EXIT, type NodeConfig } from 'rigil';

type Counter = { call: 'get'; reply: number; cast: 'inc' };
const counter: GenServerBehaviour<number, number, Counter> = {
  init: (start) => ({ ok: start }),
  handleCall: (_req, _from, n) => ({ reply: n, state: n }),
  handleCast: (_msg, n) => ({ noreply: n + 1 }),
};

const shop: ApplicationSpec = {
  name: 'shop',
  env: { start: 0 },
  mod: {
    start: (_type, _args, self) =>
      supervisor.startLink(self, {
        init: () => ({
          flags: { strategy: 'one_for_one', intensity: 3, period: 5 },
          children: [supervisor.worker('counter', counter, 0, { name: 'counter' })],
        }),
      }, undefined),
  },
};

const node = new Node({ name: 'shop@localhost' });
await node.application.start(shop);
genServer.cast(node, 'counter', 'inc');
assert.equal(await genServer.call(node, 'counter', 'get'), 1);
await node.stop();

const options: DistNodeOptions = { name: 'c@127.0.0.1', cookie: 'outside-check-cookie-0123456789', port: 0 };
const dist = await DistNode.start(options);
const kernel: KernelConfig = {};
void kernel;
void startDistAc;
const pid: Pid = dist.spawn(async (self) => void (await self.receive()));
assert.equal(pid.node, dist.name);
await dist.stop();

const config: Partial<NodeConfig> = {};
void config;
assert.equal(new CliError('ERR_TSX_MISSING', 'x').exitCode, EXIT.USAGE);
assert.equal(typeof testing, 'object');
console.log(`check.ts ok (node ${process.version})`);
