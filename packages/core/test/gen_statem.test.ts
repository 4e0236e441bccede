/**
 * gen_statem, after OTP's gen_statem_SUITE: the code lock in both callback modes, state enter
 * calls, postponing, inserted events, the three kinds of timeout, replies, stop, init results,
 * crash reasons for bad returns, and sys. Time is a SimulatedClock: nothing sleeps.
 */
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import {
  CallError,
  Node,
  genStatem,
  isExit,
  settle,
  supervisor,
  sys,
  type ExitReason,
  type HandleEventFunctionBehaviour,
  type Report,
  type StateFunction,
  type StateFunctionsBehaviour,
  type StatemPid,
  okPid,
} from '../src/index.js';
import { NodePool, rejection, runIn, waitFor, watchDown } from './helpers.js';

const pool = new NodePool();
afterEach(() => pool.stopAll());

/** The pid of a successful start (@rigil/core's `okPid`). */
const okStatem = okPid;

function reports(node: Node): Report[] {
  const out: Report[] = [];
  node.onReport((r) => out.push(r));
  return out;
}

// ---------------------------------------------------------------- the code lock (OTP's design principles example)

interface LockData {
  readonly code: readonly number[];
  readonly buttons: readonly number[];
}
type LockProtocol = { call: 'status'; reply: 'locked' | 'open'; cast: { button: number }; timeout: 'lock' };

const pressed = (data: LockData, button: number): readonly number[] => [...data.buttons, button].slice(-data.code.length);
const matches = (buttons: readonly number[], code: readonly number[]): boolean => buttons.join() === code.join();

/** state_functions: buttons are casts, `status` is a call, the door re-locks after 10 s. */
const codeLock: StateFunctionsBehaviour<'locked' | 'open', LockData, readonly number[], LockProtocol> = {
  callbackMode: 'state_functions',
  init: (code) => ({ ok: ['locked', { code, buttons: [] }] }),
  states: {
    locked(type, content, data) {
      if (type === 'cast') {
        const buttons = pressed(data, content.button);
        if (matches(buttons, data.code)) return { nextState: 'open', data: { ...data, buttons: [] }, actions: [{ stateTimeout: 10_000, content: 'lock' }] };
        return { nextState: 'locked', data: { ...data, buttons } };
      }
      if (typeof type === 'object') return { keepStateAndData: { reply: [type.call, 'locked'] } };
      return 'keep_state_and_data';
    },
    open(type, _content, data) {
      if (type === 'stateTimeout') return { nextState: 'locked', data };
      if (typeof type === 'object') return { keepStateAndData: [{ reply: [type.call, 'open'] }] };
      return { keepState: data }; // buttons are ignored while open
    },
  },
};

async function press(node: Node, lock: StatemPid<LockProtocol>, buttons: number[]): Promise<void> {
  for (const button of buttons) genStatem.cast(node, lock, { button });
  await settle();
}

describe('the code lock', () => {
  it('in state_functions mode opens on the right code and locks again when its 10 s state timeout fires', async () => {
    const { node, clock } = pool.simulated();
    const lock = okStatem(await genStatem.start(node, codeLock, [1, 2, 3], { name: 'lock' }));
    await press(node, lock, [1, 2]);
    expect(await genStatem.call(node, lock, 'status')).toBe('locked');
    await press(node, lock, [3]);
    expect(await genStatem.call(node, 'lock', 'status')).toBe('open');
    expect(await sys.getState(node, lock)).toEqual(['open', { code: [1, 2, 3], buttons: [] }]);
    await clock.advance(9_999);
    expect(await genStatem.call(node, lock, 'status')).toBe('open');
    await clock.advance(1);
    expect(await genStatem.call(node, lock, 'status')).toBe('locked');
  });

  it('in state_functions mode stays locked on a wrong code and keeps only the last buttons pressed', async () => {
    const { node } = pool.simulated();
    const lock = okStatem(await genStatem.start(node, codeLock, [1, 2, 3]));
    await press(node, lock, [3, 2, 1, 9]);
    expect(await sys.getState(node, lock)).toEqual(['locked', { code: [1, 2, 3], buttons: [2, 1, 9] }]);
    await press(node, lock, [1, 2, 3]);
    expect(await genStatem.call(node, lock, 'status')).toBe('open');
  });

  it('in handle_event_function mode with state_enter gets an enter call on start and on every state change', async () => {
    const { node, clock } = pool.simulated();
    const entered: string[] = [];
    const lock: HandleEventFunctionBehaviour<'locked' | 'open', LockData, readonly number[], LockProtocol> = {
      callbackMode: ['handle_event_function', 'state_enter'],
      init: (code) => ({ ok: ['locked', { code, buttons: [9] }] }),
      handleEvent(type, content, state, data) {
        if (type === 'enter') {
          entered.push(`${state} from ${content}`);
          // Entering `locked` clears the buttons; entering `open` arms the re-lock.
          if (state === 'locked') return { keepState: { ...data, buttons: [] } };
          return { keepStateAndData: { stateTimeout: 10_000, content: 'lock' } };
        }
        if (type === 'stateTimeout') return { nextState: 'locked', data };
        if (type === 'cast' && state === 'locked') {
          const buttons = pressed(data, content.button);
          return matches(buttons, data.code) ? { nextState: 'open', data } : { keepState: { ...data, buttons } };
        }
        if (typeof type === 'object') return { keepStateAndData: { reply: [type.call, state] } };
        return 'keep_state_and_data';
      },
    };
    const pid = okStatem(await genStatem.start(node, lock, [4, 2]));
    // The first enter call has the initial state as its old state, and its result applies.
    expect(entered).toEqual(['locked from locked']);
    expect(await sys.getState(node, pid)).toEqual(['locked', { code: [4, 2], buttons: [] }]);
    await press(node, pid, [4, 2]);
    expect(await genStatem.call(node, pid, 'status')).toBe('open');
    await clock.advance(10_000);
    expect(await genStatem.call(node, pid, 'status')).toBe('locked');
    expect(entered).toEqual(['locked from locked', 'open from locked', 'locked from open']);
    expect(await sys.getState(node, pid)).toEqual(['locked', { code: [4, 2], buttons: [] }]);
  });
});

// ---------------------------------------------------------------- a machine that logs what it sees

type Logged = HandleEventFunctionBehaviour<string, null, undefined>;

/** A handle_event_function machine in state `first` that logs each event and answers with `rules(…)`. */
function logger(
  log: string[],
  rules: (type: unknown, content: unknown, state: string) => ReturnType<Logged['handleEvent']> | undefined,
  options: { stateEnter?: boolean; initActions?: unknown[] } = {},
): Logged {
  return {
    callbackMode: options.stateEnter ? ['handle_event_function', 'state_enter'] : 'handle_event_function',
    init: () => ({ ok: ['first', null, options.initActions as never] }),
    handleEvent(type, content, state, _data) {
      log.push(`${state} ${typeName(type)} ${String(content)}`);
      return rules(type, content, state) ?? 'keep_state_and_data';
    },
  };
}

function typeName(type: unknown): string {
  if (typeof type === 'string') return type;
  const o = type as { call?: unknown; timeout?: string };
  return o.call !== undefined ? 'call' : `timeout:${o.timeout}`;
}

describe('postpone', () => {
  it('retries postponed events after a state change, oldest first, and not after a change of data or a repeat_state', async () => {
    const { node } = pool.simulated();
    const log: string[] = [];
    const machine = logger(log, (type, content, state) => {
      if (type !== 'cast') return undefined;
      if (state === 'first') {
        if (content === 'go') return { nextState: 'second', data: null };
        if (content === 'stay') return { keepState: null };
        if (content === 'repeat') return 'repeat_state_and_data';
        return { keepStateAndData: 'postpone' };
      }
      return undefined;
    });
    const pid = okStatem(await genStatem.start(node, machine, undefined));
    for (const c of ['a', 'b', 'stay', 'c', 'repeat', 'go', 'd']) genStatem.cast(node, pid, c);
    expect(await sys.getState(node, pid)).toEqual(['second', null]);
    expect(log).toEqual([
      'first cast a',
      'first cast b',
      'first cast stay',
      'first cast c',
      'first cast repeat',
      'first cast go',
      'second cast a',
      'second cast b',
      'second cast c',
      'second cast d',
    ]);
  });

  it('retries an event postponed by the callback that changes the state, after the older postponed ones', async () => {
    const { node } = pool.simulated();
    const log: string[] = [];
    const machine = logger(log, (type, content, state) => {
      if (type !== 'cast' || state !== 'first') return undefined;
      return content === 'go' ? { nextState: 'second', data: null, actions: 'postpone' } : { keepStateAndData: 'postpone' };
    });
    const pid = okStatem(await genStatem.start(node, machine, undefined));
    for (const c of ['a', 'go', 'b']) genStatem.cast(node, pid, c);
    await sys.getState(node, pid);
    expect(log).toEqual(['first cast a', 'first cast go', 'second cast a', 'second cast go', 'second cast b']);
  });
});

describe('nextEvent', () => {
  it('handles inserted events in order, before the messages already in the mailbox', async () => {
    const { node } = pool.simulated();
    const log: string[] = [];
    const machine = logger(log, (type, content) =>
      type === 'cast' && content === 'burst'
        ? {
            keepStateAndData: [
              { nextEvent: 'internal', content: 1 },
              { nextEvent: 'internal', content: 2 },
              { nextEvent: 'cast', content: 'inner' },
            ],
          }
        : undefined,
    );
    const pid = okStatem(await genStatem.start(node, machine, undefined));
    genStatem.cast(node, pid, 'burst');
    genStatem.cast(node, pid, 'after');
    await sys.getState(node, pid);
    expect(log).toEqual(['first cast burst', 'first internal 1', 'first internal 2', 'first cast inner', 'first cast after']);
  });

  it('puts the events inserted by a state change before the postponed events it retries', async () => {
    const { node } = pool.simulated();
    const log: string[] = [];
    const machine = logger(log, (type, content, state) => {
      if (type !== 'cast' || state !== 'first') return undefined;
      if (content === 'switch') return { nextState: 'second', data: null, actions: { nextEvent: 'internal', content: 'inserted' } };
      return { keepStateAndData: 'postpone' };
    });
    const pid = okStatem(await genStatem.start(node, machine, undefined));
    genStatem.cast(node, pid, 'p');
    genStatem.cast(node, pid, 'switch');
    await sys.getState(node, pid);
    expect(log).toEqual(['first cast p', 'first cast switch', 'second internal inserted', 'second cast p']);
  });

  it('runs init actions after the first enter call and before any message', async () => {
    const { node } = pool.simulated();
    const log: string[] = [];
    const machine = logger(log, () => undefined, { stateEnter: true, initActions: [{ nextEvent: 'internal', content: 'boot' }] });
    const pid = okStatem(await genStatem.start(node, machine, undefined));
    genStatem.cast(node, pid, 'hello');
    await sys.getState(node, pid);
    expect(log).toEqual(['first enter first', 'first internal boot', 'first cast hello']);
  });
});

describe('timeouts', () => {
  it('an event timeout fires when no event comes in time and is cancelled by any event', async () => {
    const { node, clock } = pool.simulated();
    const log: string[] = [];
    const machine = logger(log, (type, content) => (type === 'cast' && content === 'arm' ? { keepStateAndData: { eventTimeout: 100, content: 'quiet' } } : undefined));
    const pid = okStatem(await genStatem.start(node, machine, undefined));
    genStatem.cast(node, pid, 'arm');
    await clock.advance(50);
    node.send(pid, 'poke'); // an info event
    await clock.advance(200);
    expect(log).toEqual(['first cast arm', 'first info poke']);
    genStatem.cast(node, pid, 'arm');
    await clock.advance(99);
    expect(log).toHaveLength(3);
    await clock.advance(1);
    expect(log).toEqual(['first cast arm', 'first info poke', 'first cast arm', 'first timeout quiet']);
  });

  it('a state timeout survives events in the same state and is cancelled by a state change', async () => {
    const { node, clock } = pool.simulated();
    const log: string[] = [];
    const machine = logger(log, (type, content, state) => {
      if (type !== 'cast') return undefined;
      if (content === 'arm') return { keepStateAndData: { stateTimeout: 100, content: state } };
      if (content === 'move') return { nextState: state === 'first' ? 'second' : 'first', data: null };
      // A state timeout set by the transition that changes state runs in the new state.
      if (content === 'move-armed') return { nextState: 'first', data: null, actions: { stateTimeout: 100, content: 'armed on the way' } };
      return undefined;
    });
    const pid = okStatem(await genStatem.start(node, machine, undefined));
    genStatem.cast(node, pid, 'arm');
    await clock.advance(50);
    genStatem.cast(node, pid, 'poke');
    await clock.advance(50);
    expect(log.at(-1)).toBe('first stateTimeout first');
    genStatem.cast(node, pid, 'arm');
    await clock.advance(50);
    genStatem.cast(node, pid, 'move');
    await clock.advance(500);
    expect(log.slice(3)).toEqual(['first cast arm', 'first cast move']);
    genStatem.cast(node, pid, 'move-armed');
    await clock.advance(100);
    expect(log.slice(5)).toEqual(['second cast move-armed', 'first stateTimeout armed on the way']);
  });

  it('generic timeouts run side by side, survive events and state changes, and can be updated, restarted and cancelled', async () => {
    const { node, clock } = pool.simulated();
    const log: string[] = [];
    const machine = logger(log, (type, content, state) => {
      if (typeof type === 'object') {
        log.push(`  at ${clock.now()}`);
        return undefined;
      }
      if (type !== 'cast') return undefined;
      switch (content) {
        case 'start':
          return {
            keepStateAndData: [
              { timeout: 'a', ms: 100, content: 'a1' },
              { timeout: 'b', ms: 200, content: 'b1' },
              { timeout: 'c', ms: 100, content: 'c1' },
              { timeout: 'd', ms: 100, content: 'd1' },
            ],
          };
        case 'change':
          return {
            nextState: state === 'first' ? 'second' : 'first',
            data: null,
            actions: [
              { timeout: 'a', ms: 'update', content: 'a2' },
              { timeout: 'b', ms: 300, content: 'b2' },
              { timeout: 'c', ms: Infinity },
              { timeout: 'd', ms: 'cancel' },
            ],
          };
        default:
          return undefined;
      }
    });
    const pid = okStatem(await genStatem.start(node, machine, undefined));
    genStatem.cast(node, pid, 'start');
    await clock.advance(60);
    genStatem.cast(node, pid, 'change');
    await clock.advance(1000);
    expect(log).toEqual([
      'first cast start',
      'first cast change',
      'second timeout:a a2',
      '  at 100',
      'second timeout:b b2',
      '  at 360',
    ]);
  });

  it('the last timeout action of a kind wins, and a zero state timeout fires after inserted events but before the mailbox', async () => {
    const { node, clock } = pool.simulated();
    const log: string[] = [];
    const machine = logger(log, (type, content) =>
      type === 'cast' && content === 'go'
        ? {
            keepStateAndData: [
              { stateTimeout: 50, content: 'overridden' },
              { stateTimeout: 0, content: 'zero' },
              { nextEvent: 'internal', content: 'inserted' },
            ],
          }
        : undefined,
    );
    const pid = okStatem(await genStatem.start(node, machine, undefined));
    genStatem.cast(node, pid, 'go');
    genStatem.cast(node, pid, 'queued');
    await clock.advance(100);
    expect(log).toEqual(['first cast go', 'first internal inserted', 'first stateTimeout zero', 'first cast queued']);
  });

  it('stopping a machine cancels its running timers', async () => {
    const { node } = pool.simulated();
    const machine = logger([], () => undefined, { initActions: [{ timeout: 'g', ms: 1000 }, { stateTimeout: 1000 }, { eventTimeout: 1000 }] });
    const pid = okStatem(await genStatem.start(node, machine, undefined));
    expect(node.timers.size).toBe(3);
    await genStatem.stop(node, pid);
    expect(node.timers.size).toBe(0);
  });
});

// ---------------------------------------------------------------- calls, replies, stop

type Desk = { call: 'now' | 'later' | 'quit' | 'both'; reply: string; cast: 'release' };
interface DeskData {
  readonly waiting: readonly import('../src/index.js').From<string>[];
}

function desk(terminated: Array<[ExitReason, string, DeskData]>): StateFunctionsBehaviour<'serving', DeskData, undefined, Desk> {
  return {
    callbackMode: 'state_functions',
    init: () => ({ ok: ['serving', { waiting: [] }] }),
    states: {
      serving(type, content, data) {
        if (type === 'cast') {
          // Replies outside the call's own callback, with reply(); the list form sends each.
          genStatem.reply(data.waiting.map((from, i) => ({ reply: [from, `released ${i}`] as const })));
          return { keepState: { waiting: [] } };
        }
        if (typeof type !== 'object') return 'keep_state_and_data';
        const from = type.call;
        switch (content) {
          case 'now':
            return { keepStateAndData: { reply: [from, 'now!'] } };
          case 'later':
            return { keepState: { waiting: [...data.waiting, from] } };
          case 'both':
            genStatem.reply(from, 'first reply wins');
            return { keepStateAndData: { reply: [from, 'second reply is dropped'] } };
          case 'quit':
            return { stop: 'normal', replies: [{ reply: [from, 'bye'] }], data: { waiting: [] } };
        }
      },
    },
    terminate: (reason, state, data) => void terminated.push([reason, state, data]),
  };
}

describe('calls and replies', () => {
  it('replies with a reply action, and later with reply() from another event', async () => {
    const { node } = pool.simulated();
    const pid = okStatem(await genStatem.start(node, desk([]), undefined));
    expect(await genStatem.call(node, pid, 'now')).toBe('now!');
    const later = [genStatem.call(node, pid, 'later'), genStatem.call(node, pid, 'later')];
    await settle();
    genStatem.cast(node, pid, 'release');
    expect(await Promise.all(later)).toEqual(['released 0', 'released 1']);
    expect(await genStatem.call(node, pid, 'both')).toBe('first reply wins');
  });

  it('a call from inside a process times out with ERR_CALL_TIMEOUT when no reply comes', async () => {
    const { node, clock } = pool.simulated();
    const pid = okStatem(await genStatem.start(node, desk([]), undefined));
    const pending = rejection(runIn(node, (self) => genStatem.call(self, pid, 'later', 500)));
    await clock.advance(500);
    const err = await pending;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/timeout/);
  });

  it('stop with replies sends the replies, then runs terminate with the new data and exits', async () => {
    const { node } = pool.simulated();
    const terminated: Array<[ExitReason, string, DeskData]> = [];
    const pid = okStatem(await genStatem.start(node, desk(terminated), undefined));
    const down = watchDown(node, pid);
    const waiting = genStatem.call(node, pid, 'later');
    await settle();
    expect(await genStatem.call(node, pid, 'quit')).toBe('bye');
    expect(terminated).toEqual([['normal', 'serving', { waiting: [] }]]);
    expect(down.reason).toBe('normal');
    const err = await rejection(waiting);
    expect(err.code).toBe('ERR_CALL_EXIT');
  });

  it('stop() runs terminate with the reason and resolves once the machine is gone; an unknown machine gives ERR_CALL_NOPROC', async () => {
    const { node } = pool.simulated();
    const terminated: Array<[ExitReason, string, DeskData]> = [];
    const pid = okStatem(await genStatem.start(node, desk(terminated), undefined, { name: 'desk' }));
    expect(await genStatem.stop(node, 'desk', { shutdown: 'closing' })).toBe('ok');
    expect(terminated).toEqual([[{ shutdown: 'closing' }, 'serving', { waiting: [] }]]);
    expect(node.isAlive(pid)).toBe(false);
    expect((await rejection(genStatem.stop(node, 'desk'))).code).toBe('ERR_CALL_NOPROC');
  });

  it("a trapping machine runs terminate when its parent exits, and the parent's EXIT reason is the machine's", async () => {
    const { node } = pool.simulated();
    const terminated: Array<[ExitReason, string, DeskData]> = [];
    let machine: StatemPid<Desk> | undefined;
    const parent = node.spawn(async (self) => {
      machine = okStatem(await genStatem.startLink(self, desk(terminated), undefined, { trapExit: true }));
      await self.receive();
    });
    await settle();
    await settle();
    expect(machine).toBeDefined();
    const down = watchDown(node, machine!);
    node.exit(parent, 'shutdown');
    await settle();
    expect(terminated).toEqual([['shutdown', 'serving', { waiting: [] }]]);
    expect(down.reason).toBe('shutdown');
  });

  it('startLink from a trapping process: a machine stopping with a reason sends the parent EXIT with it', async () => {
    const { node } = pool.simulated();
    const out = await runIn(node, async (self) => {
      self.trapExit(true);
      const pid = okStatem(await genStatem.startLink(self, desk([]), undefined));
      const reply = await genStatem.call(self, pid, 'quit');
      const exit = await self.receive(isExit);
      return { pid, reply, exit };
    });
    expect(out.reply).toBe('bye');
    expect(out.exit).toEqual({ tag: 'EXIT', from: out.pid, reason: 'normal' });
  });

  it('startMonitor gives a monitor whose DOWN carries the exit reason', async () => {
    const { node } = pool.simulated();
    const out = await runIn(node, async (self) => {
      const r = await genStatem.startMonitor(self, desk([]), undefined);
      if (typeof r !== 'object' || !('ok' in r)) throw new Error('start failed');
      await genStatem.stop(self, r.ok, 'done');
      return { ref: r.ref, down: await self.receive() };
    });
    expect(out.down).toMatchObject({ tag: 'DOWN', ref: out.ref, reason: 'done' });
  });
});

describe('async callbacks', () => {
  it('an async state callback holds back later events until it has settled', async () => {
    const { node } = pool.simulated();
    const log: string[] = [];
    const machine: HandleEventFunctionBehaviour<number, null, undefined, { call: string; reply: string; cast: string }> = {
      callbackMode: 'handle_event_function',
      init: async () => ({ ok: [0, null] }),
      async handleEvent(type, content, state, data) {
        log.push(`start ${content}`);
        await settle();
        log.push(`end ${content}`);
        if (typeof type === 'object') return { keepStateAndData: { reply: [type.call, `${content} in ${state}`] } };
        return { nextState: state + 1, data };
      },
    };
    const pid = okStatem(await genStatem.start(node, machine, undefined));
    genStatem.cast(node, pid, 'a');
    expect(await genStatem.call(node, pid, 'b')).toBe('b in 1');
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b']);
  });
});

// ---------------------------------------------------------------- init

describe('init', () => {
  it.each([
    ['ignore', 'ignore' as const, 'ignore', 'normal'],
    ['{ stop: reason }', { stop: 'no' }, { error: 'no' }, 'no'],
    ['{ error: reason }', { error: 'quietly' }, { error: 'quietly' }, 'normal'],
    ['a bad return', 42, { error: { badReturnFromInit: 42 } }, { badReturnFromInit: 42 }],
  ])('init returning %s gives the start result and the exit reason OTP gives', async (_title, initResult, startResult, exitReason) => {
    const { node } = pool.simulated();
    let down: ReturnType<typeof watchDown> | undefined;
    const r = await genStatem.start(
      node,
      {
        callbackMode: 'state_functions',
        states: {},
        init: (_a, self) => {
          down = watchDown(node, self.pid);
          return initResult as never;
        },
      },
      undefined,
      { name: 'gone' },
    );
    expect(r).toEqual(startResult);
    expect(down!.reason).toEqual(exitReason);
    expect(node.whereis('gone')).toBeUndefined();
  });

  it('init that throws makes start return the structured error', async () => {
    const { node } = pool.simulated();
    const thrower: HandleEventFunctionBehaviour<string, null> = {
      callbackMode: 'handle_event_function',
      handleEvent: () => 'keep_state_and_data',
      init: () => {
        throw new RangeError('bad args');
      },
    };
    const r = await genStatem.start(node, thrower, undefined);
    expect(r).toMatchObject({ error: { error: 'RangeError', message: 'bad args' } });
  });

  it('a second start under a taken name returns { error: { alreadyStarted: pid } }', async () => {
    const { node } = pool.simulated();
    const first = okStatem(await genStatem.start(node, codeLock, [1], { name: 'lock' }));
    expect(await genStatem.start(node, codeLock, [1], { name: 'lock' })).toEqual({ error: { alreadyStarted: first } });
  });

  it('an init that does not return within the start timeout gives { error: timeout } and the process is killed', async () => {
    const { node, clock } = pool.simulated();
    let down: ReturnType<typeof watchDown> | undefined;
    const started = genStatem.start(
      node,
      { callbackMode: 'state_functions', states: {}, init: (_a, self) => ((down = watchDown(node, self.pid)), new Promise<never>(() => undefined)) },
      undefined,
      { timeout: 100 },
    );
    await clock.advance(100);
    expect(await started).toEqual({ error: 'timeout' });
    expect(down!.reason).toBe('killed');
  });
});

// ---------------------------------------------------------------- bad returns and bad input

describe('crash reasons', () => {
  type Bad = HandleEventFunctionBehaviour<string, null, unknown>;
  /** A machine whose answer to the call `go` in state `first` is `answer`, and whose enter calls answer `onEnter`. */
  function bad(answer: unknown, onEnter?: unknown): Bad {
    return {
      callbackMode: onEnter === undefined ? 'handle_event_function' : ['handle_event_function', 'state_enter'],
      init: () => ({ ok: ['first', null] }),
      handleEvent(type, _content, state, _data) {
        if (type === 'enter') return (state === 'first' ? 'keep_state_and_data' : onEnter) as never;
        return (typeof type === 'object' ? answer : 'keep_state_and_data') as never;
      },
    };
  }
  const move = { nextState: 'second', data: null };

  it.each([
    ['an unknown result', bad({ nextStat: 'x' }), { badReturnFromStateFunction: { nextStat: 'x' } }],
    ['nextState without data', bad({ nextState: 'x' }), { badReturnFromStateFunction: { nextState: 'x' } }],
    ['an unknown action', bad({ keepStateAndData: 'jump' }), { badActionFromStateFunction: 'jump' }],
    ['a negative timeout', bad({ keepStateAndData: { stateTimeout: -1 } }), { badActionFromStateFunction: { stateTimeout: -1 } }],
    ['a reply to something that is not a caller', bad({ keepStateAndData: { reply: ['me', 1] } }), { badActionFromStateFunction: { reply: ['me', 1] } }],
    ['a bad event type to insert', bad({ keepStateAndData: { nextEvent: 'email', content: 1 } }), { badActionFromStateFunction: { nextEvent: 'email', content: 1 } }],
    ['a stop with a bad reply', bad({ stop: 'x', replies: ['nope'] }), { badReplyActionFromStateFunction: 'nope' }],
    ['a state enter call that changes the state', bad(move, { nextState: 'third', data: null }), { badStateEnterReturnFromStateFunction: { nextState: 'third', data: null } }],
    ['a state enter call that postpones', bad(move, { keepStateAndData: 'postpone' }), { badStateEnterActionFromStateFunction: 'postpone' }],
    [
      'a state enter call that inserts an event',
      bad(move, { keepStateAndData: { nextEvent: 'internal', content: 1 } }),
      { badStateEnterActionFromStateFunction: { nextEvent: 'internal', content: 1 } },
    ],
  ])('%s stops the machine with a structured reason, reported and seen by the caller', async (_title, machine, reason) => {
    const { node } = pool.simulated();
    const seen = reports(node);
    const pid = okStatem(await genStatem.start(node, machine, undefined));
    const down = watchDown(node, pid);
    const err = await rejection(genStatem.call(node, pid, 'go'));
    expect(err).toBeInstanceOf(CallError);
    expect(err.code).toBe('ERR_CALL_EXIT');
    expect(err.reason).toEqual(reason);
    expect(down.reason).toEqual(reason);
    expect(seen.find((r) => r.kind === 'gen_statem')).toMatchObject({ pid, message: 'gen_statem terminating', reason });
  });

  it('terminate sees the state and data of the result whose action was bad, as in OTP', async () => {
    const { node } = pool.simulated();
    const terminated: unknown[] = [];
    const machine: HandleEventFunctionBehaviour<string, string> = {
      callbackMode: 'handle_event_function',
      init: () => ({ ok: ['first', 'old'] }),
      handleEvent: (type, _content, _state, _data) => (type === 'cast' ? { nextState: 'second', data: 'new', actions: ['jump' as never] } : 'keep_state_and_data'),
      terminate: (reason, state, data) => void terminated.push(reason, state, data),
    };
    const pid = okStatem(await genStatem.start(node, machine, undefined));
    const down = watchDown(node, pid);
    genStatem.cast(node, pid, 'go');
    await settle();
    expect(down.reason).toEqual({ badActionFromStateFunction: 'jump' });
    expect(terminated).toEqual([{ badActionFromStateFunction: 'jump' }, 'second', 'new']);
  });

  it('a state with no state function stops the machine with undefinedStateFunction at its next event', async () => {
    const { node } = pool.simulated();
    const here: StateFunction<'here' | 'nowhere', null> = (type, _content, data) => (type === 'cast' ? { nextState: 'nowhere', data } : 'keep_state_and_data');
    const m: StateFunctionsBehaviour<'here' | 'nowhere', null> = {
      callbackMode: 'state_functions',
      init: () => ({ ok: ['here', null] }),
      // Typed as if `nowhere` had a state function: only the run time can find it missing.
      states: { here } as StateFunctionsBehaviour<'here' | 'nowhere', null>['states'],
    };
    const pid = okStatem(await genStatem.start(node, m, undefined));
    const down = watchDown(node, pid);
    genStatem.cast(node, pid, 'go');
    node.send(pid, 'next');
    await settle();
    expect(down.reason).toEqual({ undefinedStateFunction: 'nowhere' });
  });

  it('a callback that throws stops the machine with the error, after terminate has run', async () => {
    const { node } = pool.simulated();
    const terminated: unknown[] = [];
    const thrower: HandleEventFunctionBehaviour<string, string> = {
      callbackMode: 'handle_event_function',
      init: () => ({ ok: ['s', 'd'] }),
      handleEvent: () => {
        throw new TypeError('boom');
      },
      terminate: (reason, state, data) => void terminated.push(reason, state, data),
    };
    const pid = okStatem(await genStatem.start(node, thrower, undefined));
    const err = await rejection(genStatem.call(node, pid, 'x'));
    expect(err.reason).toMatchObject({ error: 'TypeError', message: 'boom' });
    expect(terminated).toEqual([expect.objectContaining({ error: 'TypeError' }), 's', 'd']);
  });

  const ignore = (): 'ignore' => 'ignore';
  it.each<[string, object]>([
    ['an unknown callback mode', { callbackMode: 'state_machine', init: ignore, states: {} }],
    ['state_functions without states', { callbackMode: 'state_functions', init: ignore }],
    ['handle_event_function without handleEvent', { callbackMode: ['handle_event_function', 'state_enter'], init: ignore }],
    ['no init', { callbackMode: 'state_functions', states: {} }],
  ])('start rejects a behaviour with %s with ERR_BADARG', async (_title, b) => {
    const { node } = pool.simulated();
    const count = node.processCount;
    const err = await rejection(genStatem.start(node, b as never, undefined));
    expect(err.code).toBe('ERR_BADARG');
    expect(node.processCount).toBe(count);
  });

  it('startLink given a node instead of a process rejects with ERR_BADARG naming start()', async () => {
    const { node } = pool.simulated();
    const err = await rejection(genStatem.startLink(node as never, codeLock, [1]));
    expect(err.code).toBe('ERR_BADARG');
    expect(err.message).toMatch(/start\(\)/);
  });
});

// ---------------------------------------------------------------- sys

describe('sys', () => {
  it('getState gives [state, data], replaceState changes both, and later events see the new ones', async () => {
    const { node } = pool.simulated();
    const lock = okStatem(await genStatem.start(node, codeLock, [1, 2]));
    expect(await sys.getState(node, lock)).toEqual(['locked', { code: [1, 2], buttons: [] }]);
    const next = await sys.replaceState<[string, LockData]>(node, lock, ([, data]) => ['locked', { ...data, code: [7] }]);
    expect(next).toEqual(['locked', { code: [7], buttons: [] }]);
    await press(node, lock, [7]);
    expect(await genStatem.call(node, lock, 'status')).toBe('open');
  });

  it('a replaceState function that fails rejects with ERR_CALLBACK_FAILED and leaves the machine and its state alone', async () => {
    const { node } = pool.simulated();
    const lock = okStatem(await genStatem.start(node, codeLock, [1, 2]));
    const err = await rejection(sys.replaceState(node, lock, () => 'not a pair' as never));
    expect(err.code).toBe('ERR_CALLBACK_FAILED');
    expect(err.reason).toMatchObject({ callbackFailed: { code: 'ERR_BADARG' } });
    expect(await sys.getState(node, lock)).toEqual(['locked', { code: [1, 2], buttons: [] }]);
  });

  it('a formatStatus that throws makes getStatus reject with ERR_CALLBACK_FAILED, and the machine runs on', async () => {
    const { node } = pool.simulated();
    const failing = {
      ...codeLock,
      formatStatus: (): never => {
        throw new Error('no status');
      },
    };
    const lock = okStatem(await genStatem.start(node, failing, [1, 2]));
    const err = await rejection(sys.getStatus(node, lock));
    expect(err.code).toBe('ERR_CALLBACK_FAILED');
    expect(err.reason).toMatchObject({ callbackFailed: { message: 'no status' } });
    expect(await genStatem.call(node, lock, 'status')).toBe('locked');
  });

  it('getStatus names the module gen_statem and shows formatStatus of state and data', async () => {
    const { node } = pool.simulated();
    const pid = okStatem(await genStatem.start(node, { ...codeLock, formatStatus: (state: string) => ({ state, code: 'hidden' }) }, [1, 2], { name: 'lock' }));
    expect(await sys.getStatus(node, pid)).toEqual({
      pid,
      module: 'gen_statem',
      status: 'running',
      name: 'lock',
      state: { state: 'locked', code: 'hidden' },
      messageQueueLen: 0,
    });
  });
});

// ---------------------------------------------------------------- supervision

describe('under a supervisor', () => {
  it('a machine is a supervisor child: restarted after a crash, and stopped through terminate on shutdown', async () => {
    const { node } = pool.simulated();
    const terminated: Array<[ExitReason, string, DeskData]> = [];
    const sup = await supervisor.start(
      node,
      {
        init: () => ({
          flags: { strategy: 'one_for_one', intensity: 3, period: 5 },
          children: [{ id: 'desk', start: (self) => genStatem.startLink(self, desk(terminated), undefined, { name: 'desk', trapExit: true }) }],
        }),
      },
      undefined,
    );
    if (typeof sup !== 'object' || !('ok' in sup)) throw new Error('supervisor did not start');
    const first = node.whereis('desk')!;
    node.exit(first, 'kill');
    await waitFor(() => node.whereis('desk') !== undefined && node.whereis('desk') !== first, 2000, 'the restarted machine');
    expect(await genStatem.call(node, 'desk', 'now')).toBe('now!');
    await supervisor.terminateChild(node, sup.ok, 'desk');
    expect(terminated).toEqual([['shutdown', 'serving', { waiting: [] }]]);
    expect(node.whereis('desk')).toBeUndefined();
  });
});

// ---------------------------------------------------------------- types

describe('typed protocol', () => {
  it('calls and casts to a machine are checked against its protocol', async () => {
    const { node } = pool.simulated();
    const lock = okStatem(await genStatem.start(node, codeLock, [1]));
    expectTypeOf(lock).toEqualTypeOf<StatemPid<LockProtocol>>();
    const status = await genStatem.call(node, lock, 'status');
    expectTypeOf(status).toEqualTypeOf<'locked' | 'open'>();
    expect(status).toBe('locked');
    const byName = genStatem.statemName<LockProtocol>('lock');

    // Never run: these lines only prove that tsc rejects events outside the protocol.
    const _rejectedAtCompileTime = (): unknown[] => [
      // @ts-expect-error 'open sesame' is not a call of LockProtocol
      genStatem.call(node, lock, 'open sesame'),
      // @ts-expect-error a button is a number
      genStatem.cast(node, byName, { button: '1' }),
      // @ts-expect-error a state function may only go to a declared state
      ((): StateFunctionsBehaviour<'a', null, undefined>['states']['a'] => () => ({ nextState: 'b', data: null }))(),
      // @ts-expect-error LockProtocol has no generic timeouts
      ((): StateFunctionsBehaviour<'a', null, undefined, LockProtocol>['states']['a'] => () => ({ keepStateAndData: { timeout: 'g', ms: 1 } }))(),
      // @ts-expect-error an inserted internal event must carry the protocol's internal content
      ((): StateFunctionsBehaviour<'a', null, undefined, { internal: number }>['states']['a'] => () => ({ keepStateAndData: { nextEvent: 'internal', content: 'x' } }))(),
    ];
  });
});
