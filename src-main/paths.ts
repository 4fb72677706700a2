import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Where the built app lives. Bundling may move this code into a chunk folder, so the
 * root is found by walking up to our package.json rather than by a fixed "../..".
 */
function findAppRoot(start: string): string {
  let dir = start;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'vae-studio') return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`Cannot find the VAE Studio app folder above ${start}`);
    dir = parent;
  }
}

export const appRoot = findAppRoot(import.meta.dirname);
export const appVersion = (JSON.parse(readFileSync(join(appRoot, 'package.json'), 'utf8')) as { version: string }).version;

export const appPaths = {
  root: appRoot,
  workerEntry: join(appRoot, 'out', 'main', 'worker.js'),
  importWorkerEntry: join(appRoot, 'out', 'main', 'import-worker.js'),
  preload: join(appRoot, 'out', 'preload', 'preload.cjs'),
  renderer: join(appRoot, 'out', 'renderer'),
  sampleDataset: join(appRoot, 'resources', 'sample-digits'),
  electronNative: join(appRoot, '.cache', 'electron-native', 'better_sqlite3.node'),
};
