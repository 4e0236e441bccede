import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { produce } from 'immer';
import {
  CallError,
  Node,
  RigilError,
  SimulatedClock,
  genServer,
  isExit,
  settle,
  sys,
  processStats,
  type ExitReason,
  type GenServerBehaviour,
  type GlobalNames,
  type Pid,
  type Process,
  type Report,
  type ServerPid,
  type StartResult,
} from '../src/index.js';
import { NodePool, nodeMaker, okPid, rejection, runIn, waitFor } from './helpers.js';

const pool = new NodePool();
const newNode = nodeMaker(pool);

afterEach(() => pool.stopAll());

/** Records the exit reason of `pid` through a monitor held by the node. */
function exitReasonOf(node: Node, pid: Pid): { reason?: ExitReason; down: boolean } {
  const box: { reason?: ExitReason; down: boolean } = { down: false };
  node.monitor(pid, {
    onDown: (_ref, reason) => {
      box.down = true;
      box.reason = reason;
    },
  });
  return box;
}

/** A map-backed stand-in for @rigil/net's global registry. */
function fakeGlobal(node: Node): Map<string, Pid> {
  const names = new Map<string, Pid>();
  const g: GlobalNames = {
    whereis: (name) => {
      const p = names.get(name);
      return p !== undefined && node.isAlive(p) ? p : undefined;
    },
    register: async (name, pid) => {
      if (names.has(name) && node.isAlive(names.get(name)!)) return 'no';
      names.set(name, pid);
      return 'yes';
    },
  };
  node.globalNames = g;
  return names;
}

const idle: GenServerBehaviour<null, undefined> = {
  init: () => ({ ok: null }),
  handleCall: (_req, _from, s) => ({ reply: 'ok', state: s }),
};

/** A server that answers `{ stop: reason }` calls by stopping with that reason, and `crash` by throwing. */
const stopper: GenServerBehaviour<null, undefined> = {
  init: () => ({ ok: null }),
  handleCall: (req, _from, s) => {
    const r = req as { stop?: ExitReason; stopNoReply?: ExitReason } | string;
    if (r === 'crash') throw new Error('crashed');
    if (typeof r === 'object' && 'stop' in r) return { stop: r.stop, reply: 'stopping', state: s };
    if (typeof r === 'object' && 'stopNoReply' in r) return { stop: r.stopNoReply, state: s };
    return { reply: 'ok', state: s };
  },
};

describe('start', () => {
  // Scenario 6 — start variants
  it('an anonymous start resolves { ok: pid } after init has run, with a live behaviour process', async () => {
    const node = newNode();
    let initArgs: unknown;
    const r = await genServer.start(node, { init: (args: number) => ((initArgs = args), { ok: args * 2 }) }, 21);
    const pid = okPid(r);
    expect(initArgs).toBe(21);
    expect(node.isAlive(pid)).toBe(true);
    expect(node.processInfo(pid)?.kind).toBe('behaviour');
    expect(await sys.getState(node, pid)).toBe(42);
  });

  // Scenario 6 — start variants
  it('a second start under a taken local name returns { error: { alreadyStarted: pid } } and leaves the first server alone', async () => {
    const node = newNode();
    const first = okPid(await genServer.start(node, idle, undefined, { name: 'hubba' }));
    expect(node.whereis('hubba')).toBe(first);
    const count = node.processCount;
    let secondInitRan = false;
    const second = await genServer.start(node, { init: () => ((secondInitRan = true), { ok: null }) }, undefined, { name: 'hubba' });
    expect(second).toEqual({ error: { alreadyStarted: first } });
    expect(secondInitRan).toBe(false);
    expect(node.processCount).toBe(count);
    expect(node.whereis('hubba')).toBe(first);
    expect(await genServer.call(node, 'hubba', 'ping')).toBe('ok');
  });

  // Scenario 6 — start variants
  it('a second start under a taken global name returns { error: { alreadyStarted: pid } }', async () => {
    const node = newNode();
    const names = fakeGlobal(node);
    const first = okPid(await genServer.start(node, idle, undefined, { name: { global: 'hubba' } }));
    expect(names.get('hubba')).toBe(first);
    const second = await genServer.start(node, idle, undefined, { name: { global: 'hubba' } });
    expect(second).toEqual({ error: { alreadyStarted: first } });
    expect(await genServer.call(node, { global: 'hubba' }, 'ping')).toBe('ok');
  });

  // Scenario 6 — start variants
  it('init returning ignore makes start return ignore, and the process and its name are gone', async () => {
    const node = newNode();
    let pid: Pid | undefined;
    let exit: { reason?: ExitReason; down: boolean } | undefined;
    const r = await genServer.start(
      node,
      {
        init: (_a, self) => {
          pid = self.pid;
          exit = exitReasonOf(node, self.pid);
          return 'ignore';
        },
      },
      undefined,
      { name: 'ign' },
    );
    expect(r).toBe('ignore');
    expect(node.isAlive(pid!)).toBe(false);
    expect(node.whereis('ign')).toBeUndefined();
    expect(exit).toEqual({ down: true, reason: 'normal' });
  });

  // Scenario 6 — start variants
  it('init returning { stop: stopped } makes start return { error: stopped } and the process exits with stopped', async () => {
    const node = newNode();
    let pid: Pid | undefined;
    let exit: { reason?: ExitReason; down: boolean } | undefined;
    const r = await genServer.start(
      node,
      {
        init: (_a, self) => {
          pid = self.pid;
          exit = exitReasonOf(node, self.pid);
          return { stop: 'stopped' };
        },
      },
      undefined,
    );
    expect(r).toEqual({ error: 'stopped' });
    expect(node.isAlive(pid!)).toBe(false);
    expect(exit).toEqual({ down: true, reason: 'stopped' });
  });

  // Scenario 6 — start variants
  it('start with a 100 ms timeout and an init that does not return gives { error: timeout } and kills the process', async () => {
    const clock = new SimulatedClock();
    const node = newNode(clock);
    let pid: Pid | undefined;
    let exit: { reason?: ExitReason; down: boolean } | undefined;
    let result: StartResult | undefined;
    void genServer
      .start(
        node,
        {
          init: (_a, self) => {
            pid = self.pid;
            exit = exitReasonOf(node, self.pid);
            return new Promise<never>(() => undefined); // init sleeps forever
          },
        },
        undefined,
        { timeout: 100 },
      )
      .then((r) => (result = r));
    await clock.advance(99);
    expect(result).toBeUndefined();
    expect(node.isAlive(pid!)).toBe(true);
    await clock.advance(1);
    await settle();
    expect(result).toEqual({ error: 'timeout' });
    expect(node.isAlive(pid!)).toBe(false);
    expect(exit).toEqual({ down: true, reason: 'killed' });
  });

  // Scenario 6 — start variants
  it('startLink from a trapping process, then stop(pid, stopped): the parent receives EXIT stopped and calling the dead pid fails with noproc', async () => {
    const node = newNode();
    const out = await runIn(node, async (self) => {
      self.trapExit(true);
      const pid = okPid(await genServer.startLink(self, idle, undefined));
      expect(node.processInfo(self.pid)?.links).toContain(pid);
      const stopped = await genServer.stop(self, pid, 'stopped');
      const exit = await self.receive(isExit, 5000);
      const callErr = await rejection(genServer.call(self, pid, 'ping'));
      return { pid, stopped, exit, callErr };
    });
    expect(out.stopped).toBe('ok');
    expect(out.exit).toEqual({ tag: 'EXIT', from: out.pid, reason: 'stopped' });
    expect(out.callErr).toBeInstanceOf(CallError);
    expect(out.callErr.code).toBe('ERR_CALL_NOPROC');
    expect(out.callErr.reason).toBe('noproc');
  });

  // Scenario 6 — start variants
  it('startLink from a trapping process, then a call returning { stop: stopped }: the caller gets the reply and the parent receives EXIT stopped', async () => {
    const node = newNode();
    const out = await runIn(node, async (self) => {
      self.trapExit(true);
      const pid = okPid(await genServer.startLink(self, stopper, undefined));
      const reply = await genServer.call(self, pid, { stop: 'stopped' });
      const exit = await self.receive(isExit, 5000);
      return { pid, reply, exit, alive: node.isAlive(pid) };
    });
    expect(out.reply).toBe('stopping');
    expect(out.exit).toEqual({ tag: 'EXIT', from: out.pid, reason: 'stopped' });
    expect(out.alive).toBe(false);
  });

  it('startLink from a non-trapping process whose init returns { stop: stopped } kills the caller with stopped', async () => {
    const node = newNode();
    const witness: unknown[] = [];
    const observer = node.spawn(async (self) => {
      for (;;) witness.push(await self.receive());
    });
    const parent = node.spawn(async (self) => {
      const r = await genServer.startLink(self, { init: () => ({ stop: 'stopped' }) }, undefined);
      self.send(observer, { parentStillRunning: r });
    });
    const exit = exitReasonOf(node, parent);
    await waitFor(() => exit.down, 2000, 'the parent to exit');
    expect(exit.reason).toBe('stopped');
    await settle();
    expect(witness).toEqual([]);
  });
});

describe('call', () => {
  // Scenario 8 — call semantics
  it('a call returns the reply of handleCall, which sees the caller pid in from', async () => {
    const node = newNode();
    let fromPid: Pid | undefined;
    const pid = okPid(
      await genServer.start(
        node,
        {
          init: () => ({ ok: 10 }),
          handleCall: (req: number, from, n) => ((fromPid = from.pid), { reply: n + req, state: n + req }),
        } satisfies GenServerBehaviour<number, undefined, { call: number; reply: number }>,
        undefined,
      ),
    );
    const out = await runIn(node, async (self) => ({ me: self.pid, a: await genServer.call(self, pid, 1), b: await genServer.call(self, pid, 5) }));
    expect(out.a).toBe(11);
    expect(out.b).toBe(16);
    expect(fromPid).toBe(out.me);
    // from outside any process the caller is the node's system pid
    expect(await genServer.call(node, pid, 0)).toBe(16);
    expect(fromPid).toBe(node.systemPid);
  });

  // Scenario 8 — call semantics
  it('calling a dead pid rejects with ERR_CALL_NOPROC', async () => {
    const node = newNode();
    const pid = okPid(await genServer.start(node, idle, undefined));
    await genServer.stop(node, pid);
    const err = await rejection(genServer.call(node, pid, 'ping'));
    expect(err).toBeInstanceOf(CallError);
    expect(err.code).toBe('ERR_CALL_NOPROC');
    expect(err.reason).toBe('noproc');
    expect(err.server).toBe(pid);
    expect(err.request).toBe('ping');
  });

  // Scenario 8 — call semantics
  it('calling an unregistered local name rejects with ERR_CALL_NOPROC, by name and by [name, this node]', async () => {
    const node = newNode();
    const byName = await rejection(genServer.call(node, 'nobody', 'ping'));
    expect(byName.code).toBe('ERR_CALL_NOPROC');
    const byTuple = await rejection(genServer.call(node, ['nobody', node.name], 'ping'));
    expect(byTuple.code).toBe('ERR_CALL_NOPROC');
  });

  // Scenario 8 — call semantics
  it('a server calling itself by pid or by its name gets ERR_CALLING_SELF instead of deadlocking', async () => {
    const node = newNode();
    const pid = okPid(
      await genServer.start(
        node,
        {
          init: () => ({ ok: null }),
          handleCall: async (req: 'byPid' | 'byName', _from, s, self) => {
            const target = req === 'byPid' ? self.pid : 'selfish';
            try {
              await genServer.call(self, target, 'x', 100);
              return { reply: 'no error', state: s };
            } catch (e) {
              return { reply: (e as CallError).code, state: s };
            }
          },
        },
        undefined,
        { name: 'selfish' },
      ),
    );
    expect(await genServer.call(node, pid, 'byPid')).toBe('ERR_CALLING_SELF');
    expect(await genServer.call(node, pid, 'byName')).toBe('ERR_CALLING_SELF');
  });

  // Scenario 8 — call semantics
  it('a call whose reply comes after its timeout rejects with ERR_CALL_TIMEOUT and the late reply never lands in the caller mailbox', async () => {
    const clock = new SimulatedClock();
    const node = newNode(clock);
    const served: string[] = [];
    const pid = okPid(
      await genServer.start(
        node,
        {
          init: () => ({ ok: null }),
          handleCall: (req: { delayedAnswer: number } | 'ping', from, s, self) => {
            if (req === 'ping') return { reply: 'pong', state: s };
            self.sendAfter(req.delayedAnswer, self.pid, { answer: from });
            return { noreply: s };
          },
          handleInfo: (m, s) => {
            (m as { answer: genServer.From }).answer.reply('late');
            served.push('replied');
            return { noreply: s };
          },
        },
        undefined,
      ),
    );
    const errors: CallError[] = [];
    let callerPid: Pid | undefined;
    const caller = runIn(node, async (self) => {
      callerPid = self.pid;
      errors.push(await rejection(genServer.call(self, pid, { delayedAnswer: 30 }, 1)));
      await self.receive((m) => m === 'finish');
      return self.flush();
    });
    await settle();
    expect(errors).toEqual([]);
    await clock.advance(1);
    await waitFor(() => errors.length === 1, 2000, 'the call to time out');
    expect(errors[0]!.code).toBe('ERR_CALL_TIMEOUT');
    expect(errors[0]!.reason).toBe('timeout');
    await clock.advance(30);
    await waitFor(() => served.length === 1, 2000, 'the server to send its late reply');
    await settle();
    expect(node.processInfo(callerPid!)?.messageQueueLen).toBe(0);
    node.send(callerPid!, 'finish');
    expect(await caller).toEqual([]);
    // the server finished the request and keeps serving
    expect(node.isAlive(pid)).toBe(true);
    expect(await genServer.call(node, pid, 'ping')).toBe('pong');
  });

  // Scenario 8 — call semantics
  it('a bad callback return fails the call with ERR_CALL_EXIT { badReturnValue } and the server exits with that reason', async () => {
    const node = newNode();
    const pid = okPid(
      await genServer.start(node, { init: () => ({ ok: null }), handleCall: () => 'badreturn' as never }, undefined),
    );
    const exit = exitReasonOf(node, pid);
    const err = await rejection(genServer.call(node, pid, 'anything'));
    expect(err.code).toBe('ERR_CALL_EXIT');
    expect(err.reason).toEqual({ badReturnValue: 'badreturn' });
    expect(node.isAlive(pid)).toBe(false);
    expect(exit).toEqual({ down: true, reason: { badReturnValue: 'badreturn' } });
  });

  it('a call to a server that throws while handling it fails with ERR_CALL_EXIT carrying the error', async () => {
    const node = newNode();
    const pid = okPid(await genServer.start(node, stopper, undefined));
    const err = await rejection(genServer.call(node, pid, 'crash'));
    expect(err.code).toBe('ERR_CALL_EXIT');
    expect(err.reason).toMatchObject({ error: 'Error', message: 'crashed' });
    expect(node.isAlive(pid)).toBe(false);
  });
});

describe('stop', () => {
  // Scenario 7 — gen_server:stop
  it('stop resolves ok with the process already gone, and a second stop rejects with ERR_CALL_NOPROC', async () => {
    const node = newNode();
    const pid = okPid(await genServer.start(node, idle, undefined));
    const exit = exitReasonOf(node, pid);
    expect(await genServer.stop(node, pid)).toBe('ok');
    expect(node.isAlive(pid)).toBe(false);
    expect(node.processInfo(pid)).toBeUndefined();
    expect(exit).toEqual({ down: true, reason: 'normal' });
    const again = await rejection(genServer.stop(node, pid));
    expect(again.code).toBe('ERR_CALL_NOPROC');
  });

  // Scenario 7 — gen_server:stop
  it('stop with another reason resolves ok and the server exits with that reason', async () => {
    const node = newNode();
    const pid = okPid(await genServer.start(node, idle, undefined));
    const exit = exitReasonOf(node, pid);
    expect(await genServer.stop(node, pid, 'other_reason', Infinity)).toBe('ok');
    expect(node.isAlive(pid)).toBe(false);
    expect(exit.reason).toBe('other_reason');
  });

  // Scenario 7 — gen_server:stop
  it('stop by local name resolves ok and frees the name; stopping the name again rejects with ERR_CALL_NOPROC', async () => {
    const node = newNode();
    const pid = okPid(await genServer.start(node, idle, undefined, { name: 'to_stop' }));
    expect(await genServer.stop(node, 'to_stop')).toBe('ok');
    expect(node.isAlive(pid)).toBe(false);
    expect(node.whereis('to_stop')).toBeUndefined();
    const again = await rejection(genServer.stop(node, 'to_stop'));
    expect(again.code).toBe('ERR_CALL_NOPROC');
  });

  // Scenario 7 — gen_server:stop
  it('stop from inside another process resolves ok', async () => {
    const node = newNode();
    const pid = okPid(await genServer.start(node, idle, undefined));
    const r = await runIn(node, (self) => genServer.stop(self, pid, 'shutdown'));
    expect(r).toBe('ok');
    expect(node.isAlive(pid)).toBe(false);
  });
});

describe('cast, info and abcast', () => {
  function recorder(log: unknown[]): GenServerBehaviour<null, undefined> {
    return {
      init: () => ({ ok: null }),
      handleCast: (msg, s) => (log.push(['cast', msg]), { noreply: s }),
      handleInfo: (msg, s) => (log.push(['info', msg]), { noreply: s }),
    };
  }

  // Scenario 10 — cast/info/abcast
  it('cast returns at once and handleCast runs with the message', async () => {
    const node = newNode();
    const log: unknown[] = [];
    const pid = okPid(await genServer.start(node, recorder(log), undefined, { name: 'rec' }));
    expect(genServer.cast(node, pid, 'hello')).toBeUndefined();
    expect(genServer.cast(node, 'rec', 'by name')).toBeUndefined();
    await runIn(node, (self) => genServer.cast(self, pid, 'from a process'));
    await waitFor(() => log.length === 3, 2000, 'three casts');
    expect(log).toEqual([
      ['cast', 'hello'],
      ['cast', 'by name'],
      ['cast', 'from a process'],
    ]);
  });

  // Scenario 10 — cast/info/abcast
  it('cast to a name on an unreachable node, to an unregistered name or to a dead pid returns immediately without throwing', async () => {
    const node = newNode();
    const pid = okPid(await genServer.start(node, idle, undefined));
    await genServer.stop(node, pid);
    const t0 = performance.now();
    expect(genServer.cast(node, ['hopp', 'unreachable@nowhere'], 'hello')).toBeUndefined();
    expect(genServer.cast(node, 'nobody', 'hello')).toBeUndefined();
    expect(genServer.cast(node, pid, 'hello')).toBeUndefined();
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  // Scenario 10 — cast/info/abcast
  it('a raw message that is neither a call nor a cast goes to handleInfo', async () => {
    const node = newNode();
    const log: unknown[] = [];
    const pid = okPid(await genServer.start(node, recorder(log), undefined));
    node.send(pid, { raw: 1 });
    node.send(pid, 'plain');
    await waitFor(() => log.length === 2, 2000, 'two infos');
    expect(log).toEqual([
      ['info', { raw: 1 }],
      ['info', 'plain'],
    ]);
  });

  // Scenario 10 — cast/info/abcast
  it('abcast returns abcast and casts to the named server on this node, ignoring unreachable nodes', async () => {
    const node = newNode();
    const log: unknown[] = [];
    okPid(await genServer.start(node, recorder(log), undefined, { name: 'ab' }));
    expect(genServer.abcast(node, [node.name, 'unreachable@nowhere'], 'ab', 'to all')).toBe('abcast');
    await waitFor(() => log.length === 1, 2000, 'the abcast');
    expect(log).toEqual([['cast', 'to all']]);
  });
});

describe('terminate', () => {
  function terminating(log: unknown[], trapExit = false): GenServerBehaviour<number, undefined> {
    return {
      init: (_a, self) => {
        if (trapExit) self.trapExit(true);
        return { ok: 7 };
      },
      handleCall: (req, _from, s, self) => {
        if (req === 'crash') throw new Error('boom');
        if (req === 'exit') self.exit('crashed');
        return { stop: 'bye', reply: 'bye', state: s + 1 };
      },
      handleCast: (_m, s) => ({ stop: { shutdown: 'cast' }, state: s + 2 }),
      handleInfo: (m, s) => (log.push(['info', m]), { noreply: s }),
      terminate: (reason, s) => {
        log.push(['terminate', reason, s]);
      },
    };
  }

  it('terminate runs with the reason and state when the server is stopped', async () => {
    const node = newNode();
    const log: unknown[] = [];
    const pid = okPid(await genServer.start(node, terminating(log), undefined));
    await genServer.stop(node, pid, 'normal');
    expect(log).toEqual([['terminate', 'normal', 7]]);
  });

  it('terminate runs with the stop reason and new state when a callback returns { stop }', async () => {
    const node = newNode();
    const log: unknown[] = [];
    const a = okPid(await genServer.start(node, terminating(log), undefined));
    expect(await genServer.call(node, a, 'stop')).toBe('bye');
    expect(log).toEqual([['terminate', 'bye', 8]]);
    const b = okPid(await genServer.start(node, terminating(log), undefined));
    const exit = exitReasonOf(node, b);
    genServer.cast(node, b, 'stop');
    await waitFor(() => exit.down, 2000, 'the server to stop');
    expect(log[1]).toEqual(['terminate', { shutdown: 'cast' }, 9]);
  });

  it('terminate runs with the crash reason when a callback throws', async () => {
    const node = newNode();
    const log: unknown[] = [];
    const pid = okPid(await genServer.start(node, terminating(log), undefined));
    await rejection(genServer.call(node, pid, 'crash'));
    expect(log).toEqual([['terminate', expect.objectContaining({ error: 'Error', message: 'boom' }), 7]]);
  });

  it('terminate runs with the reason when a callback exits with self.exit (OTP catches exit/1 in callbacks)', async () => {
    const node = newNode();
    const log: unknown[] = [];
    const pid = okPid(await genServer.start(node, terminating(log), undefined));
    const err = await rejection(genServer.call(node, pid, 'exit'));
    expect(err.reason).toBe('crashed');
    expect(log).toEqual([['terminate', 'crashed', 7]]);
  });

  /** Starts a server linked to a fresh parent process that then waits forever; returns both pids. */
  async function linkedToParent(node: Node, behaviour: GenServerBehaviour<number, undefined>, trapExit: boolean): Promise<{ parent: Pid; server: Pid }> {
    let server: Pid | undefined;
    const parent = node.spawn(async (self) => {
      server = okPid(await genServer.startLink(self, behaviour, undefined, { trapExit }));
      await self.receive(() => false);
    });
    await waitFor(() => server, 2000, 'the linked server');
    return { parent, server: server! };
  }

  it('a trapping server runs terminate when its parent exits', async () => {
    const node = newNode();
    const log: unknown[] = [];
    const { parent, server } = await linkedToParent(node, terminating(log), true);
    const exit = exitReasonOf(node, server);
    node.exit(parent, 'shutdown');
    await waitFor(() => exit.down, 2000, 'the server to exit');
    expect(exit.reason).toBe('shutdown');
    expect(log).toEqual([['terminate', 'shutdown', 7]]);
  });

  it('a non-trapping server killed by its parent exit signal dies without running terminate', async () => {
    const node = newNode();
    const log: unknown[] = [];
    const { parent, server } = await linkedToParent(node, terminating(log), false);
    const exit = exitReasonOf(node, server);
    node.exit(parent, 'shutdown');
    await waitFor(() => exit.down, 2000, 'the server to exit');
    expect(exit.reason).toBe('shutdown');
    expect(log).toEqual([]);
  });

  it('a trapping server hands an EXIT from a process other than its parent to handleInfo and keeps running', async () => {
    const node = newNode();
    const log: unknown[] = [];
    const { server } = await linkedToParent(node, terminating(log, true), false);
    const other = node.spawn(async (self) => {
      await self.receive(() => false);
    });
    const serverProc = node.process(server)!;
    serverProc.link(other);
    node.exit(other, 'bye');
    await waitFor(() => log.length === 1, 2000, 'handleInfo');
    expect(log).toEqual([['info', { tag: 'EXIT', from: other, reason: 'bye' }]]);
    expect(node.isAlive(server)).toBe(true);
  });
});

describe('handleContinue and idle timeout', () => {
  // Scenario 13 — continue + idle timeout
  it('handleContinue from init runs before messages queued while init was running', async () => {
    const node = newNode();
    const log: unknown[] = [];
    const started = genServer.start(
      node,
      {
        init: async (_a, self) => {
          self.send(self.pid, 'queued by init');
          await settle();
          return { ok: null, continue: 'x' };
        },
        handleContinue: async (c, s) => {
          await settle();
          log.push(['continue', c]);
          return { noreply: s };
        },
        handleInfo: (m, s) => (log.push(['info', m]), { noreply: s }),
      },
      undefined,
      { name: 'cont' },
    );
    node.send('cont', 'queued from outside');
    okPid(await started);
    await waitFor(() => log.length === 3, 2000, 'continue and two messages');
    expect(log).toEqual([
      ['continue', 'x'],
      ['info', 'queued by init'],
      ['info', 'queued from outside'],
    ]);
  });

  it('a continue returned by handleCall runs before the next queued message', async () => {
    const node = newNode();
    const log: unknown[] = [];
    const pid = okPid(
      await genServer.start(
        node,
        {
          init: () => ({ ok: null }),
          handleCall: (req, _from, s) => (log.push(['call', req]), { reply: 'ok', state: s, continue: 'after call' }),
          handleContinue: (c, s) => (log.push(['continue', c]), { noreply: s }),
          handleInfo: (m, s) => (log.push(['info', m]), { noreply: s }),
        },
        undefined,
      ),
    );
    const reply = genServer.call(node, pid, 'c');
    node.send(pid, 'raw');
    expect(await reply).toBe('ok');
    await waitFor(() => log.length === 3, 2000, 'three callbacks');
    expect(log).toEqual([
      ['call', 'c'],
      ['continue', 'after call'],
      ['info', 'raw'],
    ]);
  });

  function idleServer(clock: SimulatedClock, log: unknown[]): GenServerBehaviour<null, undefined> {
    return {
      init: () => ({ ok: null, continue: 'x' }),
      handleContinue: (_c, s) => (log.push(['continue', clock.now()]), { noreply: s, timeout: 500 }),
      handleCast: (m, s) => (log.push(['cast', m, clock.now()]), { noreply: s, timeout: 500 }),
      handleInfo: (m, s) => (log.push(['info', m, clock.now()]), { noreply: s }),
    };
  }

  // Scenario 13 — continue + idle timeout
  it('with handleContinue returning a 500 ms timeout, handleInfo(timeout) runs once, 500 ms later, when no message arrives', async () => {
    const clock = new SimulatedClock();
    const node = newNode(clock);
    const log: unknown[] = [];
    okPid(await genServer.start(node, idleServer(clock, log), undefined));
    await clock.advance(499);
    expect(log).toEqual([['continue', 0]]);
    await clock.advance(1);
    await waitFor(() => log.length === 2, 2000, 'the idle timeout');
    expect(log[1]).toEqual(['info', 'timeout', 500]);
    await clock.advance(5000);
    expect(log).toHaveLength(2);
  });

  // Scenario 13 — continue + idle timeout
  it('any message cancels the pending idle timeout', async () => {
    const clock = new SimulatedClock();
    const node = newNode(clock);
    const log: unknown[] = [];
    const pid = okPid(await genServer.start(node, idleServer(clock, log), undefined));
    await clock.advance(300);
    node.send(pid, 'ping');
    await waitFor(() => log.length === 2, 2000, 'the message');
    await clock.advance(5000);
    expect(log).toEqual([
      ['continue', 0],
      ['info', 'ping', 300],
    ]);
  });

  // Scenario 13 — continue + idle timeout
  it('a message whose handler returns a timeout restarts the countdown from that message', async () => {
    const clock = new SimulatedClock();
    const node = newNode(clock);
    const log: unknown[] = [];
    const pid = okPid(await genServer.start(node, idleServer(clock, log), undefined));
    await clock.advance(300);
    genServer.cast(node, pid, 'again');
    await waitFor(() => log.length === 2, 2000, 'the cast');
    await clock.advance(499);
    expect(log).toHaveLength(2);
    await clock.advance(1);
    await waitFor(() => log.length === 3, 2000, 'the idle timeout');
    expect(log).toEqual([
      ['continue', 0],
      ['cast', 'again', 300],
      ['info', 'timeout', 800],
    ]);
  });
});

describe('async callbacks', () => {
  it('an async handleCall makes the server take one message at a time, in arrival order', async () => {
    const node = newNode();
    const log: string[] = [];
    const gates: Array<() => void> = [];
    const pid = okPid(
      await genServer.start(
        node,
        {
          init: () => ({ ok: [] as number[] }),
          handleCall: async (n: number, _from, s) => {
            log.push(`start ${n}`);
            await new Promise<void>((resolve) => gates.push(resolve));
            log.push(`end ${n}`);
            return { reply: n * 10, state: [...s, n] };
          },
          handleCast: (m: string, s) => (log.push(`cast ${m}`), { noreply: s }),
        } satisfies GenServerBehaviour<number[], undefined, { call: number; reply: number; cast: string }>,
        undefined,
      ),
    );
    const replies = [genServer.call(node, pid, 1), genServer.call(node, pid, 2)];
    genServer.cast(node, pid, 'between');
    replies.push(genServer.call(node, pid, 3));
    await waitFor(() => gates.length === 1, 2000, 'the first call');
    await settle();
    expect(log).toEqual(['start 1']);
    gates[0]!();
    await waitFor(() => gates.length === 2, 2000, 'the second call');
    await settle();
    expect(log).toEqual(['start 1', 'end 1', 'start 2']);
    gates[1]!();
    await waitFor(() => gates.length === 3, 2000, 'the third call');
    gates[2]!();
    expect(await Promise.all(replies)).toEqual([10, 20, 30]);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'cast between', 'start 3', 'end 3']);
    expect(await sys.getState(node, pid)).toEqual([1, 2, 3]);
  });

  it('an async callback that rejects crashes the server with the error as reason', async () => {
    const node = newNode();
    const pid = okPid(
      await genServer.start(
        node,
        {
          init: () => ({ ok: null }),
          handleCall: async () => {
            await settle();
            throw new TypeError('async boom');
          },
        },
        undefined,
      ),
    );
    const err = await rejection(genServer.call(node, pid, 'x'));
    expect(err.code).toBe('ERR_CALL_EXIT');
    expect(err.reason).toMatchObject({ error: 'TypeError', message: 'async boom' });
    expect(node.isAlive(pid)).toBe(false);
  });
});

describe('typed protocol', () => {
  type CounterProtocol = { call: 'get' | { add: number }; reply: number; cast: 'inc' | 'reset' };
  const counter: GenServerBehaviour<number, number, CounterProtocol> = {
    init: (start) => ({ ok: start }),
    handleCall: (req, _from, n) => (req === 'get' ? { reply: n, state: n } : { reply: n + req.add, state: n + req.add }),
    handleCast: (msg, n) => ({ noreply: msg === 'inc' ? n + 1 : 0 }),
  };

  it('a server declared with a protocol is called and cast with checked request and reply types', async () => {
    const node = newNode();
    const pid = okPid(await genServer.start(node, counter, 5, { name: 'counter' }));
    expectTypeOf(pid).toEqualTypeOf<ServerPid<CounterProtocol>>();
    const n = await genServer.call(node, pid, 'get');
    expectTypeOf(n).toEqualTypeOf<number>();
    expect(n).toBe(5);
    expect(await genServer.call(node, pid, { add: 3 })).toBe(8);
    genServer.cast(node, pid, 'inc');
    const byName = genServer.serverName<CounterProtocol>('counter');
    expect(await genServer.call(node, byName, 'get')).toBe(9);
    genServer.cast(node, byName, 'reset');
    expect(await genServer.call(node, byName, 'get')).toBe(0);

    // Never run: these lines only prove that tsc rejects requests outside the protocol.
    const _rejectedAtCompileTime = (): unknown[] => [
      // @ts-expect-error 'wrong' is not a call of CounterProtocol
      genServer.call(node, pid, 'wrong'),
      // @ts-expect-error 'dec' is not a cast of CounterProtocol
      genServer.cast(node, pid, 'dec'),
    ];
  });
});

describe('crash reports', () => {
  function collect(node: Node): Report[] {
    const reports: Report[] = [];
    node.onReport((r) => reports.push(r));
    return reports;
  }

  // Scenario 12 — crash reports
  it.each([
    ['{ shutdown: reason }', { shutdown: 'reason' }],
    ['shutdown', 'shutdown'],
  ] as const)('an exit with %s reaches the caller and a trapping linked parent, with no crash report', async (_title, reason) => {
    const node = newNode();
    const reports = collect(node);
    const out = await runIn(node, async (self) => {
      self.trapExit(true);
      const pid = okPid(await genServer.startLink(self, stopper, undefined));
      const err = await rejection(genServer.call(self, pid, { stopNoReply: reason }));
      const exit = await self.receive(isExit, 5000);
      return { pid, err, exit };
    });
    expect(out.err.code).toBe('ERR_CALL_EXIT');
    expect(out.err.reason).toEqual(reason);
    expect(out.exit).toEqual({ tag: 'EXIT', from: out.pid, reason });
    expect(reports.filter((r) => r.pid === out.pid)).toEqual([]);
  });

  // Scenario 12 — crash reports
  it('a crash gives the caller ERR_CALL_EXIT with the crash reason, the trapping parent an EXIT, and exactly one crash report', async () => {
    const node = newNode();
    const reports = collect(node);
    const out = await runIn(node, async (self) => {
      self.trapExit(true);
      const pid = okPid(await genServer.startLink(self, stopper, undefined));
      const err = await rejection(genServer.call(self, pid, 'crash'));
      const exit = await self.receive(isExit, 5000);
      return { pid, err, exit };
    });
    const crashReason = expect.objectContaining({ error: 'Error', message: 'crashed' });
    expect(out.err.code).toBe('ERR_CALL_EXIT');
    expect(out.err.reason).toEqual(crashReason);
    expect(out.exit).toEqual({ tag: 'EXIT', from: out.pid, reason: crashReason });
    const crashes = reports.filter((r) => r.kind === 'crash' && r.pid === out.pid);
    expect(crashes).toHaveLength(1);
    expect(crashes[0]!.reason).toEqual(crashReason);
  });

  // Scenario 12 — crash reports
  it('a server stopping with a non-shutdown reason such as crashed gives exactly one crash report', async () => {
    const node = newNode();
    const reports = collect(node);
    const pid = okPid(await genServer.start(node, stopper, undefined));
    const err = await rejection(genServer.call(node, pid, { stopNoReply: 'crashed' }));
    expect(err.reason).toBe('crashed');
    const crashes = reports.filter((r) => r.kind === 'crash' && r.pid === pid);
    expect(crashes).toHaveLength(1);
    expect(crashes[0]!.reason).toBe('crashed');
  });
});

describe('state updates with immer', () => {
  interface Cart {
    items: string[];
    total: number;
  }

  it('a handler can produce the next state with immer without touching the previous one', async () => {
    const node = newNode();
    const pid = okPid(
      await genServer.start(
        node,
        {
          init: () => ({ ok: { items: [], total: 0 } }),
          handleCast: (msg: { add: string; price: number }, s) => ({
            noreply: produce(s, (d) => {
              d.items.push(msg.add);
              d.total += msg.price;
            }),
          }),
          handleCall: (_req: 'get', _from, s) => ({ reply: s, state: s }),
        } satisfies GenServerBehaviour<Cart, undefined, { call: 'get'; reply: Cart; cast: { add: string; price: number } }>,
        undefined,
      ),
    );
    const before = await genServer.call(node, pid, 'get');
    genServer.cast(node, pid, { add: 'apple', price: 2 });
    genServer.cast(node, pid, { add: 'pear', price: 3 });
    const after = await genServer.call(node, pid, 'get');
    expect(after).toEqual({ items: ['apple', 'pear'], total: 5 });
    expect(before).toEqual({ items: [], total: 0 });
    expect(after).not.toBe(before);
    expect(Object.isFrozen(after)).toBe(true);
  });
});

describe('bad input from JavaScript callers', () => {
  it('startLink and startMonitor given the node instead of the calling process reject with ERR_BADARG naming start(), and spawn nothing', async () => {
    const node = newNode();
    const before = node.processes();
    const notSelf = node as unknown as Process;
    for (const p of [genServer.startLink(notSelf, idle, undefined, { name: 'x' }), genServer.startMonitor(notSelf, idle, undefined)]) {
      const e = await rejection(p);
      expect(e).toBeInstanceOf(RigilError);
      expect(e.code).toBe('ERR_BADARG');
      expect(e.message).toContain('genServer.start()');
    }
    expect(node.processes()).toEqual(before);
    expect(node.whereis('x')).toBeUndefined();
  });

  it('node.stop() after a rejected startLink(node, …) resolves cleanly, and start(node, …) works as the alternative', async () => {
    const node = newNode();
    await rejection(genServer.startLink(node as unknown as Process, idle, undefined));
    const pid = okPid(await genServer.start(node, idle, undefined));
    expect(await genServer.call(node, pid, 'hello')).toBe('ok');
    await expect(node.stop()).resolves.toBeUndefined();
    expect(node.isAlive(pid)).toBe(false);
  });

  it('start given something that is neither a process nor a node rejects with ERR_BADARG', async () => {
    const node = newNode();
    for (const caller of [undefined, null, {}, 'a@host']) {
      const e = await rejection(genServer.start(caller as Node, idle, undefined));
      expect(e.code).toBe('ERR_BADARG');
    }
    expect(node.processCount).toBe(0);
  });

  it('a behaviour that is not an object, or has no init function, rejects start with ERR_BADARG', async () => {
    const node = newNode();
    for (const behaviour of [null, 42, 'server', {}, { init: 'ok' }]) {
      const e = await rejection(genServer.start(node, behaviour as unknown as GenServerBehaviour<null, undefined>, undefined));
      expect(e).toBeInstanceOf(RigilError);
      expect(e.code).toBe('ERR_BADARG');
    }
    expect(node.processCount).toBe(0);
  });

  it('a negative or non-numeric init timeout rejects start with ERR_BADARG before anything is spawned', async () => {
    const node = newNode();
    for (const timeout of [-1, Number.NaN, '100']) {
      const e = await rejection(genServer.start(node, idle, undefined, { timeout: timeout as number }));
      expect(e.code).toBe('ERR_BADARG');
    }
    expect(node.processCount).toBe(0);
  });
});

describe('the mailbox of a busy server', () => {
  /** A server that records what it handles; `gate` holds it busy until `open` is called. */
  function gated(): { behaviour: GenServerBehaviour<unknown[]>; seen: unknown[]; open: () => void } {
    const seen: unknown[] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const behaviour: GenServerBehaviour<unknown[]> = {
      init: () => ({ ok: seen }),
      async handleInfo(m, s, self) {
        s.push(m);
        if (m === 'gate') await gate;
        if (m === 'recv') {
          await gate;
          // Receives from a callback: 'x' arrived first (to an empty mailbox), then 'y' and 'z'.
          s.push(await self.receive((x) => x === 'y'));
          s.push(await self.receive());
        }
        return { noreply: s };
      },
    };
    return { behaviour, seen, open };
  }

  it('counts, weighs and hands over its messages in arrival order', async () => {
    const node = newNode();
    const g = gated();
    const pid = okPid(await genServer.start(node, g.behaviour, undefined));
    node.send(pid, 'gate');
    await waitFor(() => g.seen.length === 1);
    node.send(pid, 'a'); // to an empty mailbox while the server is busy
    node.send(pid, { b: 1 });
    node.send(pid, 'c');
    expect(node.processInfo(pid)?.messageQueueLen).toBe(3);
    expect(processStats(node, pid)?.messageQueueLen).toBe(3);
    expect(node.processInfo(pid)?.messageQueueLen).toBe(3);
    g.open();
    await waitFor(() => g.seen.length === 4);
    expect(g.seen).toEqual(['gate', 'a', { b: 1 }, 'c']);
    expect(node.processInfo(pid)?.messageQueueLen).toBe(0);
  });

  it('lets a callback receive past the oldest message, and then the oldest one', async () => {
    const node = newNode();
    const g = gated();
    const pid = okPid(await genServer.start(node, g.behaviour, undefined));
    node.send(pid, 'recv');
    await waitFor(() => g.seen.length === 1);
    node.send(pid, 'x');
    node.send(pid, 'y');
    node.send(pid, 'z');
    g.open();
    await waitFor(() => g.seen.length === 4);
    expect(g.seen).toEqual(['recv', 'y', 'x', 'z']);
  });
});
