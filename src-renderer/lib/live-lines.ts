import { xOf, type XAxis } from './chart-series';
import type { DecimationSource } from './decimate';
import { Column, ExtremaIndex, type MetricSeries } from './metric-series';

/**
 * One curve of a live line chart: a metric series seen on an x axis, optionally
 * smoothed, ready to be decimated to the chart's width. The smoothed values are kept
 * as a column of their own (with its own extrema index) that only its new tail is
 * added to as the run streams; a change of smoothing weight rebuilds it once.
 */
export class LineSource implements DecimationSource {
  readonly #smoothed = new Column();
  readonly #smoothedExtrema = new ExtremaIndex((index) => this.#smoothed.get(index));
  #series: MetricSeries | null = null;
  #weight = 0;
  #axis: XAxis = 'step';
  #stepsPerEpoch: number | null = null;
  /** EMA state with TensorBoard's bias correction (see chart-series.ts's Ema). */
  #mean = 0;

  /** Points this curve has; the smoothed column catches up here. */
  get length(): number {
    return this.#series?.length ?? 0;
  }

  /**
   * Point at a series seen on `axis` with smoothing `weight` (0: raw). Returns whether
   * anything about how points map changed (the chart must redraw everything).
   */
  set(series: MetricSeries | undefined, axis: XAxis, stepsPerEpoch: number | null, weight: number): boolean {
    const clamped = Math.min(Math.max(weight, 0), 0.999);
    const next = series ?? null;
    const changed = next !== this.#series || clamped !== this.#weight || axis !== this.#axis || stepsPerEpoch !== this.#stepsPerEpoch;
    if (next !== this.#series || clamped !== this.#weight) {
      this.#smoothed.clear();
      this.#smoothedExtrema.clear();
      this.#mean = 0;
    }
    this.#series = next;
    this.#weight = clamped;
    this.#axis = axis;
    this.#stepsPerEpoch = stepsPerEpoch;
    this.#catchUp();
    return changed;
  }

  /** Smooths the points that arrived since the last call; O(new points). */
  #catchUp(): void {
    const series = this.#series;
    if (!series || this.#weight === 0) return;
    for (let i = this.#smoothed.length; i < series.length; i++) {
      this.#mean = this.#mean * this.#weight + (1 - this.#weight) * series.y(i);
      this.#smoothed.push(this.#mean / (1 - this.#weight ** (i + 1)));
      this.#smoothedExtrema.append();
    }
  }

  refresh(): void {
    this.#catchUp();
  }

  x(index: number): number {
    const series = this.#series!;
    switch (this.#axis) {
      case 'step':
        return series.step(index);
      case 'time':
        return series.t(index) / 1000;
      case 'epoch':
        return xOf({ step: series.step(index), epoch: series.epoch(index), t: 0, y: 0 }, 'epoch', this.#stepsPerEpoch);
    }
  }

  y(index: number): number {
    return this.#weight === 0 ? this.#series!.y(index) : this.#smoothed.get(index);
  }

  extrema(from: number, to: number): [number, number] {
    return this.#weight === 0 ? this.#series!.extrema.extrema(from, to) : this.#smoothedExtrema.extrema(from, to);
  }
}

/**
 * Coalesces redraw requests to at most one per displayed frame: metric batches, status
 * events and resizes all ask, the chart draws once when the browser is about to paint.
 */
export function frameScheduler(draw: () => void): { request(): void; cancel(): void } {
  let handle: number | null = null;
  return {
    request() {
      handle ??= requestAnimationFrame(() => {
        handle = null;
        draw();
      });
    },
    cancel() {
      if (handle !== null) cancelAnimationFrame(handle);
      handle = null;
    },
  };
}

/** Up to this many drawn points a curve keeps its gentle curvature and its markers. */
export const SPARSE_POINTS = 200;

/**
 * Dense curves are drawn straight and without markers: Bézier control points and marker
 * circles cost per point and show nothing at a pixel apart, while a short run's few
 * points keep the look they always had.
 */
export function styleDensity(dataset: { data: unknown[]; tension?: unknown; pointRadius?: unknown }, markers: boolean): void {
  const sparse = dataset.data.length <= SPARSE_POINTS;
  dataset.tension = sparse ? 0.2 : 0;
  // A curve of one or two points draws no visible line: its points are shown instead.
  dataset.pointRadius = (markers && sparse) || dataset.data.length <= 2 ? 2.5 : 0;
}
