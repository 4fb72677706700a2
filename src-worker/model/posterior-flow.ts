import { IAF_GATE_BIAS, madeDegreeMasks } from '@shared/made-masks';
import type { FlowKind } from '@shared/config';
import { tf } from '../engine/tf';
import type { Rng } from '../engine/random';
import { ParamSet } from './params';
import { planarFlow, planarFlowParameters, type FlowResult } from '../objectives/planar-flow';

/**
 * A normalizing flow on the posterior sample, z_K = f(z_0), z_0 ~ q0(z|x) = N(μ, σ²):
 * log q(z_K|x) = log q0(z_0|x) − log|det ∂f/∂z_0|. The encoder gives each image
 * `extraOutputs` numbers the flow reads (planar: the steps' parameters; IAF: a context).
 */
export interface PosteriorFlow {
  readonly kind: Exclude<FlowKind, 'none'>;
  readonly steps: number;
  /** Encoder outputs per image the flow reads. */
  readonly extraOutputs: number;
  /** The flow's own weights (IAF), trained with the model; none for planar. */
  readonly variables: tf.Variable[];
  /** z0 [N, d] and the encoder's extra outputs [N, extraOutputs] → z_K and Σ log|det| per row. */
  apply(z0: tf.Tensor2D, extra: tf.Tensor2D): FlowResult;
  dispose(): void;
}

/**
 * Inverse autoregressive flow (Kingma et al. 2016), the numerically stable form: per
 * step a MADE over z with the encoder's context h gives (m, s) where m_j and s_j depend
 * on z_<j only (in the step's order), then
 *   σ = sigmoid(s + IAF_GATE_BIAS),  z ← σ ⊙ z + (1 − σ) ⊙ m,  log|det| = Σ_j log σ_j
 * (the Jacobian is triangular with diagonal σ). Odd steps use the reversed order, so
 * every dimension gets to depend on every other one.
 */
/** The context width h the encoder gives an IAF posterior, and its MADE's hidden width. */
export const iafContext = (latent: number): number => 2 * latent;
export const iafHidden = (latent: number): number => Math.min(256, Math.max(16, 4 * latent));

function createIaf(steps: number, latent: number, rng: Rng): PosteriorFlow {
  const d = latent;
  const c = iafContext(d);
  const h = iafHidden(d);
  const params = new ParamSet(rng, 'iaf');
  const layers = Array.from({ length: steps }, (_, k) => {
    const masks = madeDegreeMasks(d, h, k % 2 === 1);
    return {
      w1: params.dense(`step${k}/w1`, d, h, 'he'),
      c1: params.dense(`step${k}/c1`, c, h, 'he'),
      b1: params.bias(`step${k}/b1`, h),
      // Small output weights: each step starts close to z ← sigmoid(IAF_GATE_BIAS)·z, almost the identity.
      wm: params.dense(`step${k}/wm`, h, d, 'small'),
      bm: params.bias(`step${k}/bm`, d),
      ws: params.dense(`step${k}/ws`, h, d, 'small'),
      bs: params.bias(`step${k}/bs`, d),
      mask1: tf.tensor2d(masks.input, [d, h]),
      mask2: tf.tensor2d(masks.output, [h, d]),
    };
  });
  return {
    kind: 'iaf',
    steps,
    extraOutputs: c,
    variables: params.variables,
    apply: (z0, context) =>
      tf.tidy(() => {
        let z = z0;
        let logDet = tf.zeros([z0.shape[0]]) as tf.Tensor1D;
        for (const l of layers) {
          const hidden = tf.relu(tf.add(tf.add(tf.matMul(z, tf.mul(l.w1, l.mask1)), tf.matMul(context, l.c1)), l.b1));
          const w2 = (w: tf.Variable): tf.Tensor => tf.mul(w, l.mask2);
          const m = tf.add(tf.matMul(hidden, w2(l.wm)), l.bm);
          const gateInput = tf.add(tf.add(tf.matMul(hidden, w2(l.ws)), l.bs), IAF_GATE_BIAS);
          const sigma = tf.sigmoid(gateInput);
          z = tf.add(tf.mul(sigma, z), tf.mul(tf.sub(1, sigma), m)) as tf.Tensor2D;
          // log sigmoid(a) = −softplus(−a), exact where sigma underflows.
          logDet = tf.add(logDet, tf.sum(tf.neg(tf.softplus(tf.neg(gateInput))), 1)) as tf.Tensor1D;
        }
        return { z, logDet };
      }),
    dispose: () => {
      params.dispose();
      for (const l of layers) tf.dispose([l.mask1, l.mask2]);
    },
  };
}

/** The flow of a run's config, or null for a plain Gaussian posterior. */
export function createPosteriorFlow(kind: FlowKind, steps: number, latent: number, rng: Rng): PosteriorFlow | null {
  if (kind === 'none' || steps === 0) return null;
  if (kind === 'iaf') return createIaf(steps, latent, rng);
  return {
    kind: 'planar',
    steps,
    extraOutputs: planarFlowParameters(latent, steps),
    variables: [],
    apply: (z0, extra) => planarFlow(z0, extra, steps),
    dispose: () => undefined,
  };
}
