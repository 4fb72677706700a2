import { ApiError } from '@shared/errors';
import type { ImputeMethod, ImputeScore } from '@shared/inference';
import { makeMask, type MaskKind } from '@shared/pixel-mask';
import { createRng, type Rng } from '../engine/random';
import type { Classifier } from '../model/classifier';
import type { Vae } from '../model/vae';
import type { DecoderLikelihood } from '../objectives/elbo';
import { gatherBatch, pixelsPerImage, type ImageSet } from '../train/images';
import { createImputer } from './imputer';
import { argMaxRows } from './labels';

/**
 * Imputation error on held-out images: for each method, the mean squared error over
 * the missing pixel values (and, for binary data, the share that rounds to the truth),
 * beside the floor every method must beat: each missing pixel set to its mean over the
 * training images.
 *
 * A conditional model is scored either given each image's true label (cVAE: what
 * p(x_mis | x_obs, y) gets right when y is known) or inferring it (M2 without labels: the
 * honest semi-supervised case, p(x_mis | x_obs) with y marginalized); the latter also
 * scores the class each method settles on (argmax of its p(y | x_obs) estimate).
 */

/** Mean of every pixel value over the given images, length D. */
export function pixelMeans(images: ImageSet, indices: ArrayLike<number>): Float32Array {
  const D = pixelsPerImage(images.shape);
  const sums = new Float64Array(D);
  for (let r = 0; r < indices.length; r++) {
    const base = indices[r]! * D;
    for (let i = 0; i < D; i++) sums[i]! += images.pixels[base + i]!;
  }
  const n = Math.max(1, indices.length);
  return Float32Array.from(sums, (s) => s / n / 255);
}

/** A pixel mask (width·height) spread over the channels of each pixel (width·height·channels). */
export function expandMask(mask: Uint8Array, channels: number): Uint8Array {
  if (channels === 1) return mask;
  const out = new Uint8Array(mask.length * channels);
  for (let i = 0; i < mask.length; i++) out.fill(mask[i]!, i * channels, (i + 1) * channels);
  return out;
}

export interface EvaluateOptions {
  model: Vae;
  decoder: DecoderLikelihood;
  images: ImageSet;
  /** Held-out images to score. */
  indices: ArrayLike<number>;
  /** Per-pixel means of the training images (the baseline and every method's start fill). */
  means: Float32Array;
  /**
   * Conditional models: the labels of the dataset's images (by image index), and whether
   * the methods infer them (M2, needs `classifier`) or are given them.
   */
  labels?: { truth: ArrayLike<number>; infer: boolean };
  /** M2's q(y|x). */
  classifier?: Classifier | null;
  mask: MaskKind;
  methods: readonly ImputeMethod[];
  iterations: number;
  proposals: number;
  /** Chains / restarts per image for the methods that have them. */
  chains?: number;
  seed: number;
  /** Images per engine call. */
  batch?: number;
  onProgress?: (method: ImputeMethod | 'pixel-mean', done: number, total: number) => void;
  shouldStop?: () => boolean;
  yieldToEventLoop?: () => Promise<void>;
}

export interface EvaluationReport {
  binary: boolean;
  missingFraction: number;
  scores: ImputeScore[];
}

export const EVAL_CHAINS = 4;
const EVAL_BATCH = 50;
/** Stream for the evaluation's masks; each method gets the same masks. */
const MASK_STREAM = 0x6d61;
const METHOD_STREAM = 0x1b9e;

class ErrorSum {
  sq = 0;
  right = 0;
  count = 0;
  /** Images whose inferred class was scored, and how many were right. */
  classified = 0;
  classRight = 0;

  add(truth: Float32Array, guess: ArrayLike<number>, missing: Uint8Array, offset: number): void {
    for (let i = 0; i < missing.length; i++) {
      if (!missing[i]) continue;
      const t = truth[offset + i]!;
      const g = guess[offset + i]!;
      this.sq += (g - t) ** 2;
      if ((g >= 0.5 ? 1 : 0) === t) this.right++;
      this.count++;
    }
  }
}

export async function evaluateImputation(options: EvaluateOptions): Promise<EvaluationReport> {
  const { images, indices, means, model, decoder } = options;
  const { width, height, channels } = images.shape;
  const D = pixelsPerImage(images.shape);
  if (indices.length === 0) throw new ApiError('invalid_input', 'There are no held-out images to evaluate on', { field: 'images' });
  const batch = options.batch ?? EVAL_BATCH;
  const maskRng = createRng(options.seed, MASK_STREAM);
  const masks: Uint8Array[] = [];
  let missingCount = 0;
  for (let r = 0; r < indices.length; r++) {
    const m = expandMask(makeMask(options.mask, width, height, maskRng.uniform), channels);
    masks.push(m);
    for (const v of m) missingCount += v;
  }
  const truth = gatherBatch(images, indices, 0, indices.length);
  const binary = truth.every((v) => v === 0 || v === 1);
  const score = (method: ImputeMethod | 'pixel-mean', sum: ErrorSum, seconds: number): ImputeScore => ({
    method,
    mse: sum.count ? sum.sq / sum.count : NaN,
    accuracy: binary && sum.count ? sum.right / sum.count : null,
    labelAccuracy: sum.classified ? sum.classRight / sum.classified : null,
    seconds,
  });

  const scores: ImputeScore[] = [];
  const t0 = performance.now();
  const floor = new ErrorSum();
  const guess = new Float32Array(truth.length);
  for (let r = 0; r < indices.length; r++) guess.set(means, r * D);
  for (let r = 0; r < indices.length; r++) floor.add(truth, guess, masks[r]!, r * D);
  scores.push(score('pixel-mean', floor, (performance.now() - t0) / 1000));
  options.onProgress?.('pixel-mean', indices.length, indices.length);

  for (const [m, method] of options.methods.entries()) {
    const rng: Rng = createRng(options.seed + m, METHOD_STREAM);
    const sum = new ErrorSum();
    const start = performance.now();
    for (let from = 0; from < indices.length; from += batch) {
      const to = Math.min(indices.length, from + batch);
      const n = to - from;
      const missing = new Uint8Array(n * D);
      for (let r = 0; r < n; r++) missing.set(masks[from + r]!, r * D);
      const x = truth.subarray(from * D, to * D);
      const trueLabels = options.labels ? Int32Array.from({ length: n }, (_, r) => options.labels!.truth[indices[from + r]!] ?? -1) : undefined;
      const labels = trueLabels && options.labels?.infer ? new Int32Array(n).fill(-1) : trueLabels;
      const imputer = createImputer(
        { model, decoder, x, n, missing, init: means, ...(labels ? { labels } : {}), classifier: options.classifier ?? null },
        {
          method,
          samples: method === 'importance' ? 0 : (options.chains ?? EVAL_CHAINS),
          proposals: options.proposals,
          iterations: options.iterations,
          rng,
        },
      );
      try {
        for (let it = 0; it < options.iterations; it++) {
          if (options.shouldStop?.()) throw new ApiError('cancelled', 'The evaluation was cancelled');
          await imputer.step();
          await options.yieldToEventLoop?.();
        }
        const { mean, classProbabilities } = await imputer.snapshot();
        for (let r = 0; r < n; r++) sum.add(x, mean, missing.subarray(r * D, (r + 1) * D), r * D);
        if (classProbabilities && trueLabels) {
          const predicted = argMaxRows(classProbabilities, classProbabilities.length / n);
          predicted.forEach((label, r) => {
            sum.classified++;
            if (label === trueLabels[r]) sum.classRight++;
          });
        }
      } finally {
        imputer.dispose();
      }
      options.onProgress?.(method, to, indices.length);
    }
    scores.push(score(method, sum, (performance.now() - start) / 1000));
  }
  return { binary, missingFraction: missingCount / (indices.length * D), scores };
}
