import { describe, expect, it } from 'vitest';
import { defaultRunConfig, type ModelKind } from '@shared/config';
import { tf } from '../engine/tf';
import { createRng } from '../engine/random';
import { syntheticImages, useBackend } from '../testing/setup';
import { gatherBatch, type ImageSet } from './images';
import { VaeTrainer, type TrainerConfig } from './trainer';

const images = syntheticImages(64, 8, 8);
const all = Int32Array.from({ length: images.count }, (_, i) => i);

function makeTrainer(kind: ModelKind, overrides: Partial<TrainerConfig> = {}, data: ImageSet = images): VaeTrainer {
  return new VaeTrainer(
    { kind, image: data.shape, latent: 4, hidden: 32 },
    { ...defaultRunConfig(), learningRate: 3e-3, ...overrides },
  );
}

function losses(trainer: VaeTrainer, steps: number, batch = 16, data: ImageSet = images): number[] {
  const order = Int32Array.from({ length: data.count }, (_, i) => i);
  const out: number[] = [];
  for (let s = 0; s < steps; s++) {
    const from = (s * batch) % data.count;
    out.push(trainer.step(gatherBatch(data, order, from, from + batch), batch).loss);
  }
  return out;
}

for (const kind of ['mlp', 'conv'] as const) {
  describe(`VaeTrainer ${kind} on wasm`, () => {
    it('leaves no tensor behind after a training step or an inference call', async () => {
      await useBackend('wasm');
      const trainer = makeTrainer(kind);
      try {
        losses(trainer, 1); // Adam creates its moment variables on the first step.
        const before = tf.memory().numTensors;
        losses(trainer, 1);
        expect(tf.memory().numTensors).toBe(before);
        trainer.decodeMean(createRng(1).normals(3 * 4), 3);
        expect(tf.memory().numTensors).toBe(before);
        trainer.reconstruct(gatherBatch(images, all, 0, 5), 5);
        trainer.evaluate(gatherBatch(images, all, 0, 5), 5, createRng(2));
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        trainer.dispose();
      }
    });

    it('is reproducible: same seed ⇒ identical losses, other seed ⇒ different', async () => {
      await useBackend('wasm');
      const run = (seed: number): number[] => {
        const trainer = makeTrainer(kind, { seed });
        try {
          return losses(trainer, 3);
        } finally {
          trainer.dispose();
        }
      };
      const a = run(11);
      expect(run(11)).toEqual(a);
      const b = run(12);
      expect(b[0]).not.toBe(a[0]);
    });

    it('learns: the loss falls over 50 steps on a tiny synthetic set', async () => {
      await useBackend('wasm');
      const trainer = makeTrainer(kind);
      try {
        const curve = losses(trainer, 50);
        const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
        expect(curve.every(Number.isFinite)).toBe(true);
        expect(mean(curve.slice(-5))).toBeLessThan(0.8 * mean(curve.slice(0, 5)));
      } finally {
        trainer.dispose();
      }
    });

    it('follows the same loss curve on wasm as on cpu', async () => {
      const curve = async (backend: 'wasm' | 'cpu'): Promise<number[]> => {
        await useBackend(backend);
        const trainer = makeTrainer(kind, { seed: 5 });
        try {
          return losses(trainer, 5);
        } finally {
          trainer.dispose();
        }
      };
      const wasm = await curve('wasm');
      const cpu = await curve('cpu');
      wasm.forEach((v, i) => expect(Math.abs(v - cpu[i]!) / Math.abs(cpu[i]!)).toBeLessThan(1e-3));
    });
  });
}

describe('VaeTrainer objectives', () => {
  it('reports recon and KL so that loss = recon + β·KL', async () => {
    await useBackend('wasm');
    const trainer = makeTrainer('mlp', { beta: 4 });
    try {
      const stats = trainer.step(gatherBatch(images, all, 0, 8), 8);
      expect(stats.loss).toBeCloseTo(stats.recon + 4 * stats.kl, 2);
      expect(stats.kl).toBeGreaterThan(0);
    } finally {
      trainer.dispose();
    }
  });

  it('trains a Gaussian decoder, whose recon scale follows 1/(2σ²)', async () => {
    await useBackend('wasm');
    const recon = (sigma: number): number => {
      const trainer = makeTrainer('mlp', { decoder: 'gaussian', gaussianSigma: sigma, seed: 3 });
      try {
        return trainer.evaluate(gatherBatch(images, all, 0, 8), 8, createRng(4)).logLikelihood;
      } finally {
        trainer.dispose();
      }
    };
    // Same weights and noise: log p(x|z) = −SSE/(2σ²) − D·(log σ + ½ log 2π), so the
    // SSE recovered from two σ must agree.
    const D = 64;
    const n = 8;
    const sse = (sigma: number, ll: number): number => -2 * sigma * sigma * (ll + n * D * (Math.log(sigma) + 0.5 * Math.log(2 * Math.PI)));
    expect(sse(0.1, recon(0.1))).toBeCloseTo(sse(0.5, recon(0.5)), 2);
  });
});
