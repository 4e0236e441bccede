// The README's 30-line example, kept here so that CI typechecks and lints it.
import { Node, genServer, supervisor, type ApplicationSpec, type GenServerBehaviour } from '@rigil/core';

type Counter = { call: 'get'; reply: number; cast: 'inc' };
const counter: GenServerBehaviour<number, number, Counter> = {
  init: (start) => ({ ok: start }),
  handleCall: (_req, _from, n) => ({ reply: n, state: n }),
  handleCast: (_msg, n) => ({ noreply: n + 1 }),
};

const shop: ApplicationSpec = {
  name: 'shop',
  env: { start: 0 },
  startPhases: [{ name: 'warm' }],
  mod: {
    start: (_type, _args, self) =>
      supervisor.startLink(self, {
        init: () => ({
          flags: { strategy: 'one_for_one', intensity: 3, period: 5 },
          children: [supervisor.worker('counter', counter, 0, { name: 'counter' })],
        }),
      }, undefined),
    startPhase: () => 'ok',
  },
};

const node = new Node({ name: 'shop@localhost' });
await node.application.start(shop);           // loads it, runs start and the phases
genServer.cast(node, 'counter', 'inc');
console.log(await genServer.call(node, 'counter', 'get')); // 1 — a crash would be restarted
await node.stop();                             // applications stop in reverse order
