import sharp from 'sharp';
import { decodePacked, imageBytes, type PackedDataset } from '@shared/dataset-format';

const PAD = 2;

/** Tiles the given images (by index) into rows of `cols`, as a PNG data URL. */
async function tile(dataset: PackedDataset, indices: readonly number[], cols: number): Promise<string> {
  const { header, pixels } = dataset;
  const n = indices.length;
  const columns = Math.max(1, Math.min(n, cols));
  const rows = Math.max(1, Math.ceil(n / columns));
  const { width: w, height: h, channels: c } = header;
  const gridW = columns * (w + PAD) + PAD;
  const gridH = rows * (h + PAD) + PAD;
  const grid = new Uint8Array(gridW * gridH * c).fill(40);
  const per = imageBytes(header);
  indices.forEach((image, i) => {
    const ox = PAD + (i % columns) * (w + PAD);
    const oy = PAD + Math.floor(i / columns) * (h + PAD);
    for (let y = 0; y < h; y++) {
      const src = image * per + y * w * c;
      grid.set(pixels.subarray(src, src + w * c), ((oy + y) * gridW + ox) * c);
    }
  });
  const png = await sharp(grid, { raw: { width: gridW, height: gridH, channels: c } }).png().toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

/** A PNG grid of the first `count` images of a packed dataset, as a data URL. */
export async function previewGrid(packedBytes: Uint8Array, count: number): Promise<string> {
  const dataset = decodePacked(packedBytes);
  const n = Math.min(count, dataset.header.count);
  return tile(dataset, Array.from({ length: n }, (_, i) => i), 8);
}

export interface ClassStrip {
  label: string;
  /** One row of up to `perClass` images of this label. */
  gridDataUrl: string;
  shown: number;
}

/**
 * One strip per label with its first `perClass` images: the plain grid shows only the
 * first class or two of a sorted folder, which says little about the others.
 */
export async function classStrips(packedBytes: Uint8Array, perClass: number): Promise<ClassStrip[]> {
  const dataset = decodePacked(packedBytes);
  const picked: number[][] = dataset.header.labels.map(() => []);
  dataset.labels.forEach((label, image) => {
    const bucket = picked[label];
    if (bucket && bucket.length < perClass) bucket.push(image);
  });
  const strips: ClassStrip[] = [];
  for (const [index, label] of dataset.header.labels.entries()) {
    const images = picked[index] ?? [];
    if (images.length > 0) strips.push({ label, gridDataUrl: await tile(dataset, images, perClass), shown: images.length });
  }
  return strips;
}
