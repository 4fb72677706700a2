import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const root = import.meta.dirname;
const shared = { '@shared': resolve(root, 'src-shared') };

/**
 * Four entries, one per process: the Electron main process (which also carries the
 * CLI and web server, all over the same core), the sandboxed preload (CommonJS, as a
 * sandboxed preload must be), the Svelte renderer and the training worker.
 */
export default defineConfig({
  main: {
    resolve: { alias: shared },
    build: {
      // Only `dependencies` are external by default; the optional Dawn package (native
      // dawn.node found relative to its own files) must be loaded from node_modules too.
      // ioredis (BullMQ's client, which the remote runs also use directly) stays BullMQ's own copy.
      externalizeDeps: { include: ['webgpu', 'ioredis'] },
      outDir: 'out/main',
      rolldownOptions: {
        input: {
          main: resolve(root, 'src-main/electron/main.ts'),
          cli: resolve(root, 'src-main/cli/main.ts'),
          worker: resolve(root, 'src-worker/index.ts'),
          // A data-parallel training replica (worker_threads), loaded from beside worker.js.
          'train-thread': resolve(root, 'src-worker/threads/train-thread.ts'),
          'import-worker': resolve(root, 'src-main/core/datasets/import-process.ts'),
        },
      },
    },
  },
  preload: {
    resolve: { alias: shared },
    build: {
      outDir: 'out/preload',
      rolldownOptions: {
        input: { preload: resolve(root, 'src-main/electron/preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'src-renderer'),
    resolve: { alias: shared },
    // No svelte.config.js: the defaults are the configuration (said here, so the build does not print it).
    plugins: [svelte({ configFile: false })],
    build: {
      outDir: resolve(root, 'out/renderer'),
      rolldownOptions: { input: resolve(root, 'src-renderer/index.html') },
    },
  },
});
