import { defineConfig } from 'vitest/config';

// The workspace runs from sources: @rigil/* resolve through their `source` export condition
// (src/*.ts), here for Vite's resolver and, through NODE_OPTIONS, for every Node process the
// tests spawn (nodes in OS processes, `rigil start`), so no build is needed to test.
// (Set on the main process, which every worker fork and their children inherit; vitest's
// `test.env` did not reach the processes the tests spawn.)
const SOURCE = '--conditions=source';
if (!(process.env.NODE_OPTIONS ?? '').includes(SOURCE)) process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, SOURCE].filter((o) => o !== undefined && o !== '').join(' ');

export default defineConfig({
  resolve: { conditions: ['source', 'module', 'node', 'development|production'] },
  ssr: { resolve: { conditions: ['source', 'module', 'node', 'development|production'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'test/**/*.test.ts', 'docs/guides/**/*.test.ts'],
    // Generous: on a machine shared with other jobs a simulated run of a few seconds takes ten times that.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
