import { describe, expect, it } from 'vitest';
import { runConfigSchema, type RunConfig } from '@shared/config';
import { LOGISTIC_INITIAL_LOG_SCALE } from '@shared/likelihood';
import { mulberry32 } from '@shared/random';
import { createRng } from '../engine/random';
import { tf } from '../engine/tf';
import { logisticMixtureMean } from '../objectives/logistic';
import { useBackend } from '../testing/setup';
import { gatherBatch, type ImageSet } from './images';
import { modelSpec } from './model-spec';
import { VaeTrainer } from './trainer';

/**
 * The 64×64×3 quality check (docs/QUALITY.md) showed grey reconstructions from the
 * logistic decoder. Its log scales started at 0 (s = 1, wider than the pixel range): an
 * untrained model scored every level worse than a uniform one, the locations got little
 * gradient, and the posterior collapsed. These check the start on the medium preset at
 * 16×16×3 in a second, with the old start put back by hand beside it.
 */

/** Coloured squares on plain coloured backgrounds: each image has 2 colours, far from grey. */
function colouredSquares(count: number, side: number, seed: number): ImageSet {
  const random = mulberry32(seed);
  const pixels = new Uint8Array(count * side * side * 3);
  const colour = (): number[] => [0, 1, 2].map(() => (random() < 0.5 ? 20 + random() * 60 : 175 + random() * 60));
  for (let n = 0; n < count; n++) {
    const back = colour();
    const front = colour();
    const size = Math.max(2, Math.round(side * (0.3 + random() * 0.3)));
    const x0 = Math.floor(random() * (side - size));
    const y0 = Math.floor(random() * (side - size));
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const inside = x >= x0 && x < x0 + size && y >= y0 && y < y0 + size;
        for (let c = 0; c < 3; c++) pixels[((n * side + y) * side + x) * 3 + c] = Math.round((inside ? front : back)[c]!);
      }
    }
  }
  return { shape: { width: side, height: side, channels: 3 }, count, pixels };
}

const SIDE = 16;
const images = colouredSquares(64, SIDE, 5);
const all = Int32Array.from({ length: images.count }, (_, i) => i);
const x = gatherBatch(images, all, 0, images.count);
const D = SIDE * SIDE * 3;
const config: RunConfig = runConfigSchema.parse({ architecture: 'conv', convArch: 'medium', decoder: 'logistic', seed: 3 });

/** The untrained medium model; `oldStart`: its head's bias at zero, as every output bias started before. */
async function untrained(oldStart: boolean): Promise<VaeTrainer> {
  const trainer = new VaeTrainer(modelSpec(config, images), config);
  if (oldStart) {
    const values = await trainer.parameterValues();
    const head = trainer.model.variables.findLastIndex((v) => /^conv\/deconv\d+\/b#/.test(v.name));
    values[head]!.fill(0);
    trainer.setParameterValues(values);
  }
  return trainer;
}

/** The mean of the decoder's log-scale outputs over every sub-pixel of the set, at the posterior means. */
async function meanLogScale(trainer: VaeTrainer): Promise<number> {
  const mu = await trainer.encodeMean(x, images.count);
  const raw = tf.tidy(() => trainer.model.decode(tf.tensor2d(mu, [images.count, trainer.latent])).dataSync());
  // One component: [logit, location, log scale] per sub-pixel.
  let sum = 0;
  for (let i = 2; i < raw.length; i += 3) sum += raw[i]!;
  return sum / (raw.length / 3);
}

/** The reconstruction term −E log p(x|z) of the set in bits per sub-pixel, one posterior sample per image. */
async function reconstructionBitsPerDim(trainer: VaeTrainer): Promise<number> {
  const sums = await trainer.evaluate(x, images.count, createRng(7, 0));
  return -sums.logLikelihood / (images.count * D * Math.LN2);
}

describe('the logistic decoder starts where 8-bit pixels are', () => {
  it('an untrained model\'s log scales fit pixels on [0, 1], and it scores coloured images better than with the old start (s = 1)', async () => {
    await useBackend('wasm');
    const fresh = await untrained(false);
    const old = await untrained(true);
    try {
      const now = { logScale: await meanLogScale(fresh), bits: await reconstructionBitsPerDim(fresh) };
      const before = { logScale: await meanLogScale(old), bits: await reconstructionBitsPerDim(old) };
      console.log(
        `untrained medium, 16×16×3 coloured squares: mean log scale ${now.logScale.toFixed(2)}, reconstruction term ${now.bits.toFixed(2)} bits/dim ` +
          `(old start: ${before.logScale.toFixed(2)}, ${before.bits.toFixed(2)} bits/dim)`,
      );
      // e^−2 ≈ 0.14: a logistic about as wide as the pixels spread; e^0 = 1 spread each pixel over the whole range and beyond.
      expect(now.logScale).toBeGreaterThan(LOGISTIC_INITIAL_LOG_SCALE - 0.5);
      expect(now.logScale).toBeLessThan(LOGISTIC_INITIAL_LOG_SCALE + 0.5);
      expect(Math.abs(before.logScale)).toBeLessThan(0.5);
      // s = 1 scores every level at about 10 bits/dim whatever the image; the new start already does better.
      expect(before.bits).toBeGreaterThan(9.9);
      expect(now.bits).toBeLessThan(before.bits - 0.2);
    } finally {
      fresh.dispose();
      old.dispose();
    }
  });

  it('the reconstruction shown is the decoder distribution\'s mean at the posterior mean, not a sample or a logit', async () => {
    await useBackend('wasm');
    const trainer = await untrained(false);
    try {
      const n = 4;
      const shown = await trainer.reconstruct(x.subarray(0, n * D), n);
      const mu = await trainer.encodeMean(x.subarray(0, n * D), n);
      const expected = tf.tidy(() => logisticMixtureMean(trainer.model.decode(tf.tensor2d(mu, [n, trainer.latent])), D).dataSync());
      expect(shown).toHaveLength(n * D);
      for (let i = 0; i < shown.length; i++) expect(shown[i]).toBeCloseTo(expected[i]!, 5);
      // The same again: nothing drawn at random.
      expect(await trainer.reconstruct(x.subarray(0, n * D), n)).toEqual(shown);
      // In the pixel range and not on the 1/255 grid of a sample.
      expect(shown.every((v) => v > 0 && v < 1)).toBe(true);
      expect(shown.some((v) => Math.abs(v * 255 - Math.round(v * 255)) > 1e-3)).toBe(true);
    } finally {
      trainer.dispose();
    }
  });
});
