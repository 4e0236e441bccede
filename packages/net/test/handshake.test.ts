import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import WebSocket from 'ws';
import { DistNode } from '../src/index.js';
import { decodePlain, encodePlain } from '../src/codec.js';
import { checkProof, isNodeName, makeChallenge, proof } from '../src/handshake.js';
import { PROTOCOL_VERSION } from '../src/protocol.js';
import { RawPeer, distReports, rawConnect, spawnRecorder, uniqueName, useCluster, waitFor } from './helpers.js';

const cluster = useCluster();

describe('proofs', () => {
  it('a proof checks only with the same cookie, challenge and prover', () => {
    const ch = makeChallenge();
    const p = proof('secret', ch, 'a@h');
    expect(checkProof('secret', ch, 'a@h', p)).toBe(true);
    expect(checkProof('other', ch, 'a@h', p)).toBe(false);
    expect(checkProof('secret', ch, 'b@h', p)).toBe(false);
    expect(checkProof('secret', makeChallenge(), 'a@h', p)).toBe(false);
    expect(checkProof('secret', ch, 'a@h', p.subarray(0, 16))).toBe(false);
    expect(checkProof('secret', ch, 'a@h', 'not bytes')).toBe(false);
    expect(checkProof('secret', ch, 'a@h', undefined)).toBe(false);
  });

  it('challenges are fresh random bytes', () => {
    const a = makeChallenge();
    const b = makeChallenge();
    expect(a.length).toBeGreaterThanOrEqual(16);
    expect(Buffer.compare(a, b)).not.toBe(0);
  });

  it('node names must be name@host', () => {
    for (const good of ['a@h', 'node_1@127.0.0.1', 'x.y-z@host.example.com']) expect(isNodeName(good)).toBe(true);
    for (const bad of ['', 'a', '@h', 'a@', 'a b@h', 'a@h@i', 42, null, `${'x'.repeat(300)}@h`]) expect(isNodeName(bad)).toBe(false);
  });
});

describe('refused handshakes', () => {
  // Scenario: b dials a with the wrong cookie; both refuse and a keeps serving c.
  it('a wrong cookie refuses the connection on both sides and the listener keeps serving others', async () => {
    const a = await cluster.start('a');
    const aReports = distReports(a);
    const b = await cluster.start('b', { cookie: 'wrong', seeds: [cluster.seed(a)] });
    const bReports = distReports(b);
    expect(await b.connect(a.name)).toBe(false);
    expect(bReports.some((r) => r.code === 'ERR_BAD_COOKIE')).toBe(true);
    await waitFor(() => a.net.stats.handshakeFailures >= 1, 3000, 'a counts the failed handshake');
    expect(a.nodes()).not.toContain(b.name);
    expect(b.nodes()).not.toContain(a.name);
    expect(aReports.every((r) => r.code !== undefined)).toBe(true);
    const c = await cluster.start('c', { seeds: [cluster.seed(a)] });
    expect(await c.connect(a.name)).toBe(true);
    expect(await c.rpc.call(a.name, 'ping')).toBe('pong');
  });

  // Scenario: a raw client answers a's challenge with a proof made from the wrong cookie.
  it('a wrong answer to the challenge closes the connection with ERR_BAD_COOKIE', async () => {
    const a = await cluster.start('a');
    const reports = distReports(a);
    const peer = await RawPeer.open(cluster, a.port);
    const mine = makeChallenge();
    const name = uniqueName('raw');
    peer.send(encodePlain({ t: 'hello', v: PROTOCOL_VERSION, flags: 0, name, creation: 3, url: null, challenge: mine }));
    const ch = decodePlain(await peer.next());
    expect(ch.t).toBe('challenge');
    expect(checkProof('c', mine, a.name, ch.digest)).toBe(true);
    peer.send(encodePlain({ t: 'answer', digest: proof('not-the-cookie', ch.challenge as Uint8Array, name) }));
    const closed = await peer.waitClosed();
    expect(closed.code).not.toBe(1000);
    expect(reports.some((r) => r.code === 'ERR_BAD_COOKIE' && r.peer === name)).toBe(true);
    expect(a.nodes()).not.toContain(name);
    expect(a.net.stats.handshakeFailures).toBeGreaterThanOrEqual(1);
  });

  // Scenario: a raw client says hello with protocol version 0.
  it('an unknown protocol version closes the connection with ERR_BAD_VERSION', async () => {
    const a = await cluster.start('a');
    const reports = distReports(a);
    const peer = await RawPeer.open(cluster, a.port);
    peer.send(encodePlain({ t: 'hello', v: 0, flags: 0, name: uniqueName('old'), creation: 3, url: null, challenge: makeChallenge() }));
    await peer.waitClosed();
    expect(reports.some((r) => r.code === 'ERR_BAD_VERSION')).toBe(true);
    expect(peer.frames.filter((f) => f.binary)).toHaveLength(0);
    expect(a.net.stats.handshakeFailures).toBeGreaterThanOrEqual(1);
    const b = await cluster.start('b', { seeds: [cluster.seed(a)] });
    expect(await b.connect(a.name)).toBe(true);
  });

  // Scenario: a raw client opens a socket and never says hello.
  it('a handshake that stalls is closed after handshakeTimeout with ERR_HANDSHAKE_TIMEOUT', async () => {
    const a = await cluster.start('a', { handshakeTimeout: 200 });
    const reports = distReports(a);
    const peer = await RawPeer.open(cluster, a.port);
    const t0 = Date.now();
    await peer.waitClosed(3000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(reports.some((r) => r.code === 'ERR_HANDSHAKE_TIMEOUT')).toBe(true);
    expect(a.net.stats.handshakeFailures).toBeGreaterThanOrEqual(1);
  });

  // Scenario: a raw client stalls after its hello (before answering the challenge).
  it('a handshake that stalls after the hello is closed too', async () => {
    const a = await cluster.start('a', { handshakeTimeout: 200 });
    const reports = distReports(a);
    const peer = await RawPeer.open(cluster, a.port);
    peer.send(encodePlain({ t: 'hello', v: PROTOCOL_VERSION, flags: 0, name: uniqueName('slow'), creation: 3, url: null, challenge: makeChallenge() }));
    expect(decodePlain(await peer.next()).t).toBe('challenge');
    await peer.waitClosed(3000);
    expect(reports.some((r) => r.code === 'ERR_HANDSHAKE_TIMEOUT')).toBe(true);
  });

  // Scenario: a raw client's first message is an answer, not a hello.
  it('a handshake message out of order is ERR_PROTOCOL_STATE', async () => {
    const a = await cluster.start('a');
    const reports = distReports(a);
    const peer = await RawPeer.open(cluster, a.port);
    peer.send(encodePlain({ t: 'answer', digest: new Uint8Array(32) }));
    await peer.waitClosed();
    expect(reports.some((r) => r.code === 'ERR_PROTOCOL_STATE')).toBe(true);
  });

  // Scenario: a raw client says hello with a malformed node name.
  it('a hello with a bad node name is refused with ERR_BAD_NAME', async () => {
    const a = await cluster.start('a');
    const reports = distReports(a);
    const peer = await RawPeer.open(cluster, a.port);
    peer.send(encodePlain({ t: 'hello', v: PROTOCOL_VERSION, flags: 0, name: 'no-at-sign', creation: 3, url: null, challenge: makeChallenge() }));
    await peer.waitClosed();
    expect(reports.some((r) => r.code === 'ERR_BAD_NAME')).toBe(true);
  });

  // Scenario: b is connected to a; a second, different node also named b dials a.
  it('a second live node with a connected name is refused with ERR_DUPLICATE_NAME and the first connection is unaffected', async () => {
    const a = await cluster.start('a');
    const reports = distReports(a);
    const name = uniqueName('b');
    const b1 = await cluster.start('b', { name, seeds: [cluster.seed(a)] });
    expect(await b1.connect(a.name)).toBe(true);
    const downs: string[] = [];
    a.onNodeEvent((e) => {
      if (e.type === 'nodedown') downs.push(e.node);
    });
    const rec = spawnRecorder(a, { name: 'inbox' });
    const b2 = await cluster.start('b', { name, seeds: [cluster.seed(a)] });
    expect(b2.creation).not.toBe(b1.creation);
    expect(await b2.connect(a.name)).toBe(false);
    expect(reports.some((r) => r.code === 'ERR_DUPLICATE_NAME')).toBe(true);
    expect(downs).toEqual([]);
    expect(a.net.creationOf(name)).toBe(b1.creation);
    b1.send(['inbox', a.name], 'still here');
    await waitFor(() => rec.got.includes('still here'), 3000, 'message over the first connection');
    expect(await b1.rpc.call(a.name, 'ping')).toBe('pong');
  });

  // Scenario: the same hello is fuzzed (random bytes or mutated fields) against a listening node.
  it('random and mutated first frames never take the node down', async () => {
    const a = await cluster.start('a', { handshakeTimeout: 300 });
    const good = encodePlain({ t: 'hello', v: PROTOCOL_VERSION, flags: 0, name: 'fz@127.0.0.1', creation: 3, url: null, challenge: makeChallenge() });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 0, maxLength: 120 }),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((edits) => {
            const f = Buffer.from(good);
            for (const [at, byte] of edits) f[at % f.length] = byte;
            return f;
          }),
        ),
        async (bytes) => {
          const peer = await RawPeer.open(cluster, a.port);
          peer.send(bytes);
          // Either the node closes the socket (bad frame, timeout) or it answers with a challenge.
          await peer.until(() => peer.closed !== undefined || peer.frames.length > 0, 3000, 'the node reacts');
          peer.ws.terminate();
        },
      ),
      { numRuns: 40 },
    );
    const b = await cluster.start('b', { seeds: [cluster.seed(a)] });
    expect(await b.connect(a.name)).toBe(true);
    expect(await b.rpc.call(a.name, 'ping')).toBe('pong');
  });
});

describe('TLS', () => {
  let dir = '';
  let key = '';
  let cert = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rigil-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'),
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
    key = readFileSync(join(dir, 'k.pem'), 'utf8');
    cert = readFileSync(join(dir, 'c.pem'), 'utf8');
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  // Scenario: two nodes with a self-signed certificate connect over wss and exchange a message.
  it('two nodes connect over wss with a self-signed certificate and exchange a message', async () => {
    const tls = { key, cert, ca: cert };
    const a = await cluster.start('a', { tls });
    expect(a.url).toMatch(/^wss:\/\//);
    const b = await cluster.start('b', { tls, seeds: [cluster.seed(a)] });
    const rec = spawnRecorder(a, { name: 'inbox' });
    expect(await b.connect(a.name)).toBe(true);
    b.send(['inbox', a.name], { over: 'tls' });
    await waitFor(() => rec.got.length > 0, 3000, 'message over wss');
    expect(rec.got).toEqual([{ over: 'tls' }]);
    expect(await b.rpc.call(a.name, 'ping')).toBe('pong');
  });

  // Scenario: a node that requires client certificates refuses a client without one, accepts one with one.
  it('requireClientCert refuses a client without a certificate and accepts a node with one', async () => {
    const a = await cluster.start('a', { tls: { key, cert, ca: cert, requireClientCert: true } });
    const ws = cluster.socket(new WebSocket(`wss://127.0.0.1:${a.port}`, { ca: cert, perMessageDeflate: false }));
    const peer = new RawPeer(ws);
    await peer.until(() => peer.closed !== undefined || peer.error !== undefined, 3000, 'the certificate-less client is refused');
    expect(peer.opened).toBe(false);
    const b = await cluster.start('b', { tls: { key, cert, ca: cert }, seeds: [cluster.seed(a)] });
    expect(await b.connect(a.name)).toBe(true);
  });

  // Scenario: a plain-ws node dials a wss-only node.
  it('a node without TLS cannot connect to a TLS node', async () => {
    const a = await cluster.start('a', { tls: { key, cert, ca: cert } });
    const b = await cluster.start('b', { seeds: [`ws://127.0.0.1:${a.port}`] });
    const c = await DistNode.start({ name: uniqueName('c'), cookie: 'c', port: 0, seeds: [`${a.name}:${a.port}`] });
    cluster.add(c);
    expect(await c.connect(a.name)).toBe(false);
    expect(b.nodes()).toEqual([]);
  });
});

describe('raw handshake helper', () => {
  // Scenario: the hand-made handshake of the tests is accepted and makes a visible node.
  it('a raw client that proves the cookie becomes a connected node', async () => {
    const a = await cluster.start('a');
    const peer = await rawConnect(cluster, a, { cookie: 'c' });
    await waitFor(() => a.nodes().includes(peer.name), 3000, 'raw peer listed');
    peer.ws.close();
    await waitFor(() => !a.nodes().includes(peer.name), 3000, 'raw peer gone');
  });
});
