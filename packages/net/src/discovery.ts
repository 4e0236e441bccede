/**
 * Discovery: how a node finds its peers besides the seeds it is given (libcluster's
 * strategies are the model; OTP itself has only `.hosts.erlang` and `net_adm:world/0`).
 *
 * - `{ strategy: 'static', nodes }` — libcluster's `Cluster.Strategy.Epmd`: a fixed list of
 *   `name@host:port` (or `ws(s)://` URLs), exactly the node's `seeds`.
 * - `{ strategy: 'dns', query, type, nodeBasename, … }` — libcluster's
 *   `Cluster.Strategy.DNSPoll` (A/AAAA: `<basename>@<ip>`) and
 *   `Cluster.Strategy.Kubernetes.DNSSRV` (SRV: `<basename>@<target>`, dialled at the target's
 *   address and the record's port). The name is resolved every `pollMs` with `node:dns`'s
 *   `Resolver`; each node listed is recorded in the net kernel (`NetKernel.discovered`) and
 *   dialled, then redialled for life like a seed; a node no longer listed is forgotten
 *   (`NetKernel.undiscovered`: not dialled again; a live connection is not cut). Unlike
 *   libcluster, a vanished node is not disconnected (a stale or partial answer must not cut a
 *   working connection) and a failed lookup (timeout, refused, SERVFAIL) keeps the previous
 *   answer; only an answer that the name has no records (NXDOMAIN, NODATA) empties the list.
 *
 * Polls run on the node's timers (never `setTimeout`, so a simulated clock could drive them),
 * one at a time (the next is due `pollMs` after the previous one ended), every failure is
 * handled: a failed lookup is one report (kind `discovery`, logged under `rigil:discovery`,
 * code `ERR_DISCOVERY_DNS`) per poll, never a throw. Answers are bounded (`DiscoveryLimits`).
 */
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { distError } from './errors.js';
import { isNodeName } from './handshake.js';
import type { NetKernel } from './net_kernel.js';
import { renderUntrusted } from './render.js';
import type { Timer } from '@rigil/core';

/** libcluster's `Epmd` strategy: a fixed list of peers (the node's `seeds`). */
export interface StaticDiscoveryOptions {
  readonly strategy: 'static';
  /** `name@host:port` or `ws(s)://host:port` URLs, as `seeds`. */
  readonly nodes: readonly string[];
}

/** libcluster's `DNSPoll` (A/AAAA) and `Kubernetes.DNSSRV` (SRV) strategies: peers from a DNS name, polled. */
export interface DnsDiscoveryOptions {
  readonly strategy: 'dns';
  /** The name to resolve, e.g. a Kubernetes headless service `rigil.default.svc.cluster.local` (SRV: `_dist._tcp.rigil…`). */
  readonly query: string;
  /** Records to ask for (default `'A'`): A/AAAA give `<nodeBasename>@<ip>`, SRV gives `<nodeBasename>@<target>` at the record's port. */
  readonly type?: 'A' | 'AAAA' | 'SRV';
  /** The name part of the peers' node names (`rigil` in `rigil@10.0.0.7`). */
  readonly nodeBasename: string;
  /** A/AAAA only: the port peers listen on (default: this node's own port). SRV records carry their port. */
  readonly port?: number;
  /** Milliseconds between the end of one poll and the next (default 5000, at least `DiscoveryLimits.minPollMs`). */
  readonly pollMs?: number;
  /** The DNS server to ask, `ip`, `ip:port` or `[ipv6]:port` (default: the system's resolvers). */
  readonly server?: string;
}

/** A discovery strategy (libcluster's topology entry). */
export type DiscoveryOptions = StaticDiscoveryOptions | DnsDiscoveryOptions;

/** Bounds on what a DNS answer can make a node do (an answer is data from the network). */
export const DiscoveryLimits = {
  /** Records of one answer looked at (SRV: targets resolved); the rest are ignored, with one report per poll. */
  maxRecords: 256,
  /** Longest DNS name accepted (a query, an SRV target), in characters (DNS's own limit). */
  maxNameLength: 253,
  /** Shortest poll interval, in ms. */
  minPollMs: 100,
  /** Per-try timeout of a lookup, in ms, at most (and at most half of `pollMs`); 2 tries. */
  maxLookupTimeoutMs: 2000,
} as const;

/** Defaults of the dns strategy. */
export const DNS_DISCOVERY_DEFAULTS = { type: 'A', pollMs: 5000 } as const;

/** A `dns` strategy with its defaults filled in, as `checkDiscovery` returns it. */
export interface DnsDiscoveryConfig {
  readonly query: string;
  readonly type: 'A' | 'AAAA' | 'SRV';
  readonly nodeBasename: string;
  readonly port: number | undefined;
  readonly pollMs: number;
  readonly server: string | undefined;
}

/** One SRV record (as `node:dns` gives it). */
export interface SrvAnswer {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/**
 * What a dns strategy asks DNS: `node:dns`'s `Resolver` by default (`resolverLookup`); a test
 * or a simulation may give its own. Each method rejects with a `node:dns` error code
 * (`ENOTFOUND`, `ENODATA`, `ETIMEOUT`, …) in `code`.
 */
export interface DnsLookup {
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
  resolveSrv(name: string): Promise<SrvAnswer[]>;
  /** Ends the lookups in flight (they reject with `ECANCELLED`). */
  cancel(): void;
}

/**
 * Validates the `discovery` option of `DistNode.start` (one strategy or an array): throws
 * `ERR_BAD_DISCOVERY` naming the problem. Returns the static nodes (to add to the seeds, which
 * the net kernel checks: `ERR_BAD_SEED`) and the dns strategies with defaults filled in.
 */
export function checkDiscovery(option: unknown): { seeds: string[]; dns: DnsDiscoveryConfig[] } {
  const seeds: string[] = [];
  const dns: DnsDiscoveryConfig[] = [];
  if (option === undefined) return { seeds, dns };
  const list: unknown[] = Array.isArray(option) ? option : [option];
  list.forEach((raw, i) => {
    const where = Array.isArray(option) ? `discovery[${i}]` : 'discovery';
    const bad = (what: string): never => {
      throw distError('ERR_BAD_DISCOVERY', `${where}: ${what}`);
    };
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('must be an object { strategy: \'static\' | \'dns\', … }');
    const o = raw as Record<string, unknown>;
    if (o.strategy === 'static') {
      onlyKeys(o, ['strategy', 'nodes'], bad);
      if (!Array.isArray(o.nodes) || o.nodes.some((n) => typeof n !== 'string')) bad('nodes must be an array of name@host:port or ws(s):// URLs');
      seeds.push(...(o.nodes as string[]));
      return;
    }
    if (o.strategy !== 'dns') bad(`unknown strategy ${renderUntrusted(o.strategy)} (expected 'static' or 'dns')`);
    onlyKeys(o, ['strategy', 'query', 'type', 'nodeBasename', 'port', 'pollMs', 'server'], bad);
    if (!isDnsName(o.query)) bad(`query must be a DNS name (letters, digits, '-', '_', '.'; at most ${DiscoveryLimits.maxNameLength} characters), got ${renderUntrusted(o.query)}`);
    const type = o.type ?? DNS_DISCOVERY_DEFAULTS.type;
    if (type !== 'A' && type !== 'AAAA' && type !== 'SRV') bad(`type must be 'A', 'AAAA' or 'SRV', got ${renderUntrusted(o.type)}`);
    if (typeof o.nodeBasename !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(o.nodeBasename)) {
      bad(`nodeBasename must be the name part of a node name (1–64 of letters, digits, '_', '.', '-'), got ${renderUntrusted(o.nodeBasename)}`);
    }
    if (o.port !== undefined) {
      if (type === 'SRV') bad('port is for A/AAAA: SRV records carry their port');
      if (!(Number.isInteger(o.port) && (o.port as number) >= 1 && (o.port as number) <= 65535)) bad(`port must be an integer from 1 to 65535, got ${renderUntrusted(o.port)}`);
    }
    const pollMs = o.pollMs ?? DNS_DISCOVERY_DEFAULTS.pollMs;
    if (!(typeof pollMs === 'number' && Number.isFinite(pollMs) && pollMs >= DiscoveryLimits.minPollMs)) bad(`pollMs must be a number of ms of at least ${DiscoveryLimits.minPollMs}, got ${renderUntrusted(o.pollMs)}`);
    if (o.server !== undefined && parseServer(o.server) === undefined) bad(`server must be an IP address with an optional port (ip, ip:port, [ipv6]:port), got ${renderUntrusted(o.server)}`);
    dns.push({
      query: o.query as string,
      type: type as DnsDiscoveryConfig['type'],
      nodeBasename: o.nodeBasename as string,
      port: o.port as number | undefined,
      pollMs: pollMs as number,
      server: o.server as string | undefined,
    });
  });
  return { seeds, dns };
}

/** The DNS lookups of `node:dns`'s `Resolver`, asking `server` (or the system's resolvers), with a bounded timeout. */
export function resolverLookup(server: string | undefined, pollMs: number): DnsLookup {
  const timeout = Math.max(50, Math.min(DiscoveryLimits.maxLookupTimeoutMs, Math.floor(pollMs / 2)));
  const r = new Resolver({ timeout, tries: 2 });
  if (server !== undefined) r.setServers([server]);
  return {
    resolve4: (name) => r.resolve4(name),
    resolve6: (name) => r.resolve6(name),
    resolveSrv: (name) => r.resolveSrv(name),
    cancel: () => r.cancel(),
  };
}

/** Counters of one dns strategy, for tools and tests. */
export interface DnsDiscoveryStats {
  /** Polls finished (answered or failed). */
  polls: number;
  /** Polls whose lookup failed (each one report). */
  failures: number;
  /** The last failure's error code (`ETIMEOUT`, `ECONNREFUSED`, …), cleared by an answer. */
  lastError: string | undefined;
}

/**
 * A running dns strategy of a node (libcluster's `DNSPoll` / `Kubernetes.DNSSRV` process).
 * `DistNode.start` makes one per dns strategy (`node.discovery`), started once the node listens
 * and stopped with it.
 */
export class DnsDiscovery {
  /** Counters (see `DnsDiscoveryStats`). */
  readonly stats: DnsDiscoveryStats = { polls: 0, failures: 0, lastError: undefined };
  /** The nodes the last answer listed, with their addresses. */
  private listed = new Map<string, string>();
  private timer: Timer | undefined;
  private stopped = false;
  private running = false;
  private readonly lookup: DnsLookup;

  /** A strategy for `net`'s node; `lookup` defaults to `resolverLookup(config.server, config.pollMs)`. */
  constructor(
    private readonly net: NetKernel,
    readonly config: DnsDiscoveryConfig,
    lookup?: DnsLookup,
  ) {
    this.lookup = lookup ?? resolverLookup(config.server, config.pollMs);
  }

  /**
   * Polls now, then `pollMs` after each poll ends, until `stop` (libcluster's strategy
   * `start_link`). A/AAAA without `port` need the node to listen: `ERR_BAD_DISCOVERY` otherwise.
   */
  start(): void {
    if (this.config.type !== 'SRV' && this.config.port === undefined && this.net.port === 0) {
      throw distError('ERR_BAD_DISCOVERY', `discovery ${this.config.query}: a node that does not listen needs the port of its peers (port)`);
    }
    if (this.stopped || this.running || this.timer !== undefined) return;
    this.poll();
  }

  /** Stops polling and cancels the lookup in flight; the nodes it listed stay as they are. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.net.node.timers.cancel(this.timer);
    this.timer = undefined;
    if (this.running) this.lookup.cancel();
  }

  /** The nodes the last answer listed (this node included if listed), sorted. */
  nodes(): string[] {
    return [...this.listed.keys()].sort();
  }

  private poll(): void {
    this.running = true;
    this.resolve().then(
      (found) => this.settled(found, undefined),
      (e: unknown) => this.settled(undefined, e),
    );
  }

  private settled(found: Map<string, string> | undefined, error: unknown): void {
    this.running = false;
    if (this.stopped) return;
    try {
      this.stats.polls++;
      if (found !== undefined) {
        this.stats.lastError = undefined;
        this.apply(found);
      } else {
        this.stats.failures++;
        const code = errorCode(error);
        this.stats.lastError = code;
        this.net.node.report({
          kind: 'discovery',
          code: 'ERR_DISCOVERY_DNS',
          message: `${this.describe()} failed (${code}): keeping the ${this.listed.size} node(s) listed before`,
          reason: renderUntrusted(error instanceof Error ? error.message : error, { maxLength: 200 }),
        });
      }
    } catch (e) {
      this.net.node.report({ kind: 'discovery', message: `${this.describe()}: applying the answer failed`, reason: e });
    }
    this.timer = this.net.node.timers.schedule(this.config.pollMs, () => {
      this.timer = undefined;
      if (!this.stopped) this.poll();
    }, undefined);
  }

  private apply(found: Map<string, string>): void {
    for (const [name, url] of found) {
      if (name === this.net.node.name) continue;
      const refused = this.net.discovered(name, url);
      if (refused !== undefined) {
        found.delete(name);
        this.net.node.report({ kind: 'discovery', code: 'ERR_BAD_ADDRESS', message: `${this.describe()}: ignored ${name} at ${url}: ${refused}` });
      }
    }
    for (const name of this.listed.keys()) if (!found.has(name)) this.net.undiscovered(name);
    this.listed = found;
  }

  /** One lookup: the nodes listed now, name → address; rejects when DNS did not answer. */
  private async resolve(): Promise<Map<string, string>> {
    const { query, type } = this.config;
    const found = new Map<string, string>();
    const ignored: string[] = [];
    if (type === 'SRV') {
      const records = await orNone(this.lookup.resolveSrv(query));
      if (records.length > DiscoveryLimits.maxRecords) ignored.push(`${records.length - DiscoveryLimits.maxRecords} records beyond the first ${DiscoveryLimits.maxRecords}`);
      const valid: SrvAnswer[] = [];
      for (const r of records.slice(0, DiscoveryLimits.maxRecords)) {
        const target = typeof r?.name === 'string' ? r.name.replace(/\.$/, '').toLowerCase() : undefined;
        if (target === undefined || !isDnsName(target) || !(Number.isInteger(r.port) && r.port >= 1 && r.port <= 65535)) {
          ignored.push(`malformed SRV record ${renderUntrusted(r, { maxLength: 120 })}`);
          continue;
        }
        valid.push({ ...r, name: target });
      }
      const addresses = await Promise.all(valid.map((r) => this.addressOf(r.name)));
      valid.forEach((r, i) => {
        const name = `${this.config.nodeBasename}@${r.name}`;
        const ip = addresses[i];
        if (ip === null) return; // the target has no address (yet): not listed
        if (ip === undefined) {
          // The target's lookup failed: keep what the last answer said about it.
          const before = this.listed.get(name);
          if (before !== undefined && !found.has(name)) found.set(name, before);
          return;
        }
        if (!found.has(name)) found.set(name, this.net.transport.address(urlHost(ip), r.port));
      });
    } else {
      const ips = await orNone(type === 'A' ? this.lookup.resolve4(query) : this.lookup.resolve6(query));
      if (ips.length > DiscoveryLimits.maxRecords) ignored.push(`${ips.length - DiscoveryLimits.maxRecords} records beyond the first ${DiscoveryLimits.maxRecords}`);
      const port = this.config.port ?? this.net.port;
      for (const ip of ips.slice(0, DiscoveryLimits.maxRecords)) {
        const name = `${this.config.nodeBasename}@${ip}`;
        if (isIP(ip) !== (type === 'A' ? 4 : 6) || !isNodeName(name)) {
          ignored.push(`malformed ${type} record ${renderUntrusted(ip, { maxLength: 80 })}`);
          continue;
        }
        found.set(name, this.net.transport.address(urlHost(ip), port));
      }
    }
    if (ignored.length > 0) {
      this.net.node.report({ kind: 'discovery', code: 'ERR_BAD_ADDRESS', message: `${this.describe()}: ignored ${ignored.length > 3 ? `${ignored.slice(0, 3).join('; ')}; …` : ignored.join('; ')}` });
    }
    return found;
  }

  /**
   * The address of an SRV target: itself if it is an IP literal, else its first A record, else
   * its first AAAA record (asked of the same server); null if it has none, undefined if the
   * lookup failed.
   */
  private async addressOf(target: string): Promise<string | null | undefined> {
    if (isIP(target) !== 0) return target;
    try {
      const v4 = await orNone(this.lookup.resolve4(target));
      if (v4.length > 0 && isIP(v4[0]!) === 4) return v4[0]!;
      const v6 = await orNone(this.lookup.resolve6(target));
      return v6.length > 0 && isIP(v6[0]!) === 6 ? v6[0]! : null;
    } catch {
      return undefined;
    }
  }

  private describe(): string {
    return `dns ${this.config.type} ${this.config.query}${this.config.server !== undefined ? ` via ${this.config.server}` : ''}`;
  }
}

/** `ip`, `ip:port`, `ipv6`, `[ipv6]` or `[ipv6]:port` (what `Resolver.setServers` takes), or undefined. */
function parseServer(s: unknown): { host: string; port: number | undefined } | undefined {
  if (typeof s !== 'string' || s.length > 64) return undefined;
  let host: string;
  let port: string | undefined;
  let family: 4 | 6;
  const v6 = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(s);
  const v4 = /^([0-9.]+)(?::(\d{1,5}))?$/.exec(s);
  if (v6 !== null) [host, port, family] = [v6[1]!, v6[2], 6];
  else if (v4 !== null) [host, port, family] = [v4[1]!, v4[2], 4];
  else [host, port, family] = [s, undefined, 6];
  const p = port === undefined ? undefined : Number(port);
  if (isIP(host) !== family || (p !== undefined && (p < 1 || p > 65535))) return undefined;
  return { host, port: p };
}

/** A DNS name we would query: labels of letters, digits, `-`, `_`, at most `maxNameLength` characters. */
function isDnsName(s: unknown): s is string {
  return typeof s === 'string' && s.length > 0 && s.length <= DiscoveryLimits.maxNameLength && /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/.test(s) && s.split('.').every((l) => l.length <= 63);
}

/** An answer that the name has no such records (`ENOTFOUND`: NXDOMAIN; `ENODATA`) is an empty list; other failures reject. */
async function orNone<T>(p: Promise<T[]>): Promise<T[]> {
  try {
    const v = await p;
    return Array.isArray(v) ? v : [];
  } catch (e) {
    const code = errorCode(e);
    if (code === 'ENOTFOUND' || code === 'ENODATA') return [];
    throw e;
  }
}

function errorCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z_0-9]{1,32}$/.test(code) ? code : 'EUNKNOWN';
}

/** An IP as the host part of a URL: IPv6 in brackets. */
function urlHost(ip: string): string {
  return isIP(ip) === 6 ? `[${ip}]` : ip;
}

function onlyKeys(o: Record<string, unknown>, keys: string[], bad: (what: string) => never): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) bad(`unknown key ${renderUntrusted(k, { maxLength: 40 })} (expected one of: ${keys.join(', ')})`);
}
