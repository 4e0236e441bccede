/**
 * Same-host connections over Unix-domain sockets (`unixSockets` / `SameHostTransport`): nodes
 * sharing the directory talk over the socket, a stale socket file falls back to TCP, the frame
 * limit is enforced from the header, a refusal's code reaches the dialler, and bad options are
 * refused at start.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasCode } from '@rigil/core';
import { DistNode, SameHostTransport, WebSocketTransport, isThisHost, type Transport } from '../src/index.js';
import { distReports, spawnRecorder, uniqueName, useCluster, waitFor } from './helpers.js';

const cluster = useCluster();
let dir: string;
const sockets: Socket[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rigil-uds-'));
});

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** A WebSocket transport that counts its dials: a same-host dial over the socket never reaches it. */
function countingWs(): Transport & { dials: number } {
  const ws = new WebSocketTransport();
  const t = {
    dials: 0,
    listen: ws.listen.bind(ws),
    dial(address: string, options: Parameters<Transport['dial']>[1]) {
      t.dials++;
      return ws.dial(address, options);
    },
    address: ws.address.bind(ws),
    checkAddress: ws.checkAddress.bind(ws),
  };
  return t;
}

describe('SameHostTransport', () => {
  it('nodes sharing the directory connect over the socket (no TCP dial) and carry messages both ways', async () => {
    const ia = countingWs();
    const ib = countingWs();
    const b = await cluster.start('b', { transport: new SameHostTransport({ dir, inner: ib }) });
    const a = await cluster.start('a', { transport: new SameHostTransport({ dir, inner: ia }), seeds: [cluster.seed(b)] });
    const path = join(dir, `rigil-${b.port}.sock`);
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await a.connect(b.name)).toBe(true);
    expect(ia.dials + ib.dials).toBe(0);
    const rb = spawnRecorder(b, { name: 'rb' });
    const ra = spawnRecorder(a, { name: 'ra' });
    // A large message goes across too (frames split over several socket reads).
    const big = 'x'.repeat(300_000);
    a.send(['rb', b.name], { hello: big });
    b.send(['ra', a.name], 'back');
    await waitFor(() => rb.got.length === 1 && ra.got.length === 1, 5000, 'messages both ways');
    expect((rb.got[0] as { hello: string }).hello.length).toBe(300_000);
    expect(ra.got[0]).toBe('back');
    await b.stop();
    expect(existsSync(path)).toBe(false);
    await waitFor(() => !a.net.isConnected(b.name), 5000, 'nodedown of b');
  });

  it('a stale socket file (a killed node) falls back to TCP, unseen by the node', async () => {
    const ia = countingWs();
    const b = await cluster.start('b');
    writeFileSync(join(dir, `rigil-${b.port}.sock`), 'not a socket');
    const a = await cluster.start('a', { transport: new SameHostTransport({ dir, inner: ia }), seeds: [cluster.seed(b)] });
    expect(await a.connect(b.name)).toBe(true);
    expect(ia.dials).toBe(1);
  });

  it('DistNode.start({ unixSockets }) uses it; a peer without it is reached over TCP', async () => {
    const b = await cluster.start('b', { unixSockets: dir });
    const c = await cluster.start('c');
    const a = await cluster.start('a', { unixSockets: dir, seeds: [cluster.seed(b), cluster.seed(c)], connectAll: false });
    expect(existsSync(join(dir, `rigil-${a.port}.sock`))).toBe(true);
    expect(await a.connect(b.name)).toBe(true);
    expect(await a.connect(c.name)).toBe(true);
    expect(await c.connect(b.name)).toBe(true);
  });

  it('DistNode.start({ unixSockets }) alone: a peer of this host is reached over its socket (seen by the OS), messages flow in order, a redial takes the socket again', async () => {
    // Connected Unix-domain sockets bound to `path`, as the kernel lists them (Linux: the
    // accepted side of a connection carries the listener's path; state 03 = connected).
    const connectedAt = (path: string): number =>
      readFileSync('/proc/net/unix', 'utf8')
        .split('\n')
        .filter((l) => l.endsWith(` ${path}`) && l.trim().split(/\s+/)[5] === '03').length;
    const b = await cluster.start('b', { unixSockets: dir });
    const a = await cluster.start('a', { unixSockets: dir, seeds: [cluster.seed(b)], connectAll: false });
    const path = join(dir, `rigil-${b.port}.sock`);
    const linux = process.platform === 'linux';
    if (linux) expect(connectedAt(path)).toBe(0);
    expect(await a.connect(b.name)).toBe(true);
    if (linux) expect(connectedAt(path)).toBe(1);
    const rb = spawnRecorder(b, { name: 'rb' });
    const ra = spawnRecorder(a, { name: 'ra' });
    for (let i = 0; i < 1000; i++) a.send(['rb', b.name], { seq: i, from: ra.pid });
    await waitFor(() => rb.got.length === 1000, 5000, '1,000 messages over the socket');
    expect(rb.got.map((m) => (m as { seq: number }).seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    b.send((rb.got[999] as { from: typeof ra.pid }).from, 'back');
    await waitFor(() => ra.got.length === 1, 5000, 'the reply');
    // A disconnect closes the socket; both ends redial (b is a's seed, and b's reconnect for
    // life dials a), and whichever wins goes over a socket again: b's, or a's own.
    expect(b.net.traffic().total.messagesIn).toBeGreaterThanOrEqual(1000);
    a.disconnect(b.name);
    await waitFor(() => a.net.isConnected(b.name) && b.net.isConnected(a.name), 5000, 'redialled');
    const pathA = join(dir, `rigil-${a.port}.sock`);
    const sockets = (): number => connectedAt(path) + connectedAt(pathA);
    if (linux) await waitFor(() => sockets() === 1, 40_000, `one connected socket: the old one closed, the new one over a socket (now ${sockets()})`);
    await b.stop();
    if (linux) await waitFor(() => sockets() === 0, 5000, 'no socket once b stopped');
  });

  it('a wrong cookie over the socket is refused, and the dialler learns the code', async () => {
    const b = await cluster.start('b', { unixSockets: dir, cookie: 'other' });
    const a = await cluster.start('a', { unixSockets: dir, seeds: [cluster.seed(b)] });
    expect(await a.connect(b.name)).toBe(false);
    const e = a.net.dialError(b.name);
    expect(e?.reason).toMatchObject({ peerCode: 'ERR_BAD_COOKIE' });
  });

  it('a header above the handshake frame limit ends the connection before the payload is read; the node goes on', async () => {
    const a = await cluster.start('a', { unixSockets: dir, handshakeFrameSize: 4096 });
    const reports = distReports(a);
    const s = createConnection(join(dir, `rigil-${a.port}.sock`));
    sockets.push(s);
    let closed = false;
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.on('close', () => (closed = true));
    s.on('error', () => undefined);
    await new Promise<void>((resolve) => s.once('connect', () => resolve()));
    const head = Buffer.alloc(4);
    head.writeUInt32BE(1 << 30, 0);
    s.write(head);
    await waitFor(() => closed, 5000, 'the node closed the socket');
    // Its last word: a close control frame (top bit of the header) carrying the code.
    const last = Buffer.concat(got);
    expect(last.readUInt32BE(0) >>> 31).toBe(1);
    expect(last.subarray(4).toString('latin1')).toBe('ERR_FRAME_TOO_LARGE');
    await waitFor(() => reports.some((r) => (r as { code?: string }).code === 'ERR_FRAME_TOO_LARGE' && (r as { address?: string }).address === 'local'), 5000, 'a frame-too-large report');
    const b = await cluster.start('b', { unixSockets: dir, seeds: [cluster.seed(a)] });
    expect(await b.connect(a.name)).toBe(true);
  });

  it('bad options are refused at start with ERR_BAD_CONFIG, leaving nothing running', async () => {
    const name = uniqueName('x');
    await expect(DistNode.start({ name, cookie: 'c', port: 0, unixSockets: '' })).rejects.toSatisfy((e: unknown) => hasCode(e, 'ERR_BAD_CONFIG'));
    await expect(DistNode.start({ name, cookie: 'c', port: 0, unixSockets: dir, tls: { key: 'k', cert: 'c' } })).rejects.toSatisfy((e: unknown) => hasCode(e, 'ERR_BAD_CONFIG'));
    await expect(DistNode.start({ name, cookie: 'c', port: 0, unixSockets: dir, transport: new WebSocketTransport() })).rejects.toSatisfy((e: unknown) => hasCode(e, 'ERR_BAD_CONFIG'));
    await expect(DistNode.start({ name, cookie: 'c', port: 0, unixSockets: join(dir, 'd'.repeat(120)) })).rejects.toSatisfy((e: unknown) => hasCode(e, 'ERR_BAD_CONFIG'));
    // The name is free again: nothing of the failed starts is left.
    const n = cluster.add(await DistNode.start({ name, cookie: 'c', port: 0, unixSockets: dir }));
    expect(n.port).toBeGreaterThan(0);
  });

  it('isThisHost: loopback names and this machine\'s addresses are this host; others are not', () => {
    expect(isThisHost('127.0.0.1')).toBe(true);
    expect(isThisHost('localhost')).toBe(true);
    expect(isThisHost('[::1]')).toBe(true);
    expect(isThisHost('192.0.2.1')).toBe(false);
    expect(isThisHost('example.invalid')).toBe(false);
  });
});
