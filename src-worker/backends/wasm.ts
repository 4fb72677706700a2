import { setWasmPaths, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../engine/tf';
import type { BackendPlatform } from './platform';
import { setBackendExplained } from './set-backend';
import type { BackendStart } from './start';
import { registerWasmKernels } from './wasm-kernels/register';

/** tfjs wasm with the project's kernels (wasm-kernels/): conv training on XNNPACK. */
export async function startWasm(platform: BackendPlatform): Promise<BackendStart> {
  const versions = { '@tensorflow/tfjs-backend-wasm': version_wasm };
  if (platform.wasmDir !== undefined) setWasmPaths(platform.wasmDir);
  registerWasmKernels('wasm');
  const started = await setBackendExplained('wasm');
  if (!started.ok) return { ok: false, loaded: false, reason: started.reason, versions };
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return {
    ok: true,
    notes: [
      `wasm: ${simd ? 'SIMD' : 'no SIMD'}; its kernels run on one thread under Node (tfjs-backend-wasm has no thread support there), ` +
        'so training splits each batch across worker threads, one model replica each (run setting threads)',
    ],
    versions,
  };
}
