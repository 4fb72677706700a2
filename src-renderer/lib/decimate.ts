import type { ChartPoint } from './chart-series';

/**
 * What a line chart draws of a long series: at most two points per pixel column — the
 * lowest and the highest of the points that fall in it, in their order, plus the first
 * and the last visible point — so every spike
 * survives and the drawing costs the same at 100 or 1 000 000 points. Where the visible
 * range holds few enough points (a short run, or a zoom), every point is drawn as it is.
 */
export interface DecimationSource {
  readonly length: number;
  /** Non-decreasing in the index (steps, time, epochs all are). */
  x(index: number): number;
  y(index: number): number;
  /** Indices of the min and the max of y over from ≤ i < to, in O(log n) (ExtremaIndex). */
  extrema(from: number, to: number): [number, number];
}

export interface DecimationView {
  /** Visible x range; null: the whole series. */
  range: { min: number; max: number } | null;
  /** Pixel columns across the plot area. */
  columns: number;
}

/** First index whose x is ≥ value (length when none). */
export function lowerBound(source: DecimationSource, value: number, from = 0, to = source.length): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (source.x(mid) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose x is > value (length when none). */
function upperBound(source: DecimationSource, value: number, from = 0, to = source.length): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (source.x(mid) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A new array each time: chart.js watches a dataset's array and re-syncs its elements
 * on every push (a full pass per point), so a chart is given a fresh array to take at once.
 */
export function decimate(source: DecimationSource, view: DecimationView): ChartPoint[] {
  const out: ChartPoint[] = [];
  const n = source.length;
  if (n === 0) return out;
  const columns = Math.max(1, Math.floor(view.columns));
  const xMin = view.range ? view.range.min : source.x(0);
  const xMax = view.range ? view.range.max : source.x(n - 1);
  let pushed = -1;
  const push = (index: number): void => {
    if (index <= pushed) return;
    pushed = index;
    out.push({ x: source.x(index), y: source.y(index) });
  };
  // Visible points, and one on each side so the line runs to the plot's edges when zoomed.
  const first = lowerBound(source, xMin);
  const end = upperBound(source, xMax, first);
  const from = Math.max(0, first - 1);
  const to = Math.min(n, end + 1);
  if (end - first <= 2 * columns || !(xMax > xMin)) {
    for (let i = from; i < to; i++) push(i);
    return out;
  }
  if (from < first) push(from);
  // The first and the last visible points are always drawn: where the curve starts and
  // where the run is now.
  push(first);
  const width = (xMax - xMin) / columns;
  let a = first;
  for (let column = 1; column <= columns && a < end; column++) {
    const b = column === columns ? end : upperBound(source, xMin + column * width, a, end);
    // Fewer than three points in the column: draw them as they are.
    if (b - a <= 2) {
      for (let i = a; i < b; i++) push(i);
    } else if (b > a) {
      const [iMin, iMax] = source.extrema(a, b);
      if (iMin === iMax) push(iMin);
      else if (iMin < iMax) {
        push(iMin);
        push(iMax);
      } else {
        push(iMax);
        push(iMin);
      }
    }
    a = b;
  }
  push(end - 1);
  if (end < to) push(end);
  return out;
}
