import { describe, expect, it } from 'vitest';
import { DistError, DistNode } from '../src/index.js';
import { spawnRecorder, uniqueName, useCluster, waitFor } from './helpers.js';

const cluster = useCluster();

/** The DistError `DistNode.start(options)` rejects with. */
async function startError(options: Parameters<typeof DistNode.start>[0]): Promise<DistError> {
  try {
    const n = await DistNode.start(options);
    cluster.add(n);
  } catch (e) {
    if (e instanceof DistError) return e;
    throw e;
  }
  throw new Error('start did not fail');
}

/** Counts of active resources (handles, sockets, timers) by type. */
function resources(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
}

describe('options', () => {
  it('a name that is not name@host is refused with ERR_BAD_NAME', async () => {
    for (const name of ['', 'noat', 'a@', '@h', 'a b@h', 'a@b@c']) {
      expect((await startError({ name, cookie: 'c' })).code, name).toBe('ERR_BAD_NAME');
    }
  });

  it('an empty cookie, a bad port, a bad tickTime or bad limits are refused with ERR_BAD_CONFIG', async () => {
    const name = uniqueName('x');
    expect((await startError({ name, cookie: '' })).code).toBe('ERR_BAD_CONFIG');
    expect((await startError({ name, cookie: 5 as unknown as string })).code).toBe('ERR_BAD_CONFIG');
    for (const port of [-1, 65536, 1.5, Number.NaN]) expect((await startError({ name, cookie: 'c', port })).code, String(port)).toBe('ERR_BAD_CONFIG');
    for (const tickTime of [0, -5, 10, Number.NaN]) expect((await startError({ name, cookie: 'c', tickTime })).code, String(tickTime)).toBe('ERR_BAD_CONFIG');
    expect((await startError({ name, cookie: 'c', handshakeTimeout: 0 })).code).toBe('ERR_BAD_CONFIG');
    expect((await startError({ name, cookie: 'c', maxFrameSize: 10 })).code).toBe('ERR_BAD_CONFIG');
    expect((await startError({ name, cookie: 'c', tls: { key: 'k' } as never })).code).toBe('ERR_BAD_CONFIG');
  });

  it('a seed that is neither name@host:port nor a ws(s) URL is refused with ERR_BAD_SEED', async () => {
    for (const seed of ['b@h', 'b@h:99999', 'http://h:1', 'h:4000', 'ws://', 'b@h:port']) {
      expect((await startError({ name: uniqueName('x'), cookie: 'c', seeds: [seed] })).code, seed).toBe('ERR_BAD_SEED');
    }
    expect((await startError({ name: uniqueName('x'), cookie: 'c', seeds: [5 as unknown as string] })).code).toBe('ERR_BAD_SEED');
  });

  it('valid seeds of both forms are accepted', async () => {
    const a = await cluster.start('a');
    const b = await cluster.start('b', { seeds: [`${a.name}:${a.port}`, `ws://127.0.0.1:${a.port}`] });
    await waitFor(() => b.nodes().includes(a.name), 3000, 'b connected to a');
    expect(b.nodes()).toEqual([a.name]);
  });

  it('port 0 picks a free port, reported as node.port and node.url', async () => {
    const a = await cluster.start('a');
    expect(a.port).toBeGreaterThan(0);
    expect(a.url).toBe(`ws://127.0.0.1:${a.port}`);
  });

  it('a port already in use makes start fail', async () => {
    const a = await cluster.start('a');
    await expect(DistNode.start({ name: uniqueName('b'), cookie: 'c', port: a.port })).rejects.toThrow();
  });

  // Scenario: a node that does not listen dials a listening one.
  it('a node with listen false can still dial out', async () => {
    const a = await cluster.start('a');
    const tool = await cluster.start('tool', { listen: false, seeds: [cluster.seed(a)] });
    expect(tool.port).toBe(0);
    expect(tool.url).toBeNull();
    expect(await tool.connect(a.name)).toBe(true);
    expect(await tool.rpc.call(a.name, 'ping')).toBe('pong');
  });
});

describe('stop', () => {
  // Scenario: a and b connected; a stops; its port is taken by a new node and b sees nodedown.
  it('stop closes the server and every socket, freeing the port', async () => {
    const a = await DistNode.start({ name: uniqueName('a'), cookie: 'c', port: 0 });
    cluster.add(a);
    const b = await cluster.start('b', { seeds: [cluster.seed(a)] });
    expect(await b.connect(a.name)).toBe(true);
    const rec = spawnRecorder(b);
    b.monitorNodes(b.process(rec.pid)!);
    const port = a.port;
    await a.stop();
    await waitFor(() => rec.got.length > 0, 3000, 'b sees a down');
    expect(rec.got).toEqual([{ tag: 'nodedown', node: a.name }]);
    const again = await cluster.start('again', { port });
    expect(again.port).toBe(port);
  });

  it('stop twice is harmless and a stopped node refuses to connect', async () => {
    const a = await DistNode.start({ name: uniqueName('a'), cookie: 'c', port: 0 });
    await a.stop();
    await a.stop();
    expect(await a.connect('b@127.0.0.1')).toBe(false);
  });

  // Scenario: repeated start/connect/stop cycles of two nodes.
  it('start and stop cycles leave no handles behind', async () => {
    const cycle = async (): Promise<void> => {
      const a = await DistNode.start({ name: uniqueName('a'), cookie: 'c', port: 0, tickTime: 1000 });
      const b = await DistNode.start({ name: uniqueName('b'), cookie: 'c', port: 0, seeds: [`${a.name}:${a.port}`] });
      await b.connect(a.name);
      expect(await b.rpc.call(a.name, 'ping')).toBe('pong');
      await b.stop();
      await a.stop();
    };
    await cycle();
    const baseline = resources().length;
    for (let i = 0; i < 5; i++) await cycle();
    await waitFor(() => resources().length <= baseline, 3000, `resources back to ${baseline}: ${resources().join(',')}`);
  });
});
