import { tf } from '../engine/tf';

/**
 * The semi-supervised M2 objective (Kingma, Rezende, Mohamed & Welling 2014), with a
 * uniform prior p(y) = 1/C. For a labelled image, the negative ELBO of (x, y):
 *   L(x, y) = −E_q(z|x,y)[log p(x|y,z)] + KL(q(z|x,y) ‖ p(z)) − log p(y);
 * for an unlabelled one, y is summed out under the classifier q(y|x):
 *   U(x) = Σ_y q(y|x) L(x, y) − H(q(y|x)) = Σ_y q(y|x) [L(x, y) + log q(y|x)];
 * and the classifier also learns from the labels directly:
 *   J = mean over the batch of (L or U) + α · mean over labelled images of −log q(y|x).
 * Inputs are per image and class, [N, C]: `recon` = −log p(x|y=c, z), `klz` = KL of q(z|x,c).
 */
export interface M2Terms {
  recon: tf.Tensor2D;
  klz: tf.Tensor2D;
  /** log q(y|x), [N, C]. */
  logQ: tf.Tensor2D;
}

/** −log p(y) of the uniform prior. */
const logClasses = (classes: number): number => Math.log(classes);

/**
 * Per image, [N]: the expected reconstruction term and the rest of the negative ELBO
 * (KL of z, −log p(y), and for unlabelled images −H(q(y|x))), so recon + kl = L or U.
 * `labelled` [N] is 1 for a kept label, 0 otherwise; `y` [N, C] is one-hot (zeros where
 * unlabelled). klWeight β(t) scales the KL of z only (warm-up).
 */
export function m2PerImage(terms: M2Terms, y: tf.Tensor2D, labelled: tf.Tensor1D, klWeight = 1): { recon: tf.Tensor1D; kl: tf.Tensor1D } {
  return tf.tidy(() => {
    const classes = terms.recon.shape[1];
    const q = tf.exp(terms.logQ);
    const unlabelled = tf.sub(1, labelled);
    // Labelled rows take their own class; unlabelled ones average over q(y|x).
    const weights = tf.add(tf.mul(y, tf.expandDims(labelled, 1)), tf.mul(q, tf.expandDims(unlabelled, 1)));
    const recon = tf.sum(tf.mul(weights, terms.recon), 1) as tf.Tensor1D;
    const klz = tf.sum(tf.mul(weights, tf.mul(klWeight, terms.klz)), 1);
    const negEntropy = tf.mul(unlabelled, tf.sum(tf.mul(q, terms.logQ), 1));
    return { recon, kl: tf.add(tf.add(klz, logClasses(classes)), negEntropy) as tf.Tensor1D };
  });
}

/** −log q(y|x) of the labelled rows, [N] (0 where unlabelled). */
export function m2CrossEntropy(logQ: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.neg(tf.sum(tf.mul(y, logQ), 1)) as tf.Tensor1D);
}

/** The batch loss J: mean(recon + kl) + α · mean over labelled rows of −log q(y|x). */
export function m2Loss(terms: M2Terms, y: tf.Tensor2D, labelled: tf.Tensor1D, klWeight: number, alpha: number): { loss: tf.Scalar; recon: tf.Scalar; kl: tf.Scalar } {
  return tf.tidy(() => {
    const parts = m2PerImage(terms, y, labelled, klWeight);
    const recon = tf.mean(parts.recon) as tf.Scalar;
    const kl = tf.mean(parts.kl) as tf.Scalar;
    const ce = tf.div(tf.sum(m2CrossEntropy(terms.logQ, y)), tf.maximum(tf.sum(labelled), 1));
    return { loss: tf.add(tf.add(recon, kl), tf.mul(alpha, ce)) as tf.Scalar, recon, kl };
  });
}

/** x's rows each repeated C times ([N, W] → [N·C, W]), beside one-hot rows 0…C−1 for each. */
export function enumerateClasses(x: tf.Tensor2D, classes: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return tf.tidy(() => {
    const [n, w] = x.shape;
    const repeated = tf.reshape(tf.tile(tf.reshape(x, [n, 1, w]), [1, classes, 1]), [n * classes, w]) as tf.Tensor2D;
    const y = tf.tile(tf.eye(classes), [n, 1]) as tf.Tensor2D;
    return { x: repeated, y };
  });
}
