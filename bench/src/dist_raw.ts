/**
 * The raw baseline of the distribution benchmark: two processes exchanging msgpackr-encoded
 * messages over a bare `ws` connection, batched the way rigil's connections batch them
 * (packages/net/src/connection.ts): messages wait in an array until the end of the current
 * event-loop turn (`setImmediate`) or until `MAX_BATCH` of them have piled up, then go out
 * as one frame encoded with the same msgpackr options (sequential records).
 *
 * No pids, names, links, monitors, ticks or routing: a message is `[op, ...args]` handed
 * straight to one callback. The handshake is two plain-msgpack round trips (hello/challenge,
 * answer/ack) without the HMAC, so `connect` compares like with like.
 */
import { Packr, Unpackr, type Options } from 'msgpackr';
import WebSocket from 'ws';

/**
 * Same options as rigil's sequential codec (packages/net/src/codec.ts). A fresh object for
 * every Packr/Unpackr: msgpackr stores the record table in the options object it is given,
 * so sharing one would share the table between connections and directions.
 */
const sequential = (): Options => ({
  mapsAsObjects: false,
  moreTypes: true,
  useBigIntExtension: true,
  int64AsType: 'bigint',
  encodeUndefinedAsNil: false,
  useRecords: true,
  sequential: true,
});

/**
 * Messages coalesced into one frame at most: the same limit as rigil's connections
 * (`MAX_BATCH` in packages/net/src/connection.ts, a wire detail @rigil/net does not export).
 * Kept equal by hand, like the codec options above: the baseline must batch as rigil does.
 */
const MAX_BATCH = 2048;

const plain = new Packr({ useRecords: false });
const plainIn = new Unpackr({ useRecords: false, mapsAsObjects: true });

/** Operations of the raw protocol. */
export const RawOp = {
  /** [SINK, msg]: counted by the receiver's sink. */
  SINK: 1,
  /** [PING, x] → [PONG, x] */
  PING: 2,
  PONG: 3,
  /** [CALL, tag, req] → [REPLY, tag, req] */
  CALL: 4,
  /** [EXPECT, n]: the sink answers [DONE] after n more SINK messages. */
  EXPECT: 5,
  REPLY: 6,
  DONE: 9,
} as const;

/** One raw connection: batched sends, one callback per received message. */
export class RawConn {
  private readonly packr = new Packr(sequential());
  private readonly unpackr = new Unpackr(sequential());
  private pending: unknown[] = [];
  private immediate: NodeJS.Immediate | undefined;
  private up = false;
  onMessage: (m: unknown[]) => void = () => undefined;
  private readonly flushFn = (): void => this.flush();

  constructor(readonly ws: WebSocket) {
    ws.binaryType = 'nodebuffer';
  }

  /** Marks the handshake done and starts decoding data frames. */
  start(): void {
    this.up = true;
    this.ws.on('message', (data: Buffer) => {
      const batch = this.unpackr.unpack(data) as unknown[];
      for (let i = 0; i < batch.length; i++) this.onMessage(batch[i] as unknown[]);
    });
  }

  /** Queues a message for the next frame. */
  send(m: unknown): void {
    const p = this.pending;
    p.push(m);
    if (p.length >= MAX_BATCH) this.flush();
    else if (this.immediate === undefined) this.immediate = setImmediate(this.flushFn);
  }

  private flush(): void {
    if (this.immediate !== undefined) {
      clearImmediate(this.immediate);
      this.immediate = undefined;
    }
    const batch = this.pending;
    if (batch.length === 0 || !this.up) return;
    this.pending = [];
    this.ws.send(this.packr.pack(batch), { binary: true });
  }
}

/** Client side: opens a connection and runs the two-round-trip handshake; resolves once up. */
export function rawConnect(url: string): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const conn = new RawConn(ws);
    ws.once('error', reject);
    ws.once('open', () => ws.send(plain.pack({ t: 'hello', name: 'raw-client' }), { binary: true }));
    const onHandshake = (data: Buffer): void => {
      const m = plainIn.unpack(data) as { t: string };
      if (m.t === 'challenge') ws.send(plain.pack({ t: 'answer' }), { binary: true });
      else if (m.t === 'ack') {
        ws.off('message', onHandshake);
        ws.off('error', reject);
        conn.start();
        resolve(conn);
      }
    };
    ws.on('message', onHandshake);
  });
}

/** Server side: answers the handshake, then hands the connection to `onUp`. */
export function rawAccept(ws: WebSocket, onUp: (conn: RawConn) => void): void {
  const conn = new RawConn(ws);
  const onHandshake = (data: Buffer): void => {
    const m = plainIn.unpack(data) as { t: string };
    if (m.t === 'hello') ws.send(plain.pack({ t: 'challenge', name: 'raw-server' }), { binary: true });
    else if (m.t === 'answer') {
      ws.off('message', onHandshake);
      ws.send(plain.pack({ t: 'ack' }), { binary: true });
      conn.start();
      onUp(conn);
    }
  };
  ws.on('message', onHandshake);
}

/** Closes a client connection; resolves once the socket is closed. */
export function rawClose(conn: RawConn): Promise<void> {
  return new Promise((resolve) => {
    if (conn.ws.readyState === WebSocket.CLOSED) return resolve();
    conn.ws.once('close', () => resolve());
    conn.ws.close();
  });
}
