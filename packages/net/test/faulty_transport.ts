/**
 * A transport for tests that cuts and heals the links between named nodes of one OS process
 * (what `node.net.block` / `unblock` did from inside the net kernel before the transport seam).
 * It wraps any `Transport` — the WebSocket one by default — and passes everything through until
 * told to cut a peer:
 *
 * - `block(peer)` behaves as the old `net.block`: the open connections with `peer` are closed
 *   (orderly: the peer sees a normal close; here the node sees it as a nodedown at once), a dial
 *   to `peer` fails without touching the network (`ERR_BLOCKED`), and a peer that dials in is
 *   refused after its hello (`ERR_BLOCKED`, reported as the kernel did), until `unblock(peer)`.
 * - `block(peer, { silent: true })` stalls the link instead, as a dead cable would: frames both
 *   ways are held, nothing is closed, so the nodes notice only by `tickTime` (or a handshake
 *   timeout); `unblock` lets the held frames through in order, as TCP would after a stall.
 *   A close by the peer is held too, behind its frames (a goodbye, issue 15, arrives first).
 *
 * A wrapper is one node's view: cutting both directions takes both nodes' wrappers (see
 * partition.ts). It learns a connection's peer from the dial (when the kernel dials by name) or
 * from the first frame it receives, which is always a handshake frame naming the sender.
 *
 * Test-only: not part of @rigil/net's public entry; other packages' tests import it as
 * `@rigil/net/testing`.
 *
 * @example
 * const a = await DistNode.start({ name: 'a@127.0.0.1', cookie: 'c', transport: new FaultyTransport() });
 * FaultyTransport.of(a).block('b@127.0.0.1');
 */
import { DistError, WebSocketTransport, type DialOptions, type DistNode, type Listener, type ListenOptions, type Transport, type TransportConnection, type TransportHandlers } from '../src/index.js';
import { decodePlain } from '../src/codec.js';

/** How a blocked peer is cut: closed and refused, or silently stalled. */
type Cut = 'close' | 'silent';

/** Options of `FaultyTransport.block`. */
export interface BlockOptions {
  /** Stall the link (frames held both ways) instead of closing it. Default false. */
  silent?: boolean;
}

/** A transport that can cut this node's links to named peers (test-only). */
export class FaultyTransport implements Transport {
  /** Peers cut off, and how. */
  private readonly blocked = new Map<string, Cut>();
  /** Live connections, to cut or heal when a peer is blocked or unblocked. */
  private readonly conns = new Set<FaultyConnection>();

  /** Wraps `inner` (default: a plain WebSocket transport). */
  constructor(readonly inner: Transport = new WebSocketTransport()) {}

  /** The `FaultyTransport` of a node started with one; throws if the node uses another transport. */
  static of(node: DistNode): FaultyTransport {
    const t = node.net.transport;
    if (!(t instanceof FaultyTransport)) throw new Error(`${node.name} was not started with a FaultyTransport (pass transport: new FaultyTransport())`);
    return t;
  }

  /** Cuts every link with `peer` until `unblock(peer)` (see the file's comment for the two ways). */
  block(peer: string, options: BlockOptions = {}): void {
    const how: Cut = options.silent === true ? 'silent' : 'close';
    this.blocked.set(peer, how);
    for (const c of [...this.conns]) if (c.peer === peer) c.cut(how);
  }

  /** Lifts `block`: stalled links carry on; closed ones come back on next use (or `connect`). */
  unblock(peer: string): void {
    this.blocked.delete(peer);
    for (const c of [...this.conns]) if (c.peer === peer) c.heal();
  }

  /** How `peer` is cut, if it is. */
  cutOf(peer: string): Cut | undefined {
    return this.blocked.get(peer);
  }

  listen(options: ListenOptions, onConnection: (conn: TransportConnection) => void): Promise<Listener> {
    return this.inner.listen(options, (inner) => onConnection(new FaultyConnection(this, inner, false, undefined)));
  }

  dial(address: string, options: DialOptions): TransportConnection {
    const peer = options.peer;
    // As the old `net.block`: no dial at all to a peer cut off by closing.
    if (peer !== undefined && this.blocked.get(peer) === 'close') return new RefusedDial(peer);
    return new FaultyConnection(this, this.inner.dial(address, options), true, peer);
  }

  address(host: string, port: number): string {
    return this.inner.address(host, port);
  }

  /** @internal */
  track(c: FaultyConnection, on: boolean): void {
    if (on) this.conns.add(c);
    else this.conns.delete(c);
  }
}

/** A connection through the wrapper: passes frames through unless its peer is cut. */
class FaultyConnection implements TransportConnection, TransportHandlers {
  private h: TransportHandlers | undefined;
  /** No handler is called once the owner closed it or it was reported closed. */
  private ended = false;
  /** The first frame received has been looked at for the peer's name. */
  private peeked: boolean;
  /** While silently cut: frames held in each direction, released in order by `heal`. */
  private held: { out: Uint8Array[]; in: Uint8Array[] } | undefined;
  /** Bytes of the outgoing frames held. */
  private heldBytes = 0;
  /** A drain asked for while held (-1: none). */
  private drainAt = -1;
  /** The peer's close, held by a silent cut behind the frames it follows (a dead cable carries no FIN either); delivered by `heal`. */
  private heldClose: { error: DistError | undefined } | undefined;

  constructor(
    private readonly owner: FaultyTransport,
    private readonly inner: TransportConnection,
    private readonly outbound: boolean,
    /** The peer's node name, once known. */
    public peer: string | undefined,
  ) {
    this.peeked = peer !== undefined;
    owner.track(this, true);
    if (peer !== undefined && owner.cutOf(peer) === 'silent') this.held = { out: [], in: [] };
    inner.bind(this);
  }

  // ---------------------------------------------------------------- the owner's side

  bind(handlers: TransportHandlers): void {
    this.h = handlers;
  }

  send(frame: Uint8Array): void {
    if (this.ended) return;
    if (this.held !== undefined) {
      this.held.out.push(frame);
      this.heldBytes += frame.length;
    } else this.inner.send(frame);
  }

  /** Frames held by a silent cut count as buffered: a stalled link is a peer that stops reading. */
  get bufferedAmount(): number {
    return this.heldBytes + this.inner.bufferedAmount;
  }

  notifyDrain(lowWater: number): void {
    if (this.ended) return;
    // While held, nothing drains; `heal` passes the request on once the held frames are sent.
    if (this.held !== undefined) this.drainAt = lowWater;
    else this.inner.notifyDrain(lowWater);
  }

  close(code?: Parameters<TransportConnection['close']>[0]): void {
    if (this.ended) return;
    this.end();
    this.inner.close(code);
  }

  authenticated(maxFrameSize: number): void {
    this.inner.authenticated(maxFrameSize);
  }

  // ---------------------------------------------------------------- the inner connection's side

  open(): void {
    if (!this.ended) this.h!.open();
  }

  frame(data: Uint8Array): void {
    if (this.ended) return;
    if (!this.peeked) {
      this.peeked = true;
      this.peer = nameIn(data);
      const how = this.peer === undefined ? undefined : this.owner.cutOf(this.peer);
      if (how === 'close') {
        this.refuse();
        return;
      }
      if (how === 'silent') this.held = { out: [], in: [] };
    }
    if (this.held !== undefined) this.held.in.push(data);
    else this.h!.frame(data);
  }

  error(error: DistError): void {
    if (!this.ended) this.h!.error(error);
  }

  drain(): void {
    if (!this.ended) this.h!.drain?.();
  }

  closed(error: DistError | undefined): void {
    if (this.ended) return;
    if (this.held !== undefined) {
      this.heldClose = { error };
      return;
    }
    this.end();
    this.h!.closed(error);
  }

  // ---------------------------------------------------------------- faults

  /** Cuts this connection: stalls it, or closes it as `net.block` did (orderly, nodedown here). */
  cut(how: Cut): void {
    if (this.ended) return;
    if (how === 'silent') {
      this.held ??= { out: [], in: [] };
      return;
    }
    this.end();
    this.inner.close();
    this.h!.closed(undefined);
  }

  /** Lets held frames through, in order, and stops holding. */
  heal(): void {
    const held = this.held;
    if (held === undefined || this.ended) return;
    this.held = undefined;
    this.heldBytes = 0;
    for (const f of held.out) this.inner.send(f);
    if (this.drainAt >= 0) {
      this.inner.notifyDrain(this.drainAt);
      this.drainAt = -1;
    }
    for (const f of held.in) {
      if (this.ended) break;
      this.h!.frame(f);
    }
    const close = this.heldClose;
    this.heldClose = undefined;
    if (close !== undefined && !this.ended) {
      this.end();
      this.h!.closed(close.error);
    }
  }

  /**
   * A blocked peer said who it is. Inbound, as the kernel's admission did: refused, reported,
   * closed with `ERR_BLOCKED`. Outbound (a dial by URL), as its `connectionUp` did: closed quietly.
   */
  private refuse(): void {
    const err = new DistError('ERR_BLOCKED', `${this.peer} is blocked`);
    if (!this.outbound) {
      this.h!.error(err);
      return;
    }
    this.end();
    this.inner.close('ERR_BLOCKED');
    this.h!.closed(err);
  }

  private end(): void {
    this.ended = true;
    this.held = undefined;
    this.heldBytes = 0;
    this.owner.track(this, false);
  }
}

/** A dial to a peer cut off by closing: fails (`ERR_BLOCKED`) without touching the network. */
class RefusedDial implements TransportConnection {
  private ended = false;

  constructor(private readonly peer: string) {}

  bind(handlers: TransportHandlers): void {
    // Never before the turn of `dial` has ended (the transport contract).
    queueMicrotask(() => {
      if (this.ended) return;
      this.ended = true;
      handlers.closed(new DistError('ERR_BLOCKED', `${this.peer} is blocked`));
    });
  }

  send(): void {}

  authenticated(): void {}
  readonly bufferedAmount = 0;

  notifyDrain(): void {}

  close(): void {
    this.ended = true;
  }
}

/** The sender's node name in a handshake frame (hello or challenge), if it is one. */
function nameIn(frame: Uint8Array): string | undefined {
  try {
    const name = decodePlain(frame).name;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}
