import type { RunConfig } from '@shared/config';
import { takeValues } from '../engine/read';
import { tf } from '../engine/tf';
import { bernoulliDecoder, gaussianDecoder, type DecoderLikelihood } from './elbo';
import { logisticMixtureDecoder } from './logistic';

/**
 * The decoder likelihood a trainer uses, with the parameters it may own itself: a
 * Gaussian decoder with learned variance keeps log σ² as a variable (one scalar, or
 * one per pixel and channel) trained with the network. Parameterizing log σ² keeps σ
 * positive without a constraint and makes its gradient well scaled.
 */
export interface TrainableDecoder extends DecoderLikelihood {
  /** Extra trainable variables (empty unless the variance is learned). */
  readonly variables: tf.Variable[];
  /** σ of the decoder for reporting: the fixed or learned value (geometric mean per pixel); null for Bernoulli and logistic. */
  sigma(): Promise<number | null>;
  dispose(): void;
}

const LOG_2PI = Math.log(2 * Math.PI);
/**
 * Floor of the learned σ. Pixels that are always 0 (MNIST's border) would otherwise drive
 * σ → 0 and the likelihood → +∞; below about 1/256 (one 8-bit level) a density has no
 * meaning for 8-bit data anyway.
 */
export const MIN_LEARNED_SIGMA = 1e-3;
const MIN_LOG_VAR = 2 * Math.log(MIN_LEARNED_SIGMA);
/** Variable names must be unique engine-wide. */
let nextId = 0;

/** −½ Σ [(x−m)² e^(−log σ²) + log σ² + log 2π] with log σ² broadcast over the batch. */
export function gaussianLogLikelihoodLearned(x: tf.Tensor2D, mean: tf.Tensor2D, logVar: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const pixels = x.shape[1];
    const lv = tf.maximum(logVar, MIN_LOG_VAR);
    const scaled = tf.mul(tf.squaredDifference(x, mean), tf.exp(tf.neg(lv)));
    // A scalar log σ² counts once per pixel; a per-pixel one is summed over its pixels.
    const logVarSum = lv.rank === 0 ? tf.mul(lv, pixels) : tf.sum(lv);
    return tf.mul(-0.5, tf.add(tf.add(tf.sum(scaled, 1), logVarSum), pixels * LOG_2PI));
  });
}

/** The terms of gaussianLogLikelihoodLearned per pixel, shape [N, D]. */
export function gaussianPixelLogLikelihoodLearned(x: tf.Tensor2D, mean: tf.Tensor2D, logVar: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const lv = tf.maximum(logVar, MIN_LOG_VAR);
    const scaled = tf.mul(tf.squaredDifference(x, mean), tf.exp(tf.neg(lv)));
    return tf.mul(-0.5, tf.add(tf.add(scaled, lv), LOG_2PI));
  });
}

function learnedGaussian(perPixel: boolean, pixels: number, initialSigma: number): TrainableDecoder {
  const init = 2 * Math.log(initialSigma);
  const logVar = tf.tidy(() =>
    tf.variable(perPixel ? tf.fill([pixels], init) : tf.scalar(init), true, `decoder/logVar#${nextId++}`),
  );
  return {
    kind: 'gaussian',
    variables: [logVar],
    logLikelihood: (x, output) => tf.tidy(() => gaussianLogLikelihoodLearned(x, tf.sigmoid(output), logVar)),
    mean: (output) => tf.sigmoid(output),
    pixelLogLikelihood: (x, output) => tf.tidy(() => gaussianPixelLogLikelihoodLearned(x, tf.sigmoid(output), logVar)),
    noise: 'normal',
    sample: (output, normal) => tf.tidy(() => tf.add(tf.sigmoid(output), tf.mul(tf.exp(tf.mul(0.5, tf.maximum(logVar, MIN_LOG_VAR))), normal))),
    sigma: async () => Math.exp(0.5 * ((await takeValues(tf.tidy(() => tf.mean(tf.maximum(logVar, MIN_LOG_VAR)))))[0] ?? NaN)),
    dispose: () => logVar.dispose(),
  };
}

export function createDecoder(
  config: Pick<RunConfig, 'decoder' | 'gaussianSigma' | 'decoderVariance'>,
  pixels: number,
): TrainableDecoder {
  if (config.decoder === 'logistic') {
    return { ...logisticMixtureDecoder(pixels), variables: [], sigma: () => Promise.resolve(null), dispose: () => undefined };
  }
  if (config.decoder === 'bernoulli') {
    return { ...bernoulliDecoder(), variables: [], sigma: () => Promise.resolve(null), dispose: () => undefined };
  }
  if (config.decoderVariance === 'fixed') {
    return { ...gaussianDecoder(config.gaussianSigma), variables: [], sigma: () => Promise.resolve(config.gaussianSigma), dispose: () => undefined };
  }
  return learnedGaussian(config.decoderVariance === 'per-pixel', pixels, config.gaussianSigma);
}
