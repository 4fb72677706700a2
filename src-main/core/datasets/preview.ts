import sharp from 'sharp';
import { decodePacked, imageBytes } from '@shared/dataset-format';

/** A PNG grid of the first `count` images of a packed dataset, as a data URL. */
export async function previewGrid(packedBytes: Uint8Array, count: number): Promise<string> {
  const { header, pixels } = decodePacked(packedBytes);
  const n = Math.min(count, header.count);
  const cols = Math.min(n, 8);
  const rows = Math.max(1, Math.ceil(n / cols));
  const { width: w, height: h, channels: c } = header;
  const pad = 2;
  const gridW = cols * (w + pad) + pad;
  const gridH = rows * (h + pad) + pad;
  const grid = new Uint8Array(gridW * gridH * c).fill(40);
  const per = imageBytes(header);
  for (let i = 0; i < n; i++) {
    const ox = pad + (i % cols) * (w + pad);
    const oy = pad + Math.floor(i / cols) * (h + pad);
    for (let y = 0; y < h; y++) {
      const src = i * per + y * w * c;
      grid.set(pixels.subarray(src, src + w * c), ((oy + y) * gridW + ox) * c);
    }
  }
  const png = await sharp(grid, { raw: { width: gridW, height: gridH, channels: c } }).png().toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}
