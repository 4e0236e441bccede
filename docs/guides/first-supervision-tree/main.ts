/**
 * Guide "Your first supervision tree" (docs/guides/first-supervision-tree.md): a counter
 * server and a key-value store under a one_for_one supervisor; the counter crashes and is
 * restarted, the store keeps its state. Run: `npx tsx main.ts` (exits 0 when all went as told).
 */
// #region counter
import { Node, genServer, okPid, serverName, supervisor, type GenServerBehaviour, type Pid, type SupervisorBehaviour } from '@rigil/core';

// The messages a counter understands: calls (with a reply) and casts (fire and forget).
type CounterProtocol = { call: 'get' | 'boom'; reply: number; cast: 'inc' };
// Its registered name, declared once with its protocol: calls by name are type-checked.
export const COUNTER = serverName<CounterProtocol>('counter');

export const counter: GenServerBehaviour<number, number, CounterProtocol> = {
  init: (start) => ({ ok: start }),
  handleCall: (req, _from, n) => {
    if (req === 'boom') throw new Error('counter asked to crash');
    return { reply: n, state: n };
  },
  handleCast: (_msg, n) => ({ noreply: n + 1 }),
};
// #endregion counter

// #region store
type StoreProtocol = { call: { get: string } | { put: string; value: string }; reply: string | undefined; cast: never };
export const STORE = serverName<StoreProtocol>('store');

export const store: GenServerBehaviour<Map<string, string>, undefined, StoreProtocol> = {
  init: () => ({ ok: new Map() }),
  handleCall: (req, _from, m) => {
    if ('put' in req) return { reply: req.value, state: new Map(m).set(req.put, req.value) };
    return { reply: m.get(req.get), state: m };
  },
};
// #endregion store

// #region tree
export const tree: SupervisorBehaviour = {
  init: () => ({
    // one_for_one: a child that dies is restarted alone. More than 3 restarts in 5 seconds
    // and the supervisor gives up (and dies itself, so its own supervisor can act).
    flags: { strategy: 'one_for_one', intensity: 3, period: 5 },
    children: [
      supervisor.worker('counter', counter, 0, { name: COUNTER }),
      supervisor.worker('store', store, undefined, { name: STORE }),
    ],
  }),
};
// #endregion tree

/** Polls `f` until it returns a value or `ms` pass (the restart happens asynchronously). */
async function until<T>(f: () => T | undefined, ms = 2000): Promise<T> {
  const end = Date.now() + ms;
  for (let v = f(); ; v = f()) {
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function check(ok: boolean, what: string): void {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) process.exitCode = 1;
}

// #region run
const node = new Node({ name: 'guide@localhost' });
// okPid unwraps a start result: the pid, or an error with code ERR_START_FAILED / ERR_START_IGNORED.
okPid(await supervisor.start(node, tree, undefined, { name: 'top_sup' }));

genServer.cast(node, COUNTER, 'inc');
genServer.cast(node, COUNTER, 'inc');
await genServer.call(node, STORE, { put: 'greeting', value: 'hello' });
check((await genServer.call(node, COUNTER, 'get')) === 2, 'the counter counted two casts');

// Crash the counter: the call fails for the caller, the supervisor restarts the counter.
const before = node.whereis('counter') as Pid;
const failed = await genServer.call(node, COUNTER, 'boom').then(() => false, () => true);
check(failed, 'the call that crashed the counter failed for its caller');
const after = await until(() => {
  const pid = node.whereis('counter');
  return pid !== undefined && !pid.equals(before) ? pid : undefined;
});
check(!after.equals(before), `the supervisor restarted the counter: ${before} -> ${after}`);
check((await genServer.call(node, COUNTER, 'get')) === 0, 'the new counter starts from its initial state');
check((await genServer.call(node, STORE, { get: 'greeting' })) === 'hello', 'the store was not touched (one_for_one)');

const children = await supervisor.whichChildren(node, 'top_sup');
console.log(children.map((c) => `${String(c.id)} ${String(c.pid)}`).join('\n'));
await node.stop(); // stops the tree: children in reverse order, then the supervisor
// #endregion run
