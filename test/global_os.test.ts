/**
 * `global` with nodes in separate OS processes: a global name held by a process of a child OS
 * process disappears from this process's replica when the child is killed with `kill -9` (its
 * socket closes, nodedown, the name servers' monitors fire `noconnection`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { DistNode } from '@rigil/net';
import { OsCluster, REPO_ROOT, waitFor } from './src/os_cluster.js';

const COOKIE = 'global-os-cookie';

const cluster = new OsCluster();
const locals: DistNode[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  try {
    await Promise.all(locals.splice(0).map((n) => n.stop()));
  } finally {
    await cluster.cleanup();
    await Promise.all(children.splice(0).map(killAndWait));
  }
});

async function local(name: string, seeds: string[] = []): Promise<DistNode> {
  const n = await DistNode.start({ name, cookie: COOKIE, port: 0, tickTime: 10_000, seeds });
  locals.push(n);
  return n;
}

function exited(p: ChildProcess): boolean {
  return p.exitCode !== null || p.signalCode !== null;
}

async function killAndWait(p: ChildProcess): Promise<void> {
  if (!exited(p)) {
    const gone = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill('SIGKILL');
    await gone;
  }
  p.stdin?.destroy();
  p.stdout?.destroy();
  p.stderr?.destroy();
}

interface GlobalChild {
  readonly proc: ChildProcess;
  readonly name: string;
  readonly pid: number;
  readonly registered: 'yes' | 'no';
  readonly holder: string;
}

/** Starts test/src/global_child.ts: a node that connects to `seeds` and registers `globalName` from inside the child. */
async function globalChild(name: string, seeds: string[], globalName: string): Promise<GlobalChild> {
  const args = ['--conditions=source', '--import', 'tsx', 'test/src/global_child.ts', '--name', name, '--cookie', COOKIE, '--global-name', globalName];
  for (const s of seeds) args.push('--seed', s);
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const proc = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'], env });
  children.push(proc);
  proc.stdin.on('error', () => undefined);
  const stderr: string[] = [];
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (s: string) => stderr.push(s));
  const lines = createInterface({ input: proc.stdout });
  return new Promise<GlobalChild>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready; stderr: ${stderr.join('')}`)), 20_000);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before ready (${code}, ${signal}); stderr: ${stderr.join('')}`));
    });
    lines.on('line', (line) => {
      let v: { ready?: boolean } & Omit<GlobalChild, 'proc'>;
      try {
        v = JSON.parse(line) as typeof v;
      } catch {
        return;
      }
      if (v.ready === true) {
        clearTimeout(timer);
        resolve({ proc, name: v.name, pid: v.pid, registered: v.registered, holder: v.holder });
      }
    });
  });
}

describe('global across OS processes', () => {
  it('a name registered from a child OS process is in this process\'s replica, and is gone after kill -9 of the child', async () => {
    const t1 = await local(`gtest1_${process.pid}@127.0.0.1`);
    const t2 = await local(`gtest2_${process.pid}@127.0.0.1`, [`${t1.name}:${t1.port}`]);
    expect(await t2.connect(t1.name)).toBe(true);

    const child = await globalChild(`gchild_${process.pid}@127.0.0.1`, [`${t1.name}:${t1.port}`], 'os_global');
    expect(child.pid).not.toBe(process.pid);
    expect(child.registered).toBe('yes');
    // The child connected to t1 before it registered, and a registration is on every connected
    // node when it returns: t1's replica holds it already.
    expect(String(t1.global.whereis('os_global'))).toBe(child.holder);
    expect(t1.global.whereis('os_global')?.node).toBe(child.name);
    // t2 meets the child through the mesh (maybe after the registration): it gets the name by the merge.
    await waitFor(() => String(t2.global.whereis('os_global')) === child.holder, 5000, 't2 to see the child\'s name');
    // A registration here for the same name is refused: the child's process holds it.
    expect(await t1.global.register('os_global', t1.spawn(async (self) => void (await self.receive())))).toBe('no');

    child.proc.kill('SIGKILL');
    await new Promise<void>((resolve) => (exited(child.proc) ? resolve() : child.proc.once('exit', () => resolve())));
    await waitFor(() => t1.global.whereis('os_global') === undefined && t2.global.whereis('os_global') === undefined, 5000, 'the name gone after kill -9');
    expect(t1.global.registeredNames()).toEqual([]);
    expect(t2.global.registeredNames()).toEqual([]);
  });

  it('a name registered here for a process of a child node (test/src/node_main.ts) is gone after kill -9 of that child', async () => {
    const c = await cluster.spawn({ name: `gnode_${process.pid}@127.0.0.1`, cookie: COOKIE, tickTime: 10_000 });
    const t = await local(`gtest3_${process.pid}@127.0.0.1`);
    t.net.addAddress(c.name, c.url);
    expect(await t.connect(c.name)).toBe(true);
    const idle = await t.rpc.spawn(c.name, 'idle');
    expect(await t.global.register('child_idle', idle)).toBe('yes');
    expect(t.global.whereis('child_idle')?.equals(idle)).toBe(true);
    await cluster.kill9(c);
    await waitFor(() => t.global.whereis('child_idle') === undefined, 5000, 'the name gone after kill -9');
    expect(t.global.registeredNames()).toEqual([]);
  });
});
