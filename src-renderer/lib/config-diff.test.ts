import { describe, expect, it } from 'vitest';
import { defaultRunConfig } from '@shared/config';
import { runSettings } from '@shared/run-settings';
import { settingLabel } from '@shared/setting-labels';
import { configDiff, differingKeys } from './config-diff';
import { FAMILY_NAMES } from './model-family';

const run = (datasetName: string, patch: Record<string, unknown> = {}) => ({
  datasetName,
  config: { ...defaultRunConfig(), ...patch } as ReturnType<typeof defaultRunConfig>,
});

describe('config diff', () => {
  it('flags exactly the keys whose values differ', () => {
    const runs = [run('digits', { latent: 4 }), run('digits', { latent: 8, beta: 4 }), run('digits', { latent: 4 })];
    expect(differingKeys(runs)).toEqual(['latent', 'beta']);
    const latent = configDiff(runs).find((row) => row.key === 'latent')!;
    expect(latent).toEqual({ key: 'latent', label: 'Latent size', values: ['4', '8', '4'], differs: true });
  });

  it('lists the dataset first, every setting the runs read in words, and an unset backend as automatic', () => {
    const rows = configDiff([run('a'), run('b', { backend: 'wasm' })]);
    expect(rows[0]).toEqual({ key: 'dataset', label: 'Dataset', values: ['a', 'b'], differs: true });
    expect(rows.find((r) => r.key === 'iwaeSamples')?.label).toBe('IWAE k');
    expect(rows.find((r) => r.key === 'architecture')?.values).toEqual(['MLP', 'MLP']);
    expect(rows.find((r) => r.key === 'backend')).toEqual({ key: 'backend', label: 'Backend', values: ['automatic', 'wasm'], differs: true });
  });

  it("leaves out what no run reads (another family's, another objective's, σ of a Bernoulli decoder), and dashes it for runs that do not read it", () => {
    const keys = configDiff([run('a'), run('a', { beta: 2 })]).map((row) => row.key);
    for (const key of ['codebookDecay', 'commitment', 'labelFraction', 'capacityGamma', 'gaussianSigma', 'flowSteps', 'lrDecayRate']) expect(keys).not.toContain(key);
    expect(keys).toContain('beta');
    const mixed = configDiff([run('a'), run('a', { family: 'vqvae' })]);
    expect(mixed.find((row) => row.key === 'codebookDecay')?.values).toEqual(['—', String(defaultRunConfig().codebookDecay)]);
    expect(mixed.find((row) => row.key === 'beta')?.values).toEqual(['1', '—']);
    expect(mixed.find((row) => row.key === 'family')?.values).toEqual([FAMILY_NAMES.vae, FAMILY_NAMES.vqvae]);
  });

  it('names every setting of the schema in words; keys the schema does not know are kept, split into words', () => {
    for (const setting of runSettings()) expect(settingLabel(setting.key)).not.toBe(setting.key);
    const rows = configDiff([run('a', { futureKnob: 1 }), run('a')]);
    expect(rows.at(-1)).toEqual({ key: 'futureKnob', label: 'Future knob', values: ['1', '—'], differs: true });
  });

  it('shows the encoder input of a run stored without it as not centred, beside a centred one', () => {
    const rows = configDiff([run('a'), run('a', { encoderInput: 'centred' }), run('a', { encoderInput: 'unit' })]);
    expect(rows.find((r) => r.key === 'encoderInput')).toEqual({
      key: 'encoderInput',
      label: 'Encoder input',
      values: ['Pixels in [0, 1] (not centred)', 'Centred, 2x − 1', 'Pixels in [0, 1] (not centred)'],
      differs: true,
    });
  });

  it('finds no difference between identical configs', () => {
    expect(differingKeys([run('a'), run('a')])).toEqual([]);
  });
});
