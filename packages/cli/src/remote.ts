/**
 * `rigil status` and `rigil rpc`: connect to a node as a hidden node (it does not join the
 * cluster and does not show in `nodes()`), ask it over rpc, print the answer.
 */
import { randomBytes } from 'node:crypto';
import { DistNode, escapeUntrusted, RpcError, type DistError } from '@rigil/net';
import { CliError } from './errors.js';

/** How many of an application's last moves `rigil status` shows. */
export const STATUS_MOVES = 5;

/** One move of a distributed application, as `rigil status` shows it (@rigil/dist-ac's `Move`). */
export interface StatusMove {
  node: string | null;
  startType: unknown;
  cause: string;
  at: string;
  previous: string | null;
  /** The fencing epoch of the instance the move started (of the one that stopped, for a stop); null when unknown. */
  epoch: number | null;
}

/** What `rigil status --json` prints. */
export interface ClusterStatus {
  nodes: string[];
  /** Where each distributed application runs, as the target node knows it, with its last `STATUS_MOVES` moves (oldest first). */
  applications: Record<string, { node: string | null; startType: unknown; since: string | null; previous: string | null; cause: string | null; epoch: number | null; moves: StatusMove[] }>;
  global: Record<string, { pid: string; node: string }>;
}

/**
 * Connects to `target` (`name@host:port`) as a hidden node; throws `ERR_NOT_LISTENING`,
 * `ERR_BAD_COOKIE`, `ERR_WRONG_NODE` or `ERR_CONNECT` if it cannot (see `connectError`).
 */
export async function connectHidden(target: string, cookie: string, timeoutMs = 5000): Promise<{ probe: DistNode; name: string }> {
  const m = /^([A-Za-z0-9_.-]+@[A-Za-z0-9_.:-]+?):(\d+)$/.exec(target);
  if (m === null) throw new CliError('ERR_USAGE', `node must be name@host:port, got ${JSON.stringify(target)}`);
  const name = m[1]!;
  const probe = await DistNode.start({
    name: `rigil-${process.pid}-${randomBytes(3).toString('hex')}@127.0.0.1`,
    cookie,
    hidden: true,
    listen: false,
    seeds: [target],
    handshakeTimeout: timeoutMs,
  });
  if (!(await probe.connect(name))) {
    const why = probe.net.dialError(name);
    await probe.stop();
    throw connectError(target, name, why);
  }
  return { probe, name };
}

/**
 * Why a connection to `target` failed, as the command's error: nothing listening
 * (`ECONNREFUSED`) → `ERR_NOT_LISTENING`; the node refused the cookie → `ERR_BAD_COOKIE`;
 * another node answered (the handshake named it) → `ERR_WRONG_NODE`; anything else →
 * `ERR_CONNECT` with what failed.
 */
export function connectError(target: string, name: string, why: DistError | undefined): CliError {
  const reason = (why?.reason ?? {}) as { cause?: unknown; peerCode?: unknown };
  if (reason.cause === 'ECONNREFUSED') {
    return new CliError('ERR_NOT_LISTENING', `cannot connect to ${target}: nothing is listening there (connection refused); is the node running, and is the port right?`);
  }
  if (reason.peerCode === 'ERR_BAD_COOKIE') {
    return new CliError('ERR_BAD_COOKIE', `${name} at ${target} refused the connection: wrong cookie (use the cluster's cookie: --cookie, --cookie-file or RIGIL_COOKIE)`);
  }
  if (why?.code === 'ERR_BAD_NAME') {
    // "dialled X but reached Y": the peer's name is in the handshake's challenge (escaped there).
    const reached = /but reached (\S+)$/.exec(why.message)?.[1];
    return new CliError('ERR_WRONG_NODE', `${target} is ${reached ?? 'another node'}, not ${name}: check the node name and the port`);
  }
  const detail = why === undefined ? 'no answer' : `${why.message}${typeof reason.peerCode === 'string' ? ` (${reason.peerCode})` : ''}`;
  return new CliError('ERR_CONNECT', `cannot connect to ${target}: ${escapeUntrusted(detail, 300)}`);
}

/** Gathers the cluster's status through `target`. */
export async function clusterStatus(probe: DistNode, target: string): Promise<ClusterStatus> {
  const info = (await probe.rpc.call(target, 'node.info')) as { nodes: string[] };
  const nodes = [target, ...info.nodes].sort();
  const applications: ClusterStatus['applications'] = {};
  try {
    for (const p of (await probe.rpc.call(target, 'distAc.info')) as Array<{ application: string; node: string | null; startType: unknown; since: string | null; previous: string | null; cause: string | null; epoch?: number | null; history?: StatusMove[] }>) {
      // `history` and `epoch` are absent on nodes that predate them.
      const moves = Array.isArray(p.history) ? p.history.slice(-STATUS_MOVES) : [];
      applications[p.application] = { node: p.node, startType: p.startType, since: p.since, previous: p.previous, cause: p.cause, epoch: typeof p.epoch === 'number' ? p.epoch : null, moves };
    }
  } catch (e) {
    if (!(e instanceof RpcError && e.code === 'ERR_UNKNOWN_PROCEDURE')) throw e;
  }
  const global: ClusterStatus['global'] = {};
  for (const [name, pid] of (await probe.rpc.call(target, 'global.names')) as Array<[string, { node: string } | undefined]>) {
    if (pid !== undefined) global[name] = { pid: String(pid), node: pid.node };
  }
  return { nodes, applications, global };
}

/** Renders a status for people. */
export function formatStatus(s: ClusterStatus): string {
  const lines = [`nodes (${s.nodes.length}):`, ...s.nodes.map((n) => `  ${n}`), 'distributed applications:'];
  const apps = Object.entries(s.applications);
  if (apps.length === 0) lines.push('  (none)');
  for (const [app, p] of apps) {
    if (p.node === null) lines.push(`  ${app}: not running`);
    else lines.push(`  ${app}: on ${p.node} since ${p.since} (${p.cause}, start type ${JSON.stringify(p.startType)}${p.epoch !== null ? `, epoch ${p.epoch}` : ''}${p.previous ? `, before on ${p.previous}` : ''})`);
    if (p.moves.length > 0) lines.push(`    last moves (oldest first):`);
    for (const m of p.moves) lines.push(`      ${m.at}  ${m.node === null ? 'stopped' : `-> ${m.node}`}  ${m.cause}${m.node !== null ? ` (${JSON.stringify(m.startType)})` : ''}${m.epoch !== null && m.epoch !== undefined ? `  epoch ${m.epoch}` : ''}${m.previous ? `, from ${m.previous}` : ''}`);
  }
  lines.push('global names:');
  const names = Object.entries(s.global);
  if (names.length === 0) lines.push('  (none)');
  for (const [name, g] of names) lines.push(`  ${name} -> ${g.pid} on ${g.node}`);
  return lines.join('\n');
}

/** Parses an rpc argument: JSON when it parses, the plain string otherwise. */
export function parseArg(a: string): unknown {
  try {
    return JSON.parse(a);
  } catch {
    return a;
  }
}
