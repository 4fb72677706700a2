import { describe, expect, it } from 'vitest';
import { classifierKindOf, convDesignOf, encoderInputOf, defaultRunConfig, inferenceBlocker, newRunConfig, runConfigSchema, type RunConfig, type RunConfigInput } from './config';
import { convPlan, vqCodeStages } from './conv';

describe('run config: model families and flows', () => {
  it('reads a config stored before families existed as the plain VAE it was', () => {
    // A run row written by an earlier version: no family, no flow.
    const stored = { model: 'conv', latent: 8, hidden: 128, decoder: 'bernoulli', epochs: 3, batchSize: 32, learningRate: 0.001, seed: 4 };
    const config = runConfigSchema.parse(stored);
    expect(config.family).toBe('vae');
    expect(config.flow).toBe('none');
    const { model, ...rest } = stored;
    expect(config).toEqual({ ...defaultRunConfig(), ...rest, architecture: model });
  });

  it('reads the names of earlier versions: model is the architecture, a VQ-VAE\'s latent its code positions', () => {
    expect(runConfigSchema.parse({ model: 'conv', latent: 8 })).toMatchObject({ architecture: 'conv', latent: 8 });
    const vq = runConfigSchema.parse({ model: 'mlp', family: 'vqvae', latent: 24, epochs: 10 });
    expect(vq).toMatchObject({ architecture: 'mlp', codePositions: 24, latent: defaultRunConfig().latent });
    // Today's names pass as they are; a config with both the old and the new name is refused, naming the old one.
    expect(runConfigSchema.parse({ architecture: 'conv', family: 'vqvae', codePositions: 9, epochs: 10 })).toMatchObject({ architecture: 'conv', codePositions: 9 });
    const both = runConfigSchema.safeParse({ model: 'mlp', architecture: 'conv' });
    expect(both.success).toBe(false);
    expect(JSON.stringify(both.error?.issues)).toMatch(/model/);
    expect(runConfigSchema.safeParse({ model: 'transformer' }).error?.issues[0]?.path).toEqual(['architecture']);
  });

  it('accepts the new families and refuses unknown ones, naming the field', () => {
    expect(runConfigSchema.parse({ family: 'cvae', flow: 'planar', flowSteps: 8 })).toMatchObject({ family: 'cvae', flow: 'planar', flowSteps: 8 });
    const bad = runConfigSchema.safeParse({ family: 'gan' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['family']);
    expect(runConfigSchema.safeParse({ flow: 'planar', flowSteps: 0 }).error?.issues[0]?.path).toEqual(['flowSteps']);
  });

  it('refuses free bits with a flow (no per-dim KL to floor)', () => {
    const result = runConfigSchema.safeParse({ flow: 'planar', freeBits: 0.5 });
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['freeBits']);
    expect(runConfigSchema.safeParse({ flow: 'none', freeBits: 0.5 }).success).toBe(true);
  });

  it('M2: a label fraction in (0, 1], and only the ELBO objective (β allowed)', () => {
    expect(runConfigSchema.parse({ family: 'm2', labelFraction: 0.01 }).labelFraction).toBe(0.01);
    expect(runConfigSchema.safeParse({ family: 'm2', labelFraction: 0 }).error?.issues[0]?.path).toEqual(['labelFraction']);
    expect(runConfigSchema.safeParse({ family: 'm2', objective: 'capacity' }).error?.issues[0]?.path).toEqual(['objective']);
    expect(runConfigSchema.safeParse({ family: 'm2', freeBits: 1 }).error?.issues[0]?.path).toEqual(['freeBits']);
    expect(runConfigSchema.safeParse({ family: 'm2', beta: 2, klWarmupSteps: 100 }).success).toBe(true);
  });

  it("M2's classifier: an MLP unless a conv model asks for a conv one, written into a new run's config", () => {
    const parse = (input: RunConfigInput): RunConfig => runConfigSchema.parse(input);
    expect(newRunConfig(parse({ family: 'm2', architecture: 'conv' })).classifier).toBe('mlp');
    expect(newRunConfig(parse({ family: 'm2', architecture: 'conv', classifier: 'conv' })).classifier).toBe('conv');
    expect(newRunConfig(parse({ family: 'm2' })).classifier).toBe('mlp');
    expect(newRunConfig(parse({ family: 'cvae', architecture: 'conv' })).classifier).toBeUndefined();
    expect(classifierKindOf(parse({ family: 'm2', architecture: 'conv' }))).toBe('mlp');
    const path = (input: RunConfigInput): string | undefined => runConfigSchema.safeParse(input).error?.issues[0]?.path.join('.');
    expect(path({ family: 'vae', classifier: 'mlp' })).toBe('classifier');
    expect(path({ family: 'm2', architecture: 'mlp', classifier: 'conv' })).toBe('classifier');
    expect(runConfigSchema.safeParse({ family: 'm2', classifier: 'rnn' }).error?.issues[0]?.path).toEqual(['classifier']);
  });

  it('VQ-VAE: refuses what only a Gaussian KL has, and needs an autoencoder epoch before the prior ones', () => {
    expect(runConfigSchema.parse({ family: 'vqvae', epochs: 10, priorEpochs: 4 })).toMatchObject({ codebookSize: 128, codeDim: 16, commitment: 0.25, codebookDecay: 0.99 });
    const path = (input: Record<string, unknown>): string | undefined => runConfigSchema.safeParse({ family: 'vqvae', ...input }).error?.issues[0]?.path.join('.');
    expect(path({ flow: 'planar' })).toBe('flow');
    expect(path({ objective: 'capacity' })).toBe('objective');
    expect(path({ beta: 4 })).toBe('beta');
    expect(path({ epochs: 5, priorEpochs: 5 })).toBe('priorEpochs');
    expect(path({ codebookSize: 1 })).toBe('codebookSize');
  });

  it('says which families Explore and Inpaint cannot serve, and why', () => {
    expect(inferenceBlocker(defaultRunConfig(), 'explore')).toBeNull();
    expect(inferenceBlocker(defaultRunConfig(), 'inpaint')).toBeNull();
    expect(inferenceBlocker({ family: 'cvae' }, 'explore')).toBeNull();
    expect(inferenceBlocker({ family: 'cvae' }, 'inpaint')).toBeNull();
    expect(inferenceBlocker({ family: 'm2' }, 'inpaint')).toBeNull();
    // Explore opens a VQ-VAE with its own tabs (prior samples, code grids).
    expect(inferenceBlocker({ family: 'vqvae' }, 'explore')).toBeNull();
    expect(inferenceBlocker({ family: 'vqvae' }, 'inpaint')).toMatch(/^Inpaint works on continuous latents/);
  });
});

describe('run config: the conv architecture', () => {
  const parse = (input: RunConfigInput): RunConfig => runConfigSchema.parse(input);

  it('reads a conv config stored before presets as the classic two-stage network, and keeps it classic through newRunConfig only when asked', () => {
    const stored = parse({ architecture: 'conv', latent: 8, hidden: 128 });
    expect(stored.convArch).toBeUndefined();
    expect(convDesignOf(stored)).toBeNull();
    // A new conv run that names no architecture gets the scaled default, written out in full.
    expect(newRunConfig(stored)).toMatchObject({ convArch: 'medium', convWidth: 16, convResBlocks: 1, convNorm: 'layer' });
    expect(convDesignOf(newRunConfig(stored))).toEqual({ width: 16, resBlocks: 1, norm: 'layer' });
    expect(newRunConfig(parse({ architecture: 'conv', convArch: 'classic' })).convArch).toBe('classic');
    expect(convDesignOf(newRunConfig(parse({ architecture: 'conv', convArch: 'classic' })))).toBeNull();
    expect(newRunConfig(parse({ architecture: 'mlp' })).convArch).toBeUndefined();
    // A preset's settings can be overridden one by one.
    expect(convDesignOf(parse({ architecture: 'conv', convArch: 'small', convNorm: 'layer' }))).toEqual({ width: 8, resBlocks: 0, norm: 'layer' });
  });

  it("reads a stored config without encoderInput as not centred, keeps a named one, and refuses another value by name", () => {
    const stored = parse({ architecture: 'conv', convArch: 'medium', decoder: 'logistic' });
    expect(stored.encoderInput).toBeUndefined();
    expect(encoderInputOf(stored)).toBe('unit');
    // The schema adds nothing: the stored config, a new run's stored form and a re-read all leave it out.
    expect(newRunConfig(stored).encoderInput).toBeUndefined();
    expect(parse(JSON.parse(JSON.stringify(newRunConfig(stored))))).toEqual(newRunConfig(stored));
    expect(encoderInputOf(parse({ encoderInput: 'centred' }))).toBe('centred');
    expect(encoderInputOf(parse({ encoderInput: 'unit' }))).toBe('unit');
    const refused = runConfigSchema.safeParse({ encoderInput: 'minus-one' });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.path).toEqual(['encoderInput']);
  });

  it("gives a new scaled VQ-VAE its 'fine' code grid (8×8 at 64 px) and reads a stored one without codeGrid at the last stage (4×4), as it was trained", () => {
    const image = { width: 64, height: 64 };
    const stored = parse({ family: 'vqvae', architecture: 'conv', convArch: 'medium', convWidth: 16, convResBlocks: 1, convNorm: 'layer' });
    expect(stored.codeGrid).toBeUndefined();
    expect(convPlan(convDesignOf(stored), image).grid).toEqual([4, 4]);
    expect(convPlan(convDesignOf(stored), image).channels).toEqual([16, 32, 64, 128]);
    const fresh = newRunConfig(parse({ family: 'vqvae', architecture: 'conv' }));
    expect(fresh).toMatchObject({ convArch: 'medium', codeGrid: 'fine' });
    expect(convPlan(convDesignOf(fresh), image)).toMatchObject({ grid: [8, 8], channels: [16, 32, 64] });
    // Written out, it reads back the same; a stored 'last' stays 'last'.
    expect(convPlan(convDesignOf(parse(JSON.parse(JSON.stringify(fresh)))), image).grid).toEqual([8, 8]);
    expect(newRunConfig(parse({ family: 'vqvae', architecture: 'conv', convArch: 'small', codeGrid: 'last' })).codeGrid).toBe('last');
    // Classic and the MLP keep their own grids; other families never stop early.
    expect(newRunConfig(parse({ family: 'vqvae', architecture: 'conv', convArch: 'classic' })).codeGrid).toBeUndefined();
    expect(newRunConfig(parse({ family: 'vqvae', architecture: 'mlp' })).codeGrid).toBeUndefined();
    expect(newRunConfig(parse({ family: 'vae', architecture: 'conv' })).codeGrid).toBeUndefined();
    expect(convDesignOf({ ...parse({ architecture: 'conv', convArch: 'medium' }), codeGrid: 'fine' })?.codes).toBeUndefined();
  });

  it("places the 'fine' code grid at the deepest stage with at least 7 codes a side", () => {
    const grid = (side: number, width = side): [number, number] => convPlan({ width: 8, resBlocks: 0, norm: 'none', codes: 'fine' }, { width, height: side }).grid;
    expect([28, 32, 64, 128, 256].map((s) => [s, vqCodeStages({ width: s, height: s }), grid(s)[0]])).toEqual([
      [28, 2, 7],
      [32, 2, 8],
      [64, 3, 8],
      [128, 4, 8],
      [256, 5, 8],
    ]);
    expect(grid(48, 96)).toEqual([12, 24]);
    // Images too small for 7 codes a side keep one stage (as the last-stage grid would).
    expect(grid(8)).toEqual([4, 4]);
    expect(grid(12)).toEqual([6, 6]);
  });

  it('refuses settings that would be ignored, naming the field', () => {
    const path = (input: RunConfigInput): string | undefined => runConfigSchema.safeParse(input).error?.issues[0]?.path.join('.');
    expect(path({ family: 'vqvae', architecture: 'conv', convArch: 'classic', codeGrid: 'fine' })).toBe('codeGrid');
    expect(path({ family: 'vqvae', architecture: 'mlp', codeGrid: 'fine' })).toBe('codeGrid');
    expect(path({ family: 'vae', architecture: 'conv', convArch: 'medium', codeGrid: 'fine' })).toBe('codeGrid');
    expect(path({ architecture: 'mlp', convArch: 'medium' })).toBe('convArch');
    expect(path({ architecture: 'conv', convWidth: 48 })).toBe('convWidth');
    expect(path({ architecture: 'conv', convArch: 'classic', convResBlocks: 1 })).toBe('convResBlocks');
    expect(path({ architecture: 'conv', convArch: 'large', convWidth: 2 })).toBe('convWidth');
    expect(path({ architecture: 'conv', convArch: 'large', convWidth: 48, convResBlocks: 2 })).toBeUndefined();
  });
});
