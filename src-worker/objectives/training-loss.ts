import { tf } from '../engine/tf';
import type { BatchObjective, ElboParts } from './elbo';
import type { ObjectiveSettings } from './schedule';

/**
 * The minimized loss for one batch, per VAE-MATH.md. `recon` and `kl` are always the
 * plain batch means (what the curves show); only `loss` changes with the objective:
 *   beta:     mean(−log p(x|z)) + β(t) · K,  K = mean KL, or with free bits λ > 0
 *             K = Σ_j max(λ, KL_j), KL_j averaged over the batch (Kingma 2016)
 *   capacity: mean(−log p(x|z)) + γ · |mean KL − C(t)|  (Burgess 2018)
 */
export function trainingObjective(parts: ElboParts, settings: ObjectiveSettings): BatchObjective {
  return tf.tidy(() => {
    const recon = tf.neg(tf.mean(parts.logLikelihood)) as tf.Scalar;
    const kl = tf.mean(parts.kl) as tf.Scalar;
    let penalty: tf.Scalar;
    if (settings.kind === 'capacity') {
      penalty = tf.mul(settings.gamma, tf.abs(tf.sub(kl, settings.capacity)));
    } else if (settings.freeBits > 0) {
      const perDim = tf.mean(parts.klPerDim, 0);
      penalty = tf.mul(settings.klWeight, tf.sum(tf.maximum(perDim, settings.freeBits)));
    } else {
      penalty = tf.mul(settings.klWeight, kl);
    }
    return { loss: tf.add(recon, penalty) as tf.Scalar, recon, kl };
  });
}
