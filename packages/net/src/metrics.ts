/**
 * A node's metrics in the Prometheus text exposition format (version 0.0.4), and a tiny
 * `GET /metrics` server for them. OTP has no built-in equivalent (prometheus.erl and
 * telemetry_metrics live outside OTP); the figures are the ones observer and etop show.
 *
 * | metric | type | labels | what |
 * |---|---|---|---|
 * | `rigil_connected_nodes` | gauge | `kind` = visible/hidden | peers connected now |
 * | `rigil_nodeup_total`, `rigil_nodedown_total` | counter | | peers that came up / went down |
 * | `rigil_dist_peer_{bytes,messages}_{received,sent}_total` | counter | `peer` | traffic of the live connection to each peer (resets with the connection) |
 * | `rigil_dist_peer_busy_suspensions_total` | counter | `peer` | sends that found the connection busy (each suspends its sender; OTP's `busy_dist_port`) |
 * | `rigil_dist_peer_queued_bytes` | gauge | `peer` | bytes waiting to go out |
 * | `rigil_dist_{bytes,messages}_{received,sent}_total`, `rigil_dist_busy_suspensions_total` | counter | | the same over every connection since the node started |
 * | `rigil_dist_errors_total` | counter | `kind` | `net.stats`: bad frames, handshake failures, … |
 * | `rigil_dist_ac_starts_total` | counter | `application`, `cause` | starts of a distributed application on this node, by cause |
 * | `rigil_dist_ac_{failovers,takeovers,reconciles}_total` | counter | `application` | failovers and takeovers to this node; reconciles that stopped its instance here |
 * | `rigil_processes` | gauge | | live processes |
 * | `rigil_mailbox_messages` | gauge | | messages waiting in every mailbox |
 * | `rigil_supervisor_restarts_total` | counter | `supervisor`, `pid` | restarts by each live supervisor (`supervisor`: its name or pid) |
 * | `rigil_restarts_total` | counter | | restarts by every supervisor since the node started |
 *
 * Bounded: peers by the connections, applications by `MAX_COUNTED_APPS`, supervisors by
 * `MAX_SUPERVISORS` (the ones that restarted most).
 */
import { createServer, type Server } from 'node:http';
import { allProcessStats, type Node } from '@rigil/core';
import type { Builtin } from './builtins.js';
import type { NodeEvents } from './events.js';
import type { NetKernel } from './net_kernel.js';

/** What `renderMetrics` reads (a `DistNode` is one). */
export type MetricsHost = Node & { readonly net: NetKernel; readonly events: NodeEvents };

/** Live supervisors listed by `rigil_supervisor_restarts_total` at most. */
export const MAX_SUPERVISORS = 500;

/**
 * Escapes a label value as the exposition format requires: backslash, double quote and line
 * feed become `\\`, `\"` and `\n`.
 */
export function escapeLabel(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** Escapes HELP text: backslash and line feed. */
function escapeHelp(v: string): string {
  return v.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

class Out {
  readonly lines: string[] = [];
  family(name: string, type: 'counter' | 'gauge', help: string): void {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
  }
  sample(name: string, labels: Record<string, string>, value: number): void {
    const l = Object.entries(labels);
    this.lines.push(`${name}${l.length === 0 ? '' : `{${l.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`} ${Number.isFinite(value) ? value : 0}`);
  }
  one(name: string, type: 'counter' | 'gauge', help: string, value: number): void {
    this.family(name, type, help);
    this.sample(name, {}, value);
  }
}

/**
 * The node's metrics in the Prometheus text exposition format (see the table above); every
 * sample carries the node's figures at the time of the call. No OTP counterpart.
 */
export function renderMetrics(node: MetricsHost): string {
  const out = new Out();
  const counters = node.events.counters;
  const visible = node.net.nodes().length;
  const hidden = node.net.hiddenNodes().length;
  out.family('rigil_connected_nodes', 'gauge', 'Peers connected now.');
  out.sample('rigil_connected_nodes', { kind: 'visible' }, visible);
  out.sample('rigil_connected_nodes', { kind: 'hidden' }, hidden);
  out.one('rigil_nodeup_total', 'counter', 'Peers that came up since the node started.', counters.nodeups);
  out.one('rigil_nodedown_total', 'counter', 'Peers that went down since the node started.', counters.nodedowns);

  const { peers, total } = node.net.traffic();
  const perPeer: Array<[string, string, (p: (typeof peers)[number]) => number, 'counter' | 'gauge']> = [
    ['rigil_dist_peer_bytes_received_total', 'Bytes received on the connection to the peer.', (p) => p.bytesIn, 'counter'],
    ['rigil_dist_peer_bytes_sent_total', 'Bytes sent on the connection to the peer.', (p) => p.bytesOut, 'counter'],
    ['rigil_dist_peer_messages_received_total', 'Data messages received from the peer.', (p) => p.messagesIn, 'counter'],
    ['rigil_dist_peer_messages_sent_total', 'Data messages sent to the peer.', (p) => p.messagesOut, 'counter'],
    ['rigil_dist_peer_busy_suspensions_total', 'Sends that found the connection busy (the sender is suspended).', (p) => p.busySends, 'counter'],
    ['rigil_dist_peer_queued_bytes', 'Bytes waiting to go out to the peer.', (p) => p.queuedBytes, 'gauge'],
  ];
  for (const [name, help, get, type] of perPeer) {
    out.family(name, type, help);
    for (const p of peers) out.sample(name, { peer: p.node }, get(p));
  }
  out.one('rigil_dist_bytes_received_total', 'counter', 'Bytes received on every connection since the node started.', total.bytesIn);
  out.one('rigil_dist_bytes_sent_total', 'counter', 'Bytes sent on every connection since the node started.', total.bytesOut);
  out.one('rigil_dist_messages_received_total', 'counter', 'Data messages received since the node started.', total.messagesIn);
  out.one('rigil_dist_messages_sent_total', 'counter', 'Data messages sent since the node started.', total.messagesOut);
  out.one('rigil_dist_busy_suspensions_total', 'counter', 'Sends that found a connection busy since the node started.', total.busySends);
  out.family('rigil_dist_errors_total', 'counter', 'Connections closed for a fault, by kind (net.stats).');
  for (const [kind, n] of Object.entries(node.net.stats)) out.sample('rigil_dist_errors_total', { kind }, n);

  out.family('rigil_dist_ac_starts_total', 'counter', 'Starts of a distributed application on this node, by cause.');
  for (const [app, byCause] of counters.distAcStarts) for (const [cause, n] of byCause) out.sample('rigil_dist_ac_starts_total', { application: app, cause }, n);
  for (const cause of ['failover', 'takeover'] as const) {
    const name = `rigil_dist_ac_${cause}s_total`;
    out.family(name, 'counter', `${cause === 'failover' ? 'Failovers' : 'Takeovers'} of a distributed application to this node.`);
    for (const [app, byCause] of counters.distAcStarts) out.sample(name, { application: app }, byCause.get(cause) ?? 0);
  }
  out.family('rigil_dist_ac_reconciles_total', 'counter', 'Reconciles that stopped the instance of a distributed application on this node.');
  for (const [app, n] of counters.distAcReconciles) out.sample('rigil_dist_ac_reconciles_total', { application: app }, n);

  const stats = allProcessStats(node);
  let mailbox = 0;
  const sups: Array<{ label: string; pid: string; restarts: number }> = [];
  for (const s of stats) {
    mailbox += s.messageQueueLen;
    if (s.restarts !== undefined) sups.push({ label: s.registeredName ?? String(s.pid), pid: String(s.pid), restarts: s.restarts });
  }
  out.one('rigil_processes', 'gauge', 'Live processes.', stats.length);
  out.one('rigil_mailbox_messages', 'gauge', 'Messages waiting in every mailbox.', mailbox);
  out.family('rigil_supervisor_restarts_total', 'counter', 'Restarts made by each live supervisor since it started.');
  sups.sort((a, b) => b.restarts - a.restarts || (a.pid < b.pid ? -1 : 1));
  for (const s of sups.slice(0, MAX_SUPERVISORS)) out.sample('rigil_supervisor_restarts_total', { supervisor: s.label, pid: s.pid }, s.restarts);
  out.one('rigil_restarts_total', 'counter', 'Restarts made by every supervisor since the node started.', counters.restarts);
  return `${out.lines.join('\n')}\n`;
}

/** The `metrics` built-in: the node's metrics as Prometheus text. */
export const METRICS_BUILTINS: readonly Builtin<MetricsHost>[] = [
  { name: 'metrics', doc: 'the node’s metrics in Prometheus text format (no OTP equivalent)', args: [], run: (node) => renderMetrics(node) },
];

/**
 * Serves `GET /metrics` (Prometheus text) for `node` on `host:port` (default 127.0.0.1; port 0:
 * any free one); anything else is 404 (405 for another method on `/metrics`). Resolves with the
 * port once listening; `close()` stops it. The server stops with the node. No OTP counterpart.
 */
export async function serveMetrics(node: MetricsHost, options: { port: number; host?: string }): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('method not allowed\n');
      return;
    }
    let body: string;
    try {
      body = renderMetrics(node);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(e as Error).message}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  const off = node.onStop(close);
  return {
    port,
    close: () => {
      off();
      return close();
    },
  };
}
