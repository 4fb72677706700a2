import type { RunConfig } from '@shared/config';
import { permutation } from '@shared/random';
import { createRng, STREAM } from '../engine/random';
import type { ImageSet } from './images';

/**
 * Which training labels an M2 run keeps, and the labelled mini-batch that goes with
 * every step. Both are pure functions of the seed (and the epoch), so a resumed run
 * keeps the same labels and draws the same labelled batches without extra state.
 */
export interface LabelledSubset {
  /** Dataset indices of the training images whose label is kept, class by class. */
  kept: Int32Array;
  /** Per dataset index: 1 when its label is kept. */
  isKept: Uint8Array;
  /** kept.length / training images. */
  fraction: number;
}

/**
 * Keep round(fraction · n_c) labels of each class c among the training images (at least
 * one per class present), chosen by seed: stratified, so a 1 % run still sees every class.
 */
export function keepLabels(images: ImageSet, train: Int32Array, fraction: number, seed: number): LabelledSubset {
  const labels = images.labels;
  if (labels === undefined) throw new Error('M2 needs a labelled image set');
  const byClass = new Map<number, number[]>();
  for (const index of train) {
    const label = labels[index] ?? -1;
    if (label < 0) continue;
    const list = byClass.get(label) ?? [];
    list.push(index);
    byClass.set(label, list);
  }
  const rng = createRng(seed, STREAM.labelled);
  const kept: number[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = byClass.get(label)!;
    const take = Math.min(members.length, Math.max(1, Math.round(fraction * members.length)));
    const order = permutation(members.length, rng.uniform);
    for (let i = 0; i < take; i++) kept.push(members[order[i]!]!);
  }
  const isKept = new Uint8Array(images.count);
  for (const index of kept) isKept[index] = 1;
  return { kept: Int32Array.from(kept), isKept, fraction: kept.length / Math.max(1, train.length) };
}

/**
 * The labelled images added to step `step` (0-based within the epoch) of `epoch`: the
 * next `size` of a per-epoch shuffle of the kept images, wrapping around.
 */
export function labelledBatch(subset: LabelledSubset, epoch: number, step: number, size: number, seed: number): Int32Array {
  const n = subset.kept.length;
  if (n === 0) return new Int32Array(0);
  const order = permutation(n, createRng(seed, (STREAM.labelled + epoch * 0x9e37) >>> 0).uniform);
  const count = Math.min(size, n);
  return Int32Array.from({ length: count }, (_, i) => subset.kept[order[(step * count + i) % n]!]!);
}

/** The α a run trains with (its own, or the default for its label counts). */
export function resolveClassifierWeight(config: Pick<RunConfig, 'classifierWeight'>, subset: LabelledSubset, trainCount: number): number {
  return config.classifierWeight ?? (0.1 * Math.max(1, trainCount - subset.kept.length)) / Math.max(1, subset.kept.length);
}
