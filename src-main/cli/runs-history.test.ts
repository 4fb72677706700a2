// `vae-studio runs --filter/--sort/--group/--csv`, as a person types it, on a built app.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, testCore } from '../core/testing';
import { requireBuiltApp, runCli } from './testing';

let dir: ReturnType<typeof tempDir>;

beforeAll(async () => {
  requireBuiltApp();
  dir = tempDir();
  const core = testCore(dir.path);
  const db = core.workspace.db;
  db.prepare(`INSERT INTO projects (id, name, created_at) VALUES (1, 'p', 'now')`).run();
  db.prepare(
    `INSERT INTO datasets (id, project_id, name, source_path, width, height, channels, count, labels_json,
       label_counts_json, skipped_json, settings_json, blob_hash, created_at)
     VALUES (1, 1, 'digits', '/d', 8, 8, 1, 1, '[]', '{}', '[]', '{}', 'h', 'now')`,
  ).run();
  const insert = db.prepare(
    `INSERT INTO runs (project_id, dataset_id, name, config_json, status, created_at, summary_json, tags_json)
     VALUES (1, 1, ?, ?, 'finished', 'now', ?, ?)`,
  );
  for (let i = 0; i < 24; i++) {
    const beta = [0.5, 1, 2][i % 3]!;
    insert.run(`run-${i}`, JSON.stringify({ beta, latent: i < 12 ? 8 : 16, seed: i }), JSON.stringify({ val_loss: 100 + beta * 10 + (i % 2) }), i % 4 === 0 ? '["faces"]' : '[]');
  }
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
