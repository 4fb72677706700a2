// `vae-studio evaluate` end to end: the real CLI, the built worker, a real workspace.
// Needs `npm run build` first (the test script runs it before the unit tests).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '@shared/types';
import { tempDir, writeImageFolder } from '../core/testing';
import { cliBin, requireBuiltApp, runCli, type CliResult } from './testing';

let dir: ReturnType<typeof tempDir>;
let runId = 0;
let testImages = 0;
const home = (): string => join(dir.path, 'home');
const cli = (args: string[]): CliResult => runCli(home(), args);
const runOf = (id: number): Run => (cli(['runs']).lines.at(-1) as { runs: Run[] }).runs.find((r) => r.id === id)!;

beforeAll(async () => {
  requireBuiltApp();
  dir = tempDir();
  await writeImageFolder(join(dir.path, 'shapes'), ['left', 'right'], 60, { size: 8 });
  const imported = cli(['import', join(dir.path, 'shapes'), '--size', '8', '--name', 'shapes']);
  expect(imported.status, imported.stderr).toBe(0);
  testImages = (imported.lines.at(-1) as { dataset: { splitCounts: { test: number } } }).dataset.splitCounts.test;
  // Bernoulli, the cheapest decoder to bound (the 8-bit default, a logistic mixture, decodes 3·K values per pixel): this is about evaluate.
  const trained = cli(['train', '--dataset', 'shapes', '--epochs', '1', '--batch', '16', '--latent', '2', '--hidden', '16', '--decoder', 'bernoulli']);
  expect(trained.status, trained.stderr).toBe(0);
  runId = (trained.lines.at(-1) as { run: Run }).run.id;
  // An import and a training run: 10–14 s on a loaded 2-core machine, past the default hook limit.
}, 120_000);
afterAll(() => dir.cleanup());

describe('vae-studio evaluate', () => {
  it('scores the first N test images with the k asked, with progress, and stores the figure on the run', () => {
    expect(testImages).toBeGreaterThan(5);
    const result = cli(['evaluate', String(runId), '--k', '3', '--images', '5', '--checkpoint', 'last']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.lines[0]).toMatchObject({ type: 'started', command: 'evaluate', runId, iwaeSamples: 3, images: 5, checkpoint: { kind: 'last' } });
    const progress = result.lines.filter((l) => l.type === 'progress') as { phase: string; evaluated: { done: number; total: number; k: number } }[];
    expect(progress.at(-1)).toMatchObject({ phase: 'evaluating', evaluated: { done: 5, total: 5, k: 3 } });
    const final = result.lines.at(-1) as { type: string; summary: Record<string, number> };
    expect(final).toMatchObject({ type: 'result', command: 'evaluate', runId, summary: { test_images: 5, test_images_total: testImages, iwae_k: 3, test_nll_partial: 0 } });
    expect(final.summary['test_nll']).toBeGreaterThan(0);
    expect(runOf(runId).summary).toMatchObject({ test_nll: final.summary['test_nll'], test_images: 5, iwae_k: 3 });
  });

  it('reads every test image with the run’s k by default, and says so in words', () => {
    const result = spawnSync(process.execPath, [cliBin, 'evaluate', String(runId), '--home', home()], { encoding: 'utf8', timeout: 120_000 });
    expect(result.status, result.stderr).toBe(0);
    const k = runOf(runId).config.iwaeSamples;
    expect(result.stdout).toContain(`on all its test images, k = ${k}…`);
    expect(result.stdout).toMatch(new RegExp(`test NLL [0-9.]+ nats \\([0-9.]+ bits/dim\\) on ${testImages} of ${testImages} test images, IWAE k = ${k}`));
    expect(runOf(runId).summary).toMatchObject({ test_images: testImages, iwae_k: k, iwae_budget_seconds: 0 });
  });

  it('names the flag of a bad --k or --images and evaluates nothing', () => {
    const before = runOf(runId).summary;
    for (const [flag, value] of [
      ['k', '0'],
      ['k', 'many'],
      ['images', 'lots'],
      ['images', '0'],
    ] as const) {
      const bad = cli(['evaluate', String(runId), `--${flag}`, value]);
      expect(bad.status).toBe(1);
      expect(bad.lines.at(-1)).toMatchObject({ type: 'error', error: { code: 'invalid_input', details: { field: flag } } });
    }
    const missing = cli(['evaluate', '999']);
    expect(missing.lines.at(-1)).toMatchObject({ type: 'error', error: { code: 'not_found' } });
    expect(runOf(runId).summary).toEqual(before);
  });
});
