/**
 * Discovery without a DNS server: option validation, the static strategy, and the dns
 * strategy driven by a scripted `DnsLookup` (answers, failures, bounds, stop). The same
 * strategy against a real dnsmasq is in discovery_dns.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Report } from '@rigil/core';
import { checkDiscovery, DiscoveryLimits, DistError, DistNode, DnsDiscovery, WebSocketTransport, type DistNodeOptions, type DnsDiscoveryConfig, type DnsLookup, type SrvAnswer, type Transport } from '../src/index.js';
import { distError } from '../src/errors.js';
import { failedDial } from '../src/transport.js';
import { uniqueName, useCluster, waitFor } from './helpers.js';

const cluster = useCluster();

/** The DistError `fn` throws (or the promise rejects with). */
async function errorOf(fn: () => unknown): Promise<DistError> {
  try {
    const r = fn();
    if (r instanceof Promise) cluster.add((await r) as DistNode);
  } catch (e) {
    if (e instanceof DistError) return e;
    throw e;
  }
  throw new Error('did not fail');
}

/** A WebSocket transport whose dials all fail at once, counting them by address. */
class NoDialTransport extends WebSocketTransport implements Transport {
  readonly dials = new Map<string, number>();
  override dial(address: string): ReturnType<Transport['dial']> {
    this.dials.set(address, (this.dials.get(address) ?? 0) + 1);
    return failedDial(distError('ERR_NOT_CONNECTED', 'no dials in this test'));
  }
}

/** A scripted DNS: each lookup takes the next answer of its kind (the last one repeats). */
class ScriptedLookup implements DnsLookup {
  a: Array<() => Promise<string[]>> = [];
  srv: Array<() => Promise<SrvAnswer[]>> = [];
  hosts = new Map<string, () => Promise<string[]>>();
  cancelled = 0;
  private pending: Array<(e: Error) => void> = [];

  resolve4(name: string): Promise<string[]> {
    const h = this.hosts.get(name);
    if (h !== undefined) return h();
    return (this.a.length > 1 ? this.a.shift()! : this.a[0]!)();
  }
  resolve6(): Promise<string[]> {
    return Promise.reject(dnsError('ENODATA'));
  }
  resolveSrv(): Promise<SrvAnswer[]> {
    return (this.srv.length > 1 ? this.srv.shift()! : this.srv[0]!)();
  }
  /** A lookup that only ends when cancelled. */
  never<T>(): Promise<T> {
    return new Promise((_resolve, reject) => this.pending.push(reject));
  }
  cancel(): void {
    this.cancelled++;
    for (const r of this.pending.splice(0)) r(dnsError('ECANCELLED'));
  }
}

function dnsError(code: string): Error {
  return Object.assign(new Error(`query failed ${code}`), { code });
}

function config(over: Partial<DnsDiscoveryConfig> = {}): DnsDiscoveryConfig {
  return { query: 'rigil.test', type: 'A', nodeBasename: 'rigil', port: 4370, pollMs: 100, server: undefined, ...over };
}

/** Starts a node whose dials fail, and a dns strategy on it with `lookup`; both stopped after the test. */
async function withDiscovery(lookup: DnsLookup, over: Partial<DnsDiscoveryConfig> = {}, options: Partial<DistNodeOptions> = {}) {
  const transport = new NoDialTransport();
  const node = await cluster.start('d', { transport, reconnect: { baseMs: 20, maxMs: 50 }, ...options });
  // As DistNode.start does for the strategies of its options.
  node.onStop(() => d.stop());
  const reports: Report[] = [];
  node.onReport((r) => {
    if (r.kind === 'discovery') reports.push(r);
  });
  const d = new DnsDiscovery(node.net, config(over), lookup);
  cluster.onCleanup(() => d.stop());
  d.start();
  return { node, d, reports, transport };
}

const ok = <T>(v: T) => () => Promise.resolve(v);
const fail = (code: string) => () => Promise.reject(dnsError(code));

describe('options', () => {
  it('a bad discovery option is refused with ERR_BAD_DISCOVERY naming the key', async () => {
    const bad: Array<[unknown, RegExp]> = [
      [5, /must be an object/],
      [{ strategy: 'mdns' }, /unknown strategy/],
      [{ strategy: 'static', nodes: 'a@h:1' }, /nodes must be an array/],
      [{ strategy: 'static', nodes: [], extra: 1 }, /unknown key/],
      [{ strategy: 'dns', nodeBasename: 'r' }, /query must be a DNS name/],
      [{ strategy: 'dns', query: 'a b', nodeBasename: 'r' }, /query/],
      [{ strategy: 'dns', query: `${'a'.repeat(64)}.test`, nodeBasename: 'r' }, /query/],
      [{ strategy: 'dns', query: 'x.test', nodeBasename: 'r', type: 'MX' }, /type must be/],
      [{ strategy: 'dns', query: 'x.test', nodeBasename: 'a@b' }, /nodeBasename/],
      [{ strategy: 'dns', query: 'x.test' }, /nodeBasename/],
      [{ strategy: 'dns', query: 'x.test', nodeBasename: 'r', type: 'SRV', port: 5 }, /port is for A\/AAAA/],
      [{ strategy: 'dns', query: 'x.test', nodeBasename: 'r', port: 0 }, /port must be/],
      [{ strategy: 'dns', query: 'x.test', nodeBasename: 'r', pollMs: 10 }, /pollMs/],
      [{ strategy: 'dns', query: 'x.test', nodeBasename: 'r', pollMs: Number.POSITIVE_INFINITY }, /pollMs/],
      [{ strategy: 'dns', query: 'x.test', nodeBasename: 'r', server: 'localhost:53' }, /server/],
      [{ strategy: 'dns', query: 'x.test', nodeBasename: 'r', server: '127.0.0.1:99999' }, /server/],
      [{ strategy: 'dns', query: 'x.test', nodeBasename: 'r', server: '[127.0.0.1]:53' }, /server/],
      [{ strategy: 'dns', query: 'x.test', nodeBasename: 'r', serverz: '1.1.1.1' }, /unknown key/],
    ];
    for (const [option, message] of bad) {
      const e = await errorOf(() => checkDiscovery(option));
      expect(e.code, JSON.stringify(option)).toBe('ERR_BAD_DISCOVERY');
      expect(e.message, JSON.stringify(option)).toMatch(message);
    }
    expect((await errorOf(() => checkDiscovery([{ strategy: 'static', nodes: [] }, { strategy: 'x' }]))).message).toMatch(/^discovery\[1\]: /);
    // Through DistNode.start, before anything listens.
    const name = uniqueName('x');
    expect((await errorOf(() => DistNode.start({ name, cookie: 'c', discovery: { strategy: 'dns', query: 'x.test', nodeBasename: 'r', pollMs: 1 } }))).code).toBe('ERR_BAD_DISCOVERY');
    // A/AAAA peers are at this node's own port by default: a node that does not listen must say which.
    expect((await errorOf(() => DistNode.start({ name, cookie: 'c', listen: false, discovery: { strategy: 'dns', query: 'x.test', nodeBasename: 'r' } }))).code).toBe('ERR_BAD_DISCOVERY');
    // Static nodes are seeds, checked as seeds.
    expect((await errorOf(() => DistNode.start({ name, cookie: 'c', discovery: { strategy: 'static', nodes: ['nope'] } }))).code).toBe('ERR_BAD_SEED');
  });

  it('accepts the documented forms, with the defaults filled in', () => {
    for (const server of ['127.0.0.1', '127.0.0.1:5353', '::1', '[::1]', '[fd00::53]:5353']) {
      expect(checkDiscovery({ strategy: 'dns', query: 'x.test', nodeBasename: 'r', server }).dns[0]!.server).toBe(server);
    }
    const { seeds, dns } = checkDiscovery([
      { strategy: 'static', nodes: ['a@h:1'] },
      { strategy: 'dns', query: '_dist._tcp.rigil.default.svc.cluster.local.', type: 'SRV', nodeBasename: 'rigil' },
    ]);
    expect(seeds).toEqual(['a@h:1']);
    expect(dns).toEqual([{ query: '_dist._tcp.rigil.default.svc.cluster.local.', type: 'SRV', nodeBasename: 'rigil', port: undefined, pollMs: 5000, server: undefined }]);
    expect(checkDiscovery(undefined)).toEqual({ seeds: [], dns: [] });
  });

  it('the static strategy is seeds: the node dials them (and keeps them for life)', async () => {
    const a = await cluster.start('a');
    const b = await cluster.start('b', { discovery: { strategy: 'static', nodes: [cluster.seed(a)] } });
    await waitFor(() => b.nodes().includes(a.name), 3000, 'b connected to a');
    expect(b.net.knownNodes()).toContain(a.name);
  });
});

describe('the dns strategy (scripted answers)', () => {
  it('lists <basename>@<ip> at the port, dials each new one, and skips its own name', async () => {
    const lookup = new ScriptedLookup();
    lookup.a = [ok(['127.0.0.1', '10.0.0.7', '10.0.0.8'])];
    const { node, d, transport } = await withDiscovery(lookup, {}, { name: 'rigil@127.0.0.1' });
    await waitFor(() => d.stats.polls >= 1, 3000, 'a poll');
    expect(d.nodes()).toEqual(['rigil@10.0.0.7', 'rigil@10.0.0.8', 'rigil@127.0.0.1']);
    expect(node.net.discoveredNodes()).toEqual(['rigil@10.0.0.7', 'rigil@10.0.0.8']);
    expect(node.net.addressOf('rigil@10.0.0.7')).toBe('ws://10.0.0.7:4370');
    await waitFor(() => transport.dials.has('ws://10.0.0.7:4370') && transport.dials.has('ws://10.0.0.8:4370'), 3000, 'dials');
    expect(transport.dials.has('ws://127.0.0.1:4370')).toBe(false);
  });

  it('keeps the list on a failed lookup (one report per poll), empties it on NXDOMAIN, and stops redialling forgotten nodes', async () => {
    const lookup = new ScriptedLookup();
    const answers: Array<() => Promise<string[]>> = [ok(['10.0.0.7']), fail('ETIMEOUT'), fail('ECONNREFUSED'), fail('ESERVFAIL')];
    lookup.a = [() => (answers.length > 0 ? answers.shift()! : fail('ENOTFOUND'))()];
    const { node, d, reports, transport } = await withDiscovery(lookup);
    await waitFor(() => d.stats.failures >= 3, 3000, 'three failed polls');
    expect(node.net.discoveredNodes()).toEqual(['rigil@10.0.0.7']);
    const failures = reports.filter((r) => r.code === 'ERR_DISCOVERY_DNS');
    expect(failures.map((r) => r.message.match(/\((E[A-Z]+)\)/)?.[1])).toEqual(['ETIMEOUT', 'ECONNREFUSED', 'ESERVFAIL']);
    // Redialled for life while listed (the transport fails every dial).
    await waitFor(() => (transport.dials.get('ws://10.0.0.7:4370') ?? 0) >= 3, 3000, 'redials');
    await waitFor(() => d.stats.polls >= 5, 3000, 'the NXDOMAIN poll');
    expect(d.nodes()).toEqual([]);
    expect(node.net.discoveredNodes()).toEqual([]);
    expect(node.net.knownNodes()).toEqual([]);
    expect(node.net.addressOf('rigil@10.0.0.7')).toBeUndefined();
    expect(d.stats.lastError).toBeUndefined();
    const dials = transport.dials.get('ws://10.0.0.7:4370');
    // No more dials: several polls and many times the longest redial delay (50 ms) later.
    const polls = d.stats.polls;
    await waitFor(() => d.stats.polls >= polls + 4, 3000, 'four more polls');
    expect(transport.dials.get('ws://10.0.0.7:4370')).toBe(dials);
    expect(node.net.internalSizes().redials).toBe(0);
  });

  it('bounds an answer: at most maxRecords listed, malformed records ignored, one report per poll', async () => {
    const lookup = new ScriptedLookup();
    const many = Array.from({ length: 1000 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
    lookup.a = [ok(['not-an-ip', '::1', ...many])];
    const { d, reports } = await withDiscovery(lookup, { pollMs: 5000 });
    await waitFor(() => d.stats.polls >= 1, 3000, 'a poll');
    expect(d.nodes()).toHaveLength(DiscoveryLimits.maxRecords - 2);
    const bad = reports.filter((r) => r.code === 'ERR_BAD_ADDRESS');
    expect(bad).toHaveLength(1);
    expect(bad[0]!.message).toMatch(/746 records beyond the first 256/);
    expect(bad[0]!.message).toMatch(/malformed A record/);
    expect(bad[0]!.message.length).toBeLessThan(600);
  });

  it('SRV: <basename>@<target> at the target\'s address and the record\'s port; a target whose lookup fails keeps its last address', async () => {
    const lookup = new ScriptedLookup();
    lookup.srv = [ok([{ name: 'n1.rigil.test.', port: 4001, priority: 0, weight: 0 }, { name: 'N2.rigil.test', port: 4002, priority: 0, weight: 0 }, { name: '10.0.0.9', port: 4003, priority: 0, weight: 0 }, { name: 'bad name', port: 1, priority: 0, weight: 0 }, { name: 'n4.rigil.test', port: 70000, priority: 0, weight: 0 }])];
    let n2: () => Promise<string[]> = ok(['10.0.0.2']);
    lookup.hosts.set('n1.rigil.test', ok(['10.0.0.1']));
    lookup.hosts.set('n2.rigil.test', () => n2());
    const { node, d, reports } = await withDiscovery(lookup, { type: 'SRV', port: undefined });
    await waitFor(() => d.stats.polls >= 1, 3000, 'a poll');
    expect(d.nodes()).toEqual(['rigil@10.0.0.9', 'rigil@n1.rigil.test', 'rigil@n2.rigil.test']);
    expect(node.net.addressOf('rigil@n1.rigil.test')).toBe('ws://10.0.0.1:4001');
    expect(node.net.addressOf('rigil@n2.rigil.test')).toBe('ws://10.0.0.2:4002');
    expect(node.net.addressOf('rigil@10.0.0.9')).toBe('ws://10.0.0.9:4003');
    expect(reports.some((r) => r.code === 'ERR_BAD_ADDRESS' && /malformed SRV record/.test(r.message))).toBe(true);
    n2 = fail('ETIMEOUT');
    const polls = d.stats.polls;
    await waitFor(() => d.stats.polls >= polls + 2, 3000, 'two more polls');
    expect(d.nodes()).toContain('rigil@n2.rigil.test');
    expect(node.net.addressOf('rigil@n2.rigil.test')).toBe('ws://10.0.0.2:4002');
    // A target that has no address any more is not listed.
    n2 = fail('ENOTFOUND');
    await waitFor(() => !d.nodes().includes('rigil@n2.rigil.test'), 3000, 'n2 dropped');
    expect(node.net.discoveredNodes()).not.toContain('rigil@n2.rigil.test');
  });

  it('a lookup that never ends does not stall the node, and stopping the node cancels it', async () => {
    const lookup = new ScriptedLookup();
    lookup.a = [() => lookup.never()];
    const { node, d } = await withDiscovery(lookup, {}, { transport: new WebSocketTransport() });
    const peer = await cluster.start('p');
    node.net.addAddress(peer.name, peer.url!);
    // The node works while its lookup hangs.
    expect(await node.connect(peer.name)).toBe(true);
    expect(d.stats.polls).toBe(0);
    await node.stop();
    expect(lookup.cancelled).toBe(1);
    expect(d.stats.polls).toBe(0);
  });
});
