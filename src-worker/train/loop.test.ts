import { describe, expect, it } from 'vitest';
import { defaultRunConfig, type RunConfig } from '@shared/config';
import { ApiError } from '@shared/errors';
import { splitIndices } from '@shared/random';
import type { MetricPoint } from '@shared/types';
import type { EpochSummary } from '@shared/worker-protocol';
import { tf } from '../engine/tf';
import { syntheticImages, useBackend } from '../testing/setup';
import { train, type ArtifactKind, type TrainOptions, type TrainProgress } from './loop';
import type { RasterImage } from './grid';

const images = syntheticImages(40, 8, 8);

interface Recorded {
  points: MetricPoint[];
  metricCalls: number;
  progress: TrainProgress[];
  epochs: EpochSummary[];
  images: { kind: ArtifactKind; epoch: number; image: RasterImage }[];
}

function options(config: Partial<RunConfig>, extra: Partial<TrainOptions> = {}): { opts: TrainOptions; rec: Recorded } {
  const full = { ...defaultRunConfig(), hidden: 32, latent: 3, batchSize: 8, epochs: 2, validationFraction: 0.25, ...config };
  const rec: Recorded = { points: [], metricCalls: 0, progress: [], epochs: [], images: [] };
  const opts: TrainOptions = {
    config: full,
    images,
    split: splitIndices(images.count, full.validationFraction, full.seed),
    listener: {
      metrics: (p) => {
        rec.metricCalls++;
        rec.points.push(...p);
      },
      progress: (p) => rec.progress.push(p),
      epoch: (s) => rec.epochs.push(s),
      image: (kind, epoch, image) => rec.images.push({ kind, epoch, image }),
    },
    shouldStop: () => false,
    yieldToEventLoop: () => Promise.resolve(),
    ...extra,
  };
  return { opts, rec };
}

describe('training loop', () => {
  it('streams per-step metrics, validation, epochs and image grids, then a summary', async () => {
    await useBackend('wasm');
    const before = tf.memory().numTensors;
    const { opts, rec } = options({});
    const result = await train(opts);
    expect(tf.memory().numTensors).toBe(before);

    expect(result.reason).toBe('finished');
    const stepsPerEpoch = Math.ceil(30 / 8);
    const steps = rec.points.filter((p) => p.name === 'loss').map((p) => p.step);
    expect(steps).toEqual(Array.from({ length: 2 * stepsPerEpoch }, (_, i) => i + 1));
    for (const name of ['recon', 'kl']) expect(rec.points.filter((p) => p.name === name)).toHaveLength(steps.length);
    expect(rec.points.every((p) => Number.isFinite(p.value) && p.t >= 0)).toBe(true);

    expect(rec.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    for (const e of rec.epochs) {
      expect(e.metrics['val_elbo']).toBeLessThan(0);
      expect(e.metrics['val_loss']).toBeCloseTo(-e.metrics['val_elbo']!, 6);
      expect(e.metrics['val_recon']! + e.metrics['val_kl']!).toBeCloseTo(e.metrics['val_loss']!, 3);
    }
    const valPoints = rec.points.filter((p) => p.name === 'val_elbo');
    expect(valPoints.map((p) => p.step)).toEqual([stepsPerEpoch, 2 * stepsPerEpoch]);

    const kinds = rec.images.map((i) => `${i.kind}@${i.epoch}`);
    expect(kinds).toEqual(['reconstructions@1', 'samples@1', 'reconstructions@2', 'samples@2']);
    const recon = rec.images[0]!.image;
    // 8 columns × 2 rows of 8×8 tiles with 2 px gaps.
    expect([recon.width, recon.height, recon.channels]).toEqual([8 * 8 + 9 * 2, 2 * 8 + 3 * 2, 1]);
    const samples = rec.images[1]!.image;
    expect([samples.width, samples.height]).toEqual([8 * 8 + 9 * 2, 4 * 8 + 5 * 2]);

    const last = rec.progress.at(-1)!;
    expect(last).toMatchObject({ epoch: 2, epochs: 2, step: 2 * stepsPerEpoch, stepsPerEpoch });
    expect(last.imagesPerSec).toBeGreaterThan(0);
    expect(result.summary).toMatchObject({ epochs: 2, steps: 2 * stepsPerEpoch });
    for (const key of ['loss', 'val_elbo', 'val_loss', 'imagesPerSec']) expect(Number.isFinite(result.summary[key])).toBe(true);
  });

  it('draws samples from the same prior noise every epoch', async () => {
    await useBackend('wasm');
    // With learning rate ~0 the model barely moves, so fixed noise gives (nearly) the same grid.
    const { opts, rec } = options({ learningRate: 1e-6 });
    await train(opts);
    const [a, b] = rec.images.filter((i) => i.kind === 'samples').map((i) => i.image.pixels);
    let differing = 0;
    a!.forEach((v, i) => (differing += Math.abs(v - b![i]!) > 1 ? 1 : 0));
    expect(differing).toBe(0);
  });

  it('stops after the current step when asked', async () => {
    await useBackend('wasm');
    let polls = 0;
    const { opts, rec } = options({ epochs: 50 }, { shouldStop: () => ++polls >= 3 });
    const result = await train(opts);
    expect(result.reason).toBe('stopped');
    expect(result.summary['steps']).toBe(3);
    expect(rec.points.filter((p) => p.name === 'loss')).toHaveLength(3);
  });

  it('labels evaluation on training images train_* when there is no validation split', async () => {
    await useBackend('wasm');
    const { opts, rec } = options({ validationFraction: 0, epochs: 1 });
    await train(opts);
    expect(Object.keys(rec.epochs[0]!.metrics)).toContain('train_elbo');
    expect(Object.keys(rec.epochs[0]!.metrics)).not.toContain('val_elbo');
  });

  it('reports a non-finite loss as a learning-rate error and never sends NaN', async () => {
    await useBackend('wasm');
    const { opts, rec } = options({ learningRate: 1, decoder: 'gaussian', gaussianSigma: 1e-4, epochs: 20 });
    const error = await train(opts).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('worker_failed');
    expect((error as ApiError).message).toMatch(/^Loss became (NaN|infinite) at epoch \d+ step \d+ — try a lower learning rate$/);
    expect((error as ApiError).details).toMatchObject({ field: 'learningRate' });
    expect(rec.points.every((p) => Number.isFinite(p.value))).toBe(true);
  });

  it('refuses a conv model that cannot fit the images', async () => {
    await useBackend('wasm');
    const small = syntheticImages(10, 6, 6);
    const { opts } = options({ model: 'conv' });
    const error = await train({ ...opts, images: small, split: splitIndices(10, 0.2, 1) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).details).toMatchObject({ field: 'model' });
  });
});
