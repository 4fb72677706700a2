import { defaultRunConfig, type ArchitectureKind } from '@shared/config';
import { permutation } from '@shared/random';
import { createRng, STREAM } from '../engine/random';
import { gatherBatch, type ImageSet } from '../train/images';
import { VaeTrainer } from '../train/trainer';
import type { DigitSplit } from './digits';

/** What the bench measures with the engine itself, on whichever backend is active. */
export const BENCH_SPEC = { image: { width: 28, height: 28, channels: 1 as const }, latent: 16, hidden: 256 };

function trainer(kind: ArchitectureKind, seed = 1): VaeTrainer {
  return new VaeTrainer({ kind, ...BENCH_SPEC }, { ...defaultRunConfig(), seed });
}

function randomBatch(n: number): Float32Array {
  const rng = createRng(7);
  return Float32Array.from({ length: n * 784 }, () => (rng.uniform() > 0.5 ? 1 : 0));
}

export interface Throughput {
  imagesPerSec: number;
  batch: number;
  steps: number;
}

/**
 * Training steps per second × batch, after warm-up steps (kernel setup, Adam's first
 * allocation), for at least `seconds`. A small probe step first: a backend that would
 * need more than `slowLimitSec` for one full batch is measured on a smaller batch, and
 * the result says which.
 */
export async function trainingThroughput(kind: ArchitectureKind, batch: number, seconds: number, slowLimitSec = 8): Promise<Throughput> {
  const t = trainer(kind);
  try {
    const probe = Math.min(batch, 8);
    let t0 = performance.now();
    await t.step(randomBatch(probe), probe);
    const perImageSec = (performance.now() - t0) / 1000 / probe;
    const n = perImageSec * batch > slowLimitSec ? Math.min(batch, 16) : batch;
    const x = randomBatch(n);
    if (n === batch) await t.step(x, n);
    let steps = 0;
    t0 = performance.now();
    while (steps === 0 || performance.now() - t0 < seconds * 1000) {
      await t.step(x, n);
      steps++;
    }
    return { imagesPerSec: (steps * n * 1000) / (performance.now() - t0), batch: n, steps };
  } finally {
    t.dispose();
  }
}

/** Median wall time of decoding one latent code to a mean image (values read back), in ms. */
export async function decodeLatencyMs(kind: ArchitectureKind, repeats = 300): Promise<number> {
  const t = trainer(kind);
  try {
    const z = createRng(3).normals(16);
    for (let i = 0; i < 20; i++) await t.decodeMean(z, 1);
    const times: number[] = [];
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      await t.decodeMean(z, 1);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  } finally {
    t.dispose();
  }
}

/** The quality run's initialization seed; the PyTorch reference starts from the same weights. */
export const QUALITY_SEED = 1;

/**
 * The initial weights of the quality run's model, by name without the model prefix
 * (e.g. `conv1/f`), for the PyTorch reference: with identical starting points only
 * the frameworks' batch order and noise differ, not the luck of an initialization.
 */
export function initialWeights(kind: ArchitectureKind): { name: string; shape: number[]; values: number[] }[] {
  const t = trainer(kind, QUALITY_SEED);
  try {
    return t.model.variables.map((v) => ({
      name: v.name.replace(/^[a-z]+\//, '').replace(/#\d+$/, ''),
      shape: [...v.shape],
      values: Array.from(v.dataSync()),
    }));
  } finally {
    t.dispose();
  }
}

/**
 * The first `steps` losses of the quality model on the first training digits, in order,
 * and the reparameterization noise it drew (the trainer's own stream, replayed), so the
 * PyTorch reference can take the very same steps.
 */
export async function sameSteps(data: DigitSplit, batch: number, steps: number): Promise<{ losses: number[]; eps: Float32Array }> {
  const t = trainer('conv', QUALITY_SEED);
  try {
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) {
      losses.push((await t.step(gatherBatch(data.images, data.train, s * batch, (s + 1) * batch), batch)).loss);
    }
    return { losses, eps: createRng(QUALITY_SEED, STREAM.noise).normals(steps * batch * BENCH_SPEC.latent) };
  } finally {
    t.dispose();
  }
}

export interface QualityResult {
  nll: number;
  trainSeconds: number;
  evalSeconds: number;
  /** The batch order (train-part indices per epoch) and the noise the run used. */
  orders: Int32Array;
  eps: Float32Array;
}

/**
 * Train for `epochs` on the digits (batch, Adam 1e-3, same recipe as the reference),
 * then −IWAE_k on the test part. Also returns the batch order it used (train-part
 * indices, epoch after epoch) and its reparameterization noise, for the reference to
 * replay.
 */
export async function digitsQuality(kind: ArchitectureKind, data: DigitSplit, epochs: number, batch: number, k: number): Promise<QualityResult> {
  const t = trainer(kind, QUALITY_SEED);
  const images: ImageSet = data.images;
  try {
    const shuffle = createRng(QUALITY_SEED, 0x51);
    const orders = new Int32Array(epochs * data.train.length);
    const t0 = performance.now();
    for (let epoch = 0; epoch < epochs; epoch++) {
      const perm = permutation(data.train.length, shuffle.uniform);
      orders.set(perm, epoch * data.train.length);
      const order = Int32Array.from(perm, (i) => data.train[i]!);
      for (let from = 0; from < order.length; from += batch) {
        const to = Math.min(order.length, from + batch);
        await t.step(gatherBatch(images, order, from, to), to - from);
      }
    }
    const t1 = performance.now();
    const rng = createRng(2);
    let sum = 0;
    for (let from = 0; from < data.test.length; from += 16) {
      const to = Math.min(data.test.length, from + 16);
      for (const v of await t.iwaeLogLikelihood(gatherBatch(images, data.test, from, to), to - from, k, rng)) sum += v;
    }
    const eps = createRng(QUALITY_SEED, STREAM.noise).normals(epochs * data.train.length * BENCH_SPEC.latent);
    return { nll: -sum / data.test.length, trainSeconds: (t1 - t0) / 1000, evalSeconds: (performance.now() - t1) / 1000, orders, eps };
  } finally {
    t.dispose();
  }
}
