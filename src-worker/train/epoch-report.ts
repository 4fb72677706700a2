import { ACTIVE_DIM_KL as ACTIVE_KL_THRESHOLD } from '@shared/inference';
import { perplexity } from '../objectives/vq';
import type { EvalSums } from './trainer';

/**
 * Per-epoch evaluation figures from ELBO sums. Active units follow VAE-MATH.md's KL
 * definition: dim j is active when its KL_j, averaged over the evaluated images,
 * exceeds 0.01 nats (not Burda's Cov_x(E_q[z_j]) criterion).
 */
export { ACTIVE_KL_THRESHOLD };

export interface EpochEvaluation {
  /** `${prefix}_elbo`, _loss, _recon, _kl, _active_dims. */
  figures: Record<string, number>;
  /** Mean KL per latent dim, nats. */
  klPerDim: Float64Array;
  /** Latent dims by mean KL, largest first. */
  dimsByKl: number[];
  elbo: number;
}

export function summarizeEvaluation(sums: EvalSums, prefix: 'val' | 'train'): EpochEvaluation {
  const count = Math.max(1, sums.count);
  const elbo = (sums.logLikelihood - sums.kl) / count;
  const klPerDim = sums.klPerDim.map((v) => v / count);
  let active = 0;
  for (const v of klPerDim) if (v > ACTIVE_KL_THRESHOLD) active++;
  const dimsByKl = Array.from(klPerDim.keys()).sort((a, b) => klPerDim[b]! - klPerDim[a]! || a - b);
  return {
    figures: {
      [`${prefix}_elbo`]: elbo,
      [`${prefix}_loss`]: -elbo,
      [`${prefix}_recon`]: -sums.logLikelihood / count,
      [`${prefix}_kl`]: sums.kl / count,
      [`${prefix}_active_dims`]: active,
      // M2: the classifier's accuracy on the evaluated images.
      ...(sums.classified ? { [`${prefix}_accuracy`]: (sums.correct ?? 0) / sums.classified } : {}),
      // VQ-VAE: how evenly the codes are used (exp entropy) and how many are used at all.
      ...(sums.codeCounts
        ? { [`${prefix}_perplexity`]: perplexity(sums.codeCounts), [`${prefix}_codes_used`]: sums.codeCounts.filter((c) => c > 0).length }
        : {}),
    },
    klPerDim,
    dimsByKl,
    elbo,
  };
}

/** Metric name of dim j's KL (0-based), one point per epoch. */
export const klDimMetric = (j: number): string => `kl_dim_${j}`;
