import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { ApiError } from '@shared/errors';
import type { Db } from './db';

/**
 * Copies of the workspace database, made with SQLite itself while the app runs (the
 * online backup API, or VACUUM INTO before a migration), each checked before it is
 * kept. They live in `backups/` beside the database; the newest BACKUPS_KEPT stay.
 * When the database is found damaged at open, the newest good one is named, and
 * `vae-studio restore-db` puts it back.
 */
export const BACKUP_FOLDER = 'backups';
export const BACKUPS_KEPT = 5;
/** A daily backup is due when the newest is older than this. */
export const BACKUP_INTERVAL_MS = 24 * 60 * 60 * 1000;
export const DATABASE_DAMAGED = 'database_damaged';

export interface BackupFile {
  path: string;
  /** When it was taken (its file time). */
  takenAt: Date;
  reason: string;
}

export const backupFolderOf = (databaseFile: string): string => join(dirname(databaseFile), BACKUP_FOLDER);

/** Backups of this database, newest first. */
export function listBackups(databaseFile: string): BackupFile[] {
  const folder = backupFolderOf(databaseFile);
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .map((name) => /^studio-[0-9TZ-]+-([a-z0-9-]+)\.db$/.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => {
      const path = join(folder, match[0]);
      return { path, takenAt: statSync(path).mtime, reason: match[1]! };
    })
    .sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime() || b.path.localeCompare(a.path));
}

/** Problems `PRAGMA quick_check` finds, or an empty list; a file SQLite cannot read at all counts as one. */
export function quickCheck(db: Db): string[] {
  try {
    const rows = db.pragma('quick_check') as { quick_check: string }[];
    const found = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
    return found;
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
}

/** Whether a database file opens and passes quick_check (for backups before they are trusted). */
export function fileIsIntact(file: string, nativeBinding?: string): boolean {
  let db: Db | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, ...(nativeBinding ? { nativeBinding } : {}) });
    return quickCheck(db).length === 0 && (db.pragma('user_version', { simple: true }) as number) > 0;
  } catch {
    return false;
  } finally {
    db?.close();
  }
}

/** The newest backup that passes its own check, if any. */
export function latestGoodBackup(databaseFile: string, nativeBinding?: string): BackupFile | null {
  return listBackups(databaseFile).find((b) => fileIsIntact(b.path, nativeBinding)) ?? null;
}

const stamp = (date: Date): string => date.toISOString().replace(/[:.]/g, '-');

function syncPath(path: string): void {
  try {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Best effort (folders on Windows).
  }
}

/**
 * A fresh copy becomes a standalone file (rollback journal, not WAL: one file, no
 * -wal/-shm beside it) and must pass quick_check.
 */
function settleCopy(temp: string, nativeBinding?: string): boolean {
  let db: Db | undefined;
  try {
    db = new Database(temp, { fileMustExist: true, ...(nativeBinding ? { nativeBinding } : {}) });
    db.pragma('journal_mode = DELETE');
    return quickCheck(db).length === 0 && (db.pragma('user_version', { simple: true }) as number) > 0;
  } catch {
    return false;
  } finally {
    db?.close();
    for (const extra of ['-wal', '-shm', '-journal']) rmSync(`${temp}${extra}`, { force: true });
  }
}

/** Moves a checked copy into the backup folder and drops the oldest beyond BACKUPS_KEPT. */
function keep(databaseFile: string, temp: string, reason: string, nativeBinding?: string): string | null {
  if (!settleCopy(temp, nativeBinding)) {
    rmSync(temp, { force: true });
    console.error(`The backup of ${databaseFile} did not pass its check and was not kept; the database may be damaged.`);
    return null;
  }
  syncPath(temp);
  const target = join(backupFolderOf(databaseFile), `studio-${stamp(new Date())}-${reason}.db`);
  renameSync(temp, target);
  syncPath(dirname(target));
  for (const old of listBackups(databaseFile).slice(BACKUPS_KEPT)) rmSync(old.path, { force: true });
  return target;
}

function tempBackupPath(databaseFile: string): string {
  const folder = backupFolderOf(databaseFile);
  mkdirSync(folder, { recursive: true });
  for (const name of readdirSync(folder)) if (/\.partial(-wal|-shm|-journal)?$/.test(name)) rmSync(join(folder, name), { force: true });
  return join(folder, `backup-${process.pid}-${Date.now()}.partial`);
}

/** A synchronous copy (VACUUM INTO), for the moment before a migration changes the schema. */
export function backupNow(db: Db, databaseFile: string, reason: string, nativeBinding?: string): string | null {
  const temp = tempBackupPath(databaseFile);
  try {
    db.prepare('VACUUM INTO ?').run(temp);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  return keep(databaseFile, temp, reason, nativeBinding);
}

/**
 * The daily backup, when due (checked hourly while the app runs and when it closes, so
 * a first session's work is in the first copy): SQLite's online backup copies the pages a few at a time
 * between other work, so the app stays responsive. Resolves to the file kept, or null
 * when none was due. Failures (disk full) are reported, never thrown: a backup must not
 * stop the app.
 */
export async function backupIfDue(db: Db, databaseFile: string, now = new Date(), nativeBinding?: string): Promise<string | null> {
  let temp: string | null = null;
  try {
    if (!db.open) return null;
    const newest = listBackups(databaseFile)[0];
    if (newest && now.getTime() - newest.takenAt.getTime() < BACKUP_INTERVAL_MS) return null;
    // An empty workspace has nothing to lose; its copy would only delay the first useful one.
    if (db.prepare('SELECT EXISTS (SELECT 1 FROM projects)').pluck().get() === 0) return null;
    temp = tempBackupPath(databaseFile);
    await db.backup(temp);
    return keep(databaseFile, temp, 'daily', nativeBinding);
  } catch (error) {
    if (temp) rmSync(temp, { force: true });
    console.error(`Could not back up ${databaseFile}:`, error);
    return null;
  }
}

/** The error shown when the database is damaged: what happened, and how to get back. */
export function damagedDatabaseError(databaseFile: string, why: string, nativeBinding?: string): ApiError {
  const home = dirname(databaseFile);
  const backup = latestGoodBackup(databaseFile, nativeBinding);
  const advice = backup
    ? `Restore the latest good backup, ${backup.path} (taken ${backup.takenAt.toISOString()}), with: vae-studio restore-db --home "${home}" ` +
      '(the desktop app offers it: "Restore the backup"). Work done after that backup is not in it; the damaged file is kept beside the restored one.'
    : `There is no good backup of it in ${backupFolderOf(databaseFile)} (one is made every day and before each upgrade). ` +
      `Move ${basename(databaseFile)} away to start an empty workspace; the image and model files in ${join(home, 'blobs')} stay.`;
  return new ApiError('io_error', `The workspace database ${databaseFile} is damaged (${why}). Nothing was changed. ${advice}`, {
    reason: DATABASE_DAMAGED,
    file: databaseFile,
    ...(backup && { backup: backup.path }),
  });
}

/** SQLite's words for a file that is not (or no longer) a whole database. */
export function isDamageError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(CORRUPT|NOTADB)/.test(code);
}

export interface RestoreResult {
  restored: string;
  takenAt: string;
  /** Where the replaced database (and its -wal/-shm) went; empty if there was none. */
  keptAside: string[];
}

/**
 * Puts a backup back as the workspace database. The backup is checked first; the
 * damaged database and its WAL are kept aside under a dated name, never deleted. The
 * caller holds the workspace lock.
 */
export function restoreDatabase(databaseFile: string, from?: string, nativeBinding?: string): RestoreResult {
  const backup = from
    ? { path: from, takenAt: existsSync(from) ? statSync(from).mtime : new Date(0) }
    : latestGoodBackup(databaseFile, nativeBinding);
  if (!backup) throw new ApiError('not_found', `There is no good backup in ${backupFolderOf(databaseFile)} to restore.`, { field: 'from' });
  if (!fileIsIntact(backup.path, nativeBinding)) {
    throw new ApiError('invalid_input', `${backup.path} is not a whole VAE Studio database (it does not open or fails its check); nothing was changed.`, { field: 'from' });
  }
  const suffix = `.damaged-${stamp(new Date())}`;
  const keptAside: string[] = [];
  for (const file of [databaseFile, `${databaseFile}-wal`, `${databaseFile}-shm`]) {
    if (!existsSync(file)) continue;
    renameSync(file, `${file}${suffix}`);
    keptAside.push(`${file}${suffix}`);
  }
  const temp = `${databaseFile}.restoring`;
  copyFileSync(backup.path, temp);
  syncPath(temp);
  renameSync(temp, databaseFile);
  syncPath(dirname(databaseFile));
  return { restored: backup.path, takenAt: backup.takenAt.toISOString(), keptAside };
}
