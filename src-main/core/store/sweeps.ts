import { runConfigSchema } from '@shared/config';
import type { ApiErrorShape } from '@shared/errors';
import { sweepRequestSchema, type StoredPlanEntry, type Sweep, type SweepStatus, type SweepTrial } from '@shared/sweep';
import { parseSweep } from '@shared/sweep';
import type { Db } from './db';
import { trialRowsOfSweep, waitingTrialsOfSweep, type TrialRow } from './runs';

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
}

const toRecord = (row: SweepRow): SweepRecord => ({
  id: row.id,
  projectId: row.project_id,
  datasetId: row.dataset_id,
  datasetName: row.dataset_name,
  name: row.name,
  status: row.status,
  request: sweepRequestSchema.parse(JSON.parse(row.request_json)),
  baseConfig: runConfigSchema.parse(JSON.parse(row.base_config_json)),
  plan: JSON.parse(row.plan_json) as StoredPlanEntry[],
  dispatched: row.dispatched,
  stopped: JSON.parse(row.stopped_json) as Record<string, string>,
  held: JSON.parse(row.held_json) as number[],
  error: row.error_json ? (JSON.parse(row.error_json) as ApiErrorShape) : null,
  createdAt: row.created_at,
  finishedAt: row.finished_at,
});

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

/**
 * Each trial's validation loss per epoch (the lowest point of an epoch), for early
 * stopping and the trials table: run id → [epoch, loss] in epoch order.
 */
export function sweepValLosses(db: Db, id: number): Map<number, [epoch: number, loss: number][]> {
  const rows = db
    .prepare(
      `SELECT m.run_id AS runId, m.epoch AS epoch, MIN(m.value) AS loss FROM metrics m
       WHERE m.run_id IN (SELECT id FROM runs WHERE sweep_id = ?) AND m.name = 'val_loss'
       GROUP BY m.run_id, m.epoch ORDER BY m.run_id, m.epoch`,
    )
    .all(id) as { runId: number; epoch: number; loss: number }[];
  const curves = new Map<number, [number, number][]>();
  for (const row of rows) {
    const curve = curves.get(row.runId) ?? [];
    curve.push([row.epoch, row.loss]);
    curves.set(row.runId, curve);
  }
  return curves;
}

const ACTIVE = new Set(['queued', 'running', 'paused']);

/** The sweep as the API answers it, with its trials' counts and best trial. */
export function sweepView(db: Db, record: SweepRecord, runs: TrialRow[] = trialRowsOfSweep(db, record.id)): { sweep: Sweep; trials: SweepTrial[] } {
  const spec = parseSweep(record.request);
  const base = record.baseConfig;
  const curves = sweepValLosses(db, record.id);
  const waits = waitingTrialsOfSweep(db, record.id);
  const trials: SweepTrial[] = runs.map((run) => {
    const curve = curves.get(run.id);
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
      bestValLoss: curve ? Math.min(...curve.map(([, loss]) => loss)) : null,
      stoppedEarly: record.stopped[String(run.id)] ?? null,
      ...(waiting && { waiting }),
    };
  });
  const counts = { active: 0, finished: 0, stopped: 0, ended: 0 };
  let best: Sweep['best'] = null;
  for (const trial of trials) {
    if (ACTIVE.has(trial.status)) counts.active++;
    else if (trial.stoppedEarly !== null) counts.stopped++;
    else if (trial.status === 'finished') counts.finished++;
    else counts.ended++;
    if (trial.status === 'finished' && trial.stoppedEarly === null && trial.bestValLoss !== null && (best === null || trial.bestValLoss < best.valLoss)) {
      best = { runId: trial.runId, name: trial.name, valLoss: trial.bestValLoss };
    }
  }
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
    plannedRuns: record.plan.length,
    dispatched: record.dispatched,
    counts,
    best,
    error: record.error,
    createdAt: record.createdAt,
    finishedAt: record.finishedAt,
  };
  return { sweep, trials };
}
