/**
 * `rigil start <config>`: starts a node from a config file — distribution, the distributed
 * application controller, the applications — and keeps it running until SIGTERM/SIGINT,
 * which stop it gracefully (applications in reverse start order).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { formatReason, type ApplicationSpec } from '@rigil/core';
import { DistError, DistNode, installControlBuiltins, serveMetrics, type NodeEvent } from '@rigil/net';
import { startDistAc, type DistAc } from '@rigil/dist-ac';
import { cookieOf, cookieWarning, readConfig, tlsOf, type NodeConfig } from './config.js';
import { CliError, EXIT } from './errors.js';
import { CliLog, type LogFormat } from './log.js';
import { ensureTypeScriptLoader, isTypeScriptModule } from './typescript.js';

/** A node started from a config. */
export interface StartedNode {
  readonly node: DistNode;
  readonly distAc: DistAc;
  /** The port of the `GET /metrics` server (`node.metrics.port`), when one runs. */
  readonly metricsPort?: number;
}

/**
 * Starts a node from a validated config: listens, loads the application modules, starts the
 * distributed application controller (waiting for sync nodes), exposes the application
 * procedures over rpc, and starts the applications marked `start`. `log` gets the node's
 * reports and nodeup/nodedown events from the moment it listens (a `CliLog`, or nothing).
 * A port in use is `ERR_PORT_IN_USE` naming `node.port`; another refusal to listen is
 * `ERR_CONFIG` naming `node.host` (or `node.port` for a privileged one).
 */
export async function startFromConfig(config: NodeConfig, log?: CliLog): Promise<StartedNode> {
  const specs: ApplicationSpec[] = [];
  const n = config.node;
  const cookie = cookieOf(config);
  const warning = cookieWarning(cookie);
  if (warning !== undefined) log?.line(warning, 'warn');
  const tls = tlsOf(config);
  const node = await listenOrExplain(config, () => DistNode.start({
    name: n.name,
    cookie,
    port: n.port ?? 0,
    ...(n.host !== undefined ? { host: n.host } : {}),
    seeds: n.seeds ?? [],
    ...(n.discovery !== undefined ? { discovery: n.discovery } : {}),
    ...(n.tickTime !== undefined ? { tickTime: n.tickTime } : {}),
    ...(tls !== undefined ? { tls } : {}),
    ...(n.maxFrameSize !== undefined ? { maxFrameSize: n.maxFrameSize } : {}),
    ...(n.handshakeFrameSize !== undefined ? { handshakeFrameSize: n.handshakeFrameSize } : {}),
    ...(n.maxHandshakes !== undefined ? { maxHandshakes: n.maxHandshakes } : {}),
    ...(n.handshakeTimeout !== undefined ? { handshakeTimeout: n.handshakeTimeout } : {}),
  }));
  try {
    if (log !== undefined) {
      node.onReport((r) => log.report(r));
      node.onNodeEvent((e) => log.line(describeNodeEvent(e), e.type === 'nodedown' && e.lost !== 'goodbye' && e.lost !== 'local' ? 'warn' : 'info', { event: e.type, peer: e.node, hidden: e.hidden }));
      log.line(`listening on ${node.url}`, 'info', { url: node.url ?? '', port: node.port });
    }
    node.application.configure(config.env);
    for (const entry of config.applications) specs.push(await loadSpec(config, entry.module, entry.export ?? 'default', node));
    for (const spec of specs) {
      const r = node.application.load(spec);
      if (r !== 'ok') throw new CliError('ERR_CONFIG', `application ${spec.name}: ${JSON.stringify(r.error)}`);
    }
    const distAc = await startDistAc(node, config.kernel);
    exposeApplicationProcedures(node);
    for (const [i, entry] of config.applications.entries()) {
      if (!entry.start) continue;
      const r = await node.application.start(specs[i]!.name, entry.restartType ?? 'temporary');
      // No line of its own: the application controller's progress report says it started.
      if (r !== 'ok') throw new CliError('ERR_FAILED', `application ${specs[i]!.name} did not start: ${formatReason(r.error)}`);
    }
    if (n.metrics !== undefined) {
      const m = await serveMetrics(node, { port: n.metrics.port });
      log?.line(`metrics on http://127.0.0.1:${m.port}/metrics`, 'info', { metricsPort: m.port });
      return { node, distAc, metricsPort: m.port };
    }
    return { node, distAc };
  } catch (e) {
    await node.stop();
    throw e;
  }
}

/**
 * The `rigil start` command. Resolves with the exit code once the node has stopped. The log
 * format is `format` (`--log-format`), else the config's `log.format`, else text.
 */
export async function startCommand(configPath: string, format?: LogFormat): Promise<number> {
  const config = readConfig(configPath);
  const out = new CliLog(format ?? config.log.format ?? 'text', config.node.name);
  const restoreDebug = out.captureDebug();
  try {
    return await runNode(config, out);
  } finally {
    restoreDebug();
  }
}

async function runNode(config: NodeConfig, out: CliLog): Promise<number> {
  const log = (line: string): void => out.line(line);
  // Signals are handled from the start: one that arrives while the node boots stops it as soon
  // as it is up, gracefully.
  let signalled: string | undefined;
  const current: { node?: DistNode } = {};
  const stop = (signal: string): void => {
    signalled = signal;
    log(`${signal}: stopping`);
    void current.node?.stop();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  const { node, metricsPort } = await startFromConfig(config, out);
  current.node = node;
  if (signalled !== undefined) void node.stop();
  // One full collection now, while nothing waits on this node: V8's first full collection
  // otherwise comes a few hundred ms into the node's life, when the old generation first
  // reaches its initial limit — typically in the middle of the first takeover or failover, a
  // 5–9 ms pause on the critical path (seen with --trace-gc in bench:dist-ac: the restarted
  // node's takeover, 25 ms median, 14 ms with this). No OTP counterpart (BEAM collects per
  // process). The boot takes ~10 ms longer.
  collectBootGarbage();
  process.stdout.write(`${JSON.stringify({ event: 'ready', node: node.name, port: node.port, url: node.url, ...(metricsPort !== undefined ? { metricsPort } : {}) })}\n`);
  // The node may also stop by itself (a permanent application died): the command ends then too.
  await node.whenStopped();
  log('stopped');
  return signalled !== undefined ? EXIT.OK : EXIT.FAILED;
}

/**
 * Runs one full garbage collection (see `runNode`): through `global.gc` when node runs with
 * `--expose-gc`, else by exposing it for a moment, as jest's leak detector does.
 */
function collectBootGarbage(): void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed();
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  setFlagsFromString('--no-expose-gc');
  gc();
}

/**
 * Exposes the application and node controls a node started by the CLI offers to tools
 * (`rigil rpc`) and tests: `application.start/stop/takeover/permit/whereRunning`, `node.stop`.
 * They are defined, with their argument checks, in @rigil/net's built-ins table
 * (`CONTROL_BUILTINS`); this installs them.
 */
export function exposeApplicationProcedures(node: DistNode): void {
  installControlBuiltins(node);
}

async function loadSpec(config: NodeConfig, module: string, name: string, node: DistNode): Promise<ApplicationSpec> {
  const path = resolve(config.dir, module);
  let mod: Record<string, unknown>;
  if (isTypeScriptModule(path)) await ensureTypeScriptLoader(path);
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (e) {
    throw new CliError('ERR_APP_MODULE', `cannot import application module ${path}: ${(e as Error).message}`);
  }
  const exported = mod[name];
  const spec = typeof exported === 'function' ? (exported as (n: DistNode) => unknown)(node) : exported;
  if (typeof spec !== 'object' || spec === null || typeof (spec as ApplicationSpec).name !== 'string') {
    throw new CliError('ERR_APP_MODULE', `${path} does not export an application spec as ${JSON.stringify(name)}`);
  }
  return spec as ApplicationSpec;
}

/** One line for a nodeup or nodedown (peer names are node names: checked by the handshake). */
function describeNodeEvent(e: NodeEvent): string {
  const peer = `${e.node}${e.hidden ? ' (hidden)' : ''}`;
  if (e.type === 'nodeup') return `nodeup ${peer}`;
  const how = { died: 'its connection was lost', goodbye: 'it disconnected', silent: 'it was silent for tickTime', local: 'disconnected here' }[e.lost ?? 'died'];
  return `nodedown ${peer}: ${how}${e.reason !== undefined ? ` (${e.reason.code})` : ''}`;
}

/**
 * Runs `DistNode.start`, turning a refusal to listen into a config error that names the key:
 * @rigil/net's `ERR_ADDRESS_IN_USE` → `ERR_PORT_IN_USE` (exit 2), `ERR_LISTEN` → `ERR_CONFIG`.
 */
async function listenOrExplain(config: NodeConfig, start: () => Promise<DistNode>): Promise<DistNode> {
  try {
    return await start();
  } catch (e) {
    if (!(e instanceof DistError)) throw e;
    const { host, port, cause } = (e.reason ?? {}) as { host?: string; port?: number; cause?: string };
    if (e.code === 'ERR_ADDRESS_IN_USE') {
      throw new CliError('ERR_PORT_IN_USE', `config node.port: port ${port} on ${host} is already in use (another node or program listens there); stop it, or choose another port (0: any free one)`);
    }
    if (e.code === 'ERR_LISTEN') {
      const key = cause === 'EACCES' ? 'node.port' : config.node.host !== undefined ? 'node.host' : 'node.name';
      throw new CliError('ERR_CONFIG', `config ${key}: cannot listen on ${host}:${port} (${cause})${cause === 'EACCES' ? ': ports below 1024 need privileges' : cause === 'EADDRNOTAVAIL' || cause === 'ENOTFOUND' ? ': the host is not an address of this machine' : ''}`);
    }
    throw e;
  }
}
