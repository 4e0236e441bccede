/**
 * `rigil processes`, `rigil tree`, `rigil state` and `rigil metrics` (src/inspect.ts), run
 * in-process (`main(argv)`) against a `DistNode` of this process on port 0; the command
 * connects as a hidden node as it does for real. Output is captured from `process.stdout`.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { genServer, supervisor, type ApplicationSpec, type SupervisorBehaviour } from '@rigil/core';
import { DistNode, type ApplicationTree, type ProcessPage, type ProcessState } from '@rigil/net';
import { main } from '../src/main.js';

const COOKIE = 'inspect_test_cookie';
const nodes: DistNode[] = [];
let seq = 0;

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

async function startNode(): Promise<{ node: DistNode; target: string }> {
  const node = await DistNode.start({ name: `inspect${process.pid}x${seq++}@127.0.0.1`, cookie: COOKIE, port: 0 });
  nodes.push(node);
  return { node, target: `${node.name}:${node.port}` };
}

/** Runs `rigil …` in-process; resolves with the exit code and what it printed. */
async function rigil(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    stdout += String(s);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  });
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const counter: genServer.GenServerBehaviour<{ n: number; note: string }> & { name: string } = {
  name: 'Counter',
  init: () => ({ ok: { n: 41, note: 'line\u001b[31m' } }),
  handleCall: (_r, _f, s) => ({ reply: s.n, state: s }),
};

const sup: SupervisorBehaviour = {
  init: () => ({ flags: { strategy: 'one_for_one', intensity: 5, period: 5 }, children: [supervisor.worker('counter', counter, undefined, { name: 'counter' })] }),
};

const app: ApplicationSpec = { name: 'tally', mod: { start: (_t, _a, self) => supervisor.startLink(self, sup, undefined) } };

describe('rigil processes | tree | state | metrics', () => {
  it('rigil processes prints a table, and --json a page', async () => {
    const { node, target } = await startNode();
    const idle = node.spawn(async (self) => void (await self.receive((m) => m === 'never')));
    node.register('idle_one', idle);
    for (let i = 0; i < 7; i++) node.send(idle, i);
    const table = await rigil(['processes', target, '--cookie', COOKIE, '--limit', '5']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^PID\s+NAME\s+BEHAVIOUR\s+STATUS\s+MAILBOX/);
    expect(lines[1]).toContain('idle_one');
    expect(lines[1]).toMatch(/\s7\s/);
    expect(lines.at(-1)).toMatch(/^1–5 of \d+ processes, by mailbox$/);
    const json = await rigil(['processes', target, '--cookie', COOKIE, '--json', '--sort', 'memory', '--limit', '2']);
    const page = JSON.parse(json.stdout) as ProcessPage;
    expect(page).toMatchObject({ sort: 'memory', limit: 2, offset: 0 });
    expect(page.processes).toHaveLength(2);
    expect(page.total).toBeGreaterThan(2);
    const bad = await rigil(['processes', target, '--cookie', COOKIE, '--sort', 'name']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--sort');
  });

  it('rigil tree draws the supervision tree, and --json gives it', async () => {
    const { node, target } = await startNode();
    expect(node.application.load(app)).toBe('ok');
    expect(await node.application.start('tally')).toBe('ok');
    const drawn = await rigil(['tree', target, 'tally', '--cookie', COOKIE]);
    expect(drawn.code).toBe(0);
    const lines = drawn.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`tally on ${node.name}`);
    expect(lines[1]).toMatch(/^\(top\)\s+<.*>\s+supervisor\s+waiting\s+restarts 0$/);
    expect(lines[2]).toMatch(/^└─ counter\s+<.*>\s+name counter\s+worker\s+permanent\s+waiting\s+module Counter$/);
    const json = JSON.parse((await rigil(['tree', target, 'tally', '--cookie', COOKIE, '--json'])).stdout) as ApplicationTree;
    expect(json.top!.children![0]).toMatchObject({ id: 'counter', name: 'counter', restart: 'permanent', module: 'Counter' });
    expect((await rigil(['tree', target, 'other', '--cookie', COOKIE])).stdout.trim()).toBe(`other does not run on ${node.name}`);
  });

  it('rigil state prints the state with strings escaped, and --json the bounded value', async () => {
    const { node, target } = await startNode();
    expect(node.application.load(app)).toBe('ok');
    expect(await node.application.start('tally')).toBe('ok');
    const shown = await rigil(['state', target, 'counter', '--cookie', COOKIE]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('gen_server:Counter');
    expect(shown.stdout).toContain('n: 41');
    expect(shown.stdout).toContain('"line\\u001b[31m"');
    expect(shown.stdout).not.toContain('\u001b');
    const json = JSON.parse((await rigil(['state', target, String(node.whereis('counter')), '--cookie', COOKIE, '--json'])).stdout) as ProcessState;
    expect(json).toMatchObject({ name: 'counter', state: { n: 41 }, truncated: false });
    const missing = await rigil(['state', target, 'nobody', '--cookie', COOKIE]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no process');
  });

  it('rigil metrics prints Prometheus text', async () => {
    const { target } = await startNode();
    const r = await rigil(['metrics', target, '--cookie', COOKIE]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('# TYPE rigil_processes gauge');
    expect(r.stdout).toMatch(/^rigil_connected_nodes\{kind="hidden"\} 1$/m);
  });
});
