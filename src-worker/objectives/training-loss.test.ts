import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../engine/tf';
import { useBackend } from '../testing/setup';
import { trainingObjective } from './training-loss';
import type { ObjectiveSettings } from './schedule';

const base: ObjectiveSettings = { kind: 'beta', klWeight: 1, freeBits: 0, capacity: 0, gamma: 1 };
const scalar = (t: tf.Tensor): number => t.dataSync()[0]!;

// Two images, three latent dims; recon = mean(−log p) = 15, mean KL = 0.6 + 0.05 + 1 = 1.65.
const parts = () => ({
  logLikelihood: tf.tensor1d([-10, -20]),
  klPerDim: tf.tensor2d([
    [1.0, 0.0, 2.0],
    [0.2, 0.1, 0.0],
  ]),
  kl: tf.tensor1d([3.0, 0.3]),
});

describe('training objectives', () => {
  beforeAll(() => useBackend('cpu'));

  it('beta: recon + β(t)·KL', () => {
    tf.tidy(() => {
      const o = trainingObjective(parts(), { ...base, klWeight: 0.5 });
      expect(scalar(o.recon)).toBeCloseTo(15, 5);
      expect(scalar(o.kl)).toBeCloseTo(1.65, 5);
      expect(scalar(o.loss)).toBeCloseTo(15 + 0.5 * 1.65, 5);
    });
  });

  it('free bits: Σ_j max(λ, KL_j) with KL_j the batch mean per dim, reported KL unchanged', () => {
    tf.tidy(() => {
      // Batch means per dim: 0.6, 0.05, 1.0; with λ = 0.5 → 0.6 + 0.5 + 1.0 = 2.1.
      const o = trainingObjective(parts(), { ...base, klWeight: 2, freeBits: 0.5 });
      expect(scalar(o.loss)).toBeCloseTo(15 + 2 * 2.1, 5);
      expect(scalar(o.kl)).toBeCloseTo(1.65, 5);
    });
  });

  it('free bits give no gradient to a dim below λ, and the plain KL gradient above it', () => {
    tf.tidy(() => {
      const klPerDim = tf.tensor2d([[0.1, 2.0]]);
      const grad = tf.grad((k: tf.Tensor) =>
        trainingObjective({ logLikelihood: tf.tensor1d([0]), klPerDim: k as tf.Tensor2D, kl: tf.sum(k, 1) }, { ...base, freeBits: 0.5 }).loss,
      )(klPerDim);
      expect(Array.from(grad.dataSync())).toEqual([0, 1]);
    });
  });

  it('capacity: recon + γ·|KL − C|, on either side of C', () => {
    tf.tidy(() => {
      const below = trainingObjective(parts(), { ...base, kind: 'capacity', gamma: 100, capacity: 5 });
      expect(scalar(below.loss)).toBeCloseTo(15 + 100 * (5 - 1.65), 3);
      const above = trainingObjective(parts(), { ...base, kind: 'capacity', gamma: 100, capacity: 1 });
      expect(scalar(above.loss)).toBeCloseTo(15 + 100 * 0.65, 3);
    });
  });
});
