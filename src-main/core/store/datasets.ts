import { importSettingsSchema, type ImportSettings } from '@shared/config';
import { datasetWarnings } from '@shared/dataset-warnings';
import type { Dataset, ImportStats, SkippedFile, SplitCounts } from '@shared/types';
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
  index_hash: string | null;
  split_json: string;
  stats_json: string;
  previous_id: number | null;
  created_at: string;
}

export interface NewDataset {
  projectId: number;
  name: string;
  sourcePath: string;
  count: number;
  labels: string[];
  labelCounts: number[];
  skipped: SkippedFile[];
  settings: ImportSettings;
  splitCounts: SplitCounts;
  stats: ImportStats;
  previousId: number | null;
  blobHash: string;
  /** Null for datasets that have no source file index (e.g. the held-out images of an imported model). */
  indexHash: string | null;
  /** The health report's blob, when it was computed at import. */
  healthHash?: string | null;
}

const toDataset = (row: DatasetRow): Dataset => {
  const dataset = toStoredDataset(row);
  return { ...dataset, warnings: datasetWarnings(dataset) };
};

const toStoredDataset = (row: DatasetRow): Omit<Dataset, 'warnings'> => ({
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
  // Parsing fills defaults for settings added after the row was written; a row from
  // before layouts read its folder as classes, and a re-import reads it the same way.
  settings: importSettingsSchema.parse({ layout: 'classes', ...(JSON.parse(row.settings_json) as object), size: row.width, channels: row.channels }),
  splitCounts: JSON.parse(row.split_json) as SplitCounts,
  stats: JSON.parse(row.stats_json) as ImportStats,
  previousId: row.previous_id,
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

/** The blob holding a dataset's per-file index (paths, sizes, hashes), if it has one. */
export function datasetIndexHash(db: Db, id: number): string | null {
  return (db.prepare('SELECT index_hash FROM datasets WHERE id = ?').pluck().get(id) as string | null | undefined) ?? null;
}

/** The blob holding a dataset's health report, or null when it was never computed (datasets from before health). */
export function datasetHealthHash(db: Db, id: number): string | null {
  return (db.prepare('SELECT health_hash FROM datasets WHERE id = ?').pluck().get(id) as string | null | undefined) ?? null;
}

export function setDatasetHealthHash(db: Db, id: number, hash: string): void {
  db.prepare('UPDATE datasets SET health_hash = ? WHERE id = ?').run(hash, id);
}

export function datasetNameTaken(db: Db, projectId: number, name: string): boolean {
  return db.prepare('SELECT 1 FROM datasets WHERE project_id = ? AND name = ?').get(projectId, name) !== undefined;
}

/** The runs trained on a dataset, oldest first. */
export function runIdsUsingDataset(db: Db, id: number): number[] {
  return db.prepare('SELECT id FROM runs WHERE dataset_id = ? ORDER BY id').pluck().all(id) as number[];
}

/** Deletes a dataset's row; answers the blobs it named (packed images, index, health report), to remove when nothing else uses them. */
export function deleteDatasetRow(db: Db, dataset: Pick<Dataset, 'id' | 'contentHash'>): string[] {
  const hashes = [dataset.contentHash, datasetIndexHash(db, dataset.id), datasetHealthHash(db, dataset.id)].filter((h): h is string => h !== null);
  db.prepare('DELETE FROM datasets WHERE id = ?').run(dataset.id);
  return hashes;
}

export function insertDataset(db: Db, d: NewDataset, now: string): Dataset {
  const info = db
    .prepare(
      `INSERT INTO datasets (project_id, name, source_path, width, height, channels, count,
         labels_json, label_counts_json, skipped_json, settings_json, blob_hash, index_hash,
         split_json, stats_json, previous_id, created_at, health_hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      d.projectId,
      d.name,
      d.sourcePath,
      d.settings.size,
      d.settings.size,
      d.settings.channels,
      d.count,
      JSON.stringify(d.labels),
      JSON.stringify(d.labelCounts),
      JSON.stringify(d.skipped),
      JSON.stringify(d.settings),
      d.blobHash,
      d.indexHash,
      JSON.stringify(d.splitCounts),
      JSON.stringify(d.stats),
      d.previousId,
      now,
      d.healthHash ?? null,
    );
  return getDataset(db, Number(info.lastInsertRowid))!;
}
