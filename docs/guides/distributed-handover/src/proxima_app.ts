/** The proxima application: distributed (runs on one node), hands its state over on takeover. */
// #region app
import { supervisor, type ApplicationSpec, type SupervisorBehaviour } from '@rigil/core';
import { distAcResolver } from '@rigil/dist-ac';
import { globalOf } from '@rigil/net';
import { fetchStateFrom, proximaServer } from './proxima.js';

const proximaSup: SupervisorBehaviour = {
  init: () => ({
    flags: { strategy: 'one_for_all', intensity: 0, period: 1 },
    children: [supervisor.worker('proxima', proximaServer, undefined, { name: 'proxima' })],
  }),
};

export const proxima: ApplicationSpec = {
  name: 'proxima',
  version: '1.0.0',
  // Start phases run after `start`, in order. On a takeover they run while the old instance
  // still runs on the other node: the moment to fetch its state.
  startPhases: [{ name: 'go' }],
  mod: {
    start: (_type, _args, self) => supervisor.startLink(self, proximaSup, undefined, { name: 'proxima_sup' }),
    async startPhase(_phase, type, _args, self) {
      const pid = self.node.whereis('proxima');
      if (pid === undefined) return { error: 'no local proxima' };
      // Point the cluster-wide name at this instance (reRegister moves it from the old one).
      // distAcResolver: should two instances ever hold the name after a partition heals, keep
      // the one dist-ac keeps.
      if ((await globalOf(self).reRegister('proxima', pid, distAcResolver('proxima'))) !== 'yes') return { error: 'global registration failed' };
      if (typeof type === 'object' && 'takeover' in type) {
        const r = await fetchStateFrom(self, type.takeover); // type.takeover: the old node
        if (r !== 'ok') return { error: { fetchState: r } };
      }
      return 'ok';
    },
  },
};
// #endregion app
