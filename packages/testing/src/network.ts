/**
 * The in-memory transport of a simulated cluster: @rigil/net's `Transport` over the world's
 * virtual network (world.ts), with the semantics of the WebSocket transport (ws_transport.ts)
 * and of TCP underneath it.
 *
 * - Addresses are `sim://<host>:<port>`; `listen` binds one (port 0 is not used by the
 *   simulation: every machine has a fixed port, kept across restarts).
 * - `dial` returns at once. A SYN travels to the listener's machine; if nobody listens there
 *   (or the node crashed) a refusal comes back and the dial is `closed` with
 *   `ERR_NOT_CONNECTED`; otherwise the listener's node accepts it on its event loop (not while
 *   frozen: the upgrade needs the process) and the dialler is `open` one trip later. A dial
 *   whose packets are held by a cut fails after `DialOptions.timeout`, as `ws`'s
 *   `handshakeTimeout` does.
 * - Frames arrive whole, in order, after the link's latency, never synchronously; a frame
 *   above the receiver's `maxFrameSize` is an `ERR_FRAME_TOO_LARGE` `error`.
 * - `close()` sends a FIN: the peer sees `closed` (orderly without a code, `ERR_NOT_CONNECTED`
 *   with one, as ws's close code 4000). A crash sends a reset (`ERR_NOT_CONNECTED`).
 * - A cut link holds packets (a cut cable: nothing arrives, nothing closes) and retransmits them
 *   in order when it heals, unless the receiving end has closed meanwhile (TCP retransmission;
 *   the tick timeout is what ends a connection across a long cut).
 *
 * Hooks the data-path work will need (a send buffer with `bufferedAmount` and a drain event, a
 * frame limit raised after authentication) have a natural place here: `SimEnd.send` knows each
 * frame's size and the stream's backlog (`lastAt`), and `maxFrameSize` is a field of the end.
 */
import { DistError, type DialOptions, type DistErrorCode, type Listener, type ListenOptions, type Transport, type TransportConnection, type TransportHandlers } from '@rigil/net';
import { SimError } from './errors.js';
import { digest, type EndHandle, type Incarnation, type ListenerHandle, type SimEvent, type World } from './world.js';

/** The transport a simulated node is started with: one per incarnation. */
export class SimTransport implements Transport {
  constructor(
    private readonly world: World,
    private readonly inc: Incarnation,
  ) {}

  /** Binds `sim://host:port` on the virtual network (OTP's `inet_tcp_dist:listen/1`). */
  async listen(options: ListenOptions, onConnection: (conn: TransportConnection) => void): Promise<Listener> {
    const key = `${options.host}:${options.port}`;
    const taken = this.world.listeners.get(key);
    if (taken !== undefined && taken.inc.alive && !taken.closed) {
      throw new SimError('ERR_SIM_ADDRESS_IN_USE', `${key} is already listened on by ${taken.inc.label}`);
    }
    this.world.hosts.set(key, this.inc.machine.name);
    const l = new SimListener(this.world, this.inc, key, options.port, `sim://${key}`, options.handshakeFrameSize, onConnection);
    this.world.listeners.set(key, l);
    this.inc.listeners.add(l);
    return l;
  }

  /** Dials `sim://host:port` (OTP's `inet_tcp_dist:setup/5`): the outcome comes later, through the handlers. */
  dial(address: string, options: DialOptions): TransportConnection {
    const world = this.world;
    const client = new SimEnd(world, this.inc, options.handshakeFrameSize, true);
    const key = address.startsWith('sim://') ? address.slice('sim://'.length) : address;
    const dest = world.hosts.get(key);
    world.record(`dial ${this.inc.label} -> ${key}${options.peer !== undefined ? ` (${options.peer})` : ''}`);
    // The dial gives up after `timeout`, as ws's handshakeTimeout does (a SYN lost to a cut).
    client.dialTimer = world.schedule(world.now + options.timeout, this.inc, 'net', () => {
      client.dialTimer = undefined;
      if (client.closed || client.opened) return;
      world.record(`dial-timeout ${this.inc.label} -> ${key}`);
      client.reset(new DistError('ERR_NOT_CONNECTED', `connection to ${key} timed out`), true);
    });
    if (dest === undefined) {
      // No machine has that address: refused (after a trip's worth of time, never synchronously).
      world.schedule(world.now + world.options.latency.base, this.inc, 'net', () => client.refused(key));
      return client;
    }
    world.transmit(this.inc.machine.name, dest, client, () => {
      const l = world.listeners.get(key) as SimListener | undefined;
      if (l === undefined || l.closed || !l.inc.alive) {
        world.transmit(dest, this.inc.machine.name, client, () => world.runOn(this.inc, () => client.refused(key)));
        return;
      }
      world.runOn(l.inc, () => l.accept(client));
    });
    return client;
  }

  /** `sim://host:port`. */
  address(host: string, port: number): string {
    return `sim://${host}:${port}`;
  }
}

/** A listening address on the virtual network. */
export class SimListener implements Listener, ListenerHandle {
  closed = false;
  /** Ends it accepted, to close with it. */
  private readonly accepted = new Set<SimEnd>();

  constructor(
    private readonly world: World,
    readonly inc: Incarnation,
    readonly key: string,
    readonly port: number,
    readonly url: string,
    /** Largest frame a stranger may send before the handshake authenticates it. */
    private readonly handshakeFrameSize: number,
    private readonly onConnection: (conn: TransportConnection) => void,
  ) {}

  /** The SYN of `client` reached us, on our node's event loop: accept, and answer with an open. */
  accept(client: SimEnd): void {
    const world = this.world;
    const me = this.inc.machine.name;
    const them = client.inc.machine.name;
    if (this.closed) {
      world.transmit(me, them, client, () => world.runOn(client.inc, () => client.refused(this.key)));
      return;
    }
    // A dialler that gave up before we accepted: its reset reaches us first (nothing to accept).
    if (client.closed) return;
    const server = new SimEnd(world, this.inc, this.handshakeFrameSize, false);
    server.peer = client;
    client.peer = server;
    this.accepted.add(server);
    world.record(`accept ${this.inc.label} <- ${client.inc.label}`);
    this.onConnection(server);
    // The open travels on the server's stream, so it arrives before any frame the server sends.
    world.transmit(me, them, server, () =>
      world.runOn(client.inc, () => {
        if (client.closed) return;
        client.opened = true;
        if (client.dialTimer !== undefined) client.dialTimer.cancelled = true;
        client.dialTimer = undefined;
        world.record(`open ${client.inc.label} -> ${this.inc.label}`);
        client.handlers?.open();
      }),
    );
  }

  /** Stops accepting and closes every accepted connection still open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.inc.listeners.delete(this);
    if (this.world.listeners.get(this.key) === this) this.world.listeners.delete(this.key);
    for (const end of this.accepted) end.close('ERR_NOT_CONNECTED');
    this.accepted.clear();
  }

  /** Drops the listener at once (a crash). */
  kill(): void {
    this.closed = true;
    if (this.world.listeners.get(this.key) === this) this.world.listeners.delete(this.key);
  }
}

/** One end of a simulated connection. */
export class SimEnd implements TransportConnection, EndHandle {
  handlers: TransportHandlers | undefined;
  /** The other end, once the listener accepted. */
  peer: SimEnd | undefined;
  /** The owner closed it, or it reported `closed`: no handler is called again. */
  closed = false;
  /** For a dialled end: the open arrived. */
  opened = false;
  /** For a dialled end: the pending dial timeout. */
  dialTimer: SimEvent | undefined;
  /** Virtual time the last packet of this end's outgoing stream arrives (in-order delivery). */
  lastAt = 0;

  constructor(
    private readonly world: World,
    readonly inc: Incarnation,
    /** Largest frame this end accepts (the pre-handshake limit until `authenticated`). */
    public maxFrameSize: number,
    readonly outbound: boolean,
  ) {
    inc.ends.add(this);
  }

  /** True while the stream's receiver may still read what this end sends. */
  get live(): boolean {
    const p = this.peer;
    return p !== undefined ? !p.closed : !this.closed;
  }

  bind(handlers: TransportHandlers): void {
    this.handlers = handlers;
  }

  /**
   * The simulated network has no send buffer (a frame is in flight, or held by a cut), so a
   * connection is never busy: backpressure is not modelled (see the README).
   */
  readonly bufferedAmount = 0;

  /** Never needed: `bufferedAmount` is always 0, at or below any low-water mark. */
  notifyDrain(): void {}

  /** The handshake authenticated the peer: frames up to `maxFrameSize` are accepted from now on. */
  authenticated(maxFrameSize: number): void {
    this.maxFrameSize = maxFrameSize;
  }

  send(frame: Uint8Array): void {
    const peer = this.peer;
    if (this.closed || peer === undefined) return;
    const world = this.world;
    // Copied: the sender may reuse its buffer (ws copies into the socket too).
    const data = frame.slice();
    const from = this.inc.label;
    world.transmit(this.inc.machine.name, peer.inc.machine.name, this, () =>
      world.runOn(peer.inc, () => {
        if (peer.closed) return;
        if (world.options.logFrames) world.record(`frame ${from} -> ${peer.inc.label} ${data.length}${world.options.frameDigests ? ` ${digest(data)}` : ''}`);
        if (data.length > peer.maxFrameSize) {
          peer.handlers?.error(new DistError('ERR_FRAME_TOO_LARGE', `the peer sent a frame of ${data.length} bytes, above maxFrameSize`));
          return;
        }
        peer.handlers?.frame(data);
      }),
    );
  }

  close(code?: DistErrorCode): void {
    if (this.closed) return;
    this.closed = true;
    this.inc.ends.delete(this);
    if (this.dialTimer !== undefined) this.dialTimer.cancelled = true;
    this.dialTimer = undefined;
    const why = code === undefined ? undefined : new DistError('ERR_NOT_CONNECTED', `socket closed (4000 ${code})`);
    this.sendFin(why, code === undefined ? 'fin' : `fin ${code}`);
  }

  /** Ends the connection without the owner asking (refused, timed out, reset by a crash). */
  reset(why: DistError, notify: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.inc.ends.delete(this);
    if (this.dialTimer !== undefined) this.dialTimer.cancelled = true;
    this.dialTimer = undefined;
    this.sendFin(new DistError('ERR_NOT_CONNECTED', 'connection reset by peer'), 'rst');
    if (notify) this.handlers?.closed(why);
  }

  /** A refusal of our dial arrived. */
  refused(key: string): void {
    if (this.closed) return;
    this.world.record(`refused ${this.inc.label} -> ${key}`);
    this.reset(new DistError('ERR_NOT_CONNECTED', `connect ECONNREFUSED ${key}`), true);
  }

  private sendFin(why: DistError | undefined, what: string): void {
    const peer = this.peer;
    if (peer === undefined) return;
    const world = this.world;
    const from = this.inc.label;
    world.transmit(this.inc.machine.name, peer.inc.machine.name, this, () =>
      world.runOn(peer.inc, () => {
        if (peer.closed) return;
        peer.closed = true;
        peer.inc.ends.delete(peer);
        world.record(`${what} ${from} -> ${peer.inc.label}`);
        peer.handlers?.closed(why);
      }),
    );
  }
}
