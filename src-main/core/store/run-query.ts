import { filterKey, type FilterKey, type RunFilter } from '@shared/run-filter';
import { ApiError } from '@shared/errors';
import type { Db } from './db';
import { FACET_METRICS_V12, FACET_SETTINGS_V12 } from './migrations';
import { runFromRow, RUN_SELECT, type RunRow } from './runs';
import type { Run } from '@shared/types';
import type { MetricStats, RunGroup, RunPoints } from '@shared/api';

/**
 * The runs history in SQL: a parsed filter (@shared/run-filter) becomes a WHERE clause over
 * the run's columns, tags, final metrics and config JSON. Every value a person typed is a
 * bound parameter; what is written into the SQL text comes from FILTER_KEYS (setting
 * names checked against IDENT below) and never from the request.
 */

const IDENT = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * The history reads run_facets (f, migration 9: the filtered columns, config and summary
 * as JSONB, kept in step with runs by triggers); anything else comes from the run row (r,
 * joined only when a query names it): a key whose column is not listed here reads the run
 * row's column of that name, so after sweeps `sweep: { type: 'number', label: 'Sweep',
 * source: { column: 'sweep_id' } }` in FILTER_KEYS is the whole change.
 */
const COLUMNS: Record<string, string> = {
  id: 'f.run_id',
  name: 'f.name',
  dataset: 'd.name',
  datasetId: 'f.dataset_id',
  status: 'f.status',
  notes: 'r.notes',
  created: 'f.created_at',
  epochsDone: 'f.epochs_done',
  importedFrom: "json_extract(r.imported_json, '$.source')",
};

/** The final metrics a grouping reports when none are asked for. */
export const GROUP_METRICS = ['loss', 'val_loss', 'test_nll', 'test_bpd'] as const;

/** Settings and metrics with a typed column in run_facets (migration 12); the rest are read from the JSON. */
const TYPED_SETTINGS: ReadonlySet<string> = new Set(FACET_SETTINGS_V12);
const TYPED_METRICS: ReadonlySet<string> = new Set(FACET_METRICS_V12);

interface Sql {
  text: string;
  params: unknown[];
}

/** The SQL expression of a key's value on a run row (NULL where a run has none). */
export function keyExpression(name: string, spec: FilterKey = requireKey(name, 'sort')): Sql {
  const source = spec.source;
  if ('config' in source) {
    if (!IDENT.test(source.config)) throw new Error(`setting name ${source.config} is not an identifier`);
    const extract = TYPED_SETTINGS.has(source.config) ? `f.s_${source.config}` : `json_extract(f.config, '$.${source.config}')`;
    // A stored config may predate a setting: it then has the schema's default. One that
    // cannot be read (config NULL) has no settings at all, not the defaults.
    if (source.fallback === null) return { text: extract, params: [] };
    return { text: `IIF(f.config IS NULL, NULL, COALESCE(${extract}, ?))`, params: [source.fallback] };
  }
  if ('column' in source) {
    // A column of its own here, or else the run row's column of that name (sweeps: `sweep_id`).
    const column = COLUMNS[source.column] ?? (IDENT.test(source.column) ? `r.${source.column}` : undefined);
    if (!column) throw new Error(`no column for key ${name}`);
    return { text: column, params: [] };
  }
  if ('metric' in source) {
    if (TYPED_METRICS.has(source.metric)) return { text: `f.m_${source.metric}`, params: [] };
    return { text: `json_extract(f.summary, ?)`, params: [`$."${source.metric}"`] };
  }
  throw new ApiError('invalid_input', `"${name}" cannot be sorted or grouped by; pick a setting, a column or a metric.`, { field: 'sort' });
}

function requireKey(name: string, field: string): FilterKey {
  const spec = filterKey(name);
  if (!spec) throw new ApiError('invalid_input', `"${name}" is not a run setting, column or metric; see the filter help for the keys.`, { field });
  return spec;
}

const COMPARE: Record<string, string> = { ':': '=', '=': '=', '!=': '!=', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

/** WHERE clause (without the keyword) of a project's runs matching every term of the filter. */
export function compileFilter(filter: RunFilter, projectId?: number): Sql {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (projectId !== undefined) {
    clauses.push('f.project_id = ?');
    params.push(projectId);
  }
  for (const term of filter.terms) {
    if (term.kind === 'text') {
      clauses.push(
        `(instr(lower(f.name), lower(?)) > 0 OR instr(lower(d.name), lower(?)) > 0 OR instr(f.status, lower(?)) > 0
          OR EXISTS (SELECT 1 FROM json_each(f.tags) t WHERE instr(lower(t.value), lower(?)) > 0))`,
      );
      params.push(term.value, term.value, term.value, term.value);
      continue;
    }
    const spec = filterKey(term.key)!;
    if ('tags' in spec.source) {
      const test = term.op === '~' || term.op === '!~' ? 'instr(lower(t.value), lower(?)) > 0' : 'lower(t.value) = lower(?)';
      const negate = term.op === '!=' || term.op === '!~';
      clauses.push(`${negate ? 'NOT ' : ''}EXISTS (SELECT 1 FROM json_each(f.tags) t WHERE ${test})`);
      params.push(term.value);
      continue;
    }
    const expr = keyExpression(term.key, spec);
    if (term.op === '~' || term.op === '!~') {
      clauses.push(`${term.op === '!~' ? 'NOT ' : ''}(instr(lower(${expr.text}), lower(?)) > 0)`);
      params.push(...expr.params, term.value);
    } else if (term.op === '!=') {
      // A run without the value (NULL) differs from it.
      clauses.push(`(${expr.text} IS NULL OR ${expr.text} != ?)`);
      params.push(...expr.params, ...expr.params, term.value);
    } else {
      clauses.push(`${expr.text} ${COMPARE[term.op]} ?`);
      params.push(...expr.params, term.value);
    }
  }
  return { text: clauses.length > 0 ? clauses.join(' AND ') : '1', params };
}

export interface RunPageQuery {
  projectId?: number;
  filter: RunFilter;
  sort: string;
  descending: boolean;
  offset: number;
  limit: number;
}

/** ORDER BY for a key: runs without a value last, ties by id (stable pages). */
function orderBy(sort: string, descending: boolean): Sql {
  const expr = keyExpression(sort, requireKey(sort, 'sort'));
  const direction = descending ? 'DESC' : 'ASC';
  // The id is never missing: its order is the table's own, no sort needed.
  if (sort === 'id') return { text: `f.run_id ${direction}`, params: [] };
  return { text: `(${expr.text}) IS NULL, ${expr.text} ${direction}, f.run_id ${direction}`, params: [...expr.params, ...expr.params] };
}

const FROM = 'FROM run_facets f JOIN datasets d ON d.id = f.dataset_id LEFT JOIN runs r ON r.id = f.run_id';

/** One page of matching runs, sorted, and how many match in all. */
export function queryRuns(db: Db, query: RunPageQuery): { runs: Run[]; total: number } {
  const where = compileFilter(query.filter, query.projectId);
  const order = orderBy(query.sort, query.descending);
  const total = (db.prepare(`SELECT COUNT(*) AS n ${FROM} WHERE ${where.text}`).get(...where.params) as { n: number }).n;
  // Sort the narrow rows, then read the page's full rows by id.
  const ids = db
    .prepare(`SELECT f.run_id ${FROM} WHERE ${where.text} ORDER BY ${order.text} LIMIT ? OFFSET ?`)
    .pluck()
    .all(...where.params, ...order.params, query.limit, query.offset) as number[];
  if (ids.length === 0) return { runs: [], total };
  const rows = db.prepare(`${RUN_SELECT} WHERE r.id IN (SELECT value FROM json_each(?))`).all(JSON.stringify(ids)) as RunRow[];
  const byId = new Map(rows.map((row) => [row.id, row]));
  return { runs: ids.flatMap((id) => (byId.has(id) ? [runFromRow(byId.get(id)!)] : [])), total };
}

/**
 * Matching runs grouped by one or more keys (e.g. every setting but the seed), with per
 * group the count and mean ± sd of each final metric: seeds of one configuration become
 * one row.
 */
export function groupRuns(
  db: Db,
  query: { projectId?: number; filter: RunFilter; by: string[]; metrics?: string[]; limit: number },
): { groups: RunGroup[]; total: number } {
  const where = compileFilter(query.filter, query.projectId);
  const keys = query.by.map((name) => keyExpression(name, requireKey(name, 'by')));
  const metricNames = query.metrics ?? [...GROUP_METRICS];
  for (const metric of metricNames) requireKey(filterKey(metric) ? metric : `metric.${metric}`, 'metrics');
  const select = keys.map((key, i) => `${key.text} AS g${i}`).join(', ');
  const metricSql = metricNames
    .map((_, i) => `COUNT(m${i}) AS n${i}, SUM(m${i}) AS s${i}, SUM(m${i} * m${i}) AS q${i}`)
    .join(', ');
  const metricExprs = metricNames.map((metric) => keyExpression(`metric.${metric}`, requireKey(`metric.${metric}`, 'metrics')));
  const inner = metricExprs.map((expr, i) => `${expr.text} AS m${i}`).join(', ');
  const groupCols = keys.map((_, i) => `g${i}`).join(', ');
  const sql = `
    SELECT ${groupCols}, COUNT(*) AS count, ${metricSql}, MAX(id) AS newest
    FROM (SELECT f.run_id AS id, ${select}${inner ? `, ${inner}` : ''} ${FROM} WHERE ${where.text})
    GROUP BY ${groupCols} ORDER BY count DESC, ${groupCols} LIMIT ?`;
  const params = [...keys.flatMap((key) => key.params), ...metricExprs.flatMap((expr) => expr.params), ...where.params, query.limit];
  const rows = db.prepare(sql).all(...params) as Record<string, number | string | null>[];
  // Fewer groups than the limit: they are all there, no second pass to count them.
  const total =
    rows.length < query.limit
      ? rows.length
      : (
          db.prepare(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM (SELECT ${select} ${FROM} WHERE ${where.text}) GROUP BY ${groupCols})`).get(
            ...keys.flatMap((key) => key.params),
            ...where.params,
          ) as { n: number }
        ).n;
  const groups = rows.map((row): RunGroup => {
    const metrics: Record<string, MetricStats> = {};
    metricNames.forEach((metric, i) => {
      const n = Number(row[`n${i}`] ?? 0);
      if (n === 0) return;
      const sum = Number(row[`s${i}`]);
      const squares = Number(row[`q${i}`]);
      const mean = sum / n;
      const variance = n > 1 ? Math.max(0, (squares - n * mean * mean) / (n - 1)) : null;
      metrics[metric] = { n, mean, sd: variance === null ? null : Math.sqrt(variance) };
    });
    return { values: keys.map((_, i) => row[`g${i}`] ?? null), count: Number(row['count']), metrics, newestRunId: Number(row['newest']) };
  });
  return { groups, total };
}

/**
 * Numeric values of `keys` for matching runs (enums as their choice's index), for the
 * parallel-coordinates plot and the importance panel; at most `limit` runs, spread evenly
 * over the matching set when there are more.
 */
export function runPoints(
  db: Db,
  query: { projectId?: number; filter: RunFilter; keys: string[]; limit: number },
): RunPoints {
  const where = compileFilter(query.filter, query.projectId);
  const exprs = query.keys.map((name) => {
    const spec = requireKey(name, 'keys');
    const expr = keyExpression(name, spec);
    if (spec.type === 'enum') {
      // The choice's index, so an enum setting has an axis too.
      const cases = spec.choices!.map((_, i) => `WHEN ? THEN ${i}`).join(' ');
      return { text: `CASE ${expr.text} ${cases} ELSE NULL END`, params: [...expr.params, ...spec.choices!] };
    }
    if (spec.type === 'text') throw new ApiError('invalid_input', `"${name}" is text; plot settings and metrics with numbers or choices.`, { field: 'keys' });
    return expr;
  });
  // The picked ids first (narrow), then the values of only those runs.
  const all = db.prepare(`SELECT f.run_id ${FROM} WHERE ${where.text} ORDER BY f.run_id`).pluck().all(...where.params) as number[];
  const total = all.length;
  const stride = total / query.limit;
  const picked = total <= query.limit ? all : Array.from({ length: query.limit }, (_, i) => all[Math.floor(i * stride)]!);
  const select = exprs.map((expr, i) => `${expr.text} AS v${i}`).join(', ');
  const rows = db
    .prepare(`SELECT f.run_id AS id, ${select} ${FROM} WHERE f.run_id IN (SELECT value FROM json_each(?)) ORDER BY f.run_id`)
    .all(...exprs.flatMap((expr) => expr.params), JSON.stringify(picked)) as Record<string, number | null>[];
  return {
    keys: query.keys,
    ids: rows.map((row) => Number(row['id'])),
    values: rows.map((row) => exprs.map((_, i) => (typeof row[`v${i}`] === 'number' ? (row[`v${i}`] as number) : null))),
    total,
  };
}
