import { z } from 'zod';

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
  /** Decoder means of z ~ N(0, t² I): temperature t below 1 trades variety for typicality. */
  samples: z
    .object({
      count: z.number().int().min(1).max(144).default(64),
      temperature: z.number().min(0).max(3).default(1),
      seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
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
}

export interface InferResults {
  images: ImagesResult;
  traverse: TraverseResult;
  latentMap: LatentMapResult;
  interpolate: InterpolateResult;
  samples: SamplesResult;
}

/** What a model session reports when it opens. */
export interface ModelSessionInfo {
  latent: number;
  width: number;
  height: number;
  channels: 1 | 3;
  decoder: 'bernoulli' | 'gaussian';
  /** Average KL(q(z|x) ‖ p(z)) per latent dimension over (up to 1 000) test images, nats. */
  klPerDim: number[];
  /** Dimensions ordered by KL, most informative first. */
  dimsByKl: number[];
  /** Images per split in the run's dataset. */
  splitCounts: Record<SplitName, number>;
  backend: string;
}

/** A latent dimension carrying less than this much KL (nats) on average is counted inactive. */
export const ACTIVE_DIM_KL = 0.01;
