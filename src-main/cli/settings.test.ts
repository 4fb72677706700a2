// Every run setting reaches the command line: flags and help are generated from the
// config schema, so adding a setting without a flag fails here. The last test trains
// through the real CLI, worker and SQLite file (`npm run build` first).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConfigObject } from '@shared/config';
import { runConfigFromFlags, runFlags } from './run-flags';
import { cliBin, requireBuiltApp, runCli, type CliResult } from './testing';
import { tempDir, writeImageFolder } from '../core/testing';

const schemaSettings = Object.keys(runConfigObject.shape).sort();

describe('train flags', () => {
  it('has exactly one flag per run setting of the schema', () => {
    expect(runFlags.map((f) => f.key).sort()).toEqual(schemaSettings);
    expect(new Set(runFlags.map((f) => f.flag)).size).toBe(runFlags.length);
  });

  it('keeps the flag names the CLI has always had (--model, now --architecture, is still read)', () => {
    const flagOf = Object.fromEntries(runFlags.map((f) => [f.key, f.flag]));
    expect(runConfigFromFlags({ model: 'conv' })).toEqual({ architecture: 'conv' });
    expect(runConfigFromFlags({ model: 'mlp', architecture: 'conv' })).toEqual({ architecture: 'conv' });
    expect(flagOf).toMatchObject({
      architecture: 'architecture',
      latent: 'latent',
      hidden: 'hidden',
      epochs: 'epochs',
      batchSize: 'batch',
      seed: 'seed',
      learningRate: 'lr',
      decoder: 'decoder',
      beta: 'beta',
      family: 'family',
      flow: 'flow',
      flowSteps: 'flow-steps',
      labelFraction: 'label-fraction',
      codebookSize: 'codebook-size',
      codeDim: 'code-dim',
      priorEpochs: 'prior-epochs',
      backend: 'backend',
    });
  });

  it('turns each flag into its setting, numbers as numbers, and names a flag that is not a number', () => {
    for (const f of runFlags) {
      const raw = f.kind === 'choice' ? f.choices!.at(-1)! : String(f.max ?? f.min ?? 1);
      const config = runConfigFromFlags({ [f.flag]: raw });
      expect(config).toEqual({ [f.key]: f.kind === 'choice' ? raw : Number(raw) });
      // The value the flag produced is one the schema accepts for that setting.
      const field = (runConfigObject.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>)[f.key]!;
      expect(field.safeParse(config[f.key]).success, f.flag).toBe(true);
      if (f.kind !== 'choice') expect(() => runConfigFromFlags({ [f.flag]: 'lots' })).toThrow(new RegExp(`^--${f.flag} must be a number`));
    }
  });
});

describe('vae-studio train', () => {
  let dir: ReturnType<typeof tempDir>;
  const cli = (args: string[]): CliResult => runCli(join(dir.path, 'home'), args);
  beforeAll(async () => {
    requireBuiltApp();
    dir = tempDir();
    await writeImageFolder(join(dir.path, 'shapes'), ['left', 'right'], 20, { size: 8 });
    expect(cli(['import', join(dir.path, 'shapes'), '--size', '8', '--name', 'shapes']).status).toBe(0);
  });
  afterAll(() => dir.cleanup());

  it('--help lists every run setting with its flag and default', () => {
    const help = spawnSync(process.execPath, [cliBin, 'train', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    const lines = help.stdout.split('\n');
    for (const f of runFlags) {
      const line = lines.find((l) => l.trimStart().startsWith(`--${f.flag} <`));
      expect(line, f.flag).toBeDefined();
      expect(line).toContain(`default ${f.defaultText}`);
    }
  });

  it('trains with settings only the form had before (objective, denoising, decay, decoder variance, IWAE k)', () => {
    const trained = cli([
      ...['train', '--dataset', 'shapes', '--epochs', '1', '--batch', '16', '--latent', '2', '--hidden', '16', '--backend', 'cpu'],
      ...['--objective', 'capacity', '--capacity-max', '5', '--capacity-steps', '100', '--capacity-gamma', '50'],
      ...['--denoise', 'mask', '--denoise-mask-prob', '0.3', '--lr-decay', 'step', '--lr-decay-rate', '0.9', '--lr-decay-steps', '10'],
      ...['--decoder', 'gaussian', '--decoder-variance', 'global', '--gaussian-sigma', '0.2', '--iwae-samples', '3'],
    ]);
    expect(trained.status, trained.stderr).toBe(0);
    const result = trained.lines.at(-1) as { run: { status: string; config: Record<string, unknown>; summary: Record<string, number> } };
    expect(result.run.status).toBe('finished');
    expect(result.run.config).toMatchObject({
      objective: 'capacity',
      capacityMax: 5,
      capacitySteps: 100,
      capacityGamma: 50,
      denoise: 'mask',
      denoiseMaskProb: 0.3,
      lrDecay: 'step',
      lrDecayRate: 0.9,
      lrDecaySteps: 10,
      decoder: 'gaussian',
      decoderVariance: 'global',
      gaussianSigma: 0.2,
      iwaeSamples: 3,
    });
    expect(result.run.summary['iwae_k']).toBe(3);
    expect(result.run.summary['capacity']).toBeGreaterThan(0);
  });

  it('without --decoder, trains the decoder the pixels call for (8-bit: logistic mixture) and says why', () => {
    const trained = cli(['train', '--dataset', 'shapes', '--epochs', '1', '--batch', '16', '--latent', '2', '--hidden', '16', '--backend', 'cpu', '--iwae-samples', '2']);
    expect(trained.status, trained.stderr).toBe(0);
    const started = trained.lines.find((line) => (line as { type?: string }).type === 'started') as { decoder: string };
    expect(started.decoder).toBe('logistic');
    const result = trained.lines.at(-1) as { run: { config: Record<string, unknown>; summary: Record<string, number> } };
    expect(result.run.config).toMatchObject({ decoder: 'logistic', mixtureComponents: 1 });
    // The MLP is not proposed the centred encoder input (src-shared/training-proposal.ts): its config leaves it out, as stored runs do.
    expect(result.run.config).not.toHaveProperty('encoderInput');
    // A discrete likelihood of the 8-bit pixels: bits/dim on the 0–255 scale, finite and positive.
    expect(result.run.summary['test_bpd']).toBeGreaterThan(0);
    expect(Number.isFinite(result.run.summary['test_bpd'])).toBe(true);
    expect(result.run.summary['test_data_binary']).toBeUndefined();
  });

  it("without --architecture, a 64 px dataset trains the conv model, and without --encoder-input centred, each saying why, with the preset's norm at Adam 1e-3; named flags are kept", () => {
    expect(cli(['import', join(dir.path, 'shapes'), '--size', '64', '--name', 'shapes64']).status).toBe(0);
    const base = ['train', '--dataset', 'shapes64', '--conv-arch', 'small', '--epochs', '1', '--latent', '2', '--hidden', '16', '--backend', 'wasm', '--threads', '1', '--iwae-samples', '2'];
    // Without --json, the reasons are printed: no --architecture, so the conv model proposed at 64 px, then the decoder, then the input.
    const human = spawnSync(process.execPath, [cliBin, ...base, '--home', join(dir.path, 'home')], { encoding: 'utf8' });
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/\nModel conv \(small preset\): At 64 px and more .*\nDecoder logistic: .*\nCentred: the encoder reads 2x − 1/);
    const runId = Number(/Training run #(\d+)/.exec(human.stdout)?.[1]);
    const runs = (): { id: number; config: Record<string, unknown> }[] => (cli(['runs']).lines.at(-1) as { runs: never[] }).runs;
    expect(runs().find((r) => r.id === runId)?.config).toMatchObject({ architecture: 'conv', convArch: 'small', convNorm: 'none', learningRate: 0.001, encoderInput: 'centred' });
    // Named on the command line, unit and a layer norm train as named; the run stored before keeps its settings.
    const named = cli([...base, '--architecture', 'conv', '--conv-norm', 'layer', '--encoder-input', 'unit']);
    expect(named.status, named.stderr).toBe(0);
    expect(named.lines.find((line) => (line as { type?: string }).type === 'started')).toMatchObject({ architecture: 'conv', convArch: 'small', convNorm: 'layer', learningRate: 0.001, encoderInput: 'unit' });
    // --architecture mlp is kept at 64 px, nothing proposed in its place.
    const mlp = cli(['train', '--dataset', 'shapes64', '--architecture', 'mlp', '--epochs', '1', '--latent', '2', '--hidden', '16', '--backend', 'wasm', '--threads', '1', '--iwae-samples', '2']);
    expect(mlp.status, mlp.stderr).toBe(0);
    expect(mlp.lines.find((line) => (line as { type?: string }).type === 'started')).toMatchObject({ architecture: 'mlp' });
    expect(runs().find((r) => r.id === runId)?.config).toMatchObject({ convNorm: 'none', encoderInput: 'centred' });
    // An import and three 64 px trainings through real workers (two before the MLP's: seen taking 65 s beside other tests under load).
  }, 180_000);

  it('refuses, before any worker starts, a labelled family on an unlabelled dataset and the classic conv model on sides that are not multiples of 4', () => {
    const folder = join(dir.path, 'shapes');
    expect(cli(['import', folder, '--size', '8', '--labels', 'none', '--name', 'plain']).status).toBe(0);
    expect(cli(['import', folder, '--size', '10', '--name', 'ten']).status).toBe(0);
    const before = (cli(['runs']).lines.at(-1) as { runs: unknown[] }).runs.length;
    for (const family of ['cvae', 'm2']) {
      const bad = cli(['train', '--dataset', 'plain', '--family', family]);
      expect(bad.status).toBe(1);
      expect(bad.lines.at(-1)).toMatchObject({ type: 'error', error: { code: 'invalid_input', message: expect.stringMatching(/imported without labels/), details: { field: 'config.family' } } });
    }
    // --model is the flag's name in earlier versions; scripts that use it still work.
    for (const flag of ['--architecture', '--model']) {
      const conv = cli(['train', '--dataset', 'ten', flag, 'conv', '--conv-arch', 'classic']);
      expect(conv.lines.at(-1)).toMatchObject({ type: 'error', error: { message: expect.stringMatching(/multiple of 4.*10×10/), details: { field: 'config.architecture' } } });
    }
    expect((cli(['runs']).lines.at(-1) as { runs: unknown[] }).runs).toHaveLength(before);
  });
});
