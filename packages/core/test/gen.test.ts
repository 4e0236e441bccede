import { afterEach, describe, expect, it } from 'vitest';
import {
  CallError,
  SimulatedClock,
  genServer,
  isGenCall,
  isGenCast,
  settle,
  sys,
  type ExitReason,
  type GenServerBehaviour,
  type Pid,
  type Process,
} from '../src/index.js';
import type { BehaviourLoop } from '../src/internal/process.js';
import * as gen from '../src/gen.js';
import { NodePool, nodeMaker, okPid, rejection, runIn, waitFor, watchDown } from './helpers.js';

const pool = new NodePool();
const newNode = nodeMaker(pool);

afterEach(() => pool.stopAll());

/**
 * A server that holds every call (`noreply`) and answers later: cast `{ answer: value }` replies
 * to the oldest held call, `{ answerAll: values }` replies to the held calls in reverse order,
 * `{ die: reason }` stops it.
 */
function holder(requests: unknown[] = []): GenServerBehaviour<genServer.From[], undefined> {
  return {
    init: () => ({ ok: [] }),
    handleCall: (req, from, held) => (requests.push(req), { noreply: [...held, from] }),
    handleCast: (msg, held) => {
      const m = msg as { answer?: unknown; answerAll?: unknown[]; die?: ExitReason };
      if ('die' in m) return { stop: m.die, state: held };
      if ('answerAll' in m) {
        const values = m.answerAll!;
        [...held].reverse().forEach((from, i) => genServer.reply(from, values[i]));
        return { noreply: [] };
      }
      const [first, ...rest] = held;
      if (first !== undefined) genServer.reply(first, m.answer);
      return { noreply: rest };
    },
  };
}

describe('sendRequest / waitResponse / receiveResponse', () => {
  // Scenario 14 — send_request to an unregistered global name
  it('waitResponse for a request to an unregistered global name gives { error: [noproc, { global }] } at once, without waiting for the timeout', async () => {
    const clock = new SimulatedClock();
    const node = newNode(clock);
    // without a global registry installed
    const id = genServer.sendRequest(node, { global: 'nope' }, 'x');
    expect(await genServer.waitResponse(id, 5000)).toEqual({ error: ['noproc', { global: 'nope' }] });
    // with a registry that does not know the name
    node.globalNames = { whereis: () => undefined, register: async () => 'no' };
    const id2 = genServer.sendRequest(node, { global: 'nope' }, 'x');
    expect(await genServer.waitResponse(id2, 5000)).toEqual({ error: ['noproc', { global: 'nope' }] });
    expect(await genServer.receiveResponse(genServer.sendRequest(node, { global: 'nope' }, 'x'), 5000)).toEqual({
      error: ['noproc', { global: 'nope' }],
    });
    expect(clock.now()).toBe(0);
  });

  // Scenario 14 — send_request to an unregistered global name
  it('a request from a process to an unregistered name fails through the response, not as an exception, and leaves its mailbox empty', async () => {
    const node = newNode();
    const out = await runIn(node, async (self) => {
      const id = genServer.sendRequest(self, 'nobody', 'x');
      const response = await genServer.waitResponse(id, 5000);
      return { response, queued: self.queueLength };
    });
    expect(out.response).toEqual({ error: ['noproc', 'nobody'] });
    expect(out.queued).toBe(0);
  });

  it('a request to a dead pid gives { error: [noproc, pid] }', async () => {
    const node = newNode();
    const pid = okPid(await genServer.start(node, holder(), undefined));
    await genServer.stop(node, pid);
    const id = genServer.sendRequest(node, pid, 'x');
    expect(await genServer.waitResponse(id, 5000)).toEqual({ error: ['noproc', pid] });
  });

  // Scenario 14 — send_request to an unregistered global name
  it('waitResponse gives { error: [reason, pid] } when the server dies while the request is pending', async () => {
    const node = newNode();
    const pid = okPid(await genServer.start(node, holder(), undefined));
    const id = genServer.sendRequest(node, pid, 'x');
    const response = genServer.waitResponse(id, 5000);
    genServer.cast(node, pid, { die: 'boom' });
    expect(await response).toEqual({ error: ['boom', pid] });
    expect(node.isAlive(pid)).toBe(false);
  });

  // Scenario 14 — send_request to an unregistered global name
  it('waitResponse gives timeout when no reply comes in time and keeps the request, so a later wait still gets the reply', async () => {
    const clock = new SimulatedClock();
    const node = newNode(clock);
    const pid = okPid(await genServer.start(node, holder(), undefined));
    const id = genServer.sendRequest(node, pid, 'x');
    let first: unknown;
    void genServer.waitResponse(id, 100).then((r) => (first = r));
    await clock.advance(99);
    expect(first).toBeUndefined();
    await clock.advance(1);
    await waitFor(() => first, 2000, 'the wait to time out');
    expect(first).toBe('timeout');
    genServer.cast(node, pid, { answer: 'late but kept' });
    expect(await genServer.waitResponse(id, 1000)).toEqual({ reply: 'late but kept' });
  });

  it('receiveResponse abandons the request on timeout: a later reply is dropped and never reaches the caller mailbox', async () => {
    const clock = new SimulatedClock();
    const node = newNode(clock);
    const pid = okPid(await genServer.start(node, holder(), undefined));
    const results: unknown[] = [];
    let callerPid: Pid | undefined;
    const caller = runIn(node, async (self) => {
      callerPid = self.pid;
      const id = genServer.sendRequest(self, pid, 'x');
      results.push(await genServer.receiveResponse(id, 100));
      await self.receive((m) => m === 'check');
      results.push(await genServer.waitResponse(id, 0));
      return self.flush();
    });
    await clock.advance(100);
    await waitFor(() => results.length === 1, 2000, 'the receive to time out');
    expect(results[0]).toBe('timeout');
    genServer.cast(node, pid, { answer: 'too late' });
    // the server has answered (and dropped) the held call once its state is empty again
    expect(await sys.getState(node, pid)).toEqual([]);
    await settle();
    expect(node.processInfo(callerPid!)?.messageQueueLen).toBe(0);
    node.send(callerPid!, 'check');
    expect(await caller).toEqual([]);
    expect(results[1]).toBe('timeout');
  });

  it('concurrent requests each get their own reply, whatever order the server answers in', async () => {
    const node = newNode();
    const pid = okPid(await genServer.start(node, holder(), undefined));
    const a = genServer.sendRequest(node, pid, 'a');
    const b = genServer.sendRequest(node, pid, 'b');
    const c = genServer.sendRequest(node, pid, 'c');
    genServer.cast(node, pid, { answerAll: ['for c', 'for b', 'for a'] });
    expect(await genServer.waitResponse(b, 1000)).toEqual({ reply: 'for b' });
    expect(await genServer.waitResponse(c, 1000)).toEqual({ reply: 'for c' });
    expect(await genServer.waitResponse(a, 1000)).toEqual({ reply: 'for a' });
  });
});

describe('reply', () => {
  it('a server can answer a call later with genServer.reply(from, value), from another callback', async () => {
    const node = newNode();
    const requests: unknown[] = [];
    const pid = okPid(await genServer.start(node, holder(requests), undefined));
    const out = runIn(node, (self) => genServer.call(self, pid, 'question'));
    await waitFor(() => requests.length === 1, 2000, 'the server to hold the call');
    genServer.cast(node, pid, { answer: 42 });
    expect(await out).toBe(42);
  });

  it('a second reply to the same call is dropped and does not reach the caller mailbox', async () => {
    const node = newNode();
    let callerPid: Pid | undefined;
    const pid = okPid(
      await genServer.start(
        node,
        {
          init: () => ({ ok: null }),
          handleCall: (_req, from, s) => {
            from.reply('first');
            from.reply('second');
            return { noreply: s };
          },
        },
        undefined,
      ),
    );
    const caller = runIn(node, async (self) => {
      callerPid = self.pid;
      const r = await genServer.call(self, pid, 'x');
      await self.receive((m) => m === 'check');
      return { r, rest: self.flush() };
    });
    await waitFor(() => callerPid !== undefined && node.processInfo(callerPid)?.status === 'waiting', 2000, 'the caller to wait');
    expect(node.processInfo(callerPid!)?.messageQueueLen).toBe(0);
    node.send(callerPid!, 'check');
    expect(await caller).toEqual({ r: 'first', rest: [] });
  });
});

describe('call machinery', () => {
  it('a call from outside any process times out after the default 5000 ms with ERR_CALL_TIMEOUT', async () => {
    const clock = new SimulatedClock();
    const node = newNode(clock);
    const pid = okPid(await genServer.start(node, holder(), undefined));
    let err: CallError | undefined;
    void rejection(genServer.call(node, pid, 'never answered')).then((e) => (err = e));
    await clock.advance(4999);
    expect(err).toBeUndefined();
    await clock.advance(1);
    await waitFor(() => err, 2000, 'the call to time out');
    expect(err).toBeInstanceOf(CallError);
    expect(err!.code).toBe('ERR_CALL_TIMEOUT');
    expect(err!.reason).toBe('timeout');
    expect(err!.server).toBe(pid);
    expect(err!.request).toBe('never answered');
  });

  it('a call addressed as [name, this node] reaches the local server', async () => {
    const node = newNode();
    const pid = okPid(
      await genServer.start(node, { init: () => ({ ok: 1 }), handleCall: (_r, _f, s) => ({ reply: s, state: s }) }, undefined, { name: 'local' }),
    );
    expect(await genServer.call(node, ['local', node.name], 'get')).toBe(1);
    expect(await genServer.call(node, pid, 'get')).toBe(1);
  });

  it('a call to a server on a node that cannot be reached rejects with ERR_CALL_NODEDOWN naming the node', async () => {
    const node = newNode();
    const err = await rejection(genServer.call(node, ['piller', 'other@host'], 'x'));
    expect(err.code).toBe('ERR_CALL_NODEDOWN');
    expect(err.reason).toEqual({ nodedown: 'other@host' });
  });

  it('a call leaves no monitor behind on the server once it has its reply', async () => {
    const node = newNode();
    const pid = okPid(
      await genServer.start(node, { init: () => ({ ok: null }), handleCall: (_r, _f, s) => ({ reply: 'ok', state: s }) }, undefined),
    );
    const out = await runIn(node, async (self) => {
      await genServer.call(self, pid, 'x');
      return node.processInfo(self.pid)?.monitors.length;
    });
    expect(out).toBe(0);
    expect(node.processInfo(pid)?.monitoredBy).toEqual([]);
  });

  it('calls in flight are counted as monitors on the server, dropped as they are answered, and all fail when it dies', async () => {
    const node = newNode();
    const pid = okPid(await genServer.start(node, holder(), undefined));
    const calls = [1, 2, 3, 4].map((i) => genServer.call(node, pid, i, Infinity).then((v) => ({ v }), (e: CallError) => ({ code: e.code })));
    await waitFor(() => node.processInfo(pid)?.monitoredByCount === 4);
    genServer.cast(node, pid, { answer: 'first' }); // the oldest call's monitor is the tail of the list
    expect(await calls[0]).toEqual({ v: 'first' });
    expect(node.processInfo(pid)?.monitoredByCount).toBe(3);
    genServer.cast(node, pid, { die: 'boom' });
    expect(await Promise.all(calls.slice(1))).toEqual([{ code: 'ERR_CALL_EXIT' }, { code: 'ERR_CALL_EXIT' }, { code: 'ERR_CALL_EXIT' }]);
  });

  it('a caller that exits with one or several requests in flight leaves no monitor on the server', async () => {
    const node = newNode();
    const pid = okPid(await genServer.start(node, holder(), undefined));
    for (const n of [1, 3]) {
      const caller = node.spawn(async (self) => {
        for (let i = 0; i < n; i++) genServer.sendRequest(self, pid, i);
        await self.receive();
      });
      await waitFor(() => node.processInfo(pid)?.monitoredByCount === n);
      node.exit(caller, 'kill');
      await waitFor(() => !node.isAlive(caller));
      expect(node.processInfo(pid)?.monitoredByCount).toBe(0);
    }
  });

  it('call and cast messages are recognised by isGenCall and isGenCast', async () => {
    const node = newNode();
    const seen: unknown[] = [];
    const pid = node.spawn(async (self) => {
      for (;;) seen.push(await self.receive());
    });
    void genServer.call(node, pid, 'req', 100).catch(() => undefined);
    genServer.cast(node, pid, 'msg');
    await waitFor(() => seen.length === 2, 2000, 'two messages');
    expect(isGenCall(seen[0])).toBe(true);
    expect(isGenCast(seen[0])).toBe(false);
    expect(isGenCast(seen[1])).toBe(true);
    expect(seen[1]).toEqual({ $gen: 'cast', msg: 'msg' });
    expect(seen[0]).toMatchObject({ $gen: 'call', pid: node.systemPid, req: 'req' });
  });
});

/**
 * The smallest behaviour on gen.ts: a cell holding one value. A call reads it, any other
 * message replaces it; `init` is given per process so each test can pick its outcome.
 */
interface Cell {
  value: unknown;
  readonly init: (self: Process) => unknown;
  readonly parent: Pid;
  /** The reasons its terminate hook ran with. */
  readonly terminated: ExitReason[];
}

const CELL_LOOP: BehaviourLoop = {
  handle(self, msg) {
    const c = gen.dataOf<Cell>(self);
    if (gen.isSystemMessage(msg)) return gen.handleSystem(self, c, CELL, msg);
    if (isGenCall(msg)) return self.node.sendAlias(msg.tag, c.value);
    if (gen.isParentExit(self, c.parent, msg)) return CELL.terminate(self, c, msg.reason, msg);
    c.value = msg;
  },
};

const CELL: gen.Behaviour<Cell> = {
  module: 'cell',
  loop: CELL_LOOP,
  init: (self, c) => c.init(self),
  enter(_self, c, ack) {
    c.value = ack.ok;
  },
  getState: (c) => c.value,
  replaceState: (c, fn) => (c.value = fn(c.value)),
  getStatus: (c) => ({ shown: c.value }),
  terminate(self, c, reason) {
    c.terminated.push(reason);
    gen.exitBehaviour(self, reason);
  },
};

function cell(init: (self: Process) => unknown, terminated: ExitReason[] = []): (parent: Pid) => Cell {
  return (parent) => ({ value: undefined, init, parent, terminated });
}

describe('a behaviour written on gen.ts (start, stop, system messages)', () => {
  it('start resolves { ok: pid } once init acknowledges, and the loop then serves messages sent meanwhile in order', async () => {
    const node = newNode();
    let release!: (v: unknown) => void;
    const started = gen.start('nolink', node, CELL, cell(() => new Promise((resolve) => (release = resolve))), { name: 'cell' });
    await waitFor(() => node.whereis('cell'), 2000, 'the cell to be registered');
    node.send('cell', 'second');
    release({ ok: 'first' });
    const r = await started;
    expect(r).toEqual({ ok: node.whereis('cell') });
    expect(await gen.call(node, 'cell', 'read')).toBe('second');
  });

  it("start gives OTP's values for ignore, { stop }, a bad return, a throw, a taken name and an init timeout", async () => {
    const clock = new SimulatedClock();
    const node = newNode(clock);
    expect(await gen.start('nolink', node, CELL, cell(() => 'ignore'))).toBe('ignore');
    expect(await gen.start('nolink', node, CELL, cell(() => ({ stop: 'no' })))).toEqual({ error: 'no' });
    expect(await gen.start('nolink', node, CELL, cell(() => 42))).toEqual({ error: { badReturnValue: 42 } });
    expect(
      await gen.start('nolink', node, CELL, cell(() => {
        throw new Error('boom');
      })),
    ).toMatchObject({ error: { error: 'Error', message: 'boom' } });
    const first = await gen.start('nolink', node, CELL, cell(() => ({ ok: 1 })), { name: 'taken' });
    expect(await gen.start('nolink', node, CELL, cell(() => ({ ok: 2 })), { name: 'taken' })).toEqual({ error: { alreadyStarted: (first as { ok: Pid }).ok } });
    const slow = gen.start('nolink', node, CELL, cell(() => new Promise(() => undefined)), { timeout: 100 });
    await clock.advance(100);
    expect(await slow).toEqual({ error: 'timeout' });
    expect(node.processCount).toBe(1);
  });

  it("start('link') links the process to the caller and start('monitor') returns a monitor ref; both need a process", async () => {
    const node = newNode();
    const r = await runIn(node, async (self) => {
      const linked = (await gen.start('link', self, CELL, cell(() => ({ ok: 0 })))) as { ok: Pid };
      const monitored = (await gen.start('monitor', self, CELL, cell(() => ({ ok: 0 })))) as { ok: Pid; ref: unknown };
      return { self: self.pid, linked: linked.ok, monitored };
    });
    expect(node.processInfo(r.linked)?.links).toEqual([r.self]);
    expect(r.monitored.ref).toBeDefined();
    expect((await rejection(gen.start('link', node, CELL, cell(() => ({ ok: 0 }))))).code).toBe('ERR_BADARG');
    expect((await rejection(gen.start('monitor', node, CELL, cell(() => ({ ok: 0 }))))).code).toBe('ERR_BADARG');
  });

  it('sys requests go through the hooks and stop runs the terminate hook with the reason', async () => {
    const node = newNode();
    const terminated: ExitReason[] = [];
    const pid = (await gen.start('nolink', node, CELL, cell(() => ({ ok: 5 }), terminated))) as { ok: Pid };
    expect(await sys.getState(node, pid.ok)).toBe(5);
    expect(await sys.replaceState<number>(node, pid.ok, (n) => n * 2)).toBe(10);
    expect(await sys.getStatus(node, pid.ok)).toMatchObject({ module: 'cell', status: 'running', state: { shown: 10 } });
    const watch = watchDown(node, pid.ok);
    expect(await gen.stop(node, pid.ok, 'done')).toBe('ok');
    expect(terminated).toEqual(['done']);
    expect(watch.reason).toBe('done');
  });

  it("a trapping process whose parent exits runs its terminate hook (isParentExit), the node's system pid being the parent of a start from outside", async () => {
    const node = newNode();
    const terminated: ExitReason[] = [];
    const pid = (await gen.start('nolink', node, CELL, cell(() => ({ ok: 0 }), terminated), { trapExit: true })) as { ok: Pid };
    const watch = watchDown(node, pid.ok);
    node.exit(pid.ok, 'shutdown');
    await waitFor(() => watch.down, 2000, 'the cell to stop');
    expect(terminated).toEqual(['shutdown']);
  });
});
