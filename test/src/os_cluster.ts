/**
 * Nodes in separate OS processes, for tests: spawns `test/src/node_main.ts` children
 * (`node --import tsx …`, cwd = the repository root), waits for each one's ready line, and
 * kills them all in `cleanup()` (call it from `afterEach`).
 *
 * Cleanup is thorough: a stopped child (SIGSTOP) gets SIGCONT first, then every child gets
 * SIGTERM, and SIGKILL if it has not exited within a grace period; `cleanup()` resolves only
 * once every child has exited. As a last resort, every child still known when the test
 * process exits is SIGKILLed synchronously, and each child exits by itself when its stdin
 * (a pipe held by this process) reaches its end.
 *
 * Each child's node events are followed (`ChildNode.view`), and `ChildNode.command` runs a
 * command in it over its stdin (see node_main.ts: `status`, and `block`/`unblock` a peer on a
 * child started with `faulty`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ChildCommand, ChildStatus } from './node_main.js';

export type { ChildCommand, ChildStatus } from './node_main.js';

/** The repository root (the children's working directory). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Where the child program lives, relative to the repository root. */
const NODE_MAIN = 'test/src/node_main.ts';

/** How a child node is started. */
export interface ChildOptions {
  /** `name@host` (host 127.0.0.1 in tests). */
  name: string;
  cookie: string;
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** `name@host:port` seeds. */
  seeds?: string[];
  /** The child's tickTime in ms. */
  tickTime?: number;
  /** Milliseconds to wait for the ready line (default 20000). */
  readyTimeout?: number;
  /** Wrap the child's transport in `FaultyTransport`, so `block`/`unblock` commands can cut its links. */
  faulty?: boolean;
  /** The child's reconnect back-off (`DistNodeOptions.reconnect`). */
  reconnect?: { baseMs?: number; maxMs?: number };
  /**
   * Another child program, relative to the repository root (default `test/src/node_main.ts`).
   * It takes the same flags and speaks the same protocol on stdin/stdout (ready line, node
   * events, commands) — e.g. examples/ledger/test/ledger_node.ts, which also runs applications.
   */
  program?: string;
  /** More command-line arguments, after the ones above (for `program`). */
  extraArgs?: string[];
}

/** What a child prints once it is up. */
export interface ReadyLine {
  readonly ready: true;
  readonly name: string;
  readonly port: number;
  readonly creation: number;
  readonly pid: number;
  /** Its `nodes()` when it printed the line. */
  readonly nodes: string[];
}

/** A node event of a child, as this process received it. */
export interface ChildEvent {
  readonly event: 'nodeup' | 'nodedown';
  readonly node: string;
  /** `performance.now()` of this process when the line arrived. */
  readonly at: number;
}

/** What this process knows of a child's connections, from its ready line and node events. */
export interface ChildView {
  /** The child's `nodes()` as of its latest event (stale while the child is stopped). */
  nodes: string[];
  /** Every node event of the child, in order. */
  readonly events: ChildEvent[];
}

/** A running child node. */
export interface ChildNode {
  readonly name: string;
  readonly port: number;
  /** The node's incarnation. */
  readonly creation: number;
  /** The OS process id. */
  readonly osPid: number;
  /** `name@127.0.0.1:port`, for seeds. */
  readonly seed: string;
  /** `ws://127.0.0.1:port`. */
  readonly url: string;
  readonly proc: ChildProcess;
  /** Resolves when the OS process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the child wrote on stderr so far (for failure messages). */
  readonly stderr: string[];
  /** Its connections as its node events tell them. */
  readonly view: ChildView;
  /**
   * Runs `cmd` in the child; resolves with its reply, rejects with the child's error, or if
   * the child exits or does not answer within `timeoutMs` (default 10000; a stopped child
   * answers only once continued).
   */
  command(cmd: { cmd: 'status' }, timeoutMs?: number): Promise<ChildStatus>;
  command(cmd: ChildCommand, timeoutMs?: number): Promise<unknown>;
}

/** Every child started by any cluster of this OS process and not yet seen exiting. */
const everyChild = new Set<ChildProcess>();
/** Children currently stopped with SIGSTOP. */
const stoppedChildren = new Set<ChildProcess>();

process.on('exit', () => {
  for (const p of everyChild) {
    try {
      if (stoppedChildren.has(p)) p.kill('SIGCONT');
      p.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** The commands sent to one child and awaiting its reply. */
class Replies {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private gone = false;

  constructor(
    private readonly name: string,
    private readonly proc: ChildProcess,
    exited: Promise<unknown>,
  ) {
    void exited.then(() => {
      this.gone = true;
      for (const p of this.pending.values()) p.reject(new Error(`${name} exited before replying`));
      this.pending.clear();
    });
  }

  send(cmd: ChildCommand, timeoutMs: number): Promise<unknown> {
    if (this.gone) return Promise.reject(new Error(`${this.name} has exited`));
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name} did not reply to ${cmd.cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (f: () => void): void => {
        clearTimeout(timer);
        this.pending.delete(id);
        f();
      };
      this.pending.set(id, { resolve: (v) => done(() => resolve(v)), reject: (e) => done(() => reject(e)) });
      this.proc.stdin!.write(JSON.stringify({ id, ...cmd }) + '\n');
    });
  }

  /** A reply line arrived. */
  settle(line: { reply: unknown; error?: unknown }): void {
    const p = this.pending.get(line.reply as number);
    if (p === undefined) return;
    if (line.error !== undefined) p.reject(new Error(`${this.name}: ${String(line.error)}`));
    else p.resolve(line);
  }
}

function hasExited(p: ChildProcess): boolean {
  return p.exitCode !== null || p.signalCode !== null;
}

/** A group of child nodes started by one test; `cleanup()` ends them all. */
export class OsCluster {
  private readonly children = new Set<ChildNode>();

  /** The children still running (or stopped). */
  get running(): ChildNode[] {
    return [...this.children].filter((c) => !hasExited(c.proc));
  }

  /** Starts a child node and resolves once it printed its ready line. */
  async spawn(o: ChildOptions): Promise<ChildNode> {
    // --conditions=source: @rigil/* from their sources (NODE_OPTIONS is dropped below).
    const args = ['--conditions=source', '--import', 'tsx', o.program ?? NODE_MAIN, '--name', o.name, '--cookie', o.cookie, '--port', String(o.port ?? 0)];
    for (const s of o.seeds ?? []) args.push('--seed', s);
    if (o.tickTime !== undefined) args.push('--tick-time', String(o.tickTime));
    if (o.faulty === true) args.push('--faulty');
    if (o.reconnect?.baseMs !== undefined) args.push('--reconnect-base-ms', String(o.reconnect.baseMs));
    if (o.reconnect?.maxMs !== undefined) args.push('--reconnect-max-ms', String(o.reconnect.maxMs));
    args.push(...(o.extraArgs ?? []));
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    const proc = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'], env });
    everyChild.add(proc);
    const stderr: string[] = [];
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (s: string) => {
      stderr.push(s);
    });
    // The child may die while we write to its stdin; that is not an error of the test process.
    proc.stdin.on('error', () => undefined);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      proc.once('exit', (code, signal) => {
        everyChild.delete(proc);
        stoppedChildren.delete(proc);
        resolve({ code, signal });
      });
    });
    const view: ChildView = { nodes: [], events: [] };
    const replies = new Replies(o.name, proc, exited);
    const placeholder = { proc, exited, stderr } as unknown as ChildNode;
    this.children.add(placeholder);

    // Every line is read until the child exits (so it never blocks on a full pipe).
    let onReady: ((r: ReadyLine) => void) | undefined;
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        return;
      }
      if (typeof v !== 'object' || v === null) return;
      const l = v as Partial<ReadyLine & ChildEvent & { reply: unknown }>;
      if (l.ready === true) {
        view.nodes = l.nodes ?? [];
        onReady?.(v as ReadyLine);
      } else if ((l.event === 'nodeup' || l.event === 'nodedown') && typeof l.node === 'string') {
        const others = view.nodes.filter((n) => n !== l.node);
        view.nodes = l.event === 'nodeup' ? [...others, l.node] : others;
        view.events.push({ event: l.event, node: l.node, at: performance.now() });
      } else if ('reply' in l) replies.settle(v as { reply: unknown; error?: unknown });
    });
    let ready: ReadyLine;
    try {
      ready = await new Promise<ReadyLine>((resolve, reject) => {
        const timeout = o.readyTimeout ?? 20_000;
        const timer = setTimeout(() => reject(new Error(`${o.name} not ready within ${timeout} ms; stderr: ${stderr.join('')}`)), timeout);
        onReady = (r) => {
          clearTimeout(timer);
          resolve(r);
        };
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`${o.name} exited before ready (code ${code}, signal ${signal}); stderr: ${stderr.join('')}`));
        });
      });
    } catch (e) {
      await this.end(placeholder);
      throw e;
    }
    this.children.delete(placeholder);
    const child: ChildNode = {
      name: ready.name,
      port: ready.port,
      creation: ready.creation,
      osPid: ready.pid,
      seed: `${ready.name}:${ready.port}`,
      url: `ws://127.0.0.1:${ready.port}`,
      proc,
      exited,
      stderr,
      view,
      command: (cmd: ChildCommand, timeoutMs = 10_000) => replies.send(cmd, timeoutMs) as Promise<ChildStatus>,
    };
    if (child.osPid !== proc.pid) throw new Error(`ready line pid ${child.osPid} is not the child's pid ${proc.pid}`);
    this.children.add(child);
    return child;
  }

  /** Sends `signal` to a child (SIGSTOP/SIGCONT are tracked so cleanup can resume it). */
  signal(child: ChildNode, signal: NodeJS.Signals): void {
    if (hasExited(child.proc)) return;
    child.proc.kill(signal);
    if (signal === 'SIGSTOP') stoppedChildren.add(child.proc);
    else if (signal === 'SIGCONT') stoppedChildren.delete(child.proc);
  }

  /** `kill -9`: resolves once the process is gone. */
  async kill9(child: ChildNode): Promise<void> {
    this.signal(child, 'SIGKILL');
    await child.exited;
  }

  /** Ends every child: SIGCONT if stopped, SIGTERM, then SIGKILL after `graceMs`; resolves when all have exited. */
  async cleanup(graceMs = 2000): Promise<void> {
    const all = [...this.children];
    this.children.clear();
    await Promise.all(all.map((c) => this.end(c, graceMs)));
  }

  private async end(c: ChildNode, graceMs = 2000): Promise<void> {
    this.children.delete(c);
    const p = c.proc;
    if (!hasExited(p)) {
      try {
        if (stoppedChildren.has(p)) {
          p.kill('SIGCONT');
          stoppedChildren.delete(p);
        }
        p.kill('SIGTERM');
      } catch {
        // exited meanwhile
      }
      const timer = setTimeout(() => {
        if (!hasExited(p)) p.kill('SIGKILL');
      }, graceMs);
      await c.exited;
      clearTimeout(timer);
    }
    p.stdin?.destroy();
    p.stdout?.destroy();
    p.stderr?.destroy();
  }
}

/** Whether the OS process `pid` still exists (a zombie counts; our children are reaped on exit). No OTP counterpart. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls `cond` every `everyMs` until it holds (it may be async); throws `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
