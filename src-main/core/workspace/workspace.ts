import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type Db } from '../store/db';
import { BlobStore } from './blobs';
import { acquireWorkspaceLock, type WorkspaceLock } from './lock';

export interface Workspace {
  home: string;
  db: Db;
  blobs: BlobStore;
  /** Scratch folders of running jobs (worker checkpoints before they become blobs). */
  runsDir: string;
  /** Opened beside a running app: reads only, no lock taken. */
  readOnly: boolean;
  /** The lock this instance holds (null when read-only): child processes check it before writing. */
  lock: Pick<WorkspaceLock, 'path' | 'token'> | null;
  close(): void;
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
  return {
    home,
    db,
    blobs,
    runsDir,
    readOnly: !options.lockMode,
    lock: lock && { path: lock.path, token: lock.token },
    close: () => {
      db.close();
      release();
    },
  };
}
