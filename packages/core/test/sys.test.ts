import { afterEach, describe, expect, it } from 'vitest';
import {
  CallError,
  RigilError,
  SimulatedClock,
  genServer,
  supervisor,
  sys,
  type GenServerBehaviour,
  type Pid,
  type Report,
} from '../src/index.js';
import { call as genCall } from '../src/gen.js';
import { NodePool, nodeMaker, okPid, oneWorkerSup, rejection, waitFor, watchDown } from './helpers.js';

const pool = new NodePool();
const newNode = nodeMaker(pool);

afterEach(() => pool.stopAll());

interface Account {
  owner: string;
  secret: string;
  balance: number;
}

/** Counts the callbacks it runs, so tests can tell that sys requests bypass them. */
function account(callbacks: string[]): GenServerBehaviour<Account, Account> {
  return {
    init: (a) => ({ ok: a }),
    handleCall: (_req, _from, s) => (callbacks.push('handleCall'), { reply: s.balance, state: s }),
    handleCast: (msg, s) => (callbacks.push('handleCast'), { noreply: { ...s, balance: s.balance + (msg as number) } }),
    handleInfo: (_m, s) => (callbacks.push('handleInfo'), { noreply: s }),
    formatStatus: (s) => ({ ...s, secret: '***' }),
  };
}

const alice: Account = { owner: 'alice', secret: 'hunter2', balance: 10 };

describe('sys', () => {
  it('getState returns the current state without running any callback', async () => {
    const node = newNode();
    const callbacks: string[] = [];
    const pid = okPid(await genServer.start(node, account(callbacks), alice));
    expect(await sys.getState(node, pid)).toEqual(alice);
    expect(callbacks).toEqual([]);
  });

  it('getState is served in mailbox order, after the messages sent before it', async () => {
    const node = newNode();
    const callbacks: string[] = [];
    const pid = okPid(await genServer.start(node, account(callbacks), alice, { name: 'acct' }));
    genServer.cast(node, pid, 5);
    genServer.cast(node, 'acct', 7);
    expect(await sys.getState<Account>(node, 'acct')).toEqual({ ...alice, balance: 22 });
    expect(callbacks).toEqual(['handleCast', 'handleCast']);
  });

  it('getStatus reports pid, module, status, registered name, the formatStatus view of the state and the queue length', async () => {
    const node = newNode();
    let release: (() => void) | undefined;
    const pid = okPid(
      await genServer.start(
        node,
        {
          ...account([]),
          handleInfo: async (m, s) => {
            if (m === 'block') await new Promise<void>((resolve) => (release = resolve));
            return { noreply: s };
          },
        },
        alice,
        { name: 'bank' },
      ),
    );
    node.send(pid, 'block');
    await waitFor(() => release, 2000, 'the server to block');
    const status = sys.getStatus(node, 'bank');
    node.send(pid, 'm1');
    node.send(pid, 'm2');
    release!();
    expect(await status).toEqual({
      pid,
      module: 'gen_server',
      status: 'running',
      name: 'bank',
      state: { owner: 'alice', secret: '***', balance: 10 },
      messageQueueLen: 2,
    });
    // the real state is untouched by formatStatus
    expect(await sys.getState(node, pid)).toEqual(alice);
  });

  it('replaceState replaces the state with fn(state), returns the new state, and later callbacks see it', async () => {
    const node = newNode();
    const callbacks: string[] = [];
    const pid = okPid(await genServer.start(node, account(callbacks), alice));
    const replaced = await sys.replaceState<Account>(node, pid, (s) => ({ ...s, balance: s.balance * 10 }));
    expect(replaced).toEqual({ ...alice, balance: 100 });
    expect(callbacks).toEqual([]);
    expect(await genServer.call(node, pid, 'balance')).toBe(100);
    expect(await sys.getState(node, pid)).toEqual({ ...alice, balance: 100 });
  });

  it('sys requests to a dead server or an unregistered name reject with ERR_CALL_NOPROC', async () => {
    const node = newNode();
    const pid = okPid(await genServer.start(node, account([]), alice));
    await genServer.stop(node, pid);
    for (const p of [sys.getState(node, pid), sys.getStatus(node, 'nobody'), sys.replaceState(node, pid, (s) => s)]) {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CallError);
      expect((err as CallError).code).toBe('ERR_CALL_NOPROC');
    }
  });

  it('a sys request to a server that never answers times out with ERR_CALL_TIMEOUT', async () => {
    const clock = new SimulatedClock();
    const node = newNode(clock);
    const pid = okPid(
      await genServer.start(
        node,
        {
          ...account([]),
          handleInfo: () => new Promise<never>(() => undefined), // stuck forever
        },
        alice,
      ),
    );
    node.send(pid, 'get stuck');
    let err: unknown;
    void sys.getState(node, pid, 1000).catch((e: unknown) => (err = e));
    await clock.advance(999);
    expect(err).toBeUndefined();
    await clock.advance(1);
    await waitFor(() => err, 2000, 'the sys call to time out');
    expect((err as CallError).code).toBe('ERR_CALL_TIMEOUT');
  });

  // Spec b.4 — a system message re-enters the loop with the same idle timeout
  it('a sys request during an idle timeout restarts the timeout instead of cancelling it', async () => {
    const clock = new SimulatedClock();
    const node = newNode(clock);
    const log: unknown[] = [];
    const pid = okPid(
      await genServer.start(
        node,
        {
          init: () => ({ ok: 0, timeout: 500 }),
          handleInfo: (m, s) => (log.push([m, clock.now()]), { noreply: s }),
        },
        undefined,
      ),
    );
    await clock.advance(300);
    expect(await sys.getState(node, pid)).toBe(0);
    await clock.advance(499);
    expect(log).toEqual([]);
    await clock.advance(1);
    expect(log).toEqual([['timeout', 800]]);
  });
});

describe('malformed system messages', () => {
  // The rex bug: `'terminate' in msg.req` threw for a non-object req and stopped the server.
  it('a system message whose req is 1, null, a string or an unknown object gets an error reply, and the server keeps serving calls', async () => {
    const node = newNode();
    const callbacks: string[] = [];
    const pid = okPid(await genServer.start(node, account(callbacks), alice));
    for (const req of [1, null, 'getState', { nonsense: true }]) {
      expect(await genCall(node, pid, req, 1000, 'system')).toEqual({ error: 'unknown_system_message' });
    }
    expect(await genServer.call(node, pid, 'balance')).toBe(10);
    expect(callbacks).toEqual(['handleCall']);
  });

  it('a raw system message without a reply tag is dropped with a report, and the server keeps running', async () => {
    const node = newNode();
    const reports: Report[] = [];
    node.onReport((r) => reports.push(r));
    const pid = okPid(await genServer.start(node, account([]), alice));
    node.send(pid, { $gen: 'system', req: 1 });
    node.send(pid, { $gen: 'system', pid: node.systemPid, tag: 'not a ref', req: { getState: true } });
    expect(await genServer.call(node, pid, 'balance')).toBe(10);
    expect(reports.filter((r) => r.pid === pid).map((r) => r.message)).toEqual([
      'dropped a system message without a reply tag',
      'dropped a system message without a reply tag',
    ]);
  });

  it('a replaceState function that throws rejects with ERR_CALLBACK_FAILED, leaves the state unchanged and the server running', async () => {
    const node = newNode();
    const pid = okPid(await genServer.start(node, account([]), alice));
    const watch = watchDown(node, pid);
    const e = await rejection(
      sys.replaceState<Account>(node, pid, () => {
        throw new Error('bad fun');
      }),
    );
    expect(e).toBeInstanceOf(RigilError);
    expect(e.code).toBe('ERR_CALLBACK_FAILED');
    expect(e.reason).toMatchObject({ callbackFailed: { error: 'Error', message: 'bad fun' } });
    expect(await sys.getState(node, pid)).toEqual(alice);
    expect(watch.down).toBe(false);
  });

  it('a formatStatus that throws makes getStatus reject with ERR_CALLBACK_FAILED, and the server keeps running', async () => {
    const node = newNode();
    const pid = okPid(
      await genServer.start(
        node,
        {
          ...account([]),
          formatStatus: () => {
            throw new Error('cannot format');
          },
        },
        alice,
      ),
    );
    expect((await rejection(sys.getStatus(node, pid))).code).toBe('ERR_CALLBACK_FAILED');
    expect(await genServer.call(node, pid, 'balance')).toBe(10);
  });
});

describe('sys on a supervisor', () => {
  interface SupView {
    flags: { strategy: string; intensity: number; period: number };
    children: Array<{ pid: Pid | undefined; spec: { id: string } }>;
  }

  it('getState shows the supervisor state with its children, and getStatus reports it as a gen_server with its name', async () => {
    const node = newNode();
    const sup = okPid(await supervisor.start(node, oneWorkerSup, undefined, { name: 'top' }));
    const [child] = await supervisor.whichChildren(node, sup);
    const state = await sys.getState<SupView>(node, 'top');
    expect(state.flags).toEqual({ strategy: 'one_for_one', intensity: 1, period: 5 });
    expect(state.children.map((c) => [c.spec.id, c.pid])).toEqual([['w', child!.pid]]);
    const status = await sys.getStatus(node, sup);
    // OTP: a supervisor is a gen_server callback module, and sys reports gen_server.
    expect(status).toMatchObject({ pid: sup, module: 'gen_server', status: 'running', name: 'top', messageQueueLen: 0 });
    expect(status.state).toBe(state);
  });

  it('replaceState changes how a supervisor behaves: with intensity replaced by 0 the first child death ends it with shutdown', async () => {
    const node = newNode();
    const sup = okPid(await supervisor.start(node, oneWorkerSup, undefined));
    const supDown = watchDown(node, sup);
    const replaced = await sys.replaceState<SupView>(node, sup, (s) => ({ ...s, flags: { ...s.flags, intensity: 0 } }));
    expect(replaced.flags.intensity).toBe(0);
    const [child] = await supervisor.whichChildren(node, sup);
    node.exit(child!.pid as Pid, 'kill');
    await waitFor(() => supDown.down, 2000, 'the supervisor to stop');
    expect(supDown.reason).toBe('shutdown');
  });
});
