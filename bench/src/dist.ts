/**
 * Distribution benchmark: two nodes in two OS processes on loopback. This process runs the
 * node `bench@127.0.0.1`; it starts bench/src/dist_peer.ts (`peer@127.0.0.1`, plus the raw
 * baseline's server) as a child process and measures against it. The raw baseline
 * (bench/src/dist_raw.ts) runs in the same two processes, right before rigil in each round:
 * msgpackr-encoded messages over a bare `ws` connection, batched the same way (up to
 * MAX_BATCH messages per frame, flushed each event-loop turn).
 *
 * Workloads: `remote_send` (one-way `{ seq: n }` messages/s), `remote_pingpong` (round
 * trips/s, and `remote_pingpong_p50` latency in µs), `remote_call` (sequential gen_server
 * calls/s from one process), `remote_bytes` (1 KiB payloads, MB/s with MB = 10^6 bytes),
 * `connect` (median ms from `connect()` to up), `remote_send_slow_peer` (the most bytes queued
 * for the peer while it is stopped with SIGSTOP and a process sends it 20,000 × 1 KiB; the raw
 * baseline sends the same over its bare connection; target ≤ 2 × busyLimit, issue 11),
 * `remote_send_uds` and `remote_pingpong_uds` (a second node with `unixSockets` reaching the
 * peer over its Unix-domain socket; the baseline column is the same workload over loopback TCP
 * in the same round, so the ratio reads socket/TCP).
 * Median of 3 rounds; prints a table and writes
 * bench/results/dist.json (same shape as core.json).
 *
 * Run: `pnpm bench:dist` (node --expose-gc --import tsx bench/src/dist.ts).
 * Options: `--only send,pingpong,call,bytes,connect,slowpeer,uds,global` — cases, or workload
 * names such as `remote_send,remote_pingpong_uds` that select their cases (a partial run writes no JSON unless
 * `--out FILE`), `--rounds N`, `--peer-cpu-prof DIR` (profile the peer process too).
 * The peer process is always ended (SIGTERM, then SIGKILL) when this process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { genServer, type Pid, type Process } from '@rigil/core';
import { DistNode } from '@rigil/net';
import { rawClose, rawConnect, RawOp, type RawConn } from './dist_raw.js';
import { nextTurn, now, perSecond, runCases, signal, type Case } from './harness.js';
import { runGlobalWorkloads } from './global_workloads.js';
import { commandArgs, formatTable, median, meets, writeResults, type Target, type WorkloadResult } from './report.js';

const NAME = 'bench@127.0.0.1';
const PEER = 'peer@127.0.0.1';
const COOKIE = 'bench-dist-cookie';
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The Unix-domain sockets of the same-host cases (the peer listens there too). */
const SOCKET_DIR = mkdtempSync(join(tmpdir(), 'rigil-bench-'));
/**
 * The node of the same-host cases: `unixSockets` on, so it reaches the peer over its socket;
 * hidden, so the connect case's deliberate disconnects of NAME are not passed on to it by
 * `global`'s overlapping-partition prevention.
 */
const NAME_UDS = 'benchu@127.0.0.1';

const SEND_N = 500_000;
const BYTES_N = 100_000;
const PAYLOAD = Buffer.alloc(1024, 0xab);
const PINGPONG_N = 10_000;
const CALL_N = 10_000;
const CONNECT_N = 15;
/** Messages a sender queues per event-loop turn (both rigil and raw), then it yields. */
const CHUNK = 2048;

// ---------------------------------------------------------------- the peer process

interface Peer {
  readonly proc: ChildProcess;
  readonly rigilPort: number;
  readonly rawUrl: string;
  /** Sends a control request; resolves with the answer. */
  control(cmd: string, args?: Record<string, unknown>): Promise<unknown>;
  /** Ends the peer: stdin closed and SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

let peerProc: ChildProcess | undefined;
process.on('exit', () => {
  rmSync(SOCKET_DIR, { recursive: true, force: true });
  if (peerProc !== undefined && peerProc.exitCode === null && peerProc.signalCode === null) peerProc.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    process.stderr.write(`bench:dist: ${sig}, stopping\n`);
    process.exit(130);
  });
}

async function startPeer(cpuProfDir: string | undefined): Promise<Peer> {
  const args = ['--import', 'tsx'];
  if (cpuProfDir !== undefined) args.push('--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`);
  args.push('bench/src/dist_peer.ts', '--name', PEER, '--cookie', COOKIE, '--unix-sockets', SOCKET_DIR);
  const proc = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  peerProc = proc;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const lines = createInterface({ input: proc.stdout });
  const waiting = new Map<number, (v: unknown) => void>();
  let nextId = 1;
  const ready = await new Promise<{ rigilPort: number; rawPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('peer not ready within 20 s')), 20_000);
    void exited.then(() => reject(new Error('peer exited before it was ready')));
    lines.on('line', (line) => {
      const m = JSON.parse(line) as { ready?: boolean; id?: number; rigilPort: number; rawPort: number };
      if (m.ready === true) {
        clearTimeout(timer);
        resolve(m);
      } else if (m.id !== undefined) {
        waiting.get(m.id)?.(m);
        waiting.delete(m.id);
      }
    });
  });
  return {
    proc,
    rigilPort: ready.rigilPort,
    rawUrl: `ws://127.0.0.1:${ready.rawPort}`,
    control: (cmd, a = {}) =>
      new Promise((resolve) => {
        const id = nextId++;
        waiting.set(id, resolve);
        proc.stdin.write(JSON.stringify({ id, cmd, ...a }) + '\n');
      }),
    async stop(graceMs = 3000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.stdin.end();
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

// ---------------------------------------------------------------- rigil side

interface Rigil {
  node: DistNode;
  sink: Pid;
  pong: Pid;
  srv: Pid;
}

async function rigilSetup(peer: Peer, name = NAME, unixSockets?: string): Promise<Rigil> {
  const node = await DistNode.start({ name, cookie: COOKIE, port: 0, seeds: [`${PEER}:${peer.rigilPort}`], ...(unixSockets !== undefined ? { unixSockets, hidden: true } : {}) });
  if (!(await node.connect(PEER))) throw new Error('cannot connect to the peer');
  const whereis = async (name: string): Promise<Pid> => {
    const pid = (await genServer.call(node, ['srv', PEER], { whereis: name })) as Pid | null;
    if (pid === null) throw new Error(`no ${name} on the peer`);
    return pid;
  };
  return { node, sink: await whereis('sink'), pong: await whereis('pong'), srv: await whereis('srv') };
}

/** Runs `fn` in a fresh process of `node`; resolves with its result. */
function inProcess<T>(node: DistNode, fn: (self: Process) => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    node.spawn(async (self) => {
      try {
        resolve(await fn(self));
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** One-way stream of `n` messages made by `make` to the peer's sink; msgs/s. */
function rigilStream(r: Rigil, n: number, make: (i: number) => unknown): Promise<number> {
  return inProcess(r.node, async (self) => {
    self.send(r.sink, { expect: n, notify: self.pid });
    const t0 = now();
    for (let i = 0; i < n; i++) {
      self.send(r.sink, make(i));
      if ((i + 1) % CHUNK === 0) await nextTurn();
    }
    await self.receive((m) => m === 'done');
    return perSecond(n, now() - t0);
  });
}

function rawStream(conn: RawConn, n: number, make: (i: number) => unknown): Promise<number> {
  const done = signal();
  conn.onMessage = (m) => {
    if (m[0] === RawOp.DONE) done.resolve();
  };
  return (async () => {
    conn.send([RawOp.EXPECT, n]);
    const t0 = now();
    for (let i = 0; i < n; i++) {
      conn.send([RawOp.SINK, make(i)]);
      if ((i + 1) % CHUNK === 0) await nextTurn();
    }
    await done.promise;
    return perSecond(n, now() - t0);
  })();
}

// ---------------------------------------------------------------- cases

let peer!: Peer;
let rigil!: Rigil;

/** Runs `fn` with a fresh raw connection to the peer. */
async function withRaw<T>(fn: (conn: RawConn) => Promise<T>): Promise<T> {
  const conn = await rawConnect(peer.rawUrl);
  try {
    return await fn(conn);
  } finally {
    await rawClose(conn);
  }
}

const seqMsg = (i: number): unknown => ({ seq: i });
const bytesMsg = (): unknown => PAYLOAD;
const MB = 1e6;

const sendCase: Case = {
  workloads: { remote_send: { unit: 'msgs/s', target: { op: '>=', value: 600_000 } } },
  baseline: () => withRaw(async (c) => ({ remote_send: await rawStream(c, SEND_N, seqMsg) })),
  rigil: async () => ({ remote_send: await rigilStream(rigil, SEND_N, seqMsg) }),
};

const bytesCase: Case = {
  workloads: { remote_bytes: { unit: 'MB/s', target: { op: '>=', value: 200 } } },
  baseline: () => withRaw(async (c) => ({ remote_bytes: ((await rawStream(c, BYTES_N, bytesMsg)) * PAYLOAD.length) / MB })),
  rigil: async () => ({ remote_bytes: ((await rigilStream(rigil, BYTES_N, bytesMsg)) * PAYLOAD.length) / MB }),
};

const pingpongCase: Case = {
  workloads: {
    remote_pingpong: { unit: 'round trips/s', target: { op: '>=', value: 12_000 } },
    remote_pingpong_p50: { unit: 'µs', target: { op: '<=', value: 80 } },
  },
  baseline: () =>
    withRaw(async (c) => {
      const lat = new Float64Array(PINGPONG_N);
      let i = 0;
      let sent = 0;
      const done = signal();
      const t0 = now();
      c.onMessage = (m) => {
        if (m[0] !== RawOp.PONG) return;
        lat[i] = now() - sent;
        if (++i === PINGPONG_N) return done.resolve();
        sent = now();
        c.send([RawOp.PING, { ping: i }]);
      };
      sent = now();
      c.send([RawOp.PING, { ping: 0 }]);
      await done.promise;
      const total = now() - t0;
      return { remote_pingpong: perSecond(PINGPONG_N, total), remote_pingpong_p50: median(Array.from(lat)) * 1000 };
    }),
  rigil: () => rigilPingpong(rigil),
};

/** Round trips to the peer's `pong` from a process of `r`'s node: per second, and the median in µs. */
function rigilPingpong(r: Rigil): Promise<{ remote_pingpong: number; remote_pingpong_p50: number }> {
  return inProcess(r.node, async (self) => {
    const lat = new Float64Array(PINGPONG_N);
    const t0 = now();
    for (let i = 0; i < PINGPONG_N; i++) {
      const s = now();
      self.send(r.pong, { ping: i, from: self.pid });
      await self.receive();
      lat[i] = now() - s;
    }
    const total = now() - t0;
    return { remote_pingpong: perSecond(PINGPONG_N, total), remote_pingpong_p50: median(Array.from(lat)) * 1000 };
  });
}

/**
 * Same host (issue 18): the peer over its Unix-domain socket (`unixSockets`) against the same
 * workloads over loopback TCP in the same round — the baseline column is rigil over TCP here,
 * so the ratio is socket/TCP.
 */
let rigilUds!: Rigil;
const udsCase: Case = {
  workloads: {
    remote_send_uds: { unit: 'msgs/s', target: { op: '>=', value: 600_000 } },
    remote_pingpong_uds: { unit: 'round trips/s', target: { op: '>=', value: 12_000 } },
  },
  baseline: async () => ({ remote_send_uds: await rigilStream(rigil, SEND_N, seqMsg), remote_pingpong_uds: (await rigilPingpong(rigil)).remote_pingpong }),
  rigil: async () => ({ remote_send_uds: await rigilStream(rigilUds, SEND_N, seqMsg), remote_pingpong_uds: (await rigilPingpong(rigilUds)).remote_pingpong }),
};

const callCase: Case = {
  workloads: { remote_call: { unit: 'calls/s', target: { op: '>=', value: 12_000 } } },
  baseline: () =>
    withRaw(async (c) => {
      // A call: a tagged request, the reply matched to its tag.
      let tag = 0;
      let waiter: (() => void) | undefined;
      c.onMessage = (m) => {
        if (m[0] === RawOp.REPLY && m[1] === tag) waiter?.();
      };
      const t0 = now();
      for (let i = 0; i < CALL_N; i++) {
        tag++;
        await new Promise<void>((resolve) => {
          waiter = resolve;
          c.send([RawOp.CALL, tag, i]);
        });
      }
      return { remote_call: perSecond(CALL_N, now() - t0) };
    }),
  rigil: () =>
    inProcess(rigil.node, async (self) => {
      const t0 = now();
      for (let i = 0; i < CALL_N; i++) {
        const r = await genServer.call(self, rigil.srv, i);
        if (r !== i) throw new Error(`bad reply ${String(r)}`);
      }
      return { remote_call: perSecond(CALL_N, now() - t0) };
    }),
};

const connectCase: Case = {
  workloads: { connect: { unit: 'ms', target: { op: '<=', value: 5 } } },
  async baseline() {
    const times: number[] = [];
    for (let k = 0; k < CONNECT_N; k++) {
      const t0 = now();
      const c = await rawConnect(peer.rawUrl);
      times.push(now() - t0);
      await rawClose(c);
    }
    return { connect: median(times) };
  },
  async rigil() {
    const node = rigil.node;
    const times: number[] = [];
    for (let k = 0; k < CONNECT_N; k++) {
      await disconnectFully(node);
      const t0 = now();
      const ok = await node.connect(PEER);
      const dt = now() - t0;
      if (!ok) throw new Error('connect failed');
      times.push(dt);
    }
    return { connect: median(times) };
  },
};

/**
 * Disconnects from the peer and waits until both sides have let the connection go. Work a
 * connection starts in the background (global's name exchange after nodeup) may dial the
 * peer again right after a disconnect: let it finish first, and disconnect again if it did.
 */
async function disconnectFully(node: DistNode): Promise<void> {
  const deadline = now() + 10_000;
  await sleep(20);
  for (;;) {
    if (now() > deadline) throw new Error('could not get disconnected from the peer');
    node.disconnect(PEER);
    const peerSide = (await peer.control('isConnected', { node: NAME })) as { connected: boolean };
    if (peerSide.connected) {
      await sleep(1);
      continue;
    }
    await sleep(5);
    if (!node.net.isConnected(PEER) && !((await peer.control('isConnected', { node: NAME })) as { connected: boolean }).connected) return;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The most queued bytes of a sender to a peer that stops reading (SIGSTOP), then resumed. */
const SLOW_N = 20_000;
const BUSY_LIMIT = 1024 * 1024;

/** Runs `send` while the peer process is stopped; samples `queued()` until `stalled()`; resumes the peer. */
async function withStoppedPeer(queued: () => number, start: () => Promise<void>, stalled: () => boolean): Promise<number> {
  let max = 0;
  peer.proc.kill('SIGSTOP');
  try {
    const done = start();
    const deadline = now() + 10_000;
    // Until the sender cannot go on (rigil: suspended; raw: everything handed to ws), at most 10 s.
    while (!stalled() && now() < deadline) {
      max = Math.max(max, queued());
      await sleep(5);
    }
    max = Math.max(max, queued());
    peer.proc.kill('SIGCONT');
    await done;
  } finally {
    peer.proc.kill('SIGCONT');
  }
  return max;
}

const slowPeerCase: Case = {
  warmup: false,
  workloads: { remote_send_slow_peer: { unit: 'bytes', target: { op: '<=', value: 2 * BUSY_LIMIT } } },
  baseline: () =>
    withRaw(async (c) => {
      const done = signal();
      c.onMessage = (m) => {
        if (m[0] === RawOp.DONE) done.resolve();
      };
      c.send([RawOp.EXPECT, SLOW_N]);
      let sent = 0;
      const max = await withStoppedPeer(
        () => c.ws.bufferedAmount,
        async () => {
          for (; sent < SLOW_N; sent++) {
            c.send([RawOp.SINK, PAYLOAD]);
            if ((sent + 1) % 64 === 0) await nextTurn();
          }
          await done.promise;
        },
        () => sent >= SLOW_N,
      );
      return { remote_send_slow_peer: max };
    }),
  rigil: async () => {
    const node = rigil.node;
    let sent = 0;
    let lastSent = -1;
    let still = 0;
    let max = 0;
    const run = (): Promise<void> =>
      inProcess(node, async (self) => {
        self.send(rigil.sink, { expect: SLOW_N, notify: self.pid });
        for (; sent < SLOW_N; sent++) {
          self.send(rigil.sink, PAYLOAD);
          const q = node.net.queuedBytes(PEER);
          if (q > max) max = q;
          self.send(self.pid, 'next');
          await self.receive((m) => m === 'next');
        }
        await self.receive((m) => m === 'done');
      });
    const sampled = await withStoppedPeer(
      () => node.net.queuedBytes(PEER),
      run,
      () => {
        // Held: busy, and no message sent for 20 samples (about 100 ms).
        still = node.net.isBusy(PEER) && sent === lastSent ? still + 1 : 0;
        lastSent = sent;
        return still >= 20 || sent >= SLOW_N;
      },
    );
    return { remote_send_slow_peer: Math.max(max, sampled) };
  },
};

const CASES: Record<string, Case> = {
  send: sendCase,
  pingpong: pingpongCase,
  call: callCase,
  bytes: bytesCase,
  connect: connectCase,
  slowpeer: slowPeerCase,
  uds: udsCase,
};

// ---------------------------------------------------------------- global (issue 5)

/**
 * The `global` figures (3 nodes in this process over loopback sockets). There is no raw
 * equivalent of a cluster-wide registration to run beside them; the baseline column holds
 * Erlang/OTP's figure measured on this kind of machine (../shared/spec/anchors.md), so the
 * ratio reads as rigil/Erlang.
 */
async function globalResults(): Promise<Record<string, WorkloadResult>> {
  const erlang: Record<string, number> = { global_register: 1.03, global_whereis: 247, global_converge: Number.NaN };
  const targets: Record<string, Target> = {
    global_register: { op: '<=', value: 0.5 },
    global_whereis: { op: '<=', value: 100 },
    global_converge: { op: '<=', value: 5 },
  };
  const out: Record<string, WorkloadResult> = {};
  for (const [name, f] of Object.entries(await runGlobalWorkloads())) {
    const base = erlang[name] ?? Number.NaN;
    const target = targets[name];
    out[name] = {
      unit: f.unit,
      rigil: f.rigil,
      baseline: base,
      ratio: f.rigil / base,
      ...(target !== undefined ? { target: { ...target, met: meets(f.rigil, target) } } : {}),
      samples: { rigil: [f.rigil], baseline: [base] },
    };
  }
  return out;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: commandArgs(),
    options: {
      only: { type: 'string' },
      rounds: { type: 'string', default: '3' },
      out: { type: 'string' },
      'peer-cpu-prof': { type: 'string' },
    },
  });
  // A case's name or the name of one of its workloads (`remote_send_uds` selects `uds`).
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => Object.keys(CASES).find((c) => s in CASES[c]!.workloads) ?? s);
  // `global` (or any global_* name) selects the global registry cases, run after the others.
  for (const name of only ?? []) if (!(name in CASES) && !name.startsWith('global')) throw new Error(`unknown case ${name}; cases: ${Object.keys(CASES).join(', ')}, global (or a workload name of one)`);
  const rounds = Number(values.rounds);
  if (!(rounds >= 1)) throw new Error(`bad --rounds ${values.rounds}`);

  const started = now();
  peer = await startPeer(values['peer-cpu-prof']);
  let results;
  try {
    rigil = await rigilSetup(peer);
    rigilUds = await rigilSetup(peer, NAME_UDS, SOCKET_DIR);
    results = await runCases(CASES, { rounds, ...(only !== undefined ? { only } : {}) });
  } finally {
    await rigil?.node.stop();
    await rigilUds?.node.stop();
    await peer.stop();
  }
  if (only === undefined || only.some((o) => o.startsWith('global'))) results = { ...results, ...(await globalResults()) };
  const seconds = (now() - started) / 1000;

  process.stdout.write(`\nrigil dist vs raw ws+msgpackr baseline, two OS processes on loopback, median of ${rounds} rounds, ${seconds.toFixed(0)} s\n\n`);
  process.stdout.write(formatTable(results) + '\n');

  const out = values.out ?? (only === undefined ? new URL('../results/dist.json', import.meta.url) : undefined);
  if (out !== undefined) {
    const path = writeResults(out, results, { rounds, seconds: Math.round(seconds), peer: 'bench/src/dist_peer.ts (separate OS process)' });
    process.stdout.write(`\nwrote ${path}\n`);
  } else {
    process.stdout.write('\npartial run (--only): results not written (pass --out FILE to write them)\n');
  }
}

try {
  await main();
} catch (e) {
  process.stderr.write(`bench:dist failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
} finally {
  if (peerProc !== undefined && peerProc.exitCode === null && peerProc.signalCode === null) peerProc.kill('SIGKILL');
  // Nothing may keep the benchmark alive once it is done.
  process.exit();
}
