import type { EncoderInput } from './config';
import type { RunSetting } from './families';

/**
 * Each run setting's name on screen, in one place: the train form's fields and their
 * error messages, the run page's settings, and the compare view's rows all say these
 * words. Short enough for a field label, whole enough to stand alone in a table row.
 * Typed over every key of the config, so a setting added without a name fails to compile.
 */
export const SETTING_LABELS: Record<RunSetting, string> = {
  architecture: 'Architecture',
  convArch: 'Conv architecture',
  convWidth: 'Conv width',
  convResBlocks: 'Residual blocks',
  convNorm: 'Normalisation',
  family: 'Family',
  flow: 'Posterior flow',
  flowSteps: 'Flow steps',
  labelFraction: 'Labels kept',
  classifierWeight: 'Classifier weight α',
  classifier: 'Classifier',
  codebookSize: 'Codebook size K',
  codeDim: 'Code dimensions',
  commitment: 'Commitment β',
  codebookDecay: 'Codebook EMA decay γ',
  priorEpochs: 'Prior epochs',
  codePositions: 'Code positions',
  codeGrid: 'Code grid',
  encoderInput: 'Encoder input',
  latent: 'Latent size',
  hidden: 'Hidden units',
  decoder: 'Decoder',
  gaussianSigma: 'Decoder σ',
  decoderVariance: 'Decoder variance',
  mixtureComponents: 'Mixture components K',
  objective: 'Objective',
  beta: 'KL weight β',
  klWarmupSteps: 'KL warm-up steps',
  freeBits: 'Free bits λ (nats/dim)',
  capacityMax: 'Capacity C_max (nats)',
  capacitySteps: 'Capacity steps',
  capacityGamma: 'Capacity weight γ',
  denoise: 'Denoising',
  denoiseSigma: 'Denoising noise σ',
  denoiseMaskProb: 'Denoising mask share',
  epochs: 'Epochs',
  batchSize: 'Batch size',
  learningRate: 'Learning rate',
  lrDecay: 'LR decay',
  lrDecayRate: 'LR decay factor',
  lrDecaySteps: 'LR decay steps',
  iwaeSamples: 'IWAE k',
  seed: 'Seed',
  validationFraction: 'Validation share',
  backend: 'Backend',
  threads: 'Threads',
};

/** The encoder input's values in words (the form's choice, the run page, the compare view); a run stored without the setting reads 'unit'. */
export const ENCODER_INPUT_NAMES: Record<EncoderInput, string> = {
  unit: 'Pixels in [0, 1] (not centred)',
  centred: 'Centred, 2x − 1',
};

/** "klWarmupSteps" → "Kl warmup steps": a readable stand-in for a key without a label (one a newer version stored). */
function words(key: string): string {
  const spaced = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/** A config key's name on screen; a key this version does not know is shown in words rather than not at all. */
export function settingLabel(key: string): string {
  return Object.hasOwn(SETTING_LABELS, key) ? SETTING_LABELS[key as RunSetting] : words(key);
}
