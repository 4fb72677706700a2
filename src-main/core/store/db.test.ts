import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../testing';
import { durableTransaction, openDatabase } from './db';

describe('durableTransaction', () => {
  it('commits with the WAL synced (synchronous FULL) and puts the everyday setting back, also after a failure', () => {
    const dir = tempDir();
    try {
      const db = openDatabase(join(dir.path, 'studio.db'));
      db.exec('CREATE TABLE t (v INTEGER)');
      const NORMAL = 1;
      const FULL = 2;
      expect(db.pragma('synchronous', { simple: true })).toBe(NORMAL);
      const seen = durableTransaction(db, () => {
        db.prepare('INSERT INTO t VALUES (1)').run();
        return db.pragma('synchronous', { simple: true });
      });
      // The level in force when the transaction commits is the one set before it began.
      expect(seen).toBe(FULL);
      expect(db.pragma('synchronous', { simple: true })).toBe(NORMAL);
      expect(() =>
        durableTransaction(db, () => {
          db.prepare('INSERT INTO t VALUES (2)').run();
          throw new Error('boom');
        }),
      ).toThrow('boom');
      expect(db.pragma('synchronous', { simple: true })).toBe(NORMAL);
      expect(db.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 1 });
      db.close();
    } finally {
      dir.cleanup();
    }
  });
});
