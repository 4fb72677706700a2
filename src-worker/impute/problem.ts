import type { ImputeMethod } from '@shared/inference';
import type { Rng } from '../engine/random';
import type { Classifier } from '../model/classifier';
import type { Vae } from '../model/vae';
import type { DecoderLikelihood } from '../objectives/elbo';
import type { ChainThreads } from './chain';

/**
 * Missing-pixel imputation with a trained VAE (VAE-MATH.md, "Imputation"). x = (x_obs,
 * x_mis); the engine works on n images at once, each with K chains (or restarts, or
 * resampled imputations), and is advanced one iteration at a time by the caller, who
 * streams snapshots, yields and may stop between iterations. Every number is drawn
 * from the caller's seeded Rng; every tensor is freed by dispose().
 *
 * Conditional models (cVAE, M2) encode q(z|x, y) and decode p(x|z, y) with the image's
 * class y: a given label is held fixed (the target is p(x_mis | x_obs, y)); an unknown
 * one (M2) is inferred along with z (the target is p(y, z, x_mis | x_obs)), see
 * labels.ts and each method.
 */
export interface ImputeProblem {
  model: Vae;
  decoder: DecoderLikelihood;
  /** n images, [n·D] in [0, 1]; values at missing entries are ignored. */
  x: Float32Array;
  n: number;
  /** [n·D], non-zero = missing (one entry per pixel and channel). */
  missing: Uint8Array;
  /** Start value of the missing entries, length D (the training images' per-pixel mean). */
  init: Float32Array;
  /**
   * Conditional models only (spec.classes > 0), one per image: the class to condition
   * on, or −1 to infer it (needs `classifier`). Absent: every label is inferred.
   */
  labels?: ArrayLike<number>;
  /** M2's q(y|x), which proposes the unknown labels. */
  classifier?: Classifier | null;
}

export interface ImputeOptions {
  method: ImputeMethod;
  /**
   * K per image: chains (pseudo-Gibbs, Metropolis-within-Gibbs), restarts (optimize),
   * or imputations resampled by weight (importance; 0 = the weighted mean only).
   */
  samples: number;
  /** Importance samples per iteration (importance). */
  proposals: number;
  /** Iterations planned: the chains average their second half (the first is burn-in). */
  iterations: number;
  rng: Rng;
  /** Adam step size of the latent optimization. */
  learningRate?: number;
  /**
   * Share β of importance proposals drawn from the prior instead of q(z|x̂): the
   * proposal is the mixture (1−β)·q + β·p(z) and weights divide by that mixture's
   * density ("defensive" importance sampling, Hesterberg 1995). β = 0 is plain MIWAE;
   * β > 0 keeps the weights bounded when few pixels are observed and q(z|x̂) is far
   * narrower than p(z|x_obs).
   */
  priorShare?: number;
  /**
   * Threads to split the chains over (pseudo-Gibbs and Metropolis-within-Gibbs; the other
   * methods ignore it): the same imputation, bit for bit, on any count.
   */
  threads?: ChainThreads | null;
}

export interface ImputeDiagnostic {
  name: 'acceptance' | 'ess' | 'objective';
  value: number;
}

export interface ImputeSnapshot {
  /** Iterations done. */
  iteration: number;
  /** [n·D]: observed entries as given, missing ones the single imputation ≈ E[x_mis | x_obs]. */
  mean: Float32Array;
  /** [n·K·D]: K imputations per image (decoder means E[x_mis | z_k]), observed entries as given. */
  samples: Float32Array;
  /** [n·D]: standard deviation of the imputations per entry (0 where observed). */
  std: Float32Array;
  diagnostic: ImputeDiagnostic | null;
  /**
   * [n·C] when some image's label is inferred: the method's estimate of p(y | x_obs) per
   * image (one-hot for images whose label was given); null otherwise.
   */
  classProbabilities: Float32Array | null;
}

export interface Imputer {
  readonly iteration: number;
  /** K imputations per image in snapshots. */
  readonly samples: number;
  step(): Promise<void>;
  snapshot(): Promise<ImputeSnapshot>;
  /**
   * The latent codes behind the current estimate, [rows, d], with normalized weights
   * per image (uniform except for importance sampling): for tests and diagnostics.
   */
  latents(): Promise<{ z: Float32Array; weights: Float32Array; rowsPerImage: number }>;
  dispose(): void;
}

export const DEFAULT_OPTIMIZE_LR = 0.05;
export const DEFAULT_PRIOR_SHARE = 0.25;
