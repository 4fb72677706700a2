import { defaultRunConfig, type RunConfig } from '@shared/config';
import type { MetricPoint, Run } from '@shared/types';

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
