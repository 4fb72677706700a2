import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { encodePacked } from '@shared/dataset-format';
import { classStrips, previewGrid } from './preview';

/** 4×4 grey images; image i has label labels[i] and every pixel = value(i). */
function packed(labels: number[], names: string[], value: (i: number) => number): Uint8Array {
  const per = 16;
  const pixels = new Uint8Array(labels.length * per);
  labels.forEach((_, i) => pixels.fill(value(i), i * per, (i + 1) * per));
  return encodePacked({
    header: { version: 1, count: labels.length, width: 4, height: 4, channels: 1, labels: names },
    pixels,
    labels: Int32Array.from(labels),
  });
}

async function decode(dataUrl: string): Promise<{ width: number; height: number; data: Buffer }> {
  // sharp reads a grey PNG as RGB; one channel is enough to compare values.
  const { data, info } = await sharp(Buffer.from(dataUrl.split(',')[1]!, 'base64'))
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

/** Values of the top-left pixel of each cell in a one-row strip of 4×4 cells with 2 px padding. */
function cellValues(image: { width: number; data: Buffer }, cells: number): number[] {
  return Array.from({ length: cells }, (_, i) => image.data[2 * image.width + 2 + i * 6]!);
}

describe('dataset preview', () => {
  it('shows every class, even when the first class alone would fill the plain grid', async () => {
    // 10 images of "a" first, then 3 of "b": the first 8 are all "a".
    const labels = [...Array(10).fill(0), 1, 1, 1];
    const bytes = packed(labels, ['a', 'b'], (i) => (labels[i] === 0 ? 50 : 200) + i);

    const strips = await classStrips(bytes, 4);
    expect(strips.map((s) => [s.label, s.shown])).toEqual([['a', 4], ['b', 3]]);

    const a = await decode(strips[0]!.gridDataUrl);
    expect([a.width, a.height]).toEqual([4 * 6 + 2, 6 + 2]);
    expect(cellValues(a, 4)).toEqual([50, 51, 52, 53]);
    const b = await decode(strips[1]!.gridDataUrl);
    expect([b.width, b.height]).toEqual([3 * 6 + 2, 8]);
    expect(cellValues(b, 3)).toEqual([210, 211, 212]);

    // The plain grid of the first 8 is the one that would have hidden "b".
    const grid = await decode(await previewGrid(bytes, 8));
    expect(cellValues(grid, 8)).toEqual([50, 51, 52, 53, 54, 55, 56, 57]);
  });

  it('leaves out labels without images and ignores unlabelled ones', async () => {
    const bytes = packed([-1, 2, -1, 2], ['x', 'empty', 'z'], () => 9);
    const strips = await classStrips(bytes, 8);
    expect(strips.map((s) => [s.label, s.shown])).toEqual([['z', 2]]);
  });
});
