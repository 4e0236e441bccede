/**
 * The `rigil` command run as it is run for real: `node packages/cli/bin/rigil.js …` as an OS
 * process from the repository root. Nodes started with `rigil start` load the fixture
 * application in ./fixtures/fixture_app.ts; every test kills what it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join('packages', 'cli', 'bin', 'rigil.js');
const FIXTURE = fileURLToPath(new URL('./fixtures/fixture_app.ts', import.meta.url));
const COOKIE = 'cli_test_cookie';

/** A child process with its output so far and a promise of how it ended. */
interface Proc {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves once the process has exited and its output is closed. */
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** What a finished `rigil …` run gave. */
interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A node started with `rigil start`. */
interface StartedNode extends Proc {
  readonly name: string;
  readonly port: number;
  /** `name@127.0.0.1:port`, the address `status` and `rpc` take. */
  readonly target: string;
  readonly marker: string;
}

const children = new Set<ChildProcess>();
const dirs: string[] = [];
let seq = 0;

function spawnRigil(args: string[], extraEnv: Record<string, string> = {}): Proc {
  const env = { ...process.env, ...extraEnv };
  delete env.RIGIL_COOKIE;
  if (extraEnv.DEBUG === undefined) delete env.DEBUG;
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  return { child, stdout: () => out, stderr: () => err, closed };
}

/** Rejects with `what` (and the process's output) unless `p` settles within `ms`. */
async function deadline<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `rigil …` to its end (within `ms`). */
async function rigil(args: string[], ms = 15_000): Promise<Result> {
  const p = spawnRigil(args);
  const { code, signal } = await deadline(p.closed, ms, () => `rigil ${args.join(' ')}\nstdout: ${p.stdout()}\nstderr: ${p.stderr()}`);
  return { code, signal, stdout: p.stdout(), stderr: p.stderr() };
}

/** Waits for a process to end (within `ms`). */
function ended(p: Proc, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return deadline(p.closed, ms, () => `process did not exit\nstdout: ${p.stdout()}\nstderr: ${p.stderr()}`);
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rigil-cli-'));
  dirs.push(d);
  return d;
}

/** Writes a config file into a new temp dir; returns its path. */
function writeConfig(config: unknown, dir = tempDir()): string {
  const path = join(dir, 'node.json');
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

/** A config of a node running the fixture application (distributed, on this node only). */
function fixtureConfig(name: string, dir: string, restartType: 'permanent' | 'temporary' = 'temporary'): unknown {
  return {
    node: { name, port: 0, cookie: COOKIE },
    kernel: { distributed: [{ application: 'fixture', timeout: 0, nodes: [name] }] },
    applications: [{ module: FIXTURE, export: 'fixture', start: true, restartType }],
    env: { fixture: { marker: join(dir, 'stopped.marker') } },
  };
}

/** Starts `rigil start` on a fixture config and waits for its ready line. */
async function startNode(restartType: 'permanent' | 'temporary' = 'temporary'): Promise<StartedNode> {
  const dir = tempDir();
  const name = `cli${process.pid}x${++seq}@127.0.0.1`;
  return startWith(name, writeConfig(fixtureConfig(name, dir, restartType), dir), join(dir, 'stopped.marker'));
}

/** A fresh node name. */
function freshName(base = 'cli'): string {
  return `${base}${process.pid}x${++seq}@127.0.0.1`;
}

/** Starts `rigil start <config> [...args]` for node `name` and waits for its ready line. */
async function startWith(name: string, configPath: string, marker = '', args: string[] = [], env: Record<string, string> = {}): Promise<StartedNode> {
  const p = spawnRigil(['start', configPath, ...args], env);
  const readyLine = (): string | undefined => p.stdout().split('\n').find((l) => l.includes('"event":"ready"'));
  const ready = await deadline(
    new Promise<string>((resolve, reject) => {
      const check = (): void => {
        const l = readyLine();
        if (l !== undefined) resolve(l);
      };
      p.child.stdout!.on('data', check);
      check();
      void p.closed.then(({ code }) => reject(new Error(`rigil start exited (${code}) before it was ready:\n${p.stderr()}`)));
    }),
    20_000,
    () => `rigil start did not print its ready line\nstdout: ${p.stdout()}\nstderr: ${p.stderr()}`,
  );
  const r = JSON.parse(ready) as { event: string; node: string; port: number; url: string };
  expect(r).toEqual({ event: 'ready', node: name, port: expect.any(Number), url: `ws://127.0.0.1:${r.port}` });
  expect(r.port).toBeGreaterThan(0);
  return { ...p, name, port: r.port, target: `${name}:${r.port}`, marker };
}

/** A port on loopback nothing listens on (it was free a moment ago). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

beforeEach(() => {
  expect(children.size).toBe(0);
});

afterEach(async () => {
  const alive = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
  await Promise.all(
    alive.map(async (c) => {
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGTERM');
      const gone = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
      if (!gone) {
        c.kill('SIGKILL');
        await exited;
      }
    }),
  );
  children.clear();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('help and usage', () => {
  it.each([['--help'], ['-h'], ['help']])('rigil %s prints the usage and exits 0', async (flag) => {
    const r = await rigil([flag]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage:');
    for (const cmd of ['rigil start <config.json>', 'rigil status <name@host:port>', 'rigil rpc <name@host:port> <procedure>']) expect(r.stdout).toContain(cmd);
    expect(r.stdout).toContain('Exit codes');
  });

  it('rigil with no command prints the usage and exits 2', async () => {
    const r = await rigil([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('Usage:');
  });

  it.each([
    ['start', ['rigil start <config.json>', 'SIGTERM', 'node.name', 'node.cookie', 'applications[]', '--log-format', 'log.format', 'Exit codes', 'ERR_PORT_IN_USE']],
    ['status', ['rigil status <name@host:port>', '--cookie', '--json', 'Exit codes', '3 nothing listening', 'ERR_NOT_LISTENING', '4 wrong cookie', 'ERR_BAD_COOKIE', '5 another node', 'ERR_WRONG_NODE']],
    ['rpc', ['rigil rpc <name@host:port> <procedure>', '--cookie', 'ping', 'Exit codes', 'ERR_NOT_LISTENING', 'ERR_BAD_COOKIE', 'ERR_WRONG_NODE']],
  ])('rigil %s --help prints its usage and exits 0', async (cmd, parts) => {
    for (const flag of ['--help', '-h']) {
      const r = await rigil([cmd, flag]);
      expect(r.code).toBe(0);
      for (const part of parts) expect(r.stdout).toContain(part);
      expect(r.stderr).toBe('');
    }
  });

  it.each([
    ['frobnicate', ['frobnicate']],
    ['frobnicate --help', ['frobnicate', '--help']],
    ['main (the name of the top-level help)', ['main', '--help']],
    ['toString (an Object.prototype property)', ['toString']],
    ['constructor --help (an Object.prototype property)', ['constructor', '--help']],
  ])('an unknown command exits 2 with ERR_USAGE: %s', async (_what, args) => {
    const r = await rigil(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`unknown command ${JSON.stringify(args[0])}`);
    expect(r.stderr).toContain('ERR_USAGE');
    expect(r.stdout).toBe('');
  });

  it.each([
    ['start', ['start', '--verbose', 'yes', 'x.json'], 'verbose'],
    ['status', ['status', 'a@127.0.0.1:9100', '--cookie', 'c', '--frob', 'x'], 'frob'],
    ['status (--name=value)', ['status', 'a@127.0.0.1:9100', '--cookie', 'c', '--verbose=1'], 'verbose'],
    ['rpc', ['rpc', 'a@127.0.0.1:9100', 'ping', '--cookie', 'c', '--json'], 'json'],
  ])('an unknown option of %s exits 2 naming it', async (_cmd, args, option) => {
    const r = await rigil(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--${option}`);
    expect(r.stderr).toContain('ERR_USAGE');
  });

  it.each([
    ['start without a config', ['start']],
    ['start with two configs', ['start', 'a.json', 'b.json']],
    ['status without a node', ['status', '--cookie', 'c']],
    ['status with a node that is not name@host:port', ['status', 'a@127.0.0.1', '--cookie', 'c']],
    ['status without a cookie', ['status', 'a@127.0.0.1:9100']],
    ['rpc without a procedure', ['rpc', 'a@127.0.0.1:9100', '--cookie', 'c']],
    ['an option without its value', ['rpc', 'a@127.0.0.1:9100', 'ping', '--cookie']],
  ])('%s exits 2', async (_what, args) => {
    const r = await rigil(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_USAGE');
  });
});

describe('rigil start with a bad config', () => {
  it.each<[string, (c: any) => void, string]>([
    ['an unknown top-level key', (c) => (c.nodes = {}), 'nodes'],
    ['an unknown node key', (c) => (c.node.prot = 9100), 'node.prot'],
    ['an unknown application key', (c) => (c.applications[0].exprt = 'fixture'), 'applications[0].exprt'],
    ['an unknown kernel key', (c) => (c.kernel.distributd = []), 'distributd'],
    ['a bad port', (c) => (c.node.port = 70000), 'node.port'],
    ['a bad name', (c) => (c.node.name = 'nohost'), 'node.name'],
    ['no cookie', (c) => delete c.node.cookie, 'node.cookie'],
    ['a bad restartType', (c) => (c.applications[0].restartType = 'always'), 'applications[0].restartType'],
    ['a malformed kernel.distributed entry', (c) => (c.kernel.distributed[0].nodes = []), 'distributed[0].nodes'],
    ['a bad seed', (c) => (c.node.seeds = ['not a seed']), 'node.seeds'],
  ])('%s exits 2 and names the key on stderr', async (_what, edit, key) => {
    const dir = tempDir();
    const c = fixtureConfig('bad@127.0.0.1', dir) as any;
    edit(c);
    const r = await rigil(['start', writeConfig(c, dir)]);
    expect(r.stderr).toContain(key);
    expect(r.stderr).toContain('ERR_CONFIG');
    expect(r.code).toBe(2);
    expect(r.stdout).not.toContain('"event":"ready"');
  });

  it('a config file that does not exist exits 2 naming the path', async () => {
    const path = join(tempDir(), 'missing.json');
    const r = await rigil(['start', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(path);
    expect(r.stderr).toContain('ERR_CONFIG');
  });

  it('a config file that is not JSON exits 2 naming the path', async () => {
    const dir = tempDir();
    const path = join(dir, 'node.json');
    writeFileSync(path, '{ node: ');
    const r = await rigil(['start', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(path);
    expect(r.stderr).toContain('ERR_CONFIG');
  });

  it('an application module that cannot be imported exits 2 with ERR_APP_MODULE', async () => {
    const dir = tempDir();
    const c = fixtureConfig('badmod@127.0.0.1', dir) as any;
    c.applications[0].module = './no_such_module.ts';
    const r = await rigil(['start', writeConfig(c, dir)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_APP_MODULE');
    expect(r.stderr).toContain(join(dir, 'no_such_module.ts'));
  });

  it('a module without the named export exits 2 with ERR_APP_MODULE', async () => {
    const dir = tempDir();
    const c = fixtureConfig('badexp@127.0.0.1', dir) as any;
    c.applications[0].export = 'nothing_here';
    const r = await rigil(['start', writeConfig(c, dir)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_APP_MODULE');
    expect(r.stderr).toContain('nothing_here');
  });

  it('an application that fails to start exits 1', async () => {
    const dir = tempDir();
    const c = { node: { name: 'broken@127.0.0.1', port: 0, cookie: COOKIE }, applications: [{ module: FIXTURE, export: 'broken', start: true }] };
    const r = await rigil(['start', writeConfig(c, dir)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('broken');
    expect(r.stdout).not.toContain('"event":"ready"');
  });
});

describe('a running node', () => {
  it('rigil status --json prints one object with nodes, applications and global names', async () => {
    const n = await startNode();
    const before = Date.now();
    const r = await rigil(['status', n.target, '--cookie', COOKIE, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const s = JSON.parse(lines[0]!) as {
      nodes: string[];
      applications: Record<string, { node: string | null; startType: unknown; since: string | null; previous: string | null; cause: string | null; epoch: number | null; moves: Array<Record<string, unknown>> }>;
      global: Record<string, { pid: string; node: string }>;
    };
    expect(Object.keys(s).sort()).toEqual(['applications', 'global', 'nodes']);
    // The hidden status probe is not one of the cluster's nodes.
    expect(s.nodes).toEqual([n.name]);
    expect(Object.keys(s.applications)).toEqual(['fixture']);
    const app = s.applications.fixture!;
    expect(Object.keys(app).sort()).toEqual(['cause', 'epoch', 'moves', 'node', 'previous', 'since', 'startType']);
    // The only listed node (rank 0 of 1) mints the first epoch, 1.
    expect(app).toMatchObject({ node: n.name, startType: 'normal', previous: null, cause: 'start', epoch: 1 });
    // The move history: one start here, with its epoch, decided by this node alone.
    expect(app.moves).toEqual([{ node: n.name, startType: 'normal', cause: 'start', at: expect.any(String), previous: null, epoch: 1, decidedWith: [n.name] }]);
    const since = Date.parse(app.since!);
    expect(Number.isNaN(since)).toBe(false);
    expect(since).toBeLessThanOrEqual(before);
    expect(before - since).toBeLessThan(60_000);
    expect(s.global.fixture_sup).toEqual({ pid: expect.stringContaining(n.name), node: n.name });
  });

  it('rigil status prints the node, the application and the global names for people', async () => {
    const n = await startNode();
    const r = await rigil(['status', n.target, '--cookie', COOKIE]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(n.name);
    expect(r.stdout).toMatch(new RegExp(`fixture: on ${n.name.replace(/\./g, '\\.')}`));
    expect(r.stdout).toContain('last moves (oldest first):');
    expect(r.stdout).toMatch(new RegExp(`-> ${n.name.replace(/\./g, '\\.')}  start \\("normal"\\)  epoch 1`));
    expect(r.stdout).toContain('epoch 1)');
    expect(r.stdout).toContain('fixture_sup');
    expect(() => JSON.parse(r.stdout) as unknown).toThrow();
  });

  it('rigil status takes the cookie from --cookie-file', async () => {
    const n = await startNode();
    const cookieFile = join(tempDir(), 'cookie');
    writeFileSync(cookieFile, `${COOKIE}\n`);
    const r = await rigil(['status', n.target, '--cookie-file', cookieFile, '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { nodes: string[] }).nodes).toEqual([n.name]);
  });

  it('rigil rpc calls procedures and prints JSON; an unknown one exits 1', async () => {
    const n = await startNode();
    const ping = await rigil(['rpc', n.target, 'ping', '--cookie', COOKIE]);
    expect(ping.code).toBe(0);
    expect(ping.stdout.trim()).toBe('"pong"');
    expect(JSON.parse(ping.stdout)).toBe('pong');

    // Arguments are passed (as strings when they are not JSON).
    const found = await rigil(['rpc', n.target, 'whereis', 'fixture_worker', '--cookie', COOKIE]);
    expect(found.code).toBe(0);
    // A pid prints as its string form, <node.id.serial>.
    expect(JSON.parse(found.stdout)).toEqual(expect.stringMatching(new RegExp(`^<${n.name.replace(/\./g, '\\.')}\\.`)));
    const missing = await rigil(['rpc', n.target, 'whereis', 'no_such_name', '--cookie', COOKIE]);
    expect(missing.code).toBe(0);
    expect(JSON.parse(missing.stdout)).toBeNull();

    const which = await rigil(['rpc', n.target, 'application.which', '--cookie', COOKIE]);
    expect(which.code).toBe(0);
    expect((JSON.parse(which.stdout) as Array<{ name: string }>).map((a) => a.name)).toContain('fixture');

    const unknown = await rigil(['rpc', n.target, 'no.such.procedure', '--cookie', COOKIE]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('ERR_UNKNOWN_PROCEDURE');
    expect(unknown.stdout).toBe('');
  });

  it('a wrong cookie exits 4 with ERR_BAD_COOKIE for status and rpc', async () => {
    const n = await startNode();
    const status = await rigil(['status', n.target, '--cookie', 'not-the-cookie', '--json']);
    expect(status.code).toBe(4);
    expect(status.stderr).toContain('ERR_BAD_COOKIE');
    expect(status.stderr).toContain('wrong cookie');
    expect(status.stdout).toBe('');
    const rpc = await rigil(['rpc', n.target, 'ping', '--cookie', 'not-the-cookie']);
    expect(rpc.code).toBe(4);
    expect(rpc.stderr).toContain('ERR_BAD_COOKIE');
    expect(rpc.stdout).toBe('');
    // The node is still fine.
    expect((await rigil(['rpc', n.target, 'ping', '--cookie', COOKIE])).code).toBe(0);
  });

  it('nothing listening exits 3 with ERR_NOT_LISTENING for status and rpc', async () => {
    const port = await closedPort();
    const target = `nobody@127.0.0.1:${port}`;
    const status = await rigil(['status', target, '--cookie', COOKIE]);
    expect(status.code).toBe(3);
    expect(status.stderr).toContain('ERR_NOT_LISTENING');
    expect(status.stderr).toContain('nothing is listening there');
    const rpc = await rigil(['rpc', target, 'ping', '--cookie', COOKIE]);
    expect(rpc.code).toBe(3);
    expect(rpc.stderr).toContain('ERR_NOT_LISTENING');
    expect(rpc.stderr).not.toMatch(/\n\s+at /);
  });

  it('another node at the address exits 5 with ERR_WRONG_NODE naming both, with the right or a wrong cookie', async () => {
    const n = await startNode();
    const target = `someone.else@127.0.0.1:${n.port}`;
    for (const cookie of [COOKIE, 'not-the-cookie']) {
      const status = await rigil(['status', target, '--cookie', cookie]);
      expect(status.code).toBe(5);
      expect(status.stderr).toContain('ERR_WRONG_NODE');
      expect(status.stderr).toContain(`${target} is ${n.name}, not someone.else@127.0.0.1`);
    }
    const rpc = await rigil(['rpc', target, 'ping', '--cookie', COOKIE]);
    expect(rpc.code).toBe(5);
    expect(rpc.stderr).toContain('ERR_WRONG_NODE');
  });

  /** Sends `signal` to a started node and checks it stopped gracefully. */
  async function stopsGracefully(n: StartedNode, signal: 'SIGTERM' | 'SIGINT'): Promise<void> {
    n.child.kill(signal);
    const { code, signal: killedBy } = await ended(n, 15_000);
    expect(killedBy, `killed by ${signal} instead of stopping gracefully; stderr:\n${n.stderr()}`).toBeNull();
    expect(code).toBe(0);
    expect(readFileSync(n.marker, 'utf8')).toBe('stopped\n');
    expect(n.stderr()).toContain(`${signal}: stopping`);
    // It no longer answers: nothing listens on its port.
    const after = await rigil(['rpc', n.target, 'ping', '--cookie', COOKIE]);
    expect(after.code).toBe(3);
    expect(after.stderr).toContain('ERR_NOT_LISTENING');
  }

  it.each(['SIGTERM', 'SIGINT'] as const)('%s stops a running node gracefully: exit 0, the application stopped', async (signal) => {
    const n = await startNode();
    // The node is up and serving.
    expect((await rigil(['rpc', n.target, 'ping', '--cookie', COOKIE])).code).toBe(0);
    expect(existsSync(n.marker)).toBe(false);
    await stopsGracefully(n, signal);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s sent as soon as the ready line is printed stops the node gracefully', async (signal) => {
    // What a process supervisor does: the ready line says the node is up, so a signal from
    // then on must stop it gracefully, not kill it.
    const n = await startNode();
    await stopsGracefully(n, signal);
  });

  it('a node whose permanent application dies stops by itself and rigil start exits 1', async () => {
    const n = await startNode('permanent');
    const crash = await rigil(['rpc', n.target, 'fixture.crash', '--cookie', COOKIE]);
    expect(crash.code).toBe(0);
    expect(JSON.parse(crash.stdout)).toBe('crashing');
    const { code, signal } = await ended(n, 15_000);
    expect(signal).toBeNull();
    expect(code).toBe(1);
    expect(n.stderr()).toMatch(/permanent application fixture/);
  });

  it('a node whose temporary application dies keeps running', async () => {
    const n = await startNode('temporary');
    expect((await rigil(['rpc', n.target, 'fixture.crash', '--cookie', COOKIE])).code).toBe(0);
    // Poll (with a deadline) until the application is gone from which-applications.
    const end = Date.now() + 10_000;
    let apps: string[] = ['fixture'];
    while (apps.includes('fixture') && Date.now() < end) {
      const which = await rigil(['rpc', n.target, 'application.which', '--cookie', COOKIE]);
      expect(which.code).toBe(0);
      apps = (JSON.parse(which.stdout) as Array<{ name: string }>).map((a) => a.name);
    }
    expect(apps).not.toContain('fixture');
    expect(n.child.exitCode).toBeNull();
    expect((await rigil(['rpc', n.target, 'ping', '--cookie', COOKIE])).code).toBe(0);
  });
});

describe('cookie strength', () => {
  // Scenario: the test cookie has 15 characters; rigil start says so on stderr and still starts.
  it('rigil start warns on stderr about a cookie shorter than 16 characters', async () => {
    expect(COOKIE.length).toBeLessThan(16);
    const n = await startNode();
    expect(n.stderr()).toContain(`warning: the cookie is ${COOKIE.length} characters long`);
  });
});

describe('a port in use', () => {
  // Scenario: a node runs on a port; a second `rigil start` is configured with the same port.
  it('rigil start exits 2 with ERR_PORT_IN_USE naming node.port and the port, without a stack trace', async () => {
    const n = await startNode();
    const dir = tempDir();
    const r = await rigil(['start', writeConfig({ node: { name: freshName('dup'), port: n.port, cookie: COOKIE } }, dir)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_PORT_IN_USE');
    expect(r.stderr).toContain(`config node.port: port ${n.port} on 127.0.0.1 is already in use`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
    // The node that holds the port is unaffected.
    expect((await rigil(['rpc', n.target, 'ping', '--cookie', COOKIE])).code).toBe(0);
  });

  it('with --log-format json the error is one JSON line with its code and exit status', async () => {
    const n = await startNode();
    const r = await rigil(['start', writeConfig({ node: { name: freshName('dup'), port: n.port, cookie: 'a-cookie-of-enough-length' } }), '--log-format', 'json']);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', ns: 'rigil:cli', code: 'ERR_PORT_IN_USE', exit: 2 });
    expect(lines[0]!.msg).toContain(`port ${n.port}`);
  });
});

/** The stderr lines of a process. */
const linesOf = (p: Proc): string[] => p.stderr().split('\n').filter((l) => l !== '');

describe('the log of rigil start', () => {
  // Scenario: b seeds a; both log one nodeup; b stops; a logs one nodedown. No line repeats.
  it('logs one line per nodeup and nodedown with the peer name, and no line twice', async () => {
    const dir = tempDir();
    const aName = freshName('a');
    const a = await startWith(aName, writeConfig({ node: { name: aName, port: 0, cookie: COOKIE } }, dir));
    const bName = freshName('b');
    const b = await startWith(bName, writeConfig({ node: { name: bName, port: 0, cookie: COOKIE, seeds: [a.target] } }, tempDir()));
    const upLine = `[${aName}] nodeup ${bName}`;
    await waitUntil(() => linesOf(a).includes(upLine) && linesOf(b).includes(`[${bName}] nodeup ${aName}`), 10_000, () => a.stderr() + b.stderr());
    b.child.kill('SIGTERM');
    await ended(b, 15_000);
    const downLine = `[${aName}] nodedown ${bName}: it disconnected`;
    await waitUntil(() => linesOf(a).includes(downLine), 10_000, () => a.stderr());
    expect(linesOf(a).filter((l) => l === upLine)).toHaveLength(1);
    expect(linesOf(a).filter((l) => l === downLine)).toHaveLength(1);
    expect(linesOf(b).filter((l) => l.includes('nodeup'))).toEqual([`[${bName}] nodeup ${aName}`]);
    for (const p of [a, b]) {
      const lines = linesOf(p);
      expect(new Set(lines).size, lines.join('\n')).toBe(lines.length);
    }
  });

  it('says an application started once (the progress report), not twice', async () => {
    const n = await startNode();
    expect(linesOf(n).filter((l) => /application fixture started/.test(l))).toEqual([`[${n.name}] progress: application fixture started`]);
  });

  // Scenario: three tries with a wrong cookie from the same address: one line, and a summary
  // of the rest (here when the node stops; otherwise at the end of the minute).
  it('logs refused connections once per peer address, then a summary with the count', async () => {
    const n = await startNode();
    for (let i = 0; i < 3; i++) expect((await rigil(['rpc', n.target, 'ping', '--cookie', 'not-the-cookie'])).code).toBe(4);
    const refused = (): string[] => linesOf(n).filter((l) => l.includes('does not know our cookie') || l.includes('refused (ERR_BAD_COOKIE)'));
    // Each rpc run dials up to twice; every refusal after the first is counted, not logged.
    expect(refused()).toHaveLength(1);
    expect(refused()[0]).toContain('(127.0.0.1) closed:');
    n.child.kill('SIGTERM');
    await ended(n, 15_000);
    const lines = refused();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^\\[${n.name.replace(/\./g, '\\.')}\\] dist: [2-9] more connections refused \\(ERR_BAD_COOKIE\\) from 127\\.0\\.0\\.1 in the last [\\d.]+ s$`));
  });
});

describe('--log-format json', () => {
  /** Parses every stderr line as JSON (fails the test on one that is not). */
  function jsonLines(p: Proc): Array<Record<string, unknown>> {
    return linesOf(p).map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line: ${l}`);
      }
    });
  }

  it('writes every log line as one JSON object {ts, level, ns, msg, ...}, debug lines and reports included, none twice', async () => {
    const dir = tempDir();
    const name = freshName('j');
    const n = await startWith(name, writeConfig({ node: { name, port: 0, cookie: COOKIE } }, dir), '', ['--log-format', 'json'], { DEBUG: 'rigil:dist' });
    expect((await rigil(['rpc', n.target, 'ping', '--cookie', 'not-the-cookie'])).code).toBe(4);
    expect((await rigil(['rpc', n.target, 'ping', '--cookie', COOKIE])).code).toBe(0);
    await waitUntil(() => jsonLines(n).some((l) => typeof l.msg === 'string' && l.msg.startsWith('nodedown ')), 10_000, () => n.stderr());
    const lines = jsonLines(n);
    for (const l of lines) {
      expect(Object.keys(l).slice(0, 4)).toEqual(['ts', 'level', 'ns', 'msg']);
      expect(Number.isNaN(Date.parse(l.ts as string))).toBe(false);
      expect(['debug', 'info', 'warn', 'error']).toContain(l.level);
      expect(l.ns).toMatch(/^rigil:/);
      expect(typeof l.msg).toBe('string');
      for (const v of Object.values(l)) expect(['string', 'number', 'boolean']).toContain(typeof v);
    }
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', ns: 'rigil:cli', msg: expect.stringContaining('the cookie is 15 characters long') }));
    expect(lines).toContainEqual(expect.objectContaining({ level: 'info', ns: 'rigil:cli', msg: expect.stringMatching(/^listening on ws:\/\/127\.0\.0\.1:/), port: n.port }));
    // The refusal: a report with its fields, once (its debug line is not written again).
    const refused = lines.filter((l) => typeof l.msg === 'string' && l.msg.includes('does not know our cookie'));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ level: 'warn', ns: 'rigil:dist', node: name, code: 'ERR_BAD_COOKIE', address: '127.0.0.1' });
    // The successful probe: nodeup and nodedown lines with the peer, and the library's debug lines.
    expect(lines).toContainEqual(expect.objectContaining({ level: 'info', ns: 'rigil:cli', event: 'nodeup', hidden: true, msg: expect.stringMatching(/^nodeup rigil-\d+-[0-9a-f]+@127\.0\.0\.1 \(hidden\)$/) }));
    expect(lines).toContainEqual(expect.objectContaining({ level: 'debug', ns: 'rigil:dist', msg: expect.stringMatching(new RegExp(`^\\[${name.replace(/\./g, '\\.')}\\] nodeup rigil-`)) }));
    // The ready line is still on stdout, alone.
    expect(n.stdout().trim().split('\n')).toHaveLength(1);
  });

  it('the config key log.format does the same; a bad value is a config or usage error', async () => {
    const dir = tempDir();
    const name = freshName('k');
    const n = await startWith(name, writeConfig({ node: { name, port: 0, cookie: COOKIE }, log: { format: 'json' } }, dir));
    expect(jsonLines(n)).toContainEqual(expect.objectContaining({ ns: 'rigil:cli', msg: expect.stringMatching(/^listening on /) }));
    const badKey = await rigil(['start', writeConfig({ node: { name: freshName('x'), port: 0, cookie: COOKIE }, log: { format: 'xml' } })]);
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toContain('ERR_CONFIG');
    expect(badKey.stderr).toContain('log.format');
    const badFlag = await rigil(['status', n.target, '--cookie', COOKIE, '--log-format', 'xml']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('--log-format must be one of text, json');
  });
});

/** Polls `cond` every few ms until it holds, failing after `ms` with `what()`. */
async function waitUntil(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
