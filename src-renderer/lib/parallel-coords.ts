import type { FilterKey } from '@shared/run-filter';

export interface AxisScale {
  /** 0 (bottom) ‥ 1 (top) for a value on this axis. */
  position(value: number): number;
  ticks: { t: number; label: string | number }[];
  log: boolean;
}

/**
 * An axis for a setting or metric: a choice setting spaces its choices evenly (its values
 * are choice indices), a positive range wider than 20× (a learning rate) is logarithmic,
 * anything else linear from its least to its largest value.
 */
export function axisScale(key: string, spec: FilterKey | undefined, values: readonly (number | null)[]): AxisScale {
  if (spec?.type === 'enum' && spec.choices) {
    const count = spec.choices.length;
    const position = (value: number): number => (count === 1 ? 0.5 : value / (count - 1));
    return { position, ticks: spec.choices.map((label, i) => ({ t: position(i), label })), log: false };
  }
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
  let min = present.length ? Math.min(...present) : 0;
  let max = present.length ? Math.max(...present) : 1;
  const log = min > 0 && max / min > 20;
  if (log) {
    min = Math.log10(min);
    max = Math.log10(max);
  }
  const span = max - min;
  const position = (value: number): number => {
    const v = log ? Math.log10(Math.max(value, 1e-300)) : value;
    return span === 0 ? 0.5 : Math.min(1, Math.max(0, (v - min) / span));
  };
  const back = (v: number): number => (log ? 10 ** v : v);
  const ticks = span === 0 ? [{ t: 0.5, label: back(min) }] : [{ t: 0, label: back(min) }, { t: 0.5, label: back(min + span / 2) }, { t: 1, label: back(max) }];
  return { position, ticks, log };
}
