import { describe, expect, it } from 'vitest';
import { LIMITS, convDesignOf, defaultRunConfig, importSettingsSchema, newRunConfig, runConfigSchema } from '@shared/config';
import { CONV_BENCH } from '@shared/conv-bench';
import { modelParameterCount, trainingBytes } from '@shared/model-size';
import {
  ENCODER_INPUT_OPTIONS,
  convBenchSource,
  convChoiceFigures,
  defaultRunForm,
  encoderInputNote,
  proposedTraining,
  explainDecoder,
  mseScale,
  runFormFrom,
  sanitizeRunForm,
  suggestForDataset,
  validateRunForm,
  architectureNote,
  formConvDesign,
  type ConvChoiceFigures,
  type FormDataset,
  type RunFormValues,
} from './run-form';

const valid = (patch: Partial<RunFormValues> = {}): RunFormValues => ({ ...defaultRunForm(1), ...patch });
const dataset = (patch: Partial<FormDataset> & { binarize?: boolean } = {}): FormDataset => ({
  width: 28,
  height: 28,
  channels: 1,
  ...patch,
  settings: importSettingsSchema.parse({ binarize: patch.binarize ?? false }),
});

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
    expect(validateRunForm(valid({ iwaeSamples: 0 })).errors.iwaeSamples).toBe('IWAE k must be between 1 and 5,000.');
  });

  it('uses the schema for fields without LIMITS', () => {
    expect(validateRunForm(valid({ hidden: 4 })).errors.hidden).toBe('Must be at least 8.');
    expect(validateRunForm(valid({ beta: -1 })).errors.beta).toBe('Must be at least 0.');
    expect(validateRunForm(valid({ freeBits: 11 })).errors.freeBits).toBe('Must be at most 10.');
    expect(validateRunForm(valid({ klWarmupSteps: 1.5 })).errors.klWarmupSteps).toBeDefined();
  });

  it('checks σ and the learned variance only for the Gaussian decoder', () => {
    expect(validateRunForm(valid({ decoder: 'bernoulli', gaussianSigma: -1 })).errors).toEqual({});
    expect(validateRunForm(valid({ decoder: 'gaussian', gaussianSigma: -1 })).errors.gaussianSigma).toBeDefined();
    expect(validateRunForm(valid({ decoder: 'gaussian', gaussianSigma: 0.5 })).config?.gaussianSigma).toBe(0.5);
    // A learned variance left over from a Gaussian choice is not sent with Bernoulli.
    expect(validateRunForm(valid({ decoder: 'bernoulli', decoderVariance: 'per-pixel' })).config?.decoderVariance).toBe('fixed');
    expect(validateRunForm(valid({ decoder: 'gaussian', decoderVariance: 'global' })).config?.decoderVariance).toBe('global');
  });

  it('sends the capacity settings under capacity annealing and the β ones otherwise', () => {
    const capacity = validateRunForm(valid({ objective: 'capacity', capacityMax: 10, capacitySteps: 500, capacityGamma: 100, klWarmupSteps: 300, freeBits: 0.5 }));
    expect(capacity.errors).toEqual({});
    expect(capacity.config).toMatchObject({ objective: 'capacity', capacityMax: 10, capacitySteps: 500, capacityGamma: 100, klWarmupSteps: 0, freeBits: 0 });
    const beta = validateRunForm(valid({ klWarmupSteps: 300, freeBits: 0.5, capacityMax: -5 }));
    expect(beta.errors).toEqual({});
    expect(beta.config).toMatchObject({ objective: 'beta', klWarmupSteps: 300, freeBits: 0.5, capacityMax: 25 });
    expect(validateRunForm(valid({ objective: 'capacity', capacitySteps: 0 })).errors.capacitySteps).toBe('Must be at least 1.');
  });

  it('sends only the chosen corruption and decay figures, and checks them', () => {
    expect(validateRunForm(valid({ denoise: 'mask', denoiseMaskProb: 0.3, denoiseSigma: -1 })).config).toMatchObject({ denoise: 'mask', denoiseMaskProb: 0.3, denoiseSigma: 0.2 });
    expect(validateRunForm(valid({ denoise: 'mask', denoiseMaskProb: 0.99 })).errors.denoiseMaskProb).toBe('Must be at most 0.95.');
    expect(validateRunForm(valid({ lrDecay: 'step', lrDecayRate: 0.1, lrDecaySteps: 100 })).config).toMatchObject({ lrDecay: 'step', lrDecayRate: 0.1, lrDecaySteps: 100 });
    expect(validateRunForm(valid({ lrDecay: 'exponential', lrDecayRate: 2 })).errors.lrDecayRate).toBe('Must be at most 1.');
  });

  it('refuses the conv model on a dataset whose size does not suit it, at the model field', () => {
    expect(validateRunForm(valid({ architecture: 'conv', convArch: 'classic' }), dataset({ width: 10, height: 10 })).errors.architecture).toMatch(/multiple of 4.*10×10/);
    expect(validateRunForm(valid({ architecture: 'conv', convArch: 'classic' }), dataset()).errors).toEqual({});
    // A scaled preset takes any size: its stages follow the image and the decoder crops back.
    expect(validateRunForm(valid({ architecture: 'conv' }), dataset({ width: 10, height: 10 })).errors).toEqual({});
  });
});

describe('encoder input', () => {
  it('is proposed centred for a scaled conv at 64 px, says why, names the proposal beside another choice, and sends not centred as a config without the field', () => {
    const scenes = dataset({ width: 64, height: 64, channels: 3 });
    const conv = proposedTraining(scenes, valid({ architecture: 'conv', convArch: 'medium' }));
    expect(conv).toMatchObject({ encoderInput: 'centred', encoderInputReason: expect.stringMatching(/^Centred: the encoder reads 2x − 1/) });
    const mlp = proposedTraining(scenes, valid());
    expect(mlp.encoderInput).toBe('unit');
    expect(proposedTraining(dataset(), valid({ architecture: 'conv', convArch: 'medium' })).encoderInput).toBe('unit');
    expect(encoderInputNote('centred', conv)).toBe(conv.encoderInputReason);
    expect(encoderInputNote('unit', conv)).toMatch(/^Not centred \(chosen\): the encoder reads pixels in \[0, 1\]\. Proposed here: centred, 2x − 1 — Centred: /);
    expect(encoderInputNote('unit', mlp)).toMatch(/^Not centred: the encoder reads pixels in \[0, 1\]/);
    expect(encoderInputNote('centred', mlp)).toMatch(/^Centred \(chosen\).*Proposed here: pixels in \[0, 1\] \(not centred\)/);
    // A new form holds what the schema's absence means until a dataset and model propose otherwise.
    expect(defaultRunForm(1).encoderInput).toBe('unit');
    expect(ENCODER_INPUT_OPTIONS).toEqual([
      ['unit', 'Pixels in [0, 1] (not centred)'],
      ['centred', 'Centred, 2x − 1'],
    ]);
    expect(validateRunForm(valid({ encoderInput: 'unit' })).config).not.toHaveProperty('encoderInput');
    for (const family of ['vae', 'cvae', 'm2', 'vqvae'] as const) expect(validateRunForm(valid({ family, encoderInput: 'centred' })).config?.encoderInput).toBe('centred');
  });

  it('a clone keeps its run\'s: a centred run stays centred, a run stored without the field shows and stays not centred', () => {
    // As runs are stored: the preset's settings written out.
    const old = newRunConfig(runConfigSchema.parse({ architecture: 'conv', convArch: 'medium', decoder: 'logistic' }));
    expect(runFormFrom(old, 3).encoderInput).toBe('unit');
    expect(validateRunForm(runFormFrom(old, 3)).config).toEqual(old);
    const centred = { ...old, encoderInput: 'centred' as const };
    expect(validateRunForm(runFormFrom(centred, 3)).config).toEqual(centred);
    // Recalled settings are checked like any stored value.
    expect(sanitizeRunForm({ encoderInput: 'minus-one' }).encoderInput).toBe('unit');
    expect(sanitizeRunForm({ encoderInput: 'centred' }).encoderInput).toBe('centred');
    expect(sanitizeRunForm({ encoderInput: 'unit' }).encoderInput).toBe('unit');
  });
});

describe('clone', () => {
  it('keeps a conv run stored before presets classic when cloned, and a new conv form on the default preset', () => {
    const stored = runConfigSchema.parse({ model: 'conv', latent: 8 });
    const cloned = validateRunForm(runFormFrom(stored, 3, 'copy')).config!;
    expect(cloned).toEqual({ ...stored, convArch: 'classic' });
    expect(newRunConfig(cloned).convArch).toBe('classic');
    expect(validateRunForm(valid({ architecture: 'conv' })).config).toMatchObject({ convArch: 'medium', convWidth: 16, convResBlocks: 1, convNorm: 'layer' });
    // Emptied figures fall back to the preset's; settings of a conv design are not sent for the MLP.
    expect(convDesignOf(validateRunForm(valid({ architecture: 'conv', convArch: 'large', convWidth: null })).config!)).toMatchObject({ width: 32 });
    expect(validateRunForm(valid({ architecture: 'mlp' })).config!.convArch).toBeUndefined();
  });

  it('round-trips any valid config through the form unchanged', () => {
    const config = runConfigSchema.parse({
      architecture: 'conv',
      convArch: 'large',
      convWidth: 24,
      convResBlocks: 0,
      convNorm: 'layer',
      decoder: 'gaussian',
      decoderVariance: 'per-pixel',
      gaussianSigma: 0.3,
      objective: 'capacity',
      capacityMax: 12,
      capacitySteps: 800,
      capacityGamma: 50,
      denoise: 'gaussian',
      denoiseSigma: 0.1,
      lrDecay: 'exponential',
      lrDecayRate: 0.7,
      lrDecaySteps: 300,
      iwaeSamples: 20,
      seed: 9,
    });
    expect(validateRunForm(runFormFrom(config, 3, 'copy')).config).toEqual(config);
  });
});

describe('conv preset chooser', () => {
  it('shows stages, parameters, the memory the worker checks and the img/s the bench measured, per architecture', () => {
    const figures = convChoiceFigures(valid({ architecture: 'conv', latent: 32, hidden: 256, batchSize: 64 }), { width: 64, height: 64, channels: 3 });
    expect(figures.map((f) => f.arch)).toEqual(['classic', 'small', 'medium', 'large']);
    expect(figures.map((f) => f.stages)).toEqual([2, 4, 4, 4]);
    const [classic, small, medium, large] = figures;
    expect(small!.params).toBeLessThan(medium!.params);
    expect(medium!.params).toBeLessThan(large!.params);
    // At 64 px the classic dense layer reads 16×16×64 features: more weights than the medium preset.
    expect(classic!.params).toBeGreaterThan(medium!.params);
    expect(medium!.memoryBytes).toBe(trainingBytes({ kind: 'conv', image: { width: 64, height: 64, channels: 3 }, latent: 32, hidden: 256, conv: { width: 16, resBlocks: 1, norm: 'layer' } }, 64));
    // Speeds are the checked-in measurements, never estimates.
    for (const f of figures) {
      const row = CONV_BENCH.rows.find((r) => r.arch === f.arch && r.side === 64);
      expect(f.speed).toEqual(row ? { imagesPerSec: row.imagesPerSec, side: 64 } : null);
    }
    expect(convChoiceFigures(valid({ architecture: 'conv' }), { width: 30, height: 30, channels: 1 })[0]!.misfit).toMatch(/multiple of 4/);
  });

  it("follows the chosen decoder and family: a logistic mixture's head and M2's classifier and passes count, and the speed line says the img/s are a plain VAE's", () => {
    const image = { width: 64, height: 64, channels: 3 } as const;
    const medium = (patch: Partial<RunFormValues>, labels?: string[]): ConvChoiceFigures =>
      convChoiceFigures(valid({ architecture: 'conv', convArch: 'medium', ...patch }), { ...image, ...(labels && { labels }) }).find((f) => f.arch === 'medium')!;
    const plain = medium({ decoder: 'gaussian' });
    const mixture = medium({ decoder: 'logistic', mixtureComponents: 5 });
    const spec = { kind: 'conv', image, latent: 16, hidden: 256, conv: { width: 16, resBlocks: 1, norm: 'layer' } } as const;
    expect(mixture.params).toBe(modelParameterCount({ ...spec, output: { channels: 45, name: 'x_params' } }));
    expect(mixture.memoryBytes).toBe(trainingBytes({ ...spec, output: { channels: 45, name: 'x_params' } }, 64));
    expect(mixture.params).toBeGreaterThan(plain.params);
    expect(mixture.memoryBytes).toBeGreaterThan(plain.memoryBytes);
    // The measured speed stays the bench's, and the line under the presets says whose it is.
    expect(mixture.speed).toEqual(plain.speed);
    expect(convBenchSource(valid({ decoder: 'gaussian' }))).not.toMatch(/plain VAE/);
    expect(convBenchSource(valid({ decoder: 'logistic' }))).toMatch(/img\/s are a plain VAE's with a Gaussian decoder, not this run's \(the logistic decoder\)/);
    // M2 on 4 labels: its classifier's weights, and every image through the model once per class.
    const m2 = medium({ family: 'm2', decoder: 'gaussian' }, ['a', 'b', 'c', 'd']);
    expect(m2.params).toBeGreaterThan(plain.params);
    expect(m2.memoryBytes).toBeGreaterThan(3 * plain.memoryBytes);
    // A VQ-VAE's stack stops at its 8×8 code grid: three stages at 64 px, not four.
    expect(medium({ family: 'vqvae' }).stages).toBe(3);
  });
});

describe('dataset suggestions', () => {
  it('picks the logistic mixture for 8-bit grey or RGB pixels and Bernoulli for binary ones, from what the import measured', () => {
    expect(suggestForDataset(dataset({ channels: 3, stats: { pixelLevels: '8-bit' } }), 'mlp').decoder).toBe('logistic');
    expect(suggestForDataset(dataset({ stats: { pixelLevels: '8-bit' } }), 'mlp')).toMatchObject({ decoder: 'logistic', reason: expect.stringMatching(/8-bit greyscale/) });
    // A folder of black-and-white PNGs, not binarized by the import, is binary all the same.
    expect(suggestForDataset(dataset({ stats: { pixelLevels: 'binary' } }), 'mlp').decoder).toBe('bernoulli');
    // Imported before the measurement: binarized means binary.
    expect(suggestForDataset(dataset({ binarize: true }), 'mlp').decoder).toBe('bernoulli');
    expect(suggestForDataset(dataset(), 'mlp').decoder).toBe('logistic');
  });

  it('explains the decoder: why it is the default, what its NLL is, and flags Bernoulli on 8-bit pixels', () => {
    const photos = dataset({ channels: 3, stats: { pixelLevels: '8-bit' } });
    const logistic = explainDecoder('logistic', photos, 'mlp');
    expect(logistic.why).toMatch(/^8-bit RGB pixels/);
    expect(logistic.meaning).toMatch(/Bits\/dim on the 0–255 scale/);
    expect(logistic.caveat).toBeNull();
    const bernoulli = explainDecoder('bernoulli', photos, 'mlp');
    expect(bernoulli.why).toMatch(/^Suggested: Logistic mixture\./);
    expect(bernoulli.caveat).toMatch(/not a likelihood of this data/);
    expect(explainDecoder('bernoulli', dataset({ stats: { pixelLevels: 'binary' } }), 'mlp').caveat).toBeNull();
    expect(explainDecoder('gaussian', photos, 'mlp').meaning).toMatch(/D·ln 256/);
    expect(explainDecoder('gaussian', null, 'mlp').why).toBeNull();
  });

  it('sends K only with the logistic decoder', () => {
    const form = { ...defaultRunForm(1), decoder: 'logistic' as const, mixtureComponents: 7 };
    expect(validateRunForm(form).config).toMatchObject({ decoder: 'logistic', mixtureComponents: 7 });
    expect(validateRunForm({ ...form, mixtureComponents: 0 }).errors.mixtureComponents).toMatch(/at least 1/);
    // Not shown for another decoder, so not sent: the default stays.
    expect(validateRunForm({ ...form, decoder: 'gaussian', mixtureComponents: 0 }).config?.mixtureComponents).toBe(1);
  });

  it('falls back to the MLP only when the conv model cannot take the size', () => {
    expect(suggestForDataset(dataset({ width: 10, height: 10 }), 'conv').architecture).toBe('mlp');
    expect(suggestForDataset(dataset(), 'conv').architecture).toBeUndefined();
  });

  it('proposes the conv model for images of 64 px and more, and says so under the choice', () => {
    const photos = dataset({ width: 96, height: 64, channels: 3, stats: { pixelLevels: '8-bit' } });
    expect(suggestForDataset(photos, 'mlp')).toMatchObject({ architecture: 'conv', decoder: 'logistic' });
    expect(suggestForDataset(photos, 'conv').architecture).toBeUndefined();
    // Sides that are not multiples of 4: the form's preset takes them (classic would not), so it is still proposed.
    const odd = dataset({ width: 66, height: 66, channels: 3 });
    expect(suggestForDataset(odd, 'mlp', formConvDesign(defaultRunForm(1))).architecture).toBe('conv');
    expect(suggestForDataset(odd, 'mlp', null).architecture).toBeUndefined();
    // Below 64 px the MLP stays, and nothing is said.
    expect(suggestForDataset(dataset({ width: 63, height: 128 }), 'mlp').architecture).toBeUndefined();
    expect(architectureNote(dataset(), 'mlp')).toBeNull();
    expect(architectureNote(null, 'mlp')).toBeNull();
    expect(architectureNote(photos, 'conv')).toMatch(/^The convolutional model is proposed for these images\. At 64 px and more/);
    expect(architectureNote(photos, 'mlp')).toMatch(/^MLP \(chosen\)\. Proposed here: the convolutional model\./);
    // The proposed model on these images is the default preset, which the encoder input proposal then centres.
    const form = { ...defaultRunForm(1), architecture: 'conv' as const };
    expect(formConvDesign(form)).not.toBeNull();
    expect(proposedTraining(photos, form).encoderInput).toBe('centred');
  });
});

describe('stored form', () => {
  it('keeps valid stored values and replaces broken or unknown ones with defaults', () => {
    const restored = sanitizeRunForm({ latent: 7, objective: 'capacity', decoder: 'poisson', lrDecay: 42, beta: 'x', datasetId: 'a', extra: 1 });
    expect(restored.latent).toBe(7);
    expect(restored.objective).toBe('capacity');
    expect(restored.decoder).toBe('bernoulli');
    expect(restored.lrDecay).toBe('none');
    expect(restored.beta).toBe(1);
    expect(restored.datasetId).toBeNull();
    expect('extra' in restored).toBe(false);
    expect(sanitizeRunForm(null)).toEqual(defaultRunForm(null));
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

describe('model family and posterior flow in the form', () => {
  it('sends family and flow, and flow steps only with a flow', () => {
    const cvae = validateRunForm(valid({ family: 'cvae', flow: 'planar', flowSteps: 6 }), dataset({ labels: ['a', 'b'] }));
    expect(cvae.errors).toEqual({});
    expect(cvae.config).toMatchObject({ family: 'cvae', flow: 'planar', flowSteps: 6 });
    // Hidden flow steps neither fail nor reach the stored config.
    const plain = validateRunForm(valid({ flow: 'none', flowSteps: null }));
    expect(plain.errors).toEqual({});
    expect(plain.config?.flowSteps).toBe(defaultRunConfig().flowSteps);
    expect(validateRunForm(valid({ flow: 'planar', flowSteps: 0 })).errors.flowSteps).toBe(
      `Flow steps must be between ${LIMITS.flowSteps.min} and ${LIMITS.flowSteps.max}.`,
    );
  });

  it('refuses a conditional VAE on a dataset without labels, and free bits with a flow', () => {
    const unlabelled = { ...dataset(), settings: importSettingsSchema.parse({ labels: false }) };
    expect(validateRunForm(valid({ family: 'cvae' }), unlabelled).errors.family).toMatch(/imported without labels/);
    expect(validateRunForm(valid({ family: 'cvae' }), dataset({ labels: ['only'] })).errors.family).toMatch(/at least 2 labels/);
    expect(validateRunForm(valid({ flow: 'planar', freeBits: 0.5 })).errors.freeBits).toMatch(/free bits need a Gaussian posterior/i);
  });

  it('round-trips a cloned run and drops unknown stored choices', () => {
    const config = runConfigSchema.parse({ family: 'cvae', flow: 'planar', flowSteps: 3 });
    expect(validateRunForm(runFormFrom(config, 1), dataset({ labels: ['a', 'b'] })).config).toEqual(config);
    expect(sanitizeRunForm({ family: 'gan', flow: 'maf' })).toMatchObject({ family: 'vae', flow: 'none' });
  });

  it('VQ-VAE: sends its codebook settings and none of the Gaussian-KL ones, whatever the hidden fields hold', () => {
    const form = valid({ family: 'vqvae', codebookSize: 64, codeDim: 8, commitment: 0.5, codebookDecay: 0.95, priorEpochs: 3, epochs: 10 });
    const hidden = { ...form, objective: 'capacity' as const, beta: 4, freeBits: 2, flow: 'planar' as const };
    const { errors, config } = validateRunForm(hidden, dataset({ labels: [] }));
    expect(errors).toEqual({});
    expect(config).toMatchObject({ family: 'vqvae', codebookSize: 64, codeDim: 8, commitment: 0.5, codebookDecay: 0.95, priorEpochs: 3 });
    expect(config).toMatchObject({ objective: 'beta', beta: 1, freeBits: 0, flow: 'none' });
    expect(validateRunForm(valid({ family: 'vqvae', epochs: 3, priorEpochs: 3 })).errors.priorEpochs).toMatch(/at least one for the autoencoder/);
    expect(validateRunForm(valid({ family: 'vqvae', codebookSize: 1 })).errors.codebookSize).toBeDefined();
  });

  it('M2: the kept labels are entered in percent and sent as a fraction, only for M2', () => {
    const m2 = validateRunForm(valid({ family: 'm2', labelPercent: 1 }), dataset({ labels: ['a', 'b'] }));
    expect(m2.errors).toEqual({});
    expect(m2.config).toMatchObject({ family: 'm2', labelFraction: 0.01 });
    expect(validateRunForm(valid({ family: 'm2', labelPercent: 0 })).errors.labelPercent).toBe('Labels kept must be between 0.01 and 100.');
    expect(validateRunForm(valid({ family: 'vae', labelPercent: null })).config?.labelFraction).toBe(defaultRunConfig().labelFraction);
    expect(runFormFrom(runConfigSchema.parse({ family: 'm2', labelFraction: 0.07 }), 1).labelPercent).toBe(7);
    expect(validateRunForm(valid({ family: 'm2', objective: 'capacity' })).errors.objective).toMatch(/m2/);
    // α: empty keeps the default (absent from the config), a number is sent.
    expect(validateRunForm(valid({ family: 'm2', classifierWeight: null })).config?.classifierWeight).toBeUndefined();
    expect(validateRunForm(valid({ family: 'm2', classifierWeight: 10 })).config?.classifierWeight).toBe(10);
    expect(validateRunForm(valid({ family: 'vae', classifierWeight: 10 })).config?.classifierWeight).toBeUndefined();
    expect(validateRunForm(valid({ family: 'm2', classifierWeight: -1 })).errors.classifierWeight).toBeDefined();
  });

  it("M2: a conv classifier is sent only with the conv model; a clone keeps the run's classifier", () => {
    expect(validateRunForm(valid({ family: 'm2', architecture: 'conv', classifier: 'conv' })).config?.classifier).toBe('conv');
    expect(validateRunForm(valid({ family: 'm2', architecture: 'conv', classifier: 'mlp' })).config?.classifier).toBe('mlp');
    // Switched back to the MLP model after picking a conv classifier: the MLP one goes.
    expect(validateRunForm(valid({ family: 'm2', architecture: 'mlp', classifier: 'conv' })).config?.classifier).toBe('mlp');
    expect(validateRunForm(valid({ family: 'vae', architecture: 'conv', classifier: 'conv' })).config?.classifier).toBeUndefined();
    expect(runFormFrom(runConfigSchema.parse({ family: 'm2', architecture: 'conv', classifier: 'conv' }), 1).classifier).toBe('conv');
    // A run stored before the choice existed had an MLP classifier, and its clone says so.
    expect(runFormFrom(runConfigSchema.parse({ family: 'm2', architecture: 'conv' }), 1).classifier).toBe('mlp');
  });
});
