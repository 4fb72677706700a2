import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BACKUP_INTERVAL_MS, backupIfDue, listBackups } from './backup';
import { migrations, LATEST_VERSION } from './migrations';
import { migrate, openDatabase, schemaVersion } from './db';
import { tempDir } from '../testing';

/** Runs `test` with the path of a database file in a fresh folder (`folder`), removed after. */
async function withStudioDb(test: (file: string, folder: string) => void | Promise<void>): Promise<void> {
  const dir = tempDir();
  try {
    await test(join(dir.path, 'studio.db'), dir.path);
  } finally {
    dir.cleanup();
  }
}

/** Project 1 and its dataset 1, as every schema version since 1 stores them. */
const PROJECT_AND_DATASET = `
  INSERT INTO projects (id, name, created_at) VALUES (1, 'p', 'now');
  INSERT INTO datasets (id, project_id, name, source_path, width, height, channels, count, labels_json,
    label_counts_json, skipped_json, settings_json, blob_hash, created_at)
    VALUES (1, 1, 'd', '/x', 8, 8, 1, 1, '[]', '[]', '[]', '{}', 'h', 'now');`;

describe('schema migrations', () => {
  it('brings an empty database to the latest version with WAL, foreign keys and STRICT tables', () => {
    return withStudioDb((file) => {
      const db = openDatabase(file);
      expect(schemaVersion(db)).toBe(LATEST_VERSION);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      const tables = db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'table'`).all() as { name: string; sql: string }[];
      expect(tables.map((t) => t.name).sort()).toEqual(['artifacts', 'checkpoints', 'datasets', 'metrics', 'projects', 'run_facets', 'run_health', 'runs', 'settings', 'sweeps']);
      for (const table of tables) expect(table.sql).toMatch(/STRICT/);
      // STRICT: a string in an INTEGER column is refused instead of silently stored.
      expect(() => db.prepare(`INSERT INTO projects (id, name, created_at) VALUES ('x', 'p', 'now')`).run()).toThrow(/datatype/i);
      db.close();
    });
  });

  // Every version a database can be at (numbers may skip: each branch of #23 took its own).
  const versions = [0, ...migrations.map((m) => m.version)];
  for (const from of versions.filter((v) => v < LATEST_VERSION)) {
    it(`upgrades a database at version ${from} and keeps its rows`, () => {
      return withStudioDb((file) => {
        const old = openDatabase(file, { targetVersion: from });
        expect(schemaVersion(old)).toBe(from);
        if (from >= 1) {
          old.prepare(`INSERT INTO projects (name, created_at) VALUES ('kept', '2026-01-01')`).run();
        }
        old.close();
        const db = openDatabase(file);
        expect(schemaVersion(db)).toBe(LATEST_VERSION);
        if (from >= 1) expect(db.prepare('SELECT name FROM projects').pluck().all()).toEqual(['kept']);
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        // Whatever path it took, the runs history's copy is kept by its triggers: a migration that
        // rebuilds \`runs\` drops them with it and must make them again.
        db.exec(`INSERT INTO projects (id, name, created_at) VALUES (9, 'p9', 'now');
          INSERT INTO datasets (id, project_id, name, source_path, width, height, channels, count, labels_json, label_counts_json, skipped_json, settings_json, blob_hash, created_at)
            VALUES (9, 9, 'd', '/x', 8, 8, 1, 1, '[]', '[]', '[]', '{}', 'h', 'now');
          INSERT INTO runs (id, project_id, dataset_id, name, config_json, status, created_at) VALUES (9, 9, 9, 'before', '{"latent": 4}', 'queued', 'now');
          UPDATE runs SET name = 'after', status = 'finished' WHERE id = 9;`);
        expect(db.prepare('SELECT name, status FROM run_facets WHERE run_id = 9').get()).toEqual({ name: 'after', status: 'finished' });
        db.close();
      });
    });
  }

  it('gives run_facets typed setting and metric columns at version 12, keeping every v11 run (one with a config that is not JSON), and the triggers keep them right', () => {
    return withStudioDb((file) => {
      const old = openDatabase(file, { targetVersion: 11 });
      old.exec(`${PROJECT_AND_DATASET}
        INSERT INTO runs (id, project_id, dataset_id, name, config_json, status, created_at, summary_json, tags_json)
          VALUES (1, 1, 1, 'a', '{"beta":0.5,"latent":8,"family":"cvae"}', 'finished', 'now', '{"loss":90.5,"val_loss":91}', '["x"]'),
                 (2, 1, 1, 'b', '{"latent":32}', 'failed', 'now', '{}', '[]');
      `);
      // v11's trigger refuses text that is not JSON; a file edited by hand (or a bad disk) can hold it anyway.
      old.exec(`DROP TRIGGER run_facets_update;
        UPDATE runs SET config_json = '{"beta": 2, oops' WHERE id = 2;`);
      old.close();
      const db = openDatabase(file, { targetVersion: 12 });
      expect(schemaVersion(db)).toBe(12);
      const facets = () =>
        db.prepare('SELECT run_id, s_beta, s_latent, s_family, m_loss, m_val_loss, config IS NULL AS unreadable FROM run_facets ORDER BY run_id').all();
      expect(facets()).toEqual([
        { run_id: 1, s_beta: 0.5, s_latent: 8, s_family: 'cvae', m_loss: 90.5, m_val_loss: 91, unreadable: 0 },
        { run_id: 2, s_beta: null, s_latent: null, s_family: null, m_loss: null, m_val_loss: null, unreadable: 1 },
      ]);
      // Insert, update of config and summary (as recordEpoch patches it), delete: the columns follow.
      db.exec(`INSERT INTO runs (id, project_id, dataset_id, name, config_json, status, created_at)
                 VALUES (3, 1, 1, 'c', '{"beta":4,"latent":16}', 'queued', 'now');
               UPDATE runs SET summary_json = json_patch(summary_json, '{"loss":70,"val_loss":71.5}') WHERE id = 3;
               UPDATE runs SET config_json = '{"beta":1,"latent":64,"family":"vae"}' WHERE id = 2;
               UPDATE runs SET config_json = 'not json' WHERE id = 1;
               DELETE FROM runs WHERE id = 1;`);
      expect(facets()).toEqual([
        { run_id: 2, s_beta: 1, s_latent: 64, s_family: 'vae', m_loss: null, m_val_loss: null, unreadable: 0 },
        { run_id: 3, s_beta: 4, s_latent: 16, s_family: null, m_loss: 70, m_val_loss: 71.5, unreadable: 0 },
      ]);
      expect(db.prepare('SELECT COUNT(*) FROM runs').pluck().get()).toBe(2);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();
    });
  });

  it('adds sweeps and runs.sweep_id (indexed, NULL for runs made before) keeping every run; deleting a sweep keeps its runs', () => {
    return withStudioDb((file) => {
      const old = openDatabase(file, { targetVersion: 7 });
      old.exec(`${PROJECT_AND_DATASET}
        INSERT INTO runs (id, project_id, dataset_id, name, config_json, status, created_at) VALUES (7, 1, 1, 'r', '{}', 'finished', 'now');
      `);
      old.close();
      const db = openDatabase(file);
      expect(db.prepare('SELECT id, sweep_id FROM runs').all()).toEqual([{ id: 7, sweep_id: null }]);
      const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT id FROM runs WHERE sweep_id = 3`).all() as { detail: string }[];
      expect(plan.map((p) => p.detail).join(' ')).toMatch(/runs_by_sweep/);
      db.exec(`INSERT INTO sweeps (id, project_id, dataset_id, name, status, request_json, base_config_json, plan_json, created_at)
               VALUES (3, 1, 1, 's', 'running', '{}', '{}', '[]', 'now'); UPDATE runs SET sweep_id = 3;`);
      expect(() => db.exec(`UPDATE sweeps SET status = 'sleeping'`)).toThrow(/CHECK/);
      db.exec('DELETE FROM sweeps');
      expect(db.prepare('SELECT id, sweep_id FROM runs').all()).toEqual([{ id: 7, sweep_id: null }]);
      db.close();
    });
  });

  it("adds run status 'paused' without losing runs or the metrics, checkpoints and artifacts that reference them", () => {
    return withStudioDb((file) => {
      const old = openDatabase(file, { targetVersion: 4 });
      old.exec(`${PROJECT_AND_DATASET}
        INSERT INTO runs (id, project_id, dataset_id, name, config_json, status, created_at, notes, summary_json)
          VALUES (7, 1, 1, 'r', '{}', 'interrupted', 'now', 'kept note', '{"loss":1.5}');
        INSERT INTO metrics (run_id, name, step, epoch, value, t_ms) VALUES (7, 'loss', 1, 1, 2.5, 10);
        INSERT INTO checkpoints (run_id, epoch, step, kind, blob_hash, bytes, created_at) VALUES (7, 1, 1, 'last', 'c', 3, 'now');
        INSERT INTO artifacts (run_id, kind, epoch, blob_hash, mime, created_at) VALUES (7, 'samples', 1, 'a', 'image/png', 'now');
      `);
      expect(() => old.prepare(`UPDATE runs SET status = 'paused'`).run()).toThrow(/CHECK/);
      old.close();

      const db = openDatabase(file);
      expect(schemaVersion(db)).toBe(LATEST_VERSION);
      expect(db.prepare('SELECT id, notes, status, summary_json FROM runs').all()).toEqual([
        { id: 7, notes: 'kept note', status: 'interrupted', summary_json: '{"loss":1.5}' },
      ]);
      for (const table of ['metrics', 'checkpoints', 'artifacts']) {
        expect(db.prepare(`SELECT COUNT(*) FROM ${table} WHERE run_id = 7`).pluck().get()).toBe(1);
      }
      db.prepare(`UPDATE runs SET status = 'paused' WHERE id = 7`).run();
      expect(() => db.prepare(`UPDATE runs SET status = 'sleeping' WHERE id = 7`).run()).toThrow(/CHECK/);
      // Foreign keys are back on and still cascade from the rebuilt table.
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      db.prepare('DELETE FROM runs WHERE id = 7').run();
      expect(db.prepare('SELECT COUNT(*) FROM metrics').pluck().get()).toBe(0);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();
    });
  });

  it('rolls a failing migration back whole and leaves the version where it was', () => {
    return withStudioDb((file) => {
      openDatabase(file).close();
      const broken = [...migrations, { version: LATEST_VERSION + 1, description: 'broken', sql: 'CREATE TABLE half (x INTEGER) STRICT; SELECT no_such_function();' }];
      const db = openDatabase(file, { targetVersion: LATEST_VERSION });
      expect(() => migrate(db, broken)).toThrow(/no_such_function/);
      expect(schemaVersion(db)).toBe(LATEST_VERSION);
      expect(db.prepare(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'`).pluck().get()).toBe(0);
      db.close();
    });
  });

  it('refuses a database written by a newer app without changing it', () => {
    return withStudioDb((file) => {
      const db = openDatabase(file);
      db.pragma(`user_version = ${LATEST_VERSION + 5}`);
      db.close();
      expect(() => openDatabase(file)).toThrow(/newer VAE Studio/);
    });
  });
});

describe('backups around migrations', () => {
  it('copies the database, checked, before a migration changes it; the copy opens at the old version with its rows', () => {
    return withStudioDb(async (file, folder) => {
      const previous = migrations[migrations.length - 2]!.version;
      const old = openDatabase(file, { targetVersion: previous });
      old.prepare(`INSERT INTO projects (name, created_at) VALUES ('kept', '2026-01-01')`).run();
      old.close();
      openDatabase(file).close();
      const backups = listBackups(file);
      expect(backups.map((b) => b.reason)).toEqual([`before-v${LATEST_VERSION}`]);
      const copy = new Database(backups[0]!.path, { readonly: true });
      expect(schemaVersion(copy)).toBe(previous);
      expect(copy.prepare('SELECT name FROM projects').pluck().all()).toEqual(['kept']);
      copy.close();
      // Only a migration makes one; a daily one is due once, and then not for a day.
      openDatabase(file).close();
      expect(listBackups(file)).toHaveLength(1);
      const db = openDatabase(file);
      expect(await backupIfDue(db, file, new Date(Date.now() + BACKUP_INTERVAL_MS + 1000))).toMatch(/-daily\.db$/);
      expect(await backupIfDue(db, file)).toBeNull();
      db.close();
      expect(readdirSync(join(folder, 'backups')).sort()).toEqual(listBackups(file).map((b) => b.path.split('/').at(-1)).sort());
    });
  });
});
