import type { RunConfig } from '@shared/config';
import { ApiError } from '@shared/errors';
import { permutation, type Split } from '@shared/random';
import type { MetricPoint } from '@shared/types';
import type { EpochSummary } from '@shared/worker-protocol';
import { createRng, STREAM } from '../engine/random';
import { gatherBatch, type ImageSet } from './images';
import { tileImages, type RasterImage } from './grid';
import { VaeTrainer, type EvalSums } from './trainer';

/**
 * The training loop: epochs of shuffled minibatches, a validation pass and image
 * grids after each epoch, all reported through a listener. Knows nothing of
 * processes or messages (the worker entry maps the listener onto the protocol), and
 * uses no Node API, so it can run in a browser worker too.
 */

export type ArtifactKind = 'reconstructions' | 'samples';

export interface TrainProgress {
  /** 1-based epoch in progress. */
  epoch: number;
  epochs: number;
  /** Optimizer steps taken so far (1-based once the first step is done). */
  step: number;
  stepsPerEpoch: number;
  imagesPerSec: number;
  etaSeconds: number | null;
}

export interface TrainListener {
  /** Per-step points, bundled (at most one call per metricsIntervalMs, plus flushes). */
  metrics(points: MetricPoint[]): void;
  progress(progress: TrainProgress): void;
  epoch(summary: EpochSummary): void;
  image(kind: ArtifactKind, epoch: number, image: RasterImage): void;
}

export interface TrainOptions {
  config: RunConfig;
  images: ImageSet;
  split: Split;
  listener: TrainListener;
  /** Polled after every step and evaluation batch. */
  shouldStop: () => boolean;
  /** Lets queued messages (stop, ping, heartbeat timers) run between steps. */
  yieldToEventLoop: () => Promise<void>;
  metricsIntervalMs?: number;
  progressIntervalMs?: number;
  now?: () => number;
}

export interface TrainResult {
  reason: 'finished' | 'stopped';
  summary: Record<string, number>;
}

/** Images shown in the reconstruction grid (top: originals, bottom: reconstructions). */
export const RECONSTRUCTION_COUNT = 8;
/** Images decoded from fixed prior noise: 4 rows of 8, the same z every epoch. */
export const SAMPLE_COUNT = 32;
const GRID_COLUMNS = 8;
/** Forward-only batches can be larger than training ones. */
const EVAL_BATCH = 256;

function nonFinite(value: number, epoch: number, step: number): ApiError {
  const what = Number.isNaN(value) ? 'NaN' : 'infinite';
  return new ApiError('worker_failed', `Loss became ${what} at epoch ${epoch} step ${step} — try a lower learning rate`, {
    field: 'learningRate',
    epoch,
    step,
  });
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { config, images, split, listener } = options;
  const now = options.now ?? (() => performance.now());
  const metricsInterval = options.metricsIntervalMs ?? 200;
  const progressInterval = options.progressIntervalMs ?? 250;
  const started = now();

  if (split.train.length === 0) {
    throw new ApiError('invalid_input', 'The dataset has no images to train on.', { field: 'datasetPath' });
  }
  const trainer = new VaeTrainer(
    { kind: config.model, image: images.shape, latent: config.latent, hidden: config.hidden },
    config,
  );
  try {
    const nTrain = split.train.length;
    const { batchSize, epochs } = config;
    const stepsPerEpoch = Math.ceil(nTrain / batchSize);
    // Without a validation split the evaluation runs on training images and its
    // figures are named train_* so nobody mistakes them for held-out numbers.
    const evalIndices = split.validation.length > 0 ? split.validation : split.train;
    const evalPrefix = split.validation.length > 0 ? 'val' : 'train';
    const reconIndices = evalIndices.slice(0, RECONSTRUCTION_COUNT);
    const priorZ = createRng(config.seed, STREAM.prior).normals(SAMPLE_COUNT * config.latent);
    const shuffle = createRng(config.seed, STREAM.shuffle);

    let step = 0;
    let epochsDone = 0;
    let trainedImages = 0;
    let trainMs = 0;
    let evalMs = 0;
    let pending: MetricPoint[] = [];
    let lastFlush = now();
    let lastProgress = -Infinity;
    let latestEval: Record<string, number> = {};
    let epochSums = { loss: 0, recon: 0, kl: 0, images: 0 };
    let stopped = false;

    const flushMetrics = (): void => {
      if (pending.length > 0) listener.metrics(pending);
      pending = [];
      lastFlush = now();
    };
    const imagesPerSec = (): number => (trainMs > 0 ? (trainedImages * 1000) / trainMs : 0);
    const progress = (epoch: number): void => {
      const rate = imagesPerSec();
      const remainingImages = epochs * nTrain - trainedImages;
      const remainingEvals = epochs - epochsDone;
      const evalSec = epochsDone > 0 ? evalMs / 1000 / epochsDone : 0;
      listener.progress({
        epoch,
        epochs,
        step,
        stepsPerEpoch,
        imagesPerSec: Math.round(rate * 10) / 10,
        etaSeconds: rate > 0 ? Math.round(remainingImages / rate + remainingEvals * evalSec) : null,
      });
      lastProgress = now();
    };

    for (let epoch = 1; epoch <= epochs && !stopped; epoch++) {
      const perm = permutation(nTrain, shuffle.uniform);
      const order = Int32Array.from(perm, (i) => split.train[i] ?? 0);
      epochSums = { loss: 0, recon: 0, kl: 0, images: 0 };

      for (let s = 0; s < stepsPerEpoch; s++) {
        const from = s * batchSize;
        const to = Math.min(nTrain, from + batchSize);
        const t0 = now();
        const stats = trainer.step(gatherBatch(images, order, from, to), to - from);
        trainMs += now() - t0;
        step++;
        if (!Number.isFinite(stats.loss)) throw nonFinite(stats.loss, epoch, step);
        const n = to - from;
        trainedImages += n;
        epochSums.loss += stats.loss * n;
        epochSums.recon += stats.recon * n;
        epochSums.kl += stats.kl * n;
        epochSums.images += n;
        const t = Math.round(now() - started);
        pending.push(
          { step, epoch, name: 'loss', value: stats.loss, t },
          { step, epoch, name: 'recon', value: stats.recon, t },
          { step, epoch, name: 'kl', value: stats.kl, t },
        );
        if (now() - lastFlush >= metricsInterval) flushMetrics();
        if (now() - lastProgress >= progressInterval) progress(epoch);
        await options.yieldToEventLoop();
        if (options.shouldStop()) {
          stopped = true;
          break;
        }
      }
      flushMetrics();
      if (stopped) break;
      epochsDone = epoch;

      const t0 = now();
      const sums = await evaluate(trainer, images, evalIndices, config.seed, options);
      if (sums === null) {
        stopped = true;
        break;
      }
      const count = Math.max(1, sums.count);
      const elbo = (sums.logLikelihood - sums.kl) / count;
      if (!Number.isFinite(elbo)) throw nonFinite(elbo, epoch, step);
      let active = 0;
      for (const v of sums.klPerDim) if (v / count > 0.01) active++;
      latestEval = {
        [`${evalPrefix}_elbo`]: elbo,
        [`${evalPrefix}_loss`]: -elbo,
        [`${evalPrefix}_recon`]: -sums.logLikelihood / count,
        [`${evalPrefix}_kl`]: sums.kl / count,
        // Active units: mean KL_j over the split above 0.01 nats (VAE-MATH.md).
        [`${evalPrefix}_active_dims`]: active,
      };
      const t = Math.round(now() - started);
      listener.metrics(Object.entries(latestEval).map(([name, value]) => ({ step, epoch, name, value, t })));
      const trainMeans = {
        train_loss: epochSums.loss / epochSums.images,
        train_recon: epochSums.recon / epochSums.images,
        train_kl: epochSums.kl / epochSums.images,
      };
      listener.epoch({ epoch, step, metrics: { ...latestEval, ...trainMeans } });
      listener.image('reconstructions', epoch, reconstructionGrid(trainer, images, reconIndices));
      listener.image('samples', epoch, tileImages(trainer.decodeMean(priorZ, SAMPLE_COUNT), SAMPLE_COUNT, images.shape, GRID_COLUMNS));
      evalMs += now() - t0;
      progress(epoch);
    }

    const summary: Record<string, number> = {
      epochs: epochsDone,
      steps: step,
      imagesPerSec: Math.round(imagesPerSec() * 10) / 10,
      seconds: Math.round(now() - started) / 1000,
      ...latestEval,
    };
    if (epochSums.images > 0) {
      summary['loss'] = epochSums.loss / epochSums.images;
      summary['recon'] = epochSums.recon / epochSums.images;
      summary['kl'] = epochSums.kl / epochSums.images;
    }
    return { reason: stopped ? 'stopped' : 'finished', summary };
  } finally {
    trainer.dispose();
  }
}

/** One-sample ELBO over `indices`, or null when a stop request interrupts it. */
async function evaluate(
  trainer: VaeTrainer,
  images: ImageSet,
  indices: Int32Array,
  seed: number,
  options: Pick<TrainOptions, 'shouldStop' | 'yieldToEventLoop'>,
): Promise<EvalSums | null> {
  // Same noise every epoch, so epoch-to-epoch changes come from the model alone.
  const rng = createRng(seed, STREAM.validation);
  const total: EvalSums = { count: 0, logLikelihood: 0, kl: 0, klPerDim: new Float64Array(trainer.latent) };
  for (let from = 0; from < indices.length; from += EVAL_BATCH) {
    const to = Math.min(indices.length, from + EVAL_BATCH);
    const sums = trainer.evaluate(gatherBatch(images, indices, from, to), to - from, rng);
    total.count += sums.count;
    total.logLikelihood += sums.logLikelihood;
    total.kl += sums.kl;
    sums.klPerDim.forEach((v, j) => (total.klPerDim[j] = (total.klPerDim[j] ?? 0) + v));
    await options.yieldToEventLoop();
    if (options.shouldStop()) return null;
  }
  return total;
}

/** Originals on the top row, decoder means at z = μ(x) right below (one column per image). */
function reconstructionGrid(trainer: VaeTrainer, images: ImageSet, indices: Int32Array): RasterImage {
  const n = indices.length;
  const D = trainer.model.inputSize;
  const originals = gatherBatch(images, indices, 0, n);
  const both = new Float32Array(2 * n * D);
  both.set(originals, 0);
  both.set(trainer.reconstruct(originals, n), n * D);
  return tileImages(both, 2 * n, images.shape, n);
}
