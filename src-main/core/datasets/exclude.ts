import { encodePacked, imageBytes, SPLIT_TRAIN, type PackedDataset } from '@shared/dataset-format';
import { ApiError } from '@shared/errors';
import type { SplitCounts } from '@shared/types';
import type { IndexEntry } from './import-folder';

export interface Excluded {
  packed: Uint8Array;
  /** The kept images' index entries (null when the dataset had no index). */
  index: IndexEntry[] | null;
  kept: PackedDataset;
  labelCounts: number[];
  splitCounts: SplitCounts;
}

/**
 * A copy of a packed dataset without the images at `drop` (indices into it): same size,
 * channels, label names and splits for every image kept, so a new version differs from
 * its parent only by what the user left out. Refuses an index past the end and a result
 * with no training image left.
 */
export function withoutImages(dataset: PackedDataset, index: readonly IndexEntry[] | null, drop: readonly number[], name: string): Excluded {
  const { count } = dataset.header;
  const out = new Set<number>();
  for (const i of drop) {
    if (!Number.isInteger(i) || i < 0 || i >= count) {
      throw new ApiError('invalid_input', `Image ${i} is not in dataset "${name}" (it has images 0 to ${count - 1}).`, { field: 'indices' });
    }
    out.add(i);
  }
  const split = dataset.split ?? new Uint8Array(count).fill(SPLIT_TRAIN);
  const keep: number[] = [];
  for (let i = 0; i < count; i++) if (!out.has(i)) keep.push(i);
  if (!keep.some((i) => split[i] === SPLIT_TRAIN)) {
    throw new ApiError('invalid_input', `Leaving out these ${out.size} images would leave dataset "${name}" no training image. Exclude fewer.`, { field: 'indices' });
  }
  const per = imageBytes(dataset.header);
  const pixels = new Uint8Array(keep.length * per);
  const labels = new Int32Array(keep.length);
  const keptSplit = new Uint8Array(keep.length);
  const labelCounts = new Array<number>(dataset.header.labels.length).fill(0);
  const splitCounts: SplitCounts = { train: 0, validation: 0, test: 0 };
  const names = ['train', 'validation', 'test'] as const;
  keep.forEach((from, to) => {
    pixels.set(dataset.pixels.subarray(from * per, (from + 1) * per), to * per);
    labels[to] = dataset.labels[from]!;
    keptSplit[to] = split[from]!;
    if (labels[to]! >= 0 && labels[to]! < labelCounts.length) labelCounts[labels[to]!]!++;
    splitCounts[names[keptSplit[to]!]!]++;
  });
  const kept: PackedDataset = { header: { ...dataset.header, version: 2, count: keep.length }, pixels, labels, split: keptSplit };
  return {
    packed: encodePacked(kept),
    index: index ? keep.map((i) => index[i]!).filter((e) => e !== undefined) : null,
    kept,
    labelCounts,
    splitCounts,
  };
}
