import { z } from 'zod';

/** Limits shared by every adapter; the UI shows them next to the fields. */
export const LIMITS = {
  imageSize: { min: 8, max: 256 },
  latent: { min: 1, max: 512 },
  epochs: { min: 1, max: 10_000 },
  batchSize: { min: 1, max: 4096 },
  learningRate: { min: 1e-6, max: 1 },
  nameLength: 120,
} as const;

export const fitModes = ['resize', 'crop', 'pad'] as const;
export type FitMode = (typeof fitModes)[number];

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
  validationFraction: z.number().min(0).max(0.5).default(0.1),
  testFraction: z.number().min(0).max(0.5).default(0.1),
  splitSeed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
};
export const importSettingsSchema = z.object(importSettingsShape).strict();
export type ImportSettings = z.output<typeof importSettingsSchema>;

export const modelKinds = ['mlp', 'conv'] as const;
export type ModelKind = (typeof modelKinds)[number];

export const decoderKinds = ['bernoulli', 'gaussian'] as const;
export type DecoderKind = (typeof decoderKinds)[number];

export const backendNames = ['webgpu', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof backendNames)[number];

/** Everything the worker needs to reproduce a run. Stored as JSON on the run row. */
export const runConfigSchema = z
  .object({
    model: z.enum(modelKinds).default('mlp'),
    latent: z.number().int().min(LIMITS.latent.min).max(LIMITS.latent.max).default(16),
    hidden: z.number().int().min(8).max(4096).default(256),
    decoder: z.enum(decoderKinds).default('bernoulli'),
    /** Fixed standard deviation of the Gaussian decoder (the MSE scale is 1/(2 s²)). */
    gaussianSigma: z.number().positive().max(10).default(0.1),
    beta: z.number().min(0).max(1000).default(1),
    epochs: z.number().int().min(LIMITS.epochs.min).max(LIMITS.epochs.max).default(10),
    batchSize: z.number().int().min(LIMITS.batchSize.min).max(LIMITS.batchSize.max).default(64),
    learningRate: z.number().min(LIMITS.learningRate.min).max(LIMITS.learningRate.max).default(1e-3),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(1),
    /** Fraction of the dataset held out for validation. */
    validationFraction: z.number().min(0).max(0.5).default(0.1),
    /** Force a backend instead of the automatic choice. */
    backend: z.enum(backendNames).optional(),
  })
  .strict();

export type RunConfig = z.output<typeof runConfigSchema>;
export type RunConfigInput = z.input<typeof runConfigSchema>;

export function defaultRunConfig(): RunConfig {
  return runConfigSchema.parse({});
}
