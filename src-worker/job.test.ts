import { describe, expect, it } from 'vitest';
import { ApiError } from '@shared/errors';
import { parseRunConfig } from './job';

describe('run config at the worker edge', () => {
  it('fills defaults', () => {
    expect(parseRunConfig({ latent: 8 })).toMatchObject({ model: 'mlp', latent: 8, batchSize: 64 });
  });

  it('names the offending field', () => {
    for (const [config, field] of [
      [{ latent: 0 }, 'latent'],
      [{ learningRate: -1 }, 'learningRate'],
      [{ model: 'transformer' }, 'model'],
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
