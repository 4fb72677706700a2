import { describe, expect, it } from 'vitest';
import { defaultRunConfig, runConfigSchema } from '@shared/config';
import { familyLabel, formatAccuracy, formatShare } from './model-family';

describe('model family labels', () => {
  it('say nothing for the plain VAE and name what differs otherwise', () => {
    expect(familyLabel(defaultRunConfig())).toBeNull();
    expect(familyLabel(runConfigSchema.parse({ family: 'cvae' }))).toBe('conditional');
    expect(familyLabel(runConfigSchema.parse({ family: 'vqvae', codebookSize: 64 }))).toBe('VQ-VAE, 64 codes');
    expect(familyLabel(runConfigSchema.parse({ family: 'm2', labelFraction: 0.01, flow: 'planar', flowSteps: 8 }))).toBe('M2, 1 % labels · planar flow ×8');
  });

  it('formats shares and accuracies', () => {
    expect(formatShare(0.1)).toBe('10 %');
    expect(formatShare(0.005)).toBe('0.5 %');
    expect(formatAccuracy(0.9734)).toBe('97.3 %');
    expect(formatAccuracy(undefined)).toBe('—');
    expect(formatAccuracy(Number.NaN)).toBe('—');
  });
});
