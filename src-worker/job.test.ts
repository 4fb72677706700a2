import { describe, expect, it } from 'vitest';
import { ApiError } from '@shared/errors';
import { activationsPerImage } from '@shared/model-size';
import { chooseThreads, parseRunConfig } from './job';
import { THREAD_JS_HEAP_BYTES, trainingBytes } from './model/memory';
import { syntheticImages } from './testing/setup';
import { minRowsPerThread } from './threads/work';
import { trainingSizeOf } from './train/model-spec';

describe('run config at the worker edge', () => {
  it('fills defaults', () => {
    expect(parseRunConfig({ latent: 8 })).toMatchObject({ architecture: 'mlp', latent: 8, batchSize: 64 });
  });

  it('reads a config stored before the new fields existed, filling their defaults', () => {
    const old = { model: 'conv', latent: 8, hidden: 128, decoder: 'gaussian', gaussianSigma: 0.2, beta: 4, epochs: 3, batchSize: 32, learningRate: 0.002, seed: 5, validationFraction: 0.2 };
    const { model, ...rest } = old;
    expect(parseRunConfig(old)).toMatchObject({
      ...rest,
      architecture: model,
      objective: 'beta',
      decoderVariance: 'fixed',
      klWarmupSteps: 0,
      freeBits: 0,
      denoise: 'none',
      lrDecay: 'none',
      iwaeSamples: 100,
    });
  });

  it('names the offending field', () => {
    for (const [config, field] of [
      [{ latent: 0 }, 'latent'],
      [{ learningRate: -1 }, 'learningRate'],
      [{ model: 'transformer' }, 'architecture'],
      [{ architecture: 'transformer' }, 'architecture'],
      [{ iwaeSamples: 0 }, 'iwaeSamples'],
      [{ decoderVariance: 'per-pixel' }, 'decoderVariance'],
      [{ objective: 'capacity', freeBits: 0.5 }, 'freeBits'],
      [{ objective: 'capacity', klWarmupSteps: 100 }, 'klWarmupSteps'],
      [{ denoise: 'mask', denoiseMaskProb: 1 }, 'denoiseMaskProb'],
      [{ lrDecay: 'step', lrDecaySteps: 0 }, 'lrDecaySteps'],
      [{ capacityGamma: 0 }, 'capacityGamma'],
    ] as const) {
      try {
        parseRunConfig(config);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(ApiError);
        expect((error as ApiError).details?.['field']).toBe(field);
        expect((error as ApiError).message).toContain(field);
      }
    }
  });
});

describe('training threads', () => {
  const images = syntheticImages(10, 28, 28);
  const conv = parseRunConfig({ model: 'conv', latent: 16, hidden: 256, batchSize: 128 });
  const spec = { kind: 'conv' as const, image: images.shape, latent: 16, hidden: 256 };
  const plenty = { cores: 8, memoryBytes: 64 * 1024 ** 3 };

  it('defaults to the physical cores, and takes the run setting instead when given', () => {
    expect(chooseThreads(conv, images, 'wasm', 1000, plenty)).toEqual({ threads: 8, notes: ['training: 8 threads, data-parallel, one replica each'] });
    expect(chooseThreads({ ...conv, threads: 3 }, images, 'wasm', 1000, plenty).threads).toBe(3);
    expect(chooseThreads({ ...conv, threads: 1 }, images, 'wasm', 1000, plenty)).toEqual({ threads: 1, notes: ['training: 1 thread'] });
  });

  it('lowers the count, saying why, when the replicas would not fit in memory instead of failing', () => {
    // Room for the single-thread step and about one more replica (with two threads' JavaScript heaps and the worker's own), not eight.
    const memoryBytes = 2 * trainingBytes(spec, 128) + 3 * THREAD_JS_HEAP_BYTES;
    const chosen = chooseThreads(conv, images, 'wasm', 1000, { cores: 8, memoryBytes });
    expect(chosen.threads).toBeGreaterThan(1);
    expect(chosen.threads).toBeLessThan(8);
    expect(chosen.notes[0]).toMatch(/^training: \d threads, data-parallel, one replica each \(the 8 physical cores asked for 8; lowered: 8 replicas of this model would not fit in memory\)$/);
    expect(chooseThreads(conv, images, 'wasm', 1000, { cores: 8, memoryBytes: trainingBytes(spec, 128) }).threads).toBe(1);
  });

  it('says why a run trains on fewer threads: a backend with its own kernels, a small batch; a VQ-VAE splits like the rest', () => {
    const vq = parseRunConfig({ family: 'vqvae', model: 'conv', latent: 16, batchSize: 128 });
    expect(chooseThreads(vq, images, 'wasm', 1000, plenty)).toEqual({ threads: 8, notes: ['training: 8 threads, data-parallel, one replica each'] });
    expect(chooseThreads(conv, images, 'webgpu', 1000, plenty)).toEqual({ threads: 1, notes: ['training: 1 thread — threads split wasm training; webgpu runs its own kernels'] });
    expect(chooseThreads({ ...conv, batchSize: 40 }, images, 'wasm', 1000, plenty)).toEqual({
      threads: 2,
      notes: ['training: 2 threads, data-parallel, one replica each (the 8 physical cores asked for 8; a batch of 40 images splits at most 2 ways, 16 images per thread at least for this model)'],
    });
    expect(chooseThreads({ ...conv, batchSize: 8 }, images, 'wasm', 1000, plenty).threads).toBe(1);
  });

  it('gives a large image\'s model smaller shards: its per-image work, not a fixed count of images, sets the least shard', () => {
    // Measured (docs/PERFORMANCE.md): conv medium 64×64×3 gains on 2 threads from 8 images a thread, loses at 4.
    const rgb = syntheticImages(4, 64, 64, 3);
    const medium = parseRunConfig({ model: 'conv', convArch: 'medium', decoder: 'logistic', latent: 16, hidden: 256, batchSize: 16 });
    expect(minRowsPerThread(activationsPerImage(trainingSizeOf(medium, rgb).spec))).toBe(8);
    expect(chooseThreads(medium, rgb, 'wasm', 1000, plenty)).toEqual({
      threads: 2,
      notes: ['training: 2 threads, data-parallel, one replica each (the 8 physical cores asked for 8; a batch of 16 images splits at most 2 ways, 8 images per thread at least for this model)'],
    });
    expect(chooseThreads({ ...medium, batchSize: 32 }, rgb, 'wasm', 1000, plenty).threads).toBe(4);
    expect(chooseThreads({ ...medium, batchSize: 8 }, rgb, 'wasm', 1000, plenty).threads).toBe(1);
    // The same batch of 16 stays on one thread for the small 28×28 conv model (16 images a thread).
    expect(chooseThreads({ ...conv, batchSize: 16 }, images, 'wasm', 1000, plenty).threads).toBe(1);
    expect(chooseThreads({ ...conv, batchSize: 32 }, images, 'wasm', 1000, plenty).threads).toBe(2);
  });
});
