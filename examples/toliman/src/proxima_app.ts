/**
 * The proxima application (toliman's `proxima_app` and `proxima_sup`): distributed, with start
 * phases `init`, `takeover`, `go`. In `go` it registers its server globally as `proxima` (with
 * dist-ac's resolver, see @rigil/dist-ac's README "Partitions") and,
 * when started as a takeover, fetches the old instance's state — while the old instance still
 * runs, which is what the start phases of a takeover are for.
 */
import { supervisor, type ApplicationSpec, type StartType, type SupervisorBehaviour } from '@rigil/core';
import { distAcResolver } from '@rigil/dist-ac';
import { globalOf } from '@rigil/net';
import { fetchState, proximaServer } from './proxima.js';

/** proxima_sup: one_for_all, intensity 0 — any proxima crash ends the application. */
export const proximaSup: SupervisorBehaviour = {
  init: () => ({
    flags: { strategy: 'one_for_all', intensity: 0, period: 1 },
    children: [supervisor.worker('proxima', proximaServer, undefined, { name: 'proxima', restart: 'permanent', shutdown: 5000 })],
  }),
};

/** The proxima application spec. */
export const proxima: ApplicationSpec = {
  name: 'proxima',
  version: '0.1.0',
  description: 'the one proxima of the cluster',
  startPhases: [{ name: 'init' }, { name: 'takeover' }, { name: 'go' }],
  mod: {
    async start(type: StartType, _args, self) {
      const r = await supervisor.startLink(self, proximaSup, undefined, { name: 'proxima_sup' });
      // On a takeover a leftover supervisor is accepted as started (as toliman does).
      if (typeof r === 'object' && 'error' in r && typeof r.error === 'object' && r.error !== null && 'alreadyStarted' in r.error) {
        return { ok: (r.error as { alreadyStarted: import('@rigil/core').Pid }).alreadyStarted };
      }
      void type;
      return r;
    },
    async startPhase(phase, type, _args, self) {
      if (phase !== 'go') return 'ok';
      const pid = self.node.whereis('proxima');
      if (pid === undefined) return { error: 'no local proxima' };
      // With dist-ac's resolver a name clash after a heal keeps the pid on the node dist-ac
      // keeps proxima on (one decider); OTP's toliman uses global's default, which keeps the
      // pid on the smaller node name and kills the other — possibly the instance dist-ac keeps.
      if ((await globalOf(self).reRegister('proxima', pid, distAcResolver('proxima'))) !== 'yes') return { error: 'global registration failed' };
      if (typeof type === 'object' && 'takeover' in type) {
        const r = await fetchState(self, type.takeover);
        if (r !== 'ok') return { error: { fetchState: r } };
      }
      return 'ok';
    },
  },
};
