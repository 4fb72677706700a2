import { LOGISTIC_PARAMS } from '@shared/likelihood';
import { tf } from '../engine/tf';
import type { DecoderLikelihood } from './elbo';
import { fusedLogisticAvailable, fusedLogisticLogLikelihood, fusedLogisticPixelLogLikelihood } from './logistic-fused';

/**
 * Discretized logistic mixture decoder (Salimans et al. 2017, PixelCNN++), one mixture
 * per sub-pixel, without PixelCNN++'s coupling of a pixel's channels: given z the
 * sub-pixels are independent (as with the other decoders), so the per-pixel terms,
 * imputation's masks and sampling work sub-pixel by sub-pixel.
 *
 * Pixels x are k/255, k ∈ {0…255}, on [0, 1]; bin k covers x ± h with h = 1/(2·255), the
 * first and last bins reach to −∞ and +∞. For a component with location μ ∈ (0, 1)
 * (sigmoid of its raw output) and log scale s (floored at LOG_SCALE_MIN):
 *   P(x) = σ((x + h − μ)/e^s) − σ((x − h − μ)/e^s)    0 < k < 255
 *   P(0) = σ((h − μ)/e^s),  P(1) = 1 − σ((1 − h − μ)/e^s)
 * and the mixture P(x) = Σ_k π_k P_k(x), π = softmax(logits). In log space: log σ(a) =
 * a − softplus(a), log(1 − σ(b)) = −softplus(b), and for the inner bins, with
 * a = (x + h − μ)/e^s, b = (x − h − μ)/e^s and d = (a − b)/2 = h/e^s > 0, the exact identity
 *   σ(a) − σ(b) = sinh d / (2 cosh(a/2) cosh(b/2))
 *   log(σ(a) − σ(b)) = d + log(−expm1(−2d)) − |a|/2 − |b|/2 − softplus(−|a|) − softplus(−|b|)
 * never subtracts two nearly equal numbers, so it stays accurate (and finite) where the
 * difference of sigmoids would cancel to 0 in float32, far in either tail. It replaces
 * PixelCNN++'s fallback to the density at the bin's centre × 2h, which is only an
 * approximation there. No comparison of the parameters is on the gradient path (tfjs has
 * no gradient for comparisons): the edge bins are picked by x alone. The sum over the 256
 * bins is 1, so log p(x|z) is a discrete likelihood: bits/dim = −log p / (D ln 2) directly.
 */

/** Scales below e^−7 (about 1/1100, a tenth of a bin) add nothing but overflow. */
export const LOG_SCALE_MIN = -7;
/** Half the width of one of the 256 bins on [0, 1]. */
const HALF_BIN = 1 / (2 * 255);

/** [3K, K] picking block `block` (0 logits, 1 locations, 2 log scales) of a row of 3K parameters. */
function blockPicker(block: number, K: number): tf.Tensor2D {
  const values = new Float32Array(LOGISTIC_PARAMS * K * K);
  for (let k = 0; k < K; k++) values[(block * K + k) * K + k] = 1;
  return tf.tensor2d(values, [LOGISTIC_PARAMS * K, K]);
}

/**
 * The three parameter blocks of an output [N, D·3K], each [N·D, K]. Picked by products
 * with 0/1 matrices rather than tf.split: splitting (and its gradient, a concat) along the
 * short last axis of N·D rows ran row by row and cost more than the rest of a step on wasm.
 */
function parts(output: tf.Tensor2D, pixels: number): { logits: tf.Tensor2D; locations: tf.Tensor2D; logScales: tf.Tensor2D } {
  const rows = output.shape[0] * pixels;
  const K = output.shape[1] / (pixels * LOGISTIC_PARAMS);
  if (!Number.isInteger(K) || K < 1) throw new Error(`a logistic mixture output of ${output.shape[1]} values does not fit ${pixels} pixels`);
  const flat = tf.reshape(output, [rows, LOGISTIC_PARAMS * K]) as tf.Tensor2D;
  const pick = (block: number): tf.Tensor2D => tf.matMul(flat, blockPicker(block, K));
  return { logits: pick(0), locations: tf.sigmoid(pick(1)), logScales: tf.maximum(pick(2), LOG_SCALE_MIN) };
}

/**
 * log Σ_k e^{v_k} over the last axis, with its gradient softmax(v) written out as
 * e^{v − lse(v)} from the saved value: tfjs' own goes through the max's gradient (an
 * equality mask, tiled), and its softmax kernel over N·D short rows is slow on wasm
 * (235 ms of a 4.8 s 64×64×3 step profiled with K = 1 on a loaded machine).
 */
const logSumExpRows = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const v = args[0] as tf.Tensor;
  const value = tf.logSumExp(v, 1);
  (args[1] as tf.GradSaveFunc)([v, value]);
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.expandDims(dy, 1), tf.exp(tf.sub(saved[0]!, tf.expandDims(saved[1]!, 1)))),
  };
}) as (v: tf.Tensor2D) => tf.Tensor1D;

/**
 * log P(x) of each component, [rows, K], for x [rows, 1] on the 1/255 grid: the
 * stable form described above.
 */
export function discretizedLogisticLogProbs(x: tf.Tensor2D, locations: tf.Tensor2D, logScales: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const inv = tf.exp(tf.neg(logScales));
    const centred = tf.sub(x, locations);
    const plus = tf.mul(inv, tf.add(centred, HALF_BIN));
    const minus = tf.mul(inv, tf.sub(centred, HALF_BIN));
    // softplus(−|a|) serves both forms: softplus(a) = max(a, 0) + softplus(−|a|).
    const absPlus = tf.abs(plus);
    const absMinus = tf.abs(minus);
    const tailPlus = tf.softplus(tf.neg(absPlus));
    const tailMinus = tf.softplus(tf.neg(absMinus));
    // Lowest bin: log σ(plus) = plus − softplus(plus); highest bin: log(1 − σ(minus)) = −softplus(minus).
    const logCdfPlus = tf.sub(tf.sub(plus, tf.relu(plus)), tailPlus);
    const logOneMinusCdfMinus = tf.neg(tf.add(tf.relu(minus), tailMinus));
    // Inner bins: log(σ(plus) − σ(minus)) by the identity above.
    const d = tf.mul(inv, HALF_BIN);
    const inner = tf.sub(tf.add(d, tf.log(tf.neg(tf.expm1(tf.mul(-2, d))))), tf.add(tf.mul(0.5, tf.add(absPlus, absMinus)), tf.add(tailPlus, tailMinus)));
    // 0/1 columns from the data alone, broadcast over the components: the edge bins replace the inner form.
    const lowest = tf.cast(tf.less(x, HALF_BIN), 'float32');
    const highest = tf.cast(tf.greater(x, 1 - HALF_BIN), 'float32');
    return tf.add(inner, tf.add(tf.mul(lowest, tf.sub(logCdfPlus, inner)), tf.mul(highest, tf.sub(logOneMinusCdfMinus, inner)))) as tf.Tensor2D;
  });
}

/** log p(x|z) per sub-pixel, [N, D]: log Σ_k π_k P_k(x). */
export function logisticMixturePixelLogLikelihood(x: tf.Tensor2D, output: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [n, pixels] = x.shape;
    // One component on wasm or cpu: the same formula and gradient in one pass (logistic-fused.ts).
    if (output.shape[1] === LOGISTIC_PARAMS * pixels && fusedLogisticAvailable()) return fusedLogisticPixelLogLikelihood(x, output, HALF_BIN, LOG_SCALE_MIN);
    const { logits, locations, logScales } = parts(output, pixels);
    const logProbs = discretizedLogisticLogProbs(tf.reshape(x, [n * pixels, 1]) as tf.Tensor2D, locations, logScales);
    // One component (the default): its weight is 1 and log Σ over one term is the term, exactly; the softmax and
    // log-sum-exp over N·D rows of length 1 were about 8 % of a 64×64×3 training step on wasm.
    if (logits.shape[1] === 1) return tf.reshape(logProbs, [n, pixels]) as tf.Tensor2D;
    return tf.reshape(logSumExpRows(tf.add(tf.logSoftmax(logits), logProbs) as tf.Tensor2D), [n, pixels]) as tf.Tensor2D;
  });
}

/**
 * The image shown for reconstructions and samples, [N, D]: the mixture's mean
 * Σ_k π_k μ_k (the mean of the undiscretized mixture; each μ_k is in (0, 1), so it is too).
 * The export's image head computes the same (src-shared/model-export/networks.ts).
 */
export function logisticMixtureMean(output: tf.Tensor2D, pixels: number): tf.Tensor2D {
  return tf.tidy(() => {
    const { logits, locations } = parts(output, pixels);
    return tf.reshape(tf.sum(tf.mul(tf.softmax(logits), locations), 1), [output.shape[0], pixels]) as tf.Tensor2D;
  });
}

/** Keeps a uniform draw strictly inside (0, 1), so its logit is finite. */
const EDGE = 1e-5;

/**
 * One draw per sub-pixel from one uniform u each: the component is the one whose
 * stretch of the cumulative weights holds u, and u's place within that stretch,
 * u' = (u − c_{k−1})/π_k, is again uniform and independent of the choice; then
 * x = μ_k + e^{s_k}·log(u'/(1 − u')), clipped to [0, 1] and rounded to the 1/255 grid.
 */
export function logisticMixtureSample(output: tf.Tensor2D, uniform: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [n, pixels] = uniform.shape;
    const { logits, locations, logScales } = parts(output, pixels);
    const K = logits.shape[1];
    const weights = tf.softmax(logits);
    const upperEdge = tf.cumsum(weights, 1);
    const u = tf.reshape(uniform, [n * pixels, 1]);
    // Component index: how many cumulative weights lie at or below u (the last one when rounding leaves u above all).
    const index = tf.minimum(tf.sum(tf.cast(tf.lessEqual(upperEdge, u), 'int32'), 1), tf.scalar(K - 1, 'int32')) as tf.Tensor1D;
    // One-hot rows by comparison (tf.oneHot refuses a depth of 1, the default K).
    const chosen = tf.cast(tf.equal(tf.expandDims(index, 1), tf.range(0, K, 1, 'int32')), 'float32');
    const pick = (t: tf.Tensor): tf.Tensor2D => tf.sum(tf.mul(chosen, t), 1, true) as tf.Tensor2D;
    const weight = pick(weights);
    const below = tf.sub(pick(upperEdge), weight);
    const inner = tf.clipByValue(tf.div(tf.sub(u, below), tf.maximum(weight, 1e-12)), EDGE, 1 - EDGE);
    const draw = tf.add(pick(locations), tf.mul(tf.exp(pick(logScales)), tf.sub(tf.log(inner), tf.log1p(tf.neg(inner)))));
    const level = tf.div(tf.round(tf.mul(tf.clipByValue(draw, 0, 1), 255)), 255);
    return tf.reshape(level, [n, pixels]) as tf.Tensor2D;
  });
}

/** The decoder likelihood of a logistic mixture; `pixels` is D, the sub-pixels of an image. */
export function logisticMixtureDecoder(pixels: number): DecoderLikelihood {
  return {
    kind: 'logistic',
    logLikelihood: (x, output) =>
      tf.tidy(() =>
        // One component on wasm or cpu: the sum over sub-pixels in the same pass (logistic-fused.ts).
        output.shape[1] === LOGISTIC_PARAMS * pixels && fusedLogisticAvailable()
          ? fusedLogisticLogLikelihood(x, output, HALF_BIN, LOG_SCALE_MIN)
          : tf.sum(logisticMixturePixelLogLikelihood(x, output), 1),
      ),
    mean: (output) => logisticMixtureMean(output, pixels),
    pixelLogLikelihood: logisticMixturePixelLogLikelihood,
    noise: 'uniform',
    sample: logisticMixtureSample,
  };
}
