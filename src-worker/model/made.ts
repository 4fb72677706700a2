import { madePriorArchitecture } from '@shared/model-export/architectures';
import { takeValues } from '../engine/read';
import { tf } from '../engine/tf';
import type { Rng } from '../engine/random';
import { buildModel } from './build';

/**
 * The VQ-VAE's prior over its code grid: MADE (Germain et al. 2015), an autoregressive
 * network over the L positions in raster order (declared in
 * src-shared/model-export/architectures.ts). Inputs are the one-hot codes [N, L·K];
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
  const model = buildModel(madePriorArchitecture(L, K, hidden), rng);
  const logits = (oneHot: tf.Tensor2D): tf.Tensor3D => tf.tidy(() => model.run('prior', oneHot.shape[0], { codes_onehot: oneHot }, ['logits'])[0] as tf.Tensor3D);
  return {
    variables: model.variables,
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
    dispose: () => model.dispose(),
  };
}

/** How sampleMade draws: a temperature, and grids whose first positions are given. */
export interface MadeSampling {
  /**
   * The logits are divided by T before the softmax: T < 1 sharpens each position's
   * distribution, T > 1 flattens it; T = 0 takes the most likely code (ties: the lowest).
   */
  temperature?: number;
  /** Given grids [n·L]: positions before `from` keep these codes, the others are drawn. */
  given?: Int32Array;
  /** First position drawn (default 0): exact conditional sampling, the prior being autoregressive in raster order. */
  from?: number;
}

/** Draw n code grids from the prior, position by position, with uniforms from `rng`. [n·L] code indices. */
export async function sampleMade(prior: MadePrior, n: number, rng: Rng, options: MadeSampling = {}): Promise<Int32Array> {
  const { positions: L, codes: K } = prior;
  const { temperature = 1, given, from = 0 } = options;
  if (given !== undefined && given.length !== n * L) throw new Error(`${given.length} given codes for ${n} grids of ${L}`);
  const codes = given === undefined ? new Int32Array(n * L) : Int32Array.from(given);
  const greedy = temperature <= 0;
  for (let i = Math.max(0, from); i < L; i++) {
    const probs = await takeValues(
      tf.tidy(() => {
        const oneHot = tf.reshape(tf.cast(tf.oneHot(tf.tensor1d(codes, 'int32'), K), 'float32'), [n, L * K]) as tf.Tensor2D;
        const logits = tf.squeeze(tf.slice(prior.logits(oneHot), [0, i, 0], [n, 1, K]), [1]);
        // Greedy reads the logits themselves; softmax(logits / T) otherwise.
        return greedy ? logits : tf.softmax(temperature === 1 ? logits : tf.div(logits, temperature));
      }),
    );
    for (let r = 0; r < n; r++) {
      let k = 0;
      if (greedy) {
        for (let j = 1; j < K; j++) if (probs[r * K + j]! > probs[r * K + k]!) k = j;
      } else {
        let u = rng.uniform();
        for (; k < K - 1; k++) {
          u -= probs[r * K + k]!;
          if (u < 0) break;
        }
      }
      codes[r * L + i] = k;
    }
  }
  return codes;
}
