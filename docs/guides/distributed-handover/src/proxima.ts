/**
 * proxima: the server that must run exactly once in the cluster. Its state counts the hellos
 * of every node's centauri and lists the nodes whose instance held that state (`served`), so a
 * handover is visible. Guide: docs/guides/distributed-handover.md.
 */
import { genServer, type GenServerBehaviour, type Process } from '@rigil/core';

export interface ProximaState {
  /** node -> how many times its centauri said hello. */
  readonly hellos: Readonly<Record<string, number>>;
  /** The nodes whose instance held this state, oldest first. */
  readonly served: readonly string[];
}

// #region protocol
export type ProximaProtocol = {
  call: { hello: string } | 'getState' | { fetchStateFrom: string };
  reply: number | ProximaState | 'ok';
  cast: never;
};
// #endregion protocol

// #region server
export const proximaServer: GenServerBehaviour<ProximaState, undefined, ProximaProtocol> = {
  init: (_args, self) => ({ ok: { hellos: {}, served: [self.node.name] } }),
  async handleCall(req, _from, state, self) {
    if (req === 'getState') return { reply: state, state };
    if ('hello' in req) {
      const hellos = { ...state.hellos, [req.hello]: (state.hellos[req.hello] ?? 0) + 1 };
      return { reply: hellos[req.hello]!, state: { ...state, hellos } };
    }
    // A takeover: copy the state of the instance still running on the old node — a call to
    // the server registered as 'proxima' on that node — and keep it as ours.
    const old = (await genServer.call(self, ['proxima', req.fetchStateFrom], 'getState')) as ProximaState;
    return { reply: 'ok', state: { hellos: old.hellos, served: [...old.served, self.node.name] } };
  },
};
// #endregion server

/** Makes the local proxima fetch the state of the instance on `node` (during a takeover). */
export function fetchStateFrom(self: Process, node: string): Promise<unknown> {
  return genServer.call(self, 'proxima', { fetchStateFrom: node }, 10_000);
}
