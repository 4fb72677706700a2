import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultRunConfig } from '@shared/config';
import { decoderOutputChannels, nllFigures } from '@shared/likelihood';
import { tf } from '../engine/tf';
import { useBackend } from '../testing/setup';
import { createDecoder } from './decoders';
import { logisticMixtureMean, logisticMixturePixelLogLikelihood, logisticMixtureSample, LOG_SCALE_MIN } from './logistic';

const LEVELS = Array.from({ length: 256 }, (_, k) => k / 255);

/** One sub-pixel's raw mixture output [1, 3K]: logits, pre-sigmoid locations, log scales. */
function rawOutput(logits: number[], rawLocations: number[], logScales: number[]): number[] {
  return [...logits, ...rawLocations, ...logScales];
}

/** log P(x = k/255) for every k of one sub-pixel's mixture, in float64 from float32 log-probs. */
function levelLogProbs(raw: number[]): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor2d(LEVELS, [256, 1]);
    const output = tf.tile(tf.tensor2d(raw, [1, raw.length]), [256, 1]) as tf.Tensor2D;
    return logisticMixturePixelLogLikelihood(x, output).dataSync() as Float32Array;
  });
}

const logistic = (a: number): number => 1 / (1 + Math.exp(-a));

describe('discretized logistic mixture decoder', () => {
  beforeAll(() => useBackend('cpu'));

  it('gives a distribution over the 256 levels: probabilities sum to 1 for any parameters', () => {
    const component = fc.record({
      logit: fc.double({ min: -8, max: 8, noNaN: true }),
      location: fc.double({ min: -10, max: 10, noNaN: true }),
      logScale: fc.double({ min: -9, max: 3, noNaN: true }),
    });
    fc.assert(
      fc.property(fc.array(component, { minLength: 1, maxLength: 6 }), (components) => {
        const raw = rawOutput(
          components.map((c) => c.logit),
          components.map((c) => c.location),
          components.map((c) => c.logScale),
        );
        const logProbs = levelLogProbs(raw);
        let total = 0;
        for (const lp of logProbs) {
          expect(Number.isFinite(lp)).toBe(true);
          expect(lp).toBeLessThanOrEqual(1e-6);
          total += Math.exp(lp);
        }
        // float32 rounding over 256 terms only
        expect(Math.abs(total - 1)).toBeLessThan(1e-4);
      }),
      { numRuns: 40, seed: 19 },
    );
  });

  it('matches the closed form on one component: inner bins, both edge bins', () => {
    const mu = 0.3;
    const s = 0.05;
    const raw = rawOutput([0], [Math.log(mu / (1 - mu))], [Math.log(s)]);
    const lp = levelLogProbs(raw);
    const h = 1 / 510;
    const inner = (k: number): number => logistic((k / 255 + h - mu) / s) - logistic((k / 255 - h - mu) / s);
    expect(Math.exp(lp[77]!)).toBeCloseTo(inner(77), 5);
    expect(Math.exp(lp[0]!)).toBeCloseTo(logistic((h - mu) / s), 5);
    expect(Math.exp(lp[255]!)).toBeCloseTo(1 - logistic((1 - h - mu) / s), 6);
  });

  it('stays finite and accurate far in the tails, where a difference of sigmoids would cancel to 0', () => {
    // Location near 0, tiny scale: level 200 is ~ 10^4 scales away.
    const raw = rawOutput([0], [-6], [LOG_SCALE_MIN]);
    const lp = levelLogProbs(raw);
    expect(Number.isFinite(lp[200]!)).toBe(true);
    expect(lp[200]!).toBeLessThan(-100);
    // log-probs fall monotonically away from the mode, down to the last inner bin
    for (let k = 3; k < 254; k++) expect(lp[k + 1]!).toBeLessThan(lp[k]!);
    // far tail: σ(a) − σ(b) → e^−b − e^−a, so log P → −(x − μ)/s + d + log(1 − e^−2d), d = h/s; μ = σ(−6), s = e^−7
    const mu = 1 / (1 + Math.exp(6));
    const s = Math.exp(LOG_SCALE_MIN);
    const d = 1 / (510 * s);
    expect(lp[200]!).toBeCloseTo(-(200 / 255 - mu) / s + d + Math.log(1 - Math.exp(-2 * d)), 2);
  });

  it('has finite gradients that move the location towards the data', () => {
    const x = tf.tensor2d([[0], [128 / 255], [1]]);
    const raw = tf.variable(tf.tensor2d([rawOutput([0.1, -0.2], [0.5, -2], [-3, LOG_SCALE_MIN - 2]), rawOutput([0, 0], [9, -9], [-6, -6]), rawOutput([1, 0], [0, 0], [0, -1])]));
    const grads = tf.grad((out: tf.Tensor) => tf.sum(logisticMixturePixelLogLikelihood(x, out as tf.Tensor2D)))(raw);
    const values = grads.dataSync();
    for (const g of values) expect(Number.isFinite(g)).toBe(true);
    // Row 1 (x = 1): raising both locations raises the likelihood of the top level.
    expect(values[2 * 6 + 2]).toBeGreaterThan(0);
    expect(values[2 * 6 + 3]).toBeGreaterThan(0);
    // Log scales floored at LOG_SCALE_MIN get no gradient (component 2 of row 0).
    expect(Math.abs(values[0 * 6 + 5]!)).toBe(0);
    tf.dispose([x, raw, grads]);
  });

  it('reports bits/dim on the 0–255 scale: a uniform model is 8 bits/dim', () => {
    // One very broad component: each inner level gets ≈ 1/255 of the mass and log P ≈ −ln 256 on average.
    const D = 4;
    const nats = 3 * Math.log(256) * D;
    expect(nllFigures(-nats, D, 'logistic').bitsPerDim).toBeCloseTo(24, 10);
    expect(nllFigures(-D * Math.log(256), D, 'logistic')).toEqual({ nll: D * Math.log(256), bitsPerDim: 8 });
    // The Gaussian density on dequantized data adds the bin volume D·ln 256 before dividing.
    expect(nllFigures(0, D, 'gaussian').bitsPerDim).toBeCloseTo(8, 10);
  });

  it('shows the mixture mean Σ π_k μ_k and samples levels on the 1/255 grid from the right component', () => {
    tf.tidy(() => {
      const logits = [Math.log(0.25), Math.log(0.75)];
      const locations = [0.2, 0.8];
      const raw = rawOutput(logits, locations.map((m) => Math.log(m / (1 - m))), [LOG_SCALE_MIN, LOG_SCALE_MIN]);
      const output = tf.tensor2d([raw, raw], [2, 6]);
      const mean = logisticMixtureMean(output, 1).dataSync();
      expect(mean[0]).toBeCloseTo(0.25 * 0.2 + 0.75 * 0.8, 5);
      // u below the first weight picks component 0, above it component 1; scales are tiny, so the draw is μ on the grid.
      const draws = logisticMixtureSample(output, tf.tensor2d([[0.1], [0.6]])).dataSync();
      expect(draws[0]).toBeCloseTo(Math.round(0.2 * 255) / 255, 6);
      expect(draws[1]).toBeCloseTo(Math.round(0.8 * 255) / 255, 6);
    });
  });

  it('samples and shows the mean with a single component (K = 1, the default) too', () => {
    tf.tidy(() => {
      const output = tf.tensor2d([rawOutput([0], [Math.log(0.4 / 0.6)], [LOG_SCALE_MIN]), rawOutput([3], [0], [-2])], [2, 3]);
      const draws = logisticMixtureSample(output, tf.tensor2d([[0.5], [0.999]])).dataSync();
      expect(draws[0]).toBeCloseTo(Math.round(0.4 * 255) / 255, 6);
      expect(draws[1]).toBeGreaterThan(0.5);
      expect(logisticMixtureMean(output, 1).dataSync()[0]).toBeCloseTo(0.4, 5);
    });
  });

  it('its network output has 3·K values per sub-pixel, and createDecoder builds it without variables', () => {
    const config = { ...defaultRunConfig(), decoder: 'logistic' as const, mixtureComponents: 4 };
    expect(decoderOutputChannels(config, 3)).toBe(36);
    expect(decoderOutputChannels({ decoder: 'bernoulli' }, 3)).toBe(3);
    const decoder = createDecoder(config, 2);
    expect(decoder.variables).toHaveLength(0);
    tf.tidy(() => {
      const ll = decoder.logLikelihood(tf.tensor2d([[0, 1]]), tf.zeros([1, 2 * 12]) as tf.Tensor2D).dataSync();
      expect(Number.isFinite(ll[0]!)).toBe(true);
    });
  });
});
