import { mulberry32 } from '@shared/random';
import type { ImageSet } from '../train/images';

/**
 * Two labelled classes on 8×8: class 0 has its blob in the left half, class 1 in the
 * right half, at a random height and size. The label says where, the image the rest.
 */
export function sidedBlobs(count: number, seed = 5): ImageSet {
  const random = mulberry32(seed);
  const size = 8;
  const pixels = new Uint8Array(count * size * size);
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const label = n % 2;
    labels[n] = label;
    const cx = label === 0 ? 1 + random() * 2 : 5 + random() * 2;
    const cy = 1 + random() * 6;
    const r = 0.8 + random() * 0.8;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) pixels[(n * size + y) * size + x] = Math.round(255 * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r)));
    }
  }
  return { shape: { width: size, height: size, channels: 1 }, count, pixels, labels };
}
