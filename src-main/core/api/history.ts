import { ApiError } from '@shared/errors';
import { FILTER_KEYS, filterKey, FilterSyntaxError, parseRunFilter, type RunFilter } from '@shared/run-filter';
import type { Run } from '@shared/types';
import { groupRuns, queryRuns, runPoints } from '../store/run-query';
import { settingImportance } from './importance';
import type { Context, HandlerMap } from './context';

type HistoryRequests = 'runs.query' | 'runs.groups' | 'runs.points' | 'runs.importance' | 'runs.csv';

/** The filter as typed, parsed; a term that does not parse is refused naming it. */
export function parseFilterField(text: string): RunFilter {
  try {
    return parseRunFilter(text);
  } catch (error) {
    if (error instanceof FilterSyntaxError) {
      throw new ApiError('invalid_input', `Filter ${error.message}`, { field: 'filter', token: error.token, start: error.start, end: error.end });
    }
    throw error;
  }
}

/** Runs read for importance: enough for a stable forest, few enough to answer in well under a second. */
const IMPORTANCE_RUNS = 1000;
const CSV_MAX_ROWS = 100_000;

/** Setting keys with a number or a choice (what a plot axis or a forest can read). */
const settingAxes = (): string[] =>
  Object.entries(FILTER_KEYS)
    .filter(([, spec]) => 'config' in spec.source && spec.type !== 'text')
    .map(([key]) => key);

export function historyHandlers(ctx: Context): HandlerMap<HistoryRequests> {
  const { db } = ctx.workspace;
  return {
    'runs.query': async ({ projectId, filter, sort, descending, offset, limit }) => {
      const page = queryRuns(db, { projectId, filter: parseFilterField(filter), sort, descending, offset, limit });
      return { runs: page.runs.map((run) => ctx.runs.view(run)), total: page.total, offset };
    },
    'runs.groups': async ({ projectId, filter, by, metrics, limit }) => ({
      ...groupRuns(db, { projectId, filter: parseFilterField(filter), by, metrics, limit }),
      by,
    }),
    'runs.points': async ({ projectId, filter, keys, limit }) => runPoints(db, { projectId, filter: parseFilterField(filter), keys, limit }),
    'runs.importance': async ({ projectId, filter, metric }) => {
      const spec = filterKey(metric);
      if (!spec || !('metric' in spec.source)) {
        throw new ApiError('invalid_input', `"${metric}" is not a metric; name one such as val_loss, loss or metric.NAME.`, { field: 'metric' });
      }
      const keys = settingAxes();
      const points = runPoints(db, { projectId, filter: parseFilterField(filter), keys: [...keys, metric], limit: IMPORTANCE_RUNS });
      const rows = points.values.filter((row) => row[keys.length] !== null);
      const y = rows.map((row) => row[keys.length]!);
      // Settings that vary over these runs; a missing optional setting reads as its column's mean.
      const varying = keys
        .map((key, j) => ({ key, j, values: rows.map((row) => row[j]!).filter((v) => v !== null) }))
        .filter(({ values }) => values.length > 0 && values.some((v) => v !== values[0]));
      const X = rows.map((row) =>
        varying.map(({ j, values }) => row[j] ?? values.reduce((a, b) => a + b, 0) / values.length),
      );
      const settings = varying.length > 0 && rows.length > 0 ? settingImportance(varying.map((v) => v.key), X, y) : [];
      settings.sort((a, b) => b.importance - a.importance || Math.abs(b.spearman ?? 0) - Math.abs(a.spearman ?? 0));
      return { metric, runs: rows.length, settings };
    },
    'runs.csv': async ({ projectId, filter, sort, descending }) => {
      const { runs, total } = queryRuns(db, { projectId, filter: parseFilterField(filter), sort, descending, offset: 0, limit: CSV_MAX_ROWS });
      if (total > CSV_MAX_ROWS) {
        throw new ApiError('invalid_input', `${total} runs match; a CSV holds at most ${CSV_MAX_ROWS}. Narrow the filter.`, { field: 'filter' });
      }
      return { filename: 'runs.csv', csv: runsCsv(runs), rows: runs.length };
    },
  };
}

/**
 * RFC 4180 CSV; a text cell that a spreadsheet would run as a formula (= + - @, tab or
 * CR first) gets a leading apostrophe, so a run named "=HYPERLINK(…)" stays text.
 */
export function runsCsv(runs: readonly Run[]): string {
  const settings = Object.keys(FILTER_KEYS).filter((key) => 'config' in FILTER_KEYS[key]!.source);
  const metrics = [...new Set(runs.flatMap((run) => Object.keys(run.summary)))].sort();
  // A run whose settings cannot be read has empty setting cells and says why in a last column.
  const unreadable = runs.some((run) => run.configError !== undefined);
  const header = ['id', 'name', 'dataset', 'status', 'created', 'epochsDone', 'tags', ...settings, ...metrics, ...(unreadable ? ['settingsError'] : [])];
  const text = (value: string): string => (/^[=+\-@\t\r]/.test(value) ? `'${value}` : value);
  const cell = (value: unknown): string => {
    if (value === undefined || value === null) return '';
    const raw = typeof value === 'number' ? String(value) : text(String(value));
    return /[",\r\n]/.test(raw) ? `"${raw.replace(/"/g, '""')}"` : raw;
  };
  const lines = [header.join(',')];
  for (const run of runs) {
    const config = (run.configError === undefined ? run.config : {}) as Record<string, unknown>;
    lines.push(
      [
        run.id,
        run.name,
        run.datasetName,
        run.status,
        run.createdAt,
        run.epochsDone,
        run.tags.join(' '),
        ...settings.map((key) => config[key]),
        ...metrics.map((metric) => run.summary[metric]),
        ...(unreadable ? [run.configError === undefined ? '' : `settings unreadable: ${run.configError}`] : []),
      ]
        .map(cell)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
