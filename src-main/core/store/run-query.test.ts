import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunFilter } from '@shared/run-filter';
import { insertProjectAndDataset, insertRuns, tempDir } from '../testing';
import { openDatabase, type Db } from './db';
import { groupRuns, keyExpression, queryRuns, runPoints } from './run-query';
import { deleteRunRow, finishRun, insertRun, recordEpoch, updateRunDetails } from './runs';

const dir = tempDir();
let db: Db;
const RUNS = 2000;

/** A project of RUNS runs over a grid of β × latent × seed, a loss that depends on β only (plus noise). */
beforeAll(() => {
  db = openDatabase(join(dir.path, 'studio.db'));
  db.prepare(`INSERT INTO projects (id, name, created_at) VALUES (1, 'p', 'now'), (2, 'other', 'now')`).run();
  const dataset = db.prepare(
    `INSERT INTO datasets (id, project_id, name, source_path, width, height, channels, count, labels_json,
       label_counts_json, skipped_json, settings_json, blob_hash, created_at)
     VALUES (?, ?, ?, '/d', 8, 8, 1, 1, '[]', '{}', '[]', '{}', 'h', 'now')`,
  );
  dataset.run(1, 1, 'digits');
  dataset.run(2, 1, 'faces');
  dataset.run(3, 2, 'elsewhere');
  const insert = db.prepare(
    `INSERT INTO runs (project_id, dataset_id, name, config_json, status, created_at, summary_json, tags_json)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < RUNS; i++) {
      const beta = [0.5, 1, 2, 4][i % 4]!;
      const latent = [8, 16, 32][Math.floor(i / 4) % 3]!;
      const seed = Math.floor(i / 12) % 5;
      // Old runs stored no `family` and no `learningRate`: they read as the defaults.
      const config = i % 10 === 0 ? { beta, latent, seed } : { beta, latent, seed, family: i % 3 === 0 ? 'cvae' : 'vae', learningRate: 1e-3 * (1 + (i % 7)) };
      const status = i % 9 === 0 ? 'failed' : 'finished';
      const summary = status === 'finished' ? { loss: 100 + 10 * beta + (seed - 2), val_loss: 101 + 10 * beta } : {};
      insert.run(1, 1 + (i % 2), `run-${i}`, JSON.stringify(config), status, `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`, JSON.stringify(summary), JSON.stringify(i % 5 === 0 ? ['faces', 'best'] : []));
    }
    insert.run(2, 3, 'run-elsewhere', '{"beta":0.5}', 'finished', 'now', '{}', '[]');
  })();
});
afterAll(() => {
  db.close();
  dir.cleanup();
});

const page = (filter: string, extra: Partial<Parameters<typeof queryRuns>[1]> = {}) =>
  queryRuns(db, { projectId: 1, filter: parseRunFilter(filter), sort: 'id', descending: true, offset: 0, limit: 50, ...extra });

describe('runs history queries over a store of many runs', () => {
  it("finds a sweep's trials by sweep:<id> (the sweep page's link into the history)", () => {
    db.prepare(
      `INSERT INTO sweeps (id, project_id, dataset_id, name, status, request_json, base_config_json, plan_json, created_at)
       VALUES (7, 1, 1, 's', 'running', '{}', '{}', '{}', 'now')`,
    ).run();
    db.prepare(`UPDATE runs SET sweep_id = 7 WHERE name IN ('run-3', 'run-4', 'run-5')`).run();
    try {
      expect(page('sweep:7').runs.map((run) => run.name).sort()).toEqual(['run-3', 'run-4', 'run-5']);
      expect(page('sweep:7 status:finished').total).toBe(3);
      expect(page('sweep:8').total).toBe(0);
    } finally {
      db.prepare(`UPDATE runs SET sweep_id = NULL`).run();
      db.prepare(`DELETE FROM sweeps`).run();
    }
  });

  it('finds imported runs by importedFrom (what the window holds at start-up beside the newest page)', () => {
    db.prepare(`UPDATE runs SET imported_json = ? WHERE name = 'run-8'`).run(JSON.stringify({ source: '/models/digits.vaestudio', importedAt: 'now', formatVersion: 1, card: {} }));
    try {
      expect(page('importedFrom>""').runs.map((run) => run.name)).toEqual(['run-8']);
      expect(page('importedFrom~digits.vaestudio').total).toBe(1);
      expect(page('importedFrom~elsewhere').total).toBe(0);
    } finally {
      db.prepare(`UPDATE runs SET imported_json = NULL WHERE name = 'run-8'`).run();
    }
  });

  it('pages through every run once, newest first by default', () => {
    const seen: number[] = [];
    for (let offset = 0; ; offset += 300) {
      const { runs, total } = page('', { offset, limit: 300 });
      expect(total).toBe(RUNS);
      if (runs.length === 0) break;
      seen.push(...runs.map((run) => run.id));
    }
    expect(seen).toHaveLength(RUNS);
    expect(new Set(seen).size).toBe(RUNS);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
  });

  it('filters on settings, defaults of old configs, status, tags, metrics and names', () => {
    const { runs, total } = page('beta<1 latent>=16 status:finished tag:faces name~RUN-1', { limit: 1000 });
    expect(total).toBe(runs.length);
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) {
      expect(run.config.beta).toBeLessThan(1);
      expect(run.config.latent).toBeGreaterThanOrEqual(16);
      expect(run.status).toBe('finished');
      expect(run.tags).toContain('faces');
      expect(run.name).toMatch(/^run-1/);
    }
    // Every tenth run stored no family: it is a plain VAE, as the schema's default says.
    const vae = page('family:vae', { limit: 5000 });
    const cvae = page('family:cvae', { limit: 5000 });
    expect(vae.total + cvae.total).toBe(RUNS);
    expect(vae.runs.every((run) => run.config.family === 'vae')).toBe(true);
    expect(page('learningRate=0.001').total).toBe(page('learningRate<0.0015').total);
    expect(page('loss<110').runs.every((run) => run.summary['loss']! < 110)).toBe(true);
    expect(page('loss<110').total + page('loss>=110').total).toBe(page('status:finished').total);
    expect(page('tag!=faces').total + page('tag:faces').total).toBe(RUNS);
    expect(page('dataset:faces').total).toBe(RUNS / 2);
    // A bare word: the name, dataset, status or a tag — the faces dataset (odd runs) or the faces tag (every fifth).
    expect(page('faces').total).toBe(RUNS / 2 + RUNS / 10);
    expect(page('status!=failed').total).toBe(page('status:finished').total);
  });

  it('sorts by any setting or metric, runs without a value last, ties by id', () => {
    const byBeta = page('', { sort: 'beta', descending: false, limit: RUNS });
    const betas = byBeta.runs.map((run) => run.config.beta);
    expect(betas).toEqual([...betas].sort((a, b) => a - b));
    const byLoss = page('', { sort: 'loss', descending: true, limit: RUNS }).runs;
    const withLoss = byLoss.filter((run) => run.summary['loss'] !== undefined);
    expect(byLoss.slice(0, withLoss.length)).toEqual(withLoss);
    expect(withLoss.map((run) => run.summary['loss'])).toEqual(withLoss.map((run) => run.summary['loss']).sort((a, b) => b! - a!));
    // Pages of a sort with ties neither repeat nor skip a run.
    const ids = [0, 1, 2, 3].flatMap((n) => page('', { sort: 'latent', offset: n * 500, limit: 500 }).runs.map((run) => run.id));
    expect(new Set(ids).size).toBe(RUNS);
  });

  it('treats an injection attempt as a string to look for', () => {
    expect(page(`name~"'; DROP TABLE runs;--"`).total).toBe(0);
    expect(page(`"'; DROP TABLE runs;--"`).total).toBe(0);
    expect(page(`tag:"x') OR 1=1 --"`).total).toBe(0);
    expect(page(`metric.x<1`).total).toBe(0);
    expect(page('').total).toBe(RUNS);
    expect((db.prepare('SELECT COUNT(*) AS n FROM runs').get() as { n: number }).n).toBe(RUNS + 1);
  });

  it('reads a key of a new run column (as sweep:<id> will be) from the run row, its value bound', () => {
    const sweep = { type: 'number' as const, label: 'Sweep', source: { column: 'sweep_id' } };
    expect(keyExpression('sweep', sweep)).toEqual({ text: 'r.sweep_id', params: [] });
    expect(() => keyExpression('bad', { ...sweep, source: { column: 'x; DROP TABLE runs' } })).toThrow(/no column/);
  });

  it('refuses a sort key it does not know, naming it', () => {
    expect(() => page('', { sort: 'bogus' })).toThrow(/"bogus" is not a run setting/);
  });

  it('groups across seeds with count and mean ± sd of the final metrics', () => {
    const { groups, total } = groupRuns(db, { projectId: 1, filter: parseRunFilter('status:finished'), by: ['beta', 'latent'], limit: 100 });
    expect(total).toBe(12);
    expect(groups).toHaveLength(12);
    expect(groups.reduce((sum, group) => sum + group.count, 0)).toBe(page('status:finished').total);
    for (const group of groups) {
      const [beta] = group.values as [number, number];
      const loss = group.metrics['loss']!;
      expect(loss.n).toBe(group.count);
      // loss = 100 + 10β + (seed − 2), seeds 0..4: the mean is near 100 + 10β, the sd near that of the seeds.
      expect(loss.mean).toBeCloseTo(100 + 10 * beta, 0);
      expect(loss.sd).toBeGreaterThan(1);
      expect(loss.sd).toBeLessThan(1.8);
      expect(group.metrics['val_loss']!.sd).toBeCloseTo(0, 6);
    }
  });

  it('answers numeric points for a plot, enums as choice indices, spread over the set', () => {
    const points = runPoints(db, { projectId: 1, filter: parseRunFilter(''), keys: ['beta', 'family', 'loss'], limit: 100 });
    expect(points.total).toBe(RUNS);
    expect(points.ids.length).toBe(100);
    expect(points.ids[99]! - points.ids[0]!).toBeGreaterThan(RUNS * 0.9);
    for (const row of points.values) {
      expect([0.5, 1, 2, 4]).toContain(row[0]);
      expect([0, 1, 2, 3]).toContain(row[1]);
    }
  });
});

describe('run_facets (migration 9) in step with runs', () => {
  it('fills from runs stored before it, and follows inserts, updates and deletes', () => {
    const local = tempDir();
    try {
      const file = join(local.path, 'studio.db');
      const old = openDatabase(file, { targetVersion: 7 });
      insertProjectAndDataset(old);
      insertRuns(old, [{ name: 'before', config: { beta: 0.5 } }]);
      old.close();
      const fresh = openDatabase(file);
      const q = (filter: string) => queryRuns(fresh, { projectId: 1, filter: parseRunFilter(filter), sort: 'id', descending: true, offset: 0, limit: 10 });
      expect(q('beta<1').runs.map((run) => run.name)).toEqual(['before']);
      const added = insertRun(fresh, { projectId: 1, datasetId: 1, name: 'after', configJson: '{"beta":2}' }, 'now');
      expect(q('beta>1 status:queued').runs.map((run) => run.name)).toEqual(['after']);
      recordEpoch(fresh, added.id, 1, 10, { val_loss: 80 });
      finishRun(fresh, added.id, 'finished', 'now', null, { test_nll: 79 });
      updateRunDetails(fresh, added.id, { name: 'renamed', tags: ['keep'] });
      expect(q('val_loss<81 test_nll<80 status:finished tag:keep name~renamed epochsDone=1').total).toBe(1);
      deleteRunRow(fresh, added.id);
      expect(q('').total).toBe(1);
      expect((fresh.prepare('SELECT COUNT(*) AS n FROM run_facets').get() as { n: number }).n).toBe(1);
      fresh.close();
    } finally {
      local.cleanup();
    }
  });
});
