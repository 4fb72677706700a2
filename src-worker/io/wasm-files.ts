import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';

/**
 * Folder holding tfjs-backend-wasm's .wasm binaries, found through Node's resolver
 * from wherever this module ended up (src-worker in tests, out/main once built).
 * Undefined when it cannot be found, in which case tfjs looks next to its own script.
 */
export function wasmBinaryDir(): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
    const dir = dirname(entry);
    return existsSync(join(dir, 'tfjs-backend-wasm.wasm')) ? dir + sep : undefined;
  } catch {
    return undefined;
  }
}
