import { runConfigObject } from './config';
import { FAMILIES, modelFamilies, ownerOf, type ModelFamily, type RunSetting } from './families';

/**
 * Every run setting in a sentence: the CLI's `train --help` lists them all from here,
 * beside what the schema says of each (type, range, choices, default). Typed over every
 * key of the config, so a setting added to the schema without words fails to compile.
 */
const DESCRIPTIONS: Record<RunSetting, string> = {
  architecture: 'Architecture: MLP, or convolutional',
  convArch: "Conv design: classic (2 stride-2 stages, sides a multiple of 4) or a scaled preset whose stages follow the image size",
  convWidth: 'Scaled conv: channels of the first stage, doubling per stage up to 8×',
  convResBlocks: 'Scaled conv: residual blocks at the deepest stage (encoder end, decoder start)',
  convNorm: 'Scaled conv: normalisation after each stride-2 convolution (layer: over each pixel\'s channels)',
  family: 'Model family: plain VAE, conditional VAE, semi-supervised M2, VQ-VAE',
  flow: 'Normalizing flow on the Gaussian posterior',
  flowSteps: 'Flow steps K (with a flow)',
  labelFraction: 'Share of the training labels kept; the rest train unlabelled',
  classifierWeight: 'Weight α of the labelled cross-entropy',
  classifier: "The classifier q(y|x): mlp, or conv (with architecture 'conv')",
  codebookSize: 'Codes K in the codebook',
  codeDim: 'Dimension of each code',
  commitment: 'Commitment weight β of ‖z_e − sg(e)‖²',
  codebookDecay: 'EMA decay γ of the codebook',
  priorEpochs: 'The last N epochs train the autoregressive prior over codes',
  codePositions: 'VQ-VAE with an MLP: code positions per image (conv: a grid that follows the image size)',
  codeGrid: 'VQ-VAE on a scaled conv: fine quantises at about 8×8 codes (the deepest stage with at least 7 a side), last at the deepest stage (4×4 at 64 px)',
  encoderInput: "What the encoder (and M2's classifier) reads: unit, the pixels in [0, 1], or centred, 2x − 1 in [−1, 1]; the decoder and the bound are the same",
  latent: 'Latent size: dimensions of the Gaussian latent z',
  hidden: 'Hidden units per layer',
  decoder: 'Decoder likelihood p(x|z): bernoulli (binary pixels), gaussian or logistic (8-bit pixels)',
  gaussianSigma: 'Gaussian decoder σ: fixed, or the starting value when learned',
  decoderVariance: 'Gaussian decoder variance: fixed σ, one learned σ, or one per pixel',
  mixtureComponents: 'Logistic decoder: mixture components K per sub-pixel',
  objective: 'Training objective: β-VAE / ELBO, or capacity annealing',
  beta: 'KL weight β (1 = plain ELBO)',
  klWarmupSteps: 'Steps over which the KL weight rises from 0 to β; 0 = off',
  freeBits: 'Free bits λ in nats per latent dim; 0 = off',
  capacityMax: 'Capacity objective: target KL C_max in nats',
  capacitySteps: 'Capacity objective: steps to reach C_max',
  capacityGamma: 'Capacity objective: weight γ of |KL − C|',
  denoise: 'Denoising: the encoder sees a corrupted copy',
  denoiseSigma: "Noise σ on pixels in [0, 1] (denoise 'gaussian')",
  denoiseMaskProb: "Share of pixels hidden from the encoder (denoise 'mask')",
  epochs: 'Epochs',
  batchSize: 'Images per optimizer step',
  learningRate: "Adam's step size",
  lrDecay: 'Learning-rate decay per optimizer step',
  lrDecayRate: 'Decay factor r',
  lrDecaySteps: 'Decay every (or over) N steps',
  iwaeSamples: 'Importance samples k per test image for the IWAE bound',
  seed: 'Random seed: same seed, same run',
  validationFraction: 'Only for datasets packed without a split: share held out for validation',
  backend: 'Compute backend',
  threads: 'Threads a training step is split across (data-parallel; reproducible per seed and thread count)',
};

/** What an optional setting without a schema default comes to when left out. */
const RESOLVED_DEFAULTS: Partial<Record<RunSetting, string>> = {
  classifierWeight: '0.1 · unlabelled / labelled images',
  classifier: 'mlp',
  codeGrid: 'fine for a new run; last for VQ runs stored before it',
  convArch: 'medium for a new conv run; classic for runs stored before presets',
  convWidth: "the preset's (small 8, medium 16, large 32)",
  convResBlocks: "the preset's (small 0, medium 1, large 2)",
  convNorm: "the preset's (small none, medium and large layer)",
  encoderInput: 'centred for a new scaled-conv run at 64 px and more (src-shared/training-proposal.ts), else unit; unit for runs stored before it',
  backend: 'the fastest that passes its self-check',
  threads: 'the physical cores, fewer when memory is short',
};

/** What a new run gets when a setting with a schema default (what stored configs without it mean) is left out, where that differs. */
const NEW_RUN_DEFAULTS: Partial<Record<RunSetting, string>> = {
  decoder: "the dataset's (bernoulli for binary pixels, logistic for 8-bit ones); bernoulli for runs stored without one",
  architecture: 'conv for a new run on images of 64 px and more (src-shared/training-proposal.ts), else mlp; mlp for runs stored without one',
};

export interface RunSettingInfo {
  key: RunSetting;
  description: string;
  kind: 'integer' | 'number' | 'choice';
  /** The values a choice takes. */
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** Whether the bound excludes the value itself (e.g. > 0). */
  minExclusive?: boolean;
  /** Absent for a setting without one (an optional setting the worker resolves). */
  defaultValue?: number | string;
  /** The default in words: the schema's, or what an optional setting resolves to. */
  defaultText: string;
  /** The family that alone reads this setting, or null when every family may. */
  family: ModelFamily | null;
  /** Families that do not read it (a VQ-VAE has no KL to weigh). */
  ignoredBy: ModelFamily[];
}

interface SchemaNode {
  def: { type: string; innerType?: SchemaNode; defaultValue?: unknown; entries?: Record<string, string>; checks?: SchemaCheck[] };
  minValue?: number | null;
  maxValue?: number | null;
  isInt?: boolean;
  options?: readonly string[];
}
interface SchemaCheck {
  _zod: { def: { check: string; value?: number; inclusive?: boolean } };
}

function describeSetting(key: RunSetting, node: SchemaNode): RunSettingInfo {
  const info: RunSettingInfo = { key, description: DESCRIPTIONS[key], kind: 'number', defaultText: RESOLVED_DEFAULTS[key] ?? '', family: ownerOf(key), ignoredBy: modelFamilies.filter((f) => FAMILIES[f].ignoredSettings.includes(key)) };
  let inner = node;
  while (inner.def.type === 'default' || inner.def.type === 'optional') {
    if (inner.def.type === 'default') {
      info.defaultValue = inner.def.defaultValue as number | string;
      info.defaultText = String(info.defaultValue);
    }
    inner = inner.def.innerType!;
  }
  if (inner.def.type === 'enum') {
    info.kind = 'choice';
    info.choices = inner.options ?? Object.values(inner.def.entries ?? {});
  } else if (inner.def.type === 'number') {
    info.kind = inner.isInt ? 'integer' : 'number';
    if (inner.minValue !== null && inner.minValue !== undefined && Number.isFinite(inner.minValue)) info.min = inner.minValue;
    if (inner.maxValue !== null && inner.maxValue !== undefined && Number.isFinite(inner.maxValue)) info.max = inner.maxValue;
    const lower = inner.def.checks?.find((c) => c._zod.def.check === 'greater_than');
    if (lower && lower._zod.def.inclusive === false) info.minExclusive = true;
  } else {
    // A boolean or text setting needs its own flag parsing in the CLI first.
    throw new Error(`run setting ${key}: no description for a schema of type ${inner.def.type}`);
  }
  if (info.defaultText === '') throw new Error(`run setting ${key}: optional without a default; say what it resolves to in RESOLVED_DEFAULTS`);
  info.defaultText = NEW_RUN_DEFAULTS[key] ?? info.defaultText;
  return info;
}

/**
 * A setting's name on the command line (and in sweep definitions, beside its own name):
 * kebab case (flowSteps → flow-steps), except the two shorter ones the CLI has always had.
 */
const SHORT_FLAGS: Partial<Record<RunSetting, string>> = { batchSize: 'batch', learningRate: 'lr' };
export const settingFlag = (key: RunSetting): string => SHORT_FLAGS[key] ?? key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Every run setting of the config schema, in its order, with what the schema says of it. */
export function runSettings(): RunSettingInfo[] {
  const shape = runConfigObject.shape as unknown as Record<RunSetting, SchemaNode>;
  return (Object.keys(shape) as RunSetting[]).map((key) => describeSetting(key, shape[key]));
}

/** A setting's accepted values in a few characters: "mlp|conv", "integer 1–512", "number > 0 … 1". */
export function settingRange(info: RunSettingInfo): string {
  if (info.kind === 'choice') return info.choices!.join('|');
  const n = (x: number): string => (Math.abs(x) >= 10_000 ? x.toLocaleString('en-US') : String(x));
  const low = info.min === undefined ? '' : info.minExclusive ? `> ${n(info.min)}` : n(info.min);
  const high = info.max === undefined ? '' : n(info.max);
  const range = low && high ? (info.minExclusive ? `${low}, ≤ ${high}` : `${low}–${high}`) : low || (high ? `≤ ${high}` : '');
  return range ? `${info.kind} ${range}` : info.kind;
}
