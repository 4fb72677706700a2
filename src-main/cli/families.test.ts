// Model families from the command line, through the real CLI, worker and SQLite file.
// Needs `npm run build` first (the test script runs it before the unit tests).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempDir, writeImageFolder } from '../core/testing';
import { requireBuiltApp, runCli, type CliResult } from './testing';

let dir: ReturnType<typeof tempDir>;

const cli = (args: string[]): CliResult => runCli(join(dir.path, 'home'), args);

beforeAll(async () => {
  requireBuiltApp();
  dir = tempDir();
  await writeImageFolder(join(dir.path, 'shapes'), ['left', 'right'], 30, { size: 8 });
  expect(cli(['import', join(dir.path, 'shapes'), '--size', '8', '--name', 'shapes']).status).toBe(0);
});
afterAll(() => dir.cleanup());

describe('vae-studio train --family', () => {
  it('trains a semi-supervised M2 run with a share of the labels and reports its test accuracy beside it', () => {
    const args = ['train', '--dataset', 'shapes', '--epochs', '1', '--batch', '16', '--latent', '2', '--hidden', '16', '--backend', 'cpu'];
    const trained = cli([...args, '--family', 'm2', '--label-fraction', '0.25']);
    expect(trained.status, trained.stderr).toBe(0);
    const result = trained.lines.at(-1) as { run: { status: string; config: Record<string, unknown>; summary: Record<string, number> } };
    expect(result.run.status).toBe('finished');
    // The classifier's kind is written into the stored config (an MLP run here), so the run reproduces.
    expect(result.run.config).toMatchObject({ family: 'm2', labelFraction: 0.25, classifier: 'mlp' });
    expect(result.run.summary['test_accuracy']).toBeGreaterThanOrEqual(0);
    expect(result.run.summary['label_fraction']).toBeGreaterThan(0.2);
  });

  it('names the flag of a family it does not know', () => {
    const bad = cli(['train', '--dataset', 'shapes', '--family', 'gan']);
    expect(bad.status).toBe(1);
    expect(bad.lines.at(-1)).toMatchObject({ type: 'error', error: { code: 'invalid_input', details: { field: 'config.family' } } });
  });
});
