import { describe, expect, it } from 'vitest';
import { crossFittedLabelCheck } from './label-check';

/** Gaussian-ish clusters in `latent` dims, one per class, with some labels flipped. */
function clusters(count: number, classes: number, latent: number, spread: number, seed: number) {
  let s = seed;
  const u = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  const means = new Float32Array(count * latent);
  const truth = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    truth[i] = i % classes;
    for (let j = 0; j < latent; j++) means[i * latent + j] = (j === truth[i]! % latent ? 3 : 0) + (u() + u() + u() - 1.5) * spread;
  }
  return { means, truth };
}

describe('cross-fitted label check', () => {
  it('ranks the flipped labels lowest: every one of them among the 2 % least likely', async () => {
    const count = 1000;
    const { means, truth } = clusters(count, 4, 4, 0.8, 7);
    const labels = truth.slice();
    const flipped = [3, 100, 257, 500, 801, 950];
    for (const i of flipped) labels[i] = (labels[i]! + 2) % 4;
    const check = await crossFittedLabelCheck(means, count, 4, labels, { folds: 5, classes: 4, seed: 1 });
    const p = Array.from({ length: count }, (_, i) => check!.probabilities[i * 4 + labels[i]!]!);
    const lowest = Array.from({ length: count }, (_, i) => i).sort((a, b) => p[a]! - p[b]!).slice(0, 20);
    for (const i of flipped) expect(lowest).toContain(i);
    expect(check!.accuracy).toBeGreaterThan(0.9);
  });

  it('never judges an image by a model that saw its label: random labels on random codes score at chance', async () => {
    // An in-sample fit of 50 free weights to 300 points would memorize part of the labels; cross-fitting cannot.
    const count = 300;
    let s = 99;
    const u = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
    const means = Float32Array.from({ length: count * 12 }, () => u() * 2 - 1);
    const labels = Int32Array.from({ length: count }, () => Math.floor(u() * 2));
    const check = await crossFittedLabelCheck(means, count, 12, labels, { folds: 5, classes: 2, seed: 3, epochs: 30 });
    expect(check!.accuracy).toBeLessThan(0.62);
  });

  it('stops when asked between epochs', async () => {
    const { means, truth } = clusters(200, 2, 2, 0.5, 1);
    const check = await crossFittedLabelCheck(means, 200, 2, truth, { folds: 5, classes: 2, seed: 1, tick: async () => true });
    expect(check).toBeNull();
  });
});
