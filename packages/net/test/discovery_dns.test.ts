/**
 * DNS discovery against a real DNS server: dnsmasq (installed from Debian's packages by
 * test/dnsmasq.sh when missing), started per test on a free port of 127.0.0.1 with records of
 * its own, and killed after it. Nodes listen on addresses of a loopback /24 of their own
 * (127.x.y.2…), all on one port, as pods of a Kubernetes StatefulSet behind a headless service.
 */
import { createServer, type AddressInfo } from 'node:net';
import { createSocket } from 'node:dgram';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '@rigil/core';
import { DistNode, WebSocketTransport, type DialOptions, type DistNodeOptions, type DnsDiscoveryOptions, type TransportConnection } from '../src/index.js';
import { ensureDnsmasq, startDnsmasq, type Dnsmasq, type HostRecords } from './dnsmasq.js';
import { waitFor } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

beforeAll(() => ensureDnsmasq(), 600_000);

/** A loopback /24 of this test file's own (other test files use 127.0.0.1). */
const NET = `127.${100 + Math.floor(Math.random() * 100)}.${1 + Math.floor(Math.random() * 250)}`;
const ip = (i: number): string => `${NET}.${i}`;
const QUERY = 'rigil.test';

/** A WebSocket transport that counts its dials by address. */
class CountingTransport extends WebSocketTransport {
  readonly dials = new Map<string, number>();
  override dial(address: string, options: DialOptions): TransportConnection {
    this.dials.set(address, (this.dials.get(address) ?? 0) + 1);
    return super.dial(address, options);
  }
}

interface Started {
  node: DistNode;
  transport: CountingTransport;
  reports: Report[];
}

async function dns(records: HostRecords, extra: Parameters<typeof startDnsmasq>[0] = {}): Promise<Dnsmasq> {
  const d = await startDnsmasq({ hosts: records, ...extra });
  cleanups.push(() => d.stop());
  return d;
}

/** Starts a node `rigil@<ip>` on `port`, with the dns strategy of `discovery` (none if null); stopped after the test. */
async function startNode(at: string, port: number, discovery: Partial<DnsDiscoveryOptions> | null, options: Partial<DistNodeOptions> = {}): Promise<Started> {
  const transport = new CountingTransport();
  const node = await DistNode.start({
    name: `rigil@${at}`,
    cookie: 'dns-test-cookie',
    port,
    transport,
    reconnect: { baseMs: 50, maxMs: 300 },
    ...(discovery !== null ? { discovery: { strategy: 'dns', query: QUERY, nodeBasename: 'rigil', pollMs: 200, ...discovery } } : {}),
    ...options,
  });
  cleanups.push(() => node.stop());
  const reports: Report[] = [];
  node.onReport((r) => {
    if (r.kind === 'discovery') reports.push(r);
  });
  return { node, transport, reports };
}

/** A TCP port free on every one of `ips` right now (the OS picks it on the first). */
async function freePort(ips: string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const servers = [createServer()];
    const port = await new Promise<number>((resolve, reject) => {
      servers[0]!.once('error', reject).listen(0, ips[0], () => resolve((servers[0]!.address() as AddressInfo).port));
    });
    let free = true;
    for (const a of ips.slice(1)) {
      const s = createServer();
      servers.push(s);
      free &&= await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false)).listen(port, a, () => resolve(true));
      });
    }
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
    if (free) return port;
  }
  throw new Error('no port free on every address');
}

/** Waits until each node is connected to exactly the others. */
async function meshed(nodes: DistNode[], what: string): Promise<void> {
  for (const n of nodes) {
    const others = nodes.filter((m) => m !== n).map((m) => m.name).sort();
    await waitFor(() => n.nodes().sort().join() === others.join(), 10_000, `${what}: ${n.name} connected to ${others.join(', ')}`);
  }
}

/** Resolves once every strategy of `nodes` has finished `n` more polls. */
async function polls(nodes: DistNode[], n: number): Promise<void> {
  const from = nodes.map((x) => x.discovery[0]!.stats.polls);
  await waitFor(() => nodes.every((x, i) => x.discovery[0]!.stats.polls >= from[i]! + n), 10_000, `${n} more polls`);
}

describe('dns discovery against dnsmasq', () => {
  it('three nodes form a full mesh from one DNS name (A records)', async () => {
    const server = await dns({ [QUERY]: [ip(2), ip(3), ip(4)] });
    const port = await freePort([ip(2), ip(3), ip(4)]);
    const nodes = [];
    for (const i of [2, 3, 4]) nodes.push((await startNode(ip(i), port, { server: server.server })).node);
    await meshed(nodes, 'mesh');
    for (const n of nodes) {
      expect(n.discovery[0]!.nodes()).toEqual([`rigil@${ip(2)}`, `rigil@${ip(3)}`, `rigil@${ip(4)}`].sort());
      expect(n.net.discoveredNodes()).toEqual(nodes.filter((m) => m !== n).map((m) => m.name).sort());
      expect(n.discovery[0]!.stats.failures).toBe(0);
    }
  });

  it('a record that appears later is dialled', async () => {
    const server = await dns({ [QUERY]: [ip(2), ip(3)] });
    const port = await freePort([ip(2), ip(3), ip(4)]);
    const a = (await startNode(ip(2), port, { server: server.server })).node;
    const b = (await startNode(ip(3), port, { server: server.server })).node;
    // c has no discovery and no seeds: only a dial from a or b can connect it.
    const c = (await startNode(ip(4), port, null)).node;
    await meshed([a, b], 'a and b');
    await polls([a, b], 2);
    expect(c.nodes()).toEqual([]);
    await server.setHosts({ [QUERY]: [ip(2), ip(3), ip(4)] });
    await meshed([a, b, c], 'after the record appeared');
    expect(a.net.discoveredNodes()).toContain(c.name);
    expect(b.net.discoveredNodes()).toContain(c.name);
  });

  it('a record that disappears is forgotten: its live connection stays, and once it is down it is not dialled again', async () => {
    const server = await dns({ [QUERY]: [ip(2), ip(3), ip(4)] });
    const port = await freePort([ip(2), ip(3), ip(4)]);
    const [a, b, c] = await Promise.all([2, 3, 4].map((i) => startNode(ip(i), port, { server: server.server })));
    await meshed([a!.node, b!.node, c!.node], 'mesh');
    const cName = c!.node.name;
    const cUrl = `ws://${ip(4)}:${port}`;
    await server.setHosts({ [QUERY]: [ip(2), ip(3)] });
    await waitFor(() => [a!, b!].every((x) => !x.node.net.discoveredNodes().includes(cName)), 10_000, 'c forgotten');
    // Not disconnected by the DNS answer.
    expect(a!.node.nodes()).toContain(cName);
    expect(b!.node.nodes()).toContain(cName);
    await c!.node.stop();
    await waitFor(() => !a!.node.nodes().includes(cName) && !b!.node.nodes().includes(cName), 10_000, 'c down');
    const dials = [a!, b!].map((x) => x.transport.dials.get(cUrl) ?? 0);
    // Several polls, each longer than the longest redial delay (300 ms · 1.25) apart in total.
    await polls([a!.node, b!.node], 4);
    expect([a!, b!].map((x) => x.transport.dials.get(cUrl) ?? 0)).toEqual(dials);
    // Not known any more (its address stays, as any lost peer's, for an explicit send or connect).
    for (const x of [a!, b!]) expect(x.node.net.knownNodes()).not.toContain(cName);
  });

  it('re-forms the cluster when a node\'s record changes: the stopped node, redialled while listed, is forgotten and the new one joins', async () => {
    const server = await dns({ [QUERY]: [ip(2), ip(3), ip(4)] });
    const port = await freePort([ip(2), ip(3), ip(4), ip(5)]);
    const [a, b, c] = await Promise.all([2, 3, 4].map((i) => startNode(ip(i), port, { server: server.server })));
    await meshed([a!.node, b!.node, c!.node], 'mesh');
    const cName = c!.node.name;
    const cUrl = `ws://${ip(4)}:${port}`;
    await c!.node.stop();
    // While its record is there, the lost node is redialled (for life, like a seed).
    const before = a!.transport.dials.get(cUrl) ?? 0;
    await waitFor(() => (a!.transport.dials.get(cUrl) ?? 0) >= before + 2, 10_000, 'a redials c');
    // The node comes back at a new address: its record changes.
    const d = await startNode(ip(5), port, { server: server.server });
    await server.setHosts({ [QUERY]: [ip(2), ip(3), ip(5)] });
    await meshed([a!.node, b!.node, d.node], 're-formed');
    await waitFor(() => [a!, b!].every((x) => !x.node.net.discoveredNodes().includes(cName)), 10_000, 'c forgotten');
    const dials = [a!, b!].map((x) => x.transport.dials.get(cUrl) ?? 0);
    await polls([a!.node, b!.node], 4);
    expect([a!, b!].map((x) => x.transport.dials.get(cUrl) ?? 0)).toEqual(dials);
    expect(a!.node.net.knownNodes()).toEqual([b!.node.name, d.node.name].sort());
  });

  it('SRV records: nodes on one address with distinct ports form a mesh', async () => {
    const at = ip(2);
    const targets = ['n1', 'n2', 'n3'].map((n) => `${n}.${QUERY}`);
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) {
      let p: number;
      do p = await freePort([at]);
      while (ports.includes(p));
      ports.push(p);
    }
    const srvName = `_rigil._tcp.${QUERY}`;
    const server = await dns(Object.fromEntries(targets.map((t) => [t, [at]])), { srv: targets.map((t, i) => ({ name: srvName, target: t, port: ports[i]! })) });
    const nodes = await Promise.all(
      targets.map(async (t, i) => {
        const node = await DistNode.start({
          name: `rigil@${t}`,
          host: at,
          port: ports[i]!,
          cookie: 'dns-test-cookie',
          reconnect: { baseMs: 50, maxMs: 300 },
          discovery: { strategy: 'dns', type: 'SRV', query: srvName, nodeBasename: 'rigil', pollMs: 200, server: server.server },
        });
        cleanups.push(() => node.stop());
        return node;
      }),
    );
    await meshed(nodes, 'SRV mesh');
    expect(nodes[0]!.discovery[0]!.nodes()).toEqual(targets.map((t) => `rigil@${t}`));
    expect(nodes[0]!.net.addressOf(`rigil@${targets[1]}`)).toBe(`ws://${at}:${ports[1]}`);
  });

  it('a DNS server that is down does not crash or stall the node: one report per poll, the last answer kept', async () => {
    const server = await dns({ [QUERY]: [ip(2), ip(3)] });
    const port = await freePort([ip(2), ip(3)]);
    const a = await startNode(ip(2), port, { server: server.server });
    const b = await startNode(ip(3), port, { server: server.server });
    await meshed([a.node, b.node], 'mesh');
    await server.stop();
    await waitFor(() => a.node.discovery[0]!.stats.failures >= 3, 10_000, 'three failed polls');
    const d = a.node.discovery[0]!;
    expect(d.stats.lastError).toBe('ECONNREFUSED');
    // One report per failed poll, no more.
    await waitFor(() => a.reports.filter((r) => r.code === 'ERR_DISCOVERY_DNS').length === d.stats.failures, 1000, 'reports match polls');
    expect(a.reports.filter((r) => r.code === 'ERR_DISCOVERY_DNS').length).toBeLessThanOrEqual(d.stats.failures);
    // The last answer is kept: b is still listed, and redialled once lost.
    expect(a.node.net.discoveredNodes()).toEqual([b.node.name]);
    expect(a.node.nodes()).toEqual([b.node.name]);
    const bUrl = `ws://${ip(3)}:${port}`;
    await b.node.stop();
    const before = a.transport.dials.get(bUrl) ?? 0;
    await waitFor(() => (a.transport.dials.get(bUrl) ?? 0) >= before + 2, 10_000, 'a redials b');
  });

  it('a DNS server that never answers: the node starts, works and stops at once while a lookup hangs', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    let queries = 0;
    silent.on('message', () => queries++);
    const server = `127.0.0.1:${silent.address().port}`;
    const peer = await startNode(ip(3), 0, null);
    // pollMs 4000: each try waits 2 s, two tries.
    const t0 = Date.now();
    const a = await startNode(ip(2), 0, { server, pollMs: 4000, port: 1 }, { seeds: [`${peer.node.name}:${peer.node.port}`] });
    expect(Date.now() - t0).toBeLessThan(2000);
    await waitFor(() => queries >= 1, 5000, 'a query sent');
    await waitFor(() => a.node.nodes().includes(peer.node.name), 5000, 'connected to the seed');
    expect(await a.node.ping(peer.node.name)).toBe('pong');
    expect(a.node.discovery[0]!.stats.polls).toBe(0);
    const t1 = Date.now();
    await a.node.stop();
    expect(Date.now() - t1).toBeLessThan(1500);
    expect(a.node.discovery[0]!.stats.polls).toBe(0);
    expect(a.reports).toEqual([]);
  });
});
