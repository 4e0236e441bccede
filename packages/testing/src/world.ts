/**
 * The state of a simulated cluster that the transport and the driver share: virtual time, the
 * queue of due events, the machines (one per node name) and their incarnations, the directed
 * links between machines with their latency and cuts, and the event log.
 *
 * Every event is one "macrotask" of some node (a timer wake-up) or of the network (a packet
 * arriving). The driver (simulation.ts) pops them in `(at, seq)` order and lets the cluster go
 * quiet between two of them; nothing here touches real time or real timers.
 *
 * Freezing: an event that belongs to a frozen incarnation (a timer, or a packet being handed
 * to it) is parked in `deferred` and replayed at thaw — timers first, then packets, as Node's
 * event loop does after a SIGCONT (timers phase, then poll) — so frames sent to a frozen node
 * wait in its "socket" and arrive, in order, when it thaws.
 */
import type { Clock, SeededRandom } from '@rigil/core';
import type { DistError, DistNode } from '@rigil/net';

/** What the world and the driver need of a connection end (network.ts's `SimEnd`). */
export interface EndHandle {
  /** Ends it without its owner asking; the peer gets a reset; `notify` tells the owner too. */
  reset(why: DistError, notify: boolean): void;
}

/** What the world and the driver need of a listener (network.ts's `SimListener`). */
export interface ListenerHandle {
  readonly inc: Incarnation;
  readonly closed: boolean;
  /** Drops it at once (a crash). */
  kill(): void;
}

/** One due event. */
export interface SimEvent {
  at: number;
  seq: number;
  /** The incarnation whose event loop runs it (null: the network or the driver). */
  inc: Incarnation | null;
  kind: 'timer' | 'net' | 'fault';
  fn: () => void;
  cancelled: boolean;
}

/** A binary heap of events by `(at, seq)`; cancelled events are skipped lazily. */
export class EventQueue {
  private readonly heap: SimEvent[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(ev: SimEvent): void {
    const heap = this.heap;
    heap.push(ev);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(ev, heap[p]!)) break;
      heap[i] = heap[p]!;
      i = p;
    }
    heap[i] = ev;
  }

  /** The earliest live event, without removing it. */
  peek(): SimEvent | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.removeTop();
    return this.heap[0];
  }

  /** Removes and returns the earliest live event. */
  pop(): SimEvent | undefined {
    const top = this.peek();
    if (top !== undefined) this.removeTop();
    return top;
  }

  clear(): void {
    this.heap.length = 0;
  }

  private removeTop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && less(heap[r]!, heap[l]!) ? r : l;
      if (!less(heap[c]!, last)) break;
      heap[i] = heap[c]!;
      i = c;
    }
    heap[i] = last;
  }
}

function less(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Latency of a link: every packet takes `base` ms plus a seeded uniform draw in `[0, jitter]`. */
export interface Latency {
  /** Milliseconds every packet takes (default 1). */
  readonly base: number;
  /** Up to this many more milliseconds, drawn per packet from the seed (default 1). */
  readonly jitter: number;
}

/** One direction of the network between two machines. */
export interface Link {
  /** Packets vanish into `held` (a cut cable: nothing arrives, nothing closes). */
  cut: boolean;
  /** Packets sent while cut, retransmitted in order when the link heals (TCP's retransmission). */
  held: Array<{ readonly stream: { readonly live: boolean }; readonly resend: () => void }>;
  latency: Latency | undefined;
}

/** A node name's place in the cluster: it outlives crashes; each start is a new incarnation. */
export class Machine {
  /** Set by `freeze`, cleared by `thaw`: events of the running incarnation are parked. */
  frozen = false;
  /** The running (or stopped, but not crashed) incarnation. */
  current: Incarnation | undefined;
  /** How many incarnations have been started. */
  starts = 0;

  constructor(
    readonly name: string,
    /** Index of the machine, in order of first start. */
    readonly index: number,
    /** The port it listens on in every incarnation. */
    readonly port: number,
    /** Forked once per incarnation: each node's generator. */
    readonly random: SeededRandom,
  ) {}
}

/** One run of a node: its clock, generator, connection ends and listener. */
export class Incarnation {
  /** False once crashed: its events are dropped, its ends are reset. */
  alive = true;
  /** Events parked while the machine is frozen. */
  deferred: SimEvent[] = [];
  /** Its connection ends that are still open. */
  readonly ends = new Set<EndHandle>();
  /** Its listeners that are still open. */
  readonly listeners = new Set<ListenerHandle>();
  /** The node, once constructed. */
  node: DistNode | undefined;
  /** The node's clock: the simulation's virtual time, wake-ups as events of this incarnation. */
  readonly clock: Clock;

  constructor(
    readonly world: World,
    readonly machine: Machine,
    readonly number: number,
    readonly random: SeededRandom,
  ) {
    this.clock = {
      now: () => world.now,
      set: (fn, ms) => world.schedule(world.now + Math.max(0, ms), this, 'timer', fn),
      clear: (handle) => {
        (handle as SimEvent).cancelled = true;
      },
    };
  }

  /** `name#n`, for the log. */
  get label(): string {
    return `${this.machine.name}#${this.number}`;
  }
}

/** Options of the world (filled in by `Simulation`). */
export interface WorldOptions {
  readonly latency: Latency;
  /** Log every frame (default true); faults and node events are always logged. */
  readonly logFrames: boolean;
  /** Add an FNV-1a digest of each frame's bytes to the log (see README: needs seeded handshakes). */
  readonly frameDigests: boolean;
}

/** Virtual time, events, machines, links and the log. */
export class World {
  /** Virtual milliseconds since the simulation began. */
  now = 0;
  readonly queue = new EventQueue();
  readonly machines = new Map<string, Machine>();
  /** Which machine each `host:port` belongs to (kept after a crash: packets still route there). */
  readonly hosts = new Map<string, string>();
  /** Listeners by `host:port`. */
  readonly listeners = new Map<string, ListenerHandle>();
  /** The event log (see `Simulation.log`). */
  readonly log: string[] = [];
  /** Errors thrown by event handlers (rigil code crashing outside any process). */
  readonly errors: unknown[] = [];
  private seq = 0;
  private readonly links = new Map<string, Link>();

  constructor(
    readonly options: WorldOptions,
    /** The network's generator (latency jitter). */
    readonly random: SeededRandom,
  ) {}

  /** Queues `fn` at virtual time `at` on `inc`'s event loop (or the network's, for null). */
  schedule(at: number, inc: Incarnation | null, kind: SimEvent['kind'], fn: () => void): SimEvent {
    const ev: SimEvent = { at: Math.max(at, this.now), seq: this.seq++, inc, kind, fn, cancelled: false };
    if (inc !== null && !inc.alive) ev.cancelled = true;
    else this.queue.push(ev);
    return ev;
  }

  /**
   * Runs one event: dropped if its incarnation crashed, parked if its machine is frozen.
   * A handler that throws is recorded in `errors` (and logged): the transport contract lets no
   * exception through, so one is a bug of the code under test.
   */
  dispatch(ev: SimEvent): void {
    const inc = ev.inc;
    if (inc !== null) {
      if (!inc.alive) return;
      if (inc.machine.frozen) {
        inc.deferred.push(ev);
        return;
      }
    }
    this.invoke(ev.fn);
  }

  /** Runs `fn` on `inc`'s event loop now: dropped if it crashed, parked while frozen. */
  runOn(inc: Incarnation, fn: () => void): void {
    if (!inc.alive) return;
    if (inc.machine.frozen) {
      inc.deferred.push({ at: this.now, seq: this.seq++, inc, kind: 'net', fn, cancelled: false });
      return;
    }
    this.invoke(fn);
  }

  invoke(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.errors.push(e);
      this.record(`error ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
  }

  /** Appends a line to the log, stamped with the virtual time. */
  record(line: string): void {
    this.log.push(`${this.now.toFixed(3)} ${line}`);
  }

  /** The directed link `from → to` (created on first use). */
  link(from: string, to: string): Link {
    const key = `${from}\u0000${to}`;
    let l = this.links.get(key);
    if (l === undefined) this.links.set(key, (l = { cut: false, held: [], latency: undefined }));
    return l;
  }

  /** Every directed link that exists, as `[from, to, link]`. */
  allLinks(): Array<[string, string, Link]> {
    return [...this.links].map(([k, l]) => {
      const [from, to] = k.split('\u0000') as [string, string];
      return [from, to, l];
    });
  }

  /**
   * Sends a packet `from → to`: `deliver` runs after the link's latency, never before the
   * previous packet of the same stream (`stream.lastAt`, TCP's in-order delivery); while the link
   * is cut the packet is held and sent again when it heals.
   */
  transmit(from: string, to: string, stream: { lastAt: number; readonly live: boolean }, deliver: () => void): void {
    const link = this.link(from, to);
    if (link.cut) {
      // A packet of a stream that has ended on both sides will never be read: not worth holding.
      if (link.held.length >= 1024) link.held = link.held.filter((h) => h.stream.live);
      link.held.push({ stream, resend: () => this.transmit(from, to, stream, deliver) });
      return;
    }
    const lat = link.latency ?? this.options.latency;
    const at = Math.max(this.now + lat.base + (lat.jitter > 0 ? this.random.float() * lat.jitter : 0), stream.lastAt);
    stream.lastAt = at;
    this.schedule(at, null, 'net', deliver);
  }

  /** Heals `from → to`: held packets go out again, in the order they were sent. */
  heal(from: string, to: string): void {
    const link = this.link(from, to);
    if (!link.cut) return;
    link.cut = false;
    const held = link.held;
    link.held = [];
    for (const h of held) if (h.stream.live) h.resend();
  }
}

/** FNV-1a over a frame (32 bits, hex): a cheap fingerprint for the log. */
export function digest(data: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}
