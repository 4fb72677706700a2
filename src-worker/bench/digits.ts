import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { mulberry32, permutation } from '@shared/random';
import type { ImageSet } from '../train/images';

/**
 * The quality check's data: the `mnist` package's 10 000 digits (28×28, grey in
 * [0, 1]), binarized at 0.5 for a Bernoulli decoder, shuffled by a fixed seed and cut
 * into our own train and test parts. The same bytes go to the PyTorch reference.
 */
interface MnistDigit {
  length: number;
  get(index: number): number[];
}

export interface DigitSplit {
  /** Where the digits come from, for the printed table. */
  source: string;
  images: ImageSet;
  train: Int32Array;
  test: Int32Array;
}

/** The row indices from, …, to − 1. */
const range = (from: number, to: number): Int32Array => Int32Array.from({ length: to - from }, (_, i) => from + i);

export function loadDigits(trainCount: number, testCount: number, seed = 1): DigitSplit {
  const mnist = createRequire(import.meta.url)('mnist') as Record<number, MnistDigit>;
  const all: number[][] = [];
  const digitOf: number[] = [];
  for (let digit = 0; digit <= 9; digit++) {
    const set = mnist[digit]!;
    for (let i = 0; i < set.length; i++) {
      all.push(set.get(i));
      digitOf.push(digit);
    }
  }
  if (trainCount + testCount > all.length) throw new Error(`the mnist package has ${all.length} digits, asked for ${trainCount + testCount}`);
  const order = permutation(all.length, mulberry32(seed)).slice(0, trainCount + testCount);
  const pixels = new Uint8Array(order.length * 784);
  order.forEach((source, row) => all[source]!.forEach((v, p) => (pixels[row * 784 + p] = v >= 0.5 ? 255 : 0)));
  return {
    source: 'binarized digits of the mnist package',
    // The digit is the label (conditional and semi-supervised models use it).
    images: { shape: { width: 28, height: 28, channels: 1 }, count: order.length, pixels, labels: Int32Array.from(order, (source) => digitOf[source]!) },
    train: range(0, trainCount),
    test: range(trainCount, trainCount + testCount),
  };
}

/**
 * The sample dataset the app ships (`resources/sample-digits`, one folder per label,
 * 28×28 grey PNGs), binarized at 0.5 like `loadDigits` and cut by a seeded shuffle into
 * train and `testCount` held-out images. Decoded with sharp, as the app's import does
 * for files its own PNG reader does not take.
 */
export async function loadSampleDigits(dir: string, testCount: number, seed = 1): Promise<DigitSplit> {
  const { default: sharp } = await import('sharp');
  const files: { path: string; label: number }[] = [];
  const labels = readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  labels.forEach((name, label) => {
    for (const file of readdirSync(join(dir, name)).sort()) if (file.endsWith('.png')) files.push({ path: join(dir, name, file), label });
  });
  if (files.length <= testCount) throw new Error(`${dir} holds ${files.length} PNG digits; at least ${testCount + 1} are needed`);
  const order = permutation(files.length, mulberry32(seed));
  const pixels = new Uint8Array(files.length * 784);
  for (const [row, source] of order.entries()) {
    const { path } = files[source]!;
    const { data, info } = await sharp(path).greyscale().raw().toBuffer({ resolveWithObject: true });
    if (info.width !== 28 || info.height !== 28 || info.channels !== 1) {
      throw new Error(`${path} is ${info.width}×${info.height}×${info.channels}; the sample digits are 28×28 grey`);
    }
    data.forEach((v, p) => (pixels[row * 784 + p] = v >= 128 ? 255 : 0));
  }
  const trainCount = files.length - testCount;
  return {
    source: `binarized sample digits the app ships (${dir})`,
    images: { shape: { width: 28, height: 28, channels: 1 }, count: files.length, pixels, labels: Int32Array.from(order, (source) => files[source]!.label) },
    train: range(0, trainCount),
    test: range(trainCount, files.length),
  };
}

/** The file the PyTorch script reads: u32 train count, u32 test count, then 0/1 bytes, train first. */
export function digitsFile(split: DigitSplit): Uint8Array {
  const out = new Uint8Array(8 + split.images.pixels.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, split.train.length, true);
  view.setUint32(4, split.test.length, true);
  split.images.pixels.forEach((v, i) => (out[8 + i] = v > 0 ? 1 : 0));
  return out;
}
