import { madeMasks } from '@shared/made-masks';
import { takeValues } from '../engine/read';
import { tf } from '../engine/tf';
import type { Rng } from '../engine/random';
import { ParamSet } from './params';

/**
 * The VQ-VAE's prior over its code grid: MADE (Germain et al. 2015), an autoregressive
 * network over the L positions in raster order. Inputs are the one-hot codes [N, L·K];
 * a ReLU hidden layer and an output layer with masked weights make the logits of
 * position i depend only on the codes of positions < i, so
 *   log π(k) = Σ_i log softmax(logits_i)[k_i]
 * is a normalized distribution, sampled position by position.
 */
export interface MadePrior {
  readonly variables: tf.Variable[];
  readonly positions: number;
  readonly codes: number;
  /** One-hot codes [N, L·K] → logits [N, L, K]. */
  logits(oneHot: tf.Tensor2D): tf.Tensor3D;
  /** log π(k) per image, [N], for code indices k [N·L] (int32). */
  logProb(indices: tf.Tensor1D): tf.Tensor1D;
  dispose(): void;
}

export function createMadePrior(positions: number, codes: number, hidden: number, rng: Rng): MadePrior {
  const L = positions;
  const K = codes;
  const params = new ParamSet(rng, 'prior');
  const w1 = params.dense('made1/w', L * K, hidden, 'he');
  const b1 = params.bias('made1/b', hidden);
  const w2 = params.dense('made2/w', hidden, L * K, 'glorot');
  const b2 = params.bias('made2/b', L * K);
  const m = madeMasks(L, K, hidden);
  // Constants, not variables: they never train and are rebuilt from the sizes.
  const mask1 = tf.tensor2d(m.input, [L * K, hidden]);
  const mask2 = tf.tensor2d(m.output, [hidden, L * K]);
  const logits = (oneHot: tf.Tensor2D): tf.Tensor3D =>
    tf.tidy(() => {
      const a = tf.relu(tf.add(tf.matMul(oneHot, tf.mul(w1, mask1)), b1));
      return tf.reshape(tf.add(tf.matMul(a, tf.mul(w2, mask2)), b2), [oneHot.shape[0], L, K]) as tf.Tensor3D;
    });
  return {
    variables: params.variables,
    positions: L,
    codes: K,
    logits,
    logProb: (indices) =>
      tf.tidy(() => {
        const n = indices.shape[0] / L;
        const oneHot = tf.cast(tf.oneHot(indices, K), 'float32');
        const logQ = tf.logSoftmax(logits(tf.reshape(oneHot, [n, L * K]) as tf.Tensor2D));
        return tf.sum(tf.mul(logQ, tf.reshape(oneHot, [n, L, K])), [1, 2]) as tf.Tensor1D;
      }),
    dispose: () => {
      params.dispose();
      tf.dispose([mask1, mask2]);
    },
  };
}

/** Draw n code grids from the prior, position by position, with uniforms from `rng`. [n·L] code indices. */
export async function sampleMade(prior: MadePrior, n: number, rng: Rng): Promise<Int32Array> {
  const { positions: L, codes: K } = prior;
  const codes = new Int32Array(n * L);
  for (let i = 0; i < L; i++) {
    const probs = await takeValues(
      tf.tidy(() => {
        const oneHot = tf.reshape(tf.cast(tf.oneHot(tf.tensor1d(codes, 'int32'), K), 'float32'), [n, L * K]) as tf.Tensor2D;
        return tf.softmax(tf.squeeze(tf.slice(prior.logits(oneHot), [0, i, 0], [n, 1, K]), [1]));
      }),
    );
    for (let r = 0; r < n; r++) {
      let u = rng.uniform();
      let k = 0;
      for (; k < K - 1; k++) {
        u -= probs[r * K + k]!;
        if (u < 0) break;
      }
      codes[r * L + i] = k;
    }
  }
  return codes;
}
