import type { Db } from './db';

export interface ArtifactRow {
  id: number;
  run_id: number;
  kind: string;
  epoch: number;
  blob_hash: string;
  mime: string;
}

export function insertArtifact(
  db: Db,
  a: { runId: number; kind: string; epoch: number; blobHash: string; mime: string },
  now: string,
): ArtifactRow {
  const info = db
    .prepare('INSERT INTO artifacts (run_id, kind, epoch, blob_hash, mime, created_at) VALUES (?, ?, ?, ?, ?, ?)')
    .run(a.runId, a.kind, a.epoch, a.blobHash, a.mime, now);
  return db.prepare('SELECT * FROM artifacts WHERE id = ?').get(Number(info.lastInsertRowid)) as ArtifactRow;
}

export function getArtifact(db: Db, id: number): ArtifactRow | undefined {
  return db.prepare('SELECT * FROM artifacts WHERE id = ?').get(id) as ArtifactRow | undefined;
}

export interface ArtifactFilter {
  kind?: string;
  epoch?: number;
  /** Only the newest artifact of each kind. */
  latest?: boolean;
}

export function listArtifacts(db: Db, runId: number, filter: ArtifactFilter = {}, page: { offset: number; limit: number } = { offset: 0, limit: -1 }): ArtifactRow[] {
  const where = ['run_id = @runId'];
  if (filter.kind !== undefined) where.push('kind = @kind');
  if (filter.epoch !== undefined) where.push('epoch = @epoch');
  if (filter.latest) where.push('id IN (SELECT MAX(id) FROM artifacts WHERE run_id = @runId GROUP BY kind)');
  return db
    .prepare(`SELECT * FROM artifacts WHERE ${where.join(' AND ')} ORDER BY epoch, id LIMIT @limit OFFSET @offset`)
    .all({ runId, kind: filter.kind, epoch: filter.epoch, limit: page.limit, offset: page.offset }) as ArtifactRow[];
}

export function artifactEpochs(db: Db, runId: number, afterEpoch = 0): Record<string, number[]> {
  const rows = db
    .prepare('SELECT DISTINCT kind, epoch FROM artifacts WHERE run_id = ? AND epoch > ? ORDER BY kind, epoch')
    .all(runId, afterEpoch) as { kind: string; epoch: number }[];
  const out: Record<string, number[]> = {};
  for (const row of rows) (out[row.kind] ??= []).push(row.epoch);
  return out;
}

/** Every blob hash a run owns (artifacts, checkpoints, its health scores), for cleanup after deletion. */
export function blobHashesOfRun(db: Db, runId: number): string[] {
  const rows = db
    .prepare(
      `SELECT blob_hash FROM artifacts WHERE run_id = ? UNION SELECT blob_hash FROM checkpoints WHERE run_id = ?
       UNION SELECT blob_hash FROM run_health WHERE run_id = ?`,
    )
    .all(runId, runId, runId) as { blob_hash: string }[];
  return rows.map((r) => r.blob_hash);
}

export function blobStillReferenced(db: Db, hash: string): boolean {
  return (
    db
      .prepare(
        `SELECT 1 FROM artifacts WHERE blob_hash = @hash UNION ALL SELECT 1 FROM checkpoints WHERE blob_hash = @hash
         UNION ALL SELECT 1 FROM run_health WHERE blob_hash = @hash
         UNION ALL SELECT 1 FROM datasets WHERE blob_hash = @hash OR index_hash = @hash OR health_hash = @hash LIMIT 1`,
      )
      .get({ hash }) !== undefined
  );
}

export interface BlobOwners {
  datasets: { id: number; name: string; sourcePath: string }[];
  checkpoints: { runId: number; kind: string; epoch: number }[];
  artifacts: { runId: number; kind: string; epoch: number }[];
}

/** Which datasets and runs point at a blob (to name them when it is damaged). */
export function blobOwners(db: Db, hash: string): BlobOwners {
  return {
    datasets: db
      .prepare('SELECT id, name, source_path AS sourcePath FROM datasets WHERE blob_hash = @hash OR index_hash = @hash OR health_hash = @hash ORDER BY id')
      .all({ hash }) as BlobOwners['datasets'],
    checkpoints: db
      .prepare('SELECT run_id AS runId, kind, epoch FROM checkpoints WHERE blob_hash = ? ORDER BY run_id, kind')
      .all(hash) as BlobOwners['checkpoints'],
    artifacts: db
      .prepare(
        `SELECT run_id AS runId, kind, epoch FROM artifacts WHERE blob_hash = @hash
         UNION ALL SELECT run_id AS runId, 'health scores' AS kind, checkpoint_epoch AS epoch FROM run_health WHERE blob_hash = @hash`,
      )
      .all({ hash }) as BlobOwners['artifacts'],
  };
}
