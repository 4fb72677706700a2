import { ApiError } from '@shared/errors';
import type { Rng } from '../engine/random';
import { tf } from '../engine/tf';
import type { Classifier } from '../model/classifier';
import { repeatRows } from './latent';

/**
 * The class label y of each image when the model is conditional (cVAE, M2: encoder
 * q(z|x, y) and decoder p(x|z, y) take a one-hot y).
 *
 * A given label is conditioned on: the methods then target p(x_mis | x_obs, y) with y
 * fixed, exactly as the unconditional ones target p(x_mis | x_obs), and p(y) drops out.
 *
 * An unknown label (M2 only, which has a classifier q(y|x)) is part of what is inferred:
 * the target is p(y, z, x_mis | x_obs) with the uniform prior p(y) = 1/C the model was
 * trained with, and y is proposed from q(y|x̂), x̂ = (x_obs, current fill). How each
 * method uses that proposal is documented at the method; every one reports its estimate
 * of p(y | x_obs) per image as `classProbabilities`.
 *
 * A cVAE has no q(y|x), so it needs every label: imputing "some digit" would have to
 * enumerate the classes under a uniform p(y), which for a model that was never asked to
 * tell classes apart mostly averages strokes of different digits.
 */
export class ImageLabels {
  readonly classes: number;
  /** Per image: the label to condition on, or −1 (unknown: inferred). */
  readonly given: Int32Array;
  /** Whether any image's label is inferred (then the methods draw y, and report classProbabilities). */
  readonly inferred: boolean;
  /** [n, C]: one-hot rows of the given labels, zero rows where unknown. */
  private readonly fixed: tf.Tensor2D;
  /** [n, 1]: 1 where the label is given. */
  private readonly known: tf.Tensor2D;

  constructor(
    classes: number,
    labels: ArrayLike<number> | undefined,
    n: number,
    private readonly classifier: Classifier | null,
  ) {
    this.classes = classes;
    this.given = new Int32Array(n).fill(-1);
    if (labels !== undefined && labels.length !== n) {
      throw new ApiError('invalid_input', `label: ${labels.length} labels for ${n} images`, { field: 'label' });
    }
    for (let i = 0; i < n; i++) {
      const label = labels?.[i] ?? -1;
      if (label === -1) {
        if (!classifier) {
          throw new ApiError(
            'invalid_input',
            "label: this conditional VAE fills in pixels given the image's class; choose the class (label) to impute with.",
            { field: 'label' },
          );
        }
        continue;
      }
      if (!Number.isInteger(label) || label < 0 || label >= classes) {
        throw new ApiError('invalid_input', `label: class ${label} does not exist (the model has ${classes}, 0–${classes - 1})`, { field: 'label' });
      }
      this.given[i] = label;
    }
    this.inferred = this.given.some((label) => label < 0);
    const oneHot = new Float32Array(n * classes);
    const known = new Float32Array(n);
    this.given.forEach((label, i) => {
      if (label < 0) return;
      oneHot[i * classes + label] = 1;
      known[i] = 1;
    });
    this.fixed = tf.tensor2d(oneHot, [n, classes]);
    this.known = tf.tensor2d(known, [n, 1]);
  }

  /** Uniforms for `rows` label draws (none when every label is given), taken from the caller's stream. */
  uniforms(rng: Rng, rows: number): Float32Array | null {
    if (!this.inferred) return null;
    const u = new Float32Array(rows * this.classes);
    // Open interval: −log(−log u) is finite.
    for (let i = 0; i < u.length; i++) u[i] = Math.min(1 - 1e-7, Math.max(1e-12, rng.uniform()));
    return u;
  }

  /** [n·k, C]: the given labels, k rows per image (zero rows where unknown). Call inside a tidy. */
  givenRows(k: number): tf.Tensor2D {
    return repeatRows(this.fixed, k);
  }

  /** [n·k, 1]: 1 on the rows of images whose label is given. Call inside a tidy. */
  knownRows(k: number): tf.Tensor2D {
    return repeatRows(this.known, k);
  }

  /** log q(y|x̂) for every class, [rows, C]; zeros when no label is inferred. Call inside a tidy. */
  logQ(xhat: tf.Tensor2D): tf.Tensor2D {
    if (!this.inferred || !this.classifier) return tf.zeros([xhat.shape[0], this.classes]);
    return tf.logSoftmax(this.classifier.logits(xhat)) as tf.Tensor2D;
  }

  /**
   * One label per row (rows of one image together, k per image): the given label, or a
   * draw from softmax(logits) by the Gumbel-max trick, argmax_c (logits_c − log(−log u_c)).
   * Call inside a tidy.
   */
  draw(logits: tf.Tensor2D, uniforms: Float32Array | null, k: number): tf.Tensor2D {
    if (!uniforms) return this.givenRows(k);
    const rows = logits.shape[0];
    const gumbel = tf.neg(tf.log(tf.neg(tf.log(tf.tensor2d(uniforms, [rows, this.classes])))));
    return this.withGiven(tf.cast(tf.oneHot(tf.argMax(tf.add(logits, gumbel), 1), this.classes), 'float32') as tf.Tensor2D, k);
  }

  /** Rows [n·k, C] of `inferred` where the label is unknown, of the given one-hot label elsewhere. Call inside a tidy. */
  withGiven(inferred: tf.Tensor2D, k: number): tf.Tensor2D {
    const known = this.knownRows(k);
    return tf.add(tf.mul(known, this.givenRows(k)), tf.mul(tf.sub(1, known), inferred)) as tf.Tensor2D;
  }

  /** Per image [n, C]: q(y|x) where the label is unknown, the given one-hot label elsewhere. Call inside a tidy. */
  classifierEstimate(x: tf.Tensor2D): tf.Tensor2D {
    return this.withGiven(tf.exp(this.logQ(x)) as tf.Tensor2D, 1);
  }

  /**
   * Per row, [rows]: log q(y|x̂) and log p(y) of the rows whose label is inferred, 0 on rows
   * whose label is given (conditioning: neither term belongs in their densities). Call
   * inside a tidy.
   */
  logDensities(y: tf.Tensor2D, logQ: tf.Tensor2D, k: number): { logQy: tf.Tensor1D; logPy: tf.Tensor1D } {
    const unknown = tf.reshape(tf.sub(1, this.knownRows(k)), [-1]);
    return { logQy: tf.mul(unknown, tf.sum(tf.mul(y, logQ), 1)) as tf.Tensor1D, logPy: this.logPrior(k) };
  }

  /** log p(y) = −log C per row [n·k] where the label is inferred, 0 where it is given. Call inside a tidy. */
  logPrior(k: number): tf.Tensor1D {
    return tf.mul(tf.reshape(tf.sub(1, this.knownRows(k)), [-1]), -Math.log(this.classes)) as tf.Tensor1D;
  }

  dispose(): void {
    tf.dispose([this.fixed, this.known]);
  }
}

/** Index of the largest of each row of C values, [n·C] row-major → [n]. */
export function argMaxRows(values: ArrayLike<number>, classes: number): Int32Array {
  const n = Math.floor(values.length / classes);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (values[i * classes + c]! > values[i * classes + best]!) best = c;
    out[i] = best;
  }
  return out;
}
