/**
 * The StartResult helpers on the results every start returns: gen_server's and gen_statem's
 * (start and startMonitor), supervisor's start and startChild, and the application
 * controller's `'ok' | { error }`.
 */
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import {
  RigilError,
  alreadyStarted,
  assertStarted,
  genServer,
  genStatem,
  isStarted,
  okPid,
  startError,
  supervisor,
  type GenServerBehaviour,
  type Pid,
  type ServerPid,
  type StateFunctionsBehaviour,
  type StatemPid,
} from '../src/index.js';
import { NodePool, idle, nodeMaker, oneWorkerSup, runIn } from './helpers.js';

const pool = new NodePool();
const newNode = nodeMaker(pool);
afterEach(() => pool.stopAll());

type Echo = { call: string; reply: string };
const echo: GenServerBehaviour<null, 'ok' | 'ignore' | 'fail', Echo> = {
  init: (mode) => (mode === 'ok' ? { ok: null } : mode === 'ignore' ? 'ignore' : { stop: { bad: 'config' } }),
  handleCall: (req, _from, s) => ({ reply: req, state: s }),
};

/** The error `fn` throws (fails the test when it does not throw). */
function thrown(fn: () => unknown): RigilError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RigilError) return e;
    throw e;
  }
  throw new Error('expected a throw');
}

describe('okPid', () => {
  it('returns the typed pid of a successful gen_server start', async () => {
    const node = newNode();
    const pid = okPid(await genServer.start(node, echo, 'ok'));
    expectTypeOf(pid).toEqualTypeOf<ServerPid<Echo>>();
    expect(await genServer.call(node, pid, 'hi')).toBe('hi');
  });

  it('throws ERR_START_FAILED with the reason for { error }, and ERR_START_IGNORED for ignore', async () => {
    const node = newNode();
    const failed = await genServer.start(node, echo, 'fail');
    const e = thrown(() => okPid(failed, 'echo'));
    expect(e.code).toBe('ERR_START_FAILED');
    expect(e.reason).toEqual({ bad: 'config' });
    expect(e.message).toContain('start of echo failed');
    const ignored = await genServer.start(node, echo, 'ignore');
    const i = thrown(() => okPid(ignored));
    expect(i.code).toBe('ERR_START_IGNORED');
    expect(i.reason).toBe('ignore');
  });

  it('unwraps startMonitor, gen_statem and supervisor results, and treats startChild\'s { ok: undefined } as ignored', async () => {
    const node = newNode();
    type Probe = { call: 'ping'; reply: 'pong' };
    const probe: StateFunctionsBehaviour<'s', null, undefined, Probe> = {
      callbackMode: 'state_functions',
      init: () => ({ ok: ['s', null] }),
      states: { s: (type, _content, _data) => (typeof type === 'object' ? { keepStateAndData: { reply: [type.call, 'pong'] } } : { keepStateAndData: [] }) },
    };
    const m = okPid(await genStatem.start(node, probe, undefined));
    expectTypeOf(m).toEqualTypeOf<StatemPid<Probe>>();
    expect(await genStatem.call(node, m, 'ping')).toBe('pong');

    const monitored = await runIn(node, async (self) => okPid(await genServer.startMonitor(self, echo, 'ok')));
    expectTypeOf(monitored).toEqualTypeOf<ServerPid<Echo>>();
    expect(node.isAlive(monitored)).toBe(true);

    const sup = okPid(await supervisor.start(node, oneWorkerSup, undefined));
    const child = okPid(await supervisor.startChild(node, sup, supervisor.worker('w2', idle, undefined)));
    expectTypeOf(child).toEqualTypeOf<Pid>();
    expect(node.isAlive(child)).toBe(true);
    const ignoredChild = await supervisor.startChild(node, sup, { id: 'nothing', start: () => 'ignore' });
    expect(isStarted(ignoredChild)).toBe(true); // OTP's {ok, undefined} is a success…
    expect(thrown(() => okPid(ignoredChild)).code).toBe('ERR_START_IGNORED'); // …that has no pid
  });
});

describe('isStarted, startError, alreadyStarted, assertStarted', () => {
  it('isStarted narrows to the ok member; startError gives the reason or undefined', async () => {
    const node = newNode();
    const r = await genServer.start(node, echo, 'ok');
    if (isStarted(r)) {
      expectTypeOf(r.ok).toEqualTypeOf<ServerPid<Echo>>();
      expect(await genServer.call(node, r.ok, 'x')).toBe('x');
    } else {
      throw new Error('expected a start');
    }
    expect(startError(r)).toBeUndefined();
    const failed = await genServer.start(node, echo, 'fail');
    expect(isStarted(failed)).toBe(false);
    expect(startError(failed)).toEqual({ bad: 'config' });
    expect(isStarted('ignore')).toBe(false);
    expect(startError('ignore')).toBeUndefined();
  });

  it('alreadyStarted gives the holder of a taken name, for an idempotent start', async () => {
    const node = newNode();
    const first = okPid(await genServer.start(node, echo, 'ok', { name: 'echo' }));
    const again = await genServer.start(node, echo, 'ok', { name: 'echo' });
    expect(isStarted(again)).toBe(false);
    const pid = isStarted(again) ? again.ok : alreadyStarted(again);
    expect(pid).toBe(first);
    expect(alreadyStarted(await genServer.start(node, echo, 'fail'))).toBeUndefined();
    expect(alreadyStarted({ error: { alreadyStarted: 'app' } })).toBeUndefined();
  });

  it('assertStarted accepts the application controller\'s ok and throws its { error } with ERR_START_FAILED', async () => {
    const node = newNode();
    node.application.load({ name: 'app', mod: { start: (_t, _a, self) => supervisor.startLink(self, oneWorkerSup, undefined) } });
    const r = await node.application.start('app');
    assertStarted(r, 'app');
    expectTypeOf(r).toEqualTypeOf<'ok'>();
    const again = await node.application.start('app');
    const e = thrown(() => assertStarted(again, 'app'));
    expect(e.code).toBe('ERR_START_FAILED');
    expect(e.reason).toEqual({ alreadyStarted: 'app' });
    expect(thrown(() => assertStarted('ignore')).code).toBe('ERR_START_IGNORED');
  });
});
