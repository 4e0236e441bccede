/**
 * The fault explorer's command line (`pnpm run sim -- --seed S --nodes 5 --faults 300
 * [--workload net|global|apps|all]`): explores one seed (or `--seeds K` consecutive seeds from
 * `--seed`, or `--seed-list 3,17,42`), or replays a trace with `--replay`
 * (inline `;`-separated steps, or a file holding them or a JSON array). On a violation it prints
 * the seed, the invariant, the shrunk fault trace and a one-line replay command, writes the
 * shrunk trace to `sim-trace-<seed>.txt`, and exits with status 1; a bad argument exits with 2.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { DEFAULT_INVARIANTS, explore, formatTrace, IMPLEMENTED_INVARIANTS, isFault, parseTrace, resolveInvariants, workloadOf, WORKLOADS, type Workload } from './explorer.js';

const USAGE = `usage: pnpm run sim -- --seed S [--nodes 5] [--faults 300] [--seeds 1 | --seed-list S1,S2,…] [--checkpoint-every 10]
       [--workload ${WORKLOADS.join('|')}] [--invariants I,…] [--replay <trace-file | 'step;step;…'>] [--no-shrink] [--keep-going] [--log FILE]
invariants: ${IMPLEMENTED_INVARIANTS.join(', ')} (default: the workload's — ${Object.entries(DEFAULT_INVARIANTS).map(([w, l]) => `${w}: ${l.join(',')}`).join('; ')})`;

function fail(msg: string): never {
  process.stderr.write(`${msg}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const flags = new Set(['--no-shrink', '--help', '--keep-going']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') continue;
    if (!a.startsWith('--')) fail(`unexpected argument ${JSON.stringify(a)}`);
    if (flags.has(a)) out.set(a, 'true');
    else {
      const v = argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      out.set(a, v);
    }
  }
  const known = new Set(['--log', '--seed', '--seeds', '--seed-list', '--nodes', '--faults', '--checkpoint-every', '--workload', '--invariants', '--replay', ...flags]);
  for (const k of out.keys()) if (!known.has(k)) fail(`unknown option ${k}`);
  return out;
}

function int(args: Map<string, string>, key: string, dflt: number | undefined): number {
  const v = args.get(key);
  if (v === undefined) {
    if (dflt === undefined) fail(`${key} is required`);
    return dflt;
  }
  if (!/^-?\d+$/.test(v)) fail(`${key} must be an integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.has('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const list = args.get('--seed-list');
  if (list !== undefined && !/^-?\d+(,-?\d+)*$/.test(list)) fail(`--seed-list must be integers separated by commas, got ${JSON.stringify(list)}`);
  const seed = list === undefined ? int(args, '--seed', undefined) : 0;
  const nodes = int(args, '--nodes', 5);
  const faults = int(args, '--faults', 300);
  const seeds = int(args, '--seeds', 1);
  const checkpointEvery = int(args, '--checkpoint-every', 10);
  const replayArg = args.get('--replay');
  const trace = replayArg === undefined ? undefined : parseTrace(existsSync(replayArg) ? readFileSync(replayArg, 'utf8') : replayArg);
  const w = args.get('--workload');
  if (w !== undefined && !(WORKLOADS as readonly string[]).includes(w)) fail(`--workload must be one of ${WORKLOADS.join(', ')}, got ${JSON.stringify(w)}`);
  const workload: Workload = (w as Workload | undefined) ?? (trace !== undefined ? workloadOf(trace) : 'net');
  const invariants = (args.get('--invariants') ?? DEFAULT_INVARIANTS[workload].join(',')).split(',').map((s) => s.trim()).filter((s) => s !== '');
  try {
    resolveInvariants(invariants, workload);
  } catch (e) {
    fail((e as Error).message);
  }
  const all = list !== undefined ? list.split(',').map(Number) : Array.from({ length: trace === undefined ? seeds : 1 }, (_, i) => seed + i);
  const t0 = performance.now();
  let total = 0;
  let failed = 0;
  for (const s of all) {
    const r = await explore({ seed: s, nodes, faults, workload, invariants, checkpointEvery, shrink: !args.has('--no-shrink'), ...(args.has('--log') ? { logFile: all.length > 1 ? `${args.get('--log')!}.${s}` : args.get('--log')! } : {}), ...(trace !== undefined ? { trace } : {}) });
    total += r.faults;
    if (r.violation === undefined) {
      process.stdout.write(`seed ${s}: ok — ${r.faults} faults, ${r.delivered} messages, ${(r.virtualMs / 1000).toFixed(1)} s virtual in ${(r.realMs / 1000).toFixed(1)} s (${Math.round((r.faults / r.realMs) * 60_000)} faults/min)\n`);
      continue;
    }
    const shrunk = r.shrunk ?? r.trace;
    const file = `sim-trace-${s}.txt`;
    writeFileSync(file, `${shrunk.join('\n')}\n`);
    process.stdout.write(
      [
        `VIOLATION seed ${s}: invariant ${r.violation.invariant} at step ${r.violation.step} (${r.trace[r.violation.step]}): ${r.violation.message}`,
        // An unshrunk trace is listed only in the file and the replay command (it can be long).
        ...(r.shrunk !== undefined ? [`shrunk trace (${shrunk.filter(isFault).length} faults, ${shrunk.length} steps, ${r.replays} replays), also in ${file}:`, ...shrunk.map((x) => `  ${x}`)] : [`trace not shrunk (${shrunk.filter(isFault).length} faults, ${shrunk.length} steps), in ${file}`]),
        `replay: pnpm run sim -- --seed ${s} --nodes ${nodes} --workload ${workload} --invariants ${r.violation.invariant} --replay '${formatTrace(shrunk)}'`,
        '',
      ].join('\n'),
    );
    process.exitCode = 1;
    failed++;
    if (!args.has('--keep-going')) return;
  }
  if (all.length > 1) process.stdout.write(`${total} faults in ${((performance.now() - t0) / 1000).toFixed(1)} s${failed > 0 ? `, ${failed} of ${all.length} seeds failed` : ''}\n`);
}

await main();
