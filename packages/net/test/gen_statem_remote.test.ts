/**
 * gen_statem across nodes: a machine on one node, called and cast to from another, by pid,
 * by `[name, node]` and by `{ global: name }`; replies given later with `reply()` cross the
 * wire; a machine that stops is seen by the remote caller; `stop` works from the other node.
 */
import { describe, expect, it } from 'vitest';
import { CallError, genStatem, okPid, sys, type From, type StateFunctionsBehaviour, type StatemPid } from '@rigil/core';
import { eventually, runIn, seen, useCluster, waitFor } from './helpers.js';

const cluster = useCluster();

/** The pid of a successful start (@rigil/core's `okPid`). */
const okStatem = okPid;

type Turnstile = { call: 'push' | 'who' | 'wait' | 'break'; reply: string; cast: 'coin' };
interface TurnstileData {
  readonly coins: number;
  /** Callers of `wait`, answered at the next coin. */
  readonly waiting: readonly From<string>[];
}

/** OTP's turnstile: a coin unlocks, a push locks again; `who` answers the caller's node. */
const turnstile: StateFunctionsBehaviour<'locked' | 'unlocked', TurnstileData, undefined, Turnstile> = {
  callbackMode: 'state_functions',
  init: () => ({ ok: ['locked', { coins: 0, waiting: [] }] }),
  states: {
    locked(type, content, data) {
      if (type === 'cast') {
        for (const from of data.waiting) genStatem.reply(from, 'a coin came');
        return { nextState: 'unlocked', data: { coins: data.coins + 1, waiting: [] } };
      }
      if (typeof type !== 'object') return 'keep_state_and_data';
      switch (content) {
        case 'push':
          return { keepStateAndData: { reply: [type.call, 'still locked'] } };
        case 'who':
          return { keepStateAndData: { reply: [type.call, type.call.pid.node] } };
        case 'wait':
          return { keepState: { ...data, waiting: [...data.waiting, type.call] } };
        case 'break':
          return { stop: { broken: 'by a remote caller' } };
      }
    },
    unlocked(type, content, data) {
      if (typeof type === 'object' && content === 'push') return { nextState: 'locked', data, actions: { reply: [type.call, 'through'] } };
      // Anything else waits until the turnstile is locked again.
      return { keepStateAndData: 'postpone' };
    },
  },
};

describe('gen_statem across nodes', () => {
  // Scenario: a turnstile on b; a's node and a process on a call and cast to it by pid and by name.
  it('a machine on another node is called and cast to by pid and by [name, node], from a node and from a process', async () => {
    const [a, b] = await cluster.startConnected(2);
    const pid = okStatem(await genStatem.start(b!, turnstile, undefined, { name: 'turnstile' }));
    const there = seen(a!, pid) as StatemPid<Turnstile>;
    const byName: readonly [string, string] = ['turnstile', b!.name];
    expect(await genStatem.call(a!, there, 'push')).toBe('still locked');
    genStatem.cast(a!, byName, 'coin');
    expect(await genStatem.call(a!, byName, 'push')).toBe('through');
    const fromProcess = await runIn(a!, (self) => genStatem.call(self, byName, 'who', 5000));
    expect(fromProcess).toBe(a!.name);
    // Postponed in `unlocked`, the remote call is answered once a push has locked the turnstile
    // (all three come from a, so they reach b in the order sent).
    genStatem.cast(a!, there, 'coin');
    const postponed = genStatem.call(a!, there, 'who');
    expect(await genStatem.call(a!, byName, 'push')).toBe('through');
    expect(await postponed).toBe(a!.name);
  });

  it('a reply given later with reply() reaches a caller on another node', async () => {
    const [a, b] = await cluster.startConnected(2);
    okStatem(await genStatem.start(b!, turnstile, undefined, { name: 'turnstile' }));
    const waiting = runIn(a!, (self) => genStatem.call(self, ['turnstile', b!.name], 'wait', 5000));
    await eventually(async () => (await sys.getState<[string, TurnstileData]>(b!, 'turnstile'))[1].waiting.length === 1, 3000, 'the wait to reach b');
    genStatem.cast(b!, 'turnstile', 'coin');
    expect(await waiting).toBe('a coin came');
  });

  it('a machine registered with { global: name } is reached from every node', async () => {
    const [a, b] = await cluster.startConnected(2);
    okStatem(await genStatem.start(b!, turnstile, undefined, { name: { global: 'gate' } }));
    await waitFor(() => a!.global.whereis('gate') !== undefined, 3000, 'the global name to reach a');
    expect(await genStatem.call(a!, { global: 'gate' }, 'who')).toBe(a!.name);
  });

  it('a remote caller sees the machine stop with its structured reason, and stop() works from another node', async () => {
    const [a, b] = await cluster.startConnected(2);
    const first = okStatem(await genStatem.start(b!, turnstile, undefined, { name: 'turnstile' }));
    const err = await genStatem.call(a!, seen(a!, first) as StatemPid<Turnstile>, 'break').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallError);
    expect((err as CallError).code).toBe('ERR_CALL_EXIT');
    expect((err as CallError).reason).toEqual({ broken: 'by a remote caller' });
    const second = okStatem(await genStatem.start(b!, turnstile, undefined, { name: 'turnstile' }));
    expect(await genStatem.stop(a!, ['turnstile', b!.name], 'shutdown', 5000)).toBe('ok');
    expect(b!.isAlive(second)).toBe(false);
  });
});
