import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

/** Layer rules (STYLE.md): lower layers never import higher ones. */
const forbid = (patterns, message) => [
  'error',
  { patterns: patterns.map((group) => ({ group: [group], message })) },
];

export default tseslint.config(
  {
    ignores: ['out/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', '.cache/**', 'resources/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: {
      globals: { ...globals.node, ...globals.browser },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    files: ['src-shared/**'],
    rules: {
      'no-restricted-imports': forbid(
        ['**/src-main/**', '**/src-worker/**', '**/src-renderer/**', 'node:*', 'electron', '@tensorflow/*', 'better-sqlite3', 'fs', 'path'],
        'src-shared is the pure contract: no Node, DOM, Electron, tfjs or other layers.',
      ),
    },
  },
  {
    files: ['src-main/core/**'],
    rules: {
      'no-restricted-imports': forbid(
        ['electron', '**/electron/**', '**/src-renderer/**', '**/src-worker/**', '**/web/**'],
        'src-main/core knows nothing of Electron, adapters, the renderer or worker internals.',
      ),
    },
  },
  {
    files: ['src-worker/**'],
    rules: {
      'no-restricted-imports': forbid(
        ['**/src-main/**', '**/src-renderer/**', 'electron', 'better-sqlite3'],
        'src-worker talks to main only through the typed messages in src-shared.',
      ),
    },
  },
  {
    // The numeric engine must also run in a browser context (GPU issue): no Node APIs.
    files: ['src-worker/{engine,model,objectives,train,backends}/**'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': forbid(
        ['**/src-main/**', '**/src-renderer/**', 'electron', 'better-sqlite3', 'node:*', 'fs', 'path', 'child_process', 'worker_threads'],
        'The numeric engine stays free of Node APIs (and talks to main only through src-shared messages).',
      ),
    },
  },
  {
    // WebGPU has no synchronous readback outside a browser page: the engine reads
    // tensors with `await t.data()` (engine/read.ts), never dataSync/arraySync.
    files: ['src-worker/{engine,model,objectives,train,backends}/**'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'MemberExpression[property.name=/^(dataSync|arraySync|bufferSync)$/]',
          message: 'Synchronous readback fails on WebGPU in Node: use takeValues/copyValues from engine/read.ts.',
        },
      ],
    },
  },
  {
    files: ['src-renderer/**'],
    rules: {
      'no-restricted-imports': forbid(
        ['**/src-main/**', '**/src-worker/**', 'electron', 'node:*', 'better-sqlite3', '@tensorflow/*'],
        'The renderer reaches main only through the api client (src-renderer/lib/api.ts).',
      ),
    },
  },
);
