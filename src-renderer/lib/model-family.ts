import { modelFamilies, type ModelFamily, type ArchitectureKind, type RunConfig } from '@shared/config';
import { FAMILIES, familyOf, familyReads } from '@shared/families';

export { formatShare } from '@shared/families';

/** Each family's name, as the new-run form offers it and the run's configuration lists it. */
export const FAMILY_NAMES = Object.fromEntries(modelFamilies.map((f) => [f, FAMILIES[f].name])) as Record<ModelFamily, string>;

/** An architecture's name: the model's, and (same kinds) an M2 classifier's. */
export const ARCHITECTURE_NAMES: Record<ArchitectureKind, string> = { mlp: 'MLP', conv: 'Convolutional' };

export const familyOptions: readonly (readonly [ModelFamily, string])[] = modelFamilies.map((f) => [f, FAMILY_NAMES[f]] as const);

/**
 * A run's model family and posterior in a few words, for the run header and Compare:
 * null for the plain VAE with a Gaussian posterior (nothing to add).
 */
export function familyLabel(config: Pick<RunConfig, 'family' | 'flow' | 'flowSteps' | 'labelFraction' | 'codebookSize'>): string | null {
  const parts: string[] = [];
  const own = familyOf(config).summary(config);
  if (own !== null) parts.push(own);
  if (config.flow !== 'none' && familyReads(config, 'flow')) {
    parts.push(`${config.flow === 'iaf' ? 'IAF' : 'planar flow'} ×${config.flowSteps}`);
  }
  return parts.length > 0 ? parts.join(' · ') : null;
}

/** M2's classifier accuracy, e.g. "97.3 %", or "—". */
export function formatAccuracy(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : `${(value * 100).toFixed(1)} %`;
}
