import { tf } from '../engine/tf';

/**
 * Log densities of the latent code, per row, with every constant kept so that sums of
 * them are true log densities (VAE-MATH: prior N(0, I), encoder N(μ, diag σ²)).
 */

const LOG_2PI = Math.log(2 * Math.PI);

/** log N(z; 0, I) per row, shape [N]. */
export function logPrior(z: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.mul(-0.5, tf.add(tf.sum(tf.square(z), 1), z.shape[1] * LOG_2PI)));
}

/** log N(z; μ, diag exp(logVar)) per row, shape [N]. */
export function logPosterior(z: tf.Tensor2D, mu: tf.Tensor2D, logVar: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() =>
    tf.mul(-0.5, tf.add(tf.sum(tf.add(tf.mul(tf.squaredDifference(z, mu), tf.exp(tf.neg(logVar))), logVar), 1), z.shape[1] * LOG_2PI)),
  );
}

/** Each row of t repeated `k` times in place: [n, w] → [n·k, w], rows of one image together. */
export function repeatRows(t: tf.Tensor2D, k: number): tf.Tensor2D {
  if (k === 1) return tf.clone(t);
  return tf.tidy(() => {
    const [n, w] = t.shape;
    return tf.reshape(tf.tile(tf.reshape(t, [n, 1, w]), [1, k, 1]), [n * k, w]) as tf.Tensor2D;
  });
}
