/**
 * The WebSocket transport on its own, through the transport contract (transport.ts): frames
 * both ways in order, what each kind of end looks like to the other side, a dial that finds
 * nobody, and bad input (a text frame, a frame above maxFrameSize, a bad tls option).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { noIntermediary } from '../src/ws_transport.js';
import { DistError, WebSocketTransport, type DistNode, type Listener, type TransportConnection, type TransportHandlers } from '../src/index.js';
import { useCluster, waitFor } from './helpers.js';

/** What one side of a connection heard, in order. */
interface Heard {
  opened: boolean;
  frames: string[];
  errors: DistError[];
  closed: { error: DistError | undefined } | undefined;
}

function listenTo(conn: TransportConnection): Heard {
  const heard: Heard = { opened: false, frames: [], errors: [], closed: undefined };
  const handlers: TransportHandlers = {
    open: () => (heard.opened = true),
    frame: (data) => heard.frames.push(Buffer.from(data).toString()),
    error: (e) => heard.errors.push(e),
    closed: (error) => (heard.closed = { error }),
  };
  conn.bind(handlers);
  return heard;
}

const transport = new WebSocketTransport();
const listeners: Listener[] = [];
const conns: TransportConnection[] = [];

afterEach(async () => {
  for (const c of conns.splice(0)) c.close();
  for (const l of listeners.splice(0)) await l.close();
});

/** A listener on a free loopback port, and the accepted side of each connection, as heard. */
async function listen(maxFrameSize = 1 << 20, handshakeFrameSize = maxFrameSize): Promise<{ listener: Listener; accepted: Array<{ conn: TransportConnection; heard: Heard }> }> {
  const accepted: Array<{ conn: TransportConnection; heard: Heard }> = [];
  const listener = await transport.listen({ host: '127.0.0.1', port: 0, maxFrameSize, handshakeFrameSize }, (conn) => {
    conns.push(conn);
    accepted.push({ conn, heard: listenTo(conn) });
  });
  listeners.push(listener);
  return { listener, accepted };
}

function dial(url: string, maxFrameSize = 1 << 20, handshakeFrameSize = maxFrameSize): { conn: TransportConnection; heard: Heard } {
  const conn = transport.dial(url, { maxFrameSize, handshakeFrameSize, timeout: 2000 });
  conns.push(conn);
  return { conn, heard: listenTo(conn) };
}

describe('WebSocketTransport', () => {
  it('listens on a free port, and its url is the ws:// address a seed name@host:port maps to', async () => {
    const { listener } = await listen();
    expect(listener.port).toBeGreaterThan(0);
    expect(listener.url).toBe(`ws://127.0.0.1:${listener.port}`);
    expect(transport.address('127.0.0.1', listener.port)).toBe(listener.url);
  });

  it('opens a dialled connection and carries binary frames both ways in order', async () => {
    const { listener, accepted } = await listen();
    const out = dial(listener.url);
    await waitFor(() => out.heard.opened && accepted.length === 1, 3000, 'open and accepted');
    for (const s of ['one', 'two', 'three']) out.conn.send(Buffer.from(s));
    accepted[0]!.conn.send(Buffer.from('back'));
    await waitFor(() => accepted[0]!.heard.frames.length === 3 && out.heard.frames.length === 1, 3000, 'frames');
    expect(accepted[0]!.heard.frames).toEqual(['one', 'two', 'three']);
    expect(out.heard.frames).toEqual(['back']);
  });

  it('an orderly close is closed without an error on the other side, and the closing side hears nothing more', async () => {
    const { listener, accepted } = await listen();
    const out = dial(listener.url);
    await waitFor(() => out.heard.opened && accepted.length === 1, 3000, 'open');
    out.conn.close();
    await waitFor(() => accepted[0]!.heard.closed, 3000, 'closed on the accepting side');
    expect(accepted[0]!.heard.closed!.error).toBeUndefined();
    expect(out.heard.closed).toBeUndefined();
  });

  it('a close with a code is an ERR_NOT_CONNECTED close naming that code on the other side', async () => {
    const { listener, accepted } = await listen();
    const out = dial(listener.url);
    await waitFor(() => out.heard.opened && accepted.length === 1, 3000, 'open');
    accepted[0]!.conn.close('ERR_BAD_COOKIE');
    await waitFor(() => out.heard.closed, 3000, 'closed on the dialling side');
    expect(out.heard.closed!.error).toBeInstanceOf(DistError);
    expect(out.heard.closed!.error!.code).toBe('ERR_NOT_CONNECTED');
    expect(out.heard.closed!.error!.message).toContain('ERR_BAD_COOKIE');
  });

  it('a dial that finds nobody is closed with ERR_NOT_CONNECTED before it ever opens', async () => {
    const { listener } = await listen();
    const url = listener.url;
    await listeners.pop()!.close();
    const out = dial(url);
    await waitFor(() => out.heard.closed, 3000, 'dial failure');
    expect(out.heard.opened).toBe(false);
    expect(out.heard.closed!.error!.code).toBe('ERR_NOT_CONNECTED');
  });

  it('a text frame is an ERR_PROTOCOL_STATE error, not a frame', async () => {
    const { listener, accepted } = await listen();
    const ws = new WebSocket(listener.url, { perMessageDeflate: false });
    try {
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send('hello', { binary: false });
      await waitFor(() => accepted[0]?.heard.errors.length === 1, 3000, 'error');
      expect(accepted[0]!.heard.errors[0]!.code).toBe('ERR_PROTOCOL_STATE');
      expect(accepted[0]!.heard.frames).toEqual([]);
    } finally {
      ws.terminate();
    }
  });

  it('a frame above maxFrameSize is an ERR_FRAME_TOO_LARGE error on the receiving side and is not delivered', async () => {
    const { listener, accepted } = await listen(1024);
    const out = dial(listener.url);
    await waitFor(() => out.heard.opened && accepted.length === 1, 3000, 'open');
    out.conn.send(Buffer.alloc(4096, 1));
    await waitFor(() => accepted[0]!.heard.errors.length === 1, 3000, 'error');
    expect(accepted[0]!.heard.errors[0]!.code).toBe('ERR_FRAME_TOO_LARGE');
    expect(accepted[0]!.heard.frames).toEqual([]);
  });

  // Scenario: both sides start with a 1 KiB limit; once each side is told `authenticated`, 4 KiB
  // frames pass both ways; before, a 4 KiB frame ended the connection.
  it('frames above handshakeFrameSize are refused until authenticated raises the limit to maxFrameSize, on both sides', async () => {
    const { listener, accepted } = await listen(1 << 20, 1024);
    const out = dial(listener.url, 1 << 20, 1024);
    await waitFor(() => out.heard.opened && accepted.length === 1, 3000, 'open');
    out.conn.authenticated(1 << 20);
    accepted[0]!.conn.authenticated(1 << 20);
    out.conn.send(Buffer.alloc(4096, 0x61));
    accepted[0]!.conn.send(Buffer.alloc(8192, 0x62));
    await waitFor(() => accepted[0]!.heard.frames.length === 1 && out.heard.frames.length === 1, 3000, 'large frames after authentication');
    expect(accepted[0]!.heard.frames[0]).toHaveLength(4096);
    expect(out.heard.frames[0]).toHaveLength(8192);
    const second = dial(listener.url, 1 << 20, 1024);
    await waitFor(() => second.heard.opened && accepted.length === 2, 3000, 'second open');
    accepted[1]!.conn.send(Buffer.alloc(4096, 1));
    await waitFor(() => second.heard.errors.length === 1, 3000, 'refused before authentication');
    expect(second.heard.errors[0]!.code).toBe('ERR_FRAME_TOO_LARGE');
    expect(second.heard.frames).toEqual([]);
  });

  it('frames dialled over loopback carry the zero masking key and arrive intact', async () => {
    const { listener, accepted } = await listen();
    // A TCP relay between the dialler and the listener that keeps what the dialler sends.
    let fromDialler = Buffer.alloc(0);
    const sockets: Socket[] = [];
    const relay: Server = createServer((inbound) => {
      const upstream = createConnection(listener.port, '127.0.0.1');
      sockets.push(inbound, upstream);
      inbound.on('data', (d: Buffer) => {
        fromDialler = Buffer.concat([fromDialler, d]);
        upstream.write(d);
      });
      upstream.on('data', (d: Buffer) => inbound.write(d));
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      const out = dial(`ws://127.0.0.1:${(relay.address() as AddressInfo).port}`);
      await waitFor(() => out.heard.opened && accepted.length === 1, 3000, 'open and accepted');
      out.conn.send(Buffer.from('masked?'));
      await waitFor(() => accepted[0]!.heard.frames.length === 1, 3000, 'the frame');
      expect(accepted[0]!.heard.frames).toEqual(['masked?']);
      const at = fromDialler.indexOf('\r\n\r\n') + 4;
      const frame = fromDialler.subarray(at);
      // FIN + binary; mask bit set with a 7-byte payload; the key all zeros; the payload as sent.
      expect(frame[0]).toBe(0x82);
      expect(frame[1]).toBe(0x80 | 7);
      expect([...frame.subarray(2, 6)]).toEqual([0, 0, 0, 0]);
      expect(frame.subarray(6, 13).toString()).toBe('masked?');
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    }
  });

  it('noIntermediary: wss and loopback addresses skip masking; plain ws to another host keeps random keys', () => {
    for (const a of ['ws://127.0.0.1:4369', 'ws://127.8.9.10:1', 'ws://localhost:1', 'ws://[::1]:1', 'wss://example.org:443', 'wss://10.0.0.1:1']) expect(noIntermediary(a)).toBe(true);
    for (const a of ['ws://10.0.0.1:4369', 'ws://example.org:1', 'ws://127.example.org:1', 'ws://[::2]:1', 'not a url']) expect(noIntermediary(a)).toBe(false);
  });

  it('tls without a key or certificate is refused with ERR_BAD_CONFIG', () => {
    expect(() => new WebSocketTransport({ tls: { cert: 'x' } as never })).toThrow(expect.objectContaining({ code: 'ERR_BAD_CONFIG' }));
  });
});

describe('DistNode transport option', () => {
  const cluster = useCluster();

  it('uses the transport it is given, and the WebSocket one by default', async () => {
    const given = new WebSocketTransport();
    const a = await cluster.start('a', { transport: given });
    const b: DistNode = await cluster.start('b', { seeds: [cluster.seed(a)] });
    expect(a.net.transport).toBe(given);
    expect(b.net.transport).toBeInstanceOf(WebSocketTransport);
    expect(await b.connect(a.name)).toBe(true);
  });

  it('a transport that is not one, or given together with tls, is refused with ERR_BAD_CONFIG', async () => {
    await expect(cluster.start('x', { transport: {} as never })).rejects.toMatchObject({ code: 'ERR_BAD_CONFIG' });
    await expect(cluster.start('y', { transport: new WebSocketTransport(), tls: { key: 'k', cert: 'c' } })).rejects.toMatchObject({ code: 'ERR_BAD_CONFIG' });
  });
});
