import { describe, expect, it } from 'vitest';
import { defaultRunConfig } from '@shared/config';
import type { Run } from '@shared/types';
import { filterRuns, runDuration, sortRuns } from './runs-table';

function run(id: number, patch: Partial<Run> = {}): Run {
  return {
    id,
    projectId: 1,
    datasetId: 1,
    datasetName: 'digits',
    name: `run-${id}`,
    config: defaultRunConfig(),
    status: 'finished',
    backend: 'wasm',
    backendNotes: [],
    error: null,
    createdAt: `2026-01-0${id}T00:00:00Z`,
    startedAt: `2026-01-0${id}T00:00:00Z`,
    finishedAt: `2026-01-0${id}T00:01:00Z`,
    epochsDone: 10,
    lastStep: 100,
    summary: {},
    notes: '',
    tags: [],
    ...patch,
  };
}

describe('runs table', () => {
  const runs = [
    run(1, { name: 'alpha', summary: { loss: 120, test_nll: 101.5 } }),
    run(2, { name: 'beta', datasetName: 'faces', status: 'failed', tags: ['sweep'] }),
    run(3, { name: 'gamma', summary: { loss: 95, test_nll: 99.25 } }),
  ];

  it('filters on name, dataset and status, every word', () => {
    expect(filterRuns(runs, 'faces').map((r) => r.id)).toEqual([2]);
    expect(filterRuns(runs, 'FINISHED').map((r) => r.id)).toEqual([1, 3]);
    expect(filterRuns(runs, 'finished gam').map((r) => r.id)).toEqual([3]);
    expect(filterRuns(runs, '  ')).toHaveLength(3);
    expect(filterRuns(runs, 'Sweep').map((r) => r.id)).toEqual([2]);
    // A run the user stopped is found by the word its pill shows.
    const stopped = [...runs, run(4, { name: 'delta', status: 'cancelled' })];
    expect(filterRuns(stopped, 'stopped').map((r) => r.id)).toEqual([4]);
  });

  it('sorts both ways and keeps runs without a value last', () => {
    expect(sortRuns(runs, { key: 'loss', descending: false }).map((r) => r.id)).toEqual([3, 1, 2]);
    expect(sortRuns(runs, { key: 'loss', descending: true }).map((r) => r.id)).toEqual([1, 3, 2]);
    expect(sortRuns(runs, { key: 'created', descending: true }).map((r) => r.id)).toEqual([3, 2, 1]);
    expect(sortRuns(runs, { key: 'name', descending: false }).map((r) => r.name)).toEqual(['alpha', 'beta', 'gamma']);
    expect(sortRuns(runs, { key: 'testNll', descending: false }).map((r) => r.id)).toEqual([3, 1, 2]);
  });

  it('gives one duration: the worker clock once ended (an imported copy the same), wall time while training, none for an import without one', () => {
    const ended = run(1, { summary: { seconds: 149 } });
    expect(runDuration(ended, Date.now())).toBe(149_000);
    const resumed = run(2, { status: 'running', finishedAt: null, summary: { seconds: 30 } });
    expect(runDuration(resumed, Date.parse('2026-01-02T00:00:10Z'))).toBe(10_000);
    const stoppedEarly = run(3, { status: 'cancelled' });
    expect(runDuration(stoppedEarly, Date.now())).toBe(60_000);
    const importedWithout = run(4, { imported: {} as Run['imported'] });
    expect(runDuration(importedWithout, Date.now())).toBeNull();
  });
});
