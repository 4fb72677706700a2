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
import type { TrainingCheckpoint } from './checkpoint-state';
import { decodeCheckpoint, encodeCheckpoint } from '../io/checkpoint-file';
import { TRAVERSAL_VALUES } from './epoch-images';

const images = syntheticImages(40, 8, 8);

interface Recorded {
  points: MetricPoint[];
  metricCalls: number;
  progress: TrainProgress[];
  epochs: EpochSummary[];
  images: { kind: ArtifactKind; epoch: number; image: RasterImage }[];
  checkpoints: TrainingCheckpoint[];
}

function options(config: Partial<RunConfig>, extra: Partial<TrainOptions> = {}): { opts: TrainOptions; rec: Recorded } {
  const full = { ...defaultRunConfig(), hidden: 32, latent: 3, batchSize: 8, epochs: 2, validationFraction: 0.25, ...config };
  const rec: Recorded = { points: [], metricCalls: 0, progress: [], epochs: [], images: [], checkpoints: [] };
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
      checkpoint: (c) => rec.checkpoints.push(c),
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
    expect(kinds).toEqual(['reconstructions@1', 'samples@1', 'traversal@1', 'reconstructions@2', 'samples@2', 'traversal@2']);
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
    const { opts } = options({ architecture: 'conv' });
    const error = await train({ ...opts, images: small, split: splitIndices(10, 0.2, 1) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).details).toMatchObject({ field: 'architecture' });
  });
});

describe('training loop: evaluation, checkpoints and resume', () => {
  it('reports per-dim KL, active units, timing and schedules per epoch, and a traversal grid', async () => {
    await useBackend('wasm');
    const { opts, rec } = options({ latent: 3, klWarmupSteps: 4, epochs: 2 });
    await train(opts);
    const byName = (name: string): MetricPoint[] => rec.points.filter((p) => p.name === name);
    for (const j of [0, 1, 2]) expect(byName(`kl_dim_${j}`).map((p) => p.epoch)).toEqual([1, 2]);
    expect(byName('kl_dim_3')).toHaveLength(0);
    const epoch1 = rec.epochs[0]!.metrics;
    const klSum = [0, 1, 2].reduce((s, j) => s + byName(`kl_dim_${j}`)[0]!.value, 0);
    expect(klSum).toBeCloseTo(epoch1['val_kl']!, 4);
    const active = [0, 1, 2].filter((j) => byName(`kl_dim_${j}`)[0]!.value > 0.01).length;
    expect(epoch1['val_active_dims']).toBe(active);
    expect(epoch1['epoch_seconds']).toBeGreaterThan(0);
    expect(epoch1['images_per_sec']).toBeGreaterThan(0);
    // 4 steps per epoch: β(t) = min(1, t/4) reaches 1 at the end of epoch 1.
    expect(epoch1['kl_weight']).toBe(1);
    expect(epoch1['lr']).toBe(1e-3);
    const traversal = rec.images.find((i) => i.kind === 'traversal')!.image;
    // One row per latent dim (3), one column per value.
    expect([traversal.width, traversal.height]).toEqual([TRAVERSAL_VALUES.length * 10 + 2, 3 * 10 + 2]);
  });

  it('checkpoints every epoch with the best evaluation loss so far, then evaluates IWAE on the test split', async () => {
    await useBackend('wasm');
    const split = splitIndices(images.count, 0.25, 1);
    const test = split.train.slice(0, 5);
    const { opts, rec } = options({ epochs: 3, iwaeSamples: 20 });
    const result = await train({ ...opts, split: { train: split.train.slice(5), validation: split.validation, test } });
    // 25 training images in batches of 8: 4 steps per epoch.
    expect(rec.checkpoints.map((c) => [c.epoch, c.step])).toEqual([
      [1, 4],
      [2, 8],
      [3, 12],
    ]);
    let best = Infinity;
    for (const c of rec.checkpoints) {
      expect(c.progress.evalLoss).toBeCloseTo(rec.epochs[c.epoch - 1]!.metrics['val_loss']!, 6);
      expect(c.progress.isBest).toBe(c.progress.evalLoss! < best);
      best = Math.min(best, c.progress.evalLoss!);
      expect(c.progress.bestEvalLoss).toBe(best);
    }
    expect(result.summary['iwae_k']).toBe(20);
    expect(result.summary['test_images']).toBe(5);
    expect(result.summary['test_nll']).toBeGreaterThan(0);
    expect(result.summary['test_bpd']).toBeCloseTo(result.summary['test_nll']! / (64 * Math.LN2), 9);
    const testPoints = rec.points.filter((p) => p.name.startsWith('test_') || p.name === 'iwae_k');
    expect(testPoints.map((p) => `${p.name}@${p.step}`).sort()).toEqual(['iwae_k@12', 'test_bpd@12', 'test_nll@12']);
    expect(rec.progress.some((p) => p.phase === 'evaluating')).toBe(true);
  });

  it('budgets the test bound: from a priced first batch it picks the images and k a quarter of the training time buys', async () => {
    await useBackend('wasm');
    // A clock that moves 40 ms per reading: training "costs" a few readings, so the budget
    // is its floor (3 s), and the probe reads 40 ms for 16 images × (16 + 1) samples.
    let clock = 0;
    const now = (): number => (clock += 40);
    const split = splitIndices(images.count, 0.25, 1);
    // 400 test images (each stored image ten times) and k = 5 000 asked: 2 000 000 samples.
    const test = Int32Array.from({ length: 400 }, (_, i) => i % images.count);
    const { opts, rec } = options({ epochs: 1, iwaeSamples: 5000 }, { now });
    const result = await train({ ...opts, split: { ...split, test } });
    expect(result.reason).toBe('finished');
    // 2 960 ms at 40/272 ms per image-sample buys 20 128: all 400 images at k ≤ 49, so k = 20.
    expect(result.summary).toMatchObject({ test_images: 400, test_images_total: 400, iwae_k: 20, iwae_budget_seconds: 3, test_nll_partial: 0 });
    const evaluating = rec.progress.filter((p) => p.phase === 'evaluating');
    expect(evaluating[0]!.evaluated).toEqual({ done: 0, total: 400, k: 16 });
    expect(evaluating.at(-1)!.evaluated).toEqual({ done: 400, total: 400, k: 20 });
  });

  it('ends finished when stopped during the test bound, keeping the figure so far marked partial', async () => {
    await useBackend('wasm');
    const split = splitIndices(images.count, 0.25, 1);
    const test = Int32Array.from({ length: 64 }, (_, i) => i % images.count);
    let stopAsked = false;
    const { opts, rec } = options(
      { epochs: 1, iwaeSamples: 20 },
      { shouldStop: () => stopAsked, waitWhilePaused: () => Promise.resolve() },
    );
    opts.listener.progress = (p) => {
      rec.progress.push(p);
      if ((p.evaluated?.done ?? 0) > 0) stopAsked = true;
    };
    const result = await train({ ...opts, split: { ...split, test } });
    expect(result.reason).toBe('finished');
    // One batch of 16 images read before the stop was seen.
    expect(result.summary).toMatchObject({ test_images: 16, test_images_total: 64, iwae_k: 20, test_nll_partial: 1 });
    expect(result.summary['test_nll']).toBeGreaterThan(0);
    expect(rec.points.some((p) => p.name === 'test_nll')).toBe(true);
  });

  it('resumes from a checkpoint file exactly: the later losses equal an uninterrupted run’s', async () => {
    await useBackend('wasm');
    const config: Partial<RunConfig> = { epochs: 3, denoise: 'gaussian', lrDecay: 'step', lrDecaySteps: 2, seed: 7 };
    const whole = options(config);
    await train(whole.opts);
    const losses = (points: MetricPoint[]): [number, number][] => points.filter((p) => p.name === 'loss').map((p) => [p.step, p.value]);

    // Interrupted in epoch 2 (polls: 4 steps, 1 validation batch, then the 1st step of
    // epoch 2); what happened after the epoch-1 checkpoint is lost, as after a kill.
    let polls = 0;
    const first = options(config, { shouldStop: () => ++polls >= 6 });
    await train(first.opts);
    const saved = first.rec.checkpoints.at(-1)!;
    expect(saved.epoch).toBe(1);
    const restored = decodeCheckpoint(encodeCheckpoint(saved, config)).checkpoint;

    const before = tf.memory().numTensors;
    const resumed = options(config, { resume: restored });
    const result = await train(resumed.opts);
    expect(tf.memory().numTensors).toBe(before);
    expect(result.summary['epochs']).toBe(3);
    const expected = losses(whole.rec.points).filter(([step]) => step > saved.step);
    expect(losses(resumed.rec.points)).toEqual(expected);
    expect(resumed.rec.epochs.map((e) => e.epoch)).toEqual([2, 3]);
    expect(resumed.rec.epochs.at(-1)!.metrics['val_loss']).toBe(whole.rec.epochs.at(-1)!.metrics['val_loss']);
    // The time axis continues instead of restarting at 0.
    const firstResumed = resumed.rec.points.find((p) => p.name === 'loss')!;
    expect(firstResumed.t).toBeGreaterThanOrEqual(Math.round(saved.progress.elapsedMs));
  });

  it('leaves time held paused out of the ETA: a paused run reports the same estimates as one never paused', async () => {
    await useBackend('wasm');
    const etas = async (pauseMs: number): Promise<(number | null)[]> => {
      let clock = 0;
      let waits = 0;
      const { opts, rec } = options(
        { epochs: 3 },
        {
          progressIntervalMs: 0,
          now: () => (clock += 500),
          // The first wait, after the first step, holds for pauseMs of the clock.
          waitWhilePaused: () => {
            if (++waits === 1) clock += pauseMs;
            return Promise.resolve();
          },
        },
      );
      await train(opts);
      return rec.progress.filter((p) => p.phase === 'training').map((p) => p.etaSeconds);
    };
    const never = await etas(0);
    expect(never.some((eta) => eta !== null && eta > 0)).toBe(true);
    expect(await etas(3_600_000)).toEqual(never);
  });

  it('holds between steps while paused, and continues when released', async () => {
    await useBackend('wasm');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let waits = 0;
    const { opts, rec } = options({ epochs: 1 }, { metricsIntervalMs: 0, waitWhilePaused: () => (++waits === 1 ? held : Promise.resolve()) });
    const running = train(opts);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const steps = (): number => rec.points.filter((p) => p.name === 'loss').length;
    expect(steps()).toBe(1);
    release();
    await running;
    expect(steps()).toBe(4);
    // Checked after every step and every evaluation batch.
    expect(waits).toBe(5);
  });
});
