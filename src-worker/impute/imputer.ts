import { ChainImputer } from './chain';
import { ImportanceImputer } from './importance';
import { OptimizeImputer } from './optimize';
import type { ImputeOptions, ImputeProblem, Imputer } from './problem';

/**
 * Missing-pixel imputation with a trained VAE: one method per file (chain.ts: pseudo-Gibbs
 * and Metropolis-within-Gibbs; importance.ts; optimize.ts), their common part in base.ts,
 * the problem and what a method answers in problem.ts.
 */
export type { ImputeDiagnostic, ImputeOptions, ImputeProblem, ImputeSnapshot, Imputer } from './problem';
export { DEFAULT_OPTIMIZE_LR, DEFAULT_PRIOR_SHARE } from './problem';

export function createImputer(problem: ImputeProblem, options: ImputeOptions): Imputer {
  switch (options.method) {
    case 'pseudo-gibbs':
      return new ChainImputer(problem, options, false);
    case 'metropolis':
      return new ChainImputer(problem, options, true);
    case 'importance':
      return new ImportanceImputer(problem, options);
    case 'optimize':
      return new OptimizeImputer(problem, options);
  }
}
