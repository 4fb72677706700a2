import { defaultRunConfig, type RunConfig } from '@shared/config';
import { permutation } from '@shared/random';
import { createRng } from '../engine/random';
import { elboSums, iwaeBound } from '../train/evaluate';
import { gatherBatch, gatherLabels } from '../train/images';
import { modelSpec } from '../train/model-spec';
import { VaeTrainer } from '../train/trainer';
import type { DigitSplit } from './digits';

/**
 * The model families side by side at one fixed budget: the same MLP (latent 16,
 * hidden 256), digits, epochs, batch and Adam 1e-3 for each, then the test split's
 * −IWAE bound (k samples) and its one-sample ELBO terms.
 */
export interface FamilyRow {
  name: string;
  /** Test −IWAE_k, nats per image; null when the model has no likelihood to bound. */
  nll: number | null;
  /** Test −E_q log p(x|z) (one sample), nats per image. */
  recon: number;
  /** Test KL (with a flow: its single-sample estimate), nats per image. */
  kl: number;
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

export const FAMILY_MODELS: { name: string; config: Partial<RunConfig>; note?: string }[] = [
  { name: 'VAE', config: {} },
  { name: 'VAE + planar flow, K = 8', config: { flow: 'planar', flowSteps: 8 } },
  { name: 'conditional VAE', config: { family: 'cvae' }, note: '−log p(x|y): the label is given, not comparable to −log p(x)' },
];

const control = { shouldStop: () => false, yieldToEventLoop: () => Promise.resolve() };

export async function familyRow(model: (typeof FAMILY_MODELS)[number], data: DigitSplit, recipe: FamilyRecipe, seed = 1): Promise<FamilyRow> {
  const config: RunConfig = { ...defaultRunConfig(), model: 'mlp', latent: 16, hidden: 256, batchSize: recipe.batch, seed, ...model.config };
  const { images } = data;
  const trainer = new VaeTrainer(modelSpec(config, images), config);
  try {
    const shuffle = createRng(seed, 0x51);
    const t0 = performance.now();
    for (let epoch = 0; epoch < recipe.epochs; epoch++) {
      const order = Int32Array.from(permutation(data.train.length, shuffle.uniform), (i) => data.train[i]!);
      for (let from = 0; from < order.length; from += recipe.batch) {
        const to = Math.min(order.length, from + recipe.batch);
        const labels = trainer.classes > 0 ? gatherLabels(images, order, from, to) : undefined;
        await trainer.step(gatherBatch(images, order, from, to), to - from, labels);
      }
    }
    const t1 = performance.now();
    const sums = await elboSums(trainer, images, data.test, seed, control);
    const bound = await iwaeBound(trainer, images, data.test, config, recipe.k, { ...control, now: () => performance.now() });
    const n = Math.max(1, sums?.count ?? 1);
    return {
      name: model.name,
      nll: bound?.nll ?? null,
      recon: -(sums?.logLikelihood ?? NaN) / n,
      kl: (sums?.kl ?? NaN) / n,
      trainSeconds: (t1 - t0) / 1000,
      evalSeconds: (performance.now() - t1) / 1000,
      ...(model.note === undefined ? {} : { note: model.note }),
    };
  } finally {
    trainer.dispose();
  }
}

export async function familiesBench(data: DigitSplit, recipe: FamilyRecipe): Promise<FamilyRow[]> {
  const rows: FamilyRow[] = [];
  for (const model of FAMILY_MODELS) rows.push(await familyRow(model, data, recipe));
  return rows;
}
