import { ACTIVE_DIM_KL } from '@shared/inference';
import type { SeriesPoint } from './chart-series';
import type { SeriesLike } from './metric-series';

/** The worker's rule for an active dim, so the bars agree with its `val_active_dims` figure. */
export const ACTIVE_KL_NATS = ACTIVE_DIM_KL;

export const klDimName = (dim: number): string => `kl_dim_${dim}`;

export interface KlSnapshot {
  epoch: number;
  /** Mean KL per latent dim in nats; NaN where that dim has no point at this epoch. */
  values: number[];
  active: boolean[];
  activeCount: number;
}

/** The point of one epoch, searched from the end: epochs are appended in order. */
function atEpoch(points: SeriesLike | undefined, epoch: number): SeriesPoint | undefined {
  if (!points) return undefined;
  for (let i = points.length - 1; i >= 0; i--) {
    const point = points.at(i)!;
    if (point.epoch === epoch) return point;
    if (point.epoch < epoch) return undefined;
  }
  return undefined;
}

/**
 * How many dims have a KL series (kl_dim_0, kl_dim_1, … without a gap). A VQ-VAE records
 * one per position of its code grid, which for the conv model is not the config's latent.
 */
export function recordedKlDims(series: Readonly<Record<string, SeriesLike>>): number {
  let dims = 0;
  while (series[klDimName(dims)] !== undefined) dims++;
  return dims;
}

/** Newest epoch with per-dim KL, or null before the first epoch ends. */
export function latestKlEpoch(series: Readonly<Record<string, SeriesLike>>): number | null {
  return series[klDimName(0)]?.at(-1)?.epoch ?? null;
}

/**
 * Per-dim KL at `epoch` (the newest when null). Null when that epoch has no figures:
 * before the first epoch ends, or for an epoch the slider offers but the run lost.
 */
export function klSnapshot(
  series: Readonly<Record<string, SeriesLike>>,
  latent: number,
  epoch: number | null,
): KlSnapshot | null {
  const target = epoch ?? latestKlEpoch(series);
  if (target === null) return null;
  const values: number[] = [];
  let found = 0;
  for (let dim = 0; dim < latent; dim++) {
    const point = atEpoch(series[klDimName(dim)], target);
    if (point) found++;
    values.push(point ? point.y : Number.NaN);
  }
  if (found === 0) return null;
  const active = values.map((value) => value > ACTIVE_KL_NATS);
  return { epoch: target, values, active, activeCount: active.filter(Boolean).length };
}
