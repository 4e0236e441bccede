/** centauri: runs on every node and says hello to wherever proxima runs. */
import { formatReason, genServer, isDown, supervisor, type ApplicationSpec, type GenServerBehaviour, type Ref, type SupervisorBehaviour } from '@rigil/core';
import { globalOf } from '@rigil/net';
import type { ProximaProtocol } from './proxima.js';

// #region server
/** The monitor on the proxima we greeted, if any. */
type CentauriState = { proxima: Ref | undefined };

export const centauriServer: GenServerBehaviour<CentauriState, undefined, { call: never; reply: never; cast: never }> = {
  init: () => ({ ok: { proxima: undefined }, continue: 'hello' }),

  async handleContinue(_cont, state, self) {
    const pid = globalOf(self).whereis('proxima'); // the cluster-wide name, a local lookup
    if (pid === undefined) return { noreply: state, timeout: 500 }; // not placed yet: retry
    const ref = self.monitor(pid);
    try {
      await genServer.call<ProximaProtocol>(self, pid, { hello: self.node.name });
    } catch {
      self.demonitor(ref, { flush: true });
      return { noreply: state, timeout: 500 }; // it was going away: retry
    }
    return { noreply: { proxima: ref } };
  },

  handleInfo(msg, state) {
    // 'timeout': the retry above. DOWN: our proxima stopped or its node died; greet the next one.
    if (msg === 'timeout' || (isDown(msg) && msg.ref === state.proxima)) return { noreply: { proxima: undefined }, continue: 'hello' };
    return { noreply: state };
  },
};
// #endregion server

const centauriSup: SupervisorBehaviour = {
  init: () => ({
    flags: { strategy: 'one_for_one', intensity: 5, period: 10 },
    children: [supervisor.worker('centauri', centauriServer, undefined, { name: 'centauri' })],
  }),
};

// #region app
export const centauri: ApplicationSpec = {
  name: 'centauri',
  version: '1.0.0',
  mod: {
    async start(_type, _args, self) {
      // Starting a distributed application on every node is how it gets placed: on the best
      // node of its list this starts it (or takes it over), elsewhere it only registers interest.
      const r = await self.node.application.start('proxima');
      if (r !== 'ok') return { error: { proxima: formatReason(r.error) } };
      return supervisor.startLink(self, centauriSup, undefined, { name: 'centauri_sup' });
    },
  },
};
// #endregion app
