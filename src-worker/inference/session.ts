import { ApiError } from '@shared/errors';
import type { ModelSessionInfo, SplitName } from '@shared/inference';
import type { OpenModel } from '@shared/worker-protocol';
import type { LoadedDataset } from '../io/dataset';
import { gatherBatch, gatherLabels } from '../train/images';
import { openTrainer, type EngineTrainer } from '../train/engine-trainer';
import { chooseSplit, type RunSplit } from '../train/split';
import type { BatchLabels, VaeTrainer } from '../train/trainer';
import type { VqVaeTrainer } from '../train/vq-trainer';
import type { RunConfig } from '@shared/config';
import type { LoadedCheckpoint } from '../io/checkpoint-file';
import type { ChainThreads } from '../impute/chain';
import { startInferenceThreadsFor } from '../threads/inference-threads';
import type { InferenceReplicas } from '../threads/replica-pool';

/** What every model session holds besides its trainer: the run's config, dataset and split. */
export interface SessionBase {
  readonly config: RunConfig;
  readonly images: LoadedDataset;
  readonly split: RunSplit;
  readonly info: ModelSessionInfo;
  /** Image indices of a split, in dataset order. */
  indicesOf(split: SplitName): Int32Array;
  /** Labels of these images when the model is conditional (its decoder needs them), else undefined. */
  labelsFor(indices: ArrayLike<number>): Int32Array | undefined;
  /** Throws a clear error when `index` is not an image of the dataset. */
  checkIndex(index: number, field: string): void;
  dispose(): void;
}

/**
 * One trained model held in memory to answer questions (Explore, Inpaint): the weights
 * of a checkpoint, the run's config, and its dataset with the run's split.
 */
export interface ModelSession extends SessionBase {
  readonly kind: 'gaussian';
  readonly trainer: VaeTrainer;
  /**
   * Threads holding the model's weights since the session opened (imputation's chains,
   * the latent map, the sample grids and manifold); null: one thread, or after one of
   * them died (its request failed with the reason; later ones run on the worker's thread).
   */
  threads(): (ChainThreads & LatentThreads) | null;
}

/** A VQ-VAE's session: a grid of discrete codes and its autoregressive prior instead of a Gaussian latent. */
export interface VqModelSession extends SessionBase {
  readonly kind: 'codes';
  readonly trainer: VqVaeTrainer;
}

export type AnyModelSession = ModelSession | VqModelSession;

/** Images encoded at most to measure KL per dimension when a session opens. */
const KL_IMAGES = 1000;
export const ENCODE_BATCH = 256;

/** Threads that encode images and decode codes at the session's weights (threads/replica-pool.ts under Node). */
export interface LatentThreads {
  readonly count: number;
  encodeMean(thread: number, batch: Float32Array, n: number, labels?: BatchLabels): Promise<Float32Array>;
  decodeMean(thread: number, codes: Float32Array, n: number, labels?: BatchLabels): Promise<Float32Array>;
}

/**
 * Rows [0, total) in batches of `size` (the last one shorter), each computed and placed by
 * `compute(from, to, batch)`: with `threads` (more than one), batch i on thread i mod
 * count, two queued per thread; else one after the other on this thread. The batches
 * are the same either way and each result lands at its own rows, so a thread count
 * changes where the numbers are computed, never what they are. `between` runs after
 * each batch is handed out (Explore yields to the event loop there).
 */
export async function spreadBatches(
  total: number,
  size: number,
  threads: { readonly count: number } | null | undefined,
  compute: (from: number, to: number, batch: number) => Promise<void>,
  between?: () => Promise<void>,
): Promise<void> {
  const depth = threads && threads.count > 1 ? 2 * threads.count : 1;
  const inFlight: Promise<void>[] = [];
  for (let from = 0, batch = 0; from < total; from += size, batch++) {
    const placed = compute(from, Math.min(total, from + size), batch);
    placed.catch(() => {});
    inFlight.push(placed);
    if (inFlight.length >= depth) await inFlight.shift();
    await between?.();
  }
  await Promise.all(inFlight);
}

/**
 * Posterior means of the given images, [indices.length, latent] row-major, in batches
 * of ENCODE_BATCH spread over `threads` (spreadBatches): the same numbers on any count.
 */
export async function encodeMeans(trainer: VaeTrainer, images: LoadedDataset, indices: ArrayLike<number>, threads?: LatentThreads | null): Promise<Float32Array> {
  const d = trainer.latent;
  const out = new Float32Array(indices.length * d);
  const split = threads && threads.count > 1 ? threads : null;
  await spreadBatches(indices.length, ENCODE_BATCH, split, async (from, to, batch) => {
    const labels = trainer.classes > 0 ? gatherLabels(images, indices, from, to) : undefined;
    const rows = gatherBatch(images, indices, from, to);
    out.set(await (split ? split.encodeMean(batch, rows, to - from, labels) : trainer.encodeMean(rows, to - from, labels)), from * d);
  });
  return out;
}

/**
 * Mean over images of KL(N(μ, σ²) ‖ N(0, 1)) per latent dimension, in nats (a code
 * model's: the code cost −log π(k_i | k_<i) per position, log K under the uniform prior).
 */
export async function klPerDimension(trainer: EngineTrainer, images: LoadedDataset, indices: ArrayLike<number>): Promise<number[]> {
  const d = trainer.latent;
  const sums = new Float64Array(d);
  for (let from = 0; from < indices.length; from += ENCODE_BATCH) {
    const to = Math.min(indices.length, from + ENCODE_BATCH);
    const labels = trainer.classes > 0 ? gatherLabels(images, indices, from, to) : undefined;
    // ½ (μ² + σ² − log σ² − 1), summed over the batch per dimension (the base Gaussian of a flow).
    const kl = await trainer.klPerDimSums(gatherBatch(images, indices, from, to), to - from, labels);
    for (let j = 0; j < d; j++) sums[j]! += kl[j]!;
  }
  const n = Math.max(1, indices.length);
  return Array.from(sums, (s) => s / n);
}

export async function openModelSession(
  open: OpenModel,
  config: RunConfig,
  images: LoadedDataset,
  loaded: LoadedCheckpoint,
  backend: string,
): Promise<AnyModelSession> {
  const split = chooseSplit(images.count, images.split, config);
  // The session's kind is the family's engine: a Gaussian latent or a code grid.
  const opened = openTrainer(config, images);
  const trainer: EngineTrainer = opened.trainer;
  try {
    trainer.importState(loaded.checkpoint.trainer);
  } catch (error) {
    trainer.dispose();
    const why = error instanceof Error ? error.message : String(error);
    throw new ApiError('invalid_input', `The checkpoint of run ${open.runId} does not fit its model: ${why}`, { field: 'checkpoint' });
  }
  // The threads get the weights once, now, while KL is measured here.
  let threadCount = 1;
  const starting: Promise<InferenceReplicas | null> =
    opened.kind === 'gaussian'
      ? startInferenceThreadsFor(opened.trainer, config, images, backend, 'inference', (_note, count) => (threadCount = count))
      : Promise.resolve(null);
  // KL is measured on held-out images when there are any (what the model generalises to).
  const probe = split.test.length > 0 ? split.test : split.validation.length > 0 ? split.validation : split.train;
  let klPerDim: number[];
  try {
    klPerDim = await klPerDimension(trainer, images, probe.subarray(0, KL_IMAGES));
  } catch (error) {
    (await starting)?.close();
    trainer.dispose();
    throw error;
  }
  const threads = await starting;
  const dimsByKl = klPerDim.map((kl, dim) => ({ kl, dim })).sort((a, b) => b.kl - a.kl || a.dim - b.dim).map((e) => e.dim);
  const info: ModelSessionInfo = {
    latent: trainer.latent,
    width: images.shape.width,
    height: images.shape.height,
    channels: images.shape.channels,
    decoder: config.decoder,
    family: config.family,
    classes: trainer.classes,
    flow: config.flow,
    klPerDim,
    dimsByKl,
    splitCounts: { train: split.train.length, validation: split.validation.length, test: split.test.length },
    backend,
    threads: threadCount,
    vq: trainer.codeGrid?.() ?? null,
  };
  const base: SessionBase = {
    config,
    images,
    split,
    info,
    indicesOf: (name) => split[name],
    labelsFor: (indices) => (trainer.classes > 0 ? gatherLabels(images, indices, 0, indices.length) : undefined),
    checkIndex(index, field) {
      if (!Number.isInteger(index) || index < 0 || index >= images.count) {
        throw new ApiError('invalid_input', `${field}: image ${index} does not exist (the dataset has ${images.count} images)`, { field });
      }
    },
    dispose: () => {
      threads?.close();
      trainer.dispose();
    },
  };
  return opened.kind === 'gaussian' ? { ...base, ...opened, threads: () => (threads && threads.failed() === null ? threads : null) } : { ...base, ...opened };
}
