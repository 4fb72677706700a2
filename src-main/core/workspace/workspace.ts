import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type Db } from '../store/db';
import { BlobStore } from './blobs';

export interface Workspace {
  home: string;
  db: Db;
  blobs: BlobStore;
  /** Scratch folders of running jobs (worker checkpoints before they become blobs). */
  runsDir: string;
  close(): void;
}

export function openWorkspace(home: string, options: { nativeBinding?: string } = {}): Workspace {
  mkdirSync(home, { recursive: true });
  const db = openDatabase(join(home, 'studio.db'), options);
  const runsDir = join(home, 'runs');
  mkdirSync(runsDir, { recursive: true });
  return {
    home,
    db,
    blobs: new BlobStore(join(home, 'blobs')),
    runsDir,
    close: () => db.close(),
  };
}
