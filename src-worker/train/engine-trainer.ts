import type { RunConfig } from '@shared/config';
import type { Rng } from '../engine/random';
import type { ImageSet } from './images';
import { modelSpec } from './model-spec';
import { VaeTrainer, type BatchLabels, type EvalSums, type StepStats, type TrainerState } from './trainer';
import { VqVaeTrainer } from './vq-trainer';

/**
 * What the training loop and the evaluations need of a model family's numeric core:
 * VaeTrainer (VAE, cVAE, M2, flows) and VqVaeTrainer (VQ-VAE) both provide it.
 */
export interface EngineTrainer {
  /** Latent dims the per-dim KL figures count (VQ-VAE: positions of the code grid). */
  readonly latent: number;
  readonly classes: number;
  readonly inputSize: number;
  step(batch: Float32Array, n: number, labels?: BatchLabels): Promise<StepStats>;
  evaluate(batch: Float32Array, n: number, rng: Rng, labels?: BatchLabels): Promise<EvalSums>;
  iwaeLogLikelihood(batch: Float32Array, n: number, k: number, rng: Rng, labels?: BatchLabels): Promise<Float64Array>;
  reconstruct(batch: Float32Array, n: number, labels?: BatchLabels): Promise<Float32Array>;
  exportState(): Promise<TrainerState>;
  importState(state: TrainerState): void;
  decoderSigma(): Promise<number | null>;
  dispose(): void;
}

/** The trainer a run config asks for on a data set (config-dependent extras already resolved). */
export function createTrainer(config: RunConfig, images: ImageSet): VaeTrainer | VqVaeTrainer {
  if (config.family === 'vqvae') {
    return new VqVaeTrainer({ kind: config.model, image: images.shape, hidden: config.hidden, codeDim: config.codeDim, positions: config.latent }, config);
  }
  return new VaeTrainer(modelSpec(config, images), config);
}
