// Lint: typescript-eslint with type-aware rules. Layering (no upward imports) and
// import cycles are checked by scripts/check-imports.mjs, which `pnpm lint` runs too.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // scripts/outside/ is compiled and run outside the repository, against the packed packages,
  // by scripts/outside-check.sh (with a stricter tsc than the workspace's); build/ is tsc output.
  { ignores: ['**/node_modules/**', 'bench/results/**', '.tmp/**', '**/*.js', '**/*.mjs', 'scripts/outside/**', 'packages/*/build/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/only-throw-error': 'off',
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // A guide's folder holds the tsconfig.json a user would write (no `source` condition): lint
    // the guides with the workspace's program instead, which resolves @rigil/* to their sources.
    files: ['docs/guides/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: false, project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    files: ['packages/core/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['@rigil/*', 'ws', 'msgpackr'] }],
    },
  },
);
