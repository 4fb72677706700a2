import type { MetricPoint } from '@shared/types';
import type { Db } from './db';

/** Appends points in one transaction; a re-sent step overwrites (resume never duplicates). */
export function insertMetrics(db: Db, runId: number, points: readonly MetricPoint[]): void {
  if (points.length === 0) return;
  const insert = db.prepare(
    `INSERT INTO metrics (run_id, name, step, epoch, value, t_ms) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (run_id, name, step) DO UPDATE SET epoch = excluded.epoch, value = excluded.value, t_ms = excluded.t_ms`,
  );
  db.transaction(() => {
    for (const p of points) {
      // SQLite would store NaN as NULL; the worker reports non-finite losses as errors instead.
      if (!Number.isFinite(p.value)) continue;
      insert.run(runId, p.name, p.step, p.epoch, p.value, Math.round(p.t));
    }
  })();
}

interface MetricRow {
  name: string;
  step: number;
  epoch: number;
  value: number;
  t_ms: number;
}

export function readMetrics(db: Db, runId: number, names?: readonly string[], afterStep = -1): MetricPoint[] {
  const byName = names && names.length > 0;
  const sql = `SELECT name, step, epoch, value, t_ms FROM metrics WHERE run_id = ? AND step > ?
    ${byName ? `AND name IN (${names.map(() => '?').join(',')})` : ''} ORDER BY step, name`;
  const rows = db.prepare(sql).all(runId, afterStep, ...(byName ? names : [])) as MetricRow[];
  return rows.map((r) => ({ name: r.name, step: r.step, epoch: r.epoch, value: r.value, t: r.t_ms }));
}
