import { z } from 'zod';
import { decoderKinds, encoderInputs, flowKinds, importSettingsSchema, modelFamilies, runConfigSchema } from './config';

/**
 * An exported model (models.export) as a folder or a single `.vaestudio` archive (zip):
 *   manifest.json           format, version, every other file with its size and SHA-256
 *   model-card.json         ModelCard below
 *   README.md               the card for people
 *   metrics.csv             step,epoch,name,value,t_ms of every recorded metric
 *   samples/*.png           the run's newest samples, reconstructions and traversal grids
 *   tfjs/<network>/         model.json + weights.bin (TensorFlow.js layers format)
 *   onnx/<network>.onnx     per network: encoder and decoder; M2 adds a classifier, a
 *                           VQ-VAE its code prior (src-shared/model-export/networks.ts)
 *   app/checkpoint.vaeckpt  the run's checkpoint, Adam's moments zeroed (weights exact)
 *   app/heldout.vaesds      up to HELDOUT_MAX held-out images, packed (Explore, Inpaint)
 * `tfjs` and `onnx` folder exports leave out the other model format; archives hold both.
 */
export const EXPORT_FORMAT = 'vae-studio-model';
/** Bumped when a reader of the previous version could not use the files correctly. */
export const EXPORT_FORMAT_VERSION = 1;
export const ARCHIVE_EXTENSION = '.vaestudio';
export const HELDOUT_MAX = 500;

export const exportFormats = ['archive', 'tfjs', 'onnx'] as const;
export type ExportFormat = (typeof exportFormats)[number];

export const EXPORT_FILES = {
  manifest: 'manifest.json',
  card: 'model-card.json',
  readme: 'README.md',
  metrics: 'metrics.csv',
  checkpoint: 'app/checkpoint.vaeckpt',
  heldout: 'app/heldout.vaesds',
} as const;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const manifestSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  formatVersion: z.number().int().positive(),
  appVersion: z.string(),
  createdAt: z.string(),
  files: z
    .array(z.object({ path: z.string().min(1).max(255), bytes: z.number().int().min(0), sha256 }).strict())
    .max(200),
});
export type ExportManifest = z.output<typeof manifestSchema>;

export const modelCardSchema = z.object({
  name: z.string(),
  description: z.string(),
  exportedAt: z.string(),
  app: z.object({ name: z.literal('VAE Studio'), version: z.string() }),
  source: z.object({
    runId: z.number().int(),
    runName: z.string(),
    runStatus: z.string(),
    checkpoint: z.enum(['best', 'last']),
    epoch: z.number().int().min(0),
    step: z.number().int().min(0),
    notes: z.string(),
    tags: z.array(z.string()),
  }),
  architecture: z.object({
    kind: z.enum(['mlp', 'conv']),
    latent: z.number().int().positive(),
    hidden: z.number().int().positive(),
    parameters: z.number().int().positive(),
    encoder: z.array(z.string()),
    decoder: z.array(z.string()),
    // Since the model families: absent in the first exports, which were all plain VAEs.
    family: z.enum(modelFamilies).default('vae'),
    /** Every exported network, its inputs and outputs (names as in both formats) and its layers. */
    networks: z.array(z.object({ name: z.string(), inputs: z.array(z.string()), outputs: z.array(z.string()), layers: z.array(z.string()) })).optional(),
    /** Width of the one-hot label input y (conditional VAE, M2); 0 without one. */
    classes: z.number().int().min(0).default(0),
    /** The posterior's flow: planar (the encoder outputs flow_params) or IAF (flow_context and iaf_step<k> networks). */
    flow: z.enum(flowKinds).default('none'),
    flowSteps: z.number().int().min(0).default(0),
    /** IAF: the width of the encoder's flow_context h; 0 otherwise. */
    flowContext: z.number().int().min(0).default(0),
    /** VQ-VAE: codebook size, code dimension, positions per image and their grid; whether the prior was trained. */
    codes: z
      .object({ size: z.number().int().positive(), dim: z.number().int().positive(), positions: z.number().int().positive(), grid: z.tuple([z.number().int(), z.number().int()]), priorTrained: z.boolean() })
      .nullable()
      .default(null),
  }),
  decoder: z.object({
    likelihood: z.enum(decoderKinds),
    /** Logistic mixture: components K per sub-pixel (absent for the other decoders and older cards). */
    mixtureComponents: z.number().int().positive().optional(),
    variance: z.string(),
    /** Fixed σ, or the learned one's starting value. */
    gaussianSigma: z.number().nullable(),
    output: z.string(),
  }),
  preprocessing: z.object({
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    channels: z.union([z.literal(1), z.literal(3)]),
    fit: importSettingsSchema.shape.fit,
    background: z.string(),
    binarize: z.boolean(),
    normalization: z.string(),
    /** What the encoder reads after its first layer (config encoderInputs): absent in cards before it, which were all 'unit'. */
    encoderInput: z.enum(encoderInputs).default('unit'),
    layout: z.string(),
  }),
  dataset: z.object({
    name: z.string(),
    contentHash: z.string(),
    labels: z.array(z.string()),
    count: z.number().int().min(0),
    splitCounts: z.object({ train: z.number(), validation: z.number(), test: z.number() }),
  }),
  heldout: z.object({ split: z.enum(['test', 'validation', 'train']), count: z.number().int().min(0) }),
  training: runConfigSchema,
  metrics: z.object({
    final: z.record(z.string(), z.number()),
    testNll: z.number().nullable(),
    testBpd: z.number().nullable(),
    iwaeK: z.number().nullable(),
  }),
  backend: z.object({ name: z.string().nullable(), notes: z.array(z.string()) }),
  formats: z.object({ tfjs: z.boolean(), onnx: z.boolean() }),
});
export type ModelCard = z.output<typeof modelCardSchema>;

/** What an imported run keeps about where it came from (runs.imported_json). */
export interface ImportedModel {
  card: ModelCard;
  /** The archive or folder it was imported from. */
  source: string;
  importedAt: string;
  formatVersion: number;
}

/** What models.export answers. */
export interface ModelExportResult {
  runId: number;
  format: ExportFormat;
  /** The archive file or the export folder written (absolute). */
  path: string;
  bytes: number;
  files: { path: string; bytes: number }[];
  checkpoint: { kind: 'best' | 'last'; epoch: number; step: number };
  card: ModelCard;
}
