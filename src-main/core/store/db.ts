import Database from 'better-sqlite3';
import { backupNow, damagedDatabaseError, isDamageError, quickCheck } from './backup';
import { LATEST_VERSION, migrations, type Migration } from './migrations';

export type Db = Database.Database;

export interface OpenOptions {
  /** Stop at this schema version (tests build old databases with it). */
  targetVersion?: number;
  /** Path of a better-sqlite3 binary built for another ABI (Electron). */
  nativeBinding?: string;
  /** Open an existing database for reading only (no migrations, no lock). */
  readOnly?: boolean;
}

/**
 * Opens (or creates) a workspace database and brings its schema up to date. A damaged
 * file (SQLite cannot read it, or `quick_check` finds faults) is refused with an error
 * naming the newest good backup; before a migration changes the schema, a backup is made.
 */
export function openDatabase(file: string, options: OpenOptions = {}): Db {
  let db: Db | undefined;
  try {
    db = new Database(file, {
      ...(options.nativeBinding ? { nativeBinding: options.nativeBinding } : {}),
      ...(options.readOnly ? { readonly: true, fileMustExist: true } : {}),
    });
    if (options.readOnly) {
      db.pragma('busy_timeout = 5000');
      assertIntact(db, file, options.nativeBinding);
      const version = schemaVersion(db);
      if (version !== LATEST_VERSION) {
        throw new Error(`The workspace database is at schema ${version}; this app reads ${LATEST_VERSION}. Open it with the app first.`);
      }
      return db;
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    assertIntact(db, file, options.nativeBinding);
    const current = schemaVersion(db);
    const target = Math.min(options.targetVersion ?? LATEST_VERSION, LATEST_VERSION);
    if (current > 0 && current < target) backupNow(db, file, `before-v${target}`, options.nativeBinding);
    migrate(db, migrations, options.targetVersion);
    return db;
  } catch (error) {
    db?.close();
    if (isDamageError(error)) throw damagedDatabaseError(file, error instanceof Error ? error.message : String(error), options.nativeBinding);
    throw error;
  }
}

function assertIntact(db: Db, file: string, nativeBinding?: string): void {
  const problems = quickCheck(db);
  if (problems.length > 0) throw damagedDatabaseError(file, problems.slice(0, 2).join('; '), nativeBinding);
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function migrate(db: Db, list: readonly Migration[], targetVersion?: number): number {
  const current = schemaVersion(db);
  const newest = list.length ? list[list.length - 1]!.version : 0;
  if (current > newest) {
    throw new Error(
      `This workspace was written by a newer VAE Studio (schema ${current}, this build knows ${newest}). Update the app; nothing was changed.`,
    );
  }
  for (const migration of list) {
    if (migration.version <= current) continue;
    if (targetVersion !== undefined && migration.version > targetVersion) break;
    // foreign_keys cannot change inside a transaction: switch it off around one.
    const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
    if (migration.rebuildsReferencedTable) db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        db.exec(migration.sql);
        migration.run?.(db);
        if (migration.rebuildsReferencedTable) {
          const broken = db.pragma('foreign_key_check') as unknown[];
          if (broken.length > 0) throw new Error(`migration ${migration.version} would break ${broken.length} references`);
        }
        db.pragma(`user_version = ${migration.version}`);
      })();
    } finally {
      if (migration.rebuildsReferencedTable) db.pragma(`foreign_keys = ${foreignKeys ? 'ON' : 'OFF'}`);
    }
  }
  return schemaVersion(db);
}

/**
 * A transaction that is on disk when this returns, for the few whose commit is followed
 * by deleting what they replaced (a superseded checkpoint file): with `synchronous =
 * NORMAL` a WAL commit can be lost to a power cut, and the database would then point
 * at a file that is already gone. FULL syncs the WAL at this one commit.
 */
export function durableTransaction<T>(db: Db, body: () => T): T {
  db.pragma('synchronous = FULL');
  try {
    return db.transaction(body)();
  } finally {
    db.pragma('synchronous = NORMAL');
  }
}
