import type { RunConfig } from '../config';
import type { Dataset } from '../types';
import { cvae } from './cvae';
import type { FamilyDescriptor, RunSetting } from './descriptor';
import { m2 } from './m2';
import { vae } from './vae';
import { vqvae } from './vqvae';

export type { FamilyDescriptor, Refuse, RunSetting } from './descriptor';
export { formatShare } from './descriptor';

/** Every model family, one line each, in the order the form offers them. */
export const FAMILIES = {
  vae,
  cvae,
  m2,
  vqvae,
} as const satisfies Record<string, FamilyDescriptor>;

export type ModelFamily = keyof typeof FAMILIES;
export const modelFamilies = Object.keys(FAMILIES) as readonly ModelFamily[] as readonly [ModelFamily, ...ModelFamily[]];

/** The descriptor of a run's family. */
export const familyOf = (config: Pick<RunConfig, 'family'>): FamilyDescriptor => FAMILIES[config.family];

/** Which family owns a setting (only it reads it), or null for a setting every family shares. */
export function ownerOf(setting: RunSetting): ModelFamily | null {
  return modelFamilies.find((id) => FAMILIES[id].ownSettings.includes(setting)) ?? null;
}

/** Whether a family reads a setting at all: not one it ignores, nor one another family owns. */
export function familyReads(config: Pick<RunConfig, 'family'>, setting: RunSetting): boolean {
  const owner = ownerOf(setting);
  return !familyOf(config).ignoredSettings.includes(setting) && (owner === null || owner === config.family);
}

/** The choices that decide which settings a run reads. */
export type SettingChoices = Pick<RunConfig, 'family' | 'architecture' | 'flow' | 'decoder' | 'objective' | 'denoise' | 'lrDecay' | 'convArch'>;

/**
 * Whether a run with these choices reads `setting`. A setting it does not read is not
 * shown by the form, not sent, and keeps its default: its family may ignore it, another
 * family may own it, or another choice may make it meaningless (σ for a Bernoulli
 * decoder, warm-up under capacity annealing, decay figures with no decay).
 */
export function settingApplies(setting: RunSetting, choices: SettingChoices): boolean {
  if (!familyReads(choices, setting)) return false;
  const capacity = choices.objective === 'capacity' && familyReads(choices, 'objective');
  switch (setting) {
    case 'flowSteps':
      return choices.flow !== 'none';
    case 'codePositions':
      return choices.architecture === 'mlp';
    case 'gaussianSigma':
    case 'decoderVariance':
      return choices.decoder === 'gaussian';
    case 'mixtureComponents':
      return choices.decoder === 'logistic';
    case 'beta':
    case 'klWarmupSteps':
    case 'freeBits':
      return !capacity;
    case 'capacityMax':
    case 'capacitySteps':
    case 'capacityGamma':
      return capacity;
    case 'denoiseSigma':
      return choices.denoise === 'gaussian';
    case 'denoiseMaskProb':
      return choices.denoise === 'mask';
    case 'lrDecayRate':
    case 'lrDecaySteps':
      return choices.lrDecay !== 'none';
    case 'convArch':
      return choices.architecture === 'conv';
    case 'convWidth':
    case 'convResBlocks':
    case 'convNorm':
    case 'codeGrid':
      return choices.architecture === 'conv' && (choices.convArch ?? 'classic') !== 'classic';
    default:
      return true;
  }
}

/** The refinements every family's configs go through, then the family's own. */
export function refineForFamily(config: RunConfig, refuse: (setting: RunSetting, message: string) => void): void {
  for (const id of modelFamilies) {
    if (id === config.family) continue;
    for (const setting of FAMILIES[id].exclusiveSettings ?? []) {
      if (config[setting] !== undefined) refuse(setting, `only family '${id}' has a ${setting} setting`);
    }
  }
  familyOf(config).refine?.(config, refuse);
}

/** What a family's label check reads of a dataset. */
export type LabelledDataset = { settings: Pick<Dataset['settings'], 'labels'> } & Partial<Pick<Dataset, 'labels'>>;

/**
 * Why this family cannot train on this dataset's labels, or null (the worker also checks
 * that every image has one).
 */
export function labelsBlocker(choices: Pick<RunConfig, 'family'>, dataset: LabelledDataset): string | null {
  if (familyOf(choices).labels === 'none') return null;
  if (!dataset.settings.labels) {
    return 'This dataset was imported without labels; conditional and semi-supervised models need subfolders as labels. Re-import it with labels, or train a plain VAE.';
  }
  if (dataset.labels !== undefined && dataset.labels.length < 2) {
    return `Conditional and semi-supervised models need at least 2 labels; this dataset has ${dataset.labels.length}.`;
  }
  return null;
}

/** A family whose latent is a grid of discrete codes (VQ-VAE): code charts, prior samples, codebook figures. */
export const hasCodes = (config: Pick<RunConfig, 'family'>): boolean => familyOf(config).engine === 'codes';

/**
 * What a model card and an export record as the latent's width: a Gaussian latent's
 * size, or a VQ-VAE's code positions (an MLP's; a conv grid follows the image size).
 */
export const latentWidthOf = (config: Pick<RunConfig, 'family' | 'latent' | 'codePositions'>): number =>
  hasCodes(config) ? config.codePositions : config.latent;

/** A family that keeps only some labels and infers the others with a classifier (M2): test accuracy, inferred classes. */
export const infersLabels = (config: Pick<RunConfig, 'family'>): boolean => familyOf(config).labels === 'some';
