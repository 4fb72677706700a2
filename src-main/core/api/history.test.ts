import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ApiError } from '@shared/errors';
import { insertProjectAndDataset, insertRuns, tempDir, testCore } from '../testing';
import type { Core } from '../core';
import { pearson, ranks, settingImportance, spearman } from './importance';

let dir: ReturnType<typeof tempDir>;
let core: Core;

/**
 * 600 finished runs: val_loss falls with latent and rises with β² (a U-shape no
 * correlation sees around β = 1), the learning rate and seed do nothing.
 */
beforeAll(() => {
  dir = tempDir();
  core = testCore(dir.path);
  const db = core.workspace.db;
  insertProjectAndDataset(db, 'digits');
  let state = 7;
  const noise = (): number => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.2;
  insertRuns(
    db,
    Array.from({ length: 600 }, (_, i) => {
      const beta = [0.25, 0.5, 1, 2, 4][i % 5]!;
      const latent = [4, 8, 16, 32][Math.floor(i / 5) % 4]!;
      const learningRate = [1e-4, 3e-4, 1e-3][Math.floor(i / 20) % 3]!;
      const seed = i % 7;
      const valLoss = 90 - 4 * Math.log2(latent) + 3 * Math.log2(beta) ** 2 + noise();
      return { name: i === 0 ? '=HYPERLINK("http://x")' : `run-${i}`, config: { beta, latent, learningRate, seed }, summary: { val_loss: valLoss }, tags: [] };
    }),
  );
});
afterAll(async () => {
  await core.close();
  dir.cleanup();
});

describe('runs history API', () => {
  it('refuses a filter that does not parse, naming the term, and writes nothing', async () => {
    const error = await core.call('runs.query', { projectId: 1, filter: 'beta<1 latnt>=16' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toMatch(/"latnt>=16": unknown key "latnt" — did you mean latent\?/);
    expect((error as ApiError).details).toMatchObject({ field: 'filter', token: 'latnt>=16', start: 7, end: 16 });
    await expect(core.call('runs.query', { projectId: 1, sort: 'DROP TABLE runs' })).rejects.toThrow(/"DROP TABLE runs" is not a run setting/);
    expect((await core.call('runs.query', { projectId: 1, limit: 1 })).total).toBe(600);
  });

  it('answers a page with the total', async () => {
    const page = await core.call('runs.query', { projectId: 1, filter: 'beta<=0.5 latent:32', sort: 'val_loss', descending: false, limit: 5 });
    expect(page.total).toBe(60);
    expect(page.runs).toHaveLength(5);
    const losses = page.runs.map((run) => run.summary['val_loss']!);
    expect(losses).toEqual([...losses].sort((a, b) => a - b));
  });

  it('ranks the settings that matter for the metric above those that do not', async () => {
    const answer = await core.call('runs.importance', { projectId: 1, metric: 'val_loss' });
    expect(answer.runs).toBe(600);
    const byKey = Object.fromEntries(answer.settings.map((s) => [s.key, s]));
    expect(Object.keys(byKey).sort()).toEqual(['beta', 'latent', 'learningRate', 'seed']);
    expect(answer.settings.slice(0, 2).map((s) => s.key).sort()).toEqual(['beta', 'latent']);
    expect(byKey['beta']!.importance).toBeGreaterThan(0.2);
    expect(byKey['latent']!.importance).toBeGreaterThan(0.2);
    expect(byKey['seed']!.importance + byKey['learningRate']!.importance).toBeLessThan(0.05);
    // Latent's effect is monotone, so its rank correlation is near −1; β's is U-shaped.
    expect(byKey['latent']!.spearman).toBeLessThan(-0.6);
    expect(Math.abs(byKey['learningRate']!.pearson ?? 0)).toBeLessThan(0.1);
    await expect(core.call('runs.importance', { projectId: 1, metric: 'beta' })).rejects.toThrow(/"beta" is not a metric/);
  });

  it('exports the filtered table as CSV, a formula-looking name kept as text', async () => {
    const { csv, rows } = await core.call('runs.csv', { projectId: 1, filter: 'beta:0.25 latent:4' });
    expect(rows).toBe(30);
    const lines = csv.trimEnd().split('\r\n');
    expect(lines).toHaveLength(31);
    const header = lines[0]!.split(',');
    expect(header.slice(0, 7)).toEqual(['id', 'name', 'dataset', 'status', 'created', 'epochsDone', 'tags']);
    expect(header).toContain('learningRate');
    expect(header).toContain('val_loss');
    expect(lines.at(-1)).toContain(`"'=HYPERLINK(""http://x"")"`);
    const beta = header.indexOf('beta');
    expect(lines.slice(1).every((line) => line.split(',')[beta] === '0.25')).toBe(true);
  });

  it('groups the seeds of a configuration into one row with mean ± sd', async () => {
    const { groups, total } = await core.call('runs.groups', { projectId: 1, by: ['beta', 'latent'], metrics: ['val_loss'] });
    expect(total).toBe(20);
    for (const group of groups) {
      const [beta, latent] = group.values as [number, number];
      expect(group.count).toBe(30);
      expect(group.metrics['val_loss']!.mean).toBeCloseTo(90 - 4 * Math.log2(latent) + 3 * Math.log2(beta) ** 2, 1);
      expect(group.metrics['val_loss']!.sd).toBeLessThan(0.1);
    }
  });
});

describe('importance maths', () => {
  it('correlations and ranks as textbooks give them', () => {
    expect(pearson([1, 2, 3, 4], [2, 4, 6, 8])).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3, 4], [8, 6, 4, 2])).toBeCloseTo(-1, 12);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBeNull();
    expect(ranks([10, 20, 20, 5])).toEqual([1, 2.5, 2.5, 0]);
    expect(spearman([1, 2, 3, 4, 5], [1, 4, 9, 16, 25])).toBeCloseTo(1, 12);
  });

  it('is the same answer for the same runs', () => {
    const X = Array.from({ length: 80 }, (_, i) => [i % 5, (i * 7) % 3]);
    const y = X.map(([a]) => a! * a!);
    expect(settingImportance(['a', 'b'], X, y)).toEqual(settingImportance(['a', 'b'], X, y));
    expect(settingImportance(['a', 'b'], X, y)[0]!.importance).toBeGreaterThan(0.9);
  });
});

describe('runs history with one stored config that cannot be read', () => {
  let badDir: ReturnType<typeof tempDir>;
  let bad: Core;
  beforeAll(() => {
    badDir = tempDir();
    bad = testCore(badDir.path);
    const db = bad.workspace.db;
    insertProjectAndDataset(db, 'digits');
    insertRuns(db, [
      ...[1, 2, 3, 4, 5, 6].map((i) => ({ id: i, name: `run-${i}`, config: { beta: i % 2 ? 1 : 2, latent: 8 }, summary: { val_loss: 90 + i }, tags: [] })),
      // Cut short on disk, and a setting out of its range (written by hand): neither is a config.
      { id: 7, name: 'cut-short', config: '{"beta": 1, "lat', summary: { val_loss: 50 }, tags: [] },
      { id: 8, name: 'out-of-range', config: { beta: 1, latent: -3 }, summary: { val_loss: 60 }, tags: [] },
    ]);
  });
  afterAll(async () => {
    await bad.close();
    badDir.cleanup();
  });

  it('lists every run, the unreadable ones marked with the reason, on every history call', async () => {
    const page = await bad.call('runs.query', { projectId: 1, limit: 100 });
    expect(page.total).toBe(8);
    expect(page.runs.map((run) => run.name)).toEqual(['out-of-range', 'cut-short', 'run-6', 'run-5', 'run-4', 'run-3', 'run-2', 'run-1']);
    const byName = Object.fromEntries(page.runs.map((run) => [run.name, run]));
    expect(byName['cut-short']!.configError).toMatch(/^not JSON/);
    expect(byName['out-of-range']!.configError).toMatch(/^latent: /);
    expect(byName['run-1']!.configError).toBeUndefined();
    expect(byName['cut-short']!.summary).toEqual({ val_loss: 50 });
    // Sorting and filtering by a setting: the unreadable run has none (sorts last, matches no value).
    const sorted = await bad.call('runs.query', { projectId: 1, sort: 'beta', limit: 100 });
    expect(sorted.runs.at(-1)!.name).toBe('cut-short');
    expect((await bad.call('runs.query', { projectId: 1, filter: 'beta:1' })).total).toBe(4); // 1, 3, 5 and out-of-range
    expect((await bad.call('runs.list', { projectId: 1 })).length).toBe(8);
    expect((await bad.call('runs.get', { runId: 7 })).configError).toMatch(/^not JSON/);

    const groups = await bad.call('runs.groups', { projectId: 1, by: ['beta'] });
    expect(groups.groups.map((g) => [g.values[0], g.count]).sort()).toEqual([[1, 4], [2, 3], [null, 1]].sort());
    const points = await bad.call('runs.points', { projectId: 1, keys: ['beta', 'val_loss'] });
    expect(points.total).toBe(8);
    expect(points.values[points.ids.indexOf(7)]).toEqual([null, 50]);

    const { csv, rows } = await bad.call('runs.csv', { projectId: 1 });
    expect(rows).toBe(8);
    const lines = csv.trim().split('\r\n');
    const header = lines[0]!.split(',');
    expect(header.at(-1)).toBe('settingsError');
    const cutShort = lines.find((line) => line.startsWith('7,cut-short,'))!;
    expect(cutShort).toMatch(/settings unreadable: not JSON/);
    expect(cutShort.split(',')[header.indexOf('beta')]).toBe('');
    expect(lines.find((line) => line.startsWith('1,run-1,'))!.split(',')[header.indexOf('beta')]).toBe('1');
  });

  it('refuses to resume, evaluate or export such a run, naming it and why, and keeps it', async () => {
    await expect(bad.call('runs.resume', { runId: 7 })).rejects.toThrow(/Run 7 "cut-short": settings unreadable: not JSON/);
    await expect(bad.call('runs.evaluate', { runId: 8 })).rejects.toThrow(/Run 8 "out-of-range": settings unreadable: latent: /);
    await expect(bad.call('models.export', { runId: 8, path: join(badDir.path, 'm') })).rejects.toThrow(/settings unreadable/);
    expect((await bad.call('runs.query', { projectId: 1 })).total).toBe(8);
  });

  it('loads a run whose other stored notes (GPU adapter, imported model, waiting note) are cut short, without them', async () => {
    const db = bad.workspace.db;
    db.prepare(
      `INSERT INTO sweeps (id, project_id, dataset_id, name, status, request_json, base_config_json, plan_json, created_at)
       VALUES (1, 1, 1, 's', 'running', ?, '{}', '[]', 'now')`,
    ).run(JSON.stringify({ grid: ['beta=1,2'] }));
    db.prepare(
      `INSERT INTO runs (id, project_id, dataset_id, name, config_json, status, created_at, summary_json, tags_json,
         backend_adapter_json, imported_json, waiting_json, sweep_id)
       VALUES (9, 1, 1, 'notes-cut', '{}', 'queued', 'now', '{}', '[]', '{"vendor":', '{"format":', '{"since":', 1)`,
    ).run();
    try {
      const run = await bad.call('runs.get', { runId: 9 });
      expect(run.name).toBe('notes-cut');
      expect(run.configError).toBeUndefined();
      expect(run).not.toHaveProperty('backendAdapter');
      expect(run).not.toHaveProperty('imported');
      expect(run).not.toHaveProperty('waiting');
      expect((await bad.call('runs.query', { projectId: 1, limit: 100 })).total).toBe(9);
      const sweep = await bad.call('sweeps.get', { sweepId: 1 });
      expect(sweep.trials.map((trial) => [trial.runId, trial.waiting])).toEqual([[9, undefined]]);
    } finally {
      db.prepare('DELETE FROM runs WHERE id = 9').run();
      db.prepare('DELETE FROM sweeps WHERE id = 1').run();
    }
  });
});
