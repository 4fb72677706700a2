// `vae-studio runs --filter/--sort/--group/--csv`, as a person types it, on a built app.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertProjectAndDataset, insertRuns, tempDir, testCore } from '../core/testing';
import { requireBuiltApp, runCli } from './testing';

let dir: ReturnType<typeof tempDir>;

beforeAll(async () => {
  requireBuiltApp();
  dir = tempDir();
  const core = testCore(dir.path);
  insertProjectAndDataset(core.workspace.db, 'digits');
  insertRuns(
    core.workspace.db,
    Array.from({ length: 24 }, (_, i) => {
      const beta = [0.5, 1, 2][i % 3]!;
      return { name: `run-${i}`, config: { beta, latent: i < 12 ? 8 : 16, seed: i }, summary: { val_loss: 100 + beta * 10 + (i % 2) }, tags: i % 4 === 0 ? ['faces'] : [] };
    }),
  );
  await core.close();
});
afterAll(() => dir.cleanup());

describe('vae-studio runs history', () => {
  it('filters and sorts, saying how many match', () => {
    const { status, lines } = runCli<{ runs: { name: string; config: { beta: number } }[]; total: number }>(dir.path, ['runs', '--filter', 'beta<1 latent>=16', '--sort', 'val_loss:asc', '--limit', '3']);
    expect(status).toBe(0);
    const result = lines.at(-1)!;
    expect(result.total).toBe(4);
    expect(result.runs).toHaveLength(3);
    expect(result.runs.every((run) => run.config.beta === 0.5)).toBe(true);
  });

  it('groups across seeds with mean ± sd', () => {
    const { status, lines } = runCli<{ groups: { values: number[]; count: number; metrics: Record<string, { mean: number; sd: number }> }[] }>(dir.path, ['runs', '--group', 'beta']);
    expect(status).toBe(0);
    const groups = lines.at(-1)!.groups;
    expect(groups.map((g) => g.count)).toEqual([8, 8, 8]);
    for (const group of groups) expect(group.metrics['val_loss']!.mean).toBeCloseTo(100 + group.values[0]! * 10 + 0.5, 6);
  });

  it('writes the filtered table as CSV', () => {
    const file = join(dir.path, 'faces.csv');
    const { status } = runCli(dir.path, ['runs', '--filter', 'tag:faces', '--csv', file]);
    expect(status).toBe(0);
    expect(readFileSync(file, 'utf8').trimEnd().split('\r\n')).toHaveLength(1 + 6);
  });

  it('refuses a filter that does not parse, naming the term, with exit status 1', () => {
    const { status, lines } = runCli<{ type: string; error: { message: string; details: { token: string } } }>(dir.path, ['runs', '--filter', 'status:finished latnt>=16']);
    expect(status).toBe(1);
    expect(lines.at(-1)!.error.message).toMatch(/"latnt>=16": unknown key "latnt" — did you mean latent\?/);
    expect(lines.at(-1)!.error.details.token).toBe('latnt>=16');
  });
});
