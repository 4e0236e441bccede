/**
 * Typed names: a local, global or `[name, node]` name declared once with its protocol is
 * called and cast like a pid (request and reply checked), `start` refuses a name declared for
 * another protocol, and at run time the names are the plain string, `{ global }` object and
 * tuple they always were. The `@ts-expect-error` lines are checked by `tsc -p tsconfig.json`
 * (an unneeded one is itself an error); they are inside functions that never run.
 */
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import {
  genServer,
  genStatem,
  globalName,
  okPid,
  remoteName,
  serverName,
  type GenServerBehaviour,
  type GlobalName,
  type GlobalNames,
  type Node,
  type Pid,
  type RemoteName,
  type ServerName,
  type ServerPid,
  type StateFunctionsBehaviour,
  type StatemGlobalName,
  type StatemName,
  type StatemRemoteName,
} from '../src/index.js';
import { NodePool, nodeMaker } from './helpers.js';

const pool = new NodePool();
const newNode = nodeMaker(pool);
afterEach(() => pool.stopAll());

type Counter = { call: 'get' | { add: number }; reply: number; cast: 'inc' };
type Greeter = { call: { hello: string }; reply: string };

const counter: GenServerBehaviour<number, number, Counter> = {
  init: (n) => ({ ok: n }),
  handleCall: (req, _from, n) => (req === 'get' ? { reply: n, state: n } : { reply: n + req.add, state: n + req.add }),
  handleCast: (_msg, n) => ({ noreply: n + 1 }),
};
const greeter: GenServerBehaviour<null, undefined, Greeter> = {
  init: () => ({ ok: null }),
  handleCall: (req, _from, s) => ({ reply: `hello, ${req.hello}`, state: s }),
};

/** A map-backed stand-in for @rigil/net's `global` (core only needs `whereis` and `register`). */
function fakeGlobal(node: Node): void {
  const names = new Map<string, Pid>();
  const g: GlobalNames = {
    whereis: (name) => names.get(name),
    register: async (name, pid) => {
      if (names.has(name)) return 'no';
      names.set(name, pid);
      return 'yes';
    },
  };
  node.globalNames = g;
}

describe('typed gen_server names', () => {
  it('a local name declared with serverName starts the server and types calls and casts by name', async () => {
    const node = newNode();
    const name = serverName<Counter>('counter');
    expectTypeOf(name).toEqualTypeOf<ServerName<Counter>>();
    expect(name).toBe('counter');
    const pid = okPid(await genServer.start(node, counter, 1, { name }));
    expect(node.whereis('counter')).toBe(pid);
    const n = await genServer.call(node, name, { add: 2 });
    expectTypeOf(n).toEqualTypeOf<number>();
    expect(n).toBe(3);
    genServer.cast(node, name, 'inc');
    expect(await genServer.call(node, name, 'get')).toBe(4);
    // The namespace exports the same functions.
    expect(genServer.serverName).toBe(serverName);

    const _rejectedAtCompileTime = (): unknown[] => [
      // @ts-expect-error 'reset' is not a call of Counter
      genServer.call(node, name, 'reset'),
      // @ts-expect-error 'dec' is not a cast of Counter
      genServer.cast(node, name, 'dec'),
      // @ts-expect-error the reply of Counter is a number, not a string
      genServer.call(node, name, 'get').then((r): string => r),
    ];
  });

  it('a global name declared with globalName is { global } at run time and typed like a pid', async () => {
    const node = newNode();
    fakeGlobal(node);
    const name = globalName<Counter>('g_counter');
    expectTypeOf(name).toEqualTypeOf<GlobalName<Counter>>();
    expect(name).toEqual({ global: 'g_counter' });
    const pid = okPid(await genServer.start(node, counter, 10, { name }));
    expect(node.globalNames?.whereis('g_counter')).toBe(pid);
    const n = await genServer.call(node, name, 'get');
    expectTypeOf(n).toEqualTypeOf<number>();
    expect(n).toBe(10);

    const _rejectedAtCompileTime = (): unknown[] => [
      // @ts-expect-error { hello } is not a call of Counter
      genServer.call(node, name, { hello: 'x' }),
    ];
  });

  it('remoteName gives [name, node], keeps a typed local name\'s protocol, and is called like a pid', async () => {
    const node = newNode();
    const local = serverName<Counter>('counter');
    okPid(await genServer.start(node, counter, 7, { name: local }));
    const there = remoteName(local, node.name);
    expectTypeOf(there).toEqualTypeOf<RemoteName<Counter>>();
    expect(there).toEqual(['counter', node.name]);
    expect(Array.isArray(there)).toBe(true);
    const n = await genServer.call(node, there, 'get');
    expectTypeOf(n).toEqualTypeOf<number>();
    expect(n).toBe(7);
    expectTypeOf(remoteName<Greeter>('greeter', 'b@host')).toEqualTypeOf<RemoteName<Greeter>>();

    const _rejectedAtCompileTime = (): unknown[] => [
      // @ts-expect-error 'inc' is a cast of Counter, not a call
      genServer.call(node, there, 'inc'),
    ];
  });

  it('starting a server under a name declared for another protocol is a type error; plain names stay accepted', async () => {
    const node = newNode();
    const greeterName = serverName<Greeter>('greeter');
    const pid = okPid(await genServer.start(node, greeter, undefined, { name: greeterName }));
    expectTypeOf(pid).toEqualTypeOf<ServerPid<Greeter>>();
    expect(await genServer.call(node, greeterName, { hello: 'rigil' })).toBe('hello, rigil');
    // Untyped names still work (their calls are unchecked, as before).
    okPid(await genServer.start(node, counter, 0, { name: 'plain' }));
    expect(await genServer.call(node, 'plain', 'get')).toBe(0);
    expect(await genServer.call(node, ['plain', node.name], 'get')).toBe(0);
    // A typed pid or name is still accepted where any server is (stop, sys).
    await genServer.stop(node, greeterName);
    expect(node.whereis('greeter')).toBeUndefined();

    const _rejectedAtCompileTime = (): unknown[] => [
      // @ts-expect-error a Greeter name for a Counter server
      genServer.start(node, counter, 0, { name: greeterName }),
      // @ts-expect-error a global Greeter name for a Counter server
      genServer.start(node, counter, 0, { name: globalName<Greeter>('g') }),
      // @ts-expect-error a Counter name for a Greeter server, through startLink
      genServer.startLink(null as never, greeter, undefined, { name: serverName<Counter>('c') }),
    ];
  });
});

type Door = { call: 'status'; reply: 'open' | 'closed'; cast: 'toggle' };
type Lamp = { call: 'watts'; reply: number };
const door: StateFunctionsBehaviour<'open' | 'closed', null, undefined, Door> = {
  callbackMode: 'state_functions',
  init: () => ({ ok: ['closed', null] }),
  states: {
    closed: (type, _msg, data) => (typeof type === 'object' ? { keepStateAndData: { reply: [type.call, 'closed'] } } : { nextState: 'open', data }),
    open: (type, _msg, data) => (typeof type === 'object' ? { keepStateAndData: { reply: [type.call, 'open'] } } : { nextState: 'closed', data }),
  },
};

describe('typed gen_statem names', () => {
  it('statemName, globalName and remoteName type calls and casts to a machine by name', async () => {
    const node = newNode();
    fakeGlobal(node);
    const local = genStatem.statemName<Door>('door');
    expectTypeOf(local).toEqualTypeOf<StatemName<Door>>();
    okPid(await genStatem.start(node, door, undefined, { name: local }));
    const status = await genStatem.call(node, local, 'status');
    expectTypeOf(status).toEqualTypeOf<'open' | 'closed'>();
    expect(status).toBe('closed');
    genStatem.cast(node, genStatem.remoteName(local, node.name), 'toggle');
    expectTypeOf(genStatem.remoteName(local, node.name)).toEqualTypeOf<StatemRemoteName<Door>>();
    expect(await genStatem.call(node, local, 'status')).toBe('open');

    const global = genStatem.globalName<Door>('g_door');
    expectTypeOf(global).toEqualTypeOf<StatemGlobalName<Door>>();
    expect(global).toEqual({ global: 'g_door' });
    okPid(await genStatem.start(node, door, undefined, { name: global }));
    expect(await genStatem.call(node, global, 'status')).toBe('closed');

    const _rejectedAtCompileTime = (): unknown[] => [
      // @ts-expect-error 'toggle' is a cast of Door, not a call
      genStatem.call(node, local, 'toggle'),
      // @ts-expect-error 'status' is not a cast of Door
      genStatem.cast(node, global, 'status'),
      // @ts-expect-error a Lamp name for a Door machine
      genStatem.start(node, door, undefined, { name: genStatem.statemName<Lamp>('lamp') }),
    ];
  });
});
