import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

// Layering, as VS Code keeps it in CI: imports point one way (docs/architecture.md).
const nodeBuiltins = [
  'node:*',
  'fs',
  'path',
  'os',
  'child_process',
  'crypto',
  'http',
  'url',
  'stream',
  'worker_threads',
];
const restrict = (groups, message) => ({
  'no-restricted-imports': ['error', { patterns: groups.map((group) => ({ group, message })) }],
});

export default tseslint.config(
  { ignores: ['out/', 'dist/', 'node_modules/', 'test-results/', 'playwright-report/', 'coverage/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    files: ['src-renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: restrict([['**/src-main/**', 'electron', ...nodeBuiltins]], 'the renderer talks only to the API client'),
  },
  {
    files: ['src-shared/**'],
    rules: restrict(
      [['**/src-main/**', '**/src-renderer/**', 'electron', ...nodeBuiltins]],
      'src-shared is pure: no Node, DOM, Electron or other side',
    ),
  },
  {
    files: ['src-main/services/**', 'src-main/store/**', 'src-main/jobs/**', 'src-main/cli/**', 'src-main/host/**'],
    ignores: ['**/*.test.ts'],
    rules: restrict([['electron', '**/app/**', '**/src-renderer/**']], "only src-main/app imports 'electron'"),
  },
  {
    files: ['src-main/ml/**'],
    rules: restrict(
      [['electron', '**/store/**', '**/services/**', '**/app/**', '**/src-renderer/**']],
      'ml code never imports the store, services or the shell: jobs hand it data',
    ),
  },
  {
    files: ['src-main/store/**'],
    rules: restrict(
      [['electron', '**/services/**', '**/ml/**', '**/app/**', '**/host/**', '**/cli/**']],
      'the store is the bottom layer',
    ),
  },
);
