import type { FlowKind } from '@shared/config';
import { iafArchitecture, iafContext, iafHidden } from '@shared/model-export/architectures';
import { tf } from '../engine/tf';
import type { Rng } from '../engine/random';
import { buildModel } from './build';
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
 * on z_<j only (in the step's order; declared in src-shared/model-export/architectures.ts,
 * s including IAF_GATE_BIAS), then
 *   σ = sigmoid(s),  z ← σ ⊙ z + (1 − σ) ⊙ m,  log|det| = Σ_j log σ_j
 * (the Jacobian is triangular with diagonal σ). Odd steps use the reversed order, so
 * every dimension gets to depend on every other one.
 */
export { iafContext, iafHidden };

function createIaf(steps: number, latent: number, rng: Rng): PosteriorFlow {
  const model = buildModel(iafArchitecture(steps, latent), rng);
  return {
    kind: 'iaf',
    steps,
    extraOutputs: iafContext(latent),
    variables: model.variables,
    apply: (z0, context) =>
      tf.tidy(() => {
        let z = z0;
        let logDet = tf.zeros([z0.shape[0]]) as tf.Tensor1D;
        for (let k = 0; k < steps; k++) {
          const [m, gateInput] = model.run(`iaf_step${k}`, z0.shape[0], { z, h: context }, ['m', 's']) as [tf.Tensor2D, tf.Tensor2D];
          const sigma = tf.sigmoid(gateInput);
          z = tf.add(tf.mul(sigma, z), tf.mul(tf.sub(1, sigma), m)) as tf.Tensor2D;
          // log sigmoid(a) = −softplus(−a), exact where sigma underflows.
          logDet = tf.add(logDet, tf.sum(tf.neg(tf.softplus(tf.neg(gateInput))), 1)) as tf.Tensor1D;
        }
        return { z, logDet };
      }),
    dispose: () => model.dispose(),
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
