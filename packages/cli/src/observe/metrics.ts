/**
 * `/metrics` of the observe server, in the Prometheus text format (0.0.4): the cluster-wide
 * figures the observer knows (nodes up and down, connections between them, moves of each
 * distributed application by cause, counted from the timelines it merged) followed by each
 * node's own `metrics` built-in, every sample labelled with `node`. OTP has no equivalent.
 *
 * | metric | type | labels | what |
 * |---|---|---|---|
 * | `rigil_observe_nodes` | gauge | `state` = up/down | nodes the observer follows, by state |
 * | `rigil_observe_node_up` | gauge | `node` | 1 while the node answers, else 0 |
 * | `rigil_observe_connections` | gauge | | connections between nodes that answer (each pair once) |
 * | `rigil_observe_dist_ac_moves_total` | counter | `application`, `cause` | moves the observer saw (start, failover, takeover, permit, reconcile, stopped) |
 * | `rigil_observe_dist_ac_{failovers,takeovers,reconciles}_total` | counter | `application` | the same, one family per cause |
 * | (each node's families, see @rigil/net's metrics.ts) | | `node` + theirs | a node's own figures, where it answered |
 */
import { escapeLabel } from '@rigil/net';
import type { ClusterView, MoveCounts } from './collector.js';

/** One metric family being assembled: its HELP and TYPE lines and its samples. */
interface Family {
  help: string | undefined;
  type: string | undefined;
  samples: string[];
}

class Families {
  private readonly byName = new Map<string, Family>();
  family(name: string): Family {
    let f = this.byName.get(name);
    if (f === undefined) this.byName.set(name, (f = { help: undefined, type: undefined, samples: [] }));
    return f;
  }
  define(name: string, type: 'counter' | 'gauge', help: string): void {
    const f = this.family(name);
    f.help ??= help;
    f.type ??= type;
  }
  sample(name: string, labels: Record<string, string>, value: number): void {
    const l = Object.entries(labels);
    this.family(name).samples.push(`${name}${l.length === 0 ? '' : `{${l.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`} ${Number.isFinite(value) ? value : 0}`);
  }
  render(): string {
    const lines: string[] = [];
    for (const [name, f] of this.byName) {
      if (f.help !== undefined) lines.push(`# HELP ${name} ${f.help}`);
      if (f.type !== undefined) lines.push(`# TYPE ${name} ${f.type}`);
      lines.push(...f.samples);
    }
    return `${lines.join('\n')}\n`;
  }
}

/**
 * Adds a node's metrics text to `out`, each sample with a `node` label in front of its own,
 * grouped under one HELP/TYPE per family (families are shared by every node).
 */
function addNodeText(out: Families, node: string, text: string): void {
  const label = `node="${escapeLabel(node)}"`;
  let current: string | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta !== null) {
      const f = out.family(meta[2]!);
      current = meta[2]!;
      if (meta[1] === 'HELP') f.help ??= meta[3]!;
      else f.type ??= meta[3]!;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (.+)$/.exec(line);
    if (m === null) continue;
    const name = m[1]!;
    // A sample belongs to the family declared above it (histogram/summary suffixes), else its own.
    const family = current !== undefined && name.startsWith(current) ? current : name;
    const labels = m[3] !== undefined && m[3] !== '' ? `${label},${m[3]}` : label;
    out.family(family).samples.push(`${name}{${labels}} ${m[4]!}`);
  }
}

/** The observe server's `/metrics` text (see the module comment); no OTP counterpart (prometheus.erl lives outside OTP). */
export function renderObserveMetrics(view: ClusterView, moves: MoveCounts, perNode: ReadonlyArray<{ node: string; text: string | undefined }>): string {
  const out = new Families();
  const up = view.nodes.filter((n) => n.up);
  out.define('rigil_observe_nodes', 'gauge', 'Nodes the observer follows, by state.');
  out.sample('rigil_observe_nodes', { state: 'up' }, up.length);
  out.sample('rigil_observe_nodes', { state: 'down' }, view.nodes.length - up.length);
  out.define('rigil_observe_node_up', 'gauge', '1 while the node answers the observer, else 0.');
  for (const n of view.nodes) out.sample('rigil_observe_node_up', { node: n.name }, n.up ? 1 : 0);
  const pairs = new Set<string>();
  const upNames = new Set(up.map((n) => n.name));
  for (const n of up) for (const p of n.peers) if (upNames.has(p)) pairs.add([n.name, p].sort().join(' '));
  out.define('rigil_observe_connections', 'gauge', 'Connections between nodes that answer the observer (each pair once).');
  out.sample('rigil_observe_connections', {}, pairs.size);
  out.define('rigil_observe_dist_ac_moves_total', 'counter', 'Moves of a distributed application the observer saw, by cause.');
  for (const [app, byCause] of moves) for (const [cause, n] of byCause) out.sample('rigil_observe_dist_ac_moves_total', { application: app, cause }, n);
  for (const [cause, plural] of [
    ['failover', 'failovers'],
    ['takeover', 'takeovers'],
    ['reconcile', 'reconciles'],
  ] as const) {
    const name = `rigil_observe_dist_ac_${plural}_total`;
    out.define(name, 'counter', `${plural[0]!.toUpperCase()}${plural.slice(1)} of a distributed application the observer saw.`);
    for (const [app, byCause] of moves) out.sample(name, { application: app }, byCause.get(cause) ?? 0);
  }
  for (const { node, text } of perNode) if (text !== undefined) addNodeText(out, node, text);
  return out.render();
}
