/**
 * The node config file of `rigil start` (JSON), and its validation: an unknown key or a bad
 * value is an error that names the key.
 *
 * ```json
 * {
 *   "node": { "name": "a@127.0.0.1", "port": 9101, "cookieFile": "cookie", "seeds": ["b@127.0.0.1:9102"],
 *             "tls": { "cert": "tls/node.pem", "key": "tls/node.key", "ca": "tls/ca.pem" } },
 *   "kernel": { "distributed": [{ "application": "proxima", "timeout": 1000,
 *                                 "nodes": ["a@127.0.0.1", "b@127.0.0.1"] }],
 *               "syncNodesOptional": ["b@127.0.0.1"], "syncNodesTimeout": 1000 },
 *   "applications": [{ "module": "./src/proxima_app.ts", "export": "proxima" },
 *                    { "module": "./src/centauri_app.ts", "export": "centauri", "start": true }],
 *   "env": { "centauri": { "greeting": "hello" } }
 * }
 * ```
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { checkKernelConfig, DistAcError, type KernelConfig } from '@rigil/dist-ac';
import type { AppRestartType } from '@rigil/core';
import { checkDiscovery, DistError, type DiscoveryOptions, type TlsOptions } from '@rigil/net';
import { CliError } from './errors.js';
import { LOG_FORMATS, type LogFormat } from './log.js';

/** `node` section: who the node is and how it reaches the others. */
export interface NodeSection {
  /** `name@host`; the node listens on `host` unless `host` is given. */
  name: string;
  /** Port to listen on (0: any free port). */
  port?: number;
  /** Address to listen on. */
  host?: string;
  /** The cluster's cookie (or `cookieFile`). */
  cookie?: string;
  /** A file holding the cookie (relative to the config file). */
  cookieFile?: string;
  /** Peers: `name@host:port` or `ws(s)://` URLs. */
  seeds?: string[];
  /**
   * How the node finds its peers besides `seeds` (DistNode's `discovery`, libcluster's
   * strategies): `{ "strategy": "static", "nodes": [...] }` or `{ "strategy": "dns", "query",
   * "type"?, "nodeBasename", "port"?, "pollMs"?, "server"? }`, or an array of them.
   */
  discovery?: DiscoveryOptions | DiscoveryOptions[];
  /** A silent peer is down after this many ms (default 60000). */
  tickTime?: number;
  /** TLS (`wss`): file paths relative to the config file. */
  tls?: TlsSection;
  /** Largest frame accepted or sent, in bytes (DistNode's `maxFrameSize`). */
  maxFrameSize?: number;
  /** Largest frame accepted before a peer has authenticated, in bytes (DistNode's `handshakeFrameSize`). */
  handshakeFrameSize?: number;
  /** Most connections that have not authenticated yet at once (DistNode's `maxHandshakes`). */
  maxHandshakes?: number;
  /** Milliseconds a handshake may take (DistNode's `handshakeTimeout`). */
  handshakeTimeout?: number;
  /** Serve `GET /metrics` (Prometheus text) on 127.0.0.1 at this port (0: any free one); off when absent. */
  metrics?: { port: number };
}

/** `node.tls`: the node's certificate and key, and how it treats peers. Paths are relative to the config file. */
export interface TlsSection {
  /** The node's certificate (PEM file). */
  cert: string;
  /** Its private key (PEM file). */
  key: string;
  /** CA certificate(s) to verify peers with (PEM files). */
  ca?: string | string[];
  /** Refuse dialling nodes without a valid client certificate (default true). */
  requireClientCert?: boolean;
  /** Also dial plain `ws://` seeds and members (default false). */
  allowPlainSeeds?: boolean;
}

/** Cookies shorter than this get a warning: a cookie is the cluster's only secret (SECURITY.md). */
export const MIN_COOKIE_LENGTH = 16;

/** One application to load (and maybe start). */
export interface ApplicationEntry {
  /** Module path, relative to the config file. */
  module: string;
  /** The export holding the spec (or a `(node) => spec` factory); default `default`. */
  export?: string;
  /** Start it after loading (default false: load only). */
  start?: boolean;
  /** Restart type when started (default `temporary`). */
  restartType?: AppRestartType;
}

/** `log`: how `rigil start` writes its log (stderr). */
export interface LogSection {
  /** `text` (default) or `json`: one JSON object per line (`--log-format` overrides it). */
  format?: LogFormat;
}

/** A validated config file. */
export interface NodeConfig {
  node: NodeSection;
  /** How the log is written (empty: the defaults). */
  log: LogSection;
  kernel: KernelConfig;
  applications: ApplicationEntry[];
  env: Record<string, Record<string, unknown>>;
  /** Directory of the config file (module paths are relative to it). */
  dir: string;
}

const SEED = /^[A-Za-z0-9_.-]+@([A-Za-z0-9_.-]+|\[[0-9a-fA-F:]+\]):\d{1,5}$/;

/** Reads and validates a config file; throws `ERR_CONFIG` naming the problem. */
export function readConfig(path: string): NodeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError('ERR_CONFIG', `cannot read config file ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CliError('ERR_CONFIG', `${path} is not valid JSON: ${(e as Error).message}`);
  }
  return checkConfig(raw, dirname(resolve(path)));
}

/** Validates a parsed config object. */
export function checkConfig(raw: unknown, dir: string): NodeConfig {
  const bad = (key: string, what: string): never => {
    throw new CliError('ERR_CONFIG', `config ${key}: ${what}`);
  };
  if (!isObject(raw)) bad('(top level)', 'must be an object');
  const c = raw as Record<string, unknown>;
  onlyKeys(c, ['node', 'kernel', 'applications', 'env', 'log'], '', bad);
  if (!isObject(c.node)) bad('node', 'is required and must be an object');
  const n = c.node as Record<string, unknown>;
  onlyKeys(n, ['name', 'port', 'host', 'cookie', 'cookieFile', 'seeds', 'discovery', 'tickTime', 'tls', 'maxFrameSize', 'handshakeFrameSize', 'maxHandshakes', 'handshakeTimeout', 'metrics'], 'node.', bad);
  if (typeof n.name !== 'string' || !/^[A-Za-z0-9_.-]+@[A-Za-z0-9_.:-]+$/.test(n.name)) bad('node.name', 'must be name@host');
  if (n.port !== undefined && !(Number.isInteger(n.port) && (n.port as number) >= 0 && (n.port as number) <= 65535)) bad('node.port', 'must be a port number (0–65535)');
  if (n.host !== undefined && typeof n.host !== 'string') bad('node.host', 'must be a string');
  if (n.cookie === undefined && n.cookieFile === undefined) bad('node.cookie', 'a cookie or a cookieFile is required');
  if (n.cookie !== undefined && (typeof n.cookie !== 'string' || n.cookie === '')) bad('node.cookie', 'must be a non-empty string');
  if (n.cookieFile !== undefined && typeof n.cookieFile !== 'string') bad('node.cookieFile', 'must be a path');
  if (n.seeds !== undefined) {
    if (!Array.isArray(n.seeds)) bad('node.seeds', 'must be an array of name@host:port or ws(s):// URLs');
    (n.seeds as unknown[]).forEach((seed, i) => {
      if (typeof seed !== 'string' || !(SEED.test(seed) || /^wss?:\/\/[^\s/]+/.test(seed))) bad(`node.seeds[${i}]`, `${JSON.stringify(seed)} is neither name@host:port nor a ws(s):// URL`);
    });
  }
  if (n.discovery !== undefined) checkDiscoverySection(n.discovery, bad);
  if (n.tickTime !== undefined && !(typeof n.tickTime === 'number' && n.tickTime >= 40)) bad('node.tickTime', 'must be a number of ms ≥ 40');
  const int = (key: string, min: number, what: string): void => {
    const v = n[key];
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min)) bad(`node.${key}`, `must be ${what} (an integer ≥ ${min})`);
  };
  int('maxFrameSize', 1024, 'a number of bytes');
  int('handshakeFrameSize', 256, 'a number of bytes');
  int('maxHandshakes', 1, 'a number of connections');
  int('handshakeTimeout', 1, 'a number of ms');
  if (n.metrics !== undefined) {
    if (!isObject(n.metrics)) bad('node.metrics', 'must be an object { port }');
    const m = n.metrics as Record<string, unknown>;
    onlyKeys(m, ['port'], 'node.metrics.', bad);
    if (!(Number.isInteger(m.port) && (m.port as number) >= 0 && (m.port as number) <= 65535)) bad('node.metrics.port', 'must be a port number (0–65535)');
  }
  if (n.tls !== undefined) {
    if (!isObject(n.tls)) bad('node.tls', 'must be an object { cert, key, ca?, requireClientCert?, allowPlainSeeds? }');
    const t = n.tls as Record<string, unknown>;
    onlyKeys(t, ['cert', 'key', 'ca', 'requireClientCert', 'allowPlainSeeds'], 'node.tls.', bad);
    if (typeof t.cert !== 'string' || t.cert === '') bad('node.tls.cert', 'is required: the path of the node\'s certificate (PEM)');
    if (typeof t.key !== 'string' || t.key === '') bad('node.tls.key', 'is required: the path of the node\'s private key (PEM)');
    if (t.ca !== undefined && !(typeof t.ca === 'string' || (Array.isArray(t.ca) && t.ca.every((x) => typeof x === 'string')))) bad('node.tls.ca', 'must be a path or an array of paths');
    if (t.requireClientCert !== undefined && typeof t.requireClientCert !== 'boolean') bad('node.tls.requireClientCert', 'must be true or false');
    if (t.allowPlainSeeds !== undefined && typeof t.allowPlainSeeds !== 'boolean') bad('node.tls.allowPlainSeeds', 'must be true or false');
    if (t.allowPlainSeeds !== true) {
      ((n.seeds as unknown[] | undefined) ?? []).forEach((seed, i) => {
        if (typeof seed === 'string' && seed.startsWith('ws://')) bad(`node.seeds[${i}]`, 'a TLS node does not dial plain ws:// seeds (set node.tls.allowPlainSeeds to allow it)');
      });
      staticNodes(n.discovery).forEach(([key, seed]) => {
        if (seed.startsWith('ws://')) bad(key, 'a TLS node does not dial plain ws:// seeds (set node.tls.allowPlainSeeds to allow it)');
      });
    }
  }
  let kernel: KernelConfig = {};
  if (c.kernel !== undefined) {
    try {
      kernel = checkKernelConfig(c.kernel);
      // A relative epochDir is relative to the config file, as module paths are.
      if (kernel.epochDir !== undefined) kernel = { ...kernel, epochDir: resolve(dir, kernel.epochDir) };
    } catch (e) {
      if (e instanceof DistAcError) {
        const i = e.message.indexOf(': ');
        bad(`kernel.${e.message.slice(0, i)}`, e.message.slice(i + 2));
      }
      throw e;
    }
  }
  const applications: ApplicationEntry[] = [];
  if (c.applications !== undefined) {
    if (!Array.isArray(c.applications)) bad('applications', 'must be an array');
    (c.applications as unknown[]).forEach((a, i) => {
      const key = `applications[${i}]`;
      if (!isObject(a)) bad(key, 'must be an object');
      const e = a as Record<string, unknown>;
      onlyKeys(e, ['module', 'export', 'start', 'restartType'], `${key}.`, bad);
      if (typeof e.module !== 'string' || e.module === '') bad(`${key}.module`, 'must be a module path');
      if (e.export !== undefined && typeof e.export !== 'string') bad(`${key}.export`, 'must be a string');
      if (e.start !== undefined && typeof e.start !== 'boolean') bad(`${key}.start`, 'must be true or false');
      if (e.restartType !== undefined && !['permanent', 'transient', 'temporary'].includes(e.restartType as string)) {
        bad(`${key}.restartType`, 'must be permanent, transient or temporary');
      }
      applications.push(e as unknown as ApplicationEntry);
    });
  }
  const env: Record<string, Record<string, unknown>> = {};
  if (c.env !== undefined) {
    if (!isObject(c.env)) bad('env', 'must map application names to objects');
    for (const [app, values] of Object.entries(c.env as object)) {
      if (!isObject(values)) bad(`env.${app}`, 'must be an object');
      env[app] = values as Record<string, unknown>;
    }
  }
  const log: LogSection = {};
  if (c.log !== undefined) {
    if (!isObject(c.log)) bad('log', 'must be an object { format? }');
    const l = c.log as Record<string, unknown>;
    onlyKeys(l, ['format'], 'log.', bad);
    if (l.format !== undefined) {
      if (!(LOG_FORMATS as readonly unknown[]).includes(l.format)) bad('log.format', `must be one of ${LOG_FORMATS.join(', ')}`);
      log.format = l.format as LogFormat;
    }
  }
  return { node: n as unknown as NodeSection, log, kernel, applications, env, dir };
}

/** The cookie of a config: inline, or read from `cookieFile` (trimmed). */
export function cookieOf(c: NodeConfig): string {
  if (c.node.cookie !== undefined) return c.node.cookie;
  const path = resolve(c.dir, c.node.cookieFile!);
  try {
    const cookie = readFileSync(path, 'utf8').trim();
    if (cookie === '') throw new Error('the file is empty');
    return cookie;
  } catch (e) {
    throw new CliError('ERR_CONFIG', `config node.cookieFile: cannot read ${path}: ${(e as Error).message}`);
  }
}

/**
 * The TLS options of a config for `DistNode.start`, with the files read (paths relative to the
 * config file); undefined without `node.tls`. `requireClientCert` defaults to true: without
 * client certificates anyone who reaches the port gets to the cookie handshake.
 */
export function tlsOf(c: NodeConfig): TlsOptions | undefined {
  const t = c.node.tls;
  if (t === undefined) return undefined;
  const read = (key: string, file: string): string => {
    const path = resolve(c.dir, file);
    try {
      return readFileSync(path, 'utf8');
    } catch (e) {
      throw new CliError('ERR_CONFIG', `config node.tls.${key}: cannot read ${path}: ${(e as Error).message}`);
    }
  };
  const ca = t.ca === undefined ? undefined : Array.isArray(t.ca) ? t.ca.map((f, i) => read(`ca[${i}]`, f)) : read('ca', t.ca);
  return {
    cert: read('cert', t.cert),
    key: read('key', t.key),
    ...(ca !== undefined ? { ca } : {}),
    requireClientCert: t.requireClientCert ?? true,
    allowPlain: t.allowPlainSeeds ?? false,
  };
}

/** A warning for a cookie shorter than `MIN_COOKIE_LENGTH`, or undefined. */
export function cookieWarning(cookie: string): string | undefined {
  if (cookie.length >= MIN_COOKIE_LENGTH) return undefined;
  return `warning: the cookie is ${cookie.length} characters long; use at least ${MIN_COOKIE_LENGTH} random characters — anyone who knows or guesses it controls the cluster (see @rigil/net SECURITY.md)`;
}

/**
 * `node.discovery`: checked by @rigil/net's `checkDiscovery` (its `ERR_BAD_DISCOVERY` message
 * names the strategy and key, turned into a config key here), and the static strategy's nodes
 * as seeds.
 */
function checkDiscoverySection(d: unknown, bad: (k: string, w: string) => never): void {
  try {
    checkDiscovery(d);
  } catch (e) {
    if (e instanceof DistError && e.code === 'ERR_BAD_DISCOVERY') {
      const i = e.message.indexOf(': ');
      bad(`node.${e.message.slice(0, i)}`, e.message.slice(i + 2));
    }
    throw e;
  }
  for (const [key, seed] of staticNodes(d)) {
    if (!(SEED.test(seed) || /^wss?:\/\/[^\s/]+/.test(seed))) bad(key, `${JSON.stringify(seed)} is neither name@host:port nor a ws(s):// URL`);
  }
}

/** The nodes of the static strategies of a (checked) `node.discovery`, with their config keys. */
function staticNodes(d: unknown): Array<[string, string]> {
  if (d === undefined) return [];
  const list = Array.isArray(d) ? d : [d];
  const out: Array<[string, string]> = [];
  list.forEach((s: { strategy?: unknown; nodes?: unknown }, i) => {
    if (s?.strategy !== 'static' || !Array.isArray(s.nodes)) return;
    const prefix = Array.isArray(d) ? `node.discovery[${i}]` : 'node.discovery';
    s.nodes.forEach((seed: unknown, j) => {
      if (typeof seed === 'string') out.push([`${prefix}.nodes[${j}]`, seed]);
    });
  });
  return out;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function onlyKeys(o: Record<string, unknown>, keys: string[], prefix: string, bad: (k: string, w: string) => never): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) bad(`${prefix}${k}`, `unknown key (expected one of: ${keys.join(', ')})`);
}
