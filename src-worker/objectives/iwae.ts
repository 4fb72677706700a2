import type { DecoderKind } from '@shared/config';
import { nllFigures } from '@shared/likelihood';
import { tf } from '../engine/tf';
import type { Rng } from '../engine/random';
import type { Posterior, Vae } from '../model/vae';
import type { DecoderLikelihood } from './elbo';
import type { PosteriorFlow } from '../model/posterior-flow';

/**
 * The importance-weighted bound (Burda 2016), per image, with K samples z_k ~ q(z|x):
 *   log p(x) ≥ log (1/K) Σ_k w_k,  log w_k = log p(x|z_k) + log p(z_k) − log q(z_k|x).
 * Samples are processed in chunks (bounded memory) and combined in float64 with a
 * streaming log-sum-exp, so K is limited by time only.
 */

/** What a conditional or flowed posterior adds to the importance weights. */
export interface ImportanceOptions {
  /** One-hot labels [n, C] of a conditional model, repeated k times for the decoder. */
  condition?: tf.Tensor2D;
  /** A flow on z (planar or IAF) and what it reads from the encoder, [n, P]. */
  flow?: PosteriorFlow;
  flowParams?: tf.Tensor2D;
}

/**
 * log w for `k` samples per image: eps is [n·k, d] (rows grouped by image). With
 * z = μ + σ ε, log p(z) − log q(z|x) = −½ Σ_j (z_j² − ε_j² − log σ_j²): the log 2π terms
 * cancel. With a flow, z_K = f(z_0) and log q(z_K|x) = log q0(z_0|x) − Σ log|det|, so
 * log p(z_K) − log q(z_K|x) = −½ Σ_j (z_K,j² − ε_j² − log σ_j²) + Σ log|det|. Returns [n, k].
 */
export function importanceLogWeights(
  model: Vae,
  decoder: DecoderLikelihood,
  x: tf.Tensor2D,
  posterior: Posterior,
  eps: tf.Tensor2D,
  k: number,
  options: ImportanceOptions = {},
): tf.Tensor2D {
  return tf.tidy(() => {
    const [n, D] = x.shape;
    const d = posterior.mu.shape[1];
    const repeat = (t: tf.Tensor2D, width: number): tf.Tensor2D =>
      tf.reshape(tf.tile(tf.reshape(t, [n, 1, width]), [1, k, 1]), [n * k, width]) as tf.Tensor2D;
    const mu = repeat(posterior.mu, d);
    const logVar = repeat(posterior.logVar, d);
    const z0 = tf.add(mu, tf.mul(tf.exp(tf.mul(0.5, logVar)), eps)) as tf.Tensor2D;
    const flowed = options.flow && options.flowParams ? options.flow.apply(z0, repeat(options.flowParams, options.flowParams.shape[1])) : null;
    const z = flowed?.z ?? z0;
    const y = options.condition ? repeat(options.condition, options.condition.shape[1]) : undefined;
    const logLikelihood = decoder.logLikelihood(repeat(x, D), model.decode(z, y));
    let priorOverPosterior = tf.mul(-0.5, tf.sum(tf.sub(tf.sub(tf.square(z), tf.square(eps)), logVar), 1));
    if (flowed) priorOverPosterior = tf.add(priorOverPosterior, flowed.logDet);
    return tf.reshape(tf.add(logLikelihood, priorOverPosterior), [n, k]) as tf.Tensor2D;
  });
}

/** Running log-mean-exp per image over chunks of log-weights, in float64. */
export class LogMeanExp {
  private readonly max: Float64Array;
  private readonly sum: Float64Array;
  private count = 0;

  constructor(readonly images: number) {
    this.max = new Float64Array(images).fill(-Infinity);
    this.sum = new Float64Array(images);
  }

  /** `logW` is [images, k] row-major. */
  add(logW: ArrayLike<number>, k: number): void {
    for (let i = 0; i < this.images; i++) {
      let m = this.max[i]!;
      let s = this.sum[i]!;
      for (let j = 0; j < k; j++) {
        const w = logW[i * k + j]!;
        if (w > m) {
          // Rescale what was summed so far to the new maximum.
          s = s * Math.exp(m - w) + 1;
          m = w;
        } else {
          s += Math.exp(w - m);
        }
      }
      this.max[i] = m;
      this.sum[i] = s;
    }
    this.count += k;
  }

  /** log (1/K) Σ_k w_k per image. */
  result(): Float64Array {
    const out = new Float64Array(this.images);
    for (let i = 0; i < this.images; i++) out[i] = this.max[i]! + Math.log(this.sum[i]!) - Math.log(this.count);
    return out;
  }
}

/**
 * Uniform dequantization of 8-bit data scaled to [0, 1]: y = (k + u)/256, u ~ U[0, 1).
 * A continuous density on y then bounds the probability of the integer k:
 * log P(k) ≥ log p(y) − D·ln 256 (in expectation over u).
 */
export function dequantize(batch: Float32Array, rng: Rng): Float32Array {
  const out = new Float32Array(batch.length);
  for (let i = 0; i < batch.length; i++) out[i] = (Math.round(batch[i]! * 255) + rng.uniform()) / 256;
  return out;
}

export interface NllReport {
  /** Negative log-likelihood in nats per image, on the 8-bit (or binary) data. */
  nll: number;
  /** The same in bits per pixel and channel. */
  bitsPerDim: number;
}

/**
 * From the mean IWAE log p̂(x) to comparable numbers (nllFigures): a Gaussian decoder is a
 * density on dequantized data, D·ln 256 is added to reach the discrete 8-bit NLL; the
 * logistic mixture and Bernoulli decoders are already probabilities of the discrete pixels.
 */
export function nllReport(meanLogLikelihood: number, pixels: number, decoder: DecoderKind): NllReport {
  return nllFigures(meanLogLikelihood, pixels, decoder);
}
