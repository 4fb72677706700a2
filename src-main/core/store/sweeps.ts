import { runConfigSchema } from '@shared/config';
import type { ApiErrorShape } from '@shared/errors';
import { sweepRequestSchema, type StoredPlanEntry, type Sweep, type SweepSpec, type SweepStatus, type SweepTrial } from '@shared/sweep';
import { parseSweep } from '@shared/sweep';
import type { Db } from './db';
import { configProblem, trialRowsOfSweep, waitingTrialsOfSweep } from './runs';

interface SweepRow {
  id: number;
  project_id: number;
  dataset_id: number;
  dataset_name: string;
  name: string;
  status: SweepStatus;
  request_json: string;
  base_config_json: string;
  plan_json: string;
  dispatched: number;
  stopped_json: string;
  held_json: string;
  error_json: string | null;
  created_at: string;
  finished_at: string | null;
}

const SELECT = `SELECT s.*, d.name AS dataset_name FROM sweeps s JOIN datasets d ON d.id = s.dataset_id`;

/** What the scheduler reads of a sweep: its row, parsed. */
export interface SweepRecord {
  id: number;
  projectId: number;
  datasetId: number;
  datasetName: string;
  name: string;
  status: SweepStatus;
  request: Sweep['request'];
  baseConfig: Sweep['baseConfig'];
  plan: StoredPlanEntry[];
  dispatched: number;
  /** Run id → why early stopping ended it. */
  stopped: Record<string, string>;
  /** Runs a pause took out of the queue: resume puts them back. */
  held: number[];
  error: ApiErrorShape | null;
  createdAt: string;
  finishedAt: string | null;
  /** Why the stored definition cannot be read (then request, baseConfig and plan are empty stand-ins). */
  unreadable?: string;
}

const toRecord = (row: SweepRow): SweepRecord => {
  const known = {
    id: row.id,
    projectId: row.project_id,
    datasetId: row.dataset_id,
    datasetName: row.dataset_name,
    name: row.name,
    status: row.status,
    dispatched: row.dispatched,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
  try {
    return {
      ...known,
      request: sweepRequestSchema.parse(JSON.parse(row.request_json)),
      baseConfig: runConfigSchema.parse(JSON.parse(row.base_config_json)),
      plan: JSON.parse(row.plan_json) as StoredPlanEntry[],
      stopped: JSON.parse(row.stopped_json) as Record<string, string>,
      held: JSON.parse(row.held_json) as number[],
      error: row.error_json ? (JSON.parse(row.error_json) as ApiErrorShape) : null,
    };
  } catch (error) {
    // Edited by hand, a bad disk, or a limit tightened since: the sweep is listed with its
    // trials and says why; it plans, queues and resumes nothing (its trials stay as they are).
    const unreadable = `Sweep ${row.id} "${row.name}": settings unreadable: ${configProblem(error)}. Its trials are kept; cancel it, or start a new sweep with the settings you meant.`;
    return {
      ...known,
      request: sweepRequestSchema.parse({}),
      baseConfig: runConfigSchema.parse({}),
      plan: [],
      stopped: {},
      held: [],
      error: { code: 'invalid_input', message: unreadable },
      unreadable,
    };
  }
};

export interface NewSweep {
  projectId: number;
  datasetId: number;
  name: string;
  requestJson: string;
  baseConfigJson: string;
  plan: StoredPlanEntry[];
}

export function insertSweep(db: Db, sweep: NewSweep, now: string): number {
  const info = db
    .prepare(
      `INSERT INTO sweeps (project_id, dataset_id, name, status, request_json, base_config_json, plan_json, created_at)
       VALUES (?, ?, ?, 'running', ?, ?, ?, ?)`,
    )
    .run(sweep.projectId, sweep.datasetId, sweep.name, sweep.requestJson, sweep.baseConfigJson, JSON.stringify(sweep.plan), now);
  return Number(info.lastInsertRowid);
}

export function getSweepRecord(db: Db, id: number): SweepRecord | undefined {
  const row = db.prepare(`${SELECT} WHERE s.id = ?`).get(id) as SweepRow | undefined;
  return row && toRecord(row);
}

export function sweepIds(db: Db, options: { projectId?: number; status?: SweepStatus } = {}): number[] {
  return db
    .prepare(`SELECT id FROM sweeps WHERE (@project IS NULL OR project_id = @project) AND (@status IS NULL OR status = @status) ORDER BY id DESC`)
    .pluck()
    .all({ project: options.projectId ?? null, status: options.status ?? null }) as number[];
}

export function countSweepsInProject(db: Db, projectId: number): number {
  return db.prepare('SELECT COUNT(*) FROM sweeps WHERE project_id = ?').pluck().get(projectId) as number;
}

export function setSweepStatus(db: Db, id: number, status: SweepStatus, now: string | null, error: ApiErrorShape | null = null): void {
  db.prepare('UPDATE sweeps SET status = ?, finished_at = ?, error_json = ? WHERE id = ?').run(status, now, error ? JSON.stringify(error) : null, id);
}

/** One more of the plan was queued (in the same transaction as its run's insert). */
export function countDispatched(db: Db, id: number): void {
  db.prepare('UPDATE sweeps SET dispatched = dispatched + 1 WHERE id = ?').run(id);
}

export function recordStoppedEarly(db: Db, id: number, runId: number, reason: string): void {
  db.prepare(`UPDATE sweeps SET stopped_json = json_set(stopped_json, '$."' || ? || '"', ?) WHERE id = ?`).run(String(runId), reason, id);
}

export function setHeld(db: Db, id: number, runIds: number[]): void {
  db.prepare('UPDATE sweeps SET held_json = ? WHERE id = ?').run(JSON.stringify(runIds), id);
}

/** `json_each` of a sweep's stopped map gives its keys: the run ids early stopping ended. */
const STOPPED_IDS = `SELECT CAST(key AS INTEGER) FROM json_each(?)`;

/**
 * Each listed trial's lowest validation loss: one seek per trial in the partial index
 * metrics_val_loss_by_value (migration 12), not its whole curve.
 */
function bestValLosses(db: Db, runIds: readonly number[]): Map<number, number> {
  const rows = db
    .prepare(
      `SELECT r.value AS runId, (SELECT MIN(m.value) FROM metrics m WHERE m.run_id = r.value AND m.name = 'val_loss') AS loss
       FROM json_each(?) r`,
    )
    .all(JSON.stringify(runIds)) as { runId: number; loss: number | null }[];
  return new Map(rows.flatMap((row) => (row.loss === null ? [] : [[row.runId, row.loss] as [number, number]])));
}

/**
 * What early stopping compares at epoch `e`: for each trial that reported a validation
 * loss at `e` or later (with `finishedOnly`, each finished one), its lowest by `e`. Reads
 * at most `e` points of a trial (the partial index metrics_val_loss_by_epoch), never
 * its whole curve, and no configs.
 */
export function sweepBestsAt(db: Db, sweepId: number, e: number, finishedOnly: boolean): { runId: number; status: string; best: number }[] {
  return db
    .prepare(
      `SELECT r.id AS runId, r.status AS status,
         (SELECT MIN(m.value) FROM metrics m WHERE m.run_id = r.id AND m.name = 'val_loss' AND m.epoch <= @e) AS best
       FROM runs r
       WHERE r.sweep_id = @sweep AND (@finished = 0 OR r.status = 'finished')
         AND EXISTS (SELECT 1 FROM metrics m WHERE m.run_id = r.id AND m.name = 'val_loss' AND m.epoch >= @e)`,
    )
    .all({ sweep: sweepId, e, finished: finishedOnly ? 1 : 0 }) as { runId: number; status: string; best: number }[];
}

/** A trial's validation loss per epoch (the lowest point of an epoch), [epoch, loss] in epoch order. */
export function trialValLosses(db: Db, runId: number): [epoch: number, loss: number][] {
  const rows = db
    .prepare(`SELECT epoch, MIN(value) AS loss FROM metrics WHERE run_id = ? AND name = 'val_loss' GROUP BY epoch ORDER BY epoch`)
    .all(runId) as { epoch: number; loss: number }[];
  return rows.map((row) => [row.epoch, row.loss]);
}

/** Trials a sweep's page lists at most (sweeps.get pages them). */
export interface TrialPage {
  offset: number;
  limit: number;
}


/**
 * The sweep as the API answers it: its counts and best trial over every trial (in SQL,
 * one index seek per finished trial), and one page of its trials (none for a list of
 * sweeps) — at 10 000 trials the answer stays small and quick.
 */
export function sweepView(
  db: Db,
  record: SweepRecord,
  page: TrialPage = { offset: 0, limit: 0 },
): { sweep: Sweep; trials: SweepTrial[]; offset: number; totalTrials: number } {
  const spec: Omit<SweepSpec, 'sweepSeed'> = record.unreadable
    ? { dimensions: [], trials: 0, seeds: 1, concurrency: 0, earlyStop: null }
    : parseSweep(record.request);
  const base = record.baseConfig;
  const stoppedIds = JSON.stringify(record.stopped);
  const runs = page.limit > 0 ? trialRowsOfSweep(db, record.id, page) : [];
  const bests = bestValLosses(db, runs.map((run) => run.id));
  const waits = waitingTrialsOfSweep(db, record.id);
  const trials: SweepTrial[] = runs.map((run) => {
    const waiting = waits.get(run.id);
    const settings = Object.fromEntries(spec.dimensions.map((d) => [d.setting, run.config[d.setting] as number | string]));
    return {
      runId: run.id,
      name: run.name,
      status: run.status,
      settings,
      seed: Number(run.config['seed'] ?? base.seed),
      epochsDone: run.epochsDone,
      epochs: Number(run.config['epochs'] ?? base.epochs),
      bestValLoss: bests.get(run.id) ?? null,
      stoppedEarly: record.stopped[String(run.id)] ?? null,
      ...(waiting && { waiting }),
    };
  });
  const totals = db
    .prepare(
      `SELECT COUNT(*) AS total,
         COALESCE(SUM(status IN ('queued', 'running', 'paused')), 0) AS active,
         COALESCE(SUM(status NOT IN ('queued', 'running', 'paused') AND stopped), 0) AS stopped,
         COALESCE(SUM(status = 'finished' AND NOT stopped), 0) AS finished
       FROM (SELECT status, id IN (${STOPPED_IDS}) AS stopped FROM runs WHERE sweep_id = ?)`,
    )
    .get(stoppedIds, record.id) as { total: number; active: number; stopped: number; finished: number };
  const counts = { active: totals.active, finished: totals.finished, stopped: totals.stopped, ended: totals.total - totals.active - totals.stopped - totals.finished };
  const bestRow = db
    .prepare(
      `SELECT runId, name, loss FROM (
         SELECT r.id AS runId, r.name AS name, (SELECT MIN(m.value) FROM metrics m WHERE m.run_id = r.id AND m.name = 'val_loss') AS loss
         FROM runs r WHERE r.sweep_id = ? AND r.status = 'finished' AND r.id NOT IN (${STOPPED_IDS}))
       WHERE loss IS NOT NULL ORDER BY loss, runId LIMIT 1`,
    )
    .get(record.id, stoppedIds) as { runId: number; name: string; loss: number } | undefined;
  const best: Sweep['best'] = bestRow ? { runId: bestRow.runId, name: bestRow.name, valLoss: bestRow.loss } : null;
  const sweep: Sweep = {
    id: record.id,
    projectId: record.projectId,
    datasetId: record.datasetId,
    datasetName: record.datasetName,
    name: record.name,
    status: record.status,
    request: record.request,
    baseConfig: record.baseConfig,
    settings: spec.dimensions.map((d) => d.setting),
    trials: spec.trials,
    seeds: spec.seeds,
    concurrency: spec.concurrency,
    earlyStop: spec.earlyStop,
    plannedRuns: record.unreadable ? totals.total : record.plan.length,
    dispatched: record.dispatched,
    counts,
    best,
    error: record.error,
    createdAt: record.createdAt,
    finishedAt: record.finishedAt,
    ...(record.unreadable !== undefined && { unreadable: true as const }),
  };
  return { sweep, trials, offset: page.offset, totalTrials: totals.total };
}
