import type { ImageShape } from '../model/vae';

/**
 * The data set as the engine sees it: 8-bit pixels, HWC per image, kept as bytes
 * (4× smaller than floats) and scaled to [0, 1] one batch at a time.
 */
export interface ImageSet {
  shape: ImageShape;
  count: number;
  pixels: Uint8Array;
  /** Class per image (the folder it came from), −1 when unlabelled; absent in synthetic sets. */
  labels?: Int32Array;
  /**
   * How many label names the dataset has, when known: a conditional model's one-hot is
   * that wide even when some class has no image here (an imported model's held-out set).
   */
  classes?: number;
}

export const pixelsPerImage = (shape: ImageShape): number => shape.width * shape.height * shape.channels;

/**
 * Copy images `order[from..to)` into one float batch in [0, 1]. Pixel data is used as
 * is for both decoders: a Bernoulli decoder then sees soft (grey-level) targets.
 */
export function gatherBatch(images: ImageSet, order: ArrayLike<number>, from: number, to: number): Float32Array {
  const D = pixelsPerImage(images.shape);
  const out = new Float32Array((to - from) * D);
  const scale = 1 / 255;
  for (let row = 0; row < to - from; row++) {
    const index = order[from + row];
    if (index === undefined || index < 0 || index >= images.count) throw new RangeError(`image index ${String(index)} out of range`);
    const src = index * D;
    const dst = row * D;
    for (let i = 0; i < D; i++) out[dst + i] = (images.pixels[src + i] ?? 0) * scale;
  }
  return out;
}

/**
 * Labels of images `order[from..to)`, for a conditional model. Throws when the set has
 * none: such a model cannot be trained or asked anything without them.
 */
export function gatherLabels(images: ImageSet, order: ArrayLike<number>, from: number, to: number): Int32Array {
  const { labels } = images;
  if (labels === undefined) throw new Error('this image set has no labels');
  const out = new Int32Array(to - from);
  for (let row = 0; row < to - from; row++) out[row] = labels[order[from + row] ?? -1] ?? -1;
  return out;
}
