import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../engine/random';
import { tf } from '../engine/tf';
import { useBackend } from '../testing/setup';
import { createMadePrior, sampleMade, type MadePrior } from './made';

const L = 6;
const K = 4;

/**
 * A hand-made autoregressive "prior": position 0 prefers code 1, each later position the
 * code after its predecessor's, by a margin of `gap` nats over the other codes.
 */
function chainPrior(gap: number): MadePrior {
  return {
    variables: [],
    positions: L,
    codes: K,
    logits: (oneHot) =>
      tf.tidy(() => {
        const n = oneHot.shape[0];
        const start = tf.cast(tf.oneHot(tf.fill([n, 1], 0, 'int32'), K), 'float32');
        const previous = tf.concat([start, tf.slice(tf.reshape(oneHot, [n, L, K]), [0, 0, 0], [n, L - 1, K])], 1);
        // The previous one-hot rotated by one code: the preferred code is (k_{i−1} + 1) mod K (1 at i = 0).
        const preferred = tf.concat([tf.slice(previous, [0, 0, K - 1], [n, L, 1]), tf.slice(previous, [0, 0, 0], [n, L, K - 1])], 2);
        return tf.mul(preferred, gap) as tf.Tensor3D;
      }),
    logProb: () => {
      throw new Error('not used');
    },
    dispose: () => undefined,
  };
}

/** The most likely grid: 1, 2, 3, 0, 1, 2. */
const chain = (): number[] => Array.from({ length: L }, (_, i) => (i + 1) % K);

describe('sampleMade', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('takes the most likely code at each position at temperature 0, whatever the seed', async () => {
    const prior = chainPrior(0.3);
    for (const seed of [1, 2, 3]) expect(Array.from(await sampleMade(prior, 2, createRng(seed), { temperature: 0 }))).toEqual([...chain(), ...chain()]);
  });

  it('at temperature 0.01 a margin of 1 nat is 100 nats: the draws are the most likely codes for any seed', async () => {
    const prior = chainPrior(1);
    for (const seed of [1, 2, 3, 4]) expect(Array.from(await sampleMade(prior, 3, createRng(seed), { temperature: 0.01 }))).toEqual([...chain(), ...chain(), ...chain()]);
  });

  it('at temperature 1 the same small margin leaves room: other seeds draw other grids', async () => {
    const prior = chainPrior(0.3);
    const a = await sampleMade(prior, 8, createRng(1));
    const b = await sampleMade(prior, 8, createRng(2));
    expect(Array.from(a)).not.toEqual(Array.from(b));
    expect(Array.from(a).every((k) => k >= 0 && k < K)).toBe(true);
  });

  it('keeps the given codes before `from` and draws the rest given them', async () => {
    const prior = chainPrior(0.3);
    const given = Int32Array.from([3, 0, 2, 2, 2, 2]);
    const out = await sampleMade(prior, 1, createRng(5), { temperature: 0, given, from: 3 });
    // Positions 0..2 as given; position 3 follows code 2, so 3, then 0, then 1.
    expect(Array.from(out)).toEqual([3, 0, 2, 3, 0, 1]);
    expect(Array.from(given)).toEqual([3, 0, 2, 2, 2, 2]);
  });

  it('samples a real MADE without leaking tensors', async () => {
    const prior = createMadePrior(L, K, 16, createRng(1));
    const before = tf.memory().numTensors;
    const codes = await sampleMade(prior, 3, createRng(2), { temperature: 0.5 });
    expect(tf.memory().numTensors).toBe(before);
    expect(codes).toHaveLength(3 * L);
    prior.dispose();
  });
});
