import { describe, expect, it } from 'vitest';
import { defaultRunConfig } from '@shared/config';
import { configDiff, differingKeys } from './config-diff';

const run = (datasetName: string, patch: Record<string, unknown> = {}) => ({
  datasetName,
  config: { ...defaultRunConfig(), ...patch } as ReturnType<typeof defaultRunConfig>,
});

describe('config diff', () => {
  it('flags exactly the keys whose values differ', () => {
    const runs = [run('digits', { latent: 4 }), run('digits', { latent: 8, beta: 4 }), run('digits', { latent: 4 })];
    expect(differingKeys(runs)).toEqual(['latent', 'beta']);
    const latent = configDiff(runs).find((row) => row.key === 'latent')!;
    expect(latent).toEqual({ key: 'latent', values: ['4', '8', '4'], differs: true });
  });

  it('lists the dataset first, every schema key, and an unset backend as a dash', () => {
    const rows = configDiff([run('a'), run('b', { backend: 'wasm' })]);
    expect(rows[0]).toEqual({ key: 'dataset', values: ['a', 'b'], differs: true });
    expect(rows.map((r) => r.key)).toContain('iwaeSamples');
    expect(rows.find((r) => r.key === 'backend')).toEqual({ key: 'backend', values: ['—', 'wasm'], differs: true });
  });

  it('keeps keys the schema does not know', () => {
    const rows = configDiff([run('a', { futureKnob: 1 }), run('a')]);
    expect(rows.at(-1)).toEqual({ key: 'futureKnob', values: ['1', '—'], differs: true });
  });

  it('finds no difference between identical configs', () => {
    expect(differingKeys([run('a'), run('a')])).toEqual([]);
  });
});
