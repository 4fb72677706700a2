import type { BackendReport } from '@shared/backend-report';
import { probeBackends } from './backends/select';
import { tf } from './engine/tf';
import { nodeBackendPlatform } from './platform/node-backends';
import { physicalCores } from './threads/cores';

/**
 * `vae-studio doctor`: every backend tried in this process, the kind that trains,
 * so what it reports is what a run would meet.
 */
export async function probeReport(): Promise<BackendReport> {
  const found = await probeBackends({ platform: nodeBackendPlatform() });
  return {
    ...found,
    runtime: {
      node: process.versions.node,
      ...(process.versions['electron'] === undefined ? {} : { electron: process.versions['electron'] }),
      platform: process.platform,
      arch: process.arch,
      '@tensorflow/tfjs-core': tf.version_core,
      // What a run's `threads` defaults to: wasm training splits each batch this many ways.
      'training threads': String(physicalCores()),
    },
  };
}
