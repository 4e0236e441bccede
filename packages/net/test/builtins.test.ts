/**
 * Built-in rpc procedures (src/builtins.ts): the one table, argument checks, and the controls
 * a CLI-started node adds. Distributed tier: two nodes of this OS process over loopback.
 */
import { describe, expect, it } from 'vitest';
import { CONTROL_BUILTINS, INTROSPECTION_BUILTINS, METRICS_BUILTINS, NODE_BUILTINS, RpcError, badArgs, installControlBuiltins } from '../src/index.js';
import { spawnRecorder, useCluster } from './helpers.js';

const cluster = useCluster();

async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RpcError) return e;
    throw e;
  }
  throw new Error('the rpc did not fail');
}

describe('the built-ins table', () => {
  it('every node exposes the node built-ins and only those until controls are installed', async () => {
    const [a, b] = await cluster.startConnected(2);
    const procs = (await a!.rpc.call(b!.name, 'rpc.procedures')) as string[];
    const every = [...NODE_BUILTINS, ...INTROSPECTION_BUILTINS, ...METRICS_BUILTINS];
    expect(procs).toEqual(every.map((x) => x.name).sort());
    installControlBuiltins(b!);
    const after = (await a!.rpc.call(b!.name, 'rpc.procedures')) as string[];
    expect(after).toEqual([...every, ...CONTROL_BUILTINS].map((x) => x.name).sort());
  });

  // Scenario: a calls b's built-ins with arguments of the wrong type or number; each call fails with ERR_RPC_BAD_ARGS and b keeps answering.
  it('refuses arguments of the wrong type or number with ERR_RPC_BAD_ARGS', async () => {
    const [a, b] = await cluster.startConnected(2);
    installControlBuiltins(b!);
    const bad: Array<[string, unknown[]]> = [
      ['ping', ['extra']],
      ['whereis', []],
      ['whereis', [5]],
      ['process.info', ['<not a pid>']],
      ['process.info', [42]],
      ['process.info', ['x'.repeat(301)]],
      ['processes', [{ limit: 1001 }]],
      ['processes', [{ sort: 'name' }]],
      ['processes', [{ offset: -1 }]],
      ['processes', [{ extra: 1 }]],
      ['processes', ['mailbox']],
      ['application.tree', []],
      ['process.state', [{}]],
      ['spawn', []],
      ['spawn', [null]],
      ['global.resolve', [1, 2, 3, 4]],
      ['application.start', [42]],
      ['application.start', ['app', 'forever']],
      ['application.permit', ['app', 'maybe']],
      ['application.stop', [null]],
    ];
    for (const [proc, args] of bad) {
      const e = await rpcError(a!.rpc.call(b!.name, proc, args));
      expect({ proc, code: e.code }).toEqual({ proc, code: 'ERR_RPC_BAD_ARGS' });
      expect(e.message).toContain(proc);
    }
    expect(await a!.rpc.call(b!.name, 'ping')).toBe('pong');
  });

  it('runs the built-ins with good arguments', async () => {
    const [a, b] = await cluster.startConnected(2);
    installControlBuiltins(b!);
    const r = spawnRecorder(b!, { name: 'known' });
    expect(String(await a!.rpc.call(b!.name, 'whereis', ['known']))).toBe(String(r.pid));
    expect(await a!.rpc.call(b!.name, 'whereis', ['unknown'])).toBeNull();
    b!.application.load({ name: 'lib', version: '1' });
    expect(await a!.rpc.call(b!.name, 'application.start', ['lib'])).toBe('ok');
    expect(await a!.rpc.call(b!.name, 'application.whereRunning', ['lib'])).toBe('local');
    expect(await a!.rpc.call(b!.name, 'application.permit', ['lib', 'false'])).toBe('ok');
    expect(await a!.rpc.call(b!.name, 'application.whereRunning', ['lib'])).toBeNull();
    expect(await a!.rpc.call(b!.name, 'application.stop', ['lib'])).toBe('ok');
  });

  // Scenario: a tool asks b where b and its peers listen (node.peers), and which global locks b holds (global.locks).
  it('node.peers lists the node and its visible peers with their addresses; global.locks the locks held', async () => {
    const [a, b, c] = await cluster.startConnected(3);
    const peers = (await a!.rpc.call(b!.name, 'node.peers')) as Array<[string, string | null]>;
    expect(peers[0]).toEqual([b!.name, b!.url]);
    expect(peers.slice(1).sort()).toEqual([[a!.name, a!.url], [c!.name, c!.url]].sort());
    // (global's own `global` lock may be held meanwhile, for its name syncs: only ours is looked at.)
    const ours = async (): Promise<unknown[]> => ((await a!.rpc.call(b!.name, 'global.locks')) as Array<{ resource: string }>).filter((l) => l.resource !== 'global');
    expect(await ours()).toEqual([]);
    expect(await b!.global.setLock(['observe-lock', { by: 'me' }], [b!.name])).toBe(true);
    expect(await ours()).toEqual([{ resource: 'observe-lock', requester: '{"by":"me"}', holders: [expect.stringMatching(/^<.+>$/)] }]);
    await b!.global.delLock(['observe-lock', { by: 'me' }], [b!.name]);
    expect(await ours()).toEqual([]);
  });

  it('a user procedure refuses its arguments with badArgs the same way', async () => {
    const [a, b] = await cluster.startConnected(2);
    b!.rpc.register('half', ([x]) => {
      if (typeof x !== 'number') throw badArgs('half', 'argument 1 must be a number');
      return x / 2;
    });
    expect(await a!.rpc.call(b!.name, 'half', [8])).toBe(4);
    const e = await rpcError(a!.rpc.call(b!.name, 'half', ['eight']));
    expect(e.code).toBe('ERR_RPC_BAD_ARGS');
    expect(e.message).toContain('must be a number');
  });
});
