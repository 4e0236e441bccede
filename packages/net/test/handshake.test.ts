import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import WebSocket from 'ws';
import { DistError, DistNode, WebSocketTransport, type DialOptions, type Listener, type ListenOptions, type Transport, type TransportConnection, type TransportHandlers } from '../src/index.js';
import { decodePlain, encodePlain } from '../src/codec.js';
import { checkMac, isNodeName, mac, makeNonce, NONCE_BYTES, transcriptBytes, type Transcript } from '../src/handshake.js';
import { PROTOCOL_VERSION } from '../src/protocol.js';
import { FaultyTransport } from './faulty_transport.js';
import { RawPeer, distReports, rawConnect, spawnRecorder, uniqueName, useCluster, waitFor } from './helpers.js';

const cluster = useCluster();

/** A transcript between d@h (dialler) and a@h (acceptor) with fresh nonces. */
function transcript(over: Partial<Transcript> = {}): Transcript {
  return {
    version: PROTOCOL_VERSION,
    dialler: { name: 'd@h', creation: 5, flags: 2, nonce: makeNonce() },
    acceptor: { name: 'a@h', creation: 9, flags: 6, nonce: makeNonce() },
    ...over,
  };
}

describe('proofs', () => {
  it('a proof checks only with the same cookie, role and transcript', () => {
    const t = transcript();
    const p = mac('secret', 'dialler', t);
    expect(checkMac('secret', 'dialler', t, p)).toBe(true);
    expect(checkMac('other', 'dialler', t, p)).toBe(false);
    // Reflection: the dialler's proof is no acceptor's proof for the same exchange.
    expect(checkMac('secret', 'acceptor', t, p)).toBe(false);
    // Relay: another pair of names, nonces, creations, flags or version is another transcript.
    const variants: Transcript[] = [
      { ...t, version: t.version + 1 },
      { ...t, dialler: { ...t.dialler, name: 'e@h' } },
      { ...t, acceptor: { ...t.acceptor, name: 'b@h' } },
      { ...t, dialler: t.acceptor, acceptor: t.dialler },
      { ...t, dialler: { ...t.dialler, creation: 6 } },
      { ...t, acceptor: { ...t.acceptor, creation: 10 } },
      { ...t, dialler: { ...t.dialler, nonce: makeNonce() } },
      { ...t, acceptor: { ...t.acceptor, nonce: makeNonce() } },
      { ...t, dialler: { ...t.dialler, flags: 0 } },
      { ...t, acceptor: { ...t.acceptor, flags: 0 } },
    ];
    for (const v of variants) expect(checkMac('secret', 'dialler', v, p)).toBe(false);
    expect(checkMac('secret', 'dialler', t, p.subarray(0, 16))).toBe(false);
    expect(checkMac('secret', 'dialler', t, 'not bytes')).toBe(false);
    expect(checkMac('secret', 'dialler', t, undefined)).toBe(false);
  });

  it('transcripts are length-framed: moving bytes from one name to the next changes them', () => {
    const t = transcript();
    const a = { ...t, dialler: { ...t.dialler, name: 'x@a' }, acceptor: { ...t.acceptor, name: 'bc@d' } };
    const b = { ...t, dialler: { ...t.dialler, name: 'x@ab' }, acceptor: { ...t.acceptor, name: 'c@d' } };
    expect(Buffer.compare(transcriptBytes('dialler', a), transcriptBytes('dialler', b))).not.toBe(0);
    expect(mac('k', 'dialler', a).equals(mac('k', 'dialler', b))).toBe(false);
  });

  it('a nonce of any length but 32 bytes is refused with ERR_PROTOCOL_STATE', () => {
    const t = transcript();
    for (const n of [new Uint8Array(31), new Uint8Array(33), new Uint8Array(0)]) {
      expect(() => mac('k', 'dialler', { ...t, acceptor: { ...t.acceptor, nonce: n } })).toThrow(expect.objectContaining({ code: 'ERR_PROTOCOL_STATE' }));
    }
  });

  it('nonces are fresh random 32-byte values', () => {
    const a = makeNonce();
    const b = makeNonce();
    expect(a.length).toBe(NONCE_BYTES);
    expect(NONCE_BYTES).toBe(32);
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

  // Scenario: a raw client answers a's challenge with a proof made from the wrong cookie (protocol 2).
  it('a wrong answer to the challenge closes the connection with ERR_BAD_COOKIE', async () => {
    const a = await cluster.start('a');
    const reports = distReports(a);
    const peer = await RawPeer.open(cluster, a.port);
    const mine = makeNonce();
    const name = uniqueName('raw');
    peer.send(encodePlain({ t: 'hello', v: PROTOCOL_VERSION, flags: 0, name, creation: 3, url: null, nonce: mine }));
    const ch = decodePlain(await peer.next());
    expect(ch.t).toBe('challenge');
    const t: Transcript = {
      version: PROTOCOL_VERSION,
      dialler: { name, creation: 3, flags: 0, nonce: mine },
      acceptor: { name: a.name, creation: a.creation, flags: ch.flags as number, nonce: ch.nonce as Uint8Array },
    };
    peer.send(encodePlain({ t: 'answer', mac: mac('not-the-cookie', 'dialler', t) }));
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
    peer.send(encodePlain({ t: 'hello', v: 0, flags: 0, name: uniqueName('old'), creation: 3, url: null, nonce: makeNonce() }));
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
    peer.send(encodePlain({ t: 'hello', v: PROTOCOL_VERSION, flags: 0, name: uniqueName('slow'), creation: 3, url: null, nonce: makeNonce() }));
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
    peer.send(encodePlain({ t: 'hello', v: PROTOCOL_VERSION, flags: 0, name: 'no-at-sign', creation: 3, url: null, nonce: makeNonce() }));
    await peer.waitClosed();
    expect(reports.some((r) => r.code === 'ERR_BAD_NAME')).toBe(true);
  });

  // Scenario: a protocol-1 node (its hello carries a 32-byte `challenge`, no nonce) dials a.
  it('a protocol-1 hello is refused with ERR_BAD_VERSION and gets nothing back', async () => {
    const a = await cluster.start('a');
    const reports = distReports(a);
    const peer = await RawPeer.open(cluster, a.port);
    peer.send(encodePlain({ t: 'hello', v: 1, flags: 0, name: uniqueName('v1'), creation: 3, url: null, challenge: makeNonce() }));
    await peer.waitClosed();
    expect(reports.some((r) => r.code === 'ERR_BAD_VERSION')).toBe(true);
    expect(peer.frames).toHaveLength(0);
  });

  // Scenario: the same hello is fuzzed (random bytes or mutated fields) against a listening node.
  it('random and mutated first frames never take the node down', async () => {
    const a = await cluster.start('a', { handshakeTimeout: 300 });
    const good = encodePlain({ t: 'hello', v: PROTOCOL_VERSION, flags: 0, name: 'fz@127.0.0.1', creation: 3, url: null, nonce: makeNonce() });
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

/**
 * A transport (test-only) whose dials to the peers in `held` never open until `fail(peer)`
 * makes them fail: a dial stuck on an old address, while the peer's own dial comes in.
 */
class HeldDialTransport implements Transport {
  readonly held = new Set<string>();
  private readonly stuck = new Map<string, TransportHandlers>();
  private readonly inner = new WebSocketTransport();

  listen(options: ListenOptions, onConnection: (conn: TransportConnection) => void): Promise<Listener> {
    return this.inner.listen(options, onConnection);
  }

  dial(address: string, options: DialOptions): TransportConnection {
    const peer = options.peer;
    if (peer === undefined || !this.held.has(peer)) return this.inner.dial(address, options);
    const stuck = this.stuck;
    return {
      bind: (h) => void stuck.set(peer, h),
      send: () => undefined,
      close: () => void stuck.delete(peer),
      authenticated: () => undefined,
      bufferedAmount: 0,
      notifyDrain: () => undefined,
    };
  }

  address(host: string, port: number): string {
    return this.inner.address(host, port);
  }

  /** True while a dial to `peer` is held. */
  holding(peer: string): boolean {
    return this.stuck.has(peer);
  }

  /** Makes the held dial to `peer` fail, as a dial to an address nobody listens on does. */
  fail(peer: string): void {
    const h = this.stuck.get(peer);
    this.stuck.delete(peer);
    h?.closed(new DistError('ERR_NOT_CONNECTED', 'connection refused'));
  }
}

describe('admission', () => {
  // Scenario: b1 is connected to a, then goes silent without closing (a dead host: its frames are
  // held both ways); b2, a new incarnation with the same name, dials a long before a's tick
  // timeout. OTP lets the new incarnation in at once.
  it('a restarted node (new creation) replaces its old connection at once: noconnection, nodedown, then nodeup', async () => {
    const a = await cluster.start('a', { tickTime: 30_000 });
    const name = uniqueName('b');
    const b1 = await cluster.start('b', { name, seeds: [cluster.seed(a)], transport: new FaultyTransport() });
    expect(await b1.connect(a.name)).toBe(true);
    const remote = b1.spawn(async (self) => {
      await self.receive();
    });
    const got: unknown[] = [];
    a.spawn(async (self) => {
      self.link(remote);
      self.monitor(remote);
      self.send(self.pid, 'linked');
      for (;;) got.push(await self.receive());
    }, { trapExit: true });
    await waitFor(() => got.includes('linked'), 3000, 'a linked to a process on b1');
    const events: string[] = [];
    a.onNodeEvent((e) => events.push(`${e.type} ${e.node}`));
    FaultyTransport.of(b1).block(a.name, { silent: true });
    const b2 = await cluster.start('b', { name, seeds: [cluster.seed(a)] });
    expect(b2.creation).not.toBe(b1.creation);
    const t0 = Date.now();
    expect(await b2.connect(a.name)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(a.net.creationOf(name)).toBe(b2.creation);
    expect(events).toEqual([`nodedown ${name}`, `nodeup ${name}`]);
    await waitFor(() => got.filter((m) => (m as { reason?: unknown }).reason === 'noconnection').length >= 2, 3000, 'EXIT and DOWN noconnection');
    expect(got.map((m) => (m as { tag?: unknown }).tag).sort()).toEqual(['DOWN', 'EXIT', undefined]);
    expect(await b2.rpc.call(a.name, 'ping')).toBe('pong');
  });

  // Scenario: b is connected to a; a second node claiming the same name AND the same creation
  // authenticates (it has the cookie): refused, and the first connection carries on.
  it('a second connection from the same name and creation is refused with ERR_DUPLICATE_NAME after authentication', async () => {
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
    const b2 = await cluster.start('b', { name, creation: b1.creation, seeds: [cluster.seed(a)] });
    expect(await b2.connect(a.name)).toBe(false);
    expect(reports.some((r) => r.code === 'ERR_DUPLICATE_NAME')).toBe(true);
    expect(downs).toEqual([]);
    expect(a.net.creationOf(name)).toBe(b1.creation);
    b1.send(['inbox', a.name], 'still here');
    await waitFor(() => rec.got.includes('still here'), 3000, 'message over the first connection');
    expect(await b1.rpc.call(a.name, 'ping')).toBe('pong');
  });

  // Scenario: a (the smaller name) dials b with messages and a monitor queued, but its dial hangs
  // on a dead address; b dials a meanwhile and a parks b's dial (a's own dial wins the
  // simultaneous-dial rule); then a's dial fails and a takes b's. The queued traffic must not be lost.
  it('messages and monitors queued on a failed dial go out on the parked connection that replaces it', async () => {
    const transport = new HeldDialTransport();
    const a = await cluster.start('a', { transport });
    const bName = uniqueName('b');
    expect(a.name < bName).toBe(true);
    const b = await cluster.start('b', { name: bName, seeds: [cluster.seed(a)] });
    const inbox = spawnRecorder(b, { name: 'inbox' });
    transport.held.add(bName);
    a.net.addAddress(bName, b.url!);
    const got: unknown[] = [];
    a.spawn(async (self) => {
      self.monitor(['inbox', bName]);
      self.send(['inbox', bName], 'queued');
      for (;;) got.push(await self.receive());
    });
    await waitFor(() => transport.holding(bName), 3000, 'a dialling b (held)');
    const connected = b.connect(a.name);
    const parked = (a.net as unknown as { parked: Map<string, unknown> }).parked;
    await waitFor(() => parked.has(bName), 3000, "a parks b's dial");
    transport.fail(bName);
    expect(await connected).toBe(true);
    await waitFor(() => inbox.got.includes('queued'), 3000, 'the queued message');
    b.exit(inbox.pid, 'kill');
    await waitFor(() => got.some((m) => (m as { tag?: unknown }).tag === 'DOWN'), 3000, 'the queued monitor fires');
    expect(got).toEqual([expect.objectContaining({ tag: 'DOWN', reason: 'killed' })]);
  });
});

describe('pre-authentication options', () => {
  it('handshakeFrameSize and maxHandshakes are validated with ERR_BAD_CONFIG', async () => {
    const bad = [
      { handshakeFrameSize: 100 },
      { handshakeFrameSize: 1.5e3 + 0.5 },
      { handshakeFrameSize: 1 << 20, maxFrameSize: 1 << 16 },
      { handshakeFrameSize: '4096' },
      { maxHandshakes: 0 },
      { maxHandshakes: -1 },
      { maxHandshakes: 2.5 },
      { maxHandshakes: 'many' },
    ];
    for (const o of bad) {
      await expect(DistNode.start({ name: uniqueName('cfg'), cookie: 'c', port: 0, ...(o as object) })).rejects.toMatchObject({ code: 'ERR_BAD_CONFIG' });
    }
    const ok = await cluster.start('ok', { handshakeFrameSize: 1024, maxHandshakes: 1 });
    expect(ok.net.options.handshakeFrameSize).toBe(1024);
    expect(ok.net.options.maxHandshakes).toBe(1);
    const defaults = await cluster.start('defaults');
    expect(defaults.net.options.handshakeFrameSize).toBe(4096);
    expect(defaults.net.options.maxHandshakes).toBe(64);
  });
});
