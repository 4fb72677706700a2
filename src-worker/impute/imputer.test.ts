import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultRunConfig } from '@shared/config';
import { imputeMethods, type ImputeMethod } from '@shared/inference';
import { makeMask } from '@shared/pixel-mask';
import { createRng } from '../engine/random';
import { tf } from '../engine/tf';
import { syntheticImages, useBackend } from '../testing/setup';
import { gatherBatch } from '../train/images';
import { VaeTrainer } from '../train/trainer';
import { evaluateImputation, pixelMeans } from './evaluate';
import { createImputer, type ImputeOptions, type ImputeProblem } from './imputer';

/**
 * A small MLP VAE trained for a few hundred steps on 8×8 blobs (seconds on wasm): it has
 * learned enough structure that imputation has something to get right.
 */
const images = syntheticImages(400, 8, 8);
const D = 64;
const train = Int32Array.from({ length: 300 }, (_, i) => i);
const heldOut = Int32Array.from({ length: 100 }, (_, i) => 300 + i);
let trainer: VaeTrainer;
let means: Float32Array;

beforeAll(async () => {
  await useBackend('wasm');
  trainer = new VaeTrainer({ kind: 'mlp', image: images.shape, latent: 3, hidden: 64 }, { ...defaultRunConfig(), learningRate: 3e-3, seed: 5 });
  for (let step = 0; step < 400; step++) {
    const from = (step * 30) % 300;
    await trainer.step(gatherBatch(images, train, from, from + 30), 30);
  }
  means = pixelMeans(images, train);
}, 60_000);

afterAll(() => trainer?.dispose());

function problem(indices: ArrayLike<number>, missing: Uint8Array): ImputeProblem {
  return { model: trainer.model, decoder: trainer.decoder, x: gatherBatch(images, indices, 0, indices.length), n: indices.length, missing, init: means };
}

const options = (method: ImputeMethod, overrides: Partial<ImputeOptions> = {}): ImputeOptions => ({
  method,
  samples: 4,
  proposals: 32,
  iterations: 10,
  rng: createRng(7),
  ...overrides,
});

async function run(p: ImputeProblem, o: ImputeOptions) {
  const imputer = createImputer(p, o);
  try {
    for (let i = 0; i < o.iterations; i++) await imputer.step();
    return { snapshot: await imputer.snapshot(), latents: await imputer.latents() };
  } finally {
    imputer.dispose();
  }
}

describe('imputation engine', () => {
  for (const method of imputeMethods) {
    it(`${method}: leaves the tensor count unchanged, keeps observed pixels and fills missing ones in [0, 1]`, async () => {
      const mask = makeMask('random50', 8, 8, createRng(3).uniform);
      const missing = new Uint8Array([...mask, ...mask]);
      const p = problem([heldOut[0]!, heldOut[1]!], missing);
      const before = tf.memory().numTensors;
      const imputer = createImputer(p, options(method));
      await imputer.snapshot(); // a snapshot before the first step is the start fill
      for (let i = 0; i < 10; i++) await imputer.step();
      const snap = await imputer.snapshot();
      await imputer.latents();
      imputer.dispose();
      expect(tf.memory().numTensors).toBe(before);
      expect(snap.iteration).toBe(10);
      expect(snap.samples.length).toBe(2 * 4 * D);
      let changed = 0;
      for (let i = 0; i < 2 * D; i++) {
        if (missing[i]) {
          expect(snap.mean[i]).toBeGreaterThanOrEqual(0);
          expect(snap.mean[i]).toBeLessThanOrEqual(1);
          if (Math.abs(snap.mean[i]! - means[i % D]!) > 1e-3) changed++;
        } else {
          expect(snap.mean[i]).toBe(p.x[i]);
          expect(snap.std[i]).toBe(0);
        }
      }
      // The missing pixels moved away from their start (the pixel means).
      expect(changed).toBeGreaterThan(10);
    });

    it(`${method}: a mask with no missing pixel gives back the input exactly`, async () => {
      const p = problem([heldOut[2]!], new Uint8Array(D));
      const { snapshot } = await run(p, options(method, { iterations: 3 }));
      expect(Array.from(snapshot.mean)).toEqual(Array.from(p.x));
      for (let k = 0; k < 4; k++) expect(Array.from(snapshot.samples.subarray(k * D, (k + 1) * D))).toEqual(Array.from(p.x));
      expect(snapshot.std.every((v) => v === 0)).toBe(true);
    });
  }

  it('refuses a mask of the wrong size, naming the field', () => {
    const p = problem([heldOut[0]!], new Uint8Array(D - 1));
    expect(() => createImputer(p, options('importance'))).toThrow(expect.objectContaining({ code: 'invalid_input', details: { field: 'mask' } }));
  });

  it('the same seed gives the same imputation, another seed another', async () => {
    const mask = makeMask('top', 8, 8, Math.random);
    const p = problem([heldOut[3]!], mask);
    const a = await run(p, options('metropolis', { rng: createRng(11) }));
    const b = await run(p, options('metropolis', { rng: createRng(11) }));
    const c = await run(p, options('metropolis', { rng: createRng(12) }));
    expect(Array.from(a.snapshot.mean)).toEqual(Array.from(b.snapshot.mean));
    expect(Array.from(a.snapshot.mean)).not.toEqual(Array.from(c.snapshot.mean));
  });
});

describe('an all-missing mask samples the prior', () => {
  /** Weighted mean and variance of each latent dim over all rows. */
  function moments(z: Float32Array, weights: Float32Array, d: number): { mean: number[]; variance: number[] } {
    const total = weights.reduce((s, w) => s + w, 0);
    const mean = Array.from({ length: d }, (_, j) => weights.reduce((s, w, r) => s + w * z[r * d + j]!, 0) / total);
    const variance = mean.map((m, j) => weights.reduce((s, w, r) => s + w * (z[r * d + j]! - m) ** 2, 0) / total);
    return { mean, variance };
  }

  /** E_p(z)[E[x|z]] by decoding many prior draws. */
  async function priorMeanImage(): Promise<Float32Array> {
    const count = 4000;
    const decoded = await trainer.decodeMean(createRng(99).normals(count * 3), count);
    const out = new Float32Array(D);
    for (let r = 0; r < count; r++) for (let i = 0; i < D; i++) out[i]! += decoded[r * D + i]! / count;
    return out;
  }

  const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

  it('Metropolis-within-Gibbs: the chains’ z end up N(0, I) and their mean image is the prior’s', async () => {
    // 400 chains of one image; the start (codes of the pixel-mean image) is far narrower
    // than the prior, so this fails when the acceptance ratio is wrong (pseudo-Gibbs,
    // i.e. always accepting, ends at variances near 2.4, 1.7, 1.0 on this model).
    const p = problem([heldOut[0]!], new Uint8Array(D).fill(1));
    const { snapshot, latents } = await run(p, options('metropolis', { samples: 400, iterations: 300, rng: createRng(22) }));
    const { mean, variance } = moments(latents.z, latents.weights, 3);
    for (const m of mean) expect(Math.abs(m)).toBeLessThan(0.2);
    for (const v of variance) expect(v).toBeGreaterThan(0.7);
    for (const v of variance) expect(v).toBeLessThan(1.35);
    expect(snapshot.diagnostic?.name).toBe('acceptance');
    expect(snapshot.diagnostic!.value).toBeGreaterThan(0);
    expect(snapshot.diagnostic!.value).toBeLessThan(1);
    expect(maxDiff(snapshot.mean, await priorMeanImage())).toBeLessThan(0.08);
  }, 60_000);

  it('importance-weighted: the weighted codes have the prior’s moments and the mean image is the prior’s', async () => {
    const p = problem([heldOut[0]!], new Uint8Array(D).fill(1));
    const { snapshot, latents } = await run(p, options('importance', { proposals: 1024, iterations: 20, rng: createRng(23) }));
    const { mean, variance } = moments(latents.z, latents.weights, 3);
    for (const m of mean) expect(Math.abs(m)).toBeLessThan(0.2);
    for (const v of variance) expect(v).toBeGreaterThan(0.75);
    for (const v of variance) expect(v).toBeLessThan(1.3);
    expect(maxDiff(snapshot.mean, await priorMeanImage())).toBeLessThan(0.05);
  }, 60_000);

  it('latent optimization goes to the prior’s mode z = 0', async () => {
    const p = problem([heldOut[0]!], new Uint8Array(D).fill(1));
    const { snapshot, latents } = await run(p, options('optimize', { iterations: 300, learningRate: 0.05 }));
    for (const v of latents.z) expect(Math.abs(v)).toBeLessThan(0.05);
    const atZero = await trainer.decodeMean(new Float32Array(3), 1);
    expect(maxDiff(snapshot.mean, atZero)).toBeLessThan(0.02);
  });
});

describe('evaluation on held-out images', () => {
  it('every method beats the per-pixel mean on the missing bottom half, and the scores are honest MSEs', async () => {
    const report = await evaluateImputation({
      model: trainer.model,
      decoder: trainer.decoder,
      images,
      indices: heldOut.subarray(0, 40),
      means,
      mask: 'bottom',
      methods: imputeMethods,
      iterations: 20,
      proposals: 32,
      seed: 1,
    });
    expect(report.binary).toBe(false);
    expect(report.missingFraction).toBeCloseTo(0.5, 5);
    const floor = report.scores.find((s) => s.method === 'pixel-mean')!;
    // The floor by hand: squared error of the training means on the bottom half.
    const truth = gatherBatch(images, heldOut, 0, 40);
    let sq = 0;
    for (let r = 0; r < 40; r++) for (let i = 32; i < 64; i++) sq += (truth[r * D + i]! - means[i]!) ** 2;
    expect(floor.mse).toBeCloseTo(sq / (40 * 32), 6);
    expect(floor.accuracy).toBeNull();
    for (const method of imputeMethods) {
      const s = report.scores.find((r) => r.method === method)!;
      expect(s.mse, method).toBeLessThan(floor.mse);
    }
  }, 60_000);
});

describe('decoder terms imputation relies on', () => {
  it('per-pixel log-likelihoods sum to log p(x|z), and samples follow the decoder', async () => {
    const config = { ...defaultRunConfig(), gaussianSigma: 0.2 };
    const { createDecoder } = await import('../objectives/decoders');
    const decoders = [createDecoder(config, 6), createDecoder({ ...config, decoder: 'gaussian' }, 6), createDecoder({ ...config, decoder: 'gaussian', decoderVariance: 'per-pixel' }, 6)];
    for (const decoder of decoders) {
      const [sum, perPixel] = tf.tidy(() => {
        const x = tf.tensor2d([[0, 1, 0.5, 0.2, 1, 0], [1, 1, 0, 0.3, 0.9, 0.1]]);
        const out = tf.tensor2d([[-2, 3, 0.1, -0.4, 5, -7], [1, 0, -1, 2, -2, 0.5]]);
        return [decoder.logLikelihood(x, out), tf.sum(decoder.pixelLogLikelihood(x, out), 1)];
      });
      const a = await sum.data();
      const b = await perPixel.data();
      tf.dispose([sum, perPixel]);
      for (let i = 0; i < 2; i++) expect(b[i]).toBeCloseTo(a[i]!, 4);
    }
    // Bernoulli draws: the share of ones is σ(logit).
    const n = 20_000;
    const rng = createRng(4);
    const u = Float32Array.from({ length: n }, () => rng.uniform());
    const ones = await tf.tidy(() => tf.mean(decoders[0]!.sample(tf.fill([n, 1], 1) as tf.Tensor2D, tf.tensor2d(u, [n, 1])))).data();
    expect(ones[0]).toBeCloseTo(1 / (1 + Math.exp(-1)), 1);
    decoders.forEach((d) => d.dispose());
  });
});

describe('a logistic mixture decoder', () => {
  it('every method imputes with it: observed pixels kept, missing ones filled in [0, 1]', async () => {
    const logistic = new VaeTrainer(
      { kind: 'mlp', image: images.shape, latent: 3, hidden: 64 },
      { ...defaultRunConfig(), decoder: 'logistic', mixtureComponents: 3, learningRate: 3e-3, seed: 5 },
    );
    try {
      for (let step = 0; step < 150; step++) {
        const from = (step * 30) % 300;
        await logistic.step(gatherBatch(images, train, from, from + 30), 30);
      }
      const missing = makeMask('random50', 8, 8, createRng(3).uniform);
      const x = gatherBatch(images, heldOut, 0, 1);
      for (const method of imputeMethods) {
        const before = tf.memory().numTensors;
        const { snapshot } = await run({ model: logistic.model, decoder: logistic.decoder, x, n: 1, missing, init: means }, options(method, { iterations: 4 }));
        expect(tf.memory().numTensors, method).toBe(before);
        let moved = 0;
        for (let i = 0; i < D; i++) {
          if (!missing[i]) {
            expect(snapshot.mean[i], method).toBe(x[i]);
            continue;
          }
          expect(snapshot.mean[i]).toBeGreaterThanOrEqual(0);
          expect(snapshot.mean[i]).toBeLessThanOrEqual(1);
          if (Math.abs(snapshot.mean[i]! - means[i]!) > 1e-3) moved++;
          for (let k = 0; k < 4; k++) {
            expect(snapshot.samples[k * D + i]).toBeGreaterThanOrEqual(0);
            expect(snapshot.samples[k * D + i]).toBeLessThanOrEqual(1);
          }
        }
        expect(moved, method).toBeGreaterThan(5);
      }
    } finally {
      logistic.dispose();
    }
  }, 120_000);
});

describe('RGB models', () => {
  it('a missing pixel is imputed in all three channels; observed ones are kept', async () => {
    const { expandMask } = await import('./evaluate');
    const rgb = syntheticImages(120, 8, 8, 3);
    const order = Int32Array.from({ length: 120 }, (_, i) => i);
    const model = new VaeTrainer({ kind: 'mlp', image: rgb.shape, latent: 3, hidden: 32 }, { ...defaultRunConfig(), learningRate: 3e-3, seed: 2 });
    try {
      for (let step = 0; step < 60; step++) {
        const from = (step * 20) % 100;
        await model.step(gatherBatch(rgb, order, from, from + 20), 20);
      }
      const pixelMask = makeMask('top', 8, 8, Math.random);
      const missing = expandMask(pixelMask, 3);
      expect(missing.length).toBe(192);
      const x = gatherBatch(rgb, [110], 0, 1);
      for (const method of imputeMethods) {
        const imputer = createImputer(
          { model: model.model, decoder: model.decoder, x, n: 1, missing, init: pixelMeans(rgb, order.subarray(0, 100)) },
          options(method, { iterations: 5 }),
        );
        for (let i = 0; i < 5; i++) await imputer.step();
        const { mean, std } = await imputer.snapshot();
        imputer.dispose();
        for (let p = 0; p < 64; p++) {
          for (let c = 0; c < 3; c++) {
            const i = p * 3 + c;
            if (pixelMask[p]) expect(std[i], `${method} pixel ${p} channel ${c}`).toBeGreaterThanOrEqual(0);
            else expect(mean[i]).toBe(x[i]);
          }
        }
        // The missing rows are filled per channel, not copies of one channel.
        const channelSpread = Array.from({ length: 32 }, (_, p) => Math.abs(mean[p * 3]! - mean[p * 3 + 1]!));
        expect(Math.max(...channelSpread), method).toBeGreaterThan(0.05);
      }
    } finally {
      model.dispose();
    }
  }, 60_000);
});
