import { createRng, STREAM } from '../engine/random';

/**
 * p(y|x) for every image from a small softmax classifier on the latent means, cross-fitted:
 * the images are dealt into `folds` folds and each is scored by a classifier trained on
 * the other folds only, so no image is judged by a model that saw its own label.
 * Unlabelled images (label < 0) are never trained on; they are scored like the rest.
 */
export interface LabelCheck {
  /** [count × classes] row-major. */
  probabilities: Float32Array;
  /** Share of labelled images whose argmax is their label. */
  accuracy: number;
}

export interface LabelCheckOptions {
  folds: number;
  classes: number;
  seed: number;
  epochs?: number;
  /** Called between epochs, so a long fit keeps the process responsive and can stop. */
  tick?: (done: number, total: number) => Promise<boolean>;
}

/** Features: the standardized means and their squares (a quadratic boundary for little more cost). */
function features(means: Float32Array, count: number, latent: number): { x: Float32Array; width: number } {
  const width = 2 * latent + 1;
  const mean = new Float64Array(latent);
  const sq = new Float64Array(latent);
  for (let i = 0; i < count; i++) for (let j = 0; j < latent; j++) mean[j]! += means[i * latent + j]!;
  for (let j = 0; j < latent; j++) mean[j]! /= Math.max(1, count);
  for (let i = 0; i < count; i++) for (let j = 0; j < latent; j++) sq[j]! += (means[i * latent + j]! - mean[j]!) ** 2;
  const sd = Array.from(sq, (v) => Math.sqrt(v / Math.max(1, count)) || 1);
  const x = new Float32Array(count * width);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < latent; j++) {
      const v = (means[i * latent + j]! - mean[j]!) / sd[j]!;
      x[i * width + j] = v;
      x[i * width + latent + j] = (v * v - 1) / Math.SQRT2;
    }
    x[i * width + 2 * latent] = 1;
  }
  return { x, width };
}

function softmaxRow(logits: Float64Array): void {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (let c = 0; c < logits.length; c++) sum += logits[c] = Math.exp(logits[c]! - max);
  for (let c = 0; c < logits.length; c++) logits[c]! /= sum;
}

export async function crossFittedLabelCheck(means: Float32Array, count: number, latent: number, labels: Int32Array, options: LabelCheckOptions): Promise<LabelCheck | null> {
  const { folds, classes } = options;
  // About 60 000 updates per fold: 8 epochs of a few thousand images, 2 of 60 000 (a convex fit settles in far fewer).
  const labelled = labels.reduce((n, l) => n + (l >= 0 && l < classes ? 1 : 0), 0);
  const epochs = options.epochs ?? Math.max(2, Math.min(8, Math.ceil(60_000 / Math.max(1, (labelled * (folds - 1)) / folds))));
  const { x, width } = features(means, count, latent);
  const rng = createRng(options.seed, STREAM.labelCheck);
  const fold = new Int32Array(count);
  for (let i = 0; i < count; i++) fold[i] = Math.floor(rng.uniform() * folds);
  const probabilities = new Float32Array(count * classes);
  const logits = new Float64Array(classes);
  const batch = 32;
  for (let f = 0; f < folds; f++) {
    const train: number[] = [];
    for (let i = 0; i < count; i++) if (fold[i] !== f && labels[i]! >= 0 && labels[i]! < classes) train.push(i);
    const w = new Float64Array(width * classes);
    const grad = new Float64Array(width * classes);
    let lr = 0.5;
    for (let epoch = 0; epoch < epochs; epoch++) {
      // A fresh order each epoch (Fisher–Yates from the seeded stream).
      for (let i = train.length - 1; i > 0; i--) {
        const j = Math.floor(rng.uniform() * (i + 1));
        [train[i], train[j]] = [train[j]!, train[i]!];
      }
      for (let from = 0; from < train.length; from += batch) {
        grad.fill(0);
        const to = Math.min(train.length, from + batch);
        for (let r = from; r < to; r++) {
          const i = train[r]!;
          const row = i * width;
          logits.fill(0);
          for (let k = 0; k < width; k++) {
            const v = x[row + k]!;
            if (v === 0) continue;
            for (let c = 0; c < classes; c++) logits[c]! += v * w[k * classes + c]!;
          }
          softmaxRow(logits);
          logits[labels[i]!]! -= 1;
          for (let k = 0; k < width; k++) {
            const v = x[row + k]!;
            if (v === 0) continue;
            for (let c = 0; c < classes; c++) grad[k * classes + c]! += v * logits[c]!;
          }
        }
        const step = lr / (to - from);
        for (let k = 0; k < w.length; k++) w[k]! -= step * (grad[k]! + 1e-4 * (to - from) * w[k]!);
      }
      lr *= 0.7;
      if (options.tick && (await options.tick(f * epochs + epoch + 1, folds * epochs))) return null;
    }
    for (let i = 0; i < count; i++) {
      if (fold[i] !== f) continue;
      const row = i * width;
      logits.fill(0);
      for (let k = 0; k < width; k++) for (let c = 0; c < classes; c++) logits[c]! += x[row + k]! * w[k * classes + c]!;
      softmaxRow(logits);
      for (let c = 0; c < classes; c++) probabilities[i * classes + c] = logits[c]!;
    }
  }
  return { probabilities, accuracy: accuracyOf(probabilities, labels, count, classes) };
}

export function accuracyOf(probabilities: Float32Array, labels: Int32Array, count: number, classes: number): number {
  let labelled = 0;
  let right = 0;
  for (let i = 0; i < count; i++) {
    const label = labels[i]!;
    if (label < 0 || label >= classes) continue;
    labelled++;
    let best = 0;
    for (let c = 1; c < classes; c++) if (probabilities[i * classes + c]! > probabilities[i * classes + best]!) best = c;
    if (best === label) right++;
  }
  return labelled ? right / labelled : NaN;
}
