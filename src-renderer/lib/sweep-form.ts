import type { RunConfig } from '@shared/config';
import type { RunSetting } from '@shared/families';
import { runSettings, settingRange } from '@shared/run-settings';
import { expandSweep, parseSweep, sweepRequestSchema, SweepError, type SweepRequestInput } from '@shared/sweep';

/**
 * The new-run form's "Sweep…": each row turns one setting into a value list (grid) or a
 * range or choice (random), written as the CLI writes it; the shared parser
 * (src-shared/sweep.ts) checks them as the core will, so the form says which row is wrong.
 */
export interface SweepRow {
  setting: RunSetting;
  mode: 'grid' | 'random';
  values: string;
}

export interface SweepFormValues {
  rows: SweepRow[];
  trials: number | null;
  seeds: number;
  concurrency: number;
  earlyStop: 'none' | 'median' | 'halving';
}

export const sweepableSettings = runSettings();

export function defaultSweepForm(): SweepFormValues {
  return { rows: [], trials: null, seeds: 1, concurrency: 2, earlyStop: 'none' };
}

/** A new row for a setting, holding the form's current value so it only needs more. */
export function rowFor(setting: RunSetting, config: Partial<RunConfig> | null): SweepRow {
  const current = config?.[setting];
  return { setting, mode: 'grid', values: current === undefined ? '' : String(current) };
}

/** What a row accepts, for its placeholder and hint. */
export function rowHint(row: SweepRow): string {
  const info = sweepableSettings.find((s) => s.key === row.setting)!;
  if (row.mode === 'grid') return `Values to try, comma-separated (${settingRange(info)})`;
  if (info.kind === 'choice') return `Choices drawn at random, comma-separated (${settingRange(info)})`;
  return `A range min..max drawn at random; log:min..max for log-uniform (${settingRange(info)})`;
}

export function sweepRequestFrom(form: SweepFormValues): { request: SweepRequestInput; rowOf: Record<string, number> } {
  const grid: string[] = [];
  const random: string[] = [];
  const rowOf: Record<string, number> = {};
  form.rows.forEach((row, i) => {
    const list = row.mode === 'grid' ? grid : random;
    rowOf[`${row.mode}.${list.length}`] = i;
    list.push(`${row.setting}=${row.values.trim()}`);
  });
  return {
    request: {
      grid,
      random,
      ...(form.trials !== null ? { trials: form.trials } : {}),
      seeds: form.seeds,
      concurrency: form.concurrency,
      ...(form.earlyStop !== 'none' ? { earlyStop: form.earlyStop } : {}),
    },
    rowOf,
  };
}

export interface SweepCheck {
  request: SweepRequestInput;
  /** Runs the sweep plans (trials × seeds), when it is valid. */
  plannedRuns: number | null;
  trials: number | null;
  error: { message: string; row: number | null; field: string } | null;
}

/** The sweep as the core will read it: its size, or the first error with the row it belongs to. */
export function checkSweepForm(form: SweepFormValues, base: RunConfig | null): SweepCheck {
  const { request, rowOf } = sweepRequestFrom(form);
  const parsed = sweepRequestSchema.safeParse(request);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { request, plannedRuns: null, trials: null, error: { message: `${issue.path.join('.')}: ${issue.message}`, row: null, field: String(issue.path[0] ?? '') } };
  }
  try {
    const spec = parseSweep(parsed.data);
    const planned = base ? expandSweep(spec, base) : null;
    return { request, plannedRuns: planned ? planned.length : spec.trials * spec.seeds, trials: spec.trials, error: null };
  } catch (error) {
    if (!(error instanceof SweepError)) throw error;
    return { request, plannedRuns: null, trials: null, error: { message: error.message, row: rowOf[error.field] ?? null, field: error.field } };
  }
}
