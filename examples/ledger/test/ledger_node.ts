/**
 * A ledger node as its own OS process, for the ledger test (driven by test/src/os_cluster.ts,
 * whose protocol it speaks: the ready line, node events, commands on stdin).
 *
 *   node --import tsx examples/ledger/test/ledger_node.ts --name a@127.0.0.1 --cookie c --port 0
 *        [--seed b@127.0.0.1:1234 ...] [--tick-time 1000] [--faulty]
 *        --pg-url postgresql://… --nodes a@127.0.0.1,b@127.0.0.1,c@127.0.0.1
 *        [--quorum majority|none|<n>] [--down-after <ms>] [--failover-timeout <ms>]
 *
 * It starts a DistNode (with `FaultyTransport` under `--faulty`, so the parent can cut its
 * links), loads the ledger application with the database URL in its env, starts dist-ac with
 * `ledger` distributed over `--nodes` (waiting up to 10 s at boot for them, as sync nodes),
 * exposes `ledger.append`/`ledger.info` over rpc, calls `application.start('ledger')` and prints
 * `{"ready":true,"name":…,"port":…,"creation":…,"pid":…,"nodes":[…]}`.
 *
 * Then it prints `{"event":"nodeup"|"nodedown","node":…}` for every visible node event and
 * runs the parent's commands (one JSON object a line, answered by `{"reply":id,…}`): `status`,
 * `block`/`unblock` a peer (`silent` stalls the link). It stops gracefully on SIGTERM/SIGINT and
 * when its stdin ends (the parent is gone).
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startDistAc, type DistributedEntry, type KernelConfig } from '@rigil/dist-ac';
import { DistNode } from '@rigil/net';
import { FaultyTransport } from '@rigil/net/testing';
import { runChildCommand as run, type ChildCommand as Command } from '../../../test/src/child_commands.js';
import { exposeLedgerProcedures, ledger } from '../src/index.js';

/** Longest command line read. */
const MAX_COMMAND = 4096;


async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      name: { type: 'string' },
      cookie: { type: 'string' },
      port: { type: 'string', default: '0' },
      seed: { type: 'string', multiple: true, default: [] },
      'tick-time': { type: 'string' },
      faulty: { type: 'boolean', default: false },
      'reconnect-base-ms': { type: 'string' },
      'reconnect-max-ms': { type: 'string' },
      'pg-url': { type: 'string' },
      nodes: { type: 'string' },
      quorum: { type: 'string' },
      'down-after': { type: 'string' },
      'failover-timeout': { type: 'string', default: '0' },
    },
    strict: true,
  });
  if (values.name === undefined || values.cookie === undefined) throw new Error('--name and --cookie are required');
  if (values['pg-url'] === undefined || values.nodes === undefined) throw new Error('--pg-url and --nodes are required');
  const listed = values.nodes.split(',');
  const node = await DistNode.start({
    name: values.name,
    cookie: values.cookie,
    port: Number(values.port),
    seeds: values.seed,
    ...(values['tick-time'] !== undefined ? { tickTime: Number(values['tick-time']) } : {}),
    ...(values.faulty ? { transport: new FaultyTransport() } : {}),
    reconnect: {
      ...(values['reconnect-base-ms'] !== undefined ? { baseMs: Number(values['reconnect-base-ms']) } : {}),
      ...(values['reconnect-max-ms'] !== undefined ? { maxMs: Number(values['reconnect-max-ms']) } : {}),
    },
  });
  const print = (v: unknown): void => void process.stdout.write(JSON.stringify(v) + '\n');
  node.onNodeEvent((e) => {
    if (!e.hidden) print({ event: e.type, node: e.node });
  });
  node.onReport((r) => process.stderr.write(`[${node.name}] ${r.kind}: ${r.message}\n`));

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    const hardStop = setTimeout(() => process.exit(1), 5000);
    hardStop.unref();
    node.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  createInterface({ input: process.stdin }).on('line', (line) => {
    let id: unknown;
    try {
      if (line.length > MAX_COMMAND) throw new Error(`command line of ${line.length} characters`);
      const c = JSON.parse(line) as Command & { id: unknown };
      id = c.id;
      print({ reply: id, ...run(node, c) });
    } catch (e) {
      print({ reply: id ?? null, error: e instanceof Error ? e.message : String(e) });
    }
  });

  const entry: DistributedEntry = {
    application: 'ledger',
    timeout: Number(values['failover-timeout']),
    nodes: listed,
    ...(values.quorum !== undefined ? { quorum: /^\d+$/.test(values.quorum) ? Number(values.quorum) : (values.quorum as 'none' | 'majority') } : {}),
    ...(values['down-after'] !== undefined ? { downAfter: Number(values['down-after']) } : {}),
  };
  const kernel: KernelConfig = { distributed: [entry], syncNodesOptional: listed, syncNodesTimeout: 10_000 };
  node.application.configure({ ledger: { url: values['pg-url'] } });
  const loaded = node.application.load(ledger);
  if (loaded !== 'ok') throw new Error(`ledger did not load: ${JSON.stringify(loaded)}`);
  await startDistAc(node, kernel);
  exposeLedgerProcedures(node);
  // Without a quorum yet (the others still connecting at boot) the start returns ok and
  // dist-ac places the ledger once a quorum is reached.
  const started = await node.application.start('ledger', 'temporary');
  if (started !== 'ok') throw new Error(`ledger did not start: ${JSON.stringify(started.error)}`);
  print({ ready: true, name: node.name, port: node.port, creation: node.creation, pid: process.pid, nodes: node.nodes() });
}

main().catch((e: unknown) => {
  process.stderr.write(`ledger_node: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
