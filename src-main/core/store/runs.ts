import { ZodError } from 'zod';
import { runConfigSchema } from '@shared/config';
import type { GpuAdapterInfo } from '@shared/backend-report';
import { ApiError, type ApiErrorShape } from '@shared/errors';
import type { ImportedModel } from '@shared/model-card';
import type { Run, RunStatus, RunWait } from '@shared/types';
import type { Db } from './db';

export interface RunRow {
  id: number;
  project_id: number;
  dataset_id: number;
  dataset_name: string;
  name: string;
  config_json: string;
  status: RunStatus;
  backend: string | null;
  backend_notes_json: string;
  backend_adapter_json: string | null;
  error_json: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  epochs_done: number;
  last_step: number;
  summary_json: string;
  notes: string;
  tags_json: string;
  imported_json: string | null;
  sweep_id: number | null;
  /** Since migration 13. */
  waiting_json?: string | null;
}

export const RUN_SELECT = `SELECT r.*, d.name AS dataset_name FROM runs r JOIN datasets d ON d.id = r.dataset_id`;
const SELECT = RUN_SELECT;

/**
 * Parsed configs by their stored text, the least recently used dropped past CONFIG_CACHE:
 * a config never changes once stored, and parsing one (defaults, refinements) costs about
 * half a millisecond — most of a history page's time. Each run gets its own copy.
 */
const CONFIG_CACHE = 4096;
const parsedConfigs = new Map<string, Run['config']>();
let defaultConfig: Run['config'] | undefined;

/** Why stored settings cannot be read, in a few words: not JSON, or the setting at fault. */
export function configProblem(error: unknown): string {
  if (error instanceof SyntaxError) return `not JSON (${error.message})`;
  if (error instanceof ZodError) {
    return error.issues
      .slice(0, 2)
      .map((issue) => `${issue.path.join('.') || 'config'}: ${issue.message}`)
      .join('; ');
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * A stored config, parsed; one that cannot be read (a file edited by hand, a bad disk)
 * gives the defaults and the reason, so a list with it in still loads — the one run is
 * marked instead of the whole page failing.
 */
function parseStoredConfig(text: string): { config: Run['config']; error?: string } {
  let config = parsedConfigs.get(text);
  if (config) {
    parsedConfigs.delete(text);
  } else {
    try {
      // Stored configs were validated on the way in; parsing again fills defaults added later.
      config = runConfigSchema.parse(JSON.parse(text));
    } catch (error) {
      defaultConfig ??= runConfigSchema.parse({});
      return { config: { ...defaultConfig }, error: configProblem(error) };
    }
    if (parsedConfigs.size >= CONFIG_CACHE) parsedConfigs.delete(parsedConfigs.keys().next().value!);
  }
  parsedConfigs.set(text, config);
  return { config: { ...config } };
}

/** JSON a run row holds besides its config; text that is not JSON reads as `empty`. */
function storedJson<T>(text: string, empty: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return empty;
  }
}

/** An optional JSON column as `{ [key]: value }`, or nothing when it is empty or not JSON (the run still loads). */
function optionalJson<T, K extends string = string>(key: K, text: string | null | undefined): Partial<Record<K, T>> {
  const value = text ? storedJson<T | null>(text, null) : null;
  return value === null ? {} : ({ [key]: value } as Partial<Record<K, T>>);
}

export const runFromRow = (row: RunRow): Run => {
  const { config, error: configError } = parseStoredConfig(row.config_json);
  return {
    id: row.id,
    projectId: row.project_id,
    datasetId: row.dataset_id,
    datasetName: row.dataset_name,
    name: row.name,
    config,
    ...(configError !== undefined ? { configError } : {}),
    status: row.status,
    backend: row.backend,
    backendNotes: storedJson<string[]>(row.backend_notes_json, []),
    ...optionalJson<GpuAdapterInfo>('backendAdapter', row.backend_adapter_json),
    error: row.error_json ? storedJson<ApiErrorShape | null>(row.error_json, null) : null,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    epochsDone: row.epochs_done,
    lastStep: row.last_step,
    summary: storedJson<Record<string, number>>(row.summary_json, {}),
    notes: row.notes,
    tags: storedJson<string[]>(row.tags_json, []),
    ...optionalJson<ImportedModel>('imported', row.imported_json),
    ...(row.sweep_id !== null && row.sweep_id !== undefined ? { sweepId: row.sweep_id } : {}),
    ...optionalJson<RunWait>('waiting', row.waiting_json),
  };
};

/**
 * The run's settings, for anything that builds its model (train, resume, evaluate,
 * export, explore, score): refused, naming the run and why, where they cannot be read —
 * the defaults standing in for them would build a different model.
 */
export function readableConfig(run: Run): Run['config'] {
  if (run.configError !== undefined) {
    throw new ApiError(
      'invalid_input',
      `Run ${run.id} "${run.name}": settings unreadable: ${run.configError}. Its metrics and images are kept; start a new run with the settings you meant, or delete this one.`,
      { field: 'runId' },
    );
  }
  return run.config;
}

/** A remote run no worker is connected to (null: a worker took it, or it ended). */
export function setRunWaiting(db: Db, id: number, wait: RunWait | null): void {
  db.prepare('UPDATE runs SET waiting_json = ? WHERE id = ?').run(wait === null ? null : JSON.stringify(wait), id);
}

export function updateRunDetails(db: Db, id: number, changes: { name?: string; notes?: string; tags?: string[] }): void {
  db.prepare(
    `UPDATE runs SET name = COALESCE(?, name), notes = COALESCE(?, notes), tags_json = COALESCE(?, tags_json) WHERE id = ?`,
  ).run(changes.name ?? null, changes.notes ?? null, changes.tags ? JSON.stringify([...new Set(changes.tags)]) : null, id);
}

export function listRuns(db: Db, projectId?: number): Run[] {
  const rows = (
    projectId === undefined
      ? db.prepare(`${SELECT} ORDER BY r.id DESC`).all()
      : db.prepare(`${SELECT} WHERE r.project_id = ? ORDER BY r.id DESC`).all(projectId)
  ) as RunRow[];
  return rows.map(runFromRow);
}

export function getRun(db: Db, id: number): Run | undefined {
  const row = db.prepare(`${SELECT} WHERE r.id = ?`).get(id) as RunRow | undefined;
  return row && runFromRow(row);
}

export function runsWithStatus(db: Db, statuses: readonly RunStatus[]): Run[] {
  const marks = statuses.map(() => '?').join(',');
  return (db.prepare(`${SELECT} WHERE r.status IN (${marks}) ORDER BY r.id`).all(...statuses) as RunRow[]).map(runFromRow);
}

/** A sweep's trial runs, oldest first. */
export function runsOfSweep(db: Db, sweepId: number): Run[] {
  return (db.prepare(`${SELECT} WHERE r.sweep_id = ? ORDER BY r.id`).all(sweepId) as RunRow[]).map(runFromRow);
}

/** A sweep trial as the scheduler and the sweep's page read it, without validating its config again (many rows, often). */
export interface TrialRow {
  id: number;
  name: string;
  status: RunStatus;
  epochsDone: number;
  /** The stored config as written (every setting written out by newRunConfig). */
  config: Record<string, unknown>;
}

/** A sweep's trials, oldest first (one page of them with `page`); a config that is not JSON reads as empty. */
export function trialRowsOfSweep(db: Db, sweepId: number, page?: { offset: number; limit: number }): TrialRow[] {
  const rows = db
    .prepare(`SELECT id, name, status, epochs_done, config_json FROM runs WHERE sweep_id = ? ORDER BY id LIMIT ? OFFSET ?`)
    .all(sweepId, page?.limit ?? -1, page?.offset ?? 0) as {
    id: number;
    name: string;
    status: RunStatus;
    epochs_done: number;
    config_json: string;
  }[];
  return rows.map((r) => ({ id: r.id, name: r.name, status: r.status, epochsDone: r.epochs_done, config: storedJson<Record<string, unknown>>(r.config_json, {}) }));
}

/** The statuses of a sweep's trials, oldest first (what pause, resume and cancel act on), without their configs. */
export function trialStatusesOfSweep(db: Db, sweepId: number): { id: number; status: RunStatus }[] {
  return db.prepare('SELECT id, status FROM runs WHERE sweep_id = ? ORDER BY id').all(sweepId) as { id: number; status: RunStatus }[];
}

/** A sweep's trials that wait for a worker to connect (remote runs), by run id; none in a workspace from before migration 13. */
export function waitingTrialsOfSweep(db: Db, sweepId: number): Map<number, RunWait> {
  let rows: { id: number; waiting_json: string }[];
  try {
    rows = db.prepare('SELECT id, waiting_json FROM runs WHERE sweep_id = ? AND waiting_json IS NOT NULL').all(sweepId) as typeof rows;
  } catch {
    return new Map(); // a workspace opened read-only that predates the column
  }
  const waits = new Map<number, RunWait>();
  for (const row of rows) {
    const wait = storedJson<RunWait | null>(row.waiting_json, null);
    if (wait) waits.set(row.id, wait);
  }
  return waits;
}

/** How many of a sweep's trials are queued, running or paused (the scheduler's count, on every trial's change). */
export function activeTrialCount(db: Db, sweepId: number): number {
  return db.prepare(`SELECT COUNT(*) FROM runs WHERE sweep_id = ? AND status IN ('queued', 'running', 'paused')`).pluck().get(sweepId) as number;
}

export interface NewRun {
  projectId: number;
  datasetId: number;
  name: string;
  configJson: string;
  /** The sweep it is a trial of. */
  sweepId?: number;
}

export function insertRun(db: Db, run: NewRun, now: string): Run {
  const info = db
    .prepare(
      `INSERT INTO runs (project_id, dataset_id, name, config_json, status, created_at, sweep_id)
       VALUES (?, ?, ?, ?, 'queued', ?, ?)`,
    )
    .run(run.projectId, run.datasetId, run.name, run.configJson, now, run.sweepId ?? null);
  return getRun(db, Number(info.lastInsertRowid))!;
}

export function countRunsInProject(db: Db, projectId: number): number {
  return (db.prepare('SELECT COUNT(*) AS n FROM runs WHERE project_id = ?').get(projectId) as { n: number }).n;
}

export function markRunStarted(db: Db, id: number, pid: number | null, now: string): void {
  db.prepare(`UPDATE runs SET status = 'running', started_at = ?, worker_pid = ?, waiting_json = NULL WHERE id = ?`).run(now, pid, id);
}

export function setRunBackend(db: Db, id: number, backend: string, notes: string[], adapter?: GpuAdapterInfo): void {
  db.prepare('UPDATE runs SET backend = ?, backend_notes_json = ?, backend_adapter_json = ? WHERE id = ?').run(
    backend,
    JSON.stringify(notes),
    adapter === undefined ? null : JSON.stringify(adapter),
    id,
  );
}

export function recordEpoch(db: Db, id: number, epoch: number, step: number, summary: Record<string, number>): void {
  db.prepare(
    `UPDATE runs SET epochs_done = MAX(epochs_done, ?), last_step = MAX(last_step, ?),
       summary_json = json_patch(summary_json, ?) WHERE id = ?`,
  ).run(epoch, step, JSON.stringify(summary), id);
}

export function finishRun(
  db: Db,
  id: number,
  status: RunStatus,
  now: string,
  error: ApiErrorShape | null,
  summary: Record<string, number> = {},
): void {
  db.prepare(
    `UPDATE runs SET status = ?, finished_at = ?, error_json = ?, worker_pid = NULL, waiting_json = NULL,
       summary_json = json_patch(summary_json, ?) WHERE id = ?`,
  ).run(status, now, error ? JSON.stringify(error) : null, JSON.stringify(summary), id);
}

/** Merge figures into the run's summary (e.g. an on-demand evaluation's test_nll). */
export function patchRunSummary(db: Db, id: number, summary: Record<string, number>): void {
  db.prepare('UPDATE runs SET summary_json = json_patch(summary_json, ?) WHERE id = ?').run(JSON.stringify(summary), id);
}

/** Paused ⇄ running while the worker lives; only a run in one of the two changes. */
export function setRunPaused(db: Db, id: number, paused: boolean): void {
  db.prepare(`UPDATE runs SET status = ? WHERE id = ? AND status IN ('running', 'paused')`).run(paused ? 'paused' : 'running', id);
}

/**
 * Put an ended run back in the queue to continue from a checkpoint at `step` (0 =
 * from scratch): what was recorded after that point is dropped, since the resumed
 * run recomputes it. Returns the blob hashes of the artifacts dropped.
 */
export function requeueRun(db: Db, id: number, resume: { epoch: number; step: number }): string[] {
  return db.transaction(() => {
    const dropped = db
      .prepare('SELECT blob_hash FROM artifacts WHERE run_id = ? AND epoch > ?')
      .pluck()
      .all(id, resume.epoch) as string[];
    db.prepare('DELETE FROM artifacts WHERE run_id = ? AND epoch > ?').run(id, resume.epoch);
    db.prepare('DELETE FROM metrics WHERE run_id = ? AND step > ?').run(id, resume.step);
    db.prepare(
      `UPDATE runs SET status = 'queued', finished_at = NULL, error_json = NULL, worker_pid = NULL, waiting_json = NULL,
         epochs_done = ?, last_step = ? WHERE id = ?`,
    ).run(resume.epoch, resume.step, id);
    return dropped;
  })();
}

export function deleteRunRow(db: Db, id: number): void {
  db.prepare('DELETE FROM runs WHERE id = ?').run(id);
}
