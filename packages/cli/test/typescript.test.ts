/**
 * TypeScript application modules (packages/cli/src/typescript.ts): the compiled CLI registers
 * tsx only for a .ts/.mts/.cts module, once, and without tsx installed fails with
 * `ERR_TSX_MISSING` (exit 2) naming the fix. The real "tsx is not installed" case runs outside
 * the repository, in scripts/outside-check.sh.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CliError, EXIT } from '../src/errors.js';
import { ensureTypeScriptLoader, isTypeScriptModule, type TsxApi } from '../src/typescript.js';

const MARK = Symbol.for('rigil.cli.tsx');
const g = globalThis as Record<symbol, unknown>;
const saved = g[MARK];

afterEach(() => {
  if (saved === undefined) delete g[MARK];
  else g[MARK] = saved;
});

describe('TypeScript application modules', () => {
  it('tells TypeScript modules by their extension', () => {
    expect(['/a/app.ts', '/a/app.mts', '/a/app.cts'].map(isTypeScriptModule)).toEqual([true, true, true]);
    expect(['/a/app.js', '/a/app.mjs', '/a/app.d.ts', '/a/ts', '/a/app.tsx.js'].map(isTypeScriptModule)).toEqual([false, false, false, false, false]);
  });

  it('without tsx: ERR_TSX_MISSING, exit 2, naming npm i -D tsx', async () => {
    delete g[MARK];
    const missing = async (): Promise<TsxApi> => {
      throw Object.assign(new Error("Cannot find package 'tsx' imported from /x/build/typescript.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    };
    const e = await ensureTypeScriptLoader('/srv/app.ts', missing).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(CliError);
    expect((e as CliError).code).toBe('ERR_TSX_MISSING');
    expect((e as CliError).exitCode).toBe(EXIT.USAGE);
    expect((e as CliError).message).toContain('/srv/app.ts');
    expect((e as CliError).message).toContain('npm i -D tsx');
    expect(g[MARK]).toBeUndefined();
  });

  it('registers tsx once per process', async () => {
    delete g[MARK];
    let imports = 0;
    let registers = 0;
    const tsx = async (): Promise<TsxApi> => {
      imports++;
      return { register: () => void registers++ };
    };
    await ensureTypeScriptLoader('/srv/a.ts', tsx);
    await ensureTypeScriptLoader('/srv/b.mts', tsx);
    expect({ imports, registers }).toEqual({ imports: 1, registers: 1 });
  });
});
