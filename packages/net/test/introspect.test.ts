/**
 * Introspection over rpc (src/introspect.ts), metrics (src/metrics.ts), the event hook
 * (src/events.ts) and bounded values (src/bounded.ts): two nodes of this OS process over
 * loopback; b is inspected from a, as `rigil processes|tree|state` and an observer do.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { genServer, Pid, supervisor, type ApplicationSpec, type ChildSpec, type GenServerBehaviour, type SupervisorBehaviour } from '@rigil/core';
import { boundedValue, escapeLabel, parsePid, RpcError, serveMetrics, type ApplicationTree, type ProcessDetail, type ProcessPage, type ProcessState, type RigilEvent } from '../src/index.js';
import { useCluster, waitFor } from './helpers.js';

const cluster = useCluster();

/** A gen_server callback module with a name (a class instance) that keeps a counter and a secret. */
class Vault implements GenServerBehaviour<{ count: number; secret: string; big?: unknown }, { big?: unknown }> {
  init(args: { big?: unknown }) {
    return { ok: { count: 0, secret: 'hunter2', ...(args.big !== undefined ? { big: args.big } : {}) } };
  }
  handleCall(_req: unknown, _from: unknown, s: { count: number; secret: string }) {
    return { reply: s.count + 1, state: { ...s, count: s.count + 1 } };
  }
  handleCast(_msg: unknown, s: { count: number; secret: string }) {
    return { noreply: s };
  }
  formatStatus(s: { count: number; secret: string; big?: unknown }) {
    return { ...s, secret: '***' };
  }
}

async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RpcError) return e;
    throw e;
  }
  throw new Error('the rpc did not fail');
}

/** A small parser of the Prometheus text format: samples by `name{labels}`, and the TYPE of each family. */
function parseMetrics(text: string): { samples: Map<string, number>; types: Map<string, string> } {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const t = /^# TYPE (\w+) (counter|gauge)$/.exec(line);
    if (t !== null) {
      types.set(t[1]!, t[2]!);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const m = /^(\w+)(\{(?:\w+="(?:[^"\\\n]|\\.)*",?)*\})? (-?[\d.e+]+)$/.exec(line);
    if (m === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    if (!types.has(m[1]!)) throw new Error(`sample before its TYPE: ${line}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return { samples, types };
}

describe('process.info', () => {
  // Scenario: a asks b about a gen_server by pid, by pid string and by registered name; an unknown name and a dead pid give null.
  it('accepts a pid, a pid string or a registered name, and gives null for unknown ones', async () => {
    const [a, b] = await cluster.startConnected(2);
    const r = await genServer.start(b!, new Vault(), {}, { name: 'vault' });
    if (typeof r !== 'object' || !('ok' in r)) throw new Error('vault did not start');
    expect(await genServer.call(b!, 'vault', 'x')).toBe(1);
    expect(await genServer.call(b!, 'vault', 'x')).toBe(2);
    const byName = (await a!.rpc.call(b!.name, 'process.info', ['vault'])) as ProcessDetail;
    expect(byName).toMatchObject({ registeredName: 'vault', behaviour: 'gen_server', module: 'Vault', status: 'waiting', messageQueueLen: 0 });
    expect(byName.messagesHandled).toBe(2);
    expect(byName.memory).toBeGreaterThan(0);
    const byString = (await a!.rpc.call(b!.name, 'process.info', [String(r.ok)])) as ProcessDetail;
    expect(String(byString.pid)).toBe(String(r.ok));
    const byPid = (await a!.rpc.call(b!.name, 'process.info', [byName.pid])) as ProcessDetail;
    expect(byPid.registeredName).toBe('vault');
    expect(await a!.rpc.call(b!.name, 'process.info', ['nobody'])).toBeNull();
    expect(await a!.rpc.call(b!.name, 'process.info', [`<${b!.name}.999999.1>`])).toBeNull();
    // A pid string of another node names nothing here.
    expect(await a!.rpc.call(b!.name, 'process.info', [`<${a!.name}.1.1>`])).toBeNull();
  });

  it('parses pid strings strictly', () => {
    expect(parsePid('<a@127.0.0.1.12.3456>')).toEqual({ node: 'a@127.0.0.1', id: 12, creation: 3456 });
    for (const bad of ['a@h.1.2', '<a@h.1>', '<a@h.1.2', '<a.1.2>', '< a@h.1.2>', '<a@h.x.2>', `<a@${'h'.repeat(400)}.1.2>`, '<a@h@i.1.2>']) expect(parsePid(bad)).toBeUndefined();
  });
});

describe('processes', () => {
  // Scenario: b has a process with 50 unread messages; a lists b's processes sorted by mailbox, pages through them and gets the total.
  it('lists a sorted page with the total, and pages', async () => {
    const [a, b] = await cluster.startConnected(2);
    const hoarder = b!.spawn(async (self) => {
      await self.receive((m) => m === 'never');
    });
    b!.register('hoarder', hoarder);
    for (let i = 0; i < 50; i++) b!.send(hoarder, { i });
    const page = (await a!.rpc.call(b!.name, 'processes', [{ sort: 'mailbox', limit: 3 }])) as ProcessPage;
    // The rpc's own worker process may or may not be counted (it runs during the call).
    expect(Math.abs(page.total - b!.processCount)).toBeLessThanOrEqual(1);
    expect(page.processes).toHaveLength(3);
    expect(page.processes[0]).toMatchObject({ name: 'hoarder', behaviour: 'function', mailbox: 50, status: 'waiting' });
    expect(page.processes[0]!.memory).toBeGreaterThan(page.processes[1]!.memory);
    const mailboxes = page.processes.map((p) => p.mailbox);
    expect([...mailboxes].sort((x, y) => y - x)).toEqual(mailboxes);
    const rest = (await a!.rpc.call(b!.name, 'processes', [{ sort: 'mailbox', offset: 3, limit: 1000 }])) as ProcessPage;
    expect(rest.processes).toHaveLength(rest.total - 3);
    const all = new Set([...page.processes, ...rest.processes].map((p) => p.pid));
    expect(all.size).toBe(page.processes.length + rest.processes.length);
    const byMemory = (await a!.rpc.call(b!.name, 'processes', [{ sort: 'memory', limit: 1 }])) as ProcessPage;
    expect(byMemory.processes[0]!.name).toBe('hoarder');
    const byReductions = (await a!.rpc.call(b!.name, 'processes', [{ sort: 'reductions' }])) as ProcessPage;
    expect(byReductions.limit).toBe(100);
    const reds = byReductions.processes.map((p) => p.reductions);
    expect([...reds].sort((x, y) => y - x)).toEqual(reds);
  });
});

const worker = (id: string): ChildSpec => supervisor.worker(id, new Vault(), {}, { restart: 'permanent' });

const innerSup: SupervisorBehaviour = {
  init: () => ({ flags: { strategy: 'one_for_one', intensity: 10, period: 10 }, children: [worker('w1'), { ...worker('w2'), restart: 'transient' }] }),
};

class TopSup implements SupervisorBehaviour {
  init() {
    return { flags: { strategy: 'one_for_one' as const, intensity: 10, period: 10 }, children: [worker('cache'), supervisor.supervisorChild('inner', innerSup, undefined)] };
  }
}

const shopSpec: ApplicationSpec = { name: 'shop', mod: { start: (_t, _a, self) => supervisor.startLink(self, new TopSup(), undefined, { name: 'shop_sup' }) } };

describe('application.tree', () => {
  // Scenario: b runs an application with a nested supervision tree; a worker is killed and restarted; a reads the tree from b.
  it('gives the supervision tree with children, restart types, states and restarts', async () => {
    const [a, b] = await cluster.startConnected(2);
    expect(b!.application.load(shopSpec)).toBe('ok');
    expect(await b!.application.start('shop')).toBe('ok');
    const events: RigilEvent[] = [];
    b!.onEvent((e) => events.push(e));
    const tree0 = (await a!.rpc.call(b!.name, 'application.tree', ['shop'])) as ApplicationTree;
    const inner0 = tree0.top!.children!.find((c) => c.id === 'inner')!;
    const w1 = inner0.children!.find((c) => c.id === 'w1')!;
    b!.exit(b!.internPid(b!.name, Number(parsePid(w1.pid!)!.id), parsePid(w1.pid!)!.creation), 'kill');
    await waitFor(() => events.some((e) => e.type === 'supervisor.restart'), 3000, 'restart event');
    const tree = (await a!.rpc.call(b!.name, 'application.tree', ['shop'])) as ApplicationTree;
    expect(tree.application).toBe('shop');
    const top = tree.top!;
    expect(top).toMatchObject({ name: 'shop_sup', type: 'supervisor', behaviour: 'supervisor', module: 'TopSup', restarts: 0 });
    expect(top.children!.map((c) => c.id)).toEqual(['cache', 'inner']);
    expect(top.children![0]).toMatchObject({ type: 'worker', restart: 'permanent', behaviour: 'gen_server', module: 'Vault' });
    const inner = top.children![1]!;
    expect(inner).toMatchObject({ type: 'supervisor', restart: 'permanent', restarts: 1 });
    expect(inner.children!.map((c) => [c.id, c.restart])).toEqual([['w1', 'permanent'], ['w2', 'transient']]);
    expect(inner.children![0]!.pid).not.toBe(w1.pid);
    expect(['waiting', 'running']).toContain(inner.children![0]!.state);
    const restart = events.find((e) => e.type === 'supervisor.restart');
    expect(restart).toMatchObject({ type: 'supervisor.restart', node: b!.name, childId: 'w1' });
    expect(await a!.rpc.call(b!.name, 'application.tree', ['nothing'])).toEqual({ application: 'nothing', node: b!.name, top: null });
  });
});

describe('process.state', () => {
  // Scenario: a reads the state of b's gen_server: formatStatus hides the secret; a huge state comes back cut and marked.
  it('gives the state through sys.getStatus, bounded', async () => {
    const [a, b] = await cluster.startConnected(2);
    await genServer.start(b!, new Vault(), {}, { name: 'small' });
    const small = (await a!.rpc.call(b!.name, 'process.state', ['small'])) as ProcessState;
    expect(small).toMatchObject({ name: 'small', behaviour: 'gen_server', module: 'Vault', state: { count: 0, secret: '***' }, truncated: false });
    const big = { list: Array.from({ length: 10_000 }, (_, i) => i), text: 'x'.repeat(100_000), deep: { a: { b: { c: { d: { e: { f: { g: { h: { i: 1 } } } } } } } } }, when: new Date(0), who: b!.systemPid };
    await genServer.start(b!, new Vault(), { big }, { name: 'big' });
    const s = (await a!.rpc.call(b!.name, 'process.state', ['big'])) as ProcessState;
    expect(s.truncated).toBe(true);
    const got = (s.state as { big: { list: unknown[]; text: { $string: string; length: number }; when: unknown; who: unknown } }).big;
    expect(got.list).toHaveLength(51);
    expect(got.list[50]).toEqual({ $more: 9950 });
    expect(got.text.length).toBe(100_000);
    expect(got.text.$string.length).toBeLessThanOrEqual(1000);
    expect(got.when).toEqual({ $date: '1970-01-01T00:00:00.000Z' });
    expect(got.who).toEqual({ $pid: String(b!.systemPid) });
    expect(JSON.stringify(s).length).toBeLessThan(80_000);
    expect(await a!.rpc.call(b!.name, 'process.state', ['nobody'])).toBeNull();
    const fn = b!.spawn(async (self) => void (await self.receive()));
    b!.register('plain', fn);
    expect((await rpcError(a!.rpc.call(b!.name, 'process.state', ['plain']))).code).toBe('ERR_RPC_BAD_ARGS');
  });

  it('bounds depth, entries, strings and the whole, and runs no getter', () => {
    let ran = false;
    const tricky = { get g() { ran = true; return 1; }, n: NaN, u: undefined, b: 10n, m: new Map([[1, 'one']]), s: new Set([1]), c: new (class Point { x = 1; })() };
    expect(boundedValue(tricky).value).toEqual({ g: { $getter: true }, n: { $number: 'NaN' }, u: { $undefined: true }, b: { $bigint: '10' }, m: { $map: [[1, 'one']], size: 1 }, s: { $set: [1], size: 1 }, c: { $class: 'Point', fields: { x: 1 } } });
    expect(ran).toBe(false);
    expect(boundedValue({ a: { b: { c: 1 } } }, { maxDepth: 2 })).toEqual({ value: { a: { b: { $truncated: 'depth' } } }, truncated: true });
    const wide = boundedValue(Array.from({ length: 100_000 }, () => ({ k: 'v'.repeat(50) })));
    expect(wide.truncated).toBe(true);
    const huge = boundedValue(Array.from({ length: 5000 }, () => 'y'.repeat(1000)), { maxEntries: 5000 });
    expect(JSON.stringify(huge.value).length).toBeLessThan(70_000 + 5000 * 30);
    expect(huge.truncated).toBe(true);
  });
});

describe('metrics', () => {
  it('escapes label values as the exposition format requires', () => {
    expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
  });

  // Scenario: a and b exchange messages; b's metrics show the traffic per peer, process and mailbox figures, nodeups, and they move.
  it('renders Prometheus text whose counters move', async () => {
    const [a, b] = await cluster.startConnected(2);
    const before = parseMetrics((await a!.rpc.call(b!.name, 'metrics')) as string);
    expect(before.types.get('rigil_dist_peer_bytes_received_total')).toBe('counter');
    expect(before.types.get('rigil_processes')).toBe('gauge');
    expect(before.samples.get('rigil_connected_nodes{kind="visible"}')).toBe(1);
    expect(before.samples.get('rigil_nodeup_total')).toBeGreaterThanOrEqual(1);
    const peer = `{peer="${a!.name}"}`;
    const inBefore = before.samples.get(`rigil_dist_peer_messages_received_total${peer}`)!;
    const sink = b!.spawn(async (self) => void (await self.receive((m) => m === 'never')));
    b!.register('sink', sink);
    for (let i = 0; i < 20; i++) a!.send(['sink', b!.name], { i });
    await waitFor(() => b!.processInfo(sink)?.messageQueueLen === 20, 3000, 'sink filled');
    const after = parseMetrics((await a!.rpc.call(b!.name, 'metrics')) as string);
    expect(after.samples.get(`rigil_dist_peer_messages_received_total${peer}`)!).toBeGreaterThanOrEqual(inBefore + 20);
    expect(after.samples.get(`rigil_dist_peer_bytes_received_total${peer}`)!).toBeGreaterThan(before.samples.get(`rigil_dist_peer_bytes_received_total${peer}`)!);
    expect(after.samples.get('rigil_mailbox_messages')!).toBeGreaterThanOrEqual(20);
    expect(Math.abs(after.samples.get('rigil_processes')! - b!.processCount)).toBeLessThanOrEqual(1);
    expect(after.samples.get('rigil_dist_messages_received_total')!).toBeGreaterThanOrEqual(after.samples.get(`rigil_dist_peer_messages_received_total${peer}`)!);
  });

  // Scenario: b serves GET /metrics on 127.0.0.1; a supervisor there restarts a child; the scrape shows it; other paths are 404.
  it('serves GET /metrics and counts supervisor restarts', async () => {
    const [b] = await cluster.startConnected(1);
    const r = await supervisor.start(b!, innerSup, undefined, { name: 'tricky"sup\\' });
    if (typeof r !== 'object' || !('ok' in r)) throw new Error('no supervisor');
    const server = await serveMetrics(b!, { port: 0 });
    cluster.onCleanup(() => server.close());
    const get = (path: string): Promise<{ status: number; body: string; type: string | undefined }> =>
      new Promise((resolve, reject) => {
        request({ host: '127.0.0.1', port: server.port, path }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, type: res.headers['content-type'] }));
        }).on('error', reject).end();
      });
    const children = await supervisor.whichChildren(b!, r.ok);
    b!.exit(children[0]!.pid as Pid, 'kill');
    await waitFor(() => b!.events.counters.restarts === 1, 3000, 'one restart');
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toContain('text/plain; version=0.0.4');
    const m = parseMetrics(res.body);
    expect(m.samples.get(`rigil_supervisor_restarts_total{supervisor="tricky\\"sup\\\\",pid="${String(r.ok)}"}`)).toBe(1);
    expect(m.samples.get('rigil_restarts_total')).toBe(1);
    expect((await get('/other')).status).toBe(404);
  });
});

describe('onEvent', () => {
  // Scenario: b subscribes; a third node connects and stops; b sees nodeup then nodedown for it.
  it('carries nodeup and nodedown', async () => {
    const [b] = await cluster.startConnected(1);
    const events: RigilEvent[] = [];
    const off = b!.onEvent((e) => events.push(e));
    const c = await cluster.start('c', { seeds: [cluster.seed(b!)] });
    await c.connect(b!.name);
    await waitFor(() => events.some((e) => e.type === 'nodeup' && e.peer === c.name), 3000, 'nodeup');
    await c.stop();
    await waitFor(() => events.some((e) => e.type === 'nodedown' && e.peer === c.name), 5000, 'nodedown');
    const down = events.find((e) => e.type === 'nodedown')!;
    expect(down).toMatchObject({ node: b!.name, hidden: false });
    off();
    const n = events.length;
    const d = await cluster.start('d', { seeds: [cluster.seed(b!)] });
    await d.connect(b!.name);
    await waitFor(() => b!.nodes().includes(d.name), 3000, 'd up');
    expect(events).toHaveLength(n);
  });
});
