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
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

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
}

/** What a child prints once it is up. */
export interface ReadyLine {
  readonly ready: true;
  readonly name: string;
  readonly port: number;
  readonly creation: number;
  readonly pid: number;
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
    const args = ['--import', 'tsx', NODE_MAIN, '--name', o.name, '--cookie', o.cookie, '--port', String(o.port ?? 0)];
    for (const s of o.seeds ?? []) args.push('--seed', s);
    if (o.tickTime !== undefined) args.push('--tick-time', String(o.tickTime));
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
    const placeholder = { proc, exited, stderr } as unknown as ChildNode;
    this.children.add(placeholder);

    const lines = createInterface({ input: proc.stdout });
    let ready: ReadyLine;
    try {
      ready = await new Promise<ReadyLine>((resolve, reject) => {
        const timeout = o.readyTimeout ?? 20_000;
        const timer = setTimeout(() => reject(new Error(`${o.name} not ready within ${timeout} ms; stderr: ${stderr.join('')}`)), timeout);
        lines.on('line', (line) => {
          let v: unknown;
          try {
            v = JSON.parse(line);
          } catch {
            return;
          }
          if (typeof v === 'object' && v !== null && (v as { ready?: unknown }).ready === true) {
            clearTimeout(timer);
            resolve(v as ReadyLine);
          }
        });
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`${o.name} exited before ready (code ${code}, signal ${signal}); stderr: ${stderr.join('')}`));
        });
      });
    } catch (e) {
      await this.end(placeholder);
      throw e;
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    lines.on('line', () => undefined);
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

/** Polls `cond` every `everyMs` until it holds; throws `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string, everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
