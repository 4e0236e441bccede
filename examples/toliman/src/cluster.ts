/**
 * Runs toliman nodes as separate OS processes (`rigil start <config>`) and watches them from a
 * hidden probe node — shared by the demo and the toliman test suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { genServer, type Pid } from '@rigil/core';
import { DistNode } from '@rigil/net';
import type { PlacementInfo } from '@rigil/dist-ac';
import type { ProximaState } from './proxima.js';

const RIGIL = join(dirname(createRequire(import.meta.url).resolve('rigil/package.json')), 'bin', 'rigil.js');

/** One node process. */
export interface NodeProcess {
  readonly name: string;
  readonly config: string;
  readonly child: ChildProcess;
  /** Lines the node wrote to stderr (its log). */
  readonly log: string[];
}

/** Starts `rigil start <config>`; resolves once the node printed its ready line. */
export function startNode(name: string, config: string, options: { detached?: boolean; echo?: boolean } = {}): Promise<NodeProcess> {
  const child = spawn(process.execPath, [RIGIL, 'start', config], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
    env: { ...process.env },
  });
  const log: string[] = [];
  createInterface({ input: child.stderr }).on('line', (l) => {
    log.push(l);
    if (options.echo) process.stderr.write(`    ${l}\n`);
  });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`${name} exited (${code}) before it was ready:\n${log.slice(-20).join('\n')}`));
    child.once('exit', onExit);
    createInterface({ input: child.stdout }).on('line', (l) => {
      if (l.includes('"event":"ready"')) {
        child.off('exit', onExit);
        resolve({ name, config, child, log });
      }
    });
  });
}

/** Stops a node: SIGTERM (graceful, applications stop in reverse order), or SIGKILL. */
export function stopNode(n: NodeProcess, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (n.child.exitCode !== null || n.child.signalCode !== null) {
      resolve();
      return;
    }
    n.child.once('exit', () => resolve());
    n.child.kill(signal);
  });
}

/** A hidden node that watches the cluster (it never joins it). */
export class Probe {
  private constructor(readonly node: DistNode) {}

  /** Starts a hidden probe that knows the nodes' addresses. */
  static async start(cookie: string, seeds: string[]): Promise<Probe> {
    const node = await DistNode.start({ name: `probe${process.pid}@127.0.0.1`, cookie, hidden: true, listen: false, seeds });
    return new Probe(node);
  }

  /** Where `global.whereis('proxima')` points, as seen by `node`. */
  async globalProxima(node: string): Promise<Pid | undefined> {
    const names = (await this.node.rpc.call(node, 'global.names', [], 2000)) as Array<[string, Pid | undefined]>;
    return names.find(([n]) => n === 'proxima')?.[1];
  }

  /** dist-ac's placement of proxima, as seen by `node`. */
  async placement(node: string): Promise<PlacementInfo | undefined> {
    const all = (await this.node.rpc.call(node, 'distAc.info', [], 2000)) as PlacementInfo[];
    return all.find((p) => p.application === 'proxima');
  }

  /** The state of the proxima server on `node`, or undefined if there is none. */
  async proximaState(node: string): Promise<ProximaState | undefined> {
    try {
      const r = (await genServer.call(this.node, ['proxima', node], { getState: this.node.name }, 2000)) as { ok: ProximaState };
      return r.ok;
    } catch {
      return undefined;
    }
  }

  /** The pid locally registered as `proxima` on `node`. */
  async localProxima(node: string): Promise<Pid | undefined> {
    return ((await this.node.rpc.call(node, 'whereis', ['proxima'], 2000)) as Pid | null) ?? undefined;
  }

  /** Calls a procedure on `node`. */
  rpc(node: string, procedure: string, args: unknown[] = []): Promise<unknown> {
    return this.node.rpc.call(node, procedure, args, 10_000);
  }

  /** Stops the probe. */
  stop(): Promise<void> {
    return this.node.stop();
  }
}

/** A free port on loopback, for a node whose address must be known before it starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `f` every `everyMs` until it returns something other than undefined, or `ms` pass. */
export async function until<T>(f: () => Promise<T | undefined> | T | undefined, ms: number, everyMs = 5): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch {
      // not yet
    }
    if (Date.now() > end) return undefined;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
