import { defaultRunConfig, type RunConfig } from '@shared/config';
import { hasCodes } from '@shared/families';
import { train } from '../train/loop';
import type { DigitSplit } from './digits';

/**
 * The model families side by side at one fixed budget, trained by the app's own loop:
 * the same MLP (latent 16, hidden 256), digits, epochs, batch and Adam 1e-3 for each;
 * then the test split's −IWAE bound (k samples), its one-sample ELBO terms and, for
 * M2, the classifier's test accuracy beside the share of labels it kept.
 */
export interface FamilyRow {
  name: string;
  /** Test −IWAE_k, nats per image; null when the model has no likelihood to bound. */
  nll: number | null;
  /** Test −E_q log p(x|z) (one sample), nats per image. */
  recon: number;
  /** Test KL (with a flow: its single-sample estimate; M2: with y's terms), nats per image. */
  kl: number;
  accuracy: number | null;
  labelFraction: number | null;
  /** VQ-VAE: perplexity of the test images' codes, and the codebook size. */
  perplexity: number | null;
  codebookSize: number | null;
  trainSeconds: number;
  evalSeconds: number;
  /** What the figure means when it is not the plain log p(x). */
  note?: string;
}

export interface FamilyRecipe {
  epochs: number;
  batch: number;
  k: number;
}

/** `optional` rows run only when asked for by key (--families): conv models cost minutes on wasm. */
export const FAMILY_MODELS: { key: string; name: string; config: Partial<RunConfig>; note?: string; optional?: boolean }[] = [
  { key: 'vae', name: 'VAE', config: {} },
  { key: 'flow', name: 'VAE + planar flow, K = 8', config: { flow: 'planar', flowSteps: 8 } },
  { key: 'iaf', name: 'VAE + IAF, K = 4', config: { flow: 'iaf', flowSteps: 4 } },
  { key: 'cvae', name: 'conditional VAE', config: { family: 'cvae' }, note: '−log p(x|y): the label is given, not comparable to −log p(x)' },
  // M2 decodes every image once per class (10 here): each epoch costs about 20 of the VAE's.
  { key: 'm2-10', name: 'M2, 10 % labels', config: { family: 'm2', labelFraction: 0.1 } },
  { key: 'm2-1', name: 'M2, 1 % labels', config: { family: 'm2', labelFraction: 0.01 } },
  // 16 positions × 128 codes; the prior's epochs come on top of the same autoencoder budget.
  {
    key: 'vqvae',
    name: 'VQ-VAE, 16 × K = 128',
    config: { family: 'vqvae', codebookSize: 128, codeDim: 16 },
    note: 'bound log p(x|z_q) + log π(k) with the MADE prior; + as many prior epochs',
  },
  { key: 'vae-conv', name: 'VAE, conv', config: { architecture: 'conv' }, optional: true },
  { key: 'm2-10-conv', name: 'M2 conv, 10 % labels', config: { architecture: 'conv', family: 'm2', classifier: 'conv', labelFraction: 0.1 }, optional: true },
  { key: 'm2-1-conv', name: 'M2 conv, 1 % labels', config: { architecture: 'conv', family: 'm2', classifier: 'conv', labelFraction: 0.01 }, optional: true },
  {
    key: 'vqvae-conv',
    name: 'VQ-VAE conv, 7×7 × K = 128',
    config: { architecture: 'conv', family: 'vqvae', codebookSize: 128, codeDim: 16 },
    note: 'bound with the MADE prior; + as many prior epochs',
    optional: true,
  },
];

const silent = { metrics: () => undefined, progress: () => undefined, epoch: () => undefined, image: () => undefined, checkpoint: () => undefined };

export async function familyRow(model: (typeof FAMILY_MODELS)[number], data: DigitSplit, recipe: FamilyRecipe, seed = 1): Promise<FamilyRow> {
  const config: RunConfig = {
    ...defaultRunConfig(),
    architecture: 'mlp',
    latent: 16,
    hidden: 256,
    batchSize: recipe.batch,
    epochs: recipe.epochs,
    iwaeSamples: recipe.k,
    seed,
    ...model.config,
  };
  if (hasCodes(config)) Object.assign(config, { epochs: 2 * recipe.epochs, priorEpochs: recipe.epochs });
  const started = performance.now();
  // The per-epoch evaluation runs on the test split, so its figures are the test ELBO terms.
  const { summary } = await train({
    config,
    images: data.images,
    split: { train: data.train, validation: data.test, test: data.test },
    listener: silent,
    shouldStop: () => false,
    yieldToEventLoop: () => Promise.resolve(),
  });
  const seconds = (performance.now() - started) / 1000;
  const evalSeconds = summary['iwae_seconds'] ?? 0;
  return {
    name: model.name,
    nll: summary['test_nll'] ?? null,
    recon: summary['val_recon'] ?? NaN,
    kl: summary['val_kl'] ?? NaN,
    accuracy: summary['test_accuracy'] ?? null,
    labelFraction: summary['label_fraction'] ?? null,
    perplexity: summary['val_perplexity'] ?? null,
    codebookSize: hasCodes(config) ? config.codebookSize : null,
    trainSeconds: seconds - evalSeconds,
    evalSeconds,
    ...(model.note === undefined ? {} : { note: model.note }),
  };
}

export async function familiesBench(data: DigitSplit, recipe: FamilyRecipe, only?: string[]): Promise<FamilyRow[]> {
  const rows: FamilyRow[] = [];
  for (const model of FAMILY_MODELS) {
    if (only ? only.includes(model.key) : !model.optional) rows.push(await familyRow(model, data, recipe));
  }
  return rows;
}
