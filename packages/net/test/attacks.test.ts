/**
 * Attacks on the handshake and admission by a client without the cookie (issue 11, problems 1,
 * 2, 5 and 6), each against real nodes over real sockets, with a legitimate peer whose call
 * rate is measured before and during the attack (printed, and asserted to stay above zero).
 * The hostile client is attacker.ts; it speaks the wire protocol directly.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DistNode } from '../src/index.js';
import { PROTOCOL_VERSION } from '../src/protocol.js';
import { Attacker, nonceIn, proofIn, rateDuring } from './attacker.js';
import { RawPeer, distReports, spawnRecorder, uniqueName, useCluster, waitFor, type Cluster } from './helpers.js';

const cluster = useCluster();

/** A node `a` with a registered inbox, and a legitimate peer `l` connected to it. */
async function victim(c: Cluster, options: Parameters<Cluster['start']>[1] = {}): Promise<{ a: DistNode; l: DistNode; inbox: { got: unknown[] } }> {
  const a = await c.start('a', options);
  const inbox = spawnRecorder(a, { name: 'inbox' });
  const l = await c.start('l', { seeds: [c.seed(a)] });
  expect(await l.connect(a.name)).toBe(true);
  return { a, l, inbox };
}

/** After an attacker tried to speak as a peer: nothing it sent reached `a`, nothing came back. */
async function nothingGotThrough(a: DistNode, l: DistNode, inbox: { got: unknown[] }, attackers: Attacker[]): Promise<void> {
  for (const x of attackers) {
    expect(x.acked).toBe(false);
    await waitFor(() => x.closed, 3000, 'the node closes the attacker');
    expect(x.dataFrames).toBe(0);
    expect(a.nodes()).not.toContain(x.name);
  }
  // A marker from the legitimate peer: the attacker's messages, had they been delivered, were
  // dispatched before its connection closed, so before this one.
  l.send(['inbox', a.name], 'marker');
  await waitFor(() => inbox.got.includes('marker'), 3000, 'the legitimate message');
  expect(inbox.got).toEqual(['marker']);
}

describe('reflection (problem 1)', () => {
  // Scenario: the attack of issue 11 as reported. The attacker claims "x" + a's name; a second
  // connection says hello with a's challenge followed by "x", hoping a's proof there is the one
  // the first connection needs (HMAC(cookie, challenge ‖ "x" ‖ name) both times, in protocol 1).
  it('a proof reflected from a second connection does not authenticate the first, and the node reveals no proof', async () => {
    const { a, l, inbox } = await victim(cluster);
    const reports = distReports(a);
    const attackers: Attacker[] = [];
    const rates = await rateDuring(l, a.name, 'reflection', async () => {
      const first = await Attacker.open(cluster, a.port, `x${a.name}`);
      attackers.push(first);
      first.hello();
      const challenge = await first.reply();
      const serverNonce = nonceIn(challenge);
      expect(serverNonce).toBeDefined();
      const second = await Attacker.open(cluster, a.port);
      attackers.push(second);
      second.hello(Buffer.concat([serverNonce!, Buffer.from('x')]));
      const reflected = proofIn(await second.reply());
      first.answer(reflected ?? randomBytes(32));
      await first.reply();
      if (!first.closed) {
        first.sendNamed('inbox', 'from the attacker');
        first.rpcPing();
      }
    });
    expect(rates.during).toBeGreaterThan(0);
    await nothingGotThrough(a, l, inbox, attackers);
    expect(reports.some((r) => r.code === 'ERR_BAD_COOKIE')).toBe(true);
    // The second connection's 33-byte nonce is refused outright.
    expect(reports.some((r) => r.code === 'ERR_PROTOCOL_STATE')).toBe(true);
  });
});

describe('relay (problem 2)', () => {
  // Scenario: s1 and s2 share the cookie but are not connected. The attacker dials s1 claiming
  // to be s2, puts s1's challenge in a hello of its own to s2, and hands s2's answer to s1.
  it('a proof relayed from another node with the same cookie does not let the attacker pass for that node', async () => {
    const { a: s1, l, inbox } = await victim(cluster);
    const s2 = await cluster.start('s2');
    const reports = distReports(s1);
    const attackers: Attacker[] = [];
    const rates = await rateDuring(l, s1.name, 'relay', async () => {
      const toS1 = await Attacker.open(cluster, s1.port, s2.name);
      attackers.push(toS1);
      toS1.hello();
      const s1Nonce = nonceIn(await toS1.reply());
      expect(s1Nonce).toBeDefined();
      const toS2 = await Attacker.open(cluster, s2.port);
      attackers.push(toS2);
      toS2.hello(s1Nonce);
      const relayed = proofIn(await toS2.reply());
      toS1.answer(relayed ?? randomBytes(32));
      await toS1.reply();
      if (!toS1.closed) {
        toS1.sendNamed('inbox', 'from the attacker');
        toS1.rpcPing();
      }
      toS2.peer.ws.terminate();
    });
    expect(rates.during).toBeGreaterThan(0);
    await nothingGotThrough(s1, l, inbox, attackers.slice(0, 1));
    expect(s1.nodes()).not.toContain(s2.name);
    expect(reports.some((r) => r.code === 'ERR_BAD_COOKIE')).toBe(true);
  });
});

describe('name squatting (problem 5)', () => {
  // Scenario: before b starts, and while it connects, a client without the cookie keeps saying
  // hello as b and never answers; the real b must get in at once.
  it('hellos claiming a name without the cookie claim nothing: the real node connects while they are pending', async () => {
    const { a, l } = await victim(cluster, { handshakeTimeout: 4000 });
    const bName = uniqueName('b');
    const squatters: Attacker[] = [];
    let b: DistNode | undefined;
    const rates = await rateDuring(l, a.name, 'name squatting', async () => {
      for (let i = 0; i < 5; i++) {
        const s = await Attacker.open(cluster, a.port, bName);
        squatters.push(s);
        s.hello();
        await s.reply();
      }
      expect(a.net.isConnected(bName)).toBe(false);
      b = await cluster.start('b', { name: bName, seeds: [cluster.seed(a)] });
      // Another squatter says hello while b connects.
      const late = await Attacker.open(cluster, a.port, bName);
      squatters.push(late);
      late.hello();
      expect(await b.connect(a.name)).toBe(true);
    });
    expect(rates.during).toBeGreaterThan(0);
    expect(a.nodes()).toContain(bName);
    expect(await b!.rpc.call(a.name, 'ping')).toBe('pong');
    expect(squatters.some((s) => s.acked)).toBe(false);
  });
});

describe('pre-authentication resources (problem 6)', () => {
  // Scenario: a stranger's first frame is 5000 bytes, above the 4096-byte default pre-handshake
  // limit (and far below maxFrameSize).
  it('a frame above handshakeFrameSize before authentication closes the connection with ERR_FRAME_TOO_LARGE', async () => {
    const { a, l, inbox } = await victim(cluster);
    const reports = distReports(a);
    const before = a.net.stats.badFrames;
    const x = await Attacker.open(cluster, a.port);
    x.peer.send(randomBytes(5000));
    const closed = await x.peer.waitClosed();
    expect(closed.code).toBe(1009);
    expect(a.net.stats.badFrames).toBe(before + 1);
    expect(reports.some((r) => r.code === 'ERR_FRAME_TOO_LARGE')).toBe(true);
    // After authentication the limit is maxFrameSize again: a large message goes through.
    const big = 'y'.repeat(200_000);
    l.send(['inbox', a.name], big);
    await waitFor(() => inbox.got.includes(big), 3000, 'a 200 kB message after the handshake');
    expect(l.nodes()).toContain(a.name);
  });

  // Scenario: a stranger announces a 200 MiB frame and sends 1 KiB of it: it is refused from
  // the frame header, before anything is buffered (no 200 MiB ever crosses the socket).
  it('a frame announced above the limit is refused from its header, without waiting for its payload', async () => {
    const { a, l } = await victim(cluster);
    const x = await Attacker.open(cluster, a.port);
    const rates = await rateDuring(l, a.name, 'oversized pre-auth frame', async () => {
      const header = Buffer.alloc(14);
      header[0] = 0x82; // FIN, binary
      header[1] = 0x80 | 127; // masked, 64-bit length
      header.writeBigUInt64BE(200n * 1024n * 1024n, 2);
      randomBytes(4).copy(header, 10);
      (x.peer.ws as unknown as { _socket: { write(b: Buffer): void } })._socket.write(Buffer.concat([header, randomBytes(1024)]));
      const closed = await x.peer.waitClosed(2000);
      expect(closed.code).toBe(1009);
    });
    expect(rates.during).toBeGreaterThan(0);
  });

  // Scenario: with maxHandshakes 4, four strangers open sockets and say nothing; the fifth is
  // closed at once (not after handshakeTimeout) and counted; connected peers carry on.
  it('connections beyond maxHandshakes unauthenticated ones are closed at once and counted', async () => {
    const { a, l } = await victim(cluster, { maxHandshakes: 4, handshakeTimeout: 10_000 });
    const idle: RawPeer[] = [];
    const rates = await rateDuring(l, a.name, 'handshake cap', async () => {
      for (let i = 0; i < 4; i++) idle.push(await RawPeer.open(cluster, a.port));
      const fifth = await RawPeer.open(cluster, a.port);
      const t0 = Date.now();
      await fifth.waitClosed(2000);
      expect(Date.now() - t0).toBeLessThan(2000);
    });
    expect(rates.during).toBeGreaterThan(0);
    expect(a.net.stats.handshakesRefused).toBeGreaterThanOrEqual(1);
    expect(idle.every((p) => p.closed === undefined)).toBe(true);
    // Once the strangers leave, a new peer gets in.
    for (const p of idle) p.ws.terminate();
    await waitFor(() => idle.every((p) => p.closed !== undefined), 3000, 'the strangers gone');
    const b = await cluster.start('b', { seeds: [cluster.seed(a)] });
    expect(await b.connect(a.name)).toBe(true);
  });

  // Scenario: a stranger says hello and reads the acceptor's reply: it must hold nothing derived
  // from the cookie (no proof a dictionary attack could be run against offline).
  it('the acceptor sends a stranger nothing derived from the cookie before the dialler proved itself', async () => {
    const { a } = await victim(cluster);
    const x = await Attacker.open(cluster, a.port);
    x.hello();
    const challenge = await x.reply();
    expect(challenge).toEqual({
      t: 'challenge', v: PROTOCOL_VERSION, flags: a.net.flags, name: a.name, creation: a.creation, url: a.url,
      nonce: expect.any(Uint8Array),
    });
    expect(nonceIn(challenge)!.length).toBe(32);
    // A wrong proof gets the connection closed, with nothing else sent.
    x.answer(randomBytes(32));
    expect(await x.reply()).toBeUndefined();
    expect(x.received).toHaveLength(1);
  });
});
