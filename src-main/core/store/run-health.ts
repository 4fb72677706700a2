import type { Db } from './db';

/** The stored health scores of a run (src-shared/run-health.ts), if it has been scored. */
export function getRunHealth(db: Db, runId: number): { hash: string; checkpointEpoch: number; createdAt: string } | null {
  const row = db.prepare('SELECT blob_hash AS hash, checkpoint_epoch AS checkpointEpoch, created_at AS createdAt FROM run_health WHERE run_id = ?').get(runId) as
    | { hash: string; checkpointEpoch: number; createdAt: string }
    | undefined;
  return row ?? null;
}

/** Stores (or replaces) a run's health scores; answers the hash it replaced, if any, for cleanup. */
export function setRunHealth(db: Db, runId: number, hash: string, checkpointEpoch: number, createdAt: string): string | null {
  const previous = getRunHealth(db, runId)?.hash ?? null;
  db.prepare(
    `INSERT INTO run_health (run_id, blob_hash, checkpoint_epoch, created_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (run_id) DO UPDATE SET blob_hash = excluded.blob_hash, checkpoint_epoch = excluded.checkpoint_epoch, created_at = excluded.created_at`,
  ).run(runId, hash, checkpointEpoch, createdAt);
  return previous === hash ? null : previous;
}
