/**
 * The built-in rpc procedures, in one table: what every distributed node exposes (`ping`,
 * `node.info`, `whereis`, `global.names`, …), the application controls a node started by the
 * `rigil` command adds (`application.start`, `node.stop`, …), and — through the same
 * `installBuiltins` — what other packages contribute (@rigil/dist-ac's `distAc.info`).
 *
 * OTP has no such table: any node may `rpc:call` any exported function. rigil exposes only
 * procedures registered by name, so the set a tool can rely on is listed here, each with the
 * arguments it takes. Every built-in checks its arguments before it runs: a wrong number or a
 * wrong type is an `RpcError` with code `ERR_RPC_BAD_ARGS` for the caller, never a crash.
 *
 * The introspection built-ins (`process.info`, `processes`, `application.tree`,
 * `process.state`) are in introspect.ts, `metrics` in metrics.ts; every `DistNode` installs them.
 */
import { Pid, type AppRestartType as RestartType, type Node, type Process } from '@rigil/core';
import { RpcError, badArgs } from './errors.js';
import { renderUntrusted } from './render.js';
import type { Global } from './global.js';
import type { NetKernel } from './net_kernel.js';
import type { Rpc } from './rpc.js';

/** One argument of a built-in: its name, what it must be, and the check. */
export interface ArgSpec {
  readonly name: string;
  /** What the check expects, for the error message (`a string`, `a pid`). */
  readonly expects: string;
  /** May be left out (only trailing arguments). */
  readonly optional?: boolean;
  check(value: unknown): boolean;
}

/** A built-in procedure run against a host `H` (the node, or a service such as dist-ac). */
export interface Builtin<H> {
  /** The procedure name tools call. */
  readonly name: string;
  /** One line on what it returns (shown by tools). */
  readonly doc: string;
  /** The arguments it takes, in order. */
  readonly args: readonly ArgSpec[];
  /** More arguments than `args` are allowed (passed on; `spawn`). */
  readonly variadic?: boolean;
  /** The procedure itself, called with checked arguments. */
  run(host: H, args: unknown[], self: Process): unknown;
}

/** What the built-ins of every node need (a `DistNode` is one). */
export type BuiltinHost = Node & {
  readonly rpc: Rpc;
  readonly global: Global;
  /** When the node started (`clock.now()`). */
  readonly startedAt: number;
  readonly net: Pick<NetKernel, 'addressOf' | 'url'>;
  nodes(): string[];
};

/** Argument specs the built-ins use. */
export const arg = {
  /** A string. */
  string: (name: string, optional = false): ArgSpec => ({ name, expects: 'a string', optional, check: (v) => typeof v === 'string' }),
  /** A pid (decoded from the wire). */
  pid: (name: string): ArgSpec => ({ name, expects: 'a pid', check: (v) => v instanceof Pid }),
  /** An application restart type. */
  restartType: (name: string): ArgSpec => ({ name, expects: "'permanent', 'transient' or 'temporary'", optional: true, check: (v) => v === 'permanent' || v === 'transient' || v === 'temporary' }),
  /** A boolean (the strings `'true'`/`'false'` too, as typed on a command line). */
  flag: (name: string): ArgSpec => ({ name, expects: 'true or false', check: (v) => typeof v === 'boolean' || v === 'true' || v === 'false' }),
} as const;

/**
 * Registers each built-in of `table` on `rpc`, run against `host`, with its arguments checked
 * first (`ERR_RPC_BAD_ARGS`). The one way built-ins are installed: the node installs
 * `NODE_BUILTINS`, the CLI `CONTROL_BUILTINS`, @rigil/dist-ac its own.
 */
export function installBuiltins<H>(rpc: Rpc, host: H, table: readonly Builtin<H>[]): void {
  for (const b of table) {
    rpc.register(b.name, (args, self) => {
      checkArgs(b, args);
      return b.run(host, args, self);
    });
  }
}

/** Throws `ERR_RPC_BAD_ARGS` unless `args` fit the built-in's argument specs. */
export function checkArgs(b: Pick<Builtin<unknown>, 'name' | 'args' | 'variadic'>, args: unknown[]): void {
  const required = b.args.filter((a) => a.optional !== true).length;
  if (args.length < required || (b.variadic !== true && args.length > b.args.length)) {
    const n = b.args.length;
    const want = required === n ? `${n}` : `${required} to ${n}`;
    throw badArgs(b.name, `takes ${b.variadic === true ? `at least ${required}` : want} argument${n === 1 ? '' : 's'} (${b.args.map((a) => a.name).join(', ') || 'none'}), got ${args.length}`);
  }
  b.args.forEach((a, i) => {
    if (i >= args.length && a.optional === true) return;
    if (!a.check(args[i])) throw badArgs(b.name, `argument ${i + 1} (${a.name}) must be ${a.expects}`);
  });
}

/** The procedures every distributed node exposes. */
export const NODE_BUILTINS: readonly Builtin<BuiltinHost>[] = [
  { name: 'ping', doc: "'pong'", args: [], run: () => 'pong' },
  {
    name: 'node.info',
    doc: 'name, creation, connected nodes, process count, uptime',
    args: [],
    run: (node) => ({
      name: node.name,
      creation: node.creation,
      nodes: node.nodes(),
      processes: node.processCount,
      uptimeMs: Math.round(node.clock.now() - node.startedAt),
    }),
  },
  { name: 'application.which', doc: 'the applications running there (OTP’s which_applications/0)', args: [], run: (node) => node.application.whichApplications() },
  { name: 'application.loaded', doc: 'the applications loaded there (OTP’s loaded_applications/0)', args: [], run: (node) => node.application.loadedApplications() },
  { name: 'registered', doc: 'the locally registered names (OTP’s registered/0)', args: [], run: (node) => node.registered() },
  { name: 'whereis', doc: 'the pid registered locally as name, or null (OTP’s whereis/1)', args: [arg.string('name')], run: (node, [name]) => node.whereis(name as string) ?? null },
  { name: 'rpc.procedures', doc: 'the names of the exposed procedures', args: [], run: (node) => node.rpc.list() },
  {
    name: 'spawn',
    doc: 'spawns a function registered with rpc.registerFunction; returns its pid',
    args: [arg.string('function')],
    variadic: true,
    run: (node, [name, ...rest]) => {
      const fn = node.rpc.spawnable(name as string);
      if (fn === undefined) throw new RpcError('ERR_UNKNOWN_PROCEDURE', `no spawnable function ${renderUntrusted(name)}`, { unknownFunction: name }, node.name, 'spawn');
      return node.spawn((self) => fn(self, ...rest));
    },
  },
  {
    name: 'node.peers',
    doc: 'this node and its connected visible peers with the addresses they listen at: [[name, url | null], …] (OTP’s epmd names, for tools that follow a cluster)',
    args: [],
    run: (node) => [[node.name, node.net.url] as const, ...node.nodes().map((n) => [n, node.net.addressOf(n) ?? null] as const)],
  },
  { name: 'global.locks', doc: 'the global locks held on this node: [{ resource, requester, holders }] (OTP’s global_locks table)', args: [], run: (node) => node.global.lockInfo() },
  { name: 'global.names', doc: 'every global name with its pid (OTP’s registered_names/0 + whereis_name/1)', args: [], run: (node) => node.global.registeredNames().map((n) => [n, node.global.whereis(n)]) },
  {
    name: 'global.resolve',
    doc: "runs one of this node's name-clash resolvers (used by global between partitions)",
    args: [arg.string('resolver'), arg.string('name'), arg.pid('other'), arg.pid('own')],
    run: (node, [resolver, name, other, own]) => node.global.resolveHere(resolver as string, name as string, other as Pid, own as Pid),
  },
];

/**
 * Application and node control, exposed by a node the `rigil` command started (for tools and
 * tests); not installed on other nodes, so a peer cannot stop them by default.
 */
export const CONTROL_BUILTINS: readonly Builtin<Node>[] = [
  {
    name: 'application.start',
    doc: 'application.start(name, restartType = temporary)',
    args: [arg.string('name'), arg.restartType('restartType')],
    run: (node, [name, type]) => node.application.start(name as string, (type as RestartType | undefined) ?? 'temporary'),
  },
  { name: 'application.stop', doc: 'application.stop(name)', args: [arg.string('name')], run: (node, [name]) => node.application.stop(name as string) },
  {
    name: 'application.takeover',
    doc: 'application.takeover(name, restartType = temporary)',
    args: [arg.string('name'), arg.restartType('restartType')],
    run: (node, [name, type]) => node.application.takeover(name as string, (type as RestartType | undefined) ?? 'temporary'),
  },
  {
    name: 'application.permit',
    doc: 'application.permit(name, flag)',
    args: [arg.string('name'), arg.flag('flag')],
    run: (node, [name, flag]) => node.application.permit(name as string, flag === true || flag === 'true'),
  },
  { name: 'application.whereRunning', doc: "'local', a node name, or null", args: [arg.string('name')], run: (node, [name]) => node.application.whereRunning(name as string) ?? null },
  {
    name: 'node.stop',
    doc: "stops the node (after answering 'ok')",
    args: [],
    run: (node) => {
      setImmediate(() => void node.stop());
      return 'ok';
    },
  },
];

/** Exposes the application and node controls (`CONTROL_BUILTINS`) on `node`'s rpc. */
export function installControlBuiltins(node: Node & { readonly rpc: Rpc }): void {
  installBuiltins(node.rpc, node, CONTROL_BUILTINS);
}
