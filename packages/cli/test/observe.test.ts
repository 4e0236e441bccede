/**
 * The observe server (src/observe/*) without a browser: two `DistNode`s of this process, an
 * `ObserveServer` on a hidden node, a `ws` client standing in for the page. Access (one-time
 * token → session cookie, 401 without it, Host and Origin checks, the metrics bearer), the
 * pushed view (nodes, peers learnt through `node.peers`, a node going down), the process page
 * and the tree the page follows, the kill action, and `/metrics`.
 */
import { get } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { genServer, supervisor, type ApplicationSpec, type SupervisorBehaviour } from '@rigil/core';
import { DistNode, installControlBuiltins } from '@rigil/net';
import { WebSocket } from 'ws';
import type { ClusterView } from '../src/observe/collector.js';
import { renderObserveMetrics } from '../src/observe/metrics.js';
import { ObserveServer } from '../src/observe/server.js';
import { main } from '../src/main.js';

const COOKIE = 'observe_test_cookie';
let seq = 0;
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

async function node(seeds: string[] = []): Promise<DistNode> {
  const n = await DistNode.start({ name: `obs${process.pid}x${seq++}@127.0.0.1`, cookie: COOKIE, port: 0, seeds });
  cleanups.push(() => n.stop());
  return n;
}

async function until<T>(f: () => T | undefined | Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const counter: genServer.GenServerBehaviour<number> & { name: string } = {
  name: 'Counter',
  init: () => ({ ok: 0 }),
  handleCall: (_r, _f, s) => ({ reply: s, state: s }),
};
const sup: SupervisorBehaviour = {
  init: () => ({ flags: { strategy: 'one_for_one', intensity: 5, period: 5 }, children: [supervisor.worker('counter', counter, undefined, { name: 'counter' })] }),
};
const app: ApplicationSpec = { name: 'tally', mod: { start: (_t, _a, self) => supervisor.startLink(self, sup, undefined) } };

/** A cluster a–b, `b` running `tally`, and an observe server pointed at `a`. */
async function setup(): Promise<{ a: DistNode; b: DistNode; server: ObserveServer }> {
  const a = await node();
  const b = await node([`${a.name}:${a.port}`]);
  await until(() => (a.nodes().includes(b.name) ? true : undefined), 'a and b connected');
  installControlBuiltins(b);
  b.application.load(app);
  expect(await b.application.start('tally')).toBe('ok');
  const probe = await DistNode.start({ name: `observer${process.pid}x${seq++}@127.0.0.1`, cookie: COOKIE, hidden: true, listen: false, seeds: [`${a.name}:${a.port}`] });
  cleanups.push(() => probe.stop());
  expect(await probe.connect(a.name)).toBe(true);
  const server = await ObserveServer.start({ probe, target: a.name });
  cleanups.push(() => server.stop());
  return { a, b, server };
}

/** Exchanges the one-time token for the session cookie. */
async function login(server: ObserveServer): Promise<string> {
  const r = await fetch(server.url, { redirect: 'manual' });
  expect(r.status).toBe(303);
  expect(r.headers.get('location')).toBe('/');
  const cookie = r.headers.get('set-cookie')!;
  expect(cookie).toMatch(/HttpOnly; SameSite=Strict/);
  return cookie.split(';')[0]!;
}

/** A page stand-in: a WebSocket with the session, collecting the messages. */
async function page(server: ObserveServer, cookie: string): Promise<{ ws: WebSocket; messages: Array<Record<string, any>> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, { headers: { cookie, origin: server.origin } });
  cleanups.push(() => ws.terminate());
  const messages: Array<Record<string, any>> = [];
  ws.on('message', (d) => messages.push(JSON.parse(String(d)) as Record<string, any>));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, messages };
}

/** The status of GET / with exactly these headers (fetch cannot set Host). */
function status(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/', headers, setHost: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).once('error', reject);
  });
}

/** Whether a WebSocket upgrade with these headers is refused (403) rather than opened. */
function refused(server: ObserveServer, headers: Record<string, string>): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, { headers });
    ws.once('open', () => {
      ws.terminate();
      resolve(false);
    });
    ws.once('unexpected-response', (_req, res) => {
      ws.terminate();
      resolve(res.statusCode === 403);
    });
    ws.once('error', () => resolve(true));
  });
}

const lastView = (messages: Array<Record<string, any>>): ClusterView | undefined => messages.filter((m) => m.type === 'view').at(-1)?.view as ClusterView | undefined;

describe('rigil observe: the server', () => {
  it('lets in only the one-time token’s session, on its own Host and Origin; /metrics takes the bearer', async () => {
    const { server } = await setup();
    const origin = server.origin;
    expect((await fetch(`${origin}/`)).status).toBe(401);
    expect((await fetch(`${origin}/style.css`)).status).toBe(401);
    expect((await fetch(`${origin}/?token=wrong`)).status).toBe(401);
    expect((await fetch(`${origin}/metrics`)).status).toBe(401);
    expect((await fetch(`${origin}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const cookie = await login(server);
    // Spent: the same URL no longer works.
    expect((await fetch(server.url, { redirect: 'manual' })).status).toBe(401);
    const index = await fetch(`${origin}/`, { headers: { cookie } });
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await index.text()).toContain('<script type="module" src="/app.js">');
    expect((await fetch(`${origin}/app.js`, { headers: { cookie } })).headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(`${origin}/../package.json`, { headers: { cookie } })).status).toBe(404);
    expect((await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${server.metricsToken}` } })).status).toBe(200);
    expect((await fetch(`${origin}/metrics`, { headers: { cookie } })).status).toBe(200);
    // Another Host (DNS rebinding) is refused even with the session.
    expect(await status(server.port, { cookie, host: `evil.example:${server.port}` })).toBe(403);
    expect(await status(server.port, { cookie, host: `localhost:${server.port}` })).toBe(200);
    // The socket: the session and the page's own Origin, both needed.
    expect(await refused(server, { origin })).toBe(true);
    expect(await refused(server, { cookie, origin: 'http://evil.example' })).toBe(true);
    expect(await refused(server, { cookie, origin })).toBe(false);
  });

  it('pushes the cluster, follows a node going down, serves the process page and tree, and kills a process', async () => {
    const { b, server } = await setup();
    const cookie = await login(server);
    const { ws, messages } = await page(server, cookie);
    // b was learnt through a's `node.peers`, dialled, and polled: its application shows.
    const view = await until(() => {
      const v = lastView(messages);
      return v?.nodes.find((n) => n.name === b.name && n.up && n.applications.some((x) => x.name === 'tally')) !== undefined ? v : undefined;
    }, 'b up with tally in the pushed view');
    expect(view.nodes.find((n) => n.name === b.name)!.controls).toBe(true);
    expect(view.nodes.find((n) => n.name === server.collector.target)!.peers).toEqual([b.name]);

    ws.send(JSON.stringify({ type: 'processes', node: b.name, sort: 'reductions', offset: 0 }));
    const procs = await until(() => messages.find((m) => m.type === 'processes' && m.node === b.name), 'a process page of b');
    expect(procs.page.sort).toBe('reductions');
    const row = (procs.page.processes as Array<{ pid: string; name: string | null }>).find((p) => p.name === 'counter')!;
    expect(row).toBeDefined();

    ws.send(JSON.stringify({ type: 'tree', node: b.name, app: 'tally' }));
    const tree = await until(() => messages.find((m) => m.type === 'tree' && m.app === 'tally'), "tally's tree");
    expect(tree.tree.top.children[0]).toMatchObject({ id: 'counter', name: 'counter', state: 'waiting' });

    // Kill: an exit signal `kill` from the hidden node; the supervisor restarts counter under a new pid.
    ws.send(JSON.stringify({ type: 'action', id: 7, action: 'kill', node: b.name, pid: row.pid }));
    expect(await until(() => messages.find((m) => m.type === 'result' && m.id === 7), 'the kill result')).toMatchObject({ ok: true });
    await until(() => {
      const p = b.whereis('counter');
      return p !== undefined && String(p) !== row.pid ? true : undefined;
    }, 'counter restarted under another pid');
    // A pid of another node, or a node that does not answer, is refused.
    ws.send(JSON.stringify({ type: 'action', id: 8, action: 'kill', node: b.name, pid: `<${server.collector.target}.1.1>` }));
    expect(await until(() => messages.find((m) => m.type === 'result' && m.id === 8), 'the refused kill')).toMatchObject({ ok: false });

    // 10,000 processes on b: the page stays a page (50 rows, sorted on b), and pages through them.
    const gate = b.spawn(async (self) => {
      await self.receive();
    });
    const many = Array.from({ length: 10_000 }, () =>
      b.spawn(async (self) => {
        await self.receive();
      }),
    );
    ws.send(JSON.stringify({ type: 'processes', node: b.name, sort: 'mailbox', offset: 9_990 }));
    const big = await until(() => messages.find((m) => m.type === 'processes' && m.page.offset === 9_990), 'the last page of 10,000 processes');
    expect(big.page.total).toBeGreaterThanOrEqual(10_001);
    expect(big.page.processes).toHaveLength(Math.min(50, big.page.total - 9_990));
    for (const p of [gate, ...many]) b.exit(p, 'kill');

    // b goes down: the next view marks it down (no page reload: the same socket).
    await b.stop();
    await until(() => (lastView(messages)?.nodes.find((n) => n.name === b.name)?.up === false ? true : undefined), 'b marked down');
    const metrics = await (await fetch(`${server.origin}/metrics`, { headers: { cookie } })).text();
    expect(metrics).toContain('rigil_observe_nodes{state="up"} 1');
    expect(metrics).toContain('rigil_observe_nodes{state="down"} 1');
    expect(metrics).toContain(`rigil_observe_node_up{node="${b.name}"} 0`);
    expect(metrics).toMatch(new RegExp(`^rigil_processes\\{node="${server.collector.target}"\\} \\d+$`, 'm'));
  });
});

describe('rigil observe: /metrics text', () => {
  it('counts moves per application and cause, and merges the nodes’ families under one HELP/TYPE each', () => {
    const view = {
      target: 'a@h',
      observer: 'o@h',
      at: '',
      nodes: [
        { name: 'a@h', up: true, peers: ['b@h'] },
        { name: 'b@h', up: true, peers: ['a@h'] },
        { name: 'c@h', up: false, peers: [] },
      ],
      applications: [],
      global: { names: [], locks: [] },
      events: [],
    } as unknown as ClusterView;
    const moves = new Map([['proxima', new Map([['failover', 1], ['takeover', 2]])]]);
    const nodeText = (n: number): string => `# HELP rigil_processes Live processes.\n# TYPE rigil_processes gauge\nrigil_processes ${n}\n# HELP rigil_x_total X.\n# TYPE rigil_x_total counter\nrigil_x_total{peer="q\\"r"} 3\n`;
    const text = renderObserveMetrics(view, moves, [
      { node: 'a@h', text: nodeText(10) },
      { node: 'b@h', text: nodeText(20) },
      { node: 'c@h', text: undefined },
    ]);
    expect(text).toContain('rigil_observe_nodes{state="up"} 2\nrigil_observe_nodes{state="down"} 1');
    expect(text).toContain('rigil_observe_connections 1');
    expect(text).toContain('rigil_observe_dist_ac_failovers_total{application="proxima"} 1');
    expect(text).toContain('rigil_observe_dist_ac_takeovers_total{application="proxima"} 2');
    expect(text).toContain('rigil_observe_dist_ac_reconciles_total{application="proxima"} 0');
    expect(text).toContain('rigil_observe_dist_ac_moves_total{application="proxima",cause="takeover"} 2');
    expect(text.match(/# TYPE rigil_processes gauge/g)).toHaveLength(1);
    expect(text).toContain('# TYPE rigil_processes gauge\nrigil_processes{node="a@h"} 10\nrigil_processes{node="b@h"} 20\n');
    expect(text).toContain('rigil_x_total{node="b@h",peer="q\\"r"} 3');
  });
});

describe('rigil observe: usage', () => {
  /** Runs `rigil …` in-process; resolves with the exit code and stderr. */
  async function rigil(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
    try {
      return { code: await main(argv), stdout, stderr };
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  }

  it('--help describes it; a missing node, a bad --port or --host, an unknown option exit 2; an unreachable node exits 3', async () => {
    const help = await rigil(['observe', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('GET /metrics');
    expect((await rigil(['--help'])).stdout).toContain('rigil observe <name@host:port>');
    for (const argv of [
      ['observe', '--cookie', 'c'],
      ['observe', 'a@127.0.0.1:1', '--cookie', 'c', '--port', '70000'],
      ['observe', 'a@127.0.0.1:1', '--cookie', 'c', '--port', 'x'],
      ['observe', 'a@127.0.0.1:1', '--cookie', 'c', '--host', 'a b'],
      ['observe', 'a@127.0.0.1:1', '--cookie', 'c', '--json'],
    ]) {
      const r = await rigil(argv);
      expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
      expect(r.stderr).toContain('ERR_USAGE');
    }
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const down = await rigil(['observe', `a@127.0.0.1:${port}`, '--cookie', COOKIE]);
    expect(down.code).toBe(3);
    expect(down.stderr).toContain('ERR_NOT_LISTENING');
  });
});
