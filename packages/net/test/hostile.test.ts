/**
 * Hostile input against a real node over real sockets (issue 11): every hostile frame we have —
 * before the handshake (no cookie) and after it (an authenticated peer) — runs with a
 * process-level `unhandledRejection` / `uncaughtException` trap that fails the test if it
 * fires, and a bystander peer must keep working throughout. Also the member-list limits: a
 * peer announcing a bad URL and 2,000 fake nodes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { Pid } from '@rigil/core';
import { WebSocketTransport, type DialOptions, type DistNode, type TransportConnection } from '../src/index.js';
import { encodePlain } from '../src/codec.js';
import type { Connection } from '../src/connection.js';
import { DialBackoff, MembersLimits } from '../src/net_kernel.js';
import { Op, PROTOCOL_VERSION } from '../src/protocol.js';
import { distReports, rawConnect, RawPeer, spawnRecorder, useCluster, waitFor, type Cluster } from './helpers.js';

const cluster = useCluster();

// ---------------------------------------------------------------- the process-level trap

const trapped: string[] = [];
const onRejection = (reason: unknown): void => void trapped.push(`unhandledRejection: ${String(reason)}`);
const onException = (error: unknown): void => void trapped.push(`uncaughtException: ${String(error)}`);

beforeEach(() => {
  trapped.length = 0;
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
});

afterEach(() => {
  process.off('unhandledRejection', onRejection);
  process.off('uncaughtException', onException);
  expect(trapped, 'no unhandled rejection or uncaught exception during the test').toEqual([]);
});

// ---------------------------------------------------------------- helpers

/** a, and b connected to a with a registered inbox on a (the bystander whose traffic must go on). */
async function setup(c: Cluster): Promise<{ a: DistNode; b: DistNode; inbox: { got: unknown[] } }> {
  const [a, b] = await c.startConnected(2);
  return { a: a!, b: b!, inbox: spawnRecorder(a!, { name: 'inbox' }) };
}

let sent = 0;
/** b can still send to and call a. */
async function bystanderUnaffected(a: DistNode, b: DistNode, inbox: { got: unknown[] }): Promise<void> {
  const tag = `after-${++sent}`;
  expect(a.nodes()).toContain(b.name);
  b.send(['inbox', a.name], tag);
  await waitFor(() => inbox.got.includes(tag), 3000, 'bystander message');
  expect(await b.rpc.call(a.name, 'ping')).toBe('pong');
}

/** A DAG of `depth` levels whose every level holds the next one twice: 2^depth paths. */
function dag(depth: number): unknown {
  let x: unknown = 'x';
  for (let i = 0; i < depth; i++) x = [x, x];
  return x;
}

/** msgpackr with structured clones on: writes a shared subtree once and points at it. */
const cloner = new Packr({ structuredClone: true, useRecords: false });

/** The 431-byte hello of issue 11 (problem 4): its version field is a DAG of 2^27 paths. */
function dagHello(): Buffer {
  return cloner.pack({ t: 'hello', v: dag(27), flags: 0, name: 'evil@127.0.0.1', creation: 1, url: null, challenge: new Uint8Array(32) });
}

/** `n` arrays nested in each other around 1. */
function nested(n: number): unknown {
  let x: unknown = 1;
  for (let i = 0; i < n; i++) x = [x];
  return x;
}

/** The live connection `node` uses to `peer` (to inject raw operations as an authenticated node). */
function connectionOf(node: DistNode, peer: string): Connection {
  const c = (node.net as unknown as { conns: Map<string, Connection> }).conns.get(peer);
  if (c === undefined || !c.up) throw new Error(`${node.name} has no connection up to ${peer}`);
  return c;
}

/** The WebSocket transport, counting every address dialled. */
class CountingTransport extends WebSocketTransport {
  readonly dials: string[] = [];
  override dial(address: string, options: DialOptions): TransportConnection {
    this.dials.push(address);
    return super.dial(address, options);
  }
}

// ---------------------------------------------------------------- frames before the handshake

describe('hostile frames from a client without the cookie', () => {
  // Scenario: problem 4 — a 431-byte hello whose version decodes (with structured clones on)
  // to a DAG of 2^27 paths; stringifying it for the error took 41 s. Now it is refused at once.
  it('a 450-byte structured-clone hello is refused at once and the node keeps answering', async () => {
    const { a, b, inbox } = await setup(cluster);
    const frame = dagHello();
    expect(frame.length).toBeLessThan(460);
    const reports = distReports(a);
    const t0 = performance.now();
    const peer = await RawPeer.open(cluster, a.port);
    peer.send(frame);
    await peer.waitClosed(10_000);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(reports.every((r) => r.message.length < 1000)).toBe(true);
    await bystanderUnaffected(a, b, inbox);
  });

  // Scenario: hellos whose fields are huge, deeply nested, or of the wrong type.
  it('hellos with huge strings, deep nesting and wrong types are refused with short reports', async () => {
    const { a, b, inbox } = await setup(cluster);
    const reports = distReports(a);
    const base = { t: 'hello', v: PROTOCOL_VERSION, flags: 0, name: 'evil@127.0.0.1', creation: 1, url: null, challenge: new Uint8Array(32) };
    const frames = [
      encodePlain({ ...base, name: 'n\u001b[2J'.repeat(100_000) }),
      encodePlain({ ...base, v: 'v\n'.repeat(100_000) }),
      encodePlain({ ...base, name: nested(1000) }),
      encodePlain({ ...base, v: nested(50) }),
      encodePlain({ ...base, name: new Map([[{ k: 1 }, new Set([1n << 4000n])]]) }),
      encodePlain({ ...base, t: 'x'.repeat(50_000) }),
      Buffer.concat([Buffer.alloc(100_000, 0x91), Buffer.from([0x01])]),
      Buffer.from([0x81, 0xa1, 0x74, 0xd4, 0x70, 0x00]), // {t: pointer to nothing}
    ];
    for (const f of frames) {
      const peer = await RawPeer.open(cluster, a.port);
      peer.send(f);
      await peer.waitClosed();
    }
    expect(reports.length).toBeGreaterThan(0);
    for (const r of reports) {
      expect(r.message.length).toBeLessThan(1000);
      // eslint-disable-next-line no-control-regex
      expect(r.message).not.toMatch(/[\u0000-\u001f]/);
    }
    await bystanderUnaffected(a, b, inbox);
  });

  // Scenario: random bytes as the first frame, one fresh socket per case.
  it('random first frames are refused without disturbing the node', async () => {
    const { a, b, inbox } = await setup(cluster);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (bytes) => {
        const peer = await RawPeer.open(cluster, a.port);
        peer.send(bytes);
        peer.ws.close();
        await peer.waitClosed();
      }),
      { numRuns: 20 },
    );
    await bystanderUnaffected(a, b, inbox);
  });
});

// ---------------------------------------------------------------- frames after the handshake

describe('hostile frames from an authenticated peer', () => {
  // Scenario: every kind of bad data frame we have, each from a fresh authenticated raw peer.
  it('structured-clone, deeply nested, huge and malformed frames close only that connection', async () => {
    const { a, b, inbox } = await setup(cluster);
    const pidExt = (payload: unknown): Buffer => Buffer.concat([Buffer.from([0x91, 0x93, 0x01, 0xd4, 0x01, 0x00]), encodePlain(payload), encodePlain('m')]);
    const frames: Buffer[] = [
      cloner.pack([[Op.REG_SEND, 'inbox', dag(30)]]),
      cloner.pack([[Op.EXIT, new Pid('x@h', 1, 1), new Pid(a.name, 1, a.creation), dag(30), false]]),
      Buffer.concat([Buffer.from([0x91]), Buffer.alloc(200_000, 0x91), Buffer.from([0x01])]),
      encodePlain([[Op.EXIT, new Pid('x@h', 1, 1), new Pid(a.name, 999_999, a.creation), nested(1000), false]]),
      encodePlain([[Op.DOWN, { not: 'a ref' }, nested(1000)]]),
      pidExt(['a@h', -1, 1]),
      pidExt(['x'.repeat(10_000), 1, 1]),
      pidExt('not a triple'),
      encodePlain([['\u001b[31m'.repeat(10_000)]]),
      encodePlain([[Op.MEMBERS, 'not a list']]),
      encodePlain([[Op.MEMBERS, [[dag(3), 'x'.repeat(100_000)], 'junk', ['n@h', 42]]]]),
    ];
    const reports = distReports(a);
    for (const f of frames) {
      const peer = await rawConnect(cluster, a, { cookie: 'c' });
      peer.send(f);
      peer.send(encodePlain([[Op.TICK]]));
      peer.ws.close();
      await peer.waitClosed();
    }
    for (const r of reports) expect(r.message.length, r.message.slice(0, 100)).toBeLessThan(1000);
    expect(inbox.got).toEqual([]);
    await bystanderUnaffected(a, b, inbox);
  });

  // Scenario: random and mutated data frames (as in connection.test.ts), under the trap.
  it('random and mutated data frames never crash the node', async () => {
    const { a, b, inbox } = await setup(cluster);
    const valid = encodePlain([[Op.REG_SEND, 'nobody', { x: 1 }], [Op.SEND, new Pid(a.name, 999_999, a.creation), [1, 2]], [Op.MEMBERS, [['m@127.0.0.1', 'ws://127.0.0.1:1']]], [Op.TICK]]);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 200 }).map((u) => Buffer.from(u)),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((edits) => {
            const f = Buffer.from(valid);
            for (const [at, byte] of edits) f[at % f.length] = byte;
            return f;
          }),
        ),
        async (frame) => {
          const peer = await rawConnect(cluster, a, { cookie: 'c' });
          peer.send(frame);
          peer.ws.close();
          await peer.waitClosed();
        },
      ),
      { numRuns: 30 },
    );
    await bystanderUnaffected(a, b, inbox);
  });
});

// ---------------------------------------------------------------- member lists

describe('member lists from an authenticated peer', () => {
  // Scenario: problems 3 and 6 — b (same cookie) announces to a a member whose URL is
  // "not a url" (which crashed the node) and 2,000 fake members (which made it dial 4,000 times).
  it('a bad URL and 2,000 fake members: the node stays up, dials at most the bound, reports once', async () => {
    const transport = new CountingTransport();
    const a = await cluster.start('a', { transport });
    const b = await cluster.start('b', { seeds: [cluster.seed(a)] });
    const c = await cluster.start('c', { seeds: [cluster.seed(a)] });
    expect(await b.connect(a.name)).toBe(true);
    expect(await c.connect(a.name)).toBe(true);
    const inbox = spawnRecorder(a, { name: 'inbox' });
    const reports = distReports(a);
    const before = transport.dials.length;
    const fakes = Array.from({ length: 2000 }, (_, i) => [`fake${i}@127.0.0.1`, 'ws://127.0.0.1:1']);
    connectionOf(b, a.name).send([Op.MEMBERS, [['bad@127.0.0.1', 'not a url'], ...fakes]]);
    await waitFor(() => reports.some((r) => r.code === 'ERR_BAD_ADDRESS'), 3000, 'the bad-address report');
    // The dials it started fail (nothing listens on port 1); wait until none is pending.
    await waitFor(() => (a.net as unknown as { all: Set<unknown> }).all.size <= 2, 5000, 'the fake dials to fail');
    const dials = transport.dials.slice(before);
    expect(dials.length).toBeGreaterThan(0);
    expect(dials.length).toBeLessThanOrEqual(MembersLimits.dialsPerAnnouncement);
    expect(dials.every((d) => d === 'ws://127.0.0.1:1')).toBe(true);
    const bad = reports.filter((r) => r.code === 'ERR_BAD_ADDRESS');
    expect(bad).toHaveLength(1);
    expect(bad[0]!.message).toContain('"not a url"');
    expect(a.net.addressOf('bad@127.0.0.1')).toBeUndefined();
    // The same announcement again: the failed addresses are backed off, so only new ones are dialled.
    connectionOf(b, a.name).send([Op.MEMBERS, fakes]);
    await waitFor(() => transport.dials.length > before + dials.length, 3000, 'dials of the second announcement');
    await waitFor(() => (a.net as unknown as { all: Set<unknown> }).all.size <= 2, 5000, 'the second round of dials to fail');
    const second = transport.dials.slice(before + dials.length);
    expect(second.length).toBeLessThanOrEqual(MembersLimits.dialsPerAnnouncement);
    // The node is up and the other peers work.
    expect(a.nodes().sort()).toEqual([b.name, c.name].sort());
    c.send(['inbox', a.name], 'still here');
    await waitFor(() => inbox.got.includes('still here'), 3000, 'a message from the bystander');
    expect(await c.rpc.call(a.name, 'ping')).toBe('pong');
  });

  // Scenario: an address learnt from a peer never answers: after DialBackoff.forgetAfter failed
  // dials it is forgotten (a seed's address is kept).
  it('an address that keeps failing is forgotten after repeated failures; a seed is kept', async () => {
    const [a, b] = await cluster.startConnected(2);
    const dead = 'dead@127.0.0.1';
    connectionOf(b!, a!.name).send([Op.MEMBERS, [[dead, 'ws://127.0.0.1:1']]]);
    await waitFor(() => a!.net.addressOf(dead) !== undefined, 3000, 'the address learnt');
    // Each connect dials twice (it retries once); the address goes after `forgetAfter` failures.
    for (let i = 0; i < DialBackoff.forgetAfter && a!.net.addressOf(dead) !== undefined; i++) expect(await a!.connect(dead)).toBe(false);
    expect(a!.net.addressOf(dead)).toBeUndefined();
    const seeded = await cluster.start('s', { seeds: [`${dead}:1`] });
    for (let i = 0; i < DialBackoff.forgetAfter; i++) expect(await seeded.connect(dead)).toBe(false);
    expect(seeded.net.addressOf(dead)).toBe('ws://127.0.0.1:1');
  });

  // Scenario: a TLS transport refuses to dial a plain ws:// address announced by a peer.
  it('a transport configured for TLS refuses plain ws:// addresses unless allowPlain', () => {
    const tls = new WebSocketTransport({ tls: { key: 'k', cert: 'c' } });
    expect(tls.checkAddress('ws://127.0.0.1:1')).toMatch(/plain/);
    expect(tls.checkAddress('wss://127.0.0.1:1')).toBeUndefined();
    expect(new WebSocketTransport({ tls: { key: 'k', cert: 'c', allowPlain: true } }).checkAddress('ws://127.0.0.1:1')).toBeUndefined();
    expect(new WebSocketTransport().checkAddress('not a url')).toMatch(/not a URL/);
    expect(new WebSocketTransport().checkAddress('http://h:1')).toMatch(/ws/);
  });

  // Scenario: the carrier's constructor throws on a malformed address; the dial fails instead.
  it('dialling a malformed address fails through the handlers, never by throwing', async () => {
    const conn = new WebSocketTransport().dial('not a url', { maxFrameSize: 1024, handshakeFrameSize: 1024, timeout: 1000 });
    const closed = await new Promise<unknown>((resolve) => conn.bind({ open: () => resolve('open'), frame: () => undefined, error: resolve, closed: resolve }));
    expect(closed).toMatchObject({ code: 'ERR_NOT_CONNECTED' });
  });
});
