import { z } from 'zod';
import { LIMITS, type DecoderKind, type FlowKind, type ModelFamily } from './config';
import { maskKinds, type MaskKind } from './pixel-mask';

/**
 * Questions asked of a trained model (Explore, Inpaint): the requests travel from the
 * renderer through the core to a model session in the worker (see worker-protocol
 * `open`/`infer`). Images of the run's dataset are addressed by their index in the
 * packed dataset file; every picture comes back as a PNG data URL.
 */

const index = z.number().int().min(0);

/** Which saved model of a run answers: its best checkpoint (lowest validation loss) or its newest. */
export const checkpointChoice = z.enum(['best', 'last']).default('best');

export const splitNames = ['train', 'validation', 'test'] as const;
export type SplitName = (typeof splitNames)[number];

/**
 * Imputation methods (VAE-MATH.md, Imputation): pseudo-Gibbs (Rezende 2014),
 * Metropolis-within-Gibbs (Mattei & Frellsen 2018), importance-weighted (MIWAE-style,
 * Mattei & Frellsen 2019), latent optimization (MAP z for the observed pixels).
 */
export const imputeMethods = ['pseudo-gibbs', 'metropolis', 'importance', 'optimize'] as const;
export type ImputeMethod = (typeof imputeMethods)[number];

/** Base64 length of the largest image (and mask) a dataset can have: LIMITS.imageSize² RGB bytes (pixels bits). */
const MAX_SIDE = LIMITS.imageSize.max;
const base64Length = (bytes: number): number => Math.ceil(bytes / 3) * 4;
const MAX_IMAGE_BASE64 = base64Length(MAX_SIDE * MAX_SIDE * 3);
const MAX_MASK_BASE64 = base64Length(Math.ceil((MAX_SIDE * MAX_SIDE) / 8));

const imputeSettings = {
  method: z.enum(imputeMethods).default('importance'),
  /** Refinement steps (one encode/decode round, proposal, or gradient step each). */
  iterations: z.number().int().min(1).max(2000).default(60),
  /** Importance samples per iteration (importance method). */
  proposals: z.number().int().min(1).max(1024).default(64),
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
};

export const inferRequestSchemas = {
  /**
   * A page of the dataset's images of one split, to pick a base or an end point from;
   * or, with `indices`, exactly those images (e.g. the ones under the pointer on the latent map).
   */
  images: z
    .object({
      split: z.enum(splitNames).default('test'),
      offset: z.number().int().min(0).default(0),
      count: z.number().int().min(1).max(256).default(48),
      indices: z.array(index).min(1).max(256).optional(),
    })
    .strict(),
  /**
   * Latent traversal: start from the posterior mean of `base` (null: the origin) and
   * move each of `dims` (default: the `count` dimensions with most KL) from −range to
   * +range prior standard deviations in `steps` steps; one row per dimension.
   */
  traverse: z
    .object({
      base: index.nullable().default(null),
      dims: z.array(z.number().int().min(0).max(511)).min(1).max(32).optional(),
      count: z.number().int().min(1).max(32).default(8),
      range: z.number().min(0.25).max(6).default(3),
      steps: z.number().int().min(3).max(15).default(9),
    })
    .strict(),
  /**
   * The test split's posterior means in two dimensions: the latent itself when it is
   * 2-D (plus a decoded grid of the plane), otherwise the first two principal components.
   */
  latentMap: z
    .object({
      max: z.number().int().min(10).max(5000).default(2000),
      manifoldSteps: z.number().int().min(5).max(30).default(15),
    })
    .strict(),
  /** Decode the path between the posterior means of two images, end points included. */
  interpolate: z
    .object({
      from: index,
      to: index,
      steps: z.number().int().min(3).max(20).default(10),
      mode: z.enum(['linear', 'spherical']).default('linear'),
    })
    .strict(),
  /**
   * Decoder means of z ~ N(0, t² I): temperature t below 1 trades variety for typicality.
   * A VQ-VAE draws code grids from its prior with logits divided by t (0: the most likely
   * code at each position), or uniformly when its prior was never trained.
   */
  samples: z
    .object({
      count: z.number().int().min(1).max(144).default(64),
      temperature: z.number().min(0).max(3).default(1),
      seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
    })
    .strict(),
  /**
   * VQ-VAE only: the code grid of image `index` (its reconstruction decodes it), and
   * `count` variations that keep the codes of the positions before `from` (raster order)
   * and redraw the others from the autoregressive prior given them, logits divided by
   * `temperature` (0: the most likely code each time).
   */
  codes: z
    .object({
      index,
      from: z.number().int().min(0).max(65_535).default(0),
      count: z.number().int().min(1).max(16).default(8),
      temperature: z.number().min(0).max(3).default(1),
      seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
    })
    .strict(),
  /**
   * Conditional models only: decoder means of z ~ N(0, t² I), all with class `label`
   * (an index into the dataset's labels). The same seed gives the same z for every class.
   */
  generateClass: z
    .object({
      label: z.number().int().min(0).max(10_000),
      count: z.number().int().min(1).max(144).default(32),
      temperature: z.number().min(0).max(3).default(1),
      seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
    })
    .strict(),
  /**
   * Conditional models only ("swap class, keep style"): encode image `index` with its own
   * label, then decode that same z once per class (or for `labels` only), in order.
   */
  swapClass: z
    .object({
      index,
      labels: z.array(z.number().int().min(0).max(10_000)).min(1).max(64).optional(),
    })
    .strict(),
  /**
   * Fill in the missing pixels of one image. `image`: an image of the run's dataset, or
   * the pixels of an opened file (base64 of its width·height·channels bytes, HWC, as
   * `inpaint.prepareImage` answers). `mask`: base64, one bit per pixel, 1 = missing
   * (src-shared/pixel-mask.ts). K = `samples` imputations are drawn beside the mean.
   * Partial results stream as `ImputeFrame`s while it refines. `label` (an index into
   * the dataset's labels): the class a conditional model imputes with, p(x_mis | x_obs, y);
   * required by a cVAE, optional for M2, which infers the class when it is left out;
   * refused for a model that takes no label.
   */
  impute: z
    .object({
      image: z.union([z.object({ index }).strict(), z.object({ pixels: z.string().min(1).max(MAX_IMAGE_BASE64) }).strict()]),
      mask: z.string().min(1).max(MAX_MASK_BASE64),
      label: z.number().int().min(0).max(10_000).optional(),
      ...imputeSettings,
      samples: z.number().int().min(1).max(16).default(6),
    })
    .strict(),
  /**
   * Imputation error on the missing pixels of held-out images (test split, else
   * validation) for each method and for the per-pixel mean of the training images.
   * A cVAE imputes given each image's true label; M2 infers it (see ImputeEvaluation.labels).
   */
  imputeEvaluate: z
    .object({
      mask: z.enum(maskKinds),
      methods: z.array(z.enum(imputeMethods)).min(1).max(imputeMethods.length).optional(),
      images: z.number().int().min(1).max(10_000).default(200),
      ...imputeSettings,
      iterations: z.number().int().min(1).max(2000).default(40),
    })
    .strict(),
} as const;

export type InferOp = keyof typeof inferRequestSchemas;
export type InferRequest = { [K in InferOp]: { op: K } & z.output<(typeof inferRequestSchemas)[K]> }[InferOp];
export type InferRequestOf<K extends InferOp> = Extract<InferRequest, { op: K }>;

export interface DatasetImage {
  index: number;
  /** Label index into the dataset's labels (0 when unlabelled). */
  label: number;
  dataUrl: string;
}

export interface ImagesResult {
  split: SplitName;
  /** Images in the split. */
  total: number;
  images: DatasetImage[];
}

export interface TraverseResult {
  base: number | null;
  /** The dimensions shown, one grid row each, top to bottom. */
  dims: number[];
  /** Average KL of each shown dimension (nats), same order. */
  kl: number[];
  /** Offsets from the base along each dimension, one grid column each. */
  values: number[];
  gridDataUrl: string;
}

export interface LatentPoint {
  index: number;
  label: number;
  /** Semi-supervised (M2) models: the label their classifier predicts, argmax q(y|x). */
  predicted?: number;
  x: number;
  y: number;
}

export interface LatentMapResult {
  projection: 'latent' | 'pca';
  /** Share of the latent means' variance along each axis (PCA), or null for a 2-D latent. */
  explained: [number, number] | null;
  points: LatentPoint[];
  /** 2-D latents only: decoder means on a steps×steps grid over [−extent, extent]², top row at +y. */
  manifold: { gridDataUrl: string; steps: number; extent: number } | null;
}

export interface InterpolateResult {
  from: number;
  to: number;
  mode: 'linear' | 'spherical';
  /** One row, `steps` images, the first and last being the decoded end points. */
  stripDataUrl: string;
  steps: number;
}

export interface SamplesResult {
  temperature: number;
  seed: number;
  count: number;
  cols: number;
  gridDataUrl: string;
  /** VQ-VAE only: whether the code grids came from the trained prior or, untrained, uniformly at random. */
  prior?: VqPriorKind;
}

/** Where a VQ-VAE's code grids are drawn from: its trained MADE prior, or uniform codes when the run stopped before training it. */
export type VqPriorKind = 'learned' | 'uniform';

export interface CodesResult {
  index: number;
  label: number;
  /** Rows and columns of the code grid; codes are in raster order. */
  grid: [number, number];
  codebookSize: number;
  /** The image's code per position, L = rows·cols, each in 0…codebookSize−1. */
  codes: number[];
  /** −log π(k_i | k_<i) per position in nats under the prior (log K each when uniform). */
  cost: number[];
  imageDataUrl: string;
  /** Decoder mean of the image's code grid. */
  reconstructionDataUrl: string;
  from: number;
  temperature: number;
  seed: number;
  prior: VqPriorKind;
  /** The code grids of the variations: positions before `from` are the image's. */
  variations: number[][];
  /** One row, one decoded variation each. */
  stripDataUrl: string;
}

export interface GenerateClassResult {
  label: number;
  temperature: number;
  seed: number;
  count: number;
  cols: number;
  gridDataUrl: string;
}

export interface SwapClassResult {
  index: number;
  /** The image's own label, the one it was encoded with. */
  label: number;
  /** The classes decoded, one image each, left to right. */
  labels: number[];
  /** One row: the original image, then one decode per entry of `labels`. */
  stripDataUrl: string;
}

/** One picture of an imputation as it refines (partials) or ends (the result). */
export interface ImputeFrame {
  method: ImputeMethod;
  /** Iterations done so far, of `iterations`. */
  iteration: number;
  iterations: number;
  done: boolean;
  width: number;
  height: number;
  channels: 1 | 3;
  /** Observed pixels kept, missing ones replaced by the estimate of E[x_mis | x_obs]. */
  meanDataUrl: string;
  /** K imputations (decoder means E[x_mis | z_k] for z_k drawn from the method's posterior). */
  sampleDataUrls: string[];
  /** Per-pixel standard deviation over the K imputations, colour-mapped from 0 (dark) to `maxStd` (bright). */
  uncertaintyDataUrl: string;
  maxStd: number;
  /** Share of missing pixels. */
  missingFraction: number;
  /** Method figure: acceptance rate (metropolis), effective sample size (importance), objective log p(x_obs|z)+log p(z) (optimize); null otherwise. */
  diagnostic: { name: 'acceptance' | 'ess' | 'objective'; value: number } | null;
  /**
   * Conditional models: the class imputed with, the one asked for or (M2 without a
   * label) the most probable under `classProbabilities`; null for models that take no label.
   */
  label: number | null;
  /** M2 without a label: the method's estimate of p(y | x_obs), one entry per class; null otherwise. */
  classProbabilities: number[] | null;
  /** Wall time of the last refinement, ms (encode/decode and the pictures). */
  refinementMs: number;
  seconds: number;
}

export interface ImputeScore {
  method: ImputeMethod | 'pixel-mean';
  /** Mean squared error over the missing pixel values of every image. */
  mse: number;
  /** Binary data only: share of missing pixels whose imputation rounds to the truth. */
  accuracy: number | null;
  /** Labels inferred (M2 without labels): share of images whose inferred class is their true label; null otherwise. */
  labelAccuracy: number | null;
  seconds: number;
}

export interface ImputeEvaluation {
  mask: MaskKind;
  split: SplitName;
  images: number;
  /** True when every evaluated pixel is 0 or 1 (accuracy is then reported). */
  binary: boolean;
  missingFraction: number;
  iterations: number;
  proposals: number;
  /** What the methods knew of each image's class: nothing to know (unconditional), its true label (cVAE), or nothing, inferring it (M2). */
  labels: 'none' | 'given' | 'inferred';
  scores: ImputeScore[];
}

export interface InferResults {
  images: ImagesResult;
  traverse: TraverseResult;
  latentMap: LatentMapResult;
  interpolate: InterpolateResult;
  samples: SamplesResult;
  codes: CodesResult;
  generateClass: GenerateClassResult;
  swapClass: SwapClassResult;
  impute: ImputeFrame;
  imputeEvaluate: ImputeEvaluation;
}

/** What `impute` streams while refining (and `imputeEvaluate` while scoring). */
export interface InferPartials {
  impute: ImputeFrame;
  imputeEvaluate: { method: ImputeMethod | 'pixel-mean'; done: number; total: number };
}

/** What a model session reports when it opens. */
export interface ModelSessionInfo {
  latent: number;
  width: number;
  height: number;
  channels: 1 | 3;
  decoder: DecoderKind;
  /**
   * Model family and posterior flow of the run. A conditional VAE (`cvae`) has
   * `classes` > 0: its decoder takes a label, so Explore's existing pictures decode with
   * the image's own label (traversal, interpolation: the first image's; the origin and
   * the 2-D manifold: label 0; samples: class i mod C), and generateClass/swapClass apply.
   */
  family: ModelFamily;
  /** Classes of a model whose decoder takes a label (cvae, m2), 0 otherwise. */
  classes: number;
  flow: FlowKind;
  /** Average KL(q(z|x) ‖ p(z)) per latent dimension over (up to 1 000) test images, nats. */
  klPerDim: number[];
  /** Dimensions ordered by KL, most informative first. */
  dimsByKl: number[];
  /** Images per split in the run's dataset. */
  splitCounts: Record<SplitName, number>;
  backend: string;
  /** Threads the session's heavy work (imputation's chains) spreads over; absent in sessions from before threads. */
  threads?: number;
  /**
   * A VQ-VAE's code grid, null for Gaussian latents. For a VQ-VAE `latent` counts the grid's
   * positions, and klPerDim/dimsByKl are per position: the average code cost −log π(k_i | k_<i).
   */
  vq: VqSessionInfo | null;
}

export interface VqSessionInfo {
  codebookSize: number;
  /** [rows, cols]; an MLP's grid is one row. */
  grid: [number, number];
  /** False when the run stopped before its prior epochs: samples are then uniform codes. */
  priorTrained: boolean;
}

/**
 * A latent dimension counts as active when its KL, averaged over held-out images,
 * exceeds this many nats (VAE-MATH.md); the worker's `val_active_dims`, the KL bar
 * chart and Explore all use this one rule.
 */
export const ACTIVE_DIM_KL = 0.01;
