import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../engine/tf';
import { useBackend } from '../testing/setup';
import {
  bernoulliLogLikelihood,
  betaVaeObjective,
  gaussianKl,
  gaussianKlPerDim,
  gaussianLogLikelihood,
  reparameterize,
} from './elbo';

const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`ELBO terms (${backend})`, () => {
    beforeAll(() => useBackend(backend));

    it('KL of N(μ, σ²) to N(0, 1) matches the closed form by hand', () => {
      tf.tidy(() => {
        const mu = tf.tensor2d([[0, 1], [2, -1]]);
        const logVar = tf.tensor2d([[0, Math.log(4)], [0, Math.log(0.25)]]);
        // ½(μ² + σ² − 1 − log σ²) per dim:
        //   row 0: ½(0 + 1 − 1 − 0) = 0 ; ½(1 + 4 − 1 − ln 4) = 2 − ½ ln 4
        //   row 1: ½(4 + 1 − 1 − 0) = 2 ; ½(1 + ¼ − 1 + ln 4) = 0.125 + ½ ln 4
        const perDim = values(gaussianKlPerDim(mu, logVar));
        const expected = [0, 2 - 0.5 * Math.log(4), 2, 0.125 + 0.5 * Math.log(4)];
        perDim.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
        const kl = values(gaussianKl(mu, logVar));
        expect(kl[0]).toBeCloseTo(expected[0]! + expected[1]!, 5);
        expect(kl[1]).toBeCloseTo(expected[2]! + expected[3]!, 5);
      });
    });

    it('Bernoulli log-likelihood equals Σ x log p + (1−x) log(1−p)', () => {
      tf.tidy(() => {
        const x = tf.tensor2d([[1, 0, 0.25]]);
        const logits = tf.tensor2d([[0, 2, -1]]);
        const p = (l: number): number => 1 / (1 + Math.exp(-l));
        const term = (xi: number, l: number): number => xi * Math.log(p(l)) + (1 - xi) * Math.log(1 - p(l));
        const expected = term(1, 0) + term(0, 2) + term(0.25, -1);
        expect(values(bernoulliLogLikelihood(x, logits))[0]).toBeCloseTo(expected, 5);
      });
    });

    it('Bernoulli log-likelihood stays finite and exact for logits ±100', () => {
      tf.tidy(() => {
        // Right answers: ~0 when the logit agrees with x, −100 nats when it is wrong.
        const x = tf.tensor2d([[1], [0], [0], [1]]);
        const logits = tf.tensor2d([[100], [-100], [100], [-100]]);
        const ll = values(bernoulliLogLikelihood(x, logits));
        expect(ll.every(Number.isFinite)).toBe(true);
        expect(ll[0]).toBeCloseTo(0, 5);
        expect(ll[1]).toBeCloseTo(0, 5);
        expect(ll[2]).toBeCloseTo(-100, 3);
        expect(ll[3]).toBeCloseTo(-100, 3);
      });
    });

    it('Gaussian log-likelihood with fixed σ matches −½Σ[(x−m)²/σ² + log σ² + log 2π]', () => {
      tf.tidy(() => {
        const x = tf.tensor2d([[0.5, 1, 0]]);
        const m = tf.tensor2d([[0.4, 1, 0.3]]);
        const s = 0.1;
        const expected =
          -0.5 * ((0.1 ** 2 + 0 + 0.3 ** 2) / (s * s) + 3 * Math.log(s * s) + 3 * Math.log(2 * Math.PI));
        expect(values(gaussianLogLikelihood(x, m, s))[0]).toBeCloseTo(expected, 3);
      });
    });

    it('reparameterization is μ + exp(½ log σ²)·ε', () => {
      tf.tidy(() => {
        const z = reparameterize(tf.tensor2d([[1, -2]]), tf.tensor2d([[Math.log(9), 0]]), tf.tensor2d([[2, -1]]));
        const [a, b] = values(z);
        expect(a).toBeCloseTo(1 + 3 * 2, 5);
        expect(b).toBeCloseTo(-2 - 1, 5);
      });
    });

    it('the batch loss is mean(−log p) + β·mean(KL)', () => {
      tf.tidy(() => {
        const parts = {
          logLikelihood: tf.tensor1d([-10, -20]),
          kl: tf.tensor1d([1, 3]),
          klPerDim: tf.tensor2d([[1], [3]]),
        };
        const { loss, recon, kl } = betaVaeObjective(parts, 4);
        expect(values(recon)[0]).toBeCloseTo(15, 5);
        expect(values(kl)[0]).toBeCloseTo(2, 5);
        expect(values(loss)[0]).toBeCloseTo(15 + 4 * 2, 5);
      });
    });
  });
}
