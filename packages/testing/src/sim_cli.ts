/**
 * The fault explorer's command line (`pnpm run sim -- --seed S --nodes 5 --faults 300`): explores
 * one seed (or `--seeds K` consecutive seeds from `--seed`), or replays a trace with `--replay`
 * (inline `;`-separated steps, or a file holding them or a JSON array). On a violation it prints
 * the seed, the invariant, the shrunk fault trace and a one-line replay command, writes the
 * shrunk trace to `sim-trace-<seed>.txt`, and exits with status 1; a bad argument exits with 2.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { explore, formatTrace, IMPLEMENTED_INVARIANTS, isFault, parseTrace, resolveInvariants } from './explorer.js';

const USAGE = `usage: pnpm run sim -- --seed S [--nodes 5] [--faults 300] [--seeds 1] [--checkpoint-every 10]
       [--invariants ${IMPLEMENTED_INVARIANTS.join(',')}] [--replay <trace-file | 'step;step;…'>] [--no-shrink]`;

function fail(msg: string): never {
  process.stderr.write(`${msg}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const flags = new Set(['--no-shrink', '--help']);
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
  const known = new Set(['--seed', '--seeds', '--nodes', '--faults', '--checkpoint-every', '--invariants', '--replay', ...flags]);
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
  const seed = int(args, '--seed', undefined);
  const nodes = int(args, '--nodes', 5);
  const faults = int(args, '--faults', 300);
  const seeds = int(args, '--seeds', 1);
  const checkpointEvery = int(args, '--checkpoint-every', 10);
  const invariants = (args.get('--invariants') ?? IMPLEMENTED_INVARIANTS.join(',')).split(',').map((s) => s.trim()).filter((s) => s !== '');
  try {
    resolveInvariants(invariants);
  } catch (e) {
    fail((e as Error).message);
  }
  const replayArg = args.get('--replay');
  const trace = replayArg === undefined ? undefined : parseTrace(existsSync(replayArg) ? readFileSync(replayArg, 'utf8') : replayArg);
  const t0 = performance.now();
  let total = 0;
  for (let s = seed; s < seed + (trace === undefined ? seeds : 1); s++) {
    const r = await explore({ seed: s, nodes, faults, invariants, checkpointEvery, shrink: !args.has('--no-shrink'), ...(trace !== undefined ? { trace } : {}) });
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
        `shrunk trace (${shrunk.filter(isFault).length} faults, ${shrunk.length} steps, ${r.replays} replays), also in ${file}:`,
        ...shrunk.map((x) => `  ${x}`),
        `replay: pnpm run sim -- --seed ${s} --nodes ${nodes} --invariants ${r.violation.invariant} --replay '${formatTrace(shrunk)}'`,
        '',
      ].join('\n'),
    );
    process.exitCode = 1;
    return;
  }
  if (seeds > 1) process.stdout.write(`${total} faults in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

await main();
