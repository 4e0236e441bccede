/**
 * The `rigil` command line: `start`, `status`, `rpc`, with `--help` for each.
 */
import { readFileSync } from 'node:fs';
import { RigilError } from '@rigil/core';
import { DIST_AC_BUILTINS } from '@rigil/dist-ac';
import { CONTROL_BUILTINS, escapeUntrusted, INTROSPECTION_BUILTINS, METRICS_BUILTINS, NODE_BUILTINS } from '@rigil/net';
import { INSPECT_FLAGS, inspectCommand } from './inspect.js';
import { CliError, EXIT } from './errors.js';
import { clusterStatus, connectHidden, formatStatus, parseArg } from './remote.js';
import { checkLogFormat, CliLog, MAX_MESSAGE, type LogFormat } from './log.js';
import { startCommand } from './start.js';
import { OBSERVE_FLAGS, observeCommand } from './observe/command.js';

/** The names of built-in procedures, for the help text (from the one built-ins table). */
const names = (table: ReadonlyArray<{ readonly name: string }>): string => table.map((b) => b.name).join(', ');

/** Wraps a paragraph at 90 columns. */
function wrap(text: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > 90) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line].join('\n');
}

const HELP: Record<string, string> = {
  main: `rigil — Erlang/OTP-style nodes for Node.js

Usage:
  rigil start <config.json>                      start a node from a config file
  rigil status <name@host:port> --cookie C [--json]
                                                 show the cluster: nodes, where each distributed
                                                 application runs and why, global names
  rigil rpc <name@host:port> <procedure> [args…] --cookie C
                                                 call a procedure a node exposes; prints JSON
  rigil processes <name@host:port> --cookie C [--sort mailbox|reductions|memory] [--limit N] [--json]
                                                 a node's processes, largest first
  rigil tree <name@host:port> <application> --cookie C [--json]
                                                 an application's supervision tree on a node
  rigil state <name@host:port> <name|pid> --cookie C [--json]
                                                 a behaviour process's state (bounded)
  rigil metrics <name@host:port> --cookie C      a node's metrics, Prometheus text
  rigil observe <name@host:port> --cookie C [--port N] [--host H]
                                                 a live web page of the cluster (like observer)
  rigil <command> --help                         help for one command

Every command takes --log-format text|json: json writes the log (stderr) as one JSON object
per line, {"ts","level","ns","msg",...fields}; DEBUG=rigil:* adds the library's debug lines.

Exit codes: 0 ok · 1 the operation failed · 2 usage or config error (ERR_USAGE, ERR_CONFIG,
ERR_PORT_IN_USE, ERR_APP_MODULE, ERR_TSX_MISSING) · 3 cannot reach the node: nothing listening
(ERR_NOT_LISTENING) or another failure (ERR_CONNECT) · 4 the node refused the cookie
(ERR_BAD_COOKIE) · 5 another node answers at that address (ERR_WRONG_NODE)`,
  start: `rigil start <config.json> [--log-format text|json]

Starts a node from a JSON config file and runs until SIGTERM or SIGINT, which stop it
gracefully (applications in reverse start order). Prints one JSON line
{"event":"ready","node":…,"port":…,"url":…} on stdout once the node is up; logs go to stderr.

Config keys (an unknown key is an error naming it):
  node.name          name@host (required); the node listens on host
  node.port          port to listen on (0: any free port)
  node.host          address to listen on (default: the host of the name)
  node.cookie        the cluster's shared secret (or node.cookieFile, a path)
  node.seeds         peers: ["b@127.0.0.1:9102", "ws://10.0.0.2:9100"]
  node.discovery     more peers (one strategy or an array): { strategy: "static", nodes: [...] }
                     or { strategy: "dns", query, type?: "A"|"AAAA"|"SRV", nodeBasename,
                     port?, pollMs? = 5000, server? }: the name is polled, new nodes dialled,
                     vanished ones forgotten (see @rigil/net README, Discovery)
  node.tickTime      a silent peer is down after this many ms (default 60000)
  node.tls           { cert, key, ca?, requireClientCert? = true, allowPlainSeeds? = false }:
                     PEM file paths; the node listens and dials over wss only
  node.maxFrameSize  largest frame in bytes (default 256 MiB)
  node.handshakeFrameSize, node.maxHandshakes, node.handshakeTimeout
                     pre-authentication limits (defaults 4096 bytes, 64, 5000 ms)
  node.metrics       { port }: serve GET /metrics (Prometheus text) on 127.0.0.1 at port
                     (0: any free one, printed as metricsPort in the ready line); off by default
  kernel             distributed, syncNodesMandatory, syncNodesOptional,
                     syncNodesTimeout, permissions (as OTP's kernel parameters);
                     epochDir: where this node keeps its fencing epochs across
                     restarts (relative to the config file)
  applications[]     { module, export?, start?, restartType? }: modules export an
                     application spec (or a (node) => spec factory)
  env                { app: { key: value } } overriding application env defaults
  log.format         "text" (default) or "json" (--log-format overrides it)

A cookie shorter than 16 characters gets a warning on stderr. The log (stderr) has one line
per nodeup and nodedown, and a refused connection once per peer address and code a minute,
then "N more connections refused (CODE) from ADDRESS in the last 60 s".

Exit codes: 0 stopped by a signal · 1 an application failed to start or the node stopped by
itself · 2 bad config (ERR_CONFIG), or node.port already in use (ERR_PORT_IN_USE)`,
  status: `rigil status <name@host:port> --cookie C | --cookie-file F [--json]

Connects as a hidden node and prints the cluster. With --json prints one object:
{ "nodes": [...], "applications": { app: { node, startType, since, previous, cause } },
  "global": { name: { pid, node } } }

Exit codes: 0 ok · 2 usage error · 3 nothing listening there (ERR_NOT_LISTENING) or cannot
connect (ERR_CONNECT) · 4 wrong cookie (ERR_BAD_COOKIE) · 5 another node at that address
(ERR_WRONG_NODE)`,
  rpc: `rigil rpc <name@host:port> <procedure> [args…] --cookie C | --cookie-file F

${wrap(`Calls a procedure the node exposes and prints the result as JSON. Arguments are parsed as JSON when they parse, else passed as strings. Built-ins: ${names([...NODE_BUILTINS, ...INTROSPECTION_BUILTINS, ...METRICS_BUILTINS, ...DIST_AC_BUILTINS])}; nodes started with 'rigil start' add ${names(CONTROL_BUILTINS)}.`)}

Exit codes: 0 ok · 1 the procedure failed or is unknown · 2 usage error · 3 nothing listening
there (ERR_NOT_LISTENING) or cannot connect (ERR_CONNECT) · 4 wrong cookie (ERR_BAD_COOKIE) ·
5 another node at that address (ERR_WRONG_NODE)`,
  processes: `rigil processes <name@host:port> --cookie C | --cookie-file F [--sort mailbox|reductions|memory]
                [--limit N] [--offset N] [--json]

${wrap(`Connects as a hidden node and prints the node's processes as a table, largest first by mailbox length (default), messages handled (reductions) or approximate memory: pid, registered name, behaviour and callback module, status, mailbox, reductions, memory, links, monitors, application. --limit (default 100, at most 1000) and --offset page through them. With --json prints the page: { total, offset, limit, sort, processes: [...] }.`)}

Exit codes: 0 ok · 1 the call failed · 2 usage error · 3 nothing listening there
(ERR_NOT_LISTENING) or cannot connect (ERR_CONNECT) · 4 wrong cookie (ERR_BAD_COOKIE) · 5 another
node at that address (ERR_WRONG_NODE)`,
  tree: `rigil tree <name@host:port> <application> --cookie C | --cookie-file F [--json]

${wrap(`Connects as a hidden node and draws the application's supervision tree on that node: each supervisor and child with its id, pid, type, restart type, state and (supervisors) restarts; bounded in depth and width. With --json prints { application, node, top } (top: null when the application does not run there).`)}

Exit codes: 0 ok · 1 the call failed · 2 usage error · 3 nothing listening there
(ERR_NOT_LISTENING) or cannot connect (ERR_CONNECT) · 4 wrong cookie (ERR_BAD_COOKIE) · 5 another
node at that address (ERR_WRONG_NODE)`,
  state: `rigil state <name@host:port> <name|pid> --cookie C | --cookie-file F [--json]

${wrap(`Connects as a hidden node and prints the state of a behaviour process (gen_server, gen_statem, supervisor) named by its registered name or its pid as printed (<name@host.12.3456>), through sys.getStatus (so formatStatus applies), bounded: deep, long or large parts are cut and marked. With --json prints { pid, name, behaviour, module, mailbox, state, truncated }.`)}

Exit codes: 0 ok · 1 no such process, or not a behaviour process · 2 usage error · 3 nothing
listening there (ERR_NOT_LISTENING) or cannot connect (ERR_CONNECT) · 4 wrong cookie (ERR_BAD_COOKIE) ·
5 another node at that address (ERR_WRONG_NODE)`,
  metrics: `rigil metrics <name@host:port> --cookie C | --cookie-file F

Connects as a hidden node and prints the node's metrics in Prometheus text format (the same
text a node started with node.metrics.port serves on GET /metrics).

Exit codes: 0 ok · 1 the call failed · 2 usage error · 3 nothing listening there
(ERR_NOT_LISTENING) or cannot connect (ERR_CONNECT) · 4 wrong cookie (ERR_BAD_COOKIE) · 5 another
node at that address (ERR_WRONG_NODE)`,
  observe: `rigil observe <name@host:port> --cookie C | --cookie-file F [--port N] [--host H]

${wrap(`Connects as a hidden node and serves a live web page of the cluster on 127.0.0.1 (a free port unless --port; another address only with --host): nodes and who is connected to whom, each node's applications, each distributed application's node, epoch and timeline of moves with their cause, supervision trees, a sortable process table (paged on the server), global names and locks — pushed over a WebSocket as they change. Actions, each confirmed on the page: application takeover and permit on a chosen node (nodes started with 'rigil start') and killing a process. GET /metrics gives the cluster's figures (nodes up, moves per application and cause) and every node's own metrics, in Prometheus text.`)}

${wrap(`Prints one JSON line on stdout once serving: {"event":"ready","node","url","metricsUrl","metricsToken"}. The url carries a one-time token: the first load exchanges it for a session cookie, and requests without the session get 401. /metrics also takes Authorization: Bearer <metricsToken>. Runs until SIGINT or SIGTERM.`)}

Exit codes: 0 stopped by a signal · 2 usage error, or --port in use (ERR_PORT_IN_USE) · 3 nothing
listening there (ERR_NOT_LISTENING) or cannot connect (ERR_CONNECT) · 4 wrong cookie (ERR_BAD_COOKIE) ·
5 another node at that address (ERR_WRONG_NODE)`,
};

interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
}

function parse(argv: string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
      else if (['json', 'help'].includes(a.slice(2))) flags.set(a.slice(2), true);
      else {
        const v = argv[++i];
        if (v === undefined) throw new CliError('ERR_USAGE', `${a} needs a value`);
        flags.set(a.slice(2), v);
      }
    } else if (a === '-h') flags.set('help', true);
    else positional.push(a);
  }
  return { positional, flags };
}

function allow(p: Parsed, names: string[]): void {
  for (const k of p.flags.keys()) if (!names.includes(k)) throw new CliError('ERR_USAGE', `unknown option --${k}`);
}

function cookieFrom(p: Parsed): string {
  const c = p.flags.get('cookie');
  if (typeof c === 'string' && c !== '') return c;
  const f = p.flags.get('cookie-file');
  if (typeof f === 'string') {
    try {
      return readFileSync(f, 'utf8').trim();
    } catch (e) {
      throw new CliError('ERR_USAGE', `cannot read --cookie-file ${f}: ${(e as Error).message}`);
    }
  }
  const env = process.env.RIGIL_COOKIE;
  if (env !== undefined && env !== '') return env;
  throw new CliError('ERR_USAGE', 'a cookie is required: --cookie, --cookie-file or RIGIL_COOKIE');
}

/** `--log-format` as given anywhere in `argv` (for errors raised before the options are parsed), or undefined. */
function logFormatOf(argv: string[]): LogFormat | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    const v = a === '--log-format' ? argv[i + 1] : a.startsWith('--log-format=') ? a.slice('--log-format='.length) : undefined;
    if (v === 'json' || v === 'text') return v;
  }
  return undefined;
}

/** Runs the command line; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const errors = new CliLog(logFormatOf(argv) ?? 'text');
  // The library's debug lines (DEBUG=rigil:*) of status and rpc go through the same log.
  let restoreDebug: (() => void) | undefined;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(`${HELP.main}\n`);
      return command === undefined ? EXIT.USAGE : EXIT.OK;
    }
    const p = parse(rest);
    if (!Object.hasOwn(HELP, command) || command === 'main') throw new CliError('ERR_USAGE', `unknown command ${JSON.stringify(command)} (try rigil --help)`);
    if (p.flags.has('help')) {
      process.stdout.write(`${HELP[command]}\n`);
      return EXIT.OK;
    }
    const format = p.flags.has('log-format') ? checkLogFormat(p.flags.get('log-format'), '--log-format') : undefined;
    if (command !== 'start') restoreDebug = new CliLog(format ?? 'text').captureDebug();
    switch (command) {
      case 'start': {
        allow(p, ['log-format']);
        if (p.positional.length !== 1) throw new CliError('ERR_USAGE', 'usage: rigil start <config.json>');
        return await startCommand(p.positional[0]!, format);
      }
      case 'status': {
        allow(p, ['cookie', 'cookie-file', 'json', 'log-format']);
        if (p.positional.length !== 1) throw new CliError('ERR_USAGE', 'usage: rigil status <name@host:port> --cookie C [--json]');
        const { probe, name } = await connectHidden(p.positional[0]!, cookieFrom(p));
        try {
          const s = await clusterStatus(probe, name);
          process.stdout.write(`${p.flags.has('json') ? JSON.stringify(s) : formatStatus(s)}\n`);
          return EXIT.OK;
        } finally {
          await probe.stop();
        }
      }
      case 'rpc': {
        allow(p, ['cookie', 'cookie-file', 'timeout', 'log-format']);
        if (p.positional.length < 2) throw new CliError('ERR_USAGE', 'usage: rigil rpc <name@host:port> <procedure> [args…] --cookie C');
        const [target, procedure, ...args] = p.positional;
        const timeout = Number(p.flags.get('timeout') ?? 5000);
        const { probe, name } = await connectHidden(target!, cookieFrom(p));
        try {
          const r = await probe.rpc.call(name, procedure!, args.map(parseArg), timeout);
          process.stdout.write(`${JSON.stringify(r ?? null)}\n`);
          return EXIT.OK;
        } finally {
          await probe.stop();
        }
      }
      case 'observe':
        allow(p, OBSERVE_FLAGS);
        return await observeCommand(p.positional, p.flags, () => cookieFrom(p));
      case 'processes':
      case 'tree':
      case 'state':
      case 'metrics':
        allow(p, INSPECT_FLAGS[command]);
        return await inspectCommand(command, p.positional, p.flags, () => cookieFrom(p));
    }
    return EXIT.USAGE;
  } catch (e) {
    const exit = e instanceof CliError ? e.exitCode : EXIT.FAILED;
    if (e instanceof RigilError) {
      if (errors.format === 'json') errors.line(escapeUntrusted(e.message, MAX_MESSAGE), 'error', { code: e.code, exit });
      else process.stderr.write(`rigil: ${e.message} (${e.code})\n`);
      return exit;
    }
    // Not one of rigil's errors: a bug, or something unforeseen; the stack helps then.
    if (errors.format === 'json') errors.line((e as Error).stack ?? String(e), 'error', { exit });
    else process.stderr.write(`rigil: ${(e as Error).stack ?? String(e)}\n`);
    return exit;
  } finally {
    restoreDebug?.();
  }
}

