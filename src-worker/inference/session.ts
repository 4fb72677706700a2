import { ApiError } from '@shared/errors';
import type { ModelSessionInfo, SplitName } from '@shared/inference';
import type { OpenModel } from '@shared/worker-protocol';
import type { LoadedDataset } from '../io/dataset';
import { gatherBatch, gatherLabels } from '../train/images';
import { modelSpec } from '../train/model-spec';
import { chooseSplit, type RunSplit } from '../train/split';
import { VaeTrainer } from '../train/trainer';
import { inferenceBlocker, type RunConfig } from '@shared/config';
import type { LoadedCheckpoint } from '../io/checkpoint-file';

/**
 * One trained model held in memory to answer questions (Explore, Inpaint): the weights
 * of a checkpoint, the run's config, and its dataset with the run's split.
 */
export interface ModelSession {
  readonly trainer: VaeTrainer;
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

/** Images encoded at most to measure KL per dimension when a session opens. */
const KL_IMAGES = 1000;
export const ENCODE_BATCH = 256;

/** Posterior means of the given images, [indices.length, latent] row-major, in batches. */
export async function encodeMeans(trainer: VaeTrainer, images: LoadedDataset, indices: ArrayLike<number>): Promise<Float32Array> {
  const d = trainer.latent;
  const out = new Float32Array(indices.length * d);
  for (let from = 0; from < indices.length; from += ENCODE_BATCH) {
    const to = Math.min(indices.length, from + ENCODE_BATCH);
    const labels = trainer.classes > 0 ? gatherLabels(images, indices, from, to) : undefined;
    out.set(await trainer.encodeMean(gatherBatch(images, indices, from, to), to - from, labels), from * d);
  }
  return out;
}

/** Mean over images of KL(N(μ, σ²) ‖ N(0, 1)) per latent dimension, in nats. */
export async function klPerDimension(trainer: VaeTrainer, images: LoadedDataset, indices: ArrayLike<number>): Promise<number[]> {
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
): Promise<ModelSession> {
  if (config.family === 'vqvae') {
    // Explore's pictures move through a continuous latent space; a VQ-VAE has a grid of codes.
    throw new ApiError('invalid_input', `Run ${open.runId} is a VQ-VAE: ${inferenceBlocker(config, 'explore') ?? ''}`, { field: 'runId' });
  }
  const split = chooseSplit(images.count, images.split, config);
  const trainer = new VaeTrainer(modelSpec(config, images), config);
  try {
    trainer.importState(loaded.checkpoint.trainer);
  } catch (error) {
    trainer.dispose();
    const why = error instanceof Error ? error.message : String(error);
    throw new ApiError('invalid_input', `The checkpoint of run ${open.runId} does not fit its model: ${why}`, { field: 'checkpoint' });
  }
  const indicesOf = (name: SplitName): Int32Array => split[name];
  // KL is measured on held-out images when there are any (what the model generalises to).
  const probe = split.test.length > 0 ? split.test : split.validation.length > 0 ? split.validation : split.train;
  const klPerDim = await klPerDimension(trainer, images, probe.subarray(0, KL_IMAGES));
  const dimsByKl = klPerDim.map((kl, dim) => ({ kl, dim })).sort((a, b) => b.kl - a.kl || a.dim - b.dim).map((e) => e.dim);
  const info: ModelSessionInfo = {
    latent: config.latent,
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
  };
  return {
    trainer,
    config,
    images,
    split,
    info,
    indicesOf,
    labelsFor: (indices) => (trainer.classes > 0 ? gatherLabels(images, indices, 0, indices.length) : undefined),
    checkIndex(index, field) {
      if (!Number.isInteger(index) || index < 0 || index >= images.count) {
        throw new ApiError('invalid_input', `${field}: image ${index} does not exist (the dataset has ${images.count} images)`, { field });
      }
    },
    dispose: () => trainer.dispose(),
  };
}
