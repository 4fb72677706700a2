import type { RunConfig } from '../config';
import type { InferOp } from '../inference';

/** A run setting: a key of the run config. */
export type RunSetting = keyof RunConfig;

/** Reports a config the family cannot train, naming the setting to change. */
export type Refuse = (setting: RunSetting, message: string) => void;

/**
 * Everything the layers need to know of a model family, as data: the form, the CLI's
 * flag table, runs.create, the config schema's refinements, Explore/Inpaint and the
 * worker's request table read it here instead of testing the family's name. A family
 * is its descriptor file plus one line in ./index.ts (and, for a new kind of trainer,
 * its engine in src-worker/train/engine-trainer.ts).
 */
export interface FamilyDescriptor {
  /** As the new-run form offers it and the run's configuration lists it. */
  readonly name: string;
  /** In a sentence: "This model is a VQ-VAE". */
  readonly shortName: string;
  /** One sentence under the family choice in the form. */
  readonly description: string;
  /**
   * How it uses the dataset's folder labels. `none`: ignores them. `all`: encoder and
   * decoder are conditioned on every image's label. `some`: keeps labelFraction of the
   * training labels and a classifier q(y|x) infers the rest. All but `none` need at
   * least two labels on every image.
   */
  readonly labels: 'none' | 'all' | 'some';
  /**
   * What it learns. `gaussian`: a continuous latent with a KL term (flows, β, warm-up,
   * free bits and capacity objectives apply), trained by the worker's VaeTrainer.
   * `codes`: a grid of discrete codes, trained by VqVaeTrainer.
   */
  readonly engine: 'gaussian' | 'codes';
  /** Settings only this family reads: shown, sent and listed as its own. */
  readonly ownSettings: readonly RunSetting[];
  /** Optional settings that another family must leave unset (refused there). */
  readonly exclusiveSettings?: readonly RunSetting[];
  /** Shared settings this family does not read: not shown and not sent by the form. */
  readonly ignoredSettings: readonly RunSetting[];
  /** The model requests (Explore, Inpaint) it answers; the worker refuses the others with refusal(op). */
  readonly answers: readonly InferOp[];
  /** Why it does not answer `op`, as one sentence. */
  refusal?(op: InferOp): string;
  /** Why Inpaint cannot work on this family, or null. */
  readonly inpaintBlocker: string | null;
  /** Explore's first tab for this family. */
  readonly exploreTab: 'traverse' | 'samples';
  /** Words of its loss legend and charts. */
  readonly legend: {
    /** The second loss term beside reconstruction ("KL", "code cost"). */
    readonly kl: string;
    /** Heading of the per-dimension chart. */
    readonly perDim: string;
    /** The test bound as the model card names it. */
    readonly testBound: string;
  };
  /** A line the form shows where the objective's settings would be, when it ignores them. */
  readonly objectiveNote?: string;
  /** Its words in a run's one-line description ("M2, 10 % labels"), or null for nothing to add. */
  summary(config: Pick<RunConfig, 'labelFraction' | 'codebookSize'>): string | null;
  /** A run's name when none is given, before the project's run number. */
  runName(config: Pick<RunConfig, 'architecture' | 'latent' | 'codebookSize'>): string;
  /** Refinements of the config schema beyond each field's own range. */
  refine?(config: RunConfig, refuse: Refuse): void;
  /** The config as stored for a new run: optional settings with a default written out. */
  stored?(config: RunConfig): RunConfig;
}

/** What a model with a continuous latent answers (a conditional one's class requests check for labels themselves). */
export const GAUSSIAN_ANSWERS: readonly InferOp[] = [
  'images',
  'traverse',
  'latentMap',
  'interpolate',
  'samples',
  'generateClass',
  'swapClass',
  'impute',
  'imputeEvaluate',
];

/** Why a model with a continuous latent does not answer `op` (only the code-grid request). */
export const gaussianRefusal = (op: InferOp): string =>
  op === 'codes' ? "codes reads the code grid of a VQ-VAE (family 'vqvae'); this model has a continuous latent." : `This model does not answer ${op}.`;

/** The words of a Gaussian latent's loss legend. */
export const GAUSSIAN_LEGEND: FamilyDescriptor['legend'] = {
  kl: 'KL',
  perDim: 'KL per latent dimension',
  testBound: 'IWAE',
};

/** A run's default name: architecture and latent size, e.g. "mlp-z16". */
export const architectureRunName = (config: Pick<RunConfig, 'architecture' | 'latent'>): string => `${config.architecture}-z${config.latent}`;

/** 0.1 → "10 %", 0.005 → "0.5 %". */
export function formatShare(fraction: number): string {
  return `${+(fraction * 100).toPrecision(3)} %`;
}

/**
 * What every family with a continuous (Gaussian) latent shares: the gaussian engine, the
 * requests it answers and how it refuses the rest, Explore's first tab, the legend's
 * words, the latent field and the default run name. A family spreads it and adds its own.
 */
export const GAUSSIAN_FAMILY = {
  engine: 'gaussian',
  answers: GAUSSIAN_ANSWERS,
  refusal: gaussianRefusal,
  inpaintBlocker: null,
  exploreTab: 'traverse',
  legend: GAUSSIAN_LEGEND,
  runName: architectureRunName,
} as const satisfies Partial<FamilyDescriptor>;
