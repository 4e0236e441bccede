/**
 * Typed global names across nodes: a `globalName<P>` from @rigil/core starts a server that
 * another node calls by that name with the request and reply of `P` checked; `global`'s
 * register/reRegister/whereis/send/unregister take the typed name (the `{ global }` object) as
 * well as the plain string, and `register` refuses, at compile time, a pid of another protocol.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { genServer, globalName, okPid, type GenServerBehaviour, type Pid, type ServerPid } from '@rigil/core';
import { spawnRecorder, useCluster, waitFor } from './helpers.js';

const cluster = useCluster();

type Counter = { call: 'get' | { add: number }; reply: number };
type Greeter = { call: { hello: string }; reply: string };
const counter: GenServerBehaviour<number, number, Counter> = {
  init: (n) => ({ ok: n }),
  handleCall: (req, _from, n) => (req === 'get' ? { reply: n, state: n } : { reply: n + req.add, state: n + req.add }),
};
const greeter: GenServerBehaviour<null, undefined, Greeter> = {
  init: () => ({ ok: null }),
  handleCall: (req, _from, s) => ({ reply: `hello, ${req.hello}`, state: s }),
};

describe('typed global names', () => {
  it('a server started under globalName<P> on one node is called by that name from another, typed', async () => {
    const [a, b] = await cluster.startConnected(2);
    const name = globalName<Counter>('typed_counter');
    const pid = okPid(await genServer.start(a!, counter, 1, { name }));
    await waitFor(() => b!.global.whereis(name) !== undefined, 3000, 'the name on b');
    const there = b!.global.whereis(name);
    expectTypeOf(there).toEqualTypeOf<ServerPid<Counter> | undefined>();
    expect(String(there)).toBe(String(pid));
    const n = await genServer.call(b!, name, { add: 41 });
    expectTypeOf(n).toEqualTypeOf<number>();
    expect(n).toBe(42);
    // The plain string still works, untyped.
    expectTypeOf(b!.global.whereis('typed_counter')).toEqualTypeOf<Pid | undefined>();
    expect(String(b!.global.whereis('typed_counter'))).toBe(String(pid));

    const _rejectedAtCompileTime = (): unknown[] => [
      // @ts-expect-error { hello } is not a call of Counter
      genServer.call(b!, name, { hello: 'x' }),
    ];
  });

  it('register, send, reRegister and unregister take a typed global name', async () => {
    const [a, b] = await cluster.startConnected(2);
    const name = globalName<Greeter>('typed_greeter');
    const g1 = okPid(await genServer.start(a!, greeter, undefined));
    expect(await a!.global.register(name, g1)).toBe('yes');
    await waitFor(() => b!.global.whereis(name) !== undefined, 3000, 'the name on b');
    expect(await genServer.call(b!, name, { hello: 'b' })).toBe('hello, b');

    const g2 = okPid(await genServer.start(b!, greeter, undefined));
    expect(await b!.global.reRegister(name, g2)).toBe('yes');
    await waitFor(() => String(a!.global.whereis(name)) === String(g2), 3000, 'the re-registered name on a');

    const rec = spawnRecorder(a!);
    const plain = globalName('typed_plain');
    expect(await a!.global.register(plain, rec.pid)).toBe('yes');
    expect(String(b!.global.send(plain, 'hi'))).toBe(String(rec.pid));
    await waitFor(() => rec.got.includes('hi'), 3000, 'the message sent by global name');

    await a!.global.unregister(name);
    await waitFor(() => b!.global.whereis(name) === undefined, 3000, 'the name gone on b');

    const c1 = okPid(await genServer.start(a!, counter, 0));
    const _rejectedAtCompileTime = (): unknown[] => [
      // @ts-expect-error a Counter server under a Greeter name
      a!.global.register(name, c1),
      // @ts-expect-error a Counter server under a Greeter name
      a!.global.reRegister(name, c1),
    ];
  });
});
