/**
 * proxima: the singleton server (toliman's `proxima`). Locally registered as `proxima`; the
 * application registers it globally as `proxima` in its `go` phase. Its state maps every
 * centauri node that said hello to the centauri pid that answered its ping.
 */
import { genServer, isProcess, type Process, type From, type GenServerBehaviour, type Pid } from '@rigil/core';
import type { DistNode } from '@rigil/net';

/**
 * proxima's state: centauri node → what it said (options at hello, then its pid after pong).
 * `served` lists the nodes whose instance held this state, oldest first — a rigil addition that
 * makes a handover visible (toliman's state is `starts` only).
 */
export interface ProximaState {
  readonly starts: Readonly<Record<string, unknown>>;
  readonly served: readonly string[];
}

type Request =
  | { fetchState: string }
  | { getState: string }
  | { hello: string; opts: unknown }
  | { pong: Pid; node: string };

type Reply = 'ok' | { ok: ProximaState } | { error: unknown };

/** The proxima server. */
export const proximaServer: GenServerBehaviour<ProximaState, undefined, { call: Request; reply: Reply; cast: never }> = {
  init: (_args, self) => ({ ok: { starts: {}, served: [self.node.name] } }),
  async handleCall(req, _from: From<Reply>, state, self) {
    if ('fetchState' in req) {
      // Replace the whole state with the old instance's (toliman's fetch_state).
      const r = (await genServer.call(self, ['proxima', req.fetchState], { getState: self.node.name })) as { ok: ProximaState };
      return { reply: 'ok', state: { starts: r.ok.starts, served: [...r.ok.served, self.node.name] } };
    }
    if ('getState' in req) return { reply: { ok: state }, state };
    if ('hello' in req) {
      genServer.cast(self, ['centauri', req.hello], { ping: self.pid, node: req.hello });
      return { reply: 'ok', state: { ...state, starts: { ...state.starts, [req.hello]: req.opts } } };
    }
    if ('pong' in req) {
      // As in toliman: a pong from a node that never said hello is a crash.
      if (!(req.node in state.starts)) throw new Error(`pong from ${req.node}, which never said hello`);
      return { reply: 'ok', state: { ...state, starts: { ...state.starts, [req.node]: req.pong } } };
    }
    return { reply: 'ok', state };
  },
};

/** Copies the old instance's state on `node` into the local proxima (toliman's `proxima:fetch_state/1`). */
export function fetchState(self: Process | DistNode, node: string): Promise<Reply> {
  return genServer.call(self, 'proxima', { fetchState: node }, 10_000);
}

/** Asks the proxima on `node` for its state (toliman's `proxima:get_state/1`). */
export function getState(self: Process | DistNode, node: string): Promise<Reply> {
  return genServer.call(self, ['proxima', node], { getState: isProcess(self) ? self.node.name : self.name });
}

/**
 * Says hello to the global proxima (toliman's `proxima:hello/2`): a request to `{ global:
 * 'proxima' }` and a wait of up to 5 s. Resolves `{ reply }`, `{ error: [reason, server] }`
 * (e.g. noproc while no proxima is registered) or `'timeout'`.
 */
export function hello(self: Process, node: string, opts: unknown): Promise<genServer.Response<Reply>> {
  return genServer.waitResponse(genServer.sendRequest<Reply>(self, { global: 'proxima' }, { hello: node, opts }), 5000);
}

/** Tells the global proxima which centauri pid answered (toliman's `proxima:pong/2`). */
export function pong(self: Process, from: Pid, node: string): Promise<genServer.Response<Reply>> {
  return genServer.waitResponse(genServer.sendRequest<Reply>(self, { global: 'proxima' }, { pong: from, node }), 5000);
}
