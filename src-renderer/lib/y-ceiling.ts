import type { Chart, ChartType } from 'chart.js';

/**
 * A y-axis top that a few far-out points do not set. One diverging step early in a run
 * (a loss of 530 000 nats at step 2 where the rest of the run lies between 30 000 and
 * 80 000) would otherwise scale the whole chart to it and flatten the curve a user is
 * watching. The highest k drawn points are set aside when both hold:
 * - they are few: k at most 2, or 1 % of the points (a curve's early descent, hundreds
 *   of steps high, is the curve, not an outlier);
 * - there is a gap below them: the lowest of them lies at least 4 times as far above the
 *   lowest point as the highest point kept, so setting them aside shrinks the axis to a
 *   quarter or less (a bump of a few per cent squashes nothing and stays).
 * The least such k is taken. Null when nothing is set aside: the chart scales to every
 * point, as before. The chart says what it set aside, and can show it (LossChart).
 */
export interface YCeiling {
  /** The axis's top: a round value just above the highest point kept. */
  max: number;
  /** How many drawn points lie above it. */
  above: number;
  /** The highest of them. */
  highest: number;
}

const FEW_POINTS = 2;
const FEW_FRACTION = 0.01;
const GAP = 4;
/** Fewer points than this are too few to call any of them an outlier. */
const LEAST_POINTS = 8;

/** The smallest round step (1, 2 or 5 × 10^k) that cuts `span` into at most `parts` parts. */
function roundStep(span: number, parts: number): number {
  const raw = span / parts;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= raw) return factor * power;
  return 10 * power;
}

export function outlierCeiling(values: Iterable<number>): YCeiling | null {
  const finite: number[] = [];
  for (const value of values) if (Number.isFinite(value)) finite.push(value);
  if (finite.length < LEAST_POINTS) return null;
  const sorted = Float64Array.from(finite).sort();
  const n = sorted.length;
  const lowest = sorted[0]!;
  const few = Math.max(FEW_POINTS, Math.floor(FEW_FRACTION * n));
  let above = 0;
  for (let k = 1; k <= few && k < n; k++) {
    if (sorted[n - k]! - lowest >= GAP * (sorted[n - 1 - k]! - lowest) && sorted[n - k]! > sorted[n - 1 - k]!) {
      above = k;
      break;
    }
  }
  if (above === 0) return null;
  const kept = sorted[n - 1 - above]!;
  const highest = sorted[n - 1]!;
  const step = roundStep(Math.max(kept - lowest, Math.abs(kept) * 1e-6, Number.MIN_VALUE), 5);
  const max = Math.ceil(kept / step) * step;
  // A point exactly on the round top is kept on the axis, not over it.
  return { max: max > kept ? max : max + step, above, highest };
}

/**
 * After a redraw's data is in: the far-out points of what the chart draws (null on a log
 * axis, which shows a spike beside the curve already), and the y axis's top set to leave
 * them out unless `fitAll`. The caller updates the chart.
 */
export function fitYAxis(chart: Chart<'line', { y: number }[]>, logScale: boolean, fitAll: boolean): YCeiling | null {
  const outliers = logScale ? null : outlierCeiling(drawnYValues(chart));
  applyYCeiling(chart, fitAll ? null : outliers);
  return outliers;
}

/** The y values a line chart draws now: its visible datasets' points. */
function drawnYValues(chart: Chart<'line', { y: number }[]>): number[] {
  const out: number[] = [];
  chart.data.datasets.forEach((dataset, index) => {
    if (!chart.isDatasetVisible(index)) return;
    for (const point of dataset.data) out.push(point.y);
  });
  return out;
}

/** Sets (or with null, clears) the y-axis top; the chart is updated by the caller. */
export function applyYCeiling(chart: Chart<ChartType, unknown[], unknown>, ceiling: YCeiling | null): void {
  const y = chart.options.scales?.['y'] as { max?: number } | undefined;
  if (!y) return;
  if (ceiling === null) delete y.max;
  else y.max = ceiling.max;
}
