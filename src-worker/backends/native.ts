import { tf } from '../engine/tf';
import type { BackendPlatform, NativePackage } from './platform';
import { setBackendExplained } from './set-backend';
import type { BackendStart } from './start';

/**
 * TensorFlow's C library through tfjs-node-gpu (CUDA) or tfjs-node (CPU). Both
 * register the same tfjs backend, 'tensorflow'; whichever package loaded first
 * provides it, so tfjs-node-gpu on a machine without a usable CUDA device still
 * serves as the native CPU backend.
 */
/** The field tfjs-node's NodeJSKernelBackend sets from TensorFlow's device list. */
interface NativeBackend {
  isUsingGpuDevice?: boolean;
}

export const NATIVE_BACKEND = 'tensorflow';

export async function startNative(wantGpu: boolean, platform: BackendPlatform): Promise<BackendStart> {
  const pkg: NativePackage = wantGpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  let versions: Record<string, string> = {};
  if (tf.findBackendFactory(NATIVE_BACKEND) === null) {
    const loaded = await platform.loadNative(pkg);
    if (!loaded.ok) return { ok: false, loaded: false, reason: loaded.reason, versions };
    versions = loaded.versions;
  }
  const started = await setBackendExplained(NATIVE_BACKEND);
  if (!started.ok) return { ok: false, loaded: false, reason: `TensorFlow did not start: ${started.reason}`, versions };
  const onGpu = (tf.backend() as NativeBackend).isUsingGpuDevice === true;
  if (wantGpu && !onGpu) {
    return {
      ok: false,
      loaded: true,
      reason: 'loaded, but TensorFlow reports no CUDA GPU device (needs an NVIDIA GPU with CUDA 11.2 and cuDNN 8.1 libraries on the library path)',
      versions,
    };
  }
  return { ok: true, notes: [], versions };
}
