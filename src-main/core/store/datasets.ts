import type { Dataset, SkippedFile } from '@shared/types';
import type { Db } from './db';

interface DatasetRow {
  id: number;
  project_id: number;
  name: string;
  source_path: string;
  width: number;
  height: number;
  channels: number;
  count: number;
  labels_json: string;
  label_counts_json: string;
  skipped_json: string;
  settings_json: string;
  blob_hash: string;
  created_at: string;
}

export interface NewDataset {
  projectId: number;
  name: string;
  sourcePath: string;
  width: number;
  height: number;
  channels: 1 | 3;
  count: number;
  labels: string[];
  labelCounts: number[];
  skipped: SkippedFile[];
  settings: Record<string, unknown>;
  blobHash: string;
}

const toDataset = (row: DatasetRow): Dataset => ({
  id: row.id,
  projectId: row.project_id,
  name: row.name,
  sourcePath: row.source_path,
  width: row.width,
  height: row.height,
  channels: row.channels === 3 ? 3 : 1,
  count: row.count,
  labels: JSON.parse(row.labels_json) as string[],
  labelCounts: JSON.parse(row.label_counts_json) as number[],
  skipped: JSON.parse(row.skipped_json) as SkippedFile[],
  contentHash: row.blob_hash,
  createdAt: row.created_at,
});

export function listDatasets(db: Db, projectId?: number): Dataset[] {
  const rows = (
    projectId === undefined
      ? db.prepare('SELECT * FROM datasets ORDER BY id').all()
      : db.prepare('SELECT * FROM datasets WHERE project_id = ? ORDER BY id').all(projectId)
  ) as DatasetRow[];
  return rows.map(toDataset);
}

export function getDataset(db: Db, id: number): Dataset | undefined {
  const row = db.prepare('SELECT * FROM datasets WHERE id = ?').get(id) as DatasetRow | undefined;
  return row && toDataset(row);
}

export function datasetNameTaken(db: Db, projectId: number, name: string): boolean {
  return db.prepare('SELECT 1 FROM datasets WHERE project_id = ? AND name = ?').get(projectId, name) !== undefined;
}

export function insertDataset(db: Db, d: NewDataset, now: string): Dataset {
  const info = db
    .prepare(
      `INSERT INTO datasets (project_id, name, source_path, width, height, channels, count,
         labels_json, label_counts_json, skipped_json, settings_json, blob_hash, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      d.projectId,
      d.name,
      d.sourcePath,
      d.width,
      d.height,
      d.channels,
      d.count,
      JSON.stringify(d.labels),
      JSON.stringify(d.labelCounts),
      JSON.stringify(d.skipped),
      JSON.stringify(d.settings),
      d.blobHash,
      now,
    );
  return getDataset(db, Number(info.lastInsertRowid))!;
}
