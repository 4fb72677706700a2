import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';
import { tf } from '../engine/tf';
import { registerWasmKernels } from '../backends/wasm-kernels/register';
import type { ImageSet } from '../train/images';
import { mulberry32 } from '@shared/random';

/** Activate a backend for a test, with the project's wasm kernels installed. */
export async function useBackend(name: 'wasm' | 'cpu'): Promise<void> {
  registerWasmKernels('wasm');
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} did not start`);
}

/**
 * Tiny synthetic image set: blurry blobs at random places, so there is structure a
 * VAE can learn quickly (a uniform-noise set would not show a falling loss).
 */
export function syntheticImages(count: number, width = 8, height = 8, channels: 1 | 3 = 1, seed = 3): ImageSet {
  const random = mulberry32(seed);
  const pixels = new Uint8Array(count * width * height * channels);
  for (let n = 0; n < count; n++) {
    const cx = random() * width;
    const cy = random() * height;
    const r = 1 + random() * (Math.min(width, height) / 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const d2 = (x - cx) ** 2 + (y - cy) ** 2;
        const v = Math.round(255 * Math.exp(-d2 / (2 * r * r)));
        for (let c = 0; c < channels; c++) pixels[((n * height + y) * width + x) * channels + c] = c === 1 ? 255 - v : v;
      }
    }
  }
  return { shape: { width, height, channels }, count, pixels };
}
