/**
 * The centauri application (toliman's `centauri_app` and `centauri_sup`): runs on every node.
 * Its start first starts proxima with `application.start` — on the best node of proxima's list
 * this is what starts it, or takes it over from a worse node — and then its own tree.
 */
import { formatReason, supervisor, type ApplicationSpec, type SupervisorBehaviour } from '@rigil/core';
import { centauriServer } from './centauri.js';

/** centauri_sup: one_for_all, intensity 0. */
export const centauriSup: SupervisorBehaviour = {
  init: () => ({
    flags: { strategy: 'one_for_all', intensity: 0, period: 1 },
    children: [supervisor.worker('centauri', centauriServer, undefined, { name: 'centauri', restart: 'permanent', shutdown: 5000 })],
  }),
};

/** The centauri application spec. */
export const centauri: ApplicationSpec = {
  name: 'centauri',
  version: '0.1.0',
  description: 'says hello to proxima from every node',
  mod: {
    async start(_type, _args, self) {
      const r = await self.node.application.start('proxima');
      if (r !== 'ok') {
        const alreadyStarted = typeof r.error === 'object' && r.error !== null && 'alreadyStarted' in r.error;
        if (!alreadyStarted) return { error: { proximaDidNotStart: formatReason(r.error) } };
      }
      return (await supervisor.startLink(self, centauriSup, undefined, { name: 'centauri_sup' }));
    },
  },
};
