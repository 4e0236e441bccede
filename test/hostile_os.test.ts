/**
 * Hostile input against a node running as its own OS process (test/src/node_main.ts), where
 * the effect to rule out is a crash (the process exits) or a stall (its event loop stops):
 * - issue 11 problem 3: an authenticated peer's member list with the URL "not a url" (and
 *   2,000 fake members) made `new WebSocket(...)` throw in a floating promise: exit code 1;
 * - issue 11 problem 4: a 450-byte hello using msgpackr's structured-clone pointers stalled
 *   the event loop for 46 s while the node stringified it for its error message.
 * A legitimate peer measures its call rate before and during each attack (printed).
 */
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { genServer } from '@rigil/core';
import { DistNode } from '@rigil/net';
import { OsCluster, type ChildNode } from './src/os_cluster.js';

const COOKIE = 'os-hostile-test-cookie';
/** The MEMBERS data operation (protocol.ts: `[MEMBERS, [[name, url], ...]]`). */
const OP_MEMBERS = 11;

const cluster = new OsCluster();
const locals: DistNode[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  try {
    await Promise.all(locals.splice(0).map((n) => n.stop()));
  } finally {
    await cluster.cleanup();
  }
});

async function local(name: string, seeds: string[]): Promise<DistNode> {
  const n = await DistNode.start({ name, cookie: COOKIE, port: 0, seeds, tickTime: 10_000 });
  locals.push(n);
  return n;
}

/** True while the child's OS process runs. */
function alive(c: ChildNode): boolean {
  return c.proc.exitCode === null && c.proc.signalCode === null;
}

/**
 * Calls the child's echo server in a loop until `stop()`: counts the calls answered and the
 * slowest one, so a stall of the child's event loop shows as a slow call.
 */
function callLoop(t: DistNode, c: ChildNode): { calls: () => number; slowest: () => number; stop: () => Promise<void> } {
  let calls = 0;
  let slowest = 0;
  let running = true;
  let failure: unknown;
  const done = (async () => {
    while (running) {
      const t0 = performance.now();
      await genServer.call(t, ['echo', c.name], { echo: calls }, 30_000);
      slowest = Math.max(slowest, performance.now() - t0);
      calls++;
    }
  })().catch((e: unknown) => {
    failure = e;
  });
  return {
    calls: () => calls,
    slowest: () => slowest,
    stop: async () => {
      running = false;
      await done;
      if (failure !== undefined) throw failure instanceof Error ? failure : new Error(String(failure));
    },
  };
}

/** Calls per second of a running loop over the next `ms` milliseconds of real time. */
async function rate(loop: { calls: () => number }, ms: number): Promise<number> {
  const n0 = loop.calls();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  return ((loop.calls() - n0) * 1000) / (performance.now() - t0);
}

// ---------------------------------------------------------------- a raw WebSocket client (no `ws` in this package)

/** Opens a WebSocket to 127.0.0.1:port by hand; resolves once upgraded. */
async function rawWebSocket(port: number): Promise<{ sendBinary: (data: Buffer) => void; closed: Promise<void> }> {
  const sock = tcpConnect(port, '127.0.0.1');
  sockets.push(sock);
  const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  sock.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    let head = '';
    sock.once('connect', () => {
      sock.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    const onData = (d: Buffer): void => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      sock.off('data', onData);
      if (head.startsWith('HTTP/1.1 101')) resolve();
      else reject(new Error(`upgrade refused: ${head.split('\r\n')[0]}`));
    };
    sock.on('data', onData);
    sock.once('error', reject);
  });
  sock.resume();
  const sendBinary = (data: Buffer): void => {
    const mask = randomBytes(4);
    const len = data.length;
    const header = len < 126 ? Buffer.from([0x82, 0x80 | len]) : Buffer.from([0x82, 0x80 | 126, len >> 8, len & 0xff]);
    const body = Buffer.from(data);
    for (let i = 0; i < body.length; i++) body[i]! ^= mask[i % 4]!;
    sock.write(Buffer.concat([header, mask, body]));
  };
  return { sendBinary, closed };
}

/**
 * The hello of issue 11 problem 4, written by hand as msgpackr writes it with structured
 * clones on: `v` is a list of two references to one list of two references to … (27 levels,
 * 2^27 paths), each level's second copy a 6-byte pointer extension (0x70) to the first (0x69).
 */
function dagHello(depth = 27): Buffer {
  const id = (type: number, n: number): Buffer => Buffer.from([0xd6, type, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  let level = Buffer.from([0x92, 0xa1, 0x78, 0xa1, 0x78]);
  for (let n = 1; n < depth; n++) level = Buffer.concat([Buffer.from([0x92]), id(0x69, n), level, id(0x70, n)]);
  const str = (s: string): Buffer => Buffer.concat([Buffer.from([0xa0 | s.length]), Buffer.from(s)]);
  return Buffer.concat([
    Buffer.from([0x87]),
    str('t'), str('hello'),
    str('v'), level,
    str('flags'), Buffer.from([0x00]),
    str('name'), str('evil@127.0.0.1'),
    str('creation'), Buffer.from([0x01]),
    str('url'), Buffer.from([0xc0]),
    str('challenge'), Buffer.from([0xc4, 32]), Buffer.alloc(32),
  ]);
}

describe('a node in its own OS process under attack', () => {
  // Scenario: an authenticated local node announces to the child a member with URL "not a url"
  // and 2,000 fake members; the child must not exit, and must still answer.
  it('survives a member list with a bad URL and 2,000 fake members, and still answers a ping', async () => {
    const child = await cluster.spawn({ name: 'osh1@127.0.0.1', cookie: COOKIE, tickTime: 10_000 });
    const t = await local('hostile_t1@127.0.0.1', [child.seed]);
    expect(await t.connect(child.name)).toBe(true);
    const fakes = Array.from({ length: 2000 }, (_, i) => [`fake${i}@127.0.0.1`, 'ws://127.0.0.1:1']);
    const conn = (t.net as unknown as { conns: Map<string, { send(m: unknown): void }> }).conns.get(child.name)!;
    conn.send([OP_MEMBERS, [['bad@127.0.0.1', 'not a url'], ...fakes]]);
    // Ping it until its failed dials of the fake members have run their course.
    const deadline = Date.now() + 1500;
    while (Date.now() < deadline) {
      expect(await t.rpc.call(child.name, 'ping', [], 5000)).toBe('pong');
      expect(alive(child), `child exited; stderr: ${child.stderr.join('')}`).toBe(true);
    }
    expect(child.stderr.join('')).not.toMatch(/unhandled|Invalid URL/i);
    const fresh = await local('hostile_u1@127.0.0.1', [child.seed]);
    expect(await fresh.ping(child.name)).toBe('pong');
    expect(alive(child)).toBe(true);
  });

  // Scenario: a client without the cookie sends the 450-byte structured-clone hello while a
  // legitimate peer calls the child in a loop; the calls go on at about the same rate.
  it('a 450-byte structured-clone hello does not stall it: a legitimate peer is answered throughout', async () => {
    const child = await cluster.spawn({ name: 'osh2@127.0.0.1', cookie: COOKIE, tickTime: 10_000 });
    const t = await local('hostile_t2@127.0.0.1', [child.seed]);
    expect(await t.connect(child.name)).toBe(true);
    const loop = callLoop(t, child);
    try {
      const before = await rate(loop, 500);
      const hello = dagHello();
      expect(hello.length).toBeLessThan(460);
      const attacks: Array<Promise<void>> = [];
      for (let i = 0; i < 5; i++) {
        const ws = await rawWebSocket(child.port);
        ws.sendBinary(hello);
        attacks.push(ws.closed);
      }
      const during = await rate(loop, 1000);
      // Every attacking socket was closed by the node, long before a stall would have ended.
      await Promise.race([Promise.all(attacks), new Promise((_, reject) => setTimeout(() => reject(new Error('attack sockets not closed within 5 s')), 5000))]);
      process.stdout.write(`legitimate peer: ${before.toFixed(0)} calls/s before, ${during.toFixed(0)} calls/s during the attack; slowest call ${loop.slowest().toFixed(1)} ms\n`);
      expect(during).toBeGreaterThan(0);
      expect(loop.slowest()).toBeLessThan(1000);
      expect(alive(child)).toBe(true);
    } finally {
      await loop.stop();
    }
  });
});
