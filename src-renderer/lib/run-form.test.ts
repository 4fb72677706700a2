import { describe, expect, it } from 'vitest';
import { LIMITS, defaultRunConfig } from '@shared/config';
import { defaultRunForm, mseScale, validateRunForm, type RunFormValues } from './run-form';

const valid = (patch: Partial<RunFormValues> = {}): RunFormValues => ({ ...defaultRunForm(1), ...patch });

describe('validateRunForm', () => {
  it('accepts the defaults and yields the default config', () => {
    const { errors, config } = validateRunForm(valid());
    expect(errors).toEqual({});
    expect(config).toEqual(defaultRunConfig());
  });

  it('explains out-of-range latent sizes with the shared limits', () => {
    for (const latent of [0, LIMITS.latent.max + 1]) {
      const { errors, config } = validateRunForm(valid({ latent }));
      expect(errors.latent).toBe(`Latent size must be between ${LIMITS.latent.min} and ${LIMITS.latent.max}.`);
      expect(config).toBeNull();
    }
  });

  it('requires whole numbers and present values', () => {
    expect(validateRunForm(valid({ epochs: 2.5 })).errors.epochs).toBe('Epochs must be a whole number.');
    expect(validateRunForm(valid({ batchSize: null })).errors.batchSize).toBe('Batch size is required.');
    expect(validateRunForm(valid({ datasetId: null })).errors.datasetId).toBeDefined();
  });

  it('uses the schema for fields without LIMITS', () => {
    expect(validateRunForm(valid({ hidden: 4 })).errors.hidden).toBe('Must be at least 8.');
    expect(validateRunForm(valid({ beta: -1 })).errors.beta).toBe('Must be at least 0.');
  });

  it('checks σ only for the Gaussian decoder', () => {
    expect(validateRunForm(valid({ decoder: 'bernoulli', gaussianSigma: -1 })).errors).toEqual({});
    expect(validateRunForm(valid({ decoder: 'gaussian', gaussianSigma: -1 })).errors.gaussianSigma).toBeDefined();
    expect(validateRunForm(valid({ decoder: 'gaussian', gaussianSigma: 0.5 })).config?.gaussianSigma).toBe(0.5);
  });
});

describe('mseScale', () => {
  it('is 1/(2σ²)', () => {
    expect(mseScale(0.1)).toBeCloseTo(50);
    expect(mseScale(1)).toBe(0.5);
    expect(mseScale(0)).toBeNull();
    expect(mseScale(null)).toBeNull();
  });
});
