import { latentWidthOf } from '@shared/families';
import type { Run } from '@shared/types';
import { durationBetween } from './format';
import { isActive, statusLabel } from './run-status';

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
/**
 * How long a run took, the same figure everywhere (Runs list, run page, an imported copy):
 * once it has ended, the worker's own clock (`seconds`: training, validation and the test
 * bound, summed over resumes), which an imported run's card carries too; while it trains,
 * or for a run that ended without that figure, the wall time since it started. An
 * imported run never trained here: without the figure it has no duration (not 0s).
 */
export function runDuration(run: Run, now: number): number | null {
  const seconds = run.summary['seconds'];
  if (!isActive(run) && seconds !== undefined && Number.isFinite(seconds)) return seconds * 1000;
  if (run.imported) return null;
  return durationBetween(run.startedAt, run.finishedAt, now);
}

export interface RunsColumn {
  key: SortKey;
  label: string;
  /** What the figure is (the header's tooltip). */
  title?: string;
  numeric?: boolean;
}

/** The key the core sorts a column by (runs.query's `sort`); null: not sortable there. */
export function serverSortKey(key: SortKey): string | null {
  const keys: Record<SortKey, string | null> = {
    name: 'name',
    dataset: 'dataset',
    model: 'architecture',
    latent: 'latent',
    epochs: 'epochs',
    status: 'status',
    loss: 'loss',
    valLoss: 'val_loss',
    testNll: 'test_nll',
    duration: 'seconds',
    backend: null,
    // Ids follow creation, and need no sort.
    created: 'id',
  };
  return keys[key];
}

/** The history table's columns; every one but Name can be hidden (column choice). */
export const runsColumns: readonly RunsColumn[] = [
  { key: 'name', label: 'Name' },
  { key: 'dataset', label: 'Dataset' },
  { key: 'model', label: 'Model' },
  { key: 'latent', label: 'Latent', numeric: true, title: 'Latent dimensions' },
  { key: 'epochs', label: 'Epochs', numeric: true },
  { key: 'status', label: 'Status' },
  { key: 'loss', label: 'Loss', numeric: true, title: 'Training objective in nats per image, averaged over the last epoch\'s training images' },
  { key: 'valLoss', label: 'Val loss', numeric: true, title: '−ELBO in nats per image, averaged over the validation images at the last epoch' },
  { key: 'testNll', label: 'Test NLL', numeric: true, title: 'IWAE bound on the test images, nats per image (averaged over the images read)' },
  { key: 'duration', label: 'Duration', numeric: true, title: 'Time the run trained, validated and evaluated' },
  { key: 'backend', label: 'Backend' },
  { key: 'created', label: 'Created' },
];

const HIDDEN_COLUMNS_KEY = 'vae-studio.runs.hiddenColumns';
/**
 * Hidden until a person chooses otherwise, so the table fits 1280 px: the backend is on the
 * run page, and the latent size shows beside the model while its own column is hidden.
 */
export const DEFAULT_HIDDEN_COLUMNS: readonly SortKey[] = ['latent', 'backend'];

/** The columns a person hid, remembered across sessions; unknown or unhideable keys are dropped. */
export function loadHiddenColumns(): SortKey[] {
  try {
    const stored = localStorage.getItem(HIDDEN_COLUMNS_KEY);
    if (stored === null) return [...DEFAULT_HIDDEN_COLUMNS];
    const value: unknown = JSON.parse(stored);
    if (!Array.isArray(value)) return [];
    return runsColumns.filter((c) => c.key !== 'name' && value.includes(c.key)).map((c) => c.key);
  } catch {
    return [];
  }
}

export function saveHiddenColumns(keys: readonly SortKey[]): void {
  try {
    localStorage.setItem(HIDDEN_COLUMNS_KEY, JSON.stringify(keys));
  } catch {
    // Storage full or refused: the choice holds for this session.
  }
}

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
    const haystack = `${run.name} ${run.datasetName} ${run.status} ${statusLabel(run.status)} ${run.tags.join(' ')}`.toLowerCase();
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
