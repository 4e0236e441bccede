/** The application this guide deploys: a singleton that logs where it runs and when it stops. */
import { supervisor, type ApplicationSpec, type GenServerBehaviour } from '@rigil/core';

const heartbeat: GenServerBehaviour<number, undefined> = {
  init: () => ({ ok: 0, timeout: 1000 }),
  handleInfo: (msg, beats) => (msg === 'timeout' ? { noreply: beats + 1, timeout: 1000 } : { noreply: beats }),
};

export const singleton: ApplicationSpec = {
  name: 'singleton',
  startPhases: [], // with start phases declared, a failover start says from which node
  mod: {
    async start(type, _args, self) {
      const r = await supervisor.startLink(self, {
        init: () => ({
          flags: { strategy: 'one_for_one', intensity: 3, period: 5 },
          children: [supervisor.worker('heartbeat', heartbeat, undefined, { name: 'heartbeat' })],
        }),
      }, undefined);
      // The node logs to stderr; so do we.
      console.error(`[singleton] running on ${self.node.name}, start type ${JSON.stringify(type)}`);
      return typeof r === 'object' && 'ok' in r ? { ok: r.ok, state: self.node.name } : r;
    },
    prepStop(node) {
      console.error(`[singleton] stopping on ${String(node)}`); // flush, hand off, close files here
      return node;
    },
  },
};
