import { describe, expect, it } from 'vitest';
import { defaultRunConfig, type RunConfig } from '@shared/config';
import { tf } from '../engine/tf';
import { createRng } from '../engine/random';
import { createMadePrior, sampleMade } from '../model/made';
import { emaUpdate, perplexity, type EmaState } from '../objectives/vq';
import { syntheticImages, useBackend } from '../testing/setup';
import { gatherBatch } from './images';
import { VqVaeTrainer, type VqTrainerConfig } from './vq-trainer';

const images = syntheticImages(64, 8, 8);
const all = Int32Array.from({ length: images.count }, (_, i) => i);

function makeTrainer(overrides: Partial<RunConfig> = {}, kind: 'mlp' | 'conv' = 'conv'): VqVaeTrainer {
  const config: VqTrainerConfig = { ...defaultRunConfig(), family: 'vqvae', codebookSize: 16, codeDim: 4, learningRate: 3e-3, epochs: 4, priorEpochs: 1, ...overrides };
  return new VqVaeTrainer({ kind, image: images.shape, hidden: 32, codeDim: config.codeDim, positions: 4 }, config);
}

async function steps(trainer: VqVaeTrainer, count: number): Promise<{ loss: number; extra: Record<string, number> }[]> {
  const out: { loss: number; extra: Record<string, number> }[] = [];
  for (let s = 0; s < count; s++) {
    const from = (s * 16) % images.count;
    const stats = await trainer.step(gatherBatch(images, all, from, from + 16), 16);
    out.push({ loss: stats.loss, extra: stats.extra ?? {} });
  }
  return out;
}

describe('VQ pieces', () => {
  it('perplexity is exp(entropy of usage): 1 for one code, K for K codes used equally', () => {
    expect(perplexity([0, 10, 0, 0])).toBeCloseTo(1, 12);
    expect(perplexity([5, 5, 5, 5])).toBeCloseTo(4, 12);
    expect(perplexity([3, 1])).toBeCloseTo(Math.exp(-(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25))), 12);
  });

  it('EMA: cluster sizes and sums decay towards the batch, and each code moves to the mean of its vectors', async () => {
    await useBackend('cpu');
    const state: EmaState = {
      codebook: tf.variable(tf.tensor2d([[0, 0], [10, 10]])),
      clusterSize: tf.variable(tf.tensor1d([1, 1])),
      embedSum: tf.variable(tf.tensor2d([[0, 0], [10, 10]])),
    };
    const z = tf.tensor2d([[1, 2], [3, 4], [9, 9]]);
    const counts = emaUpdate(state, z, tf.tensor1d([0, 0, 1], 'int32'), 0.5);
    expect(Array.from(await counts.data())).toEqual([2, 1]);
    expect(Array.from(await state.clusterSize.data())).toEqual([1.5, 1]);
    // m_0 = 0.5·0 + 0.5·(1+3, 2+4) = (2, 3); e_0 = m_0 / Ñ_0 ≈ (2, 3)/1.5.
    const codebook = await state.codebook.data();
    expect(codebook[0]).toBeCloseTo(2 / 1.5, 3);
    expect(codebook[1]).toBeCloseTo(3 / 1.5, 3);
    expect(codebook[2]).toBeCloseTo(9.5, 3);
    tf.dispose([state.codebook, state.clusterSize, state.embedSum, z, counts]);
  });

  it('MADE is autoregressive and normalized: Σ over every code grid of π(k) = 1, and position i ignores codes ≥ i', async () => {
    await useBackend('cpu');
    const L = 3;
    const K = 3;
    const prior = createMadePrior(L, K, 16, createRng(4));
    // Make the weights large so a leak through the masks would show.
    prior.variables.forEach((v) => tf.tidy(() => v.assign(tf.mul(tf.add(v, 0.3), 3))));
    const grids: number[] = [];
    for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) for (let c = 0; c < K; c++) grids.push(a, b, c);
    const logP = await prior.logProb(tf.tensor1d(grids, 'int32')).data();
    expect(Array.from(logP).reduce((s, v) => s + Math.exp(v), 0)).toBeCloseTo(1, 4);
    const logitsOf = async (codes: number[]): Promise<Float32Array> =>
      (await tf.tidy(() => prior.logits(tf.reshape(tf.cast(tf.oneHot(tf.tensor1d(codes, 'int32'), K), 'float32'), [1, L * K]) as tf.Tensor2D)).data()) as Float32Array;
    const base = await logitsOf([0, 1, 2]);
    const changedLast = await logitsOf([0, 1, 0]);
    const changedFirst = await logitsOf([2, 1, 2]);
    // Position 1 and 2 do not see the last code; position 0 sees nothing at all.
    expect(Array.from(changedLast.subarray(0, 2 * K))).toEqual(Array.from(base.subarray(0, 2 * K)));
    expect(Array.from(changedFirst.subarray(0, K))).toEqual(Array.from(base.subarray(0, K)));
    expect(Array.from(changedFirst.subarray(K, 2 * K))).not.toEqual(Array.from(base.subarray(K, 2 * K)));
    const samples = await sampleMade(prior, 5, createRng(1));
    expect(samples.every((k) => k >= 0 && k < K)).toBe(true);
    prior.dispose();
  });
});

describe('VqVaeTrainer', () => {
  it('learns with more than one code in use, restarts dead codes, and leaves no tensor behind', async () => {
    await useBackend('wasm');
    // Codes far from every encoder output start dead: the restarts must bring them in.
    const trainer = makeTrainer({ seed: 2 });
    try {
      tf.tidy(() => trainer.ema.codebook.assign(tf.add(trainer.ema.codebook, 50)));
      const first = await steps(trainer, 1);
      const before = tf.memory().numTensors;
      const later = await steps(trainer, 60);
      expect(tf.memory().numTensors).toBe(before);
      const restarted = [...first, ...later].reduce((n, s) => n + (s.extra['codes_restarted'] ?? 0), 0);
      expect(restarted).toBeGreaterThan(0);
      expect(later.at(-1)!.extra['perplexity']).toBeGreaterThan(2);
      expect(later.at(-1)!.loss).toBeLessThan(first[0]!.loss);
      const sums = await trainer.evaluate(gatherBatch(images, all, 0, 32), 32);
      expect(sums.codeCounts!.reduce((a, b) => a + b, 0)).toBe(32 * 4);
      expect(perplexity(sums.codeCounts!)).toBeGreaterThan(1.5);
      // Before the prior trains, the KL is L·log K per image (uniform prior over codes).
      expect(sums.kl / 32).toBeCloseTo(4 * Math.log(16), 4);
      await trainer.reconstruct(gatherBatch(images, all, 0, 4), 4);
      await trainer.sample(3, createRng(1));
      await trainer.iwaeLogLikelihood(gatherBatch(images, all, 0, 4), 4);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      trainer.dispose();
    }
  });

  it('the prior epochs lower −log p(k) below the uniform L·log K, with the autoencoder frozen', async () => {
    await useBackend('wasm');
    const trainer = makeTrainer({ seed: 3 }, 'mlp');
    try {
      trainer.beginEpoch(1);
      await steps(trainer, 40);
      const batch = gatherBatch(images, all, 0, 32);
      const reconBefore = await trainer.reconstruct(batch, 32);
      trainer.beginEpoch(4);
      await steps(trainer, 80);
      const sums = await trainer.evaluate(batch, 32);
      expect(trainer.priorTrained).toBe(true);
      expect(sums.kl / 32).toBeLessThan(4 * Math.log(16) - 1);
      expect(Array.from(await trainer.reconstruct(batch, 32))).toEqual(Array.from(reconBefore));
      // The bound uses the prior: log p(x|z_q) − (−log π(k)).
      const bound = (await trainer.iwaeLogLikelihood(batch, 32)).reduce((a, b) => a + b, 0) / 32;
      expect(bound).toBeCloseTo((sums.logLikelihood - sums.kl) / 32, 3);
    } finally {
      trainer.dispose();
    }
  });

  it('exports and imports its whole state (codebook, EMA, both optimizers): the continuation is the same', async () => {
    await useBackend('wasm');
    const a = makeTrainer({ seed: 5 });
    const b = makeTrainer({ seed: 99 });
    try {
      await steps(a, 5);
      a.beginEpoch(4);
      await steps(a, 2);
      b.importState(await a.exportState());
      b.beginEpoch(4);
      expect((await steps(b, 2)).map((s) => s.loss)).toEqual((await steps(a, 2)).map((s) => s.loss));
      a.beginEpoch(1);
      b.beginEpoch(1);
      expect(await steps(b, 2)).toEqual(await steps(a, 2));
    } finally {
      a.dispose();
      b.dispose();
    }
  });
});
