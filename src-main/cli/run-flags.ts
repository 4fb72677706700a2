import { ApiError } from '@shared/errors';
import type { RunSetting } from '@shared/families';
import { runSettings, settingFlag, settingRange, type RunSettingInfo } from '@shared/run-settings';

/**
 * `train`'s flags, one per run setting, generated from the config schema and the family
 * descriptors (src-shared/run-settings.ts): a setting added to the schema gets its flag
 * and its line in `train --help` without touching this file. Flags are the settings'
 * names in kebab case (flowSteps → --flow-steps), except two shorter ones (settingFlag).
 */

/** Flags of earlier versions, still read as the setting's flag (`--model` named the architecture). */
const FORMER_FLAGS: Readonly<Record<string, RunSetting>> = { model: 'architecture' };

export interface RunFlag extends RunSettingInfo {
  flag: string;
}

export const runFlags: readonly RunFlag[] = runSettings().map((info) => ({ ...info, flag: settingFlag(info.key) }));

/** parseArgs options for every run setting (all strings: numbers are parsed below, choices checked by the core). */
export const runFlagOptions: Record<string, { type: 'string' }> = Object.fromEntries(
  [...runFlags.map((f) => f.flag), ...Object.keys(FORMER_FLAGS)].map((flag) => [flag, { type: 'string' as const }]),
);

/** The run config the given flags ask for; a number flag that is not a number is an error naming it. */
export function runConfigFromFlags(values: Record<string, unknown>): Partial<Record<RunSetting, unknown>> {
  const config: Partial<Record<RunSetting, unknown>> = {};
  for (const f of runFlags) {
    const former = Object.keys(FORMER_FLAGS).find((old) => FORMER_FLAGS[old] === f.key);
    const raw = values[f.flag] ?? (former === undefined ? undefined : values[former]);
    if (typeof raw !== 'string') continue;
    if (f.kind === 'choice') {
      config[f.key] = raw;
      continue;
    }
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) {
      throw new ApiError('invalid_input', `--${f.flag} must be a number (${settingRange(f)}), got "${raw}"`, { field: f.flag });
    }
    config[f.key] = value;
  }
  return config;
}

/** `train --help`: every run setting with its values, default and the families it applies to. */
export function trainUsage(): string {
  const rows = runFlags.map((f) => {
    const left = `  --${f.flag} <${settingRange(f)}>`;
    const scope = f.family !== null ? ` Family ${f.family} only.` : f.ignoredBy.length > 0 ? ` Not for family ${f.ignoredBy.join(', ')}.` : '';
    return { left, right: `${f.description}; default ${f.defaultText}.${scope}` };
  });
  const width = Math.max(...rows.map((r) => r.left.length)) + 2;
  return [
    'Usage:',
    '  vae-studio train --dataset <id|name> [--name N] [--project P] [run settings]',
    '',
    'Trains a model on a dataset and follows it to the end (Ctrl+C stops it; `resume` continues).',
    'Run settings (each as on the new-run form; a setting left out takes its default):',
    ...rows.map((r) => `${r.left.padEnd(width)}${r.right}`),
  ].join('\n');
}
