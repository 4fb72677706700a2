import { beforeAll, describe, expect, it } from 'vitest';
import { defaultRunConfig } from '@shared/config';
import { createRng } from '../engine/random';
import { syntheticImages, useBackend } from '../testing/setup';
import { gatherBatch } from '../train/images';
import { VaeTrainer } from '../train/trainer';

// Health scoring reads the ELBO and the latent means from one encoder pass: it must give
// exactly what the separate calls give (same noise, same weights).
describe('VaeTrainer.scoreBatch', () => {
  beforeAll(() => useBackend('cpu'));
  const images = syntheticImages(24, 8, 8);
  const batch = gatherBatch(images, Int32Array.from({ length: 24 }, (_, i) => i), 0, 24);

  for (const decoder of ['bernoulli', 'logistic'] as const) {
    it(`equals the ELBO and encodeMean of separate passes (${decoder})`, async () => {
      const trainer = new VaeTrainer({ kind: 'mlp', image: images.shape, latent: 3, hidden: 16 }, { ...defaultRunConfig(), decoder });
      try {
        const joint = await trainer.scoreBatch(batch, 24, createRng(5, 1), undefined, true);
        const elbo = await trainer.elboPerImage(batch, 24, createRng(5, 1));
        const sums = await trainer.evaluate(batch, 24, createRng(5, 1));
        const means = await trainer.encodeMean(batch, 24);
        for (let i = 0; i < 24; i++) expect(joint.elbo[i]!).toBeCloseTo(elbo[i]!, 3);
        // The per-image values add up to what the validation pass sums.
        expect(joint.elbo.reduce((a, b) => a + b, 0)).toBeCloseTo(sums.logLikelihood - sums.kl, 1);
        expect(Array.from(joint.means!)).toEqual(Array.from(means));
      } finally {
        trainer.dispose();
      }
    });
  }
});
