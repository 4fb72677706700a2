import { describe, expect, it } from 'vitest';
import { modelFamilies, runConfigSchema, runRequestConfigSchema, type RunRequestConfig } from '@shared/config';
import { suggestDecoder, type PixelFacts } from '@shared/likelihood';
import { ApiError } from '@shared/errors';
import { withDatasetDecoder } from './runs';

const grey: PixelFacts = { channels: 1, settings: { binarize: false }, stats: { pixelLevels: '8-bit' } };
const binary: PixelFacts = { channels: 1, settings: { binarize: true }, stats: { pixelLevels: 'binary' } };

describe('withDatasetDecoder', () => {
  it('gives a request the decoder it names or the dataset’s, as parsing it whole with that decoder would', () => {
    const requests: object[] = [{}, { latent: 4 }, { objective: 'capacity', capacityMax: 10 }, { flow: 'planar' }, { denoise: 'mask' }, { decoder: 'gaussian', decoderVariance: 'per-pixel' }, { decoder: 'bernoulli' }];
    let checked = 0;
    for (const family of modelFamilies) {
      for (const request of requests) {
        for (const dataset of [grey, binary]) {
          const raw = { family, ...request };
          const parsed = runRequestConfigSchema.safeParse(raw);
          // A combination the family refuses never reaches here (runs.create refuses it first).
          if (!parsed.success) continue;
          const config = parsed.data;
          checked++;
          const whole = runConfigSchema.parse({ ...raw, decoder: config.decoder ?? suggestDecoder(dataset).decoder });
          expect(withDatasetDecoder(config, dataset), JSON.stringify(raw)).toEqual(whole);
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
    expect(withDatasetDecoder(runRequestConfigSchema.parse({}), grey).decoder).toBe('logistic');
    expect(withDatasetDecoder(runRequestConfigSchema.parse({}), binary).decoder).toBe('bernoulli');
  });

  it('still refuses a setting that needs another decoder than the one the dataset fills in, naming it', () => {
    // Checked under the schema's default decoder, then given the dataset's: the combination is checked again.
    const config = { ...runRequestConfigSchema.parse({}), decoderVariance: 'global' } as RunRequestConfig;
    let error: unknown;
    try {
      withDatasetDecoder(config, grey, 'trials.config');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).toJSON()).toMatchObject({ code: 'invalid_input', details: { field: 'trials.config.decoderVariance' }, message: expect.stringContaining("needs decoder 'gaussian'") as unknown });
    expect(withDatasetDecoder({ ...config, decoder: 'gaussian' }, grey).decoderVariance).toBe('global');
  });
});
