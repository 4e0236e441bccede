/**
 * Remote procedure calls (OTP's `rpc`, restricted): a node exposes procedures by name — a
 * fixed set of built-ins plus what the user registers — and other nodes call them. There is
 * no way to run arbitrary code: an unknown procedure is an `ERR_UNKNOWN_PROCEDURE` error.
 *
 * Each node runs a `rex` server (as OTP does); every call runs in a process of its own, so a
 * slow procedure does not hold up the others.
 */
import { CallError, genServer, type GenServerBehaviour, type Pid, type Process } from '@rigil/core';
import { RpcError } from './errors.js';
import type { DistNode } from './dist_node.js';

/** A procedure: gets the call's arguments and the process it runs in; may be async. */
export type Procedure = (args: unknown[], self: Process) => unknown;

/** A function that can be spawned remotely by name (`rpc.spawn`). */
export type SpawnableFunction = (self: Process, ...args: unknown[]) => unknown;

/** The registered name of the rpc server on every node. */
export const REX = 'rex';

type RexRequest = { readonly proc: string; readonly args: unknown[] };
type RexReply = { readonly ok: unknown } | { readonly error: unknown } | { readonly unknownProcedure: string };

/** The rpc service of a node: its procedures, and calls to other nodes' procedures. */
export class Rpc {
  private readonly procedures = new Map<string, Procedure>();
  private readonly spawnables = new Map<string, SpawnableFunction>();

  constructor(private readonly node: DistNode) {
    this.register('ping', () => 'pong');
    this.register('node.info', () => ({
      name: node.name,
      creation: node.creation,
      nodes: node.nodes(),
      processes: node.processCount,
      uptimeMs: Math.round(performance.now() - node.startedAt),
    }));
    this.register('application.which', () => node.application.whichApplications());
    this.register('application.loaded', () => node.application.loadedApplications());
    this.register('registered', () => node.registered());
    this.register('whereis', (args) => node.whereis(String(args[0])) ?? null);
    this.register('process.info', (args) => {
      const pid = args[0];
      if (typeof pid !== 'object' || pid === null || (pid as Pid).node !== node.name) return undefined;
      return node.processInfo(pid as Pid);
    });
    this.register('rpc.procedures', () => this.list());
    this.register('spawn', (args) => {
      const [name, ...rest] = args;
      const fn = typeof name === 'string' ? this.spawnables.get(name) : undefined;
      if (fn === undefined) throw new RpcError('ERR_UNKNOWN_PROCEDURE', `no spawnable function ${String(name)}`, { unknownFunction: name }, node.name, 'spawn');
      return node.spawn((self) => fn(self, ...rest));
    });
  }

  /** Exposes a procedure under `name` (replacing one of the same name). */
  register(name: string, fn: Procedure): void {
    this.procedures.set(name, fn);
  }

  /** Removes a procedure. */
  unregister(name: string): boolean {
    return this.procedures.delete(name);
  }

  /** Makes `fn` spawnable from other nodes by name (see `spawn`). */
  registerFunction(name: string, fn: SpawnableFunction): void {
    this.spawnables.set(name, fn);
  }

  /** The names of the exposed procedures. */
  list(): string[] {
    return [...this.procedures.keys()].sort();
  }

  /** @internal Looks a procedure up. */
  lookup(name: string): Procedure | undefined {
    return this.procedures.get(name);
  }

  /**
   * Calls `procedure` on `node` and returns its value (OTP's `rpc:call/5`). Throws `RpcError`:
   * `ERR_UNKNOWN_PROCEDURE`, `ERR_RPC_NODEDOWN`, `ERR_RPC_TIMEOUT`, `ERR_RPC_FAILED` (with the
   * procedure's exception as `reason`).
   */
  async call(node: string, procedure: string, args: unknown[] = [], timeoutMs = 5000): Promise<unknown> {
    let r: RexReply;
    try {
      r = (await genServer.call(this.node, [REX, node], { proc: procedure, args } satisfies RexRequest, timeoutMs)) as RexReply;
    } catch (e) {
      if (e instanceof CallError) {
        if (e.code === 'ERR_CALL_TIMEOUT') throw new RpcError('ERR_RPC_TIMEOUT', `rpc ${procedure} on ${node} timed out after ${timeoutMs} ms`, 'timeout', node, procedure);
        if (e.code === 'ERR_CALL_NODEDOWN' || e.code === 'ERR_CALL_NOPROC' || e.code === 'ERR_NODE_STOPPED') {
          throw new RpcError('ERR_RPC_NODEDOWN', `rpc ${procedure}: node ${node} is down`, { nodedown: node }, node, procedure);
        }
        throw new RpcError('ERR_RPC_FAILED', `rpc ${procedure} on ${node} failed: ${e.message}`, e.reason, node, procedure);
      }
      throw e;
    }
    if ('ok' in r) return r.ok;
    if ('unknownProcedure' in r) throw new RpcError('ERR_UNKNOWN_PROCEDURE', `${node} has no procedure ${JSON.stringify(procedure)}`, { unknownProcedure: procedure }, node, procedure);
    throw new RpcError('ERR_RPC_FAILED', `rpc ${procedure} on ${node} failed`, r.error, node, procedure);
  }

  /** Runs `procedure` on `node` without waiting for it (OTP's `rpc:cast/4`). */
  cast(node: string, procedure: string, args: unknown[] = []): void {
    genServer.cast(this.node, [REX, node], { proc: procedure, args } satisfies RexRequest);
  }

  /**
   * Calls `procedure` on every node of `nodes` (OTP's `rpc:multicall/5`): the values of the
   * nodes that answered, and the nodes that did not.
   */
  async multicall(nodes: readonly string[], procedure: string, args: unknown[] = [], timeoutMs = 5000): Promise<{ results: Array<[string, unknown]>; badNodes: string[] }> {
    const settled = await Promise.allSettled(nodes.map((n) => this.call(n, procedure, args, timeoutMs)));
    const results: Array<[string, unknown]> = [];
    const badNodes: string[] = [];
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') results.push([nodes[i]!, s.value]);
      else badNodes.push(nodes[i]!);
    });
    return { results, badNodes };
  }

  /** Spawns a registered function on `node` with `args` (OTP's `spawn/4`, by name only); returns its pid. */
  async spawn(node: string, name: string, args: unknown[] = [], timeoutMs = 5000): Promise<Pid> {
    return (await this.call(node, 'spawn', [name, ...args], timeoutMs)) as Pid;
  }
}

/** The `rex` server: runs each call in a process of its own and replies from there. */
export function rexServer(rpc: Rpc): GenServerBehaviour<null, undefined, { call: RexRequest; reply: RexReply; cast: RexRequest }> {
  const run = (req: RexRequest, self: Process, reply?: (r: RexReply) => void): void => {
    const fn = typeof req?.proc === 'string' ? rpc.lookup(req.proc) : undefined;
    if (fn === undefined) {
      reply?.({ unknownProcedure: String(req?.proc) });
      return;
    }
    const args = Array.isArray(req.args) ? req.args : [];
    self.spawn(async (worker) => {
      try {
        const value: unknown = await fn(args, worker);
        reply?.({ ok: value });
      } catch (e) {
        reply?.({ error: e instanceof Error ? { error: e.name, message: e.message, code: (e as { code?: unknown }).code } : e });
      }
    });
  };
  return {
    init: () => ({ ok: null }),
    handleCall: (req, from, state, self) => {
      run(req, self, (r) => from.reply(r));
      return { noreply: state };
    },
    handleCast: (req, state, self) => {
      run(req, self);
      return { noreply: state };
    },
  };
}
