/**
 * A transport for tests that makes this node's outgoing link slow, as a thin pipe would: each
 * frame leaves only once the bytes before it have gone at `bytesPerMs`. It wraps any
 * `Transport` (WebSocket by default). Frames held back count in `bufferedAmount`, and drains
 * are reported when they have gone, so the node's backpressure sees the slow link.
 *
 * Test-only, not part of @rigil/net's public entry.
 */
import { WebSocketTransport, type DialOptions, type Listener, type ListenOptions, type Transport, type TransportConnection, type TransportHandlers } from '../src/index.js';
import type { DistError } from '../src/errors.js';

/** A transport whose outgoing frames leave at `bytesPerMs` (test-only). */
export class ThrottledTransport implements Transport {
  /** Frames bigger than this were handed to the link (to check that fragmentation happened). */
  largestFrame = 0;

  constructor(
    /** Outgoing rate in bytes per millisecond (1000 = 1 MB/s). */
    readonly bytesPerMs: number,
    readonly inner: Transport = new WebSocketTransport(),
  ) {}

  listen(options: ListenOptions, onConnection: (conn: TransportConnection) => void): Promise<Listener> {
    return this.inner.listen(options, (inner) => onConnection(new ThrottledConnection(this, inner)));
  }

  dial(address: string, options: DialOptions): TransportConnection {
    return new ThrottledConnection(this, this.inner.dial(address, options));
  }

  address(host: string, port: number): string {
    return this.inner.address(host, port);
  }
}

class ThrottledConnection implements TransportConnection, TransportHandlers {
  private h: TransportHandlers | undefined;
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private drainAt = -1;
  private ended = false;

  constructor(
    private readonly owner: ThrottledTransport,
    private readonly inner: TransportConnection,
  ) {
    inner.bind(this);
  }

  bind(handlers: TransportHandlers): void {
    this.h = handlers;
  }

  send(frame: Uint8Array): void {
    if (this.ended) return;
    if (frame.length > this.owner.largestFrame) this.owner.largestFrame = frame.length;
    this.queue.push(frame);
    this.queued += frame.length;
    if (this.timer === undefined) this.next();
  }

  get bufferedAmount(): number {
    return this.queued + this.inner.bufferedAmount;
  }

  notifyDrain(lowWater: number): void {
    this.drainAt = lowWater;
    queueMicrotask(() => this.checkDrain());
  }

  authenticated(maxFrameSize: number): void {
    this.inner.authenticated(maxFrameSize);
  }

  close(code?: Parameters<TransportConnection['close']>[0]): void {
    this.end();
    this.inner.close(code);
  }

  /** Lets the head frame go once its bytes have had their time on the pipe. */
  private next(): void {
    const head = this.queue[0];
    if (head === undefined || this.ended) {
      this.timer = undefined;
      return;
    }
    this.timer = setTimeout(() => {
      this.queue.shift();
      this.queued -= head.length;
      this.inner.send(head);
      this.checkDrain();
      this.next();
    }, Math.max(1, Math.round(head.length / this.owner.bytesPerMs)));
  }

  private checkDrain(): void {
    if (this.ended || this.drainAt < 0 || this.bufferedAmount > this.drainAt) return;
    this.drainAt = -1;
    this.h!.drain?.();
  }

  private end(): void {
    this.ended = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  open(): void {
    if (!this.ended) this.h!.open();
  }

  frame(data: Uint8Array): void {
    if (!this.ended) this.h!.frame(data);
  }

  drain(): void {
    this.checkDrain();
  }

  error(error: DistError): void {
    if (!this.ended) this.h!.error(error);
  }

  closed(error: DistError | undefined): void {
    if (this.ended) return;
    this.end();
    this.h!.closed(error);
  }
}
