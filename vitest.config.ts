import { availableParallelism } from 'node:os';
import path from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { configDefaults, defineConfig } from 'vitest/config';

const alias = { '@shared': path.resolve(import.meta.dirname, 'src-shared') };

/**
 * Two projects. `node`: every *.test.ts (core, worker, CLI, and the renderer's pure
 * logic) in plain Node, as before. `renderer-dom`: *.dom.test.ts, Svelte components
 * mounted in happy-dom against a fake bridge (src-renderer/test/): compiled by the
 * Svelte plugin, with Svelte's browser build. `npx vitest run --project renderer-dom`
 * runs only those.
 */
export default defineConfig({
  resolve: { alias },
  test: {
    testTimeout: 60_000,
    // At least two files at a time: most of the slow ones wait on the processes they start
    // (workers, servers, Redis), leaving a core idle. On the 2-core CI machine one file at a
    // time (Vitest's default there) took 13–16 min, two 9 min, with the same tests passing.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['src-*/**/*.test.ts'],
          exclude: [...configDefaults.exclude, '**/*.dom.test.ts'],
          environment: 'node',
        },
      },
      {
        extends: true,
        plugins: [svelte({ configFile: false })],
        resolve: { conditions: ['browser'] },
        test: {
          name: 'renderer-dom',
          include: ['src-renderer/**/*.dom.test.ts'],
          environment: 'happy-dom',
          setupFiles: ['src-renderer/test/setup.ts'],
        },
      },
    ],
  },
});
