import { describe, expect, it } from 'vitest';
import { defaultRunConfig, newRunConfig, runConfigSchema } from './config';
import { proposeForNewRun, proposeTraining, SCALED_CONV_PROPOSED_BATCH } from './training-proposal';

const at = (side: number, height = side) => ({ width: side, height });

describe('the batch proposed for a new run', () => {
  it('is 16 for a scaled conv (every preset, the default one included) at 64 px and more, saying why', () => {
    for (const convArch of ['small', 'medium', 'large', undefined] as const) {
      for (const side of [64, 96, 128, 256]) {
        expect(proposeForNewRun(at(side), { architecture: 'conv', convArch })).toMatchObject({ batchSize: 16, reason: expect.stringMatching(/^Batch 16 .*optimizer steps/) });
      }
    }
    expect(SCALED_CONV_PROPOSED_BATCH).toBe(16);
    // The shorter side decides: 128×64 is proposed for, 128×48 not.
    expect(proposeForNewRun(at(128, 64), { architecture: 'conv' })?.batchSize).toBe(16);
    expect(proposeForNewRun(at(128, 48), { architecture: 'conv' })).toBeNull();
    // Families with a Gaussian latent too; width, blocks and norm do not change it.
    for (const family of ['vae', 'cvae', 'm2'] as const) expect(proposeForNewRun(at(64), { architecture: 'conv', convArch: 'medium', family })?.batchSize).toBe(16);
    expect(proposeForNewRun(at(64), { architecture: 'conv', convArch: 'small', convWidth: 32, convResBlocks: 2, convNorm: 'layer' })?.batchSize).toBe(16);
  });

  it('leaves the schema default (64) for the MLP, classic, VQ-VAE and images under 64 px, where nothing was measured', () => {
    expect(proposeForNewRun(at(64), {})).toBeNull();
    expect(proposeForNewRun(at(64), { architecture: 'mlp' })).toBeNull();
    expect(proposeForNewRun(at(64), { architecture: 'conv', convArch: 'classic' })).toBeNull();
    expect(proposeForNewRun(at(64), { architecture: 'conv', family: 'vqvae' })).toBeNull();
    for (const side of [28, 32, 48, 63]) expect(proposeForNewRun(at(side), { architecture: 'conv', convArch: 'medium' })).toBeNull();
    expect(proposeTraining({ image: at(64), design: null, family: 'vae' })).toBeNull();
    expect(proposeTraining({ image: at(64), design: undefined, family: 'vae' })).toBeNull();
  });

  it('proposes nothing for values that are not a setting (the core refuses them, naming the field)', () => {
    expect(proposeForNewRun(at(64), { architecture: 'conv', convArch: 'huge' })).toBeNull();
    expect(proposeForNewRun(at(64), { architecture: 'conv', family: 'gan' })).toBeNull();
    expect(proposeForNewRun(at(64), { architecture: 'conv', convArch: 3 })).toBeNull();
  });

  it('does not change what a stored config without a batch means: 64, for a scaled conv at any size too', () => {
    expect(defaultRunConfig().batchSize).toBe(64);
    const stored = runConfigSchema.parse({ architecture: 'conv', convArch: 'medium', convWidth: 16, convResBlocks: 1, convNorm: 'layer', decoder: 'logistic' });
    expect(stored.batchSize).toBe(64);
    // Storing a new run writes the batch it was given, proposed or not.
    expect(newRunConfig({ ...stored, batchSize: 16 }).batchSize).toBe(16);
    expect(newRunConfig(stored).batchSize).toBe(64);
  });
});
