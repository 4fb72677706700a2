import { classifierKindOf, defaultRunConfig, encoderInputOf, type RunConfig } from '@shared/config';
import { settingApplies, type RunSetting } from '@shared/families';
import { ENCODER_INPUT_NAMES, settingLabel } from '@shared/setting-labels';
import type { Run } from '@shared/types';
import { ARCHITECTURE_NAMES, FAMILY_NAMES } from './model-family';

export interface DiffRow {
  key: string;
  /** The setting in words, as the run page names it. */
  label: string;
  /** One shown value per run, in the runs' order; "—" where that run does not read it. */
  values: string[];
  differs: boolean;
}

const NOT_READ = '—';

function show(key: string, config: RunConfig): string {
  const value = (config as Record<string, unknown>)[key];
  if (key === 'architecture') return ARCHITECTURE_NAMES[value as RunConfig['architecture']] ?? String(value);
  if (key === 'classifier') return ARCHITECTURE_NAMES[classifierKindOf(config)];
  // A run stored without it read pixels in [0, 1].
  if (key === 'encoderInput') return ENCODER_INPUT_NAMES[encoderInputOf(config)];
  if (key === 'family') return FAMILY_NAMES[value as RunConfig['family']] ?? String(value);
  if (key === 'backend' && value === undefined) return 'automatic';
  if (key === 'classifierWeight' && value === undefined) return '0.1 × unlabelled / labelled';
  if (key === 'labelFraction' && typeof value === 'number') return `${+(value * 100).toPrecision(3)} %`;
  if (value === undefined || value === null) return NOT_READ;
  return String(value);
}

/** Whether a run reads a setting (its family and choices); keys the schema does not know count as read. */
function reads(key: string, config: RunConfig, known: readonly string[]): boolean {
  return !known.includes(key) || settingApplies(key as RunSetting, config);
}

/**
 * Config keys in the schema's order (then any the schema does not know, such as keys
 * of runs stored by a newer version), with the dataset first since it is part of what
 * a run is, and a flag on every row whose values are not all equal. A setting none of
 * the runs reads (another family's, σ of a Bernoulli decoder…) is left out; where only
 * some read it, the others show "—".
 */
export function configDiff(runs: readonly Pick<Run, 'config' | 'datasetName'>[]): DiffRow[] {
  const known = [...Object.keys(defaultRunConfig()), 'backend'];
  const extra = new Set<string>();
  for (const run of runs) for (const key of Object.keys(run.config)) if (!known.includes(key)) extra.add(key);
  const keys = [...known, ...[...extra].sort()].filter((key) => runs.some((run) => reads(key, run.config, known)));
  const rows: DiffRow[] = [
    { key: 'dataset', label: 'Dataset', values: runs.map((run) => run.datasetName), differs: false },
    ...keys.map((key) => ({
      key,
      label: settingLabel(key),
      values: runs.map((run) => (reads(key, run.config, known) ? show(key, run.config) : NOT_READ)),
      differs: false,
    })),
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
