import {
  LIMITS,
  classifierKindOf,
  classifierKinds,
  decoderKinds,
  decoderVariances,
  defaultRunConfig,
  denoiseKinds,
  encoderInputOf,
  encoderInputs,
  flowKinds,
  lrDecayKinds,
  modelFamilies,
  architectureKinds,
  objectiveKinds,
  runConfigSchema,
  type ClassifierKind,
  type DecoderKind,
  type DecoderVariance,
  type DenoiseKind,
  type EncoderInput,
  type FlowKind,
  type LrDecayKind,
  type ModelFamily,
  type ArchitectureKind,
  type ObjectiveKind,
  type RunConfig,
} from '@shared/config';
import {
  CONV_PRESETS,
  DEFAULT_CODE_GRID,
  DEFAULT_CONV_PRESET,
  convArchitectures,
  convDesignOf,
  convFits,
  convMisfit,
  convNorms,
  convPlan,
  type ConvArchitecture,
  type ConvDesign,
  type ConvNorm,
} from '@shared/conv';
import { CONV_BENCH, measuredSpeed } from '@shared/conv-bench';
import { modelParameterCount, runSizeSpec, trainingBytes } from '@shared/model-size';
import { familyOf, labelsBlocker, settingApplies, type LabelledDataset, type RunSetting } from '@shared/families';
import type { Dataset, ImportStats } from '@shared/types';
import { likelihoodCaveat, pixelLevelsOf, suggestDecoder } from '@shared/likelihood';
import { ENCODER_INPUT_NAMES, SETTING_LABELS } from '@shared/setting-labels';
import { ARCHITECTURE_NAMES } from './model-family';
import { proposeArchitecture, proposeEncoderInput } from '@shared/training-proposal';

/**
 * The new-run form as the inputs hold it: number inputs give `null` when empty, so
 * nothing here is trusted until `validateRunForm` says so.
 */
export interface RunFormValues {
  name: string;
  datasetId: number | null;
  architecture: ArchitectureKind;
  /** The conv design; shown and sent only with architecture 'conv'. */
  convArch: ConvArchitecture;
  convWidth: number | null;
  convResBlocks: number | null;
  convNorm: ConvNorm;
  family: ModelFamily;
  flow: FlowKind;
  flowSteps: number | null;
  /** M2: share of training labels kept, as a percentage (1 = 1 %). */
  labelPercent: number | null;
  /** M2's α; empty = the default 0.1 · unlabelled / labelled. */
  classifierWeight: number | null;
  /** M2's classifier; a conv one only with the conv model. */
  classifier: ClassifierKind;
  codebookSize: number | null;
  codeDim: number | null;
  commitment: number | null;
  codebookDecay: number | null;
  priorEpochs: number | null;
  codePositions: number | null;
  latent: number | null;
  hidden: number | null;
  /** What the encoder reads: a clone keeps its run's (a run stored without it: 'unit'); a new run follows the proposal (proposedTraining). */
  encoderInput: EncoderInput;
  decoder: DecoderKind;
  gaussianSigma: number | null;
  decoderVariance: DecoderVariance;
  /** Logistic decoder: mixture components K per sub-pixel. */
  mixtureComponents: number | null;
  objective: ObjectiveKind;
  beta: number | null;
  klWarmupSteps: number | null;
  freeBits: number | null;
  capacityMax: number | null;
  capacitySteps: number | null;
  capacityGamma: number | null;
  denoise: DenoiseKind;
  denoiseSigma: number | null;
  denoiseMaskProb: number | null;
  epochs: number | null;
  batchSize: number | null;
  learningRate: number | null;
  lrDecay: LrDecayKind;
  lrDecayRate: number | null;
  lrDecaySteps: number | null;
  iwaeSamples: number | null;
  seed: number | null;
}

export type RunFormField = keyof RunFormValues;

/** A setting field's label, which its error messages also name it by: the setting's own words (src-shared/setting-labels.ts), with the form's unit where the form asks in another. */
export function formFieldLabel(field: Exclude<RunFormField, 'name' | 'datasetId'>): string {
  return field === 'labelPercent' ? `${SETTING_LABELS.labelFraction} (%)` : SETTING_LABELS[field];
}

/** The run settings the form holds under their own names (labelFraction is labelPercent here). */
const FORM_SETTINGS = [
  'architecture', 'convArch', 'convWidth', 'convResBlocks', 'convNorm', 'family', 'flow', 'flowSteps', 'classifierWeight', 'classifier', 'codebookSize', 'codeDim', 'commitment',
  'codebookDecay', 'priorEpochs', 'codePositions', 'latent', 'hidden', 'encoderInput', 'decoder', 'gaussianSigma', 'decoderVariance', 'mixtureComponents', 'objective', 'beta',
  'klWarmupSteps', 'freeBits', 'capacityMax', 'capacitySteps', 'capacityGamma', 'denoise', 'denoiseSigma', 'denoiseMaskProb',
  'epochs', 'batchSize', 'learningRate', 'lrDecay', 'lrDecayRate', 'lrDecaySteps', 'iwaeSamples', 'seed',
] as const satisfies readonly (RunSetting & RunFormField)[];
// Every form field but these three is a run setting of the same name: a new one must be listed above.
const formSettingsComplete: Exclude<RunFormField, 'name' | 'datasetId' | 'labelPercent' | (typeof FORM_SETTINGS)[number]> extends never ? true : never = true;
void formSettingsComplete;
export type RunFormErrors = Partial<Record<RunFormField, string>>;

/** The choice fields and what each may hold: stored or cloned values are checked against these. */
const choices = {
  architecture: architectureKinds,
  convArch: convArchitectures,
  convNorm: convNorms,
  family: modelFamilies,
  flow: flowKinds,
  classifier: classifierKinds,
  encoderInput: encoderInputs,
  decoder: decoderKinds,
  decoderVariance: decoderVariances,
  objective: objectiveKinds,
  denoise: denoiseKinds,
  lrDecay: lrDecayKinds,
} as const satisfies Partial<Record<RunFormField, readonly string[]>>;

/** The form showing `config` (a clone, or the defaults). */
export function runFormFrom(config: RunConfig, datasetId: number | null, name = ''): RunFormValues {
  // A conv config without an architecture is classic (stored before presets); any other starts from the default preset.
  const convArch = config.convArch ?? (config.architecture === 'conv' ? 'classic' : DEFAULT_CONV_PRESET);
  const preset = CONV_PRESETS[convArch === 'classic' ? DEFAULT_CONV_PRESET : convArch];
  return {
    name,
    datasetId,
    architecture: config.architecture,
    convArch,
    convWidth: config.convWidth ?? preset.width,
    convResBlocks: config.convResBlocks ?? preset.resBlocks,
    convNorm: config.convNorm ?? preset.norm,
    family: config.family,
    flow: config.flow,
    flowSteps: config.flowSteps,
    labelPercent: +(config.labelFraction * 100).toPrecision(6),
    classifierWeight: config.classifierWeight ?? null,
    classifier: classifierKindOf(config),
    codebookSize: config.codebookSize,
    codeDim: config.codeDim,
    commitment: config.commitment,
    codebookDecay: config.codebookDecay,
    priorEpochs: config.priorEpochs,
    codePositions: config.codePositions,
    latent: config.latent,
    hidden: config.hidden,
    encoderInput: encoderInputOf(config),
    decoder: config.decoder,
    gaussianSigma: config.gaussianSigma,
    decoderVariance: config.decoderVariance,
    mixtureComponents: config.mixtureComponents,
    objective: config.objective,
    beta: config.beta,
    klWarmupSteps: config.klWarmupSteps,
    freeBits: config.freeBits,
    capacityMax: config.capacityMax,
    capacitySteps: config.capacitySteps,
    capacityGamma: config.capacityGamma,
    denoise: config.denoise,
    denoiseSigma: config.denoiseSigma,
    denoiseMaskProb: config.denoiseMaskProb,
    epochs: config.epochs,
    batchSize: config.batchSize,
    learningRate: config.learningRate,
    lrDecay: config.lrDecay,
    lrDecayRate: config.lrDecayRate,
    lrDecaySteps: config.lrDecaySteps,
    iwaeSamples: config.iwaeSamples,
    seed: config.seed,
  };
}

export function defaultRunForm(datasetId: number | null): RunFormValues {
  return runFormFrom(defaultRunConfig(), datasetId);
}

/** The encoder input's choices as the form names them. */
export const ENCODER_INPUT_OPTIONS = encoderInputs.map((input) => [input, ENCODER_INPUT_NAMES[input]] as const);

/**
 * The line under the encoder input: what the proposal is for this dataset and model and
 * why, or, for the other choice, what it means with the proposal named beside it.
 */
export function encoderInputNote(input: EncoderInput, proposal: Pick<FormTrainingProposal, 'encoderInput' | 'encoderInputReason'>): string {
  if (input === proposal.encoderInput) return proposal.encoderInputReason;
  const chosen = input === 'centred' ? 'Centred (chosen): the encoder reads 2x − 1; decoder and bound are unchanged.' : 'Not centred (chosen): the encoder reads pixels in [0, 1].';
  return `${chosen} Proposed here: ${ENCODER_INPUT_NAMES[proposal.encoderInput].toLowerCase()} — ${proposal.encoderInputReason}`;
}

const range = (r: { min: number; max: number }): string => `${r.min}–${r.max.toLocaleString('en-US')}`;

/** Hints shown under the fields; the same LIMITS the core enforces. */
export const runFormHints: Partial<Record<RunFormField, string>> = {
  convWidth: 'Channels of the first stage, doubling per stage up to 8×',
  convResBlocks: 'At the deepest stage (encoder end, decoder start)',
  latent: range(LIMITS.latent),
  codePositions: `Codes per image, ${range(LIMITS.latent)}; a conv model's grid follows the image size`,
  flowSteps: `Flow steps K, ${range(LIMITS.flowSteps)}`,
  labelPercent: 'Training labels kept, % (e.g. 1 or 10); the rest train unlabelled',
  classifierWeight: 'Weight α of the labelled cross-entropy; empty: 0.1 · unlabelled / labelled',
  codebookSize: `Codes K, ${range(LIMITS.codebookSize)}`,
  codeDim: `Dimension of each code, ${range(LIMITS.codeDim)}`,
  mixtureComponents: `Logistics per sub-pixel, ${range(LIMITS.mixtureComponents)}`,
  commitment: 'β of ‖z_e − sg(e)‖², 0.25 in the paper',
  codebookDecay: 'EMA decay γ of the codebook, e.g. 0.99',
  priorEpochs: 'The last N epochs train the prior over codes',
  epochs: range(LIMITS.epochs),
  batchSize: range(LIMITS.batchSize),
  learningRate: `${LIMITS.learningRate.min}–${LIMITS.learningRate.max}`,
  iwaeSamples: `Test-bound samples per image, ${range(LIMITS.iwaeSamples)}`,
  klWarmupSteps: 'Steps for β to rise from 0; 0 = off',
  freeBits: 'Nats per dim, 0–10; 0 = off',
  capacityMax: 'Target KL C_max in nats',
  capacitySteps: 'Steps to reach C_max',
  capacityGamma: 'Weight γ of |KL − C|',
  denoiseSigma: 'Noise σ on pixels in [0, 1]',
  denoiseMaskProb: 'Share of pixels hidden, < 0.95',
  lrDecayRate: 'Factor r, 0–1',
  lrDecaySteps: 'Every N steps',
};

function integerIn(value: number | null, label: string, r: { min: number; max: number }): string | null {
  if (value === null || !Number.isFinite(value)) return `${label} is required.`;
  if (!Number.isInteger(value)) return `${label} must be a whole number.`;
  if (value < r.min || value > r.max) return `${label} must be between ${r.min} and ${r.max.toLocaleString('en-US')}.`;
  return null;
}

function numberIn(value: number | null, label: string, r: { min: number; max: number }): string | null {
  if (value === null || !Number.isFinite(value)) return `${label} is required.`;
  if (value < r.min || value > r.max) return `${label} must be between ${r.min} and ${r.max}.`;
  return null;
}

/** Words for zod's issues on fields that have no LIMITS entry (hidden, β, σ, schedules…). */
function describeIssue(issue: { code: string; message: string; minimum?: unknown; maximum?: unknown; inclusive?: boolean }): string {
  if (issue.code === 'too_small') return `Must be ${issue.inclusive === false ? 'greater than' : 'at least'} ${String(issue.minimum)}.`;
  if (issue.code === 'too_big') return `Must be at most ${String(issue.maximum)}.`;
  if (issue.code === 'invalid_type') return 'Enter a number.';
  if (issue.code === 'invalid_value' || issue.code === 'invalid_enum_value') return 'Pick one of the listed options.';
  return issue.message.charAt(0).toUpperCase() + issue.message.slice(1);
}

/**
 * What the form knows of the chosen dataset: enough to check the model against it, and
 * (stats.pixelLevels, absent on datasets imported before it) whether its pixels are binary.
 */
export type FormDataset = Pick<Dataset, 'width' | 'height' | 'channels' | 'settings'> & { stats?: Pick<ImportStats, 'pixelLevels'> } & LabelledDataset;

/** Whether the run these values describe reads `setting` (the form shows and sends only those). */
export function applies(setting: RunSetting, values: RunFormValues): boolean {
  return settingApplies(setting, values);
}

export interface ValidatedRunForm {
  errors: RunFormErrors;
  /** Present only when there are no errors. */
  config: RunConfig | null;
}

/**
 * Checks the form and builds the config the core gets. Settings that a choice makes
 * meaningless (σ for a Bernoulli decoder, warm-up under capacity annealing, decay
 * figures with no decay) are left at their defaults rather than sent: they are not on
 * screen, so they must neither fail validation nor end up in the stored config.
 */
export function validateRunForm(values: RunFormValues, dataset: FormDataset | null = null): ValidatedRunForm {
  const errors: RunFormErrors = {};
  const put = (field: RunFormField, message: string | null): void => {
    if (message && !errors[field]) errors[field] = message;
  };

  if (values.datasetId === null) put('datasetId', 'Choose a dataset to train on.');
  if (values.name.trim().length > LIMITS.nameLength) put('name', `Keep the name under ${LIMITS.nameLength} characters.`);
  const misfit = dataset && values.architecture === 'conv' ? convMisfit(dataset, formConvDesign(values)) : null;
  if (misfit) put('architecture', `The convolutional ${misfit.replace(/^architecture 'conv' /, 'model ')} Use the MLP.`);
  if (dataset) put('family', labelsBlocker(values, dataset));
  if (applies('labelFraction', values)) put('labelPercent', numberIn(values.labelPercent, SETTING_LABELS.labelFraction, { min: 0.01, max: 100 }));
  if (applies('flowSteps', values)) put('flowSteps', integerIn(values.flowSteps, SETTING_LABELS.flowSteps, LIMITS.flowSteps));
  if (applies('latent', values)) put('latent', integerIn(values.latent, SETTING_LABELS.latent, LIMITS.latent));
  if (applies('codePositions', values)) put('codePositions', integerIn(values.codePositions, SETTING_LABELS.codePositions, LIMITS.latent));
  put('epochs', integerIn(values.epochs, SETTING_LABELS.epochs, LIMITS.epochs));
  put('batchSize', integerIn(values.batchSize, SETTING_LABELS.batchSize, LIMITS.batchSize));
  put('learningRate', numberIn(values.learningRate, SETTING_LABELS.learningRate, LIMITS.learningRate));
  put('iwaeSamples', integerIn(values.iwaeSamples, SETTING_LABELS.iwaeSamples, LIMITS.iwaeSamples));

  // Only what the chosen family and options read is sent (see settingApplies).
  const candidate: Record<string, unknown> = {};
  for (const setting of FORM_SETTINGS) if (applies(setting, values)) candidate[setting] = values[setting];
  if (applies('labelFraction', values) && values.labelPercent !== null) candidate['labelFraction'] = values.labelPercent / 100;
  // Empty means the default α, which depends on the split; an empty conv figure, the preset's.
  if (values.classifierWeight === null) delete candidate['classifierWeight'];
  for (const field of ['convWidth', 'convResBlocks'] as const) if (values[field] === null) delete candidate[field];
  // Not centred is what a config without the field means: a clone of a run stored before it is sent as it was stored.
  if (values.encoderInput === 'unit') delete candidate['encoderInput'];
  // Only a conv model offers a conv classifier.
  if (applies('classifier', values) && values.architecture !== 'conv') candidate['classifier'] = 'mlp';

  const parsed = runConfigSchema.safeParse(candidate);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = issue.path[0];
      if (typeof field === 'string' && field in values) put(field as RunFormField, describeIssue(issue as Parameters<typeof describeIssue>[0]));
    }
  }

  const ok = Object.keys(errors).length === 0 && parsed.success;
  return { errors, config: ok ? parsed.data : null };
}

/** The conv design the form describes (null: classic); unset numbers take the preset's. */
export function formConvDesign(values: Pick<RunFormValues, 'architecture' | 'convArch' | 'convWidth' | 'convResBlocks' | 'convNorm'>): ConvDesign {
  return convDesignOf({
    architecture: values.architecture,
    convArch: values.convArch,
    convWidth: values.convWidth ?? undefined,
    convResBlocks: values.convResBlocks ?? undefined,
    convNorm: values.convNorm,
  });
}

/** What one conv architecture costs on the chosen dataset, for the form's preset chooser. */
export interface ConvChoiceFigures {
  arch: ConvArchitecture;
  /** Stride-2 stages at this image size. */
  stages: number;
  params: number;
  /** Lower bound of one training step's memory at the form's batch size (the worker refuses by the same estimate). */
  memoryBytes: number;
  /** img/s measured by `npm run bench:arch` at the nearest measured size (see CONV_BENCH.machine), or null. */
  speed: { imagesPerSec: number; side: number } | null;
  /** Why it cannot take this dataset, or null. */
  misfit: string | null;
}

/**
 * Parameters, training memory and measured speed of every conv architecture for the
 * dataset and the form's model: latent, hidden, batch size, and what changes the size
 * (the decoder's head — a logistic mixture's 3·K outputs per sub-pixel —, a learned
 * variance, a flow, a conditional family's labels, M2's classifier and its pass per
 * class), by the rule the worker's memory check uses (@shared/model-size runSizeSpec).
 * The scaled presets use their own settings, the chosen one the form's width, blocks and
 * norm. The img/s are measured (a plain VAE's, see convBenchSource).
 */
export function convChoiceFigures(values: RunFormValues, dataset: Pick<Dataset, 'width' | 'height' | 'channels'> & Partial<Pick<Dataset, 'labels'>>): ConvChoiceFigures[] {
  const image = { width: dataset.width, height: dataset.height, channels: dataset.channels === 3 ? (3 as const) : (1 as const) };
  const defaults = defaultRunConfig();
  const batch = values.batchSize ?? defaults.batchSize;
  const model = {
    family: values.family,
    latent: values.latent ?? defaults.latent,
    hidden: values.hidden ?? defaults.hidden,
    flow: values.flow,
    flowSteps: values.flowSteps ?? defaults.flowSteps,
    decoder: values.decoder,
    mixtureComponents: values.mixtureComponents ?? defaults.mixtureComponents,
    decoderVariance: values.decoderVariance,
    classifier: values.classifier,
  };
  const classes = dataset.labels?.length ?? 0;
  return convArchitectures.map((arch) => {
    const design = arch === values.convArch ? formConvDesign(values) : arch === 'classic' ? null : CONV_PRESETS[arch];
    const misfit = convMisfit(image, design);
    const preset = design === null ? { convArch: 'classic' as const } : { convArch: arch, convWidth: design.width, convResBlocks: design.resBlocks, convNorm: design.norm };
    const { spec, passes } = runSizeSpec({ architecture: 'conv', ...model, ...preset }, image, classes);
    // A new VQ-VAE quantises at its 'fine' code grid: fewer stages than the Gaussian model's.
    const stages = design === null ? 2 : convPlan({ ...design, ...(values.family === 'vqvae' && { codes: DEFAULT_CODE_GRID }) }, image).channels.length;
    return {
      arch,
      stages,
      params: misfit ? 0 : modelParameterCount(spec),
      memoryBytes: misfit ? 0 : trainingBytes(spec, batch, passes),
      speed: measuredSpeed(arch, Math.min(image.width, image.height)),
      misfit,
    };
  });
}

/**
 * Where the measured speeds come from, in a line; with the form's choices, also when they
 * are not this run's: the bench trains a plain VAE with a Gaussian decoder.
 */
export function convBenchSource(values?: Pick<RunFormValues, 'family' | 'decoder' | 'flow'>): string {
  if (CONV_BENCH.rows.length === 0) return 'No speeds measured yet: run npm run bench:arch.';
  const line = `img/s: training, RGB, batch ${CONV_BENCH.batch}, measured by npm run bench:arch on ${CONV_BENCH.machine} (${CONV_BENCH.measured}, load average ${CONV_BENCH.loadAverage}).`;
  if (values === undefined) return line;
  const differs = [
    values.family !== 'vae' ? familyOf(values).shortName : null,
    values.decoder !== 'gaussian' ? `the ${values.decoder} decoder` : null,
    values.family !== 'vqvae' && values.flow !== 'none' ? `a ${values.flow} flow` : null,
  ].filter((x): x is string => x !== null);
  return differs.length === 0
    ? line
    : `${line} The img/s are a plain VAE's with a Gaussian decoder, not this run's (${differs.join(', ')}); parameters and memory are this run's.`;
}

/** Gaussian decoder with fixed σ: the reconstruction term is MSE · 1/(2σ²). */
export function mseScale(sigma: number | null): number | null {
  return sigma !== null && Number.isFinite(sigma) && sigma > 0 ? 1 / (2 * sigma * sigma) : null;
}

export interface DatasetSuggestion {
  decoder: DecoderKind;
  /** Set when the dataset cannot take the current model. */
  architecture?: ArchitectureKind;
  /** Why, in a line under the decoder. */
  reason: string;
}

/**
 * Defaults that fit a dataset: the decoder its pixels call for (src-shared/likelihood.ts:
 * Bernoulli for binary pixels, the discretized logistic mixture for 8-bit grey or RGB),
 * and the MLP when the size does not suit the conv stack.
 */
export function suggestForDataset(dataset: FormDataset, architecture: ArchitectureKind, design: ConvDesign = null): DatasetSuggestion {
  // The form's conv design is what a conv model would train with, whichever model is chosen now.
  const model = proposeArchitecture(dataset)?.architecture ?? architecture;
  const next = model === 'conv' && !convFits(dataset, design) ? 'mlp' : model;
  return { ...suggestDecoder(dataset), ...(next !== architecture && { architecture: next }) };
}

/**
 * The line under the model choice where a model is proposed for these images
 * (src-shared/training-proposal.ts): why, or, with the other chosen, what is proposed.
 * Null: nothing is proposed (below 64 px, or no dataset yet).
 */
export function architectureNote(dataset: Pick<FormDataset, 'width' | 'height'> | null, architecture: ArchitectureKind): string | null {
  const proposal = proposeArchitecture(dataset);
  if (!proposal) return null;
  const name = ARCHITECTURE_NAMES[proposal.architecture].toLowerCase();
  if (proposal.architecture === architecture) return `The ${name} model is proposed for these images. ${proposal.reason}`;
  return `${ARCHITECTURE_NAMES[architecture]} (chosen). Proposed here: the ${name} model. ${proposal.reason}`;
}

/** What the form proposes for a new run (src-shared/training-proposal.ts), and why. */
export interface FormTrainingProposal {
  /** What the encoder is proposed to read for this dataset and model, and why (shown under the choice). */
  encoderInput: EncoderInput;
  encoderInputReason: string;
}

/**
 * The proposal for these settings on this dataset (none known yet: the schema's meaning).
 * The conv stages' norm and Adam's step size are the preset's and the schema's: nothing
 * else is proposed (training-proposal.ts says why).
 */
export function proposedTraining(dataset: Pick<FormDataset, 'width' | 'height'> | null, values: Pick<RunFormValues, 'architecture' | 'convArch' | 'family'>): FormTrainingProposal {
  const input = proposeEncoderInput(dataset, { architecture: values.architecture, convArch: values.convArch, family: values.family });
  return { encoderInput: input.encoderInput, encoderInputReason: input.reason };
}

/**
 * The value a field shows once what is proposed for it moves from `before` to `after`
 * (another dataset, model or preset): the new proposal while the field still shows the old
 * one, else what the user chose, which is theirs to keep.
 */
export function followProposal<T>(current: T, before: T, after: T): T {
  return current === before ? after : current;
}

/** The decoders as the form names them. */
export const DECODER_NAMES: Record<DecoderKind, string> = {
  bernoulli: 'Bernoulli',
  gaussian: 'Gaussian',
  logistic: 'Logistic mixture',
};

/** What each decoder's test NLL is, in a sentence under the choice. */
const DECODER_MEANING: Record<DecoderKind, string> = {
  bernoulli: 'Bernoulli: the probability of pixels that are 0 or 1. Images show p.',
  gaussian:
    'Gaussian density on dequantized pixels (x·255 + u)/256: test NLL adds D·ln 256, a bound on the 8-bit likelihood in bits/dim on the 0–255 scale. Images show the mean.',
  logistic:
    'Discretized logistic mixture (Salimans 2017): K logistics per sub-pixel, cut at the 256 levels. Bits/dim on the 0–255 scale, uniform = 8. Images show the mixture mean Σ π_k μ_k.',
};

export interface DecoderExplanation {
  /** Why the default for this dataset is what it is (and which it is, when another is chosen). */
  why: string | null;
  /** What the chosen decoder's test NLL means. */
  meaning: string;
  /** Set when the chosen decoder's NLL is not a likelihood of this dataset (Bernoulli on 8-bit pixels). */
  caveat: string | null;
}

/** The words under the decoder choice, for the chosen dataset (null: none chosen). */
export function explainDecoder(decoder: DecoderKind, dataset: FormDataset | null, architecture: ArchitectureKind): DecoderExplanation {
  const suggestion = dataset ? suggestForDataset(dataset, architecture) : null;
  const why = suggestion === null ? null : suggestion.decoder === decoder ? suggestion.reason : `Suggested: ${DECODER_NAMES[suggestion.decoder]}. ${suggestion.reason}`;
  return { why, meaning: DECODER_MEANING[decoder], caveat: dataset ? likelihoodCaveat(decoder, pixelLevelsOf(dataset)) : null };
}

const LAST_FORM_KEY = 'vae-studio.lastRunForm';

/** The settings of the last run started in a project, so the next one starts from them. */
export function rememberRunForm(projectId: number, values: RunFormValues): void {
  try {
    localStorage.setItem(`${LAST_FORM_KEY}.${projectId}`, JSON.stringify({ ...values, name: '' }));
  } catch {
    // Storage may be full or disabled; the form then starts from the defaults.
  }
}

/** Keeps only values of the right type and choice: stored data is not trusted, only pre-filled. */
export function sanitizeRunForm(stored: unknown): RunFormValues {
  const defaults = defaultRunForm(null);
  if (typeof stored !== 'object' || stored === null) return defaults;
  const merged: Record<string, unknown> = { ...defaults };
  for (const [key, fallback] of Object.entries(defaults)) {
    const value = (stored as Record<string, unknown>)[key];
    if (key === 'datasetId') merged[key] = typeof value === 'number' ? value : null;
    else if (fallback === null || typeof fallback === 'number') merged[key] = typeof value === 'number' ? value : fallback;
    else if (typeof value === typeof fallback) merged[key] = value;
  }
  for (const [key, allowed] of Object.entries(choices)) {
    if (!(allowed as readonly unknown[]).includes(merged[key])) merged[key] = defaults[key as RunFormField];
  }
  return merged as unknown as RunFormValues;
}

export function recallRunForm(projectId: number | null): RunFormValues {
  if (projectId === null) return defaultRunForm(null);
  try {
    return sanitizeRunForm(JSON.parse(localStorage.getItem(`${LAST_FORM_KEY}.${projectId}`) ?? 'null'));
  } catch {
    return defaultRunForm(null);
  }
}
