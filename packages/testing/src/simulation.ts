/**
 * A deterministic simulated cluster (FoundationDB-style simulation): real `DistNode`s — the
 * real handshake, data protocol, net_kernel, global and dist-ac code — in one OS process, on an
 * in-memory network, under one virtual clock and one seed.
 *
 * **Time.** No node reads real time: each node's `clock` is the simulation's virtual clock,
 * and every wake-up it asks for (its `TimerService`'s one timer) and every packet in flight is
 * an event in one queue. The driver alternates two steps: let the cluster go quiet (drain
 * microtasks and `setImmediate`s — the scheduler's and the connections' — until none is left),
 * then advance virtual time to the next due event and run it. Nothing happens "between"
 * events, so a run is a pure function of the seed and of the calls made on the simulation.
 *
 * **Randomness.** One `SeededRandom` from `seed` feeds: the network (latency jitter) and, forked
 * once per machine in order of first start and again per incarnation, each node's
 * `NodeOptions.random` (its creation, global's and dist-ac's back-offs, and the handshake's
 * challenges once the handshake draws them from `node.random`).
 *
 * **Faults.** Per directed link: latency with jitter, cuts (packets held, no close: the
 * connection stalls until the tick timeout; on heal, held packets are retransmitted in order
 * to ends still open). Per node: freeze/thaw (SIGSTOP/SIGCONT: nothing runs, timers and
 * packets wait and are replayed at thaw — timers first, then packets, as Node's event loop
 * after a SIGCONT), stall (a freeze that thaws itself: a blocked event loop), crash (the node
 * object is dropped without its stop hooks; its connections are reset, its address refuses),
 * restart (a new incarnation of the same name and port, with a new creation).
 */
import { SeededRandom, type ApplicationSpec } from '@rigil/core';
import { startDistAc, type KernelConfig } from '@rigil/dist-ac';
import { DistError, DistNode, type DistNodeOptions } from '@rigil/net';
import { SimError } from './errors.js';
import { SimTransport } from './network.js';
import { Incarnation, Machine, World, type Latency } from './world.js';

/** Options of `new Simulation`. */
export interface SimulationOptions {
  /** The seed every random choice of the run derives from (an integer). */
  readonly seed: number;
  /** Latency of every link unless `setLatency` says otherwise (default `{ base: 1, jitter: 1 }` ms). */
  readonly latency?: Partial<Latency>;
  /** Log every frame delivered (default true; faults and node events are always logged). */
  readonly logFrames?: boolean;
  /**
   * Add a digest of each frame's bytes to its log line (default false). Only deterministic once
   * the handshake draws its challenges from `node.random` (until then, handshake frames differ).
   */
  readonly frameDigests?: boolean;
  /** Cookie of nodes started without one (default `'rigil-sim'`). */
  readonly cookie?: string;
  /** First port handed to machines (default 4370; machine i listens on `basePort + i`). */
  readonly basePort?: number;
}

/** Options of `sim.startNode`: a `DistNode`'s, less what the simulation provides, plus dist-ac. */
export interface SimNodeOptions extends Omit<DistNodeOptions, 'transport' | 'clock' | 'random' | 'tls' | 'cookie' | 'seeds'> {
  /** Default: the simulation's cookie. */
  cookie?: string;
  /** Seeds: node names of this simulation (started or not), or `name@host:port`. */
  seeds?: string[];
  /** Applications to load before dist-ac starts. */
  apps?: ApplicationSpec[];
  /** Start dist-ac with this kernel configuration once the node is up (`startDistAc`). */
  kernel?: KernelConfig;
}

/** Default budget of virtual time for `runUntil`, `wait` and starting a node. */
const DEFAULT_MAX_MS = 60_000;
/** Rounds of `setImmediate` at one virtual instant before the cluster is declared livelocked. */
const MAX_QUIET_ROUNDS = 100_000;

/**
 * A simulated cluster. Drive it with `run`/`runUntil`/`wait` (one driving call at a time);
 * inject faults between them.
 *
 * @example
 * const sim = new Simulation({ seed: 7 });
 * const a = await sim.startNode({ name: 'a@a', tickTime: 1000 });
 * const b = await sim.startNode({ name: 'b@b', tickTime: 1000, seeds: ['a@a'] });
 * await sim.runUntil(() => a.nodes().includes('b@b'));
 * sim.cut('a@a', 'b@b');
 * await sim.runUntil(() => a.nodes().length === 0, 1000); // the tick timeout
 * await sim.stop();
 */
export class Simulation {
  /** The seed of this run. */
  readonly seed: number;
  private readonly world: World;
  private readonly random: SeededRandom;
  private readonly cookie: string;
  private readonly basePort: number;
  /** Options each machine was first started with (restarts reuse them). */
  private readonly startOptions = new Map<string, SimNodeOptions>();
  private busy = false;
  private stopped = false;

  /** Creates a simulation; nothing runs until a node is started. */
  constructor(options: SimulationOptions) {
    if (typeof options !== 'object' || options === null || !Number.isSafeInteger(options.seed)) {
      throw new SimError('ERR_SIM_BAD_ARG', `seed must be an integer, got ${String((options as { seed?: unknown } | null)?.seed)}`);
    }
    this.seed = options.seed;
    this.random = new SeededRandom(options.seed);
    const latency = { base: options.latency?.base ?? 1, jitter: options.latency?.jitter ?? 1 };
    checkLatency(latency);
    this.world = new World({ latency, logFrames: options.logFrames ?? true, frameDigests: options.frameDigests ?? false }, this.random.fork());
    this.cookie = options.cookie ?? 'rigil-sim';
    this.basePort = options.basePort ?? 4370;
  }

  // ---------------------------------------------------------------- observing

  /** Virtual milliseconds since the simulation began. */
  get now(): number {
    return this.world.now;
  }

  /**
   * The event log, one line per event, stamped with virtual time: node starts, crashes and
   * restarts, faults, dials, accepts, opens, refusals, frames (`frame from -> to bytes`), closes
   * (`fin`, `rst`), node events (`nodeup`/`nodedown`) and every node report. Two runs of one
   * seed driven by the same calls produce identical logs.
   */
  get log(): readonly string[] {
    return this.world.log;
  }

  /** Appends a line of the caller's to the event log, stamped with the virtual time. */
  note(line: string): void {
    this.world.record(line);
  }

  /** Exceptions that escaped rigil code into the event loop (each is a bug; also in the log). */
  get errors(): readonly unknown[] {
    return this.world.errors;
  }

  /** The running node named `name`; throws `ERR_SIM_UNKNOWN_NODE` / `ERR_SIM_NODE_DOWN`. */
  node(name: string): DistNode {
    const inc = this.machineOf(name).current;
    if (inc?.node === undefined || !inc.alive) throw new SimError('ERR_SIM_NODE_DOWN', `${name} is not running`);
    return inc.node;
  }

  /** True when `name` runs (started, not crashed, not stopped). */
  isUp(name: string): boolean {
    const inc = this.world.machines.get(name)?.current;
    return inc?.node !== undefined && inc.alive && !inc.node.stopped;
  }

  /** Names of the running nodes, in order of first start. */
  nodes(): string[] {
    return [...this.world.machines.keys()].filter((n) => this.isUp(n));
  }

  /** True while `name` is frozen. */
  isFrozen(name: string): boolean {
    return this.machineOf(name).frozen;
  }

  /** Where `name` listens (`sim://host:port`, the same in every incarnation). */
  addressOf(name: string): string {
    const m = this.machineOf(name);
    return `sim://${this.startOptions.get(name)?.host ?? hostOf(name)}:${m.port}`;
  }

  // ---------------------------------------------------------------- nodes

  /**
   * Starts a node on the simulated network (its `DistNode.start`, with the simulation's
   * transport, clock and a generator forked from the seed), drives the simulation until it is
   * up, then loads `apps` and starts dist-ac with `kernel` if given. Resolves with the node.
   */
  async startNode(options: SimNodeOptions): Promise<DistNode> {
    return this.driving(() => this.start(options));
  }

  /**
   * Restarts `name` as a new incarnation (OTP: a node restarted gets a new creation): crashes
   * it first if it runs, then starts it with the options of its first start (and `overrides`),
   * on the same address. Peers reconnect when they dial it.
   */
  async restart(name: string, overrides: Partial<SimNodeOptions> = {}): Promise<DistNode> {
    return this.driving(async () => {
      const m = this.machineOf(name);
      if (m.current?.alive && m.current.node !== undefined && !m.current.node.stopped) this.crash(name);
      const { creation: _creation, ...first } = this.startOptions.get(name) ?? { name };
      return this.start({ ...first, ...overrides, name });
    });
  }

  /** Stops `name` the orderly way (`node.stop()`: applications, stop hooks, connections closed). */
  async stopNode(name: string): Promise<void> {
    await this.driving(() => this.settle(this.node(name).stop(), DEFAULT_MAX_MS, `${name} to stop`));
  }

  // ---------------------------------------------------------------- faults

  /**
   * Cuts the link between `a` and `b` (both ways, or only `a → b` with `oneWay`): packets
   * vanish into the cut — no close on either side, connections stall until their tick timeout.
   * Packets held by a cut are retransmitted in order by `heal`, to ends still open.
   */
  cut(a: string, b: string, options: { oneWay?: boolean } = {}): void {
    this.machineOf(a);
    this.machineOf(b);
    this.world.link(a, b).cut = true;
    if (options.oneWay !== true) this.world.link(b, a).cut = true;
    this.world.record(`cut ${a} ${options.oneWay === true ? '->' : '<->'} ${b}`);
  }

  /** Heals the link between `a` and `b`, both ways. */
  heal(a: string, b: string): void {
    this.machineOf(a);
    this.machineOf(b);
    this.world.record(`heal ${a} <-> ${b}`);
    this.world.heal(a, b);
    this.world.heal(b, a);
  }

  /** Cuts every link between two different groups (both ways); links inside a group are left as they are. */
  partition(groups: ReadonlyArray<readonly string[]>): void {
    for (const g of groups) for (const n of g) this.machineOf(n);
    this.world.record(`partition ${groups.map((g) => `[${g.join(' ')}]`).join(' ')}`);
    for (let i = 0; i < groups.length; i++) {
      for (let j = 0; j < groups.length; j++) {
        if (i === j) continue;
        for (const a of groups[i]!) for (const b of groups[j]!) this.world.link(a, b).cut = true;
      }
    }
  }

  /** Heals every cut link. */
  healAll(): void {
    this.world.record('heal-all');
    for (const [from, to, link] of this.world.allLinks()) if (link.cut) this.world.heal(from, to);
  }

  /** Sets the latency of the link `a → b` (and `b → a` unless `oneWay`). */
  setLatency(a: string, b: string, latency: Latency, options: { oneWay?: boolean } = {}): void {
    this.machineOf(a);
    this.machineOf(b);
    checkLatency(latency);
    this.world.link(a, b).latency = { base: latency.base, jitter: latency.jitter };
    if (options.oneWay !== true) this.world.link(b, a).latency = { base: latency.base, jitter: latency.jitter };
    this.world.record(`latency ${a} ${options.oneWay === true ? '->' : '<->'} ${b} ${latency.base}+${latency.jitter}`);
  }

  /**
   * Freezes `name` (SIGSTOP): it runs nothing — its timers do not fire, packets to it wait in
   * its socket — until `thaw`. Its peers see silence and, after `tickTime`, a nodedown.
   */
  freeze(name: string): void {
    const m = this.machineOf(name);
    const inc = this.running(name);
    if (m.frozen) return;
    m.frozen = true;
    this.world.record(`freeze ${inc.label}`);
  }

  /**
   * Thaws `name` (SIGCONT): what waited runs now — its due timers first, then the packets that
   * arrived meanwhile, in order (Node's event loop: timers phase, then poll).
   */
  thaw(name: string): void {
    const m = this.machineOf(name);
    if (!m.frozen) return;
    m.frozen = false;
    const inc = m.current;
    if (inc === undefined || !inc.alive) return;
    this.world.record(`thaw ${inc.label}`);
    const waiting = inc.deferred;
    inc.deferred = [];
    for (const ev of waiting) if (ev.kind === 'timer' && !ev.cancelled) this.world.invoke(ev.fn);
    for (const ev of waiting) if (ev.kind !== 'timer' && !ev.cancelled) this.world.invoke(ev.fn);
  }

  /**
   * Stalls `name`'s event loop for `ms` (a long synchronous computation, a GC pause): a freeze
   * that thaws itself `ms` later; then its clock has jumped and every overdue timer fires at once.
   */
  stall(name: string, ms: number): void {
    if (!(ms >= 0)) throw new SimError('ERR_SIM_BAD_ARG', `bad stall duration ${ms}`);
    const inc = this.running(name);
    this.world.record(`stall ${inc.label} ${ms}`);
    this.freeze(name);
    this.world.schedule(this.world.now + ms, null, 'fault', () => {
      if (inc.alive && inc.machine.current === inc) this.thaw(name);
    });
  }

  /**
   * Crashes `name` (kill -9): its state is gone — the node object is dropped without its stop
   * hooks, its timers never fire, its address refuses dials — and every connection it had is
   * reset: peers see a close, unless a cut holds the reset back (then they see silence).
   */
  crash(name: string): void {
    const m = this.machineOf(name);
    const inc = this.running(name);
    inc.alive = false;
    inc.deferred = [];
    m.frozen = false;
    this.world.record(`crash ${inc.label}`);
    for (const l of [...inc.listeners]) l.kill();
    inc.listeners.clear();
    for (const end of [...inc.ends]) end.reset(new DistError('ERR_NOT_CONNECTED', 'node crashed'), false);
  }

  // ---------------------------------------------------------------- driving

  /** Runs the cluster for `ms` of virtual time. */
  async run(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new SimError('ERR_SIM_BAD_ARG', `bad duration ${ms}`);
    await this.driving(() => this.advance(ms, undefined));
  }

  /**
   * Runs the cluster until `pred()` holds (checked whenever the cluster is quiet, after every
   * event), at most `maxMs` of virtual time; resolves with the virtual time it took, throws
   * `ERR_SIM_TIMEOUT` if it never held.
   */
  async runUntil(pred: () => boolean, maxMs = DEFAULT_MAX_MS, what = 'condition'): Promise<number> {
    return this.driving(async () => {
      const t0 = this.world.now;
      if (!(await this.advance(maxMs, pred))) throw new SimError('ERR_SIM_TIMEOUT', `${what} did not hold within ${maxMs} ms of virtual time (seed ${this.seed})`);
      return this.world.now - t0;
    });
  }

  /**
   * Runs the cluster until `promise` settles (at most `maxMs` of virtual time) and returns
   * its value, or throws its error (`ERR_SIM_TIMEOUT` if it did not settle). This is how a test
   * awaits anything that needs the network or timers: `await sim.wait(b.global.register(…))`.
   */
  async wait<T>(promise: Promise<T>, maxMs = DEFAULT_MAX_MS, what = 'promise'): Promise<T> {
    return this.driving(() => this.settle(promise, maxMs, what));
  }

  /**
   * Stops the simulation: thaws every node, stops the running ones the orderly way (bounded
   * by a minute of virtual time), then drops everything. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    await this.driving(async () => {
      for (const m of this.world.machines.values()) this.thaw(m.name);
      const live = [...this.world.machines.values()].flatMap((m) => (m.current?.alive && m.current.node !== undefined && !m.current.node.stopped ? [m.current.node] : []));
      try {
        await this.settle(Promise.all(live.map((n) => n.stop())), DEFAULT_MAX_MS, 'every node to stop');
      } catch {
        // A node that does not stop within a minute of virtual time is dropped like the rest.
      }
      this.stopped = true;
      for (const m of this.world.machines.values()) {
        const inc = m.current;
        if (inc === undefined) continue;
        inc.alive = false;
        for (const l of inc.listeners) l.kill();
        inc.listeners.clear();
        inc.ends.clear();
      }
      this.world.queue.clear();
      this.world.record('stop');
    });
  }

  // ---------------------------------------------------------------- private

  private async driving<T>(fn: () => Promise<T>): Promise<T> {
    if (this.stopped) throw new SimError('ERR_SIM_STOPPED', 'the simulation is stopped');
    if (this.busy) throw new SimError('ERR_SIM_BUSY', 'another call is driving the simulation: await it first');
    this.busy = true;
    try {
      return await fn();
    } finally {
      this.busy = false;
    }
  }

  private async start(options: SimNodeOptions): Promise<DistNode> {
    const { name } = options;
    if (typeof options !== 'object' || options === null || typeof name !== 'string') throw new SimError('ERR_SIM_BAD_ARG', 'startNode needs { name }');
    const m = this.machine(name, options.port);
    if (m.current?.alive && m.current.node !== undefined && !m.current.node.stopped) throw new SimError('ERR_SIM_NODE_UP', `${name} is already running`);
    if (!this.startOptions.has(name)) this.startOptions.set(name, options);
    const inc = new Incarnation(this.world, m, ++m.starts, m.random.fork());
    m.current = inc;
    m.frozen = false;
    const { kernel, apps, seeds, cookie, ...rest } = options;
    const host = options.host ?? hostOf(name);
    const starting = DistNode.start({
      ...rest,
      name,
      cookie: cookie ?? this.cookie,
      host,
      port: m.port,
      seeds: (seeds ?? []).map((s) => (s.includes(':') ? s : `${s}:${this.machine(s).port}`)),
      transport: new SimTransport(this.world, inc),
      clock: inc.clock,
      random: inc.random,
    });
    const node = await this.settle(starting, DEFAULT_MAX_MS, `${name} to start`);
    inc.node = node;
    const label = inc.label;
    this.world.record(`start ${label} creation ${node.creation}`);
    node.onNodeEvent((e) => this.world.record(`${e.type} ${label} ${e.node}${e.hidden ? ' hidden' : ''}${e.reason !== undefined ? ` ${e.reason.code}` : ''}`));
    node.onReport((r) => this.world.record(`report ${label} ${r.kind} ${'message' in r ? String((r as { message?: unknown }).message) : ''}`));
    for (const app of apps ?? []) node.application.load(app);
    if (kernel !== undefined) await this.settle(startDistAc(node, kernel), DEFAULT_MAX_MS, `dist-ac on ${name} to start`);
    return node;
  }

  /** The machine of `name`, made on first mention (a seed may name a node not started yet). */
  private machine(name: string, port?: number): Machine {
    let m = this.world.machines.get(name);
    if (m === undefined) {
      const index = this.world.machines.size;
      m = new Machine(name, index, port !== undefined && port !== 0 ? port : this.basePort + index, this.random.fork());
      this.world.machines.set(name, m);
    }
    return m;
  }

  private machineOf(name: string): Machine {
    const m = this.world.machines.get(name);
    if (m === undefined) throw new SimError('ERR_SIM_UNKNOWN_NODE', `no node ${JSON.stringify(name)} in this simulation`);
    return m;
  }

  private running(name: string): Incarnation {
    const inc = this.machineOf(name).current;
    if (inc === undefined || !inc.alive) throw new SimError('ERR_SIM_NODE_DOWN', `${name} is not running`);
    return inc;
  }

  private async settle<T>(promise: Promise<T>, maxMs: number, what: string): Promise<T> {
    const out: { state: 'pending' | 'ok' | 'failed'; value?: T; error?: unknown } = { state: 'pending' };
    promise.then(
      (v) => {
        out.state = 'ok';
        out.value = v;
      },
      (e: unknown) => {
        out.state = 'failed';
        out.error = e;
      },
    );
    await this.advance(maxMs, () => out.state !== 'pending');
    if (out.state === 'ok') return out.value as T;
    if (out.state === 'failed') throw out.error;
    throw new SimError('ERR_SIM_TIMEOUT', `${what} did not settle within ${maxMs} ms of virtual time (seed ${this.seed})`);
  }

  /** Runs events up to `now + ms`; true as soon as `pred` holds (checked whenever quiet). */
  private async advance(ms: number, pred: (() => boolean) | undefined): Promise<boolean> {
    const world = this.world;
    const end = world.now + ms;
    await quiesce();
    if (pred?.() === true) return true;
    for (;;) {
      const ev = world.queue.peek();
      if (ev === undefined || ev.at > end) break;
      world.queue.pop();
      if (ev.at > world.now) world.now = ev.at;
      world.dispatch(ev);
      await quiesce();
      if (pred?.() === true) return true;
    }
    if (end > world.now) world.now = end;
    return false;
  }
}

/**
 * Lets the process go quiet: drains microtasks and `setImmediate`s (rigil's scheduler yields
 * with them) until no immediate is pending. Timers and I/O play no part: the simulation has
 * none.
 */
async function quiesce(): Promise<void> {
  for (let round = 0; round < MAX_QUIET_ROUNDS; round++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (!process.getActiveResourcesInfo().includes('Immediate')) return;
  }
  throw new SimError('ERR_SIM_LIVELOCK', `the cluster never went quiet (${MAX_QUIET_ROUNDS} rounds of immediates)`);
}

/** The host part of a node name. */
function hostOf(name: string): string {
  return name.slice(name.indexOf('@') + 1);
}

function checkLatency(l: Latency): void {
  if (!(typeof l === 'object' && l !== null && l.base >= 0 && l.jitter >= 0 && Number.isFinite(l.base) && Number.isFinite(l.jitter))) {
    throw new SimError('ERR_SIM_BAD_ARG', `bad latency ${JSON.stringify(l)}: base and jitter are milliseconds >= 0`);
  }
}
