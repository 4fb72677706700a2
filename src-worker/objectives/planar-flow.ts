import { planarFlowParameters } from '@shared/model-export/architectures';
import { tf } from '../engine/tf';

/**
 * Planar flows (Rezende & Mohamed 2015) on a posterior sample, with amortized
 * parameters: each image's encoder predicts (u, w, b) for every step, so the flow
 * bends its own posterior. One step:
 *   f(z) = z + û · tanh(wᵀz + b),   log|det ∂f/∂z| = log|1 + ûᵀ ψ(z)|,  ψ(z) = (1 − tanh²(wᵀz + b)) w,
 * with û = u + (m(wᵀu) − wᵀu) w/‖w‖², m(a) = −1 + softplus(a), which keeps wᵀû ≥ −1 so
 * f is invertible (their appendix A). Then log q(z_K|x) = log q0(z_0|x) − Σ_k log|det_k|.
 */

/** Parameters per image for `steps` steps on a d-dim latent (the encoder's extra outputs). */
export { planarFlowParameters };

/** Keeps 1 + ûᵀψ away from 0 in the log (it is ≥ 0 by construction, 0 only at the boundary). */
const DET_FLOOR = 1e-6;

export interface FlowResult {
  /** z_K, [N, d]. */
  z: tf.Tensor2D;
  /** Σ_k log|det ∂f_k/∂z_{k−1}| per row, [N]. */
  logDet: tf.Tensor1D;
}

/**
 * Push z0 [N, d] through the steps whose parameters are the rows of `params`
 * [N, planarFlowParameters(d, steps)] (step k: u, then w, then b).
 */
export function planarFlow(z0: tf.Tensor2D, params: tf.Tensor2D, steps: number): FlowResult {
  return tf.tidy(() => {
    const [n, d] = z0.shape;
    const width = 2 * d + 1;
    if (params.shape[0] !== n || params.shape[1] !== steps * width) {
      throw new Error(`planar flow: parameters [${params.shape.join(', ')}] do not fit ${steps} steps on [${n}, ${d}]`);
    }
    let z = z0;
    let logDet = tf.zeros([n]) as tf.Tensor1D;
    for (let k = 0; k < steps; k++) {
      const [u, w, b] = tf.split(tf.slice(params, [0, k * width], [n, width]), [d, d, 1], 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const wu = tf.sum(tf.mul(w, u), 1, true);
      const wNorm2 = tf.add(tf.sum(tf.square(w), 1, true), 1e-8);
      const uHat = tf.add(u, tf.mul(tf.div(tf.sub(tf.sub(tf.softplus(wu), 1), wu), wNorm2), w));
      const h = tf.tanh(tf.add(tf.sum(tf.mul(w, z), 1, true), b));
      z = tf.add(z, tf.mul(uHat, h)) as tf.Tensor2D;
      // ûᵀψ = (1 − h²) · wᵀû.
      const det = tf.add(1, tf.mul(tf.sub(1, tf.square(h)), tf.sum(tf.mul(w, uHat), 1, true)));
      logDet = tf.add(logDet, tf.reshape(tf.log(tf.add(tf.abs(det), DET_FLOOR)), [n])) as tf.Tensor1D;
    }
    return { z, logDet };
  });
}
