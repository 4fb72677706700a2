import { beforeAll, describe, expect, it } from 'vitest';
import { defaultRunConfig } from '@shared/config';
import { tf } from '../engine/tf';
import { useBackend } from '../testing/setup';
import { createDecoder, gaussianLogLikelihoodLearned, MIN_LEARNED_SIGMA } from './decoders';
import { gaussianLogLikelihood } from './elbo';

const value = (t: tf.Tensor): number => t.dataSync()[0]!;
const LOG_2PI = Math.log(2 * Math.PI);

describe('Gaussian decoder with learned variance', () => {
  beforeAll(() => useBackend('cpu'));

  it('a scalar log σ² gives the fixed-σ density at that σ', () => {
    tf.tidy(() => {
      const x = tf.tensor2d([[0.5, 1, 0]]);
      const m = tf.tensor2d([[0.4, 1, 0.3]]);
      const learned = gaussianLogLikelihoodLearned(x, m, tf.scalar(2 * Math.log(0.2)));
      expect(value(learned)).toBeCloseTo(value(gaussianLogLikelihood(x, m, 0.2)), 4);
    });
  });

  it('a per-pixel log σ² weighs each pixel by its own σ: −½ Σ [(x−m)²/σ_i² + log σ_i² + log 2π]', () => {
    tf.tidy(() => {
      const sigmas = [0.1, 0.5, 2];
      const x = tf.tensor2d([[0.5, 1, 0]]);
      const m = tf.tensor2d([[0.4, 0.5, 1]]);
      const diff = [0.1, 0.5, -1];
      const expected = -0.5 * sigmas.reduce((s, sd, i) => s + diff[i]! ** 2 / sd ** 2 + Math.log(sd ** 2) + LOG_2PI, 0);
      const logVar = tf.tensor1d(sigmas.map((s) => 2 * Math.log(s)));
      expect(value(gaussianLogLikelihoodLearned(x, m, logVar))).toBeCloseTo(expected, 4);
    });
  });

  it('floors σ at MIN_LEARNED_SIGMA so a constant pixel cannot drive the likelihood to +∞', () => {
    tf.tidy(() => {
      const x = tf.tensor2d([[0]]);
      const m = tf.tensor2d([[0]]);
      const ll = value(gaussianLogLikelihoodLearned(x, m, tf.scalar(-200)));
      expect(ll).toBeCloseTo(-0.5 * (2 * Math.log(MIN_LEARNED_SIGMA) + LOG_2PI), 3);
    });
  });

  it('owns one variable of the right shape, starting at gaussianSigma, and frees it', async () => {
    const before = tf.memory().numTensors;
    const config = { ...defaultRunConfig(), decoder: 'gaussian' as const, gaussianSigma: 0.3 };
    const global = createDecoder({ ...config, decoderVariance: 'global' }, 12);
    const perPixel = createDecoder({ ...config, decoderVariance: 'per-pixel' }, 12);
    const fixed = createDecoder({ ...config, decoderVariance: 'fixed' }, 12);
    expect(global.variables.map((v) => v.shape)).toEqual([[]]);
    expect(perPixel.variables.map((v) => v.shape)).toEqual([[12]]);
    expect(fixed.variables).toHaveLength(0);
    expect(await global.sigma()).toBeCloseTo(0.3, 5);
    expect(await perPixel.sigma()).toBeCloseTo(0.3, 5);
    expect(await createDecoder({ ...config, decoder: 'bernoulli' }, 12).sigma()).toBeNull();
    for (const d of [global, perPixel, fixed]) d.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
