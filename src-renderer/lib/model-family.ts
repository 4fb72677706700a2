import { modelFamilies, type ModelFamily, type ModelKind, type RunConfig } from '@shared/config';

/** Each family's name, as the new-run form offers it and the run's configuration lists it. */
export const FAMILY_NAMES: Record<ModelFamily, string> = {
  vae: 'VAE',
  cvae: 'Conditional VAE (labels)',
  m2: 'Semi-supervised M2 (some labels)',
  vqvae: 'VQ-VAE (discrete codes)',
};

/** An architecture's name: the model's, and (same kinds) an M2 classifier's. */
export const ARCHITECTURE_NAMES: Record<ModelKind, string> = { mlp: 'MLP', conv: 'Convolutional' };

export const familyOptions: readonly (readonly [ModelFamily, string])[] = modelFamilies.map((f) => [f, FAMILY_NAMES[f]] as const);

/**
 * A run's model family and posterior in a few words, for the run header and Compare:
 * null for the plain VAE with a Gaussian posterior (nothing to add).
 */
export function familyLabel(config: Pick<RunConfig, 'family' | 'flow' | 'flowSteps' | 'labelFraction' | 'codebookSize'>): string | null {
  const parts: string[] = [];
  if (config.family === 'vqvae') parts.push(`VQ-VAE, ${config.codebookSize} codes`);
  if (config.family === 'cvae') parts.push('conditional');
  if (config.family === 'm2') parts.push(`M2, ${formatShare(config.labelFraction)} labels`);
  if (config.flow !== 'none' && config.family !== 'vqvae') parts.push(`${config.flow === 'iaf' ? 'IAF' : 'planar flow'} ×${config.flowSteps}`);
  return parts.length > 0 ? parts.join(' · ') : null;
}

/** 0.1 → "10 %", 0.005 → "0.5 %". */
export function formatShare(fraction: number): string {
  return `${+(fraction * 100).toPrecision(3)} %`;
}

/** M2's classifier accuracy, e.g. "97.3 %", or "—". */
export function formatAccuracy(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : `${(value * 100).toFixed(1)} %`;
}
