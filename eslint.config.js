import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

/** Layer rules (STYLE.md): lower layers never import higher ones. */
const forbid = (...rules) => [
  'error',
  { patterns: rules.flatMap(([patterns, message]) => patterns.map((group) => ({ group: [group], message }))) },
];

const CORE_LAYER = [
  ['electron', '**/electron/**', '**/src-renderer/**', '**/src-worker/**', '**/web/**'],
  'src-main/core knows nothing of Electron, adapters, the renderer or worker internals.',
];
/** Child processes start in one place: every kind goes through core/jobs/worker-connection.ts. */
const ONE_SPAWNER = [
  ['node:child_process', 'child_process'],
  'Start child processes through openConnection / openWorkerConnection (src-main/core/jobs/worker-connection.ts): only the spawners (core/jobs/spawn.ts, electron/utility-worker.ts) touch child_process.',
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
      'no-restricted-imports': forbid([
        ['**/src-main/**', '**/src-worker/**', '**/src-renderer/**', 'node:*', 'electron', '@tensorflow/*', 'better-sqlite3', 'fs', 'path'],
        'src-shared is the pure contract: no Node, DOM, Electron, tfjs or other layers.',
      ]),
    },
  },
  {
    files: ['src-main/**'],
    ignores: ['**/*.test.ts', '**/fixtures/**', 'src-main/cli/testing.ts', 'src-main/cli/redis-testing.ts', 'src-main/electron/utility-worker.ts'],
    rules: { 'no-restricted-imports': forbid(ONE_SPAWNER) },
  },
  {
    files: ['src-main/core/**'],
    rules: { 'no-restricted-imports': forbid(CORE_LAYER, ONE_SPAWNER) },
  },
  {
    // The fork spawner itself, and tests that start processes of their own to attack them.
    files: ['src-main/core/jobs/spawn.ts', 'src-main/core/**/*.test.ts', 'src-main/core/**/fixtures/**'],
    rules: { 'no-restricted-imports': forbid(CORE_LAYER) },
  },
  {
    files: ['src-worker/**'],
    rules: {
      'no-restricted-imports': forbid([
        ['**/src-main/**', '**/src-renderer/**', 'electron', 'better-sqlite3'],
        'src-worker talks to main only through the typed messages in src-shared.',
      ]),
    },
  },
  {
    // The numeric engine must also run in a browser context (GPU issue): no Node APIs.
    files: ['src-worker/{engine,model,objectives,train,backends}/**'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': forbid([
        ['**/src-main/**', '**/src-renderer/**', 'electron', 'better-sqlite3', 'node:*', 'fs', 'path', 'child_process', 'worker_threads'],
        'The numeric engine stays free of Node APIs (and talks to main only through src-shared messages).',
      ]),
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
      'no-restricted-imports': forbid([
        ['**/src-main/**', '**/src-worker/**', 'electron', 'node:*', 'better-sqlite3', '@tensorflow/*'],
        'The renderer reaches main only through the api client (src-renderer/lib/api.ts).',
      ]),
    },
  },
);
