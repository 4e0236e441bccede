#!/usr/bin/env node
// Keeps the dependency arrows of DESIGN.md §1 pointing one way and forbids import cycles.
// - Layering: a package may import only packages below it
//   (core ← net ← dist-ac ← testing ← cli/examples/test/bench/docs guides). An "upward" import fails the check.
// - Entries: another package is imported through its public entry only, except the test-only
//   entries in TEST_ENTRIES, which only test files (a `test/` folder) may import.
// - Cycles: the graph of relative imports between source files of every package must be
//   acyclic (a cycle fails the check and is printed).
// Zero dependencies: import specifiers are read with a regular expression, which is enough
// for our own code (static `import`/`export … from` and dynamic `import('…')`).
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const LAYER = { '@rigil/core': 0, '@rigil/net': 1, '@rigil/dist-ac': 2, '@rigil/testing': 3, rigil: 4 };
// `@rigil/net/testing`: the fault-injecting transport (packages/net/test/faulty_transport.ts).
const TEST_ENTRIES = new Set(['@rigil/net/testing']);
// Type-only imports (`import type`, `export type`) count too: they are erased at run time, but a
// cycle of types is still a knot a reader has to untie, and layering is about what a package
// may know of, not only what it loads.
const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'build') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function packageOf(file) {
  let dir = dirname(file);
  while (dir.startsWith(root) && dir !== root) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) return JSON.parse(readFileSync(pj, 'utf8')).name;
    dir = dirname(dir);
  }
  return undefined;
}

const errors = [];
const graph = new Map();
const files = ['packages', 'examples', 'test', 'bench', 'docs/guides'].flatMap((d) => walk(join(root, d)));
for (const file of files) {
  const src = readFileSync(file, 'utf8');
  const pkg = packageOf(file);
  const layer = LAYER[pkg] ?? 99;
  const edges = [];
  for (const m of src.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec.startsWith('.')) {
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      if (existsSync(target)) edges.push(target);
      continue;
    }
    const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
    if (name in LAYER && LAYER[name] >= layer && name !== pkg) {
      errors.push(`${relative(root, file)}: ${pkg} must not import ${name} (upward dependency)`);
    }
    const testFile = relative(root, file).split('/').includes('test');
    if (name in LAYER && spec !== name && !(TEST_ENTRIES.has(spec) && testFile)) {
      errors.push(`${relative(root, file)}: imports ${spec}; import the package's public entry "${name}" only`);
    }
  }
  graph.set(file, edges);
}

// Cycle detection: iterative DFS with colours.
const colour = new Map();
for (const start of graph.keys()) {
  if (colour.get(start)) continue;
  const stack = [[start, 0]];
  const path = [start];
  colour.set(start, 1);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const edges = graph.get(top[0]) ?? [];
    if (top[1] < edges.length) {
      const next = edges[top[1]++];
      const c = colour.get(next);
      if (c === 1) {
        const cycle = path.slice(path.indexOf(next)).concat(next).map((f) => relative(root, f));
        errors.push(`import cycle: ${cycle.join(' -> ')}`);
      } else if (!c) {
        colour.set(next, 1);
        stack.push([next, 0]);
        path.push(next);
      }
    } else {
      colour.set(top[0], 2);
      stack.pop();
      path.pop();
    }
  }
}

if (errors.length) {
  console.error(errors.join('\n'));
  process.exit(1);
}
console.log(`check-imports: ${files.length} files, no upward imports, no cycles`);
