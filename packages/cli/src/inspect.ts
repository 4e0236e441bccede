/**
 * `rigil processes`, `rigil tree`, `rigil state` and `rigil metrics`: connect to a node as a
 * hidden node (as `rigil status` does), call its introspection built-ins over rpc, and print
 * the answer for people (an aligned table, a tree drawing, an indented value) or as `--json`.
 * Everything printed that came from the node is escaped (names and strings can hold control
 * characters).
 */
import { escapeUntrusted, type ApplicationTree, type Json, type ProcessPage, type ProcessState, type TreeNode } from '@rigil/net';
import { CliError, EXIT } from './errors.js';
import { connectHidden } from './remote.js';

/** The introspection commands. */
export type InspectCommand = 'processes' | 'tree' | 'state' | 'metrics';

/** The options each introspection command accepts. */
export const INSPECT_FLAGS: Record<InspectCommand, string[]> = {
  processes: ['cookie', 'cookie-file', 'json', 'sort', 'limit', 'offset'],
  tree: ['cookie', 'cookie-file', 'json'],
  state: ['cookie', 'cookie-file', 'json'],
  metrics: ['cookie', 'cookie-file'],
};

/** Renders a `processes` page as an aligned table (OTP's etop output). */
export function formatProcesses(page: ProcessPage): string {
  const head = ['PID', 'NAME', 'BEHAVIOUR', 'STATUS', 'MAILBOX', 'REDUCTIONS', 'MEMORY', 'LINKS', 'MONITORS', 'APPLICATION'];
  const rows = page.processes.map((p) => [
    cell(p.pid),
    cell(p.name ?? '-'),
    cell(p.module !== null ? `${p.behaviour}:${p.module}` : p.behaviour),
    p.status,
    String(p.mailbox),
    String(p.reductions),
    String(p.memory),
    String(p.links),
    String(p.monitors),
    cell(p.application ?? '-'),
  ]);
  const numeric = new Set([4, 5, 6, 7, 8]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const shown = page.processes.length === 0 ? 'none' : `${page.offset + 1}–${page.offset + page.processes.length}`;
  return [line(head), ...rows.map(line), `${shown} of ${page.total} processes, by ${page.sort}`].join('\n');
}

/** Renders an application's supervision tree as a tree drawing. */
export function formatTree(t: ApplicationTree): string {
  if (t.top === null) return `${cell(t.application)} does not run on ${cell(t.node)}`;
  const lines = [`${cell(t.application)} on ${cell(t.node)}`];
  const walk = (n: TreeNode, prefix: string, last: boolean, top: boolean): void => {
    lines.push(`${top ? '' : `${prefix}${last ? '└─ ' : '├─ '}`}${describeNode(n)}`);
    const kids = n.children ?? [];
    const next = top ? '' : `${prefix}${last ? '   ' : '│  '}`;
    kids.forEach((c, i) => walk(c, next, i === kids.length - 1 && n.more === undefined && n.error === undefined, false));
    if (n.more !== undefined) lines.push(`${next}${n.error === undefined ? '└─' : '├─'} … ${n.more} more`);
    if (n.error !== undefined) lines.push(`${next}└─ (children unavailable: ${cell(n.error)})`);
  };
  walk(t.top, '', true, true);
  return lines.join('\n');
}

function describeNode(n: TreeNode): string {
  const parts = [n.id !== null ? cell(String(n.id)) : n.name !== null ? cell(n.name) : '(top)'];
  parts.push(n.pid ?? '-');
  if (n.name !== null && n.id !== null) parts.push(`name ${cell(n.name)}`);
  parts.push(n.type);
  if (n.restart !== null) parts.push(n.restart);
  parts.push(n.state);
  if (n.module !== null) parts.push(`module ${cell(n.module)}`);
  if (n.restarts !== null) parts.push(`restarts ${n.restarts}`);
  return parts.join('  ');
}

/** Renders a process's state as an indented value (strings escaped, cuts shown). */
export function formatState(s: ProcessState): string {
  const head = `${s.pid}${s.name !== null ? ` (${cell(s.name)})` : ''}  ${s.behaviour}${s.module !== null ? `:${cell(s.module)}` : ''}  mailbox ${s.mailbox}`;
  return `${head}\nstate${s.truncated ? ' (cut: large parts left out)' : ''}:\n${pretty(s.state, '  ')}`;
}

/** An indented rendering of a bounded value (see @rigil/net's `boundedValue` for the tags). */
function pretty(v: Json, indent: string): string {
  const lines: string[] = [];
  const put = (x: Json, pad: string, lead: string): void => {
    if (x === null || typeof x !== 'object') {
      lines.push(`${pad}${lead}${scalar(x)}`);
      return;
    }
    if (Array.isArray(x)) {
      if (x.length === 0) {
        lines.push(`${pad}${lead}[]`);
        return;
      }
      lines.push(`${pad}${lead}[`);
      for (const e of x) put(e, `${pad}  `, '');
      lines.push(`${pad}]`);
      return;
    }
    const tag = tagged(x);
    if (tag !== undefined) {
      lines.push(`${pad}${lead}${tag}`);
      return;
    }
    if ('$map' in x || '$set' in x || '$class' in x) {
      const label = '$map' in x ? `Map(${String(x.size)})` : '$set' in x ? `Set(${String(x.size)})` : cell(String(x.$class));
      const body = ('$map' in x ? x.$map : '$set' in x ? x.$set : x.fields) as Json;
      lines.push(`${pad}${lead}${label}`);
      put(body, `${pad}  `, '');
      return;
    }
    const keys = Object.keys(x);
    if (keys.length === 0) {
      lines.push(`${pad}${lead}{}`);
      return;
    }
    lines.push(`${pad}${lead}{`);
    for (const k of keys) {
      if (k === '$more') lines.push(`${pad}  … ${String(x[k])} more keys`);
      else put(x[k]!, `${pad}  `, `${cell(k)}: `);
    }
    lines.push(`${pad}}`);
  };
  put(v, indent, '');
  return lines.join('\n');
}

/** The one-line form of a tagged leaf (`{ $pid }`, `{ $more }`, …), or undefined. */
function tagged(x: { [key: string]: Json }): string | undefined {
  if ('$pid' in x) return cell(String(x.$pid));
  if ('$ref' in x) return cell(String(x.$ref));
  if ('$more' in x && Object.keys(x).length === 1) return `… ${String(x.$more)} more`;
  if ('$truncated' in x) return `… (${String(x.$truncated)} limit)`;
  if ('$string' in x) return `${scalar(x.$string as string)}… (${String(x.length)} chars)`;
  if ('$undefined' in x) return 'undefined';
  if ('$bigint' in x) return x.$bigint === null ? `<bigint of ${String(x.bits)} bits>` : `${String(x.$bigint)}n`;
  if ('$number' in x) return String(x.$number);
  if ('$function' in x) return `[function ${cell(String(x.$function))}]`;
  if ('$symbol' in x) return `Symbol(${cell(String(x.$symbol))})`;
  if ('$date' in x) return String(x.$date);
  if ('$bytes' in x) return `<${String(x.$bytes)} bytes${x.head ? `: ${String(x.head)}` : ''}>`;
  if ('$error' in x) return `${cell(String(x.$error))}: ${cell(String(x.message))}`;
  if ('$getter' in x) return '[getter]';
  if ('$unrenderable' in x) return '[unrenderable]';
  return undefined;
}

function scalar(x: string | number | boolean | null): string {
  return typeof x === 'string' ? `"${escapeUntrusted(x, 10_000).replace(/"/g, '\\"')}"` : String(x);
}

/** Text from the node, escaped for a terminal and cut. */
function cell(s: string): string {
  return escapeUntrusted(s, 120);
}

/** `rigil processes|tree|state|metrics`: one introspection built-in, printed for people or as JSON. */
export async function inspectCommand(command: InspectCommand, positional: string[], flags: Map<string, string | true>, cookie: () => string): Promise<number> {
  const usage: Record<InspectCommand, string> = {
    processes: 'usage: rigil processes <name@host:port> --cookie C [--sort mailbox|reductions|memory] [--limit N] [--offset N] [--json]',
    tree: 'usage: rigil tree <name@host:port> <application> --cookie C [--json]',
    state: 'usage: rigil state <name@host:port> <name|pid> --cookie C [--json]',
    metrics: 'usage: rigil metrics <name@host:port> --cookie C',
  };
  if (positional.length !== (command === 'processes' || command === 'metrics' ? 1 : 2)) throw new CliError('ERR_USAGE', usage[command]);
  const options: { sort?: string; limit?: number; offset?: number } = {};
  if (command === 'processes') {
    const sort = flags.get('sort');
    if (sort !== undefined) {
      if (sort !== 'mailbox' && sort !== 'reductions' && sort !== 'memory') throw new CliError('ERR_USAGE', '--sort must be mailbox, reductions or memory');
      options.sort = sort;
    }
    for (const k of ['limit', 'offset'] as const) {
      const v = flags.get(k);
      if (v === undefined) continue;
      const n = Number(v);
      if (!(typeof v === 'string' && /^\d+$/.test(v) && (k === 'offset' || (n >= 1 && n <= 1000)))) throw new CliError('ERR_USAGE', `--${k} must be ${k === 'limit' ? 'an integer from 1 to 1000' : 'an integer ≥ 0'}`);
      options[k] = n;
    }
  }
  const json = flags.has('json');
  const { probe, name } = await connectHidden(positional[0]!, cookie());
  try {
    let text: string;
    if (command === 'processes') {
      const page = (await probe.rpc.call(name, 'processes', [options])) as ProcessPage;
      text = json ? JSON.stringify(page) : formatProcesses(page);
    } else if (command === 'tree') {
      const tree = (await probe.rpc.call(name, 'application.tree', [positional[1]!])) as ApplicationTree;
      text = json ? JSON.stringify(tree) : formatTree(tree);
    } else if (command === 'state') {
      const state = (await probe.rpc.call(name, 'process.state', [positional[1]!])) as ProcessState | null;
      if (state === null) {
        process.stderr.write(`rigil: no process ${JSON.stringify(positional[1])} on ${name}\n`);
        return EXIT.FAILED;
      }
      text = json ? JSON.stringify(state) : formatState(state);
    } else text = ((await probe.rpc.call(name, 'metrics')) as string).trimEnd();
    process.stdout.write(`${text}\n`);
    return EXIT.OK;
  } finally {
    await probe.stop();
  }
}
