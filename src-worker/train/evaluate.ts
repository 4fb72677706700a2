import type { RunConfig } from '@shared/config';
import { createRng, STREAM, type Rng } from '../engine/random';
import { dequantize, nllReport } from '../objectives/iwae';
import { gatherBatch, gatherLabels, type ImageSet } from './images';
import { chooseEvaluationPlan, evaluationOrder, type EvaluationPlan } from './eval-budget';
import type { EngineTrainer } from './engine-trainer';
import { iwaeRowsPerChunk, type BatchLabels, type EvalSums } from './trainer';

/** Passes over a split between steps: one-sample ELBO sums, and the IWAE bound. */
export interface EvalControl {
  shouldStop: () => boolean;
  yieldToEventLoop: () => Promise<void>;
  /** Resolves once a pause (if any) is over. */
  waitWhilePaused?: () => Promise<void>;
}

/** Forward-only batches can be larger than training ones. */
const EVAL_BATCH = 256;

/** One-sample ELBO sums over `indices`, or null when a stop request interrupts it. */
export async function elboSums(
  trainer: EngineTrainer,
  images: ImageSet,
  indices: Int32Array,
  seed: number,
  control: EvalControl,
): Promise<EvalSums | null> {
  // Same noise every epoch, so epoch-to-epoch changes come from the model alone.
  const rng = createRng(seed, STREAM.validation);
  const total: EvalSums = { count: 0, logLikelihood: 0, kl: 0, klPerDim: new Float64Array(trainer.latent) };
  for (let from = 0; from < indices.length; from += EVAL_BATCH) {
    const to = Math.min(indices.length, from + EVAL_BATCH);
    const labels = trainer.classes > 0 ? gatherLabels(images, indices, from, to) : undefined;
    const sums = await trainer.evaluate(gatherBatch(images, indices, from, to), to - from, rng, labels);
    total.count += sums.count;
    total.logLikelihood += sums.logLikelihood;
    total.kl += sums.kl;
    if (sums.codeCounts !== undefined) {
      const counts = (total.codeCounts ??= new Float64Array(sums.codeCounts.length));
      sums.codeCounts.forEach((v, k) => (counts[k] = (counts[k] ?? 0) + v));
    }
    if (sums.classified !== undefined) {
      total.classified = (total.classified ?? 0) + sums.classified;
      total.correct = (total.correct ?? 0) + (sums.correct ?? 0);
    }
    sums.klPerDim.forEach((v, j) => (total.klPerDim[j] = (total.klPerDim[j] ?? 0) + v));
    if (await interrupted(control)) return null;
  }
  return total;
}

/** M2: share of `indices` whose label argmax q(y|x) gets right, or null when stopped. */
export async function classificationAccuracy(trainer: Required<Pick<EngineTrainer, 'classify'>>, images: ImageSet, indices: Int32Array, control: EvalControl): Promise<number | null> {
  let correct = 0;
  let counted = 0;
  for (let from = 0; from < indices.length; from += EVAL_BATCH) {
    const to = Math.min(indices.length, from + EVAL_BATCH);
    const truth = gatherLabels(images, indices, from, to);
    const { labels } = await trainer.classify(gatherBatch(images, indices, from, to), to - from);
    truth.forEach((label, i) => {
      if (label < 0) return;
      counted++;
      if (labels[i] === label) correct++;
    });
    if (await interrupted(control)) return null;
  }
  return counted > 0 ? correct / counted : NaN;
}

async function interrupted(control: EvalControl): Promise<boolean> {
  await control.yieldToEventLoop();
  if (control.waitWhilePaused) await control.waitWhilePaused();
  return control.shouldStop();
}

export interface IwaeResult {
  /** Mean IWAE estimate of log p(x) over the images, in nats, as the decoder scores them. */
  meanLogLikelihood: number;
  /** Test NLL in nats on the 8-bit (or binary) data, and in bits per dimension. */
  nll: number;
  bitsPerDim: number;
  k: number;
  images: number;
  /** Stopped before the last image: the figures are the mean over the `images` read so far. */
  partial: boolean;
  /** Every test pixel is 0 or 1: a Bernoulli decoder's figure is then a true likelihood. */
  binaryData: boolean;
  seconds: number;
}

export interface IwaeProgress {
  done: number;
  total: number;
  k: number;
  imagesPerSec: number;
  etaSeconds: number | null;
}

/**
 * Images per IWAE batch: the encoder runs once per batch, the decoder on chunks of
 * batch × samples rows (see VaeTrainer.iwaeLogLikelihood), so a small batch keeps
 * the chunks for large k as big as the cap allows.
 */
const IWAE_BATCH = 16;

/**
 * Fewer images per batch where one batch's k samples would take several decoder
 * calls: a stop request is answered between batches, within the supervisor's grace.
 */
export function iwaeImagesPerBatch(inputSize: number, k: number): number {
  return Math.max(1, Math.min(IWAE_BATCH, Math.floor(iwaeRowsPerChunk(inputSize) / Math.max(1, k))));
}

/**
 * Threads the IWAE bound spreads its batches over (threads/replica-pool.ts under Node):
 * each computes a batch's estimates at the shared weights from normal draws made here.
 */
export interface IwaeThreads {
  readonly count: number;
  /** Thread `thread` (mod count)'s estimates of one batch, from VaeTrainer.iwaeNoise's draws for it. */
  logLikelihood(thread: number, batch: Float32Array, n: number, k: number, noise: Float32Array[], labels?: BatchLabels): Promise<Float64Array>;
}

export type IwaeControl = EvalControl & {
  now: () => number;
  progress?: (p: IwaeProgress) => void;
  /** Spread the batches over these (absent, or one thread: this thread computes them). */
  threads?: IwaeThreads | null;
};

/** Batches each thread has queued besides the one it computes, so none waits for the next. */
const QUEUED_PER_THREAD = 2;

/**
 * One batch's estimates, on this thread, or on a thread of `threads` from noise drawn
 * here. Either way the draws come from `rng` in the same order (the caller asks for the
 * batches in order), so an image's estimate does not depend on the thread count.
 */
function batchEstimator(
  trainer: EngineTrainer,
  k: number,
  rng: Rng,
  threads: IwaeThreads | null | undefined,
): (batch: Float32Array, n: number, labels: BatchLabels | undefined, index: number) => Promise<Float64Array> {
  const noise = trainer.iwaeNoise?.bind(trainer);
  if (!threads || threads.count <= 1 || noise === undefined) return (batch, n, labels) => trainer.iwaeLogLikelihood(batch, n, k, rng, labels);
  return (batch, n, labels, index) => threads.logLikelihood(index % threads.count, batch, n, k, noise(n, k, rng), labels);
}

/**
 * The IWAE bound with k samples, averaged over `indices` in their order, or null when
 * stopped before the first batch. Stopped later, it answers the mean over the images
 * read so far, marked `partial`. Gaussian decoders are scored on uniformly dequantized
 * pixels and reported with D·ln 256 added (VAE-MATH.md); the same seed draws the same
 * samples every time.
 *
 * With `control.threads`, batch i is computed by thread i mod count (a few batches
 * queued per thread), its dequantization and importance noise drawn here in batch
 * order, its estimates summed here in batch order: the figure is the one-thread figure
 * exactly, whatever the count. A stop is answered after the batches already handed out.
 */
export async function iwaeBound(
  trainer: EngineTrainer,
  images: ImageSet,
  indices: Int32Array,
  config: Pick<RunConfig, 'seed' | 'decoder'>,
  k: number,
  control: IwaeControl,
): Promise<IwaeResult | null> {
  const rng = createRng(config.seed, STREAM.iwae);
  const started = control.now();
  let sum = 0;
  let done = 0;
  let binaryData = true;
  const result = (partial: boolean): IwaeResult => {
    const meanLogLikelihood = sum / Math.max(1, done);
    const report = nllReport(meanLogLikelihood, trainer.inputSize, config.decoder);
    return {
      meanLogLikelihood,
      nll: report.nll,
      bitsPerDim: report.bitsPerDim,
      k,
      images: done,
      partial,
      binaryData,
      seconds: (control.now() - started) / 1000,
    };
  };
  const estimate = batchEstimator(trainer, k, rng, control.threads);
  const threads = control.threads && control.threads.count > 1 && trainer.iwaeNoise ? control.threads.count : 1;
  const depth = threads > 1 ? threads * (1 + QUEUED_PER_THREAD) : 1;
  const perBatch = iwaeImagesPerBatch(trainer.inputSize, k);
  const inFlight: { to: number; values: Promise<Float64Array> }[] = [];
  let from = 0;
  let batches = 0;
  let stopped = false;
  while ((!stopped && from < indices.length) || inFlight.length > 0) {
    while (!stopped && from < indices.length && inFlight.length < depth) {
      const to = Math.min(indices.length, from + perBatch);
      const clean = gatherBatch(images, indices, from, to);
      if (binaryData) binaryData = clean.every((v) => v === 0 || v === 1);
      const batch = config.decoder === 'gaussian' ? dequantize(clean, rng) : clean;
      const labels = trainer.classes > 0 ? gatherLabels(images, indices, from, to) : undefined;
      const values = estimate(batch, to - from, labels, batches++);
      // Awaited in order below; a failure of a later one is not left unhandled meanwhile.
      values.catch(() => {});
      inFlight.push({ to, values });
      from = to;
    }
    const next = inFlight.shift()!;
    for (const value of await next.values) sum += value;
    done = next.to;
    if (control.progress) {
      const seconds = (control.now() - started) / 1000;
      const rate = seconds > 0 ? done / seconds : 0;
      control.progress({ done, total: indices.length, k, imagesPerSec: rate, etaSeconds: rate > 0 ? (indices.length - done) / rate : null });
    }
    if (!stopped && (await interrupted(control))) stopped = true;
  }
  return result(stopped && done < indices.length);
}

/** Importance samples of the probe that prices the budgeted bound, at most. */
const PROBE_K = 16;

export interface BudgetedIwae {
  /** Null when stopped before the first batch of the bound itself. */
  result: IwaeResult | null;
  plan: EvaluationPlan;
  budgetMs: number;
  /** What the probe cost, in ms (part of the evaluation's time). */
  probeMs: number;
}

/**
 * The IWAE bound within a time budget: one batch of the test images with a few samples
 * prices an image-sample on this model and backend, chooseEvaluationPlan picks how many
 * images (the first of evaluationOrder) and which k the rest of the budget buys, and
 * iwaeBound computes it. The probe draws from its own stream, so the figure depends
 * only on the model, the images and k, and equals a full evaluation's on that subset.
 * Null when stopped during the probe.
 */
export async function budgetedIwaeBound(
  trainer: EngineTrainer,
  images: ImageSet,
  test: Int32Array,
  config: Pick<RunConfig, 'seed' | 'decoder'>,
  kAsked: number,
  budgetMs: number,
  control: IwaeControl,
): Promise<BudgetedIwae | null> {
  const order = evaluationOrder(test);
  const probeK = Math.min(kAsked, PROBE_K);
  const perBatch = iwaeImagesPerBatch(trainer.inputSize, probeK);
  // With threads, one batch on each at once: the price of an image-sample on all of them.
  const threads = control.threads && control.threads.count > 1 && trainer.iwaeNoise ? control.threads.count : 1;
  const probeRows = order.subarray(0, Math.min(perBatch * threads, order.length));
  const probeRng = createRng(config.seed, STREAM.iwaeProbe);
  const estimate = batchEstimator(trainer, probeK, probeRng, control.threads);
  const probes: Promise<Float64Array>[] = [];
  control.progress?.({ done: 0, total: order.length, k: probeK, imagesPerSec: 0, etaSeconds: null });
  const t0 = control.now();
  for (let from = 0, index = 0; from < probeRows.length; from += perBatch, index++) {
    const to = Math.min(probeRows.length, from + perBatch);
    const clean = gatherBatch(images, probeRows, from, to);
    const batch = config.decoder === 'gaussian' ? dequantize(clean, probeRng) : clean;
    const labels = trainer.classes > 0 ? gatherLabels(images, probeRows, from, to) : undefined;
    probes.push(estimate(batch, to - from, labels, index));
  }
  await Promise.all(probes);
  const probeMs = control.now() - t0;
  if (await interrupted(control)) return null;
  const plan = chooseEvaluationPlan({
    available: order.length,
    kAsked,
    budgetMs: budgetMs - probeMs,
    msPerSample: probeMs / (probeRows.length * (probeK + 1)),
  });
  const result = await iwaeBound(trainer, images, order.subarray(0, plan.images), config, plan.k, control);
  return { result, plan, budgetMs, probeMs };
}

/** The figures the IWAE evaluation adds to a run's summary and metric points. */
export function iwaeSummary(result: IwaeResult, decoder: RunConfig['decoder'], testImagesTotal: number, threads = 1): Record<string, number> {
  return {
    // Threads the batches were spread over (the figure is the same on any count).
    iwae_threads: threads,
    test_nll: result.nll,
    test_bpd: result.bitsPerDim,
    iwae_k: result.k,
    // "On N of M test images": a budgeted or stopped bound reads fewer than all.
    test_images: result.images,
    test_images_total: testImagesTotal,
    test_nll_partial: result.partial ? 1 : 0,
    iwae_seconds: Math.round(result.seconds * 10) / 10,
    // A Bernoulli decoder on grey pixels gives a cross-entropy, not a likelihood: say which.
    ...(decoder === 'bernoulli' ? { test_data_binary: result.binaryData ? 1 : 0 } : {}),
  };
}
