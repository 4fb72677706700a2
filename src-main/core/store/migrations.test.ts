import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { migrations, LATEST_VERSION } from './migrations';
import { migrate, openDatabase, schemaVersion } from './db';
import { tempDir } from '../testing';

describe('schema migrations', () => {
  it('brings an empty database to the latest version with WAL, foreign keys and STRICT tables', () => {
    const dir = tempDir();
    try {
      const db = openDatabase(join(dir.path, 'studio.db'));
      expect(schemaVersion(db)).toBe(LATEST_VERSION);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      const tables = db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'table'`).all() as { name: string; sql: string }[];
      expect(tables.map((t) => t.name).sort()).toEqual(['artifacts', 'checkpoints', 'datasets', 'metrics', 'projects', 'runs']);
      for (const table of tables) expect(table.sql).toMatch(/STRICT/);
      // STRICT: a string in an INTEGER column is refused instead of silently stored.
      expect(() => db.prepare(`INSERT INTO projects (id, name, created_at) VALUES ('x', 'p', 'now')`).run()).toThrow(/datatype/i);
      db.close();
    } finally {
      dir.cleanup();
    }
  });

  for (let from = 0; from < LATEST_VERSION; from++) {
    it(`upgrades a database at version ${from} and keeps its rows`, () => {
      const dir = tempDir();
      const file = join(dir.path, 'studio.db');
      try {
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
        db.close();
      } finally {
        dir.cleanup();
      }
    });
  }

  it('rolls a failing migration back whole and leaves the version where it was', () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'studio.db');
      openDatabase(file).close();
      const broken = [...migrations, { version: LATEST_VERSION + 1, description: 'broken', sql: 'CREATE TABLE half (x INTEGER) STRICT; SELECT no_such_function();' }];
      const db = openDatabase(file, { targetVersion: LATEST_VERSION });
      expect(() => migrate(db, broken)).toThrow(/no_such_function/);
      expect(schemaVersion(db)).toBe(LATEST_VERSION);
      expect(db.prepare(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'`).pluck().get()).toBe(0);
      db.close();
    } finally {
      dir.cleanup();
    }
  });

  it('refuses a database written by a newer app without changing it', () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'studio.db');
      const db = openDatabase(file);
      db.pragma(`user_version = ${LATEST_VERSION + 5}`);
      db.close();
      expect(() => openDatabase(file)).toThrow(/newer VAE Studio/);
    } finally {
      dir.cleanup();
    }
  });
});
