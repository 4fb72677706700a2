import { tf } from '../engine/tf';

/**
 * Vector quantization for the VQ-VAE (van den Oord 2017; EMA codebook from their
 * appendix A.1). Every function returns fresh tensors and disposes nothing it was given.
 */

/** Index of the nearest codebook row for every row of z [M, e]: argmin_k ‖z − e_k‖², [M] int32. */
export function nearestCodes(z: tf.Tensor2D, codebook: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    // ‖z‖² − 2 z·eᵀ + ‖e‖²; ‖z‖² is the same for every k and is left out.
    const distances = tf.sub(tf.sum(tf.square(codebook), 1), tf.mul(2, tf.matMul(z, codebook, false, true)));
    return tf.argMin(distances, 1) as tf.Tensor1D;
  });
}

/**
 * Straight-through estimator: forward z_q, backward the gradient of z_q handed to z_e
 * unchanged (the decoder input is z_e + sg(z_q − z_e)); z_q itself gets none.
 */
export const straightThrough = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const zq = args[1] as tf.Tensor;
  return { value: tf.clone(zq), gradFunc: (dy: tf.Tensor) => [dy, tf.zerosLike(dy)] };
}) as Parameters<typeof tf.customGrad>[0]) as (ze: tf.Tensor2D, zq: tf.Tensor2D) => tf.Tensor2D;

/** Commitment term ‖z_e − sg(z_q)‖² summed over a grid's positions and dims, per image: [N]. */
export function commitment(ze: tf.Tensor2D, zq: tf.Tensor2D, positions: number): tf.Tensor1D {
  return tf.tidy(() => {
    const perRow = tf.sum(tf.squaredDifference(ze, zq), 1);
    return tf.sum(tf.reshape(perRow, [ze.shape[0] / positions, positions]), 1) as tf.Tensor1D;
  });
}

/** exp(entropy) of a usage histogram: 1 when one code takes everything, K when all are used equally. */
export function perplexity(counts: ArrayLike<number>): number {
  let total = 0;
  for (let k = 0; k < counts.length; k++) total += counts[k]!;
  if (total <= 0) return 0;
  let entropy = 0;
  for (let k = 0; k < counts.length; k++) {
    const p = counts[k]! / total;
    if (p > 0) entropy -= p * Math.log(p);
  }
  return Math.exp(entropy);
}

export interface EmaState {
  /** [K, e]: the codebook, e_k = embedSum_k / smoothed clusterSize_k. */
  codebook: tf.Variable;
  /** [K]: EMA of how many vectors each code was assigned per batch. */
  clusterSize: tf.Variable;
  /** [K, e]: EMA of the sum of the vectors assigned to each code. */
  embedSum: tf.Variable;
}

const LAPLACE = 1e-5;

/**
 * One EMA step with the batch's encoder outputs z [M, e] and their codes [M]:
 *   N_k ← γ N_k + (1−γ) n_k,  m_k ← γ m_k + (1−γ) Σ_{i: k_i = k} z_i,  e_k = m_k / Ñ_k,
 * with Ñ the Laplace-smoothed sizes (so an unused code keeps a finite vector).
 * Returns the batch counts n_k, [K].
 */
export function emaUpdate(state: EmaState, z: tf.Tensor2D, codes: tf.Tensor1D, decay: number): tf.Tensor1D {
  return tf.tidy(() => {
    const K = state.codebook.shape[0]!;
    const oneHot = tf.cast(tf.oneHot(codes, K), 'float32') as tf.Tensor2D;
    const counts = tf.sum(oneHot, 0) as tf.Tensor1D;
    const sums = tf.matMul(oneHot, z, true, false);
    const size = tf.add(tf.mul(state.clusterSize, decay), tf.mul(counts, 1 - decay));
    const embed = tf.add(tf.mul(state.embedSum, decay), tf.mul(sums, 1 - decay));
    const total = tf.sum(size);
    const smoothed = tf.mul(tf.div(tf.add(size, LAPLACE), tf.add(total, K * LAPLACE)), total);
    state.clusterSize.assign(size);
    state.embedSum.assign(embed);
    state.codebook.assign(tf.div(embed, tf.expandDims(smoothed, 1)));
    return tf.keep(counts);
  });
}

/**
 * Dead-code restart: every code whose EMA cluster size is below `threshold` takes the
 * value of encoder output rows[j] (one per code, chosen by the caller's seeded stream),
 * with its EMA reset to one assignment of that vector, so it competes again.
 * `dead` [K] is 1 for the codes to restart. z [M, e].
 */
export function restartCodes(state: EmaState, z: tf.Tensor2D, dead: Float32Array, rows: Int32Array): void {
  tf.tidy(() => {
    const mask = tf.expandDims(tf.tensor1d(dead), 1);
    const replacement = tf.gather(z, tf.tensor1d(rows, 'int32'));
    const keep = tf.sub(1, mask);
    state.codebook.assign(tf.add(tf.mul(state.codebook, keep), tf.mul(replacement, mask)));
    state.embedSum.assign(tf.add(tf.mul(state.embedSum, keep), tf.mul(replacement, mask)));
    state.clusterSize.assign(tf.add(tf.mul(state.clusterSize, tf.squeeze(keep, [1])), tf.tensor1d(dead)));
  });
}
