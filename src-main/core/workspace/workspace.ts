import { closeSync, fsyncSync, mkdirSync, openSync, rmSync, statfsSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openDatabase, type Db } from '../store/db';
import { BlobStore } from './blobs';
import { acquireWorkspaceLock, type WorkspaceLock } from './lock';
import { PendingFiles } from './pending-files';

export interface Workspace {
  home: string;
  db: Db;
  blobs: BlobStore;
  /** Scratch folders of running jobs (worker checkpoints before they become blobs). */
  runsDir: string;
  /** Temp files written outside the workspace (exports), recorded until they are renamed into place. */
  pending: PendingFiles;
  /** Opened beside a running app: reads only, no lock taken. */
  readOnly: boolean;
  /** The lock this instance holds (null when read-only): child processes check it before writing. */
  lock: Pick<WorkspaceLock, 'path' | 'token'> | null;
  /**
   * Deletes the space reserve (a file kept beside the database) so a write that must
   * not be lost — how a run ended — fits on a disk full to the last byte. False when
   * there is none. It is made again at the next start when there is room.
   */
  releaseReserve(): boolean;
  close(): void;
}

/** Name and size of the space reserve: enough for many small database writes. */
export const RESERVE_FILE = 'space-reserve';
export const RESERVE_BYTES = 1024 * 1024;

/** Makes the reserve unless it is there; on a disk without the room, leaves none. */
/**
 * The reserve is made only where it is a small share of the free space: on a nearly full
 * or tiny disk it would take the room the database itself needs.
 */
export const RESERVE_MIN_FREE_BYTES = 16 * RESERVE_BYTES;

function keepReserve(path: string): void {
  try {
    if (statSync(path).size === RESERVE_BYTES) return;
  } catch {
    // Not there yet.
  }
  try {
    const disk = statfsSync(dirname(path));
    if (disk.bavail * disk.bsize < RESERVE_MIN_FREE_BYTES) return;
  } catch {
    // No free-space figure here: try to make it anyway.
  }
  try {
    const fd = openSync(path, 'w');
    try {
      // Written zeros, not a sparse file: the blocks must really be taken.
      writeSync(fd, Buffer.alloc(RESERVE_BYTES));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    rmSync(path, { force: true });
  }
}

export interface WorkspaceOptions {
  nativeBinding?: string;
  /** Who holds the lock (shown to a second instance); omitted = open without locking, read-only. */
  lockMode?: string;
}

export function openWorkspace(home: string, options: WorkspaceOptions = {}): Workspace {
  mkdirSync(home, { recursive: true });
  const lock = options.lockMode ? acquireWorkspaceLock(home, options.lockMode) : null;
  const release = (): void => lock?.release();
  let db: Db;
  try {
    db = options.lockMode
      ? openDatabase(join(home, 'studio.db'), options)
      : openDatabase(join(home, 'studio.db'), { ...options, readOnly: true });
  } catch (error) {
    release();
    throw error;
  }
  const runsDir = join(home, 'runs');
  mkdirSync(runsDir, { recursive: true });
  const blobs = new BlobStore(join(home, 'blobs'));
  // The lock holder is the only writer: whatever sits in the temp folder now was left
  // by one that died mid-write and can never become a blob.
  if (options.lockMode) blobs.clearTemp();
  const reserve = join(home, RESERVE_FILE);
  if (options.lockMode) keepReserve(reserve);
  // Exports torn by a crash: their hidden temp files in the user's folders go (any
  // instance may sweep: records of live processes are kept).
  const pending = new PendingFiles(join(home, 'pending'));
  for (const path of pending.sweep()) console.error(`VAE Studio: tidied up after an export that did not finish: ${path}`);
  return {
    home,
    db,
    blobs,
    runsDir,
    pending,
    readOnly: !options.lockMode,
    lock: lock && { path: lock.path, token: lock.token },
    releaseReserve: () => {
      if (!options.lockMode) return false;
      try {
        rmSync(reserve);
        return true;
      } catch {
        return false;
      }
    },
    close: () => {
      db.close();
      release();
    },
  };
}
