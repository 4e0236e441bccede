#!/usr/bin/env node
// The `rigil` command. Applications named in config files are TypeScript modules, so the
// command registers tsx's loader before it loads anything.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
