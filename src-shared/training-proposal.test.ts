import { describe, expect, it } from 'vitest';
import { defaultRunConfig, newRunConfig, runConfigSchema } from './config';
import { CONV_PRESETS, convDesignOf } from './conv';
import { proposeEncoderInput, proposeForNewRun, SCALED_CONV_PROPOSED_LEARNING_RATE } from './training-proposal';

const at = (side: number, height = side) => ({ width: side, height });

describe('the norm and step size proposed for a new run', () => {
  it('is no layer norm at Adam 2e-3 for a scaled conv (every preset, the default one included) at 64 px and more, saying why', () => {
    for (const convArch of ['small', 'medium', 'large', undefined] as const) {
      for (const side of [64, 96, 128, 256]) {
        expect(proposeForNewRun(at(side), { architecture: 'conv', convArch })).toEqual({
          convNorm: 'none',
          learningRate: 2e-3,
          reason: expect.stringMatching(/^No layer norm, Adam 2e-3: .*lost the posterior/),
        });
      }
    }
    expect(SCALED_CONV_PROPOSED_LEARNING_RATE).toBe(0.002);
    // The shorter side decides: 128×64 is proposed for, 128×48 not.
    expect(proposeForNewRun(at(128, 64), { architecture: 'conv' })?.convNorm).toBe('none');
    expect(proposeForNewRun(at(128, 48), { architecture: 'conv' })).toBeNull();
    // Families with a Gaussian latent too.
    for (const family of ['vae', 'cvae', 'm2'] as const) expect(proposeForNewRun(at(64), { architecture: 'conv', convArch: 'medium', family })?.learningRate).toBe(2e-3);
  });

  it('keeps Adam at the default 1e-3 where a layer norm is named (there 2e-3 lost the posterior), still proposing the run without it', () => {
    const named = proposeForNewRun(at(64), { architecture: 'conv', convArch: 'medium', convNorm: 'layer' });
    expect(named).toMatchObject({ convNorm: 'none', reason: expect.stringMatching(/^Proposed: no layer norm and Adam 2e-3 .*keep Adam at 1e-3/) });
    expect(named?.learningRate).toBeUndefined();
    expect(proposeForNewRun(at(64), { architecture: 'conv', convNorm: 'none' })?.learningRate).toBe(2e-3);
  });

  it('leaves the defaults for the MLP, classic, VQ-VAE and images under 64 px, where nothing was measured', () => {
    expect(proposeForNewRun(at(64), {})).toBeNull();
    expect(proposeForNewRun(at(64), { architecture: 'mlp' })).toBeNull();
    expect(proposeForNewRun(at(64), { architecture: 'conv', convArch: 'classic' })).toBeNull();
    expect(proposeForNewRun(at(64), { architecture: 'conv', family: 'vqvae' })).toBeNull();
    for (const side of [28, 32, 48, 63]) expect(proposeForNewRun(at(side), { architecture: 'conv', convArch: 'medium' })).toBeNull();
  });

  it('proposes nothing for values that are not a setting (the core refuses them, naming the field)', () => {
    expect(proposeForNewRun(at(64), { architecture: 'conv', convArch: 'huge' })).toBeNull();
    expect(proposeForNewRun(at(64), { architecture: 'conv', family: 'gan' })).toBeNull();
    expect(proposeForNewRun(at(64), { architecture: 'conv', convArch: 3 })).toBeNull();
    expect(proposeForNewRun(at(64), { architecture: 'conv', convNorm: 'batch' })).toBeNull();
  });

  it('does not change what a stored config means: a medium run stored without a norm or step size has the layer norm and Adam 1e-3', () => {
    expect(defaultRunConfig().learningRate).toBe(1e-3);
    expect(CONV_PRESETS.medium.norm).toBe('layer');
    const stored = runConfigSchema.parse({ architecture: 'conv', convArch: 'medium', decoder: 'logistic' });
    expect(stored.learningRate).toBe(1e-3);
    expect(convDesignOf(stored)?.norm).toBe('layer');
    // Storing a new run writes the norm and step size it was given, proposed or not.
    expect(newRunConfig({ ...stored, convNorm: 'none', learningRate: 2e-3 })).toMatchObject({ convNorm: 'none', learningRate: 2e-3 });
    expect(newRunConfig(stored)).toMatchObject({ convNorm: 'layer', learningRate: 1e-3 });
  });
});

describe('the encoder input proposed for a new run', () => {
  it('is centred for a scaled conv of a Gaussian-latent family at 64 px and more, with its reason', () => {
    for (const convArch of ['small', 'medium', 'large', undefined] as const) {
      for (const family of ['vae', 'cvae', 'm2'] as const) {
        expect(proposeEncoderInput(at(64), { architecture: 'conv', convArch, family })).toEqual({ encoderInput: 'centred', reason: expect.stringMatching(/^Centred: the encoder reads 2x − 1/) });
      }
    }
    expect(proposeEncoderInput(at(128, 64), { architecture: 'conv' }).encoderInput).toBe('centred');
  });

  it('is not centred where it was not measured better: the MLP, classic, VQ-VAE, under 64 px, no dataset yet; and the reason says so', () => {
    for (const settings of [{}, { architecture: 'mlp' }, { architecture: 'conv', convArch: 'classic' }, { architecture: 'conv', family: 'vqvae' }, { architecture: 'conv', convArch: 'huge' }]) {
      expect(proposeEncoderInput(at(64), settings)).toEqual({ encoderInput: 'unit', reason: expect.stringMatching(/^Not centred: .*28 px digits the classic conv did worse/) });
    }
    for (const side of [28, 32, 63]) expect(proposeEncoderInput(at(side), { architecture: 'conv', convArch: 'medium' }).encoderInput).toBe('unit');
    expect(proposeEncoderInput(null, { architecture: 'conv' }).encoderInput).toBe('unit');
  });

  it('does not change what a stored config means: without the field it is not centred, and storing a new run adds nothing', () => {
    expect(defaultRunConfig().encoderInput).toBeUndefined();
    expect(newRunConfig(runConfigSchema.parse({ architecture: 'conv' })).encoderInput).toBeUndefined();
  });
});
