import { describe, expect, it } from 'vitest';
import { defaultRunConfig, runConfigSchema } from './config';
import { settingApplies } from './families';
import { binaryPixels, decoderHead, likelihoodCaveat, LOGISTIC_INITIAL_LOG_SCALE, nllFigures, pixelLevelsOf, suggestDecoder } from './likelihood';
import { gaussianArchitecture, vqArchitecture } from './model-export/architectures';

const rgb = { channels: 3, settings: { binarize: false } };
const grey = { channels: 1, settings: { binarize: false } };

describe('likelihoods for the data', () => {
  it('suggests Bernoulli for binary pixels and the logistic mixture for 8-bit grey or RGB, saying why', () => {
    expect(suggestDecoder({ ...grey, stats: { pixelLevels: 'binary' } })).toMatchObject({ decoder: 'bernoulli', reason: expect.stringMatching(/0 or 1.*exact/) });
    expect(suggestDecoder({ ...rgb, stats: { pixelLevels: '8-bit' } })).toMatchObject({ decoder: 'logistic', reason: expect.stringMatching(/8-bit RGB.*bits\/dim compare/) });
    expect(suggestDecoder({ ...grey, stats: { pixelLevels: '8-bit' } })).toMatchObject({ decoder: 'logistic', reason: expect.stringMatching(/8-bit greyscale/) });
  });

  it('reads datasets imported before the check from their import settings', () => {
    // No pixelLevels in their stats: binarized ones are binary, the rest 8-bit.
    expect(pixelLevelsOf({ channels: 1, settings: { binarize: true }, stats: {} })).toBe('binary');
    expect(suggestDecoder({ channels: 1, settings: { binarize: true } })).toMatchObject({ decoder: 'bernoulli', reason: expect.stringMatching(/binarized at import/) });
    expect(pixelLevelsOf(grey)).toBe('8-bit');
    expect(suggestDecoder(rgb).decoder).toBe('logistic');
  });

  it('tells binary pixel values from 8-bit ones', () => {
    expect(binaryPixels(Uint8Array.of(0, 255, 255, 0))).toBe(true);
    expect(binaryPixels(Uint8Array.of(0, 255, 1))).toBe(false);
    expect(binaryPixels(new Uint8Array(0))).toBe(true);
  });

  it('flags a Bernoulli NLL on 8-bit data as no likelihood, and nothing else', () => {
    expect(likelihoodCaveat('bernoulli', '8-bit')).toMatch(/not a likelihood/);
    expect(likelihoodCaveat('bernoulli', 'binary')).toBeNull();
    expect(likelihoodCaveat('logistic', '8-bit')).toBeNull();
    expect(likelihoodCaveat('gaussian', '8-bit')).toBeNull();
  });

  it('bits/dim: NLL/(D ln 2) for discrete decoders, plus the bin volume D·ln 256 for the Gaussian density', () => {
    // A uniform distribution over 256 levels: 8 bits per sub-pixel.
    expect(nllFigures(-100 * Math.log(256), 100, 'logistic').bitsPerDim).toBeCloseTo(8, 12);
    // A Gaussian density of 1 everywhere on [0, 1) (log p = 0) is the same uniform model.
    expect(nllFigures(0, 100, 'gaussian')).toEqual({ nll: 100 * Math.log(256), bitsPerDim: 8 });
    expect(nllFigures(-86.8, 784, 'bernoulli').nll).toBe(86.8);
  });
});

describe('the decoder network follows the decoder', () => {
  const image = { width: 8, height: 4, channels: 3 };
  const params = (model: 'mlp' | 'conv', output?: ReturnType<typeof decoderHead>) =>
    gaussianArchitecture({ model, image, latent: 2, hidden: 16, classes: 0, extra: null, ...(output ? { output } : {}) }).params;

  it('old configs (no mixtureComponents) load unchanged: same decoder, same parameters as before the field', () => {
    const stored = { model: 'conv', latent: 2, hidden: 16, decoder: 'gaussian', decoderVariance: 'per-pixel', epochs: 3, seed: 4 };
    const config = runConfigSchema.parse(stored);
    const { model, ...rest } = stored;
    expect(config).toEqual({ ...defaultRunConfig(), ...rest, architecture: model, mixtureComponents: 1 });
    const head = decoderHead(config, 3);
    expect(head).toEqual({ channels: 3, name: 'x_mean' });
    // The declaration with the head of an old config is the one without any head: checkpoints still fit.
    for (const model of ['mlp', 'conv'] as const) expect(params(model, head)).toEqual(params(model));
  });

  it('a logistic mixture makes the last layer 3·K values per sub-pixel, named x_params, in every architecture', () => {
    const head = decoderHead({ decoder: 'logistic', mixtureComponents: 4 }, 3);
    expect(head).toMatchObject({ channels: 36, name: 'x_params' });
    expect(params('conv', head).find((p) => p.name === 'deconv2/f')!.shape).toEqual([4, 4, 36, 32]);
    expect(params('mlp', head).find((p) => p.name === 'out/w')!.shape).toEqual([16, 8 * 4 * 36]);
    const vq = vqArchitecture({ model: 'conv', image, hidden: 16, codeDim: 2, positions: 4, output: head });
    expect(vq.networks[1]!.outputs).toEqual(['x_params']);
  });

  it('a logistic head starts with log scales that fit pixels on [0, 1] in conv decoders; MLPs and other heads start at zero', () => {
    const K = 2;
    const head = decoderHead({ decoder: 'logistic', mixtureComponents: K }, 3);
    // Per image channel: K logits and K locations at 0 (equal weights, μ = 0.5), K log scales at the start value.
    const one = [0, 0, 0, 0, LOGISTIC_INITIAL_LOG_SCALE, LOGISTIC_INITIAL_LOG_SCALE];
    expect(head.initialBias).toEqual([...one, ...one, ...one]);
    // A logistic's standard deviation is s·π/√3: at the start about a photo's pixel spread (0.1–0.35 on [0, 1]), not
    // the s = 1 (sd 1.8, wider than the whole range) a zero bias gave, which scores every level worse than uniform.
    const sd = Math.exp(LOGISTIC_INITIAL_LOG_SCALE) * (Math.PI / Math.sqrt(3));
    expect(sd).toBeGreaterThan(0.1);
    expect(sd).toBeLessThan(0.35);
    const bias = (decl: { params: { name: string; init: string; values?: readonly number[] }[] }, name: string) => decl.params.find((p) => p.name === name)!;
    // conv: the last transposed convolution's bias, one value per channel of a pixel.
    expect(bias({ params: params('conv', head) }, 'deconv2/b')).toMatchObject({ init: 'values', values: head.initialBias });
    // mlp and VQ's mlp keep a zero output bias (on near-binary images the narrow start slowed them: see LOGISTIC_INITIAL_LOG_SCALE).
    expect(bias({ params: params('mlp', head) }, 'out/b').init).toBe('zeros');
    expect(bias(vqArchitecture({ model: 'mlp', image, hidden: 16, codeDim: 2, positions: 4, output: head }), 'out/b').init).toBe('zeros');
    expect(bias(vqArchitecture({ model: 'conv', image, hidden: 16, codeDim: 2, positions: 4, output: head }), 'deconv2/b').values).toEqual(head.initialBias);
    // Bernoulli and Gaussian heads keep their zero bias, and no other parameter of a logistic model changes its start.
    expect(bias({ params: params('conv', decoderHead({ decoder: 'bernoulli' }, 3)) }, 'deconv2/b').init).toBe('zeros');
    const withoutHead = (ps: ReturnType<typeof params>) => ps.filter((p) => p.name !== 'deconv2/b');
    const plainParams = params('conv', { channels: 18, name: 'x_params' });
    expect(withoutHead(params('conv', head))).toEqual(withoutHead(plainParams));
  });

  it('K is bounded, named when out of range, and read only by the logistic decoder', () => {
    const result = runConfigSchema.safeParse({ decoder: 'logistic', mixtureComponents: 11 });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual(['mixtureComponents']);
    const choices = { family: 'vae', architecture: 'mlp', flow: 'none', objective: 'beta', denoise: 'none', lrDecay: 'none' } as const;
    expect(settingApplies('mixtureComponents', { ...choices, decoder: 'logistic' })).toBe(true);
    expect(settingApplies('mixtureComponents', { ...choices, decoder: 'gaussian' })).toBe(false);
    expect(settingApplies('gaussianSigma', { ...choices, decoder: 'logistic' })).toBe(false);
  });
});
