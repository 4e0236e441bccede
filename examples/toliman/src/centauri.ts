/**
 * centauri: runs on every node (toliman's `centauri`). It says hello to whichever proxima holds
 * the global name, is pinged back, monitors that proxima, and says hello again to the new
 * instance whenever the old one goes down.
 */
import { isDown, type GenServerBehaviour, type Pid, type Ref } from '@rigil/core';
import { hello, pong } from './proxima.js';

/** centauri's state. */
export interface CentauriState {
  /** Monitor on the proxima that pinged us. */
  readonly proxima: Ref | undefined;
  /** Hello attempts since the last success. */
  readonly tries: number;
}

/** The centauri server. */
export const centauriServer: GenServerBehaviour<CentauriState, undefined, { call: never; reply: never; cast: { ping: Pid; node: string } }> = {
  init: () => ({ ok: { proxima: undefined, tries: 0 }, continue: 'sayHello' }),

  async handleContinue(_cont, state, self) {
    const r = await hello(self, self.node.name, []);
    if (r !== 'timeout' && 'reply' in r) return { noreply: { ...state, tries: 0 } };
    // No global proxima yet (noproc) or no answer: try again after 500 ms of quiet.
    if (r === 'timeout' || r.error[0] === 'noproc') return { noreply: state, timeout: 500 };
    // Anything else is toliman's case_clause: centauri crashes (and, intensity 0, its application ends).
    throw new Error(`unexpected hello result: ${JSON.stringify(r.error[0])}`);
  },

  async handleCast(msg, state, self) {
    const ref = self.monitor(msg.ping);
    const r = await pong(self, self.pid, self.node.name);
    if (r === 'timeout' || !('reply' in r)) throw new Error(`pong to proxima failed: ${JSON.stringify(r)}`);
    if (state.proxima !== undefined) self.demonitor(state.proxima, { flush: true });
    return { noreply: { ...state, proxima: ref } };
  },

  handleInfo(msg, state) {
    if (msg === 'timeout') {
      if (state.proxima === undefined) return { noreply: { ...state, tries: state.tries + 1 }, continue: 'sayHello' };
      return { noreply: { ...state, tries: 0 } };
    }
    if (isDown(msg) && msg.ref === state.proxima) {
      // Our proxima went away: announce ourselves to whichever instance holds the name now.
      return { noreply: { ...state, proxima: undefined }, continue: 'sayHello' };
    }
    return { noreply: state };
  },
};
