import { describe, expect, it } from 'vitest';
import { type Pid, type Process } from '@rigil/core';
import { RpcError } from '../src/index.js';
import { seen, spawnRecorder, uniqueName, useCluster, waitFor } from './helpers.js';

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

describe('built-ins', () => {
  // Scenario: a calls b's built-in procedures.
  it('ping, node.info, registered and rpc.procedures answer over the wire', async () => {
    const [a, b] = await cluster.startConnected(2);
    spawnRecorder(b!, { name: 'some_name' });
    expect(await a!.rpc.call(b!.name, 'ping')).toBe('pong');
    const info = (await a!.rpc.call(b!.name, 'node.info')) as Record<string, unknown>;
    expect(info.name).toBe(b!.name);
    expect(info.creation).toBe(b!.creation);
    expect(info.nodes).toContain(a!.name);
    expect(typeof info.processes).toBe('number');
    expect(typeof info.uptimeMs).toBe('number');
    const registered = (await a!.rpc.call(b!.name, 'registered')) as string[];
    expect(registered).toContain('some_name');
    expect(registered).toContain('rex');
    const procs = (await a!.rpc.call(b!.name, 'rpc.procedures')) as string[];
    expect(procs).toEqual(expect.arrayContaining(['ping', 'node.info', 'registered', 'application.which', 'process.info', 'spawn']));
  });

  // Scenario: b runs a library application; a asks which applications run there.
  it('application.which lists the applications running on the remote node', async () => {
    const [a, b] = await cluster.startConnected(2);
    b!.application.load({ name: 'lib_app', version: '1.2.3', description: 'a library' });
    await b!.application.start('lib_app');
    const apps = (await a!.rpc.call(b!.name, 'application.which')) as Array<{ name: string; version: string }>;
    expect(apps.map((x) => x.name)).toContain('lib_app');
    expect(apps.find((x) => x.name === 'lib_app')?.version).toBe('1.2.3');
  });

  // Scenario: a asks for the status of a process of b, alive and dead.
  it('process.info describes a remote process, and gives null for a dead one', async () => {
    const [a, b] = await cluster.startConnected(2);
    const r = spawnRecorder(b!, { name: 'watched' });
    const info = (await a!.rpc.call(b!.name, 'process.info', [seen(a!, r.pid)])) as Record<string, unknown>;
    expect(info.registeredName).toBe('watched');
    expect((info.pid as Pid).equals(seen(a!, r.pid))).toBe(true);
    expect(['running', 'waiting']).toContain(info.status);
    b!.exit(r.pid, 'kill');
    await waitFor(() => !b!.isAlive(r.pid), 3000, 'dead');
    expect(await a!.rpc.call(b!.name, 'process.info', [seen(a!, r.pid)])).toBeNull();
  });
});

describe('user procedures', () => {
  // Scenario: b registers a sync and an async procedure; a calls both.
  it('sync and async user procedures return their values', async () => {
    const [a, b] = await cluster.startConnected(2);
    b!.rpc.register('add', (args) => (args[0] as number) + (args[1] as number));
    b!.rpc.register('later', async (args) => {
      await new Promise((r) => setTimeout(r, 20));
      return { doubled: (args[0] as bigint) * 2n };
    });
    b!.rpc.register('whoami', (_args, self: Process) => self.pid.node);
    expect(await a!.rpc.call(b!.name, 'add', [2, 3])).toBe(5);
    expect(await a!.rpc.call(b!.name, 'later', [21n])).toEqual({ doubled: 42n });
    expect(await a!.rpc.call(b!.name, 'whoami')).toBe(b!.name);
  });

  // Scenario: a procedure on b throws.
  it('a procedure that throws gives RpcError ERR_RPC_FAILED with the reason', async () => {
    const [a, b] = await cluster.startConnected(2);
    b!.rpc.register('fail', () => {
      throw new TypeError('bad input');
    });
    const e = await rpcError(a!.rpc.call(b!.name, 'fail'));
    expect(e.code).toBe('ERR_RPC_FAILED');
    expect(e.node).toBe(b!.name);
    expect(e.procedure).toBe('fail');
    expect(e.reason).toMatchObject({ message: 'bad input' });
    // The rpc server survives a failing procedure.
    expect(await a!.rpc.call(b!.name, 'ping')).toBe('pong');
  });

  // Scenario: a calls a procedure b does not expose, and an unregistered one.
  it('an unknown procedure gives RpcError ERR_UNKNOWN_PROCEDURE', async () => {
    const [a, b] = await cluster.startConnected(2);
    const e = await rpcError(a!.rpc.call(b!.name, 'os.cmd', ['rm -rf /']));
    expect(e.code).toBe('ERR_UNKNOWN_PROCEDURE');
    b!.rpc.register('temp', () => 1);
    expect(await a!.rpc.call(b!.name, 'temp')).toBe(1);
    expect(b!.rpc.unregister('temp')).toBe(true);
    expect((await rpcError(a!.rpc.call(b!.name, 'temp'))).code).toBe('ERR_UNKNOWN_PROCEDURE');
  });

  // Scenario: rpc to a node that is down, or was never there.
  it('rpc to a down node gives RpcError ERR_RPC_NODEDOWN', async () => {
    const [a, b] = await cluster.startConnected(2);
    const bName = b!.name;
    await b!.stop();
    await waitFor(() => !a!.nodes().includes(bName), 3000, 'a sees b down');
    expect((await rpcError(a!.rpc.call(bName, 'ping', [], 2000))).code).toBe('ERR_RPC_NODEDOWN');
    expect((await rpcError(a!.rpc.call(uniqueName('never'), 'ping', [], 2000))).code).toBe('ERR_RPC_NODEDOWN');
  });

  // Scenario: a slow procedure on b outlives the rpc timeout.
  it('a procedure slower than the timeout gives RpcError ERR_RPC_TIMEOUT', async () => {
    const [a, b] = await cluster.startConnected(2);
    b!.rpc.register('slow', (_args, self) => self.receive(undefined, 300));
    const t0 = Date.now();
    const e = await rpcError(a!.rpc.call(b!.name, 'slow', [], 50));
    expect(e.code).toBe('ERR_RPC_TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  // Scenario: a procedure on b is pending when b stops.
  it('an rpc pending when the node goes down gives ERR_RPC_NODEDOWN', async () => {
    const [a, b] = await cluster.startConnected(2);
    let started = false;
    b!.rpc.register('hang', (_args, self) => {
      started = true;
      return self.receive();
    });
    const p = rpcError(a!.rpc.call(b!.name, 'hang', [], 10_000));
    await waitFor(() => started, 3000, 'procedure running');
    await b!.stop();
    expect((await p).code).toBe('ERR_RPC_NODEDOWN');
  });

  // Scenario: a casts a procedure on b.
  it('rpc.cast runs the procedure without waiting', async () => {
    const [a, b] = await cluster.startConnected(2);
    const seenArgs: unknown[] = [];
    b!.rpc.register('note', (args) => {
      seenArgs.push(args);
    });
    a!.rpc.cast(b!.name, 'note', ['x', 1]);
    a!.rpc.cast(b!.name, 'does.not.exist', []);
    a!.rpc.cast(uniqueName('never'), 'note', []);
    await waitFor(() => seenArgs.length === 1, 3000, 'the cast ran');
    expect(seenArgs).toEqual([['x', 1]]);
  });

  // Scenario: multicall to a, b, and a stopped node c.
  it('rpc.multicall returns the results and the nodes that did not answer', async () => {
    const [a, b, c] = await cluster.startConnected(3);
    const cName = c!.name;
    await c!.stop();
    const r = await a!.rpc.multicall([a!.name, b!.name, cName], 'node.info', [], 3000);
    expect(r.results.map(([n, v]) => [n, (v as { name: string }).name])).toEqual([[a!.name, a!.name], [b!.name, b!.name]]);
    expect(r.badNodes).toEqual([cName]);
  });
});

describe('remote spawn', () => {
  // Scenario: b makes a function spawnable; a spawns it there with arguments.
  it('rpc.spawn starts a registered function on the remote node with the arguments', async () => {
    const [a, b] = await cluster.startConnected(2);
    const inbox = spawnRecorder(a!, { name: 'inbox' });
    b!.rpc.registerFunction('greeter', async (self, who, replyNode) => {
      self.send(['inbox', replyNode as string], { hello: who, from: self.pid });
      await self.receive();
    });
    const pid = await a!.rpc.spawn(b!.name, 'greeter', ['world', a!.name]);
    expect(pid.node).toBe(b!.name);
    expect(b!.isAlive(b!.internPid(pid.node, pid.id, pid.creation))).toBe(true);
    await waitFor(() => inbox.got.length === 1, 3000, 'greeting');
    expect(inbox.got[0]).toMatchObject({ hello: 'world' });
    expect((inbox.got[0] as { from: Pid }).from).toBe(pid);
  });

  // Scenario: a tries to spawn a function b did not register.
  it('rpc.spawn of an unregistered function fails and runs nothing', async () => {
    const [a, b] = await cluster.startConnected(2);
    const before = b!.processCount;
    const e = await rpcError(a!.rpc.spawn(b!.name, 'nope', []));
    expect(['ERR_UNKNOWN_PROCEDURE', 'ERR_RPC_FAILED']).toContain(e.code);
    await waitFor(() => b!.processCount === before, 3000, 'no process left behind');
  });
});
