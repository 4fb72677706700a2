import { describe, expect, it } from 'vitest';
import { ApiError } from '@shared/errors';
import { parseRunConfig } from './job';

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
