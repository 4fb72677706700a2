import { describe, expect, it } from 'vitest';
import { defaultRunConfig } from '@shared/config';
import { checkSweepForm, defaultSweepForm, rowFor } from './sweep-form';

describe('the new-run form\'s sweep rows', () => {
  it('turns settings into value lists and ranges, counting the runs as the core will', () => {
    const base = defaultRunConfig();
    const form = { ...defaultSweepForm(), seeds: 3, trials: 12 };
    form.rows = [{ ...rowFor('beta', base), values: '0.5,1,2' }, { ...rowFor('latent', base), values: '8,16' }, { setting: 'learningRate', mode: 'random', values: 'log:1e-4..3e-3' }];
    expect(rowFor('beta', base).values).toBe('1');
    const check = checkSweepForm(form, base);
    expect(check.error).toBeNull();
    expect(check.plannedRuns).toBe(36);
    expect(check.request).toMatchObject({ grid: ['beta=0.5,1,2', 'latent=8,16'], random: ['learningRate=log:1e-4..3e-3'], trials: 12, seeds: 3 });
  });

  it('names the row whose values the schema refuses', () => {
    const form = { ...defaultSweepForm() };
    form.rows = [{ setting: 'beta', mode: 'grid', values: '0.5,1' }, { setting: 'latent', mode: 'grid', values: '8,9999' }];
    const check = checkSweepForm(form, defaultRunConfig());
    expect(check.error).toMatchObject({ row: 1, field: 'grid.1', message: expect.stringMatching(/latent = 9999 is refused/) });
    form.rows = [{ setting: 'beta', mode: 'random', values: '0.1..4' }];
    expect(checkSweepForm(form, defaultRunConfig()).error).toMatchObject({ field: 'trials', row: null });
  });
});
