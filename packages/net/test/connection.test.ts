import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Pid } from '@rigil/core';
import type { DistNode } from '../src/index.js';
import { Decoder, encodePlain } from '../src/codec.js';
import { MAX_BATCH } from '../src/connection.js';
import { Op } from '../src/protocol.js';
import { distReports, rawConnect, rawPid, spawnRecorder, useCluster, waitFor, type Cluster } from './helpers.js';

const cluster = useCluster();

/** a, and b connected to a with a registered inbox on a (the bystander whose traffic must go on). */
async function setup(c: Cluster, options: { maxFrameSize?: number } = {}): Promise<{ a: DistNode; b: DistNode; inbox: { got: unknown[] } }> {
  const [a, b] = await c.startConnected(2, options);
  const inbox = spawnRecorder(a!, { name: 'inbox' });
  return { a: a!, b: b!, inbox };
}

/** b can still send to and call a. */
async function bystanderUnaffected(a: DistNode, b: DistNode, inbox: { got: unknown[] }): Promise<void> {
  expect(a.nodes()).toContain(b.name);
  b.send(['inbox', a.name], 'after');
  await waitFor(() => inbox.got.includes('after'), 3000, 'bystander message');
  expect(await b.rpc.call(a.name, 'ping')).toBe('pong');
}

describe('bad input after the handshake', () => {
  // Scenario: a raw peer completes the handshake, then sends bytes that are not msgpack.
  it('a frame that does not decode closes that connection, is counted, and other peers carry on', async () => {
    const { a, b, inbox } = await setup(cluster);
    const reports = distReports(a);
    const peer = await rawConnect(cluster, a, { cookie: 'c' });
    await waitFor(() => a.nodes().includes(peer.name), 3000, 'raw peer up');
    const before = a.net.stats.badFrames;
    peer.send(Buffer.from([0xc1, 0xc1, 0xc1, 0xff, 0x00]));
    await peer.waitClosed();
    expect(a.net.stats.badFrames).toBe(before + 1);
    expect(reports.some((r) => r.code === 'ERR_BAD_FRAME' && r.peer === peer.name)).toBe(true);
    await waitFor(() => !a.nodes().includes(peer.name), 3000, 'raw peer gone');
    await bystanderUnaffected(a, b, inbox);
  });

  // Scenario: a raw peer sends a frame holding a map instead of an array of messages.
  it('a frame that is not an array closes the connection with ERR_BAD_FRAME', async () => {
    const { a, b, inbox } = await setup(cluster);
    const reports = distReports(a);
    const peer = await rawConnect(cluster, a, { cookie: 'c' });
    const before = a.net.stats.badFrames;
    peer.send(encodePlain({ t: 'hello', not: 'an array' }));
    await peer.waitClosed();
    expect(a.net.stats.badFrames).toBe(before + 1);
    expect(reports.some((r) => r.code === 'ERR_BAD_FRAME')).toBe(true);
    await bystanderUnaffected(a, b, inbox);
  });

  // Scenario: a raw peer sends a well-formed frame whose message has an unknown op.
  it('a message with an unknown op closes the connection with ERR_PROTOCOL_STATE', async () => {
    const { a, b, inbox } = await setup(cluster);
    const reports = distReports(a);
    const peer = await rawConnect(cluster, a, { cookie: 'c' });
    const before = a.net.stats.protocolErrors;
    peer.send(encodePlain([[99, 'what']]));
    await peer.waitClosed();
    expect(a.net.stats.protocolErrors).toBe(before + 1);
    expect(reports.some((r) => r.code === 'ERR_PROTOCOL_STATE')).toBe(true);
    await bystanderUnaffected(a, b, inbox);
  });

  // Scenario: a raw peer sends messages that are not [op, ...] arrays, or ops with malformed arguments.
  it('malformed messages close the connection with ERR_PROTOCOL_STATE', async () => {
    const { a, b, inbox } = await setup(cluster);
    for (const bad of [[5], [{ op: 1 }], [[Op.SEND, 'not a pid', 'x']], [[Op.LINK, 1, 2]], [[Op.DOWN, 'no ref', 'x']], [[Op.MEMBERS, 'x']]]) {
      const peer = await rawConnect(cluster, a, { cookie: 'c' });
      const before = a.net.stats.protocolErrors;
      peer.send(encodePlain(bad));
      await peer.waitClosed();
      expect(a.net.stats.protocolErrors, JSON.stringify(bad)).toBe(before + 1);
    }
    await bystanderUnaffected(a, b, inbox);
  });

  // Scenario: a raw peer sends a text frame.
  it('a text frame closes the connection', async () => {
    const { a, b, inbox } = await setup(cluster);
    const reports = distReports(a);
    const peer = await rawConnect(cluster, a, { cookie: 'c' });
    const before = a.net.stats.protocolErrors + a.net.stats.badFrames;
    peer.send('hello as text', false);
    await peer.waitClosed();
    expect(a.net.stats.protocolErrors + a.net.stats.badFrames).toBe(before + 1);
    expect(reports.some((r) => r.peer === peer.name && (r.code === 'ERR_PROTOCOL_STATE' || r.code === 'ERR_BAD_FRAME'))).toBe(true);
    await bystanderUnaffected(a, b, inbox);
  });

  // Scenario: a raw peer sends a frame above a's maxFrameSize.
  it('a frame above maxFrameSize closes the connection with ERR_FRAME_TOO_LARGE', async () => {
    const { a, b, inbox } = await setup(cluster, { maxFrameSize: 4096 });
    const reports = distReports(a);
    const peer = await rawConnect(cluster, a, { cookie: 'c' });
    const before = a.net.stats.badFrames;
    peer.send(encodePlain([[Op.REG_SEND, 'inbox', 'x'.repeat(10_000)]]));
    await peer.waitClosed();
    expect(a.net.stats.badFrames).toBe(before + 1);
    expect(reports.some((r) => r.code === 'ERR_FRAME_TOO_LARGE')).toBe(true);
    expect(inbox.got).toEqual([]);
    await bystanderUnaffected(a, b, inbox);
  });

  // Scenario: a raw peer sends a valid REG_SEND: the path the bad-input tests use works for good input.
  it('a well-formed frame from a raw peer is delivered', async () => {
    const { a, inbox } = await setup(cluster);
    const peer = await rawConnect(cluster, a, { cookie: 'c' });
    peer.send(encodePlain([[Op.REG_SEND, 'inbox', 'one'], [Op.TICK], [Op.REG_SEND, 'inbox', 'two']]));
    await waitFor(() => inbox.got.length === 2, 3000, 'raw messages');
    expect(inbox.got).toEqual(['one', 'two']);
    expect(peer.closed).toBeUndefined();
  });

  // Scenario: random bytes are sent by an authenticated raw peer, one fresh peer per case.
  it('random frames after the handshake never crash the node or disturb other peers', async () => {
    const { a, b, inbox } = await setup(cluster);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (bytes) => {
        const peer = await rawConnect(cluster, a, { cookie: 'c' });
        peer.send(bytes);
        // The frame either closes the connection or is taken; a well-formed follow-up tells which.
        peer.send(encodePlain([[Op.TICK]]));
        peer.ws.close();
        await peer.waitClosed();
      }),
      { numRuns: 25 },
    );
    await bystanderUnaffected(a, b, inbox);
  });

  // Scenario: mutated valid data frames are sent by an authenticated raw peer.
  it('mutated data frames after the handshake never crash the node or disturb other peers', async () => {
    const { a, b, inbox } = await setup(cluster);
    const valid = encodePlain([[Op.REG_SEND, 'nobody', { x: 1 }], [Op.SEND, new Pid(a.name, 999_999, a.creation), [1, 2]], [Op.TICK]]);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), async (edits) => {
        const peer = await rawConnect(cluster, a, { cookie: 'c' });
        const f = Buffer.from(valid);
        for (const [at, byte] of edits) f[at % f.length] = byte;
        peer.send(f);
        peer.ws.close();
        await peer.waitClosed();
      }),
      { numRuns: 25 },
    );
    await bystanderUnaffected(a, b, inbox);
  });
});

describe('outgoing frames', () => {
  // Scenario: a sends many messages in one event-loop turn to a process of a raw peer.
  it('messages sent in one turn are coalesced into few frames, in order', async () => {
    const [a] = await cluster.startConnected(1);
    const peer = await rawConnect(cluster, a!, { cookie: 'c' });
    await waitFor(() => a!.nodes().includes(peer.name), 3000, 'raw peer up');
    const dec = new Decoder((n, i, c) => new Pid(n, i, c));
    const to = rawPid(peer, 1);
    const n = 3 * MAX_BATCH + 10;
    const already = peer.frames.length;
    for (let i = 0; i < n; i++) a!.send(to, i);
    const got: number[] = [];
    let frames = 0;
    let seen = 0;
    await waitFor(() => {
      while (seen < peer.frames.length) {
        const batch = dec.decode(peer.frames[seen++]!.data) as unknown[][];
        if (seen > already) frames++;
        for (const m of batch) if (m[0] === Op.SEND) got.push(m[2] as number);
      }
      return got.length >= n;
    }, 5000, 'all messages at the raw peer');
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(frames).toBeLessThanOrEqual(Math.ceil(n / MAX_BATCH) + 2);
  });

  // Scenario: a message larger than maxFrameSize is sent from a to b.
  it('a message too large to send is dropped with ERR_FRAME_TOO_LARGE and the connection stays up', async () => {
    const [a, b] = await cluster.startConnected(2, { maxFrameSize: 4096 });
    const reports = distReports(a!);
    const inbox = spawnRecorder(b!, { name: 'inbox' });
    const downs: string[] = [];
    a!.onNodeEvent((e) => {
      if (e.type === 'nodedown') downs.push(e.node);
    });
    a!.send(['inbox', b!.name], 'x'.repeat(10_000));
    await waitFor(() => reports.some((r) => r.code === 'ERR_FRAME_TOO_LARGE'), 3000, 'too-large report');
    a!.send(['inbox', b!.name], 'small');
    await waitFor(() => inbox.got.includes('small'), 3000, 'small message after the large one');
    expect(inbox.got).toEqual(['small']);
    expect(downs).toEqual([]);
  });
});
