/**
 * Remote procedure calls (OTP's `rpc`, restricted): a node exposes procedures by name — the
 * built-ins of `builtins.ts` plus what the user registers — and other nodes call them. There
 * is no way to run arbitrary code: an unknown procedure is an `ERR_UNKNOWN_PROCEDURE` error.
 *
 * Each node runs a `rex` server (as OTP does), a child of the node's `kernel_sup`; every call
 * runs in a process of its own, so a slow procedure does not hold up the others. rex holds no
 * state — the procedures live in the `Rpc` object — so a restarted rex serves the same
 * procedures at once.
 */
import { CallError, genServer, type GenServerBehaviour, type Node, type Pid, type Process } from '@rigil/core';
import { RpcError, describeBadInput as describe } from './errors.js';
import { escapeUntrusted, renderUntrusted } from './render.js';

/** A procedure: gets the call's arguments and the process it runs in; may be async. */
export type Procedure = (args: unknown[], self: Process) => unknown;

/** A function that can be spawned remotely by name (`rpc.spawn`). */
export type SpawnableFunction = (self: Process, ...args: unknown[]) => unknown;

/** The registered name of the rpc server on every node. */
export const REX = 'rex';

type RexRequest = { readonly proc: string; readonly args: unknown[] };
/**
 * rex's answers. `badArgs` (procedure refused its arguments) was added with the kernel
 * supervisor; an older caller sees it as a failed call (`ERR_RPC_FAILED`).
 */
type RexReply = { readonly ok: unknown } | { readonly error: unknown } | { readonly unknownProcedure: string } | { readonly badArgs: string };

/** The rpc service of a node: its procedures, and calls to other nodes' procedures. */
export class Rpc {
  private readonly procedures = new Map<string, Procedure>();
  private readonly spawnables = new Map<string, SpawnableFunction>();

  /** Creates the rpc service of `node`; the built-ins are installed by the node (`builtins.ts`). */
  constructor(private readonly node: Node) {}

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

  /** @internal Looks a spawnable function up (for the `spawn` built-in). */
  spawnable(name: string): SpawnableFunction | undefined {
    return this.spawnables.get(name);
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
    if (typeof r !== 'object' || r === null) throw new RpcError('ERR_RPC_FAILED', `rpc ${procedure} on ${node}: malformed answer`, r, node, procedure);
    if ('ok' in r) return r.ok;
    if ('badArgs' in r) throw new RpcError('ERR_RPC_BAD_ARGS', `rpc on ${node}: ${typeof r.badArgs === 'string' ? escapeUntrusted(r.badArgs, 300) : renderUntrusted(r.badArgs)}`, { badArgs: r.badArgs }, node, procedure);
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

/**
 * The `rex` server (OTP's `rpc` server): runs each call in a process of its own and replies
 * from there. A malformed request is answered as an unknown procedure (a call) or dropped with
 * a report (a cast, a stray message); it never stops rex.
 */
export function rexServer(rpc: Rpc): GenServerBehaviour<null, undefined, { call: RexRequest; reply: RexReply; cast: RexRequest }> {
  const run = (req: unknown, self: Process, reply?: (r: RexReply) => void): void => {
    const r = req as Partial<RexRequest> | null | undefined;
    const proc = typeof r === 'object' && r !== null && typeof r.proc === 'string' ? r.proc : undefined;
    const fn = proc !== undefined ? rpc.lookup(proc) : undefined;
    if (fn === undefined) {
      if (reply !== undefined) reply({ unknownProcedure: proc ?? String(describe(req)) });
      else self.node.report({ kind: 'rpc', message: `rex dropped a cast of ${proc === undefined ? 'a malformed request' : `unknown procedure ${renderUntrusted(proc)}`}`, reason: describe(req) });
      return;
    }
    const args = Array.isArray(r!.args) ? r!.args : [];
    self.spawn(async (worker) => {
      try {
        const value: unknown = await fn(args, worker);
        reply?.({ ok: value });
      } catch (e) {
        if (e instanceof RpcError && e.code === 'ERR_RPC_BAD_ARGS') reply?.({ badArgs: e.message });
        else reply?.({ error: e instanceof Error ? { error: e.name, message: e.message, code: (e as { code?: unknown }).code } : e });
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
    handleInfo: (msg, state, self) => {
      // OTP's gen_server logs an unexpected message and goes on; so does rex.
      self.node.report({ kind: 'rpc', message: 'rex dropped an unexpected message', reason: describe(msg) });
      return { noreply: state };
    },
  };
}
