#!/usr/bin/env node
// The `rigil` command. It runs the compiled CLI (build/main.js, the package-private import
// `#main`), so plain JavaScript needs nothing else. Inside the rigil repository Node runs with
// the `source` export condition (NODE_OPTIONS=--conditions=source) and `#main` resolves to
// src/main.ts instead: then tsx (a dev dependency there) is registered first, and marked as
// registered for `rigil start`, which registers it itself, on demand, for users' TypeScript
// application modules (src/typescript.ts).
const entry = import.meta.resolve('#main');
if (/\.[cm]?ts$/.test(entry)) {
  const { register } = await import('tsx/esm/api');
  register();
  globalThis[Symbol.for('rigil.cli.tsx')] = true;
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
