import type { ImageShape } from '../model/vae';

/** An 8-bit image ready for PNG encoding: rows of pixels, `channels` bytes each. */
export interface RasterImage {
  width: number;
  height: number;
  channels: 1 | 3;
  pixels: Uint8Array;
}

const GAP = 2;
const BACKGROUND = 40;

/**
 * Tile `count` flat images (values in [0, 1], HWC) into rows of `columns`, with a
 * dark gap between tiles so neighbouring images do not blend.
 */
export function tileImages(values: Float32Array, count: number, shape: ImageShape, columns: number): RasterImage {
  const { width: w, height: h, channels: c } = shape;
  const rows = Math.max(1, Math.ceil(count / columns));
  const width = columns * w + (columns + 1) * GAP;
  const height = rows * h + (rows + 1) * GAP;
  const pixels = new Uint8Array(width * height * c).fill(BACKGROUND);
  const D = w * h * c;
  for (let k = 0; k < count; k++) {
    const x0 = GAP + (k % columns) * (w + GAP);
    const y0 = GAP + Math.floor(k / columns) * (h + GAP);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w * c; x++) {
        const v = values[k * D + y * w * c + x] ?? 0;
        pixels[((y0 + y) * width + x0) * c + x] = Math.round(Math.min(1, Math.max(0, v)) * 255);
      }
    }
  }
  return { width, height, channels: c, pixels };
}
