import { describe, expect, it } from 'vitest';
import { defaultRunConfig, type ArchitectureKind } from '@shared/config';
import { tf } from '../engine/tf';
import { createRng } from '../engine/random';
import { syntheticImages, useBackend } from '../testing/setup';
import { gatherBatch, type ImageSet } from './images';
import { VaeTrainer, type TrainerConfig } from './trainer';

const images = syntheticImages(64, 8, 8);
const all = Int32Array.from({ length: images.count }, (_, i) => i);

function makeTrainer(kind: ArchitectureKind, overrides: Partial<TrainerConfig> = {}, data: ImageSet = images): VaeTrainer {
  return new VaeTrainer(
    { kind, image: data.shape, latent: 4, hidden: 32 },
    { ...defaultRunConfig(), learningRate: 3e-3, ...overrides },
  );
}

async function losses(trainer: VaeTrainer, steps: number, batch = 16, data: ImageSet = images): Promise<number[]> {
  const order = Int32Array.from({ length: data.count }, (_, i) => i);
  const out: number[] = [];
  for (let s = 0; s < steps; s++) {
    const from = (s * batch) % data.count;
    out.push((await trainer.step(gatherBatch(data, order, from, from + batch), batch)).loss);
  }
  return out;
}

for (const kind of ['mlp', 'conv'] as const) {
  describe(`VaeTrainer ${kind} on wasm`, () => {
    it('leaves no tensor behind after a training step or an inference call', async () => {
      await useBackend('wasm');
      const trainer = makeTrainer(kind);
      try {
        await losses(trainer, 1); // Adam creates its moment variables on the first step.
        const before = tf.memory().numTensors;
        await losses(trainer, 1);
        expect(tf.memory().numTensors).toBe(before);
        await trainer.decodeMean(createRng(1).normals(3 * 4), 3);
        expect(tf.memory().numTensors).toBe(before);
        await trainer.reconstruct(gatherBatch(images, all, 0, 5), 5);
        await trainer.evaluate(gatherBatch(images, all, 0, 5), 5, createRng(2));
        await trainer.encodeMean(gatherBatch(images, all, 0, 5), 5);
        expect(tf.memory().numTensors).toBe(before);
        // An evaluation: the IWAE bound, with k split into several decoder chunks.
        await trainer.iwaeLogLikelihood(gatherBatch(images, all, 0, 3), 3, 700, createRng(3));
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        trainer.dispose();
      }
    });

    it('is reproducible: same seed ⇒ identical losses, other seed ⇒ different', async () => {
      await useBackend('wasm');
      const run = async (seed: number): Promise<number[]> => {
        const trainer = makeTrainer(kind, { seed });
        try {
          return await losses(trainer, 3);
        } finally {
          trainer.dispose();
        }
      };
      const a = await run(11);
      expect(await run(11)).toEqual(a);
      const b = await run(12);
      expect(b[0]).not.toBe(a[0]);
    });

    it('learns: the loss falls over 50 steps on a tiny synthetic set', async () => {
      await useBackend('wasm');
      const trainer = makeTrainer(kind);
      try {
        const curve = await losses(trainer, 50);
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
          return await losses(trainer, 5);
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
      const stats = await trainer.step(gatherBatch(images, all, 0, 8), 8);
      expect(stats.loss).toBeCloseTo(stats.recon + 4 * stats.kl, 2);
      expect(stats.kl).toBeGreaterThan(0);
    } finally {
      trainer.dispose();
    }
  });

  it('trains a Gaussian decoder, whose recon scale follows 1/(2σ²)', async () => {
    await useBackend('wasm');
    const recon = async (sigma: number): Promise<number> => {
      const trainer = makeTrainer('mlp', { decoder: 'gaussian', gaussianSigma: sigma, seed: 3 });
      try {
        return (await trainer.evaluate(gatherBatch(images, all, 0, 8), 8, createRng(4))).logLikelihood;
      } finally {
        trainer.dispose();
      }
    };
    // Same weights and noise: log p(x|z) = −SSE/(2σ²) − D·(log σ + ½ log 2π), so the
    // SSE recovered from two σ must agree.
    const D = 64;
    const n = 8;
    const sse = (sigma: number, ll: number): number => -2 * sigma * sigma * (ll + n * D * (Math.log(sigma) + 0.5 * Math.log(2 * Math.PI)));
    expect(sse(0.1, await recon(0.1))).toBeCloseTo(sse(0.5, await recon(0.5)), 2);
  });
});

describe('VaeTrainer options', () => {
  it('leaves no tensor behind with a learned per-pixel variance, denoising, free bits and decay', async () => {
    await useBackend('wasm');
    const trainer = makeTrainer('mlp', {
      decoder: 'gaussian',
      decoderVariance: 'per-pixel',
      denoise: 'mask',
      freeBits: 0.25,
      lrDecay: 'exponential',
    });
    try {
      await losses(trainer, 1);
      const before = tf.memory().numTensors;
      expect((await losses(trainer, 2)).every(Number.isFinite)).toBe(true);
      await trainer.iwaeLogLikelihood(gatherBatch(images, all, 0, 2), 2, 10, createRng(3));
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      trainer.dispose();
    }
  });

  it('learns the Gaussian decoder variance: σ moves from its start towards the residual scale', async () => {
    await useBackend('wasm');
    const trainer = makeTrainer('mlp', { decoder: 'gaussian', decoderVariance: 'global', gaussianSigma: 1, learningRate: 1e-2 });
    try {
      await losses(trainer, 60);
      // Pixels lie in [0, 1]: residuals are far below σ = 1, so maximum likelihood shrinks σ.
      // Adam moves log σ² by at most ~lr per step: 60 steps can reach σ ≈ 0.74 at best.
      expect((await trainer.decoder.sigma())!).toBeLessThan(0.8);
    } finally {
      trainer.dispose();
    }
  });

  it('exports and imports its whole state: the continuation is bit for bit the same', async () => {
    await useBackend('wasm');
    const config = { denoise: 'gaussian' as const, seed: 9, decoder: 'gaussian' as const, decoderVariance: 'global' as const };
    const a = makeTrainer('conv', config);
    const b = makeTrainer('conv', { ...config, seed: 1234 });
    try {
      await losses(a, 4);
      b.importState(await a.exportState());
      expect(b.stepsDone).toBe(4);
      expect(await losses(b, 3)).toEqual(await losses(a, 3));
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('refuses a state written for another model, naming the tensor', async () => {
    await useBackend('wasm');
    const a = makeTrainer('mlp');
    const b = new VaeTrainer({ kind: 'mlp', image: images.shape, latent: 5, hidden: 32 }, { ...defaultRunConfig() });
    try {
      const state = await a.exportState();
      expect(() => b.importState(state)).toThrow(/head\/w.*shape/);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('IWAE: the k-sample bound is above the one-sample ELBO and tightens with k on average', async () => {
    await useBackend('wasm');
    const trainer = makeTrainer('mlp', { seed: 4 });
    try {
      await losses(trainer, 30);
      const n = 16;
      const batch = gatherBatch(images, all, 0, n);
      // ELBO = E_q[log p(x|z)] − KL, estimated with many single samples to make it precise.
      let elbo = 0;
      const rng = createRng(5);
      const repeats = 50;
      for (let r = 0; r < repeats; r++) {
        const sums = await trainer.evaluate(batch, n, rng);
        elbo += (sums.logLikelihood - sums.kl) / n / repeats;
      }
      const mean = (values: Float64Array): number => values.reduce((a, b) => a + b, 0) / values.length;
      const bound = async (k: number): Promise<number> => mean(await trainer.iwaeLogLikelihood(batch, n, k, createRng(6)));
      const [k1, k10, k100] = [await bound(1), await bound(10), await bound(100)];
      expect(Math.abs(k1 - elbo)).toBeLessThan(0.05 * Math.abs(elbo));
      expect(k10).toBeGreaterThan(elbo);
      expect(k100).toBeGreaterThan(k10);
    } finally {
      trainer.dispose();
    }
  });
});
