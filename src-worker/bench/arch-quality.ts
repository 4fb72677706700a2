import { convDesignOf, type RunConfig } from '@shared/config';
import { permutation } from '@shared/random';
import { createRng, type Rng } from '../engine/random';
import { VaeTrainer } from '../train/trainer';

/**
 * A quick quality comparison of conv architectures at 64×64×3: generated images (one to
 * three filled circles, squares and triangles of random colours, sizes and places on a
 * two-colour gradient), trained for a fixed wall-clock time, then the test bound in bits
 * per dimension on the 0–255 scale. Pixels are dequantized ((k + u) / 256, u uniform,
 * fresh per batch), so the continuous density's IWAE bound bounds the discrete NLL:
 * bits/dim = (NLL + D·ln 256) / (D·ln 2).
 */
export const QUALITY_SIDE = 64;

export function generateShapes(count: number, side: number, seed: number): Uint8Array {
  const rng = createRng(seed, 0x5a);
  const D = side * side * 3;
  const pixels = new Uint8Array(count * D);
  const colour = (): number[] => [rng.uniform(), rng.uniform(), rng.uniform()].map((c) => Math.round(c * 255));
  for (let i = 0; i < count; i++) {
    const [top, bottom] = [colour(), colour()];
    const img = pixels.subarray(i * D, (i + 1) * D);
    for (let y = 0; y < side; y++) {
      const t = y / (side - 1);
      for (let x = 0; x < side; x++) for (let c = 0; c < 3; c++) img[(y * side + x) * 3 + c] = Math.round(top[c]! * (1 - t) + bottom[c]! * t);
    }
    const shapes = 1 + Math.floor(rng.uniform() * 3);
    for (let s = 0; s < shapes; s++) {
      const kind = Math.floor(rng.uniform() * 3);
      const r = side * (0.1 + 0.15 * rng.uniform());
      const cx = r + rng.uniform() * (side - 2 * r);
      const cy = r + rng.uniform() * (side - 2 * r);
      const fill = colour();
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) {
          const dx = x + 0.5 - cx;
          const dy = y + 0.5 - cy;
          const inside = kind === 0 ? dx * dx + dy * dy <= r * r : kind === 1 ? Math.abs(dx) <= r && Math.abs(dy) <= r : dy <= r && dy >= -r && Math.abs(dx) <= (dy + r) / 2;
          if (inside) for (let c = 0; c < 3; c++) img[(y * side + x) * 3 + c] = fill[c]!;
        }
      }
    }
  }
  return pixels;
}

/** Rows `order[from..to)` of `pixels`, dequantized to (k + u) / 256. */
function dequantized(pixels: Uint8Array, D: number, order: ArrayLike<number>, from: number, to: number, rng: Rng): Float32Array {
  const out = new Float32Array((to - from) * D);
  for (let row = 0; row < to - from; row++) {
    const src = order[from + row]! * D;
    for (let i = 0; i < D; i++) out[row * D + i] = (pixels[src + i]! + rng.uniform()) / 256;
  }
  return out;
}

export interface ArchQuality {
  trainSeconds: number;
  evalSeconds: number;
  images: number;
  epochs: number;
  testImages: number;
  k: number;
  bitsPerDim: number;
}

export async function archQuality(config: RunConfig, seconds: number, trainCount = 3000, testCount = 200, k = 8, batch = 32): Promise<ArchQuality> {
  const side = QUALITY_SIDE;
  const D = side * side * 3;
  const train = generateShapes(trainCount, side, 1);
  const test = generateShapes(testCount, side, 2);
  const t = new VaeTrainer({ kind: 'conv', image: { width: side, height: side, channels: 3 }, latent: config.latent, hidden: config.hidden, conv: convDesignOf(config) }, config);
  try {
    const shuffle = createRng(3, 0x51);
    const noise = createRng(4, 0x52);
    let images = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      const order = permutation(trainCount, shuffle.uniform);
      for (let from = 0; from + batch <= trainCount && performance.now() - t0 < seconds * 1000; from += batch) {
        await t.step(dequantized(train, D, order, from, from + batch, noise), batch);
        images += batch;
      }
    }
    const t1 = performance.now();
    const rng = createRng(5);
    const all = Int32Array.from({ length: testCount }, (_, i) => i);
    let sum = 0;
    for (let from = 0; from < testCount; from += 16) {
      const to = Math.min(testCount, from + 16);
      for (const v of await t.iwaeLogLikelihood(dequantized(test, D, all, from, to, noise), to - from, k, rng)) sum += v;
    }
    const nll = -sum / testCount;
    return {
      trainSeconds: (t1 - t0) / 1000,
      evalSeconds: (performance.now() - t1) / 1000,
      images,
      epochs: images / trainCount,
      testImages: testCount,
      k,
      bitsPerDim: (nll + D * Math.log(256)) / (D * Math.LN2),
    };
  } finally {
    t.dispose();
  }
}
