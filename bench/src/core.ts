/**
 * Core benchmark: each workload on rigil (a fresh node per run) and on the raw baseline of
 * anchors.md footnote ¹ (bench/src/raw.ts), in the same process, 3 rounds, medians.
 * Prints a table and writes bench/results/core.json.
 *
 * Run: `pnpm bench:core` (node --expose-gc --max-old-space-size=8192 --import tsx bench/src/core.ts).
 * Options: `--only spawn,ring_fn,…` (cases: spawn, ring_behaviour, ring_fn, pingpong, fanin, call,
 * cast, cast_burst; a partial run writes no JSON unless `--out FILE` is given), `--rounds N`.
 * Every case but spawn first runs once untimed (JIT warm-up).
 */
import { parseArgs } from 'node:util';
import { genServer, Node, type GenServerBehaviour, type Pid, type Process } from '@rigil/core';
import { gc, liveHeap, now, perSecond, runCases, signal, type Case } from './harness.js';
import { RawRuntime, type RawActor } from './raw.js';
import { commandArgs, formatTable, writeResults } from './report.js';

const NODE_NAME = 'bench@local';

const SPAWN_N = 1_000_000;
const SPAWN_BATCH = 10_000;
const RING_N = 10_000;
const RING_LAPS = 100;
const RING_HOPS = RING_N * RING_LAPS;
const PINGPONG_N = 1_000_000;
const FANIN_SENDERS = 4;
const FANIN_TOTAL = 1_000_000;
const FANIN_PER_SENDER = FANIN_TOTAL / FANIN_SENDERS;
/**
 * Messages a sender (fan-in, cast) sends before it yields to the event loop (`setImmediate`),
 * so the receiver keeps up and its mailbox stays short; `cast_burst` sends everything at once.
 */
const CHUNK = 1_000;
const CALL_N = 500_000;
const CAST_N = 1_000_000;

const YIELD = 'yield';
const GO = 'go';

/** Waits for the next event-loop turn. */
function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function ok<P>(r: genServer.StartResult<P & genServer.Protocol>): Pid {
  if (typeof r === 'object' && 'ok' in r) return r.ok;
  throw new Error(`gen_server start failed: ${JSON.stringify(r)}`);
}

// ---------------------------------------------------------------- spawn

const idleServer: GenServerBehaviour<null, undefined> = {
  init: () => ({ ok: null }),
};

const spawnCase: Case = {
  warmup: false,
  workloads: {
    spawn: { unit: 'processes/s', target: { op: '>=', value: 600_000 } },
    spawn_mem_fn: { unit: 'B/process', target: { op: '<=', value: 1_200 } },
    spawn_mem_server: { unit: 'B/process', target: { op: '<=', value: 600 } },
    spawn_server: { unit: 'processes/s' },
  },

  async baseline() {
    const rt = new RawRuntime();
    const all = signal();
    let started = 0;
    const init = (): void => {
      if (++started === SPAWN_N) all.resolve();
    };
    const handler = (): void => undefined;
    const table: RawActor[] = [];
    const h0 = liveHeap();
    const t0 = now();
    for (let i = 0; i < SPAWN_N; i++) table.push(rt.spawn(handler, null, init));
    await all.promise;
    const t1 = now();
    const h1 = liveHeap();
    if (table.length !== SPAWN_N) throw new Error('lost actors');
    const rate = perSecond(SPAWN_N, t1 - t0);
    const bytes = (h1 - h0) / SPAWN_N;
    return { spawn: rate, spawn_mem_fn: bytes, spawn_mem_server: bytes, spawn_server: rate };
  },

  async rigil() {
    // Idle async-function processes: spawn rate (until every one waits in receive) and heap.
    let node = new Node({ name: NODE_NAME });
    const all = signal();
    let started = 0;
    const body = async (self: Process): Promise<void> => {
      if (++started === SPAWN_N) all.resolve();
      await self.receive();
    };
    let h0 = liveHeap();
    let t0 = now();
    for (let i = 0; i < SPAWN_N; i++) node.spawn(body);
    await all.promise;
    let t1 = now();
    let h1 = liveHeap();
    if (node.processCount !== SPAWN_N) throw new Error('lost processes');
    const fnRate = perSecond(SPAWN_N, t1 - t0);
    const fnBytes = (h1 - h0) / SPAWN_N;
    await node.stop();
    node = undefined as unknown as Node;
    gc();

    // Idle gen_servers, started 10k at a time.
    node = new Node({ name: NODE_NAME });
    h0 = liveHeap();
    t0 = now();
    for (let i = 0; i < SPAWN_N; i += SPAWN_BATCH) {
      const batch: Array<Promise<genServer.StartResult>> = [];
      for (let j = 0; j < SPAWN_BATCH; j++) batch.push(genServer.start(node, idleServer, undefined));
      const rs = await Promise.all(batch);
      ok(rs[rs.length - 1]!);
    }
    t1 = now();
    h1 = liveHeap();
    if (node.processCount !== SPAWN_N) throw new Error('lost servers');
    const serverRate = perSecond(SPAWN_N, t1 - t0);
    const serverBytes = (h1 - h0) / SPAWN_N;
    await node.stop();
    return { spawn: fnRate, spawn_mem_fn: fnBytes, spawn_mem_server: serverBytes, spawn_server: serverRate };
  },
};

// ---------------------------------------------------------------- ring

/** Raw ring: the token is the number of hops left. */
async function rawRing(): Promise<Record<string, number>> {
  const rt = new RawRuntime();
  const done = signal();
  const handler = (self: RawActor<RawActor>, m: unknown): void => {
    const n = m as number;
    if (n === 0) done.resolve();
    else rt.send(self.state, n - 1);
  };
  const ring: Array<RawActor<RawActor>> = [];
  for (let i = 0; i < RING_N; i++) ring.push(rt.spawn(handler, null as unknown as RawActor));
  for (let i = 0; i < RING_N; i++) ring[i]!.state = ring[(i + 1) % RING_N]!;
  const t0 = now();
  rt.send(ring[0]!, RING_HOPS);
  await done.promise;
  return { hops: perSecond(RING_HOPS, now() - t0) };
}

interface RingState {
  next: Pid | undefined;
  readonly done: () => void;
}

const ringServer: GenServerBehaviour<RingState, RingState> = {
  init: (s) => ({ ok: s }),
  handleInfo(m, s, self) {
    const n = m as number;
    if (n === 0) s.done();
    else self.send(s.next!, n - 1);
    return { noreply: s };
  },
};

const ringBehaviourCase: Case = {
  workloads: { ring_behaviour: { unit: 'hops/s', target: { op: '>=', value: 6_000_000 } } },
  async baseline() {
    return { ring_behaviour: (await rawRing()).hops! };
  },
  async rigil() {
    const node = new Node({ name: NODE_NAME });
    const done = signal();
    const states: RingState[] = [];
    const starts: Array<Promise<genServer.StartResult>> = [];
    for (let i = 0; i < RING_N; i++) {
      const s: RingState = { next: undefined, done: done.resolve };
      states.push(s);
      starts.push(genServer.start(node, ringServer, s));
    }
    const pids = (await Promise.all(starts)).map(ok);
    for (let i = 0; i < RING_N; i++) states[i]!.next = pids[(i + 1) % RING_N];
    gc();
    const t0 = now();
    node.send(pids[0]!, RING_HOPS);
    await done.promise;
    const rate = perSecond(RING_HOPS, now() - t0);
    await node.stop();
    return { ring_behaviour: rate };
  },
};

const ringFnCase: Case = {
  workloads: { ring_fn: { unit: 'hops/s', target: { op: '>=', value: 2_000_000 } } },
  async baseline() {
    return { ring_fn: (await rawRing()).hops! };
  },
  async rigil() {
    const node = new Node({ name: NODE_NAME });
    const done = signal();
    const ready = signal();
    let started = 0;
    const pids: Pid[] = [];
    for (let i = 0; i < RING_N; i++) {
      pids.push(
        node.spawn(async (self) => {
          const next = pids[(i + 1) % RING_N]!;
          if (++started === RING_N) ready.resolve();
          for (;;) {
            const m = (await self.receive()) as number;
            if (m === 0) return done.resolve();
            self.send(next, m - 1);
          }
        }),
      );
    }
    await ready.promise;
    gc();
    const t0 = now();
    node.send(pids[0]!, RING_HOPS);
    await done.promise;
    const rate = perSecond(RING_HOPS, now() - t0);
    await node.stop();
    return { ring_fn: rate };
  },
};

// ---------------------------------------------------------------- ping-pong

const pingpongCase: Case = {
  workloads: { pingpong: { unit: 'round trips/s', target: { op: '>=', value: 4_000_000 } } },
  async baseline() {
    const rt = new RawRuntime();
    const done = signal();
    let count = 0;
    const b = rt.spawn((_self, m) => rt.send(a, m), null);
    const a: RawActor = rt.spawn((_self, m) => {
      if (++count === PINGPONG_N) done.resolve();
      else rt.send(b, m);
    }, null);
    const t0 = now();
    rt.send(b, 'ping');
    await done.promise;
    return { pingpong: perSecond(PINGPONG_N, now() - t0) };
  },
  async rigil() {
    const node = new Node({ name: NODE_NAME });
    const done = signal();
    let ms = 0;
    const b = node.spawn(async (self) => {
      for (;;) self.send(a, await self.receive());
    });
    const a: Pid = node.spawn(async (self) => {
      const t0 = now();
      for (let i = 0; i < PINGPONG_N; i++) {
        self.send(b, 'ping');
        await self.receive();
      }
      ms = now() - t0;
      done.resolve();
    });
    await done.promise;
    await node.stop();
    return { pingpong: perSecond(PINGPONG_N, ms) };
  },
};

// ---------------------------------------------------------------- fan-in

const faninCase: Case = {
  workloads: { fanin: { unit: 'msgs/s', target: { op: '>=', value: 2_500_000 } } },
  async baseline() {
    const rt = new RawRuntime();
    const done = signal();
    let received = 0;
    const receiver = rt.spawn(() => {
      if (++received === FANIN_TOTAL) done.resolve();
    }, null);
    const sender = (self: RawActor<{ sent: number }>): void => {
      const s = self.state;
      const end = Math.min(s.sent + CHUNK, FANIN_PER_SENDER);
      for (; s.sent < end; s.sent++) rt.send(receiver, s.sent);
      if (s.sent < FANIN_PER_SENDER) setImmediate(() => rt.send(self, YIELD));
    };
    const senders: Array<RawActor<{ sent: number }>> = [];
    for (let i = 0; i < FANIN_SENDERS; i++) senders.push(rt.spawn(sender, { sent: 0 }));
    const t0 = now();
    for (const s of senders) rt.send(s, GO);
    await done.promise;
    return { fanin: perSecond(FANIN_TOTAL, now() - t0) };
  },
  async rigil() {
    const node = new Node({ name: NODE_NAME });
    const done = signal();
    const ready = signal();
    let started = 0;
    const receiver = node.spawn(async (self) => {
      for (let i = 0; i < FANIN_TOTAL; i++) await self.receive();
      done.resolve();
    });
    const senders: Pid[] = [];
    for (let i = 0; i < FANIN_SENDERS; i++) {
      senders.push(
        node.spawn(async (self) => {
          if (++started === FANIN_SENDERS) ready.resolve();
          await self.receive(); // GO
          for (let sent = 0; sent < FANIN_PER_SENDER; ) {
            const end = Math.min(sent + CHUNK, FANIN_PER_SENDER);
            for (; sent < end; sent++) self.send(receiver, sent);
            if (sent < FANIN_PER_SENDER) await yieldTurn();
          }
        }),
      );
    }
    await ready.promise;
    const t0 = now();
    for (const s of senders) node.send(s, GO);
    await done.promise;
    const rate = perSecond(FANIN_TOTAL, now() - t0);
    await node.stop();
    return { fanin: rate };
  },
};

// ---------------------------------------------------------------- call

type CounterProtocol = { call: 'ping'; reply: number; cast: 'inc' };

const callServer: GenServerBehaviour<number, undefined, CounterProtocol> = {
  init: () => ({ ok: 0 }),
  handleCall: (_req, _from, n) => ({ reply: n, state: n + 1 }),
};

const callCase: Case = {
  workloads: { call: { unit: 'calls/s', target: { op: '>=', value: 1_000_000 } } },
  async baseline() {
    // A call is a message carrying the caller's resolver; the server resolves it (awaited one at a time).
    const rt = new RawRuntime();
    const server = rt.spawn<number>((self, m) => {
      (m as { resolve: (v: number) => void }).resolve(self.state++);
    }, 0);
    const call = (req: string): Promise<number> => new Promise<number>((resolve) => rt.send(server, { req, resolve }));
    const t0 = now();
    let last = 0;
    for (let i = 0; i < CALL_N; i++) last = await call('ping');
    const ms = now() - t0;
    if (last !== CALL_N - 1) throw new Error('bad raw call count');
    return { call: perSecond(CALL_N, ms) };
  },
  async rigil() {
    const node = new Node({ name: NODE_NAME });
    const server = ok(await genServer.start(node, callServer, undefined));
    const done = signal();
    let ms = 0;
    let last = 0;
    node.spawn(async (self) => {
      const t0 = now();
      for (let i = 0; i < CALL_N; i++) last = await genServer.call(self, server, 'ping');
      ms = now() - t0;
      done.resolve();
    });
    await done.promise;
    await node.stop();
    if (last !== CALL_N - 1) throw new Error('bad call count');
    return { call: perSecond(CALL_N, ms) };
  },
};

// ---------------------------------------------------------------- cast

/**
 * One sender process casting `CAST_N` times to a counting server, timed until the server has
 * handled the last cast. `burst`: all casts in one go (the mailbox backs up to a million
 * messages); otherwise the sender yields to the event loop every `CHUNK` casts.
 */
function castCase(name: string, burst: boolean): Case {
  const chunk = burst ? CAST_N : CHUNK;
  return {
    workloads: { [name]: burst ? { unit: 'casts/s' } : { unit: 'casts/s', target: { op: '>=', value: 5_000_000 } } },
    async baseline() {
      const rt = new RawRuntime();
      const done = signal();
      const counter = rt.spawn<number>((self) => {
        if (++self.state === CAST_N) done.resolve();
      }, 0);
      const sender = rt.spawn<{ sent: number }>((self) => {
        const s = self.state;
        const end = Math.min(s.sent + chunk, CAST_N);
        for (; s.sent < end; s.sent++) rt.send(counter, 'inc');
        if (s.sent < CAST_N) setImmediate(() => rt.send(self, YIELD));
      }, { sent: 0 });
      const t0 = now();
      rt.send(sender, GO);
      await done.promise;
      return { [name]: perSecond(CAST_N, now() - t0) };
    },
    async rigil() {
      const node = new Node({ name: NODE_NAME });
      const done = signal();
      const counter: GenServerBehaviour<number, undefined, CounterProtocol> = {
        init: () => ({ ok: 0 }),
        handleCast: (_m, n) => {
          if (n + 1 === CAST_N) done.resolve();
          return { noreply: n + 1 };
        },
      };
      const server = ok(await genServer.start(node, counter, undefined)) as genServer.ServerPid<CounterProtocol>;
      const ready = signal();
      const sender = node.spawn(async (self) => {
        ready.resolve();
        await self.receive(); // GO
        for (let sent = 0; sent < CAST_N; ) {
          const end = Math.min(sent + chunk, CAST_N);
          for (; sent < end; sent++) genServer.cast(self, server, 'inc');
          if (sent < CAST_N) await yieldTurn();
        }
      });
      await ready.promise;
      const t0 = now();
      node.send(sender, GO);
      await done.promise;
      const rate = perSecond(CAST_N, now() - t0);
      await node.stop();
      return { [name]: rate };
    },
  };
}

// ---------------------------------------------------------------- main

const CASES: Record<string, Case> = {
  spawn: spawnCase,
  ring_behaviour: ringBehaviourCase,
  ring_fn: ringFnCase,
  pingpong: pingpongCase,
  fanin: faninCase,
  call: callCase,
  cast: castCase('cast', false),
  cast_burst: castCase('cast_burst', true),
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: commandArgs(),
    options: {
      only: { type: 'string' },
      rounds: { type: 'string', default: '3' },
      out: { type: 'string' },
    },
  });
  const only = values.only?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const name of only ?? []) if (!(name in CASES)) throw new Error(`unknown case ${name}; cases: ${Object.keys(CASES).join(', ')}`);
  const rounds = Number(values.rounds);
  if (!(rounds >= 1)) throw new Error(`bad --rounds ${values.rounds}`);

  const started = now();
  const results = await runCases(CASES, { rounds, ...(only !== undefined ? { only } : {}) });
  const seconds = (now() - started) / 1000;

  process.stdout.write(`\nrigil core vs raw baseline (anchors.md ¹), median of ${rounds} rounds, ${seconds.toFixed(0)} s\n\n`);
  process.stdout.write(formatTable(results) + '\n');

  const out = values.out ?? (only === undefined ? new URL('../results/core.json', import.meta.url) : undefined);
  if (out !== undefined) {
    const path = writeResults(out, results, { rounds, seconds: Math.round(seconds) });
    process.stdout.write(`\nwrote ${path}\n`);
  } else {
    process.stdout.write('\npartial run (--only): results not written (pass --out FILE to write them)\n');
  }
}

await main();
