/**
 * TypeScript application modules. The CLI is compiled JavaScript and loads `.js`/`.mjs`
 * modules with a plain `import()`. A `.ts`/`.mts`/`.cts` module needs a loader: `tsx`, an
 * optional peer dependency, is imported and registered the first time one is loaded; when it is
 * not installed the error says so and how to fix it (`ERR_TSX_MISSING`).
 */
import { CliError } from './errors.js';

/** Marks that tsx's loader is registered in this process (also set by bin/rigil.js). */
const REGISTERED = Symbol.for('rigil.cli.tsx');

/** What the CLI needs of `tsx/esm/api`. */
export interface TsxApi {
  register(): unknown;
}

/** Whether a module path is TypeScript (needs a loader) by its extension. */
export function isTypeScriptModule(path: string): boolean {
  return /\.[cm]?ts$/.test(path) && !/\.d\.[cm]?ts$/.test(path);
}

/**
 * Registers tsx's ESM loader once per process so `path` (a TypeScript module) can be imported;
 * throws `ERR_TSX_MISSING` naming the fix when tsx is not installed. `importTsx` is for tests.
 * (No OTP counterpart: OTP loads compiled .beam files only.)
 */
export async function ensureTypeScriptLoader(path: string, importTsx: () => Promise<TsxApi> = () => import('tsx/esm/api')): Promise<void> {
  const g = globalThis as Record<symbol, unknown>;
  if (g[REGISTERED] === true) return;
  let api: TsxApi;
  try {
    api = await importTsx();
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND') {
      throw new CliError('ERR_TSX_MISSING', `${path} is TypeScript, which needs tsx to load: install it in your project (npm i -D tsx), or compile the module to JavaScript`);
    }
    throw new CliError('ERR_TSX_MISSING', `${path} is TypeScript, and tsx could not be loaded: ${(e as Error).message}`);
  }
  api.register();
  g[REGISTERED] = true;
}
