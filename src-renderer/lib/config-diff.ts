import { defaultRunConfig } from '@shared/config';
import type { Run } from '@shared/types';

export interface DiffRow {
  key: string;
  /** One shown value per run, in the runs' order. */
  values: string[];
  differs: boolean;
}

function show(value: unknown): string {
  if (value === undefined || value === null) return '—';
  return String(value);
}

/**
 * Config keys in the schema's order (then any the schema does not know, such as keys
 * of runs stored by a newer version), with the dataset first since it is part of what
 * a run is, and a flag on every row whose values are not all equal.
 */
export function configDiff(runs: readonly Pick<Run, 'config' | 'datasetName'>[]): DiffRow[] {
  const known = [...Object.keys(defaultRunConfig()), 'backend'];
  const extra = new Set<string>();
  for (const run of runs) for (const key of Object.keys(run.config)) if (!known.includes(key)) extra.add(key);
  const keys = [...known, ...[...extra].sort()];
  const rows: DiffRow[] = [
    { key: 'dataset', values: runs.map((run) => run.datasetName), differs: false },
    ...keys.map((key) => ({ key, values: runs.map((run) => show((run.config as Record<string, unknown>)[key])), differs: false })),
  ];
  for (const row of rows) row.differs = new Set(row.values).size > 1;
  return rows;
}

/** Only what sets the runs apart, for the "differences only" view. */
export function differingKeys(runs: readonly Pick<Run, 'config' | 'datasetName'>[]): string[] {
  return configDiff(runs)
    .filter((row) => row.differs)
    .map((row) => row.key);
}
