import { describe, expect, it } from 'vitest';
import { defaultRunConfig, newRunConfig, runConfigSchema } from './config';
import { CONV_PRESETS, convDesignOf } from './conv';
import { proposeArchitecture, proposeEncoderInput } from './training-proposal';

const at = (side: number, height = side) => ({ width: side, height });

describe('the norm and step size of a new run', () => {
  it("are the preset's and the schema's, as a stored config means them: with the centred input nothing else is proposed", () => {
    expect(defaultRunConfig().learningRate).toBe(1e-3);
    expect(CONV_PRESETS.medium.norm).toBe('layer');
    const stored = runConfigSchema.parse({ architecture: 'conv', convArch: 'medium', decoder: 'logistic' });
    expect(stored.learningRate).toBe(1e-3);
    expect(convDesignOf(stored)?.norm).toBe('layer');
    // Storing a new run writes the norm and step size it was given.
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

describe('the model proposed for a new run', () => {
  it('is the conv model from 64 px on either side, nothing below or without a dataset', () => {
    for (const image of [at(64), at(256), at(64, 200)]) expect(proposeArchitecture(image)).toEqual({ architecture: 'conv', reason: expect.stringMatching(/^At 64 px and more/) });
    for (const image of [at(28), at(63), at(63, 256)]) expect(proposeArchitecture(image)).toBeNull();
    expect(proposeArchitecture(null)).toBeNull();
  });

  it('leads to the centred input: the conv run it proposes is one the encoder-input proposal is for', () => {
    const model = proposeArchitecture(at(64))!;
    expect(proposeEncoderInput(at(64), { architecture: model.architecture }).encoderInput).toBe('centred');
  });
});
