import { latentWidthOf } from '@shared/families';
import type { Run } from '@shared/types';
import { durationBetween } from './format';

export type SortKey =
  | 'name'
  | 'dataset'
  | 'model'
  | 'latent'
  | 'epochs'
  | 'status'
  | 'loss'
  | 'valLoss'
  | 'testNll'
  | 'duration'
  | 'backend'
  | 'created';

export interface SortState {
  key: SortKey;
  descending: boolean;
}

export const finalLoss = (run: Run): number | null => run.summary['loss'] ?? null;
export const finalValLoss = (run: Run): number | null => run.summary['val_loss'] ?? null;
/** IWAE bound on the test split, in nats: written when training ends (or by runs.evaluate). */
export const testNll = (run: Run): number | null => run.summary['test_nll'] ?? null;
export const runDuration = (run: Run, now: number): number | null => durationBetween(run.startedAt, run.finishedAt, now);

function sortValue(run: Run, key: SortKey, now: number): string | number | null {
  switch (key) {
    case 'name':
      return run.name.toLowerCase();
    case 'dataset':
      return run.datasetName.toLowerCase();
    case 'model':
      return run.config.architecture;
    case 'latent':
      return latentWidthOf(run.config);
    case 'epochs':
      return run.config.epochs;
    case 'status':
      return run.status;
    case 'loss':
      return finalLoss(run);
    case 'valLoss':
      return finalValLoss(run);
    case 'testNll':
      return testNll(run);
    case 'duration':
      return runDuration(run, now);
    case 'backend':
      return run.backend;
    case 'created':
      return run.createdAt;
  }
}

/** Case-insensitive match on name, dataset, status and tags; every word must match. */
export function filterRuns(runs: readonly Run[], query: string): Run[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...runs];
  return runs.filter((run) => {
    const haystack = `${run.name} ${run.datasetName} ${run.status} ${run.tags.join(' ')}`.toLowerCase();
    return words.every((word) => haystack.includes(word));
  });
}

/** Stable sort; runs without a value (no loss yet, never started) always go last. */
export function sortRuns(runs: readonly Run[], sort: SortState, now = Date.now()): Run[] {
  const direction = sort.descending ? -1 : 1;
  return runs
    .map((run, index) => ({ run, index, value: sortValue(run, sort.key, now) }))
    .sort((a, b) => {
      if (a.value === null || b.value === null) {
        if (a.value === b.value) return a.index - b.index;
        return a.value === null ? 1 : -1;
      }
      const order =
        typeof a.value === 'number' && typeof b.value === 'number'
          ? a.value - b.value
          : String(a.value).localeCompare(String(b.value));
      return order * direction || a.index - b.index;
    })
    .map((entry) => entry.run);
}
