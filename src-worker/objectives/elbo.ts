import { tf } from '../engine/tf';
import type { DecoderKind } from '@shared/config';

/**
 * The terms of the evidence lower bound (see /shared VAE-MATH.md). Every function
 * returns per-image values (summed over pixels or latent dims, in nats) so callers
 * choose how to average; none of them disposes its inputs.
 */

const LOG_2PI = Math.log(2 * Math.PI);

/** KL(N(μ, σ²) ‖ N(0, I)) per latent dim: ½ (μ² + σ² − 1 − log σ²). Shape [N, d]. */
export function gaussianKlPerDim(mu: tf.Tensor2D, logVar: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.mul(0.5, tf.sub(tf.add(tf.square(mu), tf.exp(logVar)), tf.add(1, logVar))));
}

/** Analytic KL per image, shape [N]. */
export function gaussianKl(mu: tf.Tensor2D, logVar: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(gaussianKlPerDim(mu, logVar), 1));
}

/**
 * Bernoulli log-likelihood from logits l: Σ x·l − softplus(l). Algebraically equal to
 * Σ x log σ(l) + (1−x) log(1−σ(l)) but never forms log(sigmoid), which is −∞ once
 * σ(l) rounds to 0 or 1 (|l| ≳ 17 in float32). Soft targets x ∈ [0, 1] are fine: the
 * value is then a cross-entropy, not a normalized likelihood of grey-level data.
 */
export function bernoulliLogLikelihood(x: tf.Tensor2D, logits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(bernoulliPixelLogLikelihood(x, logits), 1));
}

/** The terms of bernoulliLogLikelihood before the sum over pixels, shape [N, D]. */
export function bernoulliPixelLogLikelihood(x: tf.Tensor2D, logits: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.sub(tf.mul(x, logits), tf.softplus(logits)));
}

/** Gaussian log-likelihood with fixed σ: −½ Σ [(x−m)²/σ² + log σ² + log 2π]. */
export function gaussianLogLikelihood(x: tf.Tensor2D, mean: tf.Tensor2D, sigma: number): tf.Tensor1D {
  const pixels = x.shape[1];
  const perPixelConstant = 2 * Math.log(sigma) + LOG_2PI;
  return tf.tidy(() => {
    const squared = tf.sum(tf.squaredDifference(x, mean), 1);
    return tf.mul(-0.5, tf.add(tf.div(squared, sigma * sigma), pixels * perPixelConstant));
  });
}

/** The terms of gaussianLogLikelihood per pixel, shape [N, D]: −½ [(x−m)²/σ² + log σ² + log 2π]. */
export function gaussianPixelLogLikelihood(x: tf.Tensor2D, mean: tf.Tensor2D, sigma: number): tf.Tensor2D {
  const perPixelConstant = 2 * Math.log(sigma) + LOG_2PI;
  return tf.tidy(() => tf.mul(-0.5, tf.add(tf.div(tf.squaredDifference(x, mean), sigma * sigma), perPixelConstant)));
}

/** z = μ + σ ⊙ ε with σ = exp(½ log σ²): differentiable in μ and log σ². */
export function reparameterize(mu: tf.Tensor2D, logVar: tf.Tensor2D, eps: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.add(mu, tf.mul(tf.exp(tf.mul(0.5, logVar)), eps)));
}

/** How the decoder's raw output turns into p(x|z). */
export interface DecoderLikelihood {
  readonly kind: DecoderKind;
  /** log p(x|z) per image, shape [N]. */
  logLikelihood(x: tf.Tensor2D, output: tf.Tensor2D): tf.Tensor1D;
  /** E[x|z], the image shown for reconstructions and samples, in [0, 1]. */
  mean(output: tf.Tensor2D): tf.Tensor2D;
  /**
   * log p(x|z) per pixel and channel, shape [N, D]: its row sum is logLikelihood. Used
   * where only some pixels count (imputation scores the observed ones).
   */
  pixelLogLikelihood(x: tf.Tensor2D, output: tf.Tensor2D): tf.Tensor2D;
  /** Which noise `sample` takes: U[0, 1) for Bernoulli and logistic, N(0, 1) for Gaussian. */
  readonly noise: 'uniform' | 'normal';
  /** One draw x ~ p(x|z) per pixel from `noise` of the same shape (the engine's seeded streams, never tf.random). */
  sample(output: tf.Tensor2D, noise: tf.Tensor2D): tf.Tensor2D;
}

export function bernoulliDecoder(): DecoderLikelihood {
  return {
    kind: 'bernoulli',
    logLikelihood: bernoulliLogLikelihood,
    mean: (logits) => tf.sigmoid(logits),
    pixelLogLikelihood: bernoulliPixelLogLikelihood,
    noise: 'uniform',
    // x = 1 with probability σ(l): u < σ(l).
    sample: (logits, uniform) => tf.tidy(() => tf.cast(tf.less(uniform, tf.sigmoid(logits)), 'float32')),
  };
}

/**
 * Gaussian decoder with fixed σ. The mean goes through a sigmoid so it stays in the
 * data range [0, 1]; the likelihood itself is the plain Gaussian density.
 */
export function gaussianDecoder(sigma: number): DecoderLikelihood {
  return {
    kind: 'gaussian',
    logLikelihood: (x, output) => tf.tidy(() => gaussianLogLikelihood(x, tf.sigmoid(output), sigma)),
    mean: (output) => tf.sigmoid(output),
    pixelLogLikelihood: (x, output) => tf.tidy(() => gaussianPixelLogLikelihood(x, tf.sigmoid(output), sigma)),
    noise: 'normal',
    sample: (output, normal) => tf.tidy(() => tf.add(tf.sigmoid(output), tf.mul(sigma, normal))),
  };
}

/** Per-image terms of one ELBO estimate (one z sample per image). */
export interface ElboParts {
  /** log p(x|z), shape [N]. */
  logLikelihood: tf.Tensor1D;
  /** KL per image, shape [N]. */
  kl: tf.Tensor1D;
  /** KL per image and latent dim, shape [N, d]. */
  klPerDim: tf.Tensor2D;
}

/** Batch means that training reports and optimizes. */
export interface BatchObjective {
  /** −recon_ll + β·KL, averaged over the batch. */
  loss: tf.Scalar;
  /** −log p(x|z), nats per image. */
  recon: tf.Scalar;
  /** KL, nats per image. */
  kl: tf.Scalar;
}

export function betaVaeObjective(parts: ElboParts, beta: number): BatchObjective {
  return tf.tidy(() => {
    const recon = tf.neg(tf.mean(parts.logLikelihood)) as tf.Scalar;
    const kl = tf.mean(parts.kl) as tf.Scalar;
    return { loss: tf.add(recon, tf.mul(beta, kl)) as tf.Scalar, recon, kl };
  });
}
