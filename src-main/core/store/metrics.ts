import type { MetricColumns, MetricCursor, MetricPage, MetricPoint } from '@shared/types';
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

/**
 * One page of a run's stored points, column by column: at most `limit` points after
 * step `afterStep`, in the table's own order (name, then step: the primary key, so
 * SQLite reads the index in order and sorts nothing), from `after` on. A long run's
 * history comes as several such pages, each a short read, so the core answers other
 * requests between them and the window draws between them; numbers in columns cost a
 * fraction of the objects (and their JSON) one per point would.
 */
export function readMetricPage(
  db: Db,
  runId: number,
  options: { names?: readonly string[]; afterStep?: number; after?: MetricCursor; limit: number },
): MetricPage {
  const names = options.names && options.names.length > 0 ? options.names : null;
  const after = options.after ?? null;
  const sql = `SELECT name, step, epoch, value, t_ms FROM metrics WHERE run_id = ? AND step > ?
    ${names ? `AND name IN (${names.map(() => '?').join(',')})` : ''}
    ${after ? 'AND (name, step) > (?, ?)' : ''}
    ORDER BY name, step LIMIT ?`;
  const params: unknown[] = [runId, options.afterStep ?? -1, ...(names ?? []), ...(after ? [after.name, after.step] : []), options.limit];
  const rows = db.prepare(sql).raw(true).all(...params) as [string, number, number, number, number][];
  const series: MetricColumns[] = [];
  let current: MetricColumns | null = null;
  for (const [name, step, epoch, value, t] of rows) {
    if (current === null || current.name !== name) {
      current = { name, step: [], epoch: [], value: [], t: [] };
      series.push(current);
    }
    current.step.push(step);
    current.epoch.push(epoch);
    current.value.push(value);
    current.t.push(t);
  }
  const last = rows.at(-1);
  return { series, next: rows.length === options.limit && last ? { name: last[0], step: last[1] } : null };
}
