import type { Chart, ChartType } from 'chart.js';

/** An x range the person picked by dragging across a chart. */
export interface XRange {
  min: number;
  max: number;
}

/** Drags narrower than this many pixels are clicks, not zooms. */
const MIN_DRAG_PX = 6;

/**
 * Drag across a line chart to zoom into that x range; double-click to go back to the
 * whole run. The chart then shows every stored point of the range (decimation only
 * thins what does not fit the pixels). The band drawn while dragging is a plain element
 * over the canvas, so dragging never redraws the chart.
 */
export function chartZoom(
  host: HTMLElement,
  chartOf: () => Chart<ChartType, unknown[], unknown> | null,
  onZoom: (range: XRange | null) => void,
): () => void {
  const band = document.createElement('div');
  band.className = 'chart-zoom-band';
  band.hidden = true;
  host.appendChild(band);
  let start: number | null = null;

  const area = (): { left: number; right: number } | null => {
    const chart = chartOf();
    return chart?.chartArea ? { left: chart.chartArea.left, right: chart.chartArea.right } : null;
  };
  const localX = (event: PointerEvent | MouseEvent): number => {
    const canvas = host.querySelector('canvas');
    const rect = (canvas ?? host).getBoundingClientRect();
    const bounds = area();
    const x = event.clientX - rect.left;
    return bounds ? Math.min(bounds.right, Math.max(bounds.left, x)) : x;
  };

  const down = (event: PointerEvent): void => {
    // Only drags that start on the plot: a button over the chart keeps its own clicks.
    if (event.button !== 0 || !area() || !(event.target instanceof HTMLCanvasElement)) return;
    start = localX(event);
    host.setPointerCapture?.(event.pointerId);
  };
  const move = (event: PointerEvent): void => {
    if (start === null) return;
    const x = localX(event);
    if (Math.abs(x - start) < MIN_DRAG_PX) {
      band.hidden = true;
      return;
    }
    band.hidden = false;
    band.style.left = `${Math.min(x, start)}px`;
    band.style.width = `${Math.abs(x - start)}px`;
  };
  const up = (event: PointerEvent): void => {
    if (start === null) return;
    const from = start;
    const to = localX(event);
    start = null;
    band.hidden = true;
    const chart = chartOf();
    const scale = chart?.scales['x'];
    if (!scale || Math.abs(to - from) < MIN_DRAG_PX) return;
    const a = scale.getValueForPixel(Math.min(from, to));
    const b = scale.getValueForPixel(Math.max(from, to));
    if (a === undefined || b === undefined || !(b > a)) return;
    onZoom({ min: a, max: b });
  };
  const cancel = (): void => {
    start = null;
    band.hidden = true;
  };
  const reset = (event: MouseEvent): void => {
    if (event.target instanceof HTMLCanvasElement) onZoom(null);
  };

  host.addEventListener('pointerdown', down);
  host.addEventListener('pointermove', move);
  host.addEventListener('pointerup', up);
  host.addEventListener('pointercancel', cancel);
  host.addEventListener('dblclick', reset);
  return () => {
    host.removeEventListener('pointerdown', down);
    host.removeEventListener('pointermove', move);
    host.removeEventListener('pointerup', up);
    host.removeEventListener('pointercancel', cancel);
    host.removeEventListener('dblclick', reset);
    band.remove();
  };
}

/** Sets (or clears) the x axis's fixed range; with none, the axis spans the data. */
export function applyXRange(chart: Chart<ChartType, unknown[], unknown>, range: XRange | null): void {
  const x = chart.options.scales?.['x'] as { min?: number; max?: number } | undefined;
  if (!x) return;
  if (range) {
    x.min = range.min;
    x.max = range.max;
  } else {
    delete x.min;
    delete x.max;
  }
}

/** Pixel columns the plot area spans, for decimation (the canvas's width before the first layout). */
export function plotColumns(chart: Chart<ChartType, unknown[], unknown>): number {
  const width = chart.chartArea ? chart.chartArea.right - chart.chartArea.left : chart.width;
  return Math.max(16, Math.round(width || 600));
}
