import { z } from 'zod';
import { codeGrids, CONV_PRESETS, CONV_RES_BLOCKS, CONV_WIDTH, convArchitectures, convNorms, DEFAULT_CONV_PRESET } from './conv';
import { familyOf, modelFamilies, refineForFamily } from './families';

/** Limits shared by every adapter; the UI shows them next to the fields. */
export const LIMITS = {
  imageSize: { min: 8, max: 256 },
  latent: { min: 1, max: 512 },
  epochs: { min: 1, max: 10_000 },
  batchSize: { min: 1, max: 4096 },
  learningRate: { min: 1e-6, max: 1 },
  /** Importance samples per test image for the IWAE bound. */
  iwaeSamples: { min: 1, max: 5000 },
  threads: { min: 1, max: 256 },
  /** Schedules (warm-up, capacity, learning-rate decay) are counted in optimizer steps. */
  scheduleSteps: { min: 1, max: 10_000_000 },
  nameLength: 120,
  flowSteps: { min: 1, max: 32 },
  codebookSize: { min: 2, max: 4096 },
  codeDim: { min: 1, max: 256 },
  /** Logistic components per sub-pixel of the discretized logistic mixture decoder. */
  mixtureComponents: { min: 1, max: 10 },
} as const;

export const fitModes = ['resize', 'crop', 'pad'] as const;
export type FitMode = (typeof fitModes)[number];

/**
 * How a folder's subfolders are read (src-main/core/datasets/layout.ts). `auto` detects
 * it; `classes`: first-level folders are labels, the split is drawn at random; `split`:
 * first-level train/test/val folders are the split, labels from the level below;
 * `flat`: folders mean nothing, one set split at random.
 */
export const datasetLayouts = ['auto', 'classes', 'split', 'flat'] as const;
export type DatasetLayout = (typeof datasetLayouts)[number];

/**
 * How a folder becomes a dataset. `resize` stretches to a square, `crop` fills it and
 * cuts the overflow (centre), `pad` fits the whole image and fills the rest with
 * `background`, which is also what transparency is composited on.
 */
export const importSettingsShape = {
  size: z.number().int().min(LIMITS.imageSize.min).max(LIMITS.imageSize.max).default(28),
  channels: z.union([z.literal(1), z.literal(3)]).default(1),
  fit: z.enum(fitModes).default('resize'),
  background: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'a colour like #000000')
    .default('#000000'),
  /** Threshold at 50 % to 0/255, for Bernoulli decoders that expect binary pixels. */
  binarize: z.boolean().default(false),
  /** Labels from first-level subfolders; false = one unlabelled set. */
  labels: z.boolean().default(true),
  /** Settings stored before layouts existed load as `classes`: a re-import reads their folder as it did then. */
  layout: z.enum(datasetLayouts).default('auto'),
  validationFraction: z.number().min(0).max(0.5).default(0.1),
  testFraction: z.number().min(0).max(0.5).default(0.1),
  splitSeed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
};
export const importSettingsSchema = z.object(importSettingsShape).strict();
export type ImportSettings = z.output<typeof importSettingsSchema>;

/** The network's architecture: fully connected (`mlp`) or convolutional (`conv`). */
export const architectureKinds = ['mlp', 'conv'] as const;
export type ArchitectureKind = (typeof architectureKinds)[number];

/**
 * Model family: what is trained. Each one is described as data in ./families (its
 * settings, constraints, requests it answers, words), one registry line each.
 */
export { modelFamilies, type ModelFamily } from './families';

/**
 * Normalizing flow on the posterior, z_K = f(z_0) with z_0 ~ q0(z|x), and
 * log q(z_K|x) = log q0(z_0|x) − Σ log|det ∂f/∂z|. `planar` (Rezende & Mohamed 2015):
 * flowSteps maps z ← z + û·tanh(wᵀz + b), their parameters predicted by the encoder per
 * image. `iaf` (Kingma et al. 2016): flowSteps autoregressive steps z ← σ⊙z + (1 − σ)⊙m,
 * (m, σ) from a masked network of z and a context the encoder predicts per image.
 */
export const flowKinds = ['none', 'planar', 'iaf'] as const;
export type FlowKind = (typeof flowKinds)[number];

/**
 * M2's classifier q(y|x): `mlp` (two hidden layers, the default) or `conv` (the conv
 * encoder's two stride-2 convolutions, then a hidden layer; conv models only). A stored
 * config without the field is an MLP, as every M2 classifier was before conv ones existed.
 */
export const classifierKinds = ['mlp', 'conv'] as const;
export type ClassifierKind = (typeof classifierKinds)[number];

/**
 * Decoder likelihood p(x|z) (src-shared/likelihood.ts says which suits which data):
 * `bernoulli` for binary pixels; `gaussian` a density on dequantized 8-bit data;
 * `logistic` a discretized logistic mixture (Salimans et al. 2017), a probability of
 * each of the 256 levels of every sub-pixel.
 */
export const decoderKinds = ['bernoulli', 'gaussian', 'logistic'] as const;
export type DecoderKind = (typeof decoderKinds)[number];

/**
 * Components K of the logistic mixture per sub-pixel when none is given. One: the decoder's
 * last layer is 3·K times the image, and on the small models here K = 5 cost 2.8× the
 * time per step of K = 1 (133 against 48 ms, 16×16 grey MLP, wasm) for no better test
 * bits/dim after 300 steps (3.27 against 3.12); more components stay a setting away.
 */
export const MIXTURE_COMPONENTS_DEFAULT = 1;

/** See the README of src-worker for the measurement behind this default. */
export const IWAE_DEFAULT_SAMPLES = 100;

export const backendNames = ['webgpu', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof backendNames)[number];

/**
 * Gaussian decoder variance: `fixed` uses gaussianSigma as is; `global` learns one
 * log σ² for the whole image, `per-pixel` one per pixel and channel, both starting at
 * gaussianSigma.
 */
export const decoderVariances = ['fixed', 'global', 'per-pixel'] as const;
export type DecoderVariance = (typeof decoderVariances)[number];

/**
 * What every network that reads the image (the encoder, M2's classifier, the VQ encoder,
 * so also a flow's context and a conditional VAE's encoder) is given: `unit` the pixels
 * as they are, in [0, 1]; `centred` 2x − 1, in [−1, 1]. The decoder, the likelihood, the
 * dequantisation and the reported bound are the same for both. The rescaling is a layer
 * of the declared networks (ENCODER_INPUT_RESCALE, src-shared/model-export/architectures.ts),
 * so the trainer and the exports apply the same one.
 */
export const encoderInputs = ['unit', 'centred'] as const;
export type EncoderInput = (typeof encoderInputs)[number];

/**
 * Training objective (VAE-MATH.md). `beta`: −E[log p(x|z)] + β(t)·KL, where β(t) ramps
 * 0 → beta over klWarmupSteps and KL may be floored per dim by freeBits; beta 1 with no
 * warm-up and no free bits is the plain ELBO. `capacity` (Burgess 2018):
 * −E[log p(x|z)] + γ·|KL − C(t)|, C(t) ramping 0 → capacityMax over capacitySteps.
 */
export const objectiveKinds = ['beta', 'capacity'] as const;
export type ObjectiveKind = (typeof objectiveKinds)[number];

/** Denoising: the encoder sees a corrupted copy, the decoder is scored on the clean image. */
export const denoiseKinds = ['none', 'gaussian', 'mask'] as const;
export type DenoiseKind = (typeof denoiseKinds)[number];

/**
 * Learning-rate decay, per optimizer step t: `exponential` lr·rate^(t/steps) (smooth),
 * `step` lr·rate^⌊t/steps⌋ (drops by `rate` every `steps`).
 */
export const lrDecayKinds = ['none', 'exponential', 'step'] as const;
export type LrDecayKind = (typeof lrDecayKinds)[number];

const steps = z.number().int().min(LIMITS.scheduleSteps.min).max(LIMITS.scheduleSteps.max);

/** Everything the worker needs to reproduce a run. Stored as JSON on the run row. */
export const runConfigObject = z
  .object({
    architecture: z.enum(architectureKinds).default('mlp'),
    /** What is trained: see modelFamilies. Runs stored before families existed are plain VAEs. */
    family: z.enum(modelFamilies).default('vae'),
    flow: z.enum(flowKinds).default('none'),
    /** Flow steps K (flow other than 'none'). */
    flowSteps: z.number().int().min(LIMITS.flowSteps.min).max(LIMITS.flowSteps.max).default(4),
    /**
     * M2: share of the training images whose label is kept (stratified by class, at
     * least one per class, chosen by seed); the rest train unlabelled.
     */
    labelFraction: z.number().gt(0).max(1).default(0.1),
    /**
     * M2: weight α of the classifier's cross-entropy on labelled images. Absent:
     * 0.1 · unlabelled / labelled, Kingma 2014's α = 0.1·N for batch-mean losses.
     */
    classifierWeight: z.number().positive().max(100_000).optional(),
    /** M2: the classifier's architecture (see classifierKinds); absent in stored configs means 'mlp'. */
    classifier: z.enum(classifierKinds).optional(),
    /** VQ-VAE: codes K in the codebook and their dimension. */
    codebookSize: z.number().int().min(LIMITS.codebookSize.min).max(LIMITS.codebookSize.max).default(128),
    codeDim: z.number().int().min(LIMITS.codeDim.min).max(LIMITS.codeDim.max).default(16),
    /** VQ-VAE: commitment weight β of ‖z_e − sg(e)‖² (van den Oord 2017: 0.25). */
    commitment: z.number().min(0).max(100).default(0.25),
    /** VQ-VAE: decay γ of the codebook's exponential moving averages. */
    codebookDecay: z.number().min(0.5).max(0.9999).default(0.99),
    /** VQ-VAE: of the run's `epochs`, the last this many train the autoregressive prior over codes. */
    priorEpochs: z.number().int().min(0).max(LIMITS.epochs.max - 1).default(5),
    /** VQ-VAE with an MLP: code positions per image (a conv model's grid follows the image size instead). */
    codePositions: z.number().int().min(LIMITS.latent.min).max(LIMITS.latent.max).default(16),
    /**
     * VQ-VAE on a scaled conv: where the encoder stops and quantises (@shared/conv codeGrids):
     * 'fine' (about 8×8 codes) or 'last' (the deepest stage's grid, 4×4 at 64 px). Absent
     * means 'last', what scaled VQ runs stored before it were trained with; a new run that
     * names none gets DEFAULT_CODE_GRID written out (newRunConfig).
     */
    codeGrid: z.enum(codeGrids).optional(),
    /**
     * The conv model's design (@shared/conv): 'classic' (two stride-2 stages, 32 and 64
     * channels) or a scaled preset whose stages follow the image size. Absent means
     * classic, what every conv run stored before presets meant; a new conv run that names
     * none gets DEFAULT_CONV_PRESET written out (newRunConfig).
     */
    convArch: z.enum(convArchitectures).optional(),
    /** Scaled conv: base channels of the first stage (doubling per stage up to 8×); absent: the preset's. */
    convWidth: z.number().int().min(CONV_WIDTH.min).max(CONV_WIDTH.max).optional(),
    /** Scaled conv: residual blocks (3×3, 1×1) at the deepest stage (and the decoder's first); absent: the preset's. */
    convResBlocks: z.number().int().min(CONV_RES_BLOCKS.min).max(CONV_RES_BLOCKS.max).optional(),
    /** Scaled conv: normalisation after each stride-2 convolution (a layer norm over each pixel's channels); absent: the preset's. */
    convNorm: z.enum(convNorms).optional(),
    /**
     * The encoder's input (see encoderInputs). Absent means 'unit', what every run stored
     * before it was trained with (its weights read pixels in [0, 1]); a new run gets the
     * proposal's value written out (src-shared/training-proposal.ts).
     */
    encoderInput: z.enum(encoderInputs).optional(),
    latent: z.number().int().min(LIMITS.latent.min).max(LIMITS.latent.max).default(16),
    hidden: z.number().int().min(8).max(4096).default(256),
    decoder: z.enum(decoderKinds).default('bernoulli'),
    /**
     * Standard deviation of the Gaussian decoder: the value used when decoderVariance is
     * `fixed` (the MSE scale is then 1/(2 s²)), the starting value when it is learned.
     */
    gaussianSigma: z.number().positive().max(10).default(0.1),
    decoderVariance: z.enum(decoderVariances).default('fixed'),
    /** Logistic decoder: mixture components K per sub-pixel (stored configs before it never read it). */
    mixtureComponents: z
      .number()
      .int()
      .min(LIMITS.mixtureComponents.min)
      .max(LIMITS.mixtureComponents.max)
      .default(MIXTURE_COMPONENTS_DEFAULT),
    objective: z.enum(objectiveKinds).default('beta'),
    beta: z.number().min(0).max(1000).default(1),
    /** Steps over which the KL weight rises linearly from 0 to beta; 0 = no warm-up. */
    klWarmupSteps: z.number().int().min(0).max(LIMITS.scheduleSteps.max).default(0),
    /** Free bits λ in nats per latent dim: Σ_j max(λ, KL_j), KL_j averaged over the batch. 0 = off. */
    freeBits: z.number().min(0).max(10).default(0),
    /** Capacity objective: target KL C_max in nats, reached after capacitySteps, weight γ. */
    capacityMax: z.number().min(0).max(1000).default(25),
    capacitySteps: steps.default(10_000),
    capacityGamma: z.number().positive().max(100_000).default(1000),
    denoise: z.enum(denoiseKinds).default('none'),
    /** Standard deviation of the Gaussian noise added to pixels in [0, 1] (then clipped). */
    denoiseSigma: z.number().positive().max(1).default(0.2),
    /** Probability that a pixel (all its channels) is set to 0 for the encoder. */
    denoiseMaskProb: z.number().positive().max(0.95).default(0.25),
    epochs: z.number().int().min(LIMITS.epochs.min).max(LIMITS.epochs.max).default(10),
    batchSize: z.number().int().min(LIMITS.batchSize.min).max(LIMITS.batchSize.max).default(64),
    /** Adam's step size (β1 0.9, β2 0.999, ε 1e-8). */
    learningRate: z.number().min(LIMITS.learningRate.min).max(LIMITS.learningRate.max).default(1e-3),
    lrDecay: z.enum(lrDecayKinds).default('none'),
    lrDecayRate: z.number().positive().max(1).default(0.5),
    lrDecaySteps: steps.default(5_000),
    /**
     * Importance samples k per test image for the IWAE bound computed at the end of
     * training (test_nll, test_bpd). Larger is tighter and slower, linearly.
     */
    iwaeSamples: z.number().int().min(LIMITS.iwaeSamples.min).max(LIMITS.iwaeSamples.max).default(IWAE_DEFAULT_SAMPLES),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
    /**
     * Only for dataset files packed without a split (format version 1, imported before
     * splits existed): the fraction of images held out for validation, chosen by seed.
     * Current datasets carry their own train/validation/test split (set at import), and
     * this field is then ignored.
     */
    validationFraction: z.number().min(0).max(0.5).default(0.1),
    /** Force a backend instead of the automatic choice. */
    backend: z.enum(backendNames).optional(),
    /**
     * Threads a training step is split across (data-parallel, one model replica each);
     * absent: the machine's physical cores. Losses are reproducible for a seed and a
     * thread count; 1 is the single-thread trainer.
     */
    threads: z.number().int().min(1).max(LIMITS.threads.max).optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    // Settings that would be silently ignored are refused, naming the field to change.
    if (config.objective === 'capacity') {
      if (config.klWarmupSteps > 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['klWarmupSteps'],
          message: "KL warm-up applies to objective 'beta'; capacity annealing ramps C over capacitySteps instead",
        });
      }
      if (config.freeBits > 0) {
        ctx.addIssue({ code: 'custom', path: ['freeBits'], message: "free bits apply to objective 'beta' only" });
      }
    }
    if (config.flow !== 'none' && config.freeBits > 0) {
      // Free bits floor the analytic KL of each dim; a flowed posterior's KL is a
      // single-sample estimate over the whole z, with no per-dim split.
      ctx.addIssue({ code: 'custom', path: ['freeBits'], message: 'free bits need a Gaussian posterior without a flow (flow none)' });
    }
    const scaledOnly = (['convWidth', 'convResBlocks', 'convNorm'] as const).filter((field) => config[field] !== undefined);
    if (config.architecture !== 'conv' && config.convArch !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['convArch'], message: "a conv design (convArch) needs architecture 'conv'" });
    } else if (scaledOnly.length > 0 && (config.convArch ?? 'classic') === 'classic') {
      ctx.addIssue({ code: 'custom', path: [scaledOnly[0]!], message: "width, residual blocks and normalisation apply to a scaled conv (convArch small, medium or large), not to 'classic'" });
    }
    if (config.codeGrid !== undefined && (config.architecture !== 'conv' || (config.convArch ?? 'classic') === 'classic')) {
      ctx.addIssue({
        code: 'custom',
        path: ['codeGrid'],
        message: "codeGrid chooses where a scaled conv (convArch small, medium or large) quantises; classic's grid is always a quarter of the image and an MLP's has codePositions",
      });
    }
    // What only some families read, and each family's own constraints (./families).
    refineForFamily(config, (path, message) => ctx.addIssue({ code: 'custom', path: [path], message }));
    const decoder = decoderProblem(config);
    if (decoder) ctx.addIssue({ code: 'custom', path: [decoder.path], message: decoder.message });
  });

/**
 * What a config's other settings ask of its decoder, or null when they fit it. The schema
 * checks it with the rest; a runs.create config that named no decoder (checked under the
 * schema's default) is checked again here once the dataset's decoder fills it in.
 */
export function decoderProblem(config: { decoder: DecoderKind; decoderVariance: DecoderVariance }): { path: 'decoderVariance'; message: string } | null {
  if (config.decoderVariance !== 'fixed' && config.decoder !== 'gaussian') {
    return { path: 'decoderVariance', message: "a learned variance needs decoder 'gaussian' (a Bernoulli decoder has no variance)" };
  }
  return null;
}

/**
 * A config as an earlier version stored it (on a run row, in a checkpoint, a model
 * archive or a saved CLI file), in today's names: `model` became `architecture`, and a
 * VQ-VAE's code positions, once kept in `latent`, have their own `codePositions`. The
 * one place old shapes are read; every parse goes through it. Anything else is left for
 * the schema to judge, so a config naming both the old and the new key is refused.
 */
export function upgradeStoredConfig(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const config: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  if ('model' in config && !('architecture' in config)) {
    config['architecture'] = config['model'];
    delete config['model'];
  }
  if (config['family'] === 'vqvae' && 'latent' in config && !('codePositions' in config)) {
    config['codePositions'] = config['latent'];
    delete config['latent'];
  }
  return config;
}

/** The run config schema, reading earlier stored shapes (upgradeStoredConfig) too. */
export const runConfigSchema = z.preprocess(upgradeStoredConfig, runConfigObject);

export type RunConfig = z.output<typeof runConfigObject>;
export type RunConfigInput = z.input<typeof runConfigObject>;

/** A new run's config as a request (runs.create) gives it: checked in full, its decoder absent when the request named none. */
export type RunRequestConfig = Omit<RunConfig, 'decoder'> & { decoder?: DecoderKind };

/**
 * The config of runs.create: the run config schema, remembering whether the request named
 * a decoder. One it leaves out is the dataset's (suggestDecoder in ./likelihood, chosen
 * by the core where the dataset is known), not the schema's Bernoulli, which stays what a
 * stored config without a decoder means.
 */
export const runRequestConfigSchema = z.unknown().default({}).transform((raw, ctx): RunRequestConfig => {
  const input = raw ?? {};
  const parsed = runConfigSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    return z.NEVER;
  }
  const named = typeof input === 'object' && input !== null && (input as Record<string, unknown>)['decoder'] !== undefined;
  if (named) return parsed.data;
  const { decoder: _schemaDefault, ...rest } = parsed.data;
  return rest;
});

/**
 * Why Explore or Inpaint cannot question a run's model, or null when they can. Inpaint
 * works on a continuous latent (conditional models impute with a label, or M2 infers it);
 * Explore opens every family, a VQ-VAE with its own tabs (prior samples, code grids).
 */
export function inferenceBlocker(config: Pick<RunConfig, 'family'>, view: 'explore' | 'inpaint'): string | null {
  return view === 'inpaint' ? familyOf(config).inpaintBlocker : null;
}

/** The encoder's input of a config; one stored without the field reads pixels in [0, 1]. */
export const encoderInputOf = (config: Pick<RunConfig, 'encoderInput'>): EncoderInput => config.encoderInput ?? 'unit';

/** M2's classifier architecture; a config stored without one predates conv classifiers. */
export const classifierKindOf = (config: Pick<RunConfig, 'classifier'>): ClassifierKind => config.classifier ?? 'mlp';

/**
 * A new run's config as it is stored: optional settings with a default are written out
 * (an M2's classifier), so the run reproduces even if that default changes.
 */
export function newRunConfig(config: RunConfig): RunConfig {
  const family = familyOf(config);
  if (config.architecture !== 'conv') return family.stored?.(config) ?? config;
  // A conv run without an architecture gets the default preset; a scaled one writes its settings out (then the family its own).
  const arch = config.convArch ?? DEFAULT_CONV_PRESET;
  if (arch === 'classic') return family.stored?.({ ...config, convArch: arch }) ?? { ...config, convArch: arch };
  const preset = CONV_PRESETS[arch];
  const conv: RunConfig = {
    ...config,
    convArch: arch,
    convWidth: config.convWidth ?? preset.width,
    convResBlocks: config.convResBlocks ?? preset.resBlocks,
    convNorm: config.convNorm ?? preset.norm,
  };
  return family.stored?.(conv) ?? conv;
}

/** A config's conv design (null: classic), see @shared/conv. */
export { convDesignOf } from './conv';

export function defaultRunConfig(): RunConfig {
  return runConfigSchema.parse({});
}
