// Builds a benchmark entry of src-worker/bench the way the worker is built —
// '@tensorflow/*' and other dependencies external, the gradient registrations inlined —
// then runs it with this process's extra arguments, in a process started with the V8 heap
// the app's worker process gets (src-shared/model-size.ts ISOLATE_OLD_SPACE_FLAG). Used by
// `npm run bench`, `npm run bench:impute` and the scripts/bench-*.mjs.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'vite';

/**
 * `entry`: path under the repository root; `name`: folder under out/ for the build;
 * `nodeArgs`: flags for node (e.g. V8's --trace-gc); `summarise`: given the run's whole
 * stdout, returns what to print instead of it.
 */
export async function runBench(entry, name, { nodeArgs = [], summarise } = {}) {
  const root = resolve(import.meta.dirname, '..');
  const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
  const deps = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}), 'mnist'];
  const external = (id) =>
    id.startsWith('node:') || builtinModules.includes(id) || deps.some((dep) => id === dep || id.startsWith(`${dep}/`));

  await build({
    root,
    configFile: false,
    logLevel: 'warn',
    resolve: { alias: { '@shared': resolve(root, 'src-shared') } },
    build: {
      ssr: true,
      outDir: resolve(root, 'out', name),
      emptyOutDir: true,
      target: 'node20',
      rolldownOptions: {
        // The training thread (data-parallel replicas) is its own entry, loaded from beside bench.mjs.
        // model-size: the flag the app's worker process starts with, read below.
        input: { bench: resolve(root, entry), 'train-thread': resolve(root, 'src-worker/threads/train-thread.ts'), 'model-size': resolve(root, 'src-shared/model-size.ts') },
        external,
        output: { entryFileNames: '[name].mjs', chunkFileNames: '[name]-[hash].mjs', format: 'es' },
      },
    },
    ssr: { noExternal: true },
  });

  // A bench trains and infers in its own process, where the app does in its worker process: it starts with
  // the same V8 heap (src-main/core/jobs/spawn.ts), so that its one-thread figures are the app's.
  const { ISOLATE_OLD_SPACE_FLAG } = await import(pathToFileURL(resolve(root, 'out', name, 'model-size.mjs')).href);
  const argv = [ISOLATE_OLD_SPACE_FLAG, ...nodeArgs, resolve(root, 'out', name, 'bench.mjs'), ...process.argv.slice(2)];
  if (summarise === undefined) {
    const run = spawnSync(process.execPath, argv, { cwd: root, stdio: 'inherit' });
    process.exit(run.status ?? 1);
  }
  const run = spawnSync(process.execPath, argv, { cwd: root, stdio: ['inherit', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 30 });
  process.stdout.write(summarise(run.stdout ?? ''));
  process.exit(run.status ?? 1);
}
