import type { CheckpointInfo } from '@shared/types';
import type { Db } from './db';

/**
 * Checkpoint rows: at most one 'last' and one 'best' per run, each pointing at a blob
 * (both may point at the same one). Replacing a row hands back the blob hash it
 * dropped so the caller can delete the file once nothing references it.
 */
export interface CheckpointRow {
  id: number;
  run_id: number;
  epoch: number;
  step: number;
  kind: 'last' | 'best';
  blob_hash: string;
  bytes: number;
  created_at: string;
}

export interface NewCheckpoint {
  runId: number;
  kind: 'last' | 'best';
  epoch: number;
  step: number;
  blobHash: string;
  bytes: number;
}

/** Insert or replace the run's checkpoint of this kind; returns the superseded blob hash, if any. */
export function replaceCheckpoint(db: Db, checkpoint: NewCheckpoint, now: string): string | null {
  const previous = getCheckpoint(db, checkpoint.runId, checkpoint.kind);
  db.prepare('DELETE FROM checkpoints WHERE run_id = ? AND kind = ?').run(checkpoint.runId, checkpoint.kind);
  db.prepare(
    `INSERT INTO checkpoints (run_id, epoch, step, kind, blob_hash, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  ).run(checkpoint.runId, checkpoint.epoch, checkpoint.step, checkpoint.kind, checkpoint.blobHash, checkpoint.bytes, now);
  return previous && previous.blob_hash !== checkpoint.blobHash ? previous.blob_hash : null;
}

export function getCheckpoint(db: Db, runId: number, kind: 'last' | 'best'): CheckpointRow | undefined {
  return db.prepare('SELECT * FROM checkpoints WHERE run_id = ? AND kind = ? ORDER BY id DESC LIMIT 1').get(runId, kind) as
    | CheckpointRow
    | undefined;
}

export function listCheckpoints(db: Db, runId: number): CheckpointRow[] {
  return db.prepare(`SELECT * FROM checkpoints WHERE run_id = ? ORDER BY kind DESC, id`).all(runId) as CheckpointRow[];
}

export function toCheckpointInfo(row: CheckpointRow): CheckpointInfo {
  return { runId: row.run_id, kind: row.kind, epoch: row.epoch, step: row.step, bytes: row.bytes, createdAt: row.created_at };
}
