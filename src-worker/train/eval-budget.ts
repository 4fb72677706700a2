import { permutation } from '@shared/random';
import { createRng } from '../engine/random';

/**
 * How much of the test split the automatic IWAE bound at the end of training reads,
 * and with how many importance samples, so that it costs a bounded share of the run's
 * training time instead of dwarfing it. A full evaluation (runs.evaluate) reads every
 * test image with the k asked.
 */

/** The automatic bound may cost this share of the run's training time… */
export const EVAL_BUDGET_SHARE = 0.25;
/** …but never less than this: a bound of a few seconds is not worth cutting. */
export const EVAL_MIN_BUDGET_MS = 3000;
/** At least this many test images (or all when there are fewer), even over the budget. */
export const EVAL_MIN_IMAGES = 100;

/**
 * k is rounded down to one of these (or the k asked), so that runs of similar length
 * land on the same k and their figures compare.
 */
const K_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

export interface EvaluationBudgetInput {
  /** Test images there are. */
  available: number;
  /** The run's iwaeSamples: the k a full evaluation uses. */
  kAsked: number;
  /** What the bound may cost, in ms. */
  budgetMs: number;
  /**
   * Measured cost of one image with one importance sample, in ms, in the model
   * cost(images, k) = images · (k + 1) · msPerSample: one decoder pass per sample plus
   * about one for the encoder and the overhead of the batch.
   */
  msPerSample: number;
  minImages?: number;
}

export interface EvaluationPlan {
  images: number;
  k: number;
  /** The plan's expected cost in ms under the cost model. */
  estimatedMs: number;
  /** False when the budget cut the images or k below what was asked. */
  complete: boolean;
}

/** Rounded down to two significant digits (1 234 → 1 200), so nearby budgets pick the same subset. */
function twoDigits(n: number): number {
  if (n < 100) return n;
  const unit = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.floor(n / unit) * unit;
}

/**
 * The plan for a budget: the minimum images at k = 1 always; then more images, up to
 * all of them, before a larger k. The mean over images is what carries the comparison
 * between runs, and its sampling error falls with the images, while k only tightens
 * each image's bound (by a few nats from k = 1 to k = 100 on small models).
 */
export function chooseEvaluationPlan(input: EvaluationBudgetInput): EvaluationPlan {
  const available = Math.max(0, Math.floor(input.available));
  const kAsked = Math.max(1, Math.floor(input.kAsked));
  const perSample = Number.isFinite(input.msPerSample) && input.msPerSample > 0 ? input.msPerSample : 0;
  const cost = (images: number, k: number): number => images * (k + 1) * perSample;
  const plan = (images: number, k: number): EvaluationPlan => ({
    images,
    k,
    estimatedMs: cost(images, k),
    complete: images === available && k === kAsked,
  });
  if (available === 0) return plan(0, kAsked);
  // An unmeasurable cost (a clock too coarse for the probe) is no reason to cut anything.
  if (perSample === 0 || cost(available, kAsked) <= input.budgetMs) return plan(available, kAsked);
  const minImages = Math.min(available, Math.max(1, Math.floor(input.minImages ?? EVAL_MIN_IMAGES)));
  // Image-samples the budget buys, counting the encoder's share as one sample per image.
  const affordable = Math.max(0, input.budgetMs) / perSample;
  if (affordable < available * 2) {
    const images = Math.max(minImages, Math.min(available, twoDigits(Math.floor(affordable / 2))));
    return plan(images, 1);
  }
  const kMax = Math.min(kAsked, Math.floor(affordable / available) - 1);
  const k = K_STEPS.filter((step) => step <= kMax).at(-1) ?? 1;
  return plan(available, k);
}

/** What the automatic bound may cost for a run that spent `trainMs` training. */
export function evaluationBudgetMs(trainMs: number): number {
  return Math.max(EVAL_MIN_BUDGET_MS, EVAL_BUDGET_SHARE * Math.max(0, trainMs));
}

/**
 * The order test images are evaluated in: one fixed shuffle of the test split, the same
 * for every run of a dataset (it does not depend on the run's seed). A budgeted bound
 * reads its first N, so two runs given the same N score the same images; a bound
 * stopped early has read a random sample of the split, not its first folders.
 */
export function evaluationOrder(test: Int32Array): Int32Array {
  const shuffle = createRng(EVALUATION_ORDER_SEED, 0).uniform;
  return Int32Array.from(permutation(test.length, shuffle), (i) => test[i]!);
}

const EVALUATION_ORDER_SEED = 0x7e57;
