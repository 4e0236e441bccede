#!/usr/bin/env node
// The guides (docs/guides/*.md) show code that lives in real files next to them, so it is
// typechecked (tsconfig.json includes docs/guides), linted, and run here; the markdown must not
// drift from those files.
//
//   node scripts/guides.mjs check     every fenced block marked `file=<path>` (relative to
//                                     docs/guides) equals that file, or `file=<path>#<name>`
//                                     equals the lines between `// #region <name>` and
//                                     `// #endregion <name>` in it; exits 1 naming each drift
//   node scripts/guides.mjs write     rewrites those blocks from the files
//   node scripts/guides.mjs extract <guide.md> <dir>
//                                     writes the whole-file blocks of one guide into <dir>, at
//                                     their paths below the guide's folder: what a user who
//                                     copies the guide's code gets (scripts/outside-guide.sh)
//   node scripts/guides.mjs run       check, then runs every guide's programs (RUNS below) with
//                                     tsx from the sources (the `source` condition), each with a
//                                     deadline; the guides' tests (*.test.ts) run with `pnpm test`
//
// Zero dependencies.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const guides = join(root, 'docs', 'guides');

// What `run` runs: [guide folder, commands]; `tsc`/`tsx` are the workspace's. The multi-node
// ones listen on port 0 and stop every node they started, whatever happens. (`tsc` gets the
// `source` condition here: the guide's tsconfig.json is a user's, who has the published build.)
const RUNS = [
  ['first-supervision-tree', [['tsx', 'main.ts']]],
  ['distributed-handover', [['tsx', 'failover.ts']]],
  ['partitions', [['tsx', 'main.ts']]],
  ['deploying', [['tsc', '-p', 'tsconfig.json', '--customConditions', 'source'], ['tsx', 'check.ts']]],
];

const FENCE_RE = /^(```\S*[^\n]*?\bfile=(\S+)[^\n]*\n)([\s\S]*?)(^```[ \t]*$)/gm;

function regionOf(text, name, file) {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `// #region ${name}`);
  const end = lines.findIndex((l, i) => i > start && l.trim() === `// #endregion ${name}`);
  if (start < 0 || end < 0) throw new Error(`${file}: no region ${name}`);
  const body = lines.slice(start + 1, end);
  // Regions may be indented in the file: the block shows them dedented.
  const indent = Math.min(...body.filter((l) => l.trim() !== '').map((l) => l.match(/^ */)[0].length));
  return `${body.map((l) => l.slice(indent)).join('\n')}\n`;
}

function expected(ref) {
  const [path, region] = ref.split('#');
  const file = join(guides, path);
  const text = readFileSync(file, 'utf8');
  return region === undefined ? text : regionOf(text, region, path);
}

function checkOrWrite(write) {
  const drifts = [];
  let blocks = 0;
  for (const md of readdirSync(guides).filter((f) => f.endsWith('.md'))) {
    const path = join(guides, md);
    const text = readFileSync(path, 'utf8');
    const out = text.replace(FENCE_RE, (whole, open, ref, body, close) => {
      blocks++;
      let want;
      try {
        want = expected(ref);
      } catch (e) {
        drifts.push(`${md}: ${e.message}`);
        return whole;
      }
      if (want === body) return whole;
      if (!write) {
        const a = body.split('\n');
        const b = want.split('\n');
        const i = a.findIndex((l, k) => l !== b[k]);
        drifts.push(`${md}: the block of ${ref} differs from the file at its line ${i + 1}:\n  md:   ${a[i] ?? '(end)'}\n  file: ${b[i] ?? '(end)'}`);
        return whole;
      }
      return `${open}${want}${close}`;
    });
    if (write && out !== text) writeFileSync(path, out);
  }
  if (blocks === 0) drifts.push('no `file=` blocks found in docs/guides/*.md');
  return { drifts, blocks };
}

const mode = process.argv[2] ?? 'check';
if (!['check', 'write', 'run', 'extract'].includes(mode)) {
  console.error('usage: node scripts/guides.mjs check|write|run|extract <guide.md> <dir>');
  process.exit(2);
}
if (mode === 'extract') {
  const [md, dest] = process.argv.slice(3);
  if (md === undefined || dest === undefined) {
    console.error('usage: node scripts/guides.mjs extract <guide.md> <dir>');
    process.exit(2);
  }
  const folder = `${basename(md, '.md')}/`;
  const written = [];
  for (const m of readFileSync(resolve(md), 'utf8').matchAll(FENCE_RE)) {
    const ref = m[2];
    if (ref.includes('#') || !ref.startsWith(folder)) continue;
    const target = join(resolve(dest), ref.slice(folder.length));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, m[3]);
    written.push(ref.slice(folder.length));
  }
  if (written.length === 0) {
    console.error(`guides: ${md} has no whole-file blocks under ${folder}`);
    process.exit(1);
  }
  console.log(`guides: wrote ${written.join(', ')} into ${dest}`);
  process.exit(0);
}
const { drifts, blocks } = checkOrWrite(mode === 'write');
if (drifts.length > 0) {
  for (const d of drifts) console.error(`guides: ${d}`);
  console.error('guides: the markdown drifted from the code (`node scripts/guides.mjs write` rewrites the blocks)');
  process.exit(1);
}
console.log(`guides: ${blocks} code blocks match their files`);
if (mode !== 'run') process.exit(0);

const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --conditions=source`.trim() };
for (const [dir, commands] of RUNS) {
  const t0 = Date.now();
  for (const [tool, ...args] of commands) {
    console.log(`== guide ${dir}: ${tool} ${args.join(' ')}`);
    const r = spawnSync(join(root, 'node_modules', '.bin', tool), args, { cwd: join(guides, dir), env, stdio: 'inherit', timeout: 600_000, killSignal: 'SIGTERM' });
    if (r.status !== 0) {
      console.error(`guides: ${dir}: ${tool} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
      process.exit(1);
    }
  }
  console.log(`== guide ${dir}: ok in ${Date.now() - t0} ms`);
}
