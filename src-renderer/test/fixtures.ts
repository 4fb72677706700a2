import { defaultRunConfig, importSettingsSchema, type RunConfig } from '@shared/config';
import { METRIC_PAGE_POINTS, type ExploreInfo } from '@shared/api';
import type { Dataset, MetricColumns, MetricCursor, MetricPage, MetricPoint, Run } from '@shared/types';

/** A run record as the core answers it, with the schema's default config plus `config`. */
export function makeRun(patch: Partial<Omit<Run, 'config'>> & { config?: Partial<RunConfig> } = {}): Run {
  const { config, ...rest } = patch;
  return {
    id: 1,
    projectId: 1,
    datasetId: 1,
    datasetName: 'digits',
    name: `run ${rest.id ?? 1}`,
    config: { ...defaultRunConfig(), ...config },
    status: 'finished',
    backend: 'cpu',
    backendNotes: [],
    error: null,
    createdAt: '2025-01-01T10:00:00.000Z',
    startedAt: '2025-01-01T10:00:01.000Z',
    finishedAt: '2025-01-01T10:05:00.000Z',
    epochsDone: 3,
    lastStep: 30,
    summary: {},
    notes: '',
    tags: [],
    ...rest,
  };
}

/** `count` points of `name` at steps from+1 … from+count (epoch 1, value 10 / step). */
export function points(name: string, count: number, from = 0): MetricPoint[] {
  return Array.from({ length: count }, (_, i) => {
    const step = from + i + 1;
    return { step, epoch: 1, name, value: 10 / step, t: step * 100 };
  });
}

/** These points as one page of runs.metrics, the last (column by column, in name and step order). */
export function metricPage(stored: readonly MetricPoint[]): MetricPage {
  return storedMetrics(stored, Infinity)({});
}

/**
 * runs.metrics as the core answers it for these stored points: after `afterStep`, of
 * `names`, from the `after` cursor, at most `limit` (else `pageSize`) points a page in
 * name and step order, with the next page's cursor.
 */
export function storedMetrics(stored: readonly MetricPoint[], pageSize = METRIC_PAGE_POINTS) {
  return ({ names, afterStep = -1, after, limit }: { names?: string[]; afterStep?: number; after?: MetricCursor; limit?: number }): MetricPage => {
    const order = (a: MetricCursor, b: MetricCursor): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.step - b.step);
    const size = limit ?? pageSize;
    const chosen = stored
      .filter((p) => p.step > afterStep && (!names || names.includes(p.name)) && (!after || order(p, after) > 0))
      .sort(order);
    const page = chosen.slice(0, size);
    const series: MetricColumns[] = [];
    for (const p of page) {
      let columns = series.at(-1);
      if (columns?.name !== p.name) series.push((columns = { name: p.name, step: [], epoch: [], value: [], t: [] }));
      columns.step.push(p.step);
      columns.epoch.push(p.epoch);
      columns.value.push(p.value);
      columns.t.push(p.t);
    }
    const last = page.at(-1);
    return { series, next: page.length === size && last ? { name: last.name, step: last.step } : null };
  };
}

/** A dataset record as the core answers it: 100 16×16 grey images, two labels. */
export function makeDataset(patch: Partial<Dataset> = {}): Dataset {
  return {
    id: 1,
    projectId: 1,
    name: 'digits',
    sourcePath: '/data/digits',
    width: 16,
    height: 16,
    channels: 1,
    count: 100,
    labels: ['a', 'b'],
    labelCounts: [50, 50],
    skipped: [],
    settings: importSettingsSchema.parse({}),
    splitCounts: { train: 80, validation: 10, test: 10 },
    stats: { scanned: 100, decoded: 100, reused: 0, duplicates: 0, skipped: 0, seconds: 1 },
    warnings: [],
    previousId: null,
    contentHash: 'a'.repeat(64),
    createdAt: '2025-01-01T09:00:00.000Z',
    ...patch,
  };
}

/** What Explore and Inpaint load for run 5's best checkpoint: an 8×8 grey VAE of latent 4, two labels. */
export function makeExploreInfo(patch: Partial<ExploreInfo> = {}): ExploreInfo {
  return {
    runId: 5,
    checkpoint: { runId: 5, kind: 'best', epoch: 3, step: 30, bytes: 1000, createdAt: '2025-01-01T10:05:00.000Z' },
    labels: ['zero', 'one'],
    latent: 4,
    width: 8,
    height: 8,
    channels: 1,
    decoder: 'bernoulli',
    family: 'vae',
    classes: 0,
    flow: 'none',
    klPerDim: [1, 0.5, 0.2, 0],
    dimsByKl: [0, 1, 2, 3],
    splitCounts: { train: 100, validation: 10, test: 20 },
    backend: 'cpu',
    vq: null,
    ...patch,
  };
}
