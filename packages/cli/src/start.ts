/**
 * `rigil start <config>`: starts a node from a config file — distribution, the distributed
 * application controller, the applications — and keeps it running until SIGTERM/SIGINT,
 * which stop it gracefully (applications in reverse start order).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatReason, type ApplicationSpec, type Report } from '@rigil/core';
import { DistNode, escapeUntrusted, installControlBuiltins, renderUntrusted, serveMetrics } from '@rigil/net';
import { startDistAc, type DistAc } from '@rigil/dist-ac';
import { cookieOf, cookieWarning, readConfig, tlsOf, type NodeConfig } from './config.js';
import { CliError, EXIT } from './errors.js';
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
 * procedures over rpc, and starts the applications marked `start`.
 */
export async function startFromConfig(config: NodeConfig, log: (line: string) => void = () => undefined): Promise<StartedNode> {
  const specs: ApplicationSpec[] = [];
  const n = config.node;
  const cookie = cookieOf(config);
  const warning = cookieWarning(cookie);
  if (warning !== undefined) log(warning);
  const tls = tlsOf(config);
  const node = await DistNode.start({
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
  });
  try {
    node.onReport((r) => log(describeReport(r)));
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
      if (r !== 'ok') throw new CliError('ERR_FAILED', `application ${specs[i]!.name} did not start: ${formatReason(r.error)}`);
      log(`application ${specs[i]!.name} started`);
    }
    if (n.metrics !== undefined) {
      const m = await serveMetrics(node, { port: n.metrics.port });
      log(`metrics on http://127.0.0.1:${m.port}/metrics`);
      return { node, distAc, metricsPort: m.port };
    }
    return { node, distAc };
  } catch (e) {
    await node.stop();
    throw e;
  }
}

/** The `rigil start` command. Resolves with the exit code once the node has stopped. */
export async function startCommand(configPath: string): Promise<number> {
  const config = readConfig(configPath);
  const log = (line: string): void => void process.stderr.write(`[${config.node.name}] ${line}\n`);
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
  const { node, metricsPort } = await startFromConfig(config, log);
  current.node = node;
  if (signalled !== undefined) void node.stop();
  process.stdout.write(`${JSON.stringify({ event: 'ready', node: node.name, port: node.port, url: node.url, ...(metricsPort !== undefined ? { metricsPort } : {}) })}\n`);
  log(`node ${node.name} listening on ${node.url}`);
  // The node may also stop by itself (a permanent application died): the command ends then too.
  await node.whenStopped();
  log('stopped');
  return signalled !== undefined ? EXIT.OK : EXIT.FAILED;
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

/**
 * One log line for a report. Reports can carry what peers sent (an exit reason, a malformed
 * request), so the line is bounded and escaped: one line, whatever a peer put in it.
 */
function describeReport(r: Report): string {
  const reason = r.reason === undefined ? '' : `: ${typeof r.reason === 'string' ? escapeUntrusted(r.reason, 1000) : renderUntrusted(r.reason, { maxLength: 1000, maxDepth: 4 })}`;
  return `${escapeUntrusted(r.kind, 40)}: ${escapeUntrusted(r.message, 2000)}${reason}`;
}
