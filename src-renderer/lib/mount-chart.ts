import type { Chart, ChartOptions, ChartType, TooltipItem } from 'chart.js';
import { readChartColors, type ChartColors, type XAxis } from './chart-series';
import { formatDuration, formatMetric } from './format';

/**
 * The chart.js lifecycle every chart here shares: build once on its canvas with colours
 * read from the theme's CSS variables, re-colour in place when the OS switches between
 * light and dark, destroy on unmount. Components keep only what differs: their
 * datasets, their options and how new points are copied in.
 */

/** The colourable parts of a cartesian axis (chart.js types every scale kind in one union). */
interface ThemableScale {
  grid?: { color?: unknown };
  ticks?: { color?: unknown };
  title?: { color?: unknown };
  border?: { color?: unknown };
}

/** Theme colours onto the axes and the tooltip (series colours are the caller's). */
export function applyChartTheme(chart: Chart<ChartType, unknown[], unknown>, colors: ChartColors): void {
  for (const axis of ['x', 'y'] as const) {
    const scale = chart.options.scales?.[axis] as ThemableScale | undefined;
    if (!scale) continue;
    if (scale.grid) scale.grid.color = colors.grid;
    if (scale.ticks) scale.ticks.color = colors.faint;
    if (scale.title) scale.title.color = colors.text;
    if (scale.border) scale.border.color = colors.grid;
  }
  const tooltip = chart.options.plugins?.tooltip;
  if (tooltip) {
    tooltip.backgroundColor = colors.tooltipBg;
    tooltip.borderColor = colors.border;
    tooltip.titleColor = colors.text;
    tooltip.bodyColor = colors.text;
  }
}

export interface MountedChart<C> {
  chart: C;
  destroy(): void;
}

/**
 * Create a chart with `build(colors)`, theme it, and follow the system theme. `recolor`
 * (optional) re-applies the caller's own colours (series, bars) after a theme switch;
 * the chart is then redrawn without animation.
 */
export function mountChart<C extends Chart<ChartType, unknown[], unknown>>(
  canvas: HTMLCanvasElement,
  build: (colors: ChartColors) => C,
  recolor?: (chart: C, colors: ChartColors) => void,
): MountedChart<C> {
  const chart = build(readChartColors(canvas));
  applyChartTheme(chart, readChartColors(canvas));
  const scheme = matchMedia('(prefers-color-scheme: dark)');
  const onSchemeChange = (): void => {
    const colors = readChartColors(canvas);
    applyChartTheme(chart, colors);
    recolor?.(chart, colors);
    chart.update('none');
  };
  scheme.addEventListener('change', onSchemeChange);
  return {
    chart,
    destroy() {
      scheme.removeEventListener('change', onSchemeChange);
      chart.destroy();
    },
  };
}

/**
 * Point the x axis at step, epoch or time: its title, and whole-number ticks for steps
 * (a short run would otherwise get ticks at 1.5, 2.5… shown rounded, twice each).
 */
export function setXAxis(chart: Chart<ChartType, unknown[], unknown>, axis: XAxis, title: string = axis): void {
  const x = chart.options.scales?.['x'] as { title?: { text?: string }; ticks?: { precision?: number } } | undefined;
  if (!x) return;
  if (x.title) x.title.text = title;
  if (x.ticks) {
    if (axis === 'step') x.ticks.precision = 0;
    else delete x.ticks.precision;
  }
}

/** Tick and tooltip text of an x value on the step / epoch / time axis. */
export function formatXValue(value: number, axis: XAxis): string {
  if (axis === 'time') return formatDuration(value * 1000);
  if (axis === 'epoch') return String(+value.toFixed(2));
  return String(Math.round(value));
}

/** Tooltip look shared by the line charts (colours come from applyChartTheme). */
export const lineTooltip = { borderWidth: 1, padding: 8, boxPadding: 4, usePointStyle: true } as const;

/**
 * The look of the line charts over steps, epochs or time (LossChart, CompareChart): no
 * animation, x from the first point to the last with round ticks, at most 6 y ticks, an
 * x-nearest tooltip naming the series. `axis` is read when drawn, so the chart follows a
 * change of axis without being built again; `yTitle` '' shows none. `grid` colours the
 * grid and axis lines from the start (applyChartTheme does it otherwise).
 */
export function lineChartOptions(spec: {
  axis: () => XAxis;
  yType: 'linear' | 'logarithmic';
  yTitle: string;
  grid?: string;
  onResize: () => void;
  tooltipFilter?: (item: TooltipItem<'line'>) => boolean;
}): ChartOptions<'line'> {
  const formatX = (value: number): string => formatXValue(value, spec.axis());
  const lines = spec.grid === undefined ? {} : { grid: { color: spec.grid }, border: { color: spec.grid } };
  return {
    animation: false,
    parsing: false,
    normalized: true,
    responsive: true,
    maintainAspectRatio: false,
    // A new width means new pixel columns to decimate to.
    onResize: spec.onResize,
    interaction: { mode: 'nearest', axis: 'x', intersect: false },
    scales: {
      x: {
        type: 'linear',
        // From the first point to the last: no empty step 0 before a curve that starts at 1.
        bounds: 'data',
        title: { display: true, text: spec.axis(), font: { size: 11 } },
        ticks: { font: { size: 11 }, maxTicksLimit: 8, callback: (value) => formatX(Number(value)) },
        // Round values (0, 2 000, 4 000…; 1m, 2m…), not the first point plus multiples.
        afterBuildTicks: (scale) => {
          scale.ticks = roundTicks(scale.min, scale.max, 8, spec.axis()).map((value) => ({ value }));
        },
        ...lines,
      },
      y: {
        type: spec.yType,
        ticks: { font: { size: 11 }, maxTicksLimit: 6 },
        ...lines,
        title: { display: spec.yTitle !== '', text: spec.yTitle, font: { size: 11 } },
      },
    },
    plugins: {
      tooltip: {
        ...lineTooltip,
        ...(spec.tooltipFilter && { filter: spec.tooltipFilter }),
        callbacks: {
          title: (items) => `${spec.axis()} ${formatX(items[0]?.parsed.x ?? 0)}`,
          label: (item) => ` ${item.dataset.label ?? ''}: ${formatMetric(item.parsed.y)}`,
        },
      },
    },
  };
}

/** Tick spacings a person reads at a glance: 1, 2, 5 × 10^k; on a time axis, clock steps (s). */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

function niceStep(span: number, maxTicks: number, axis: XAxis): number {
  const raw = span / Math.max(1, maxTicks - 1);
  if (axis === 'time' && raw >= 0.5) return TIME_STEPS.find((step) => step >= raw) ?? Math.ceil(raw / 86400) * 86400;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  // Steps are whole numbers of steps; epochs are whole once the axis spans a few.
  return axis === 'step' ? Math.max(1, step) : step;
}

/**
 * Ticks at round values inside [min, max]: multiples of a 1-2-5 step (clock steps on the
 * time axis), so an axis that starts at its first point (step 1, epoch 0.01, 2 s) still
 * reads 0, 2 000, 4 000 … rather than 1, 2 001, 4 001 ….
 */
export function roundTicks(min: number, max: number, maxTicks: number, axis: XAxis): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (!(max > min)) return [min];
  const step = niceStep(max - min, maxTicks, axis);
  const ticks: number[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) ticks.push(+(k * step).toPrecision(12));
  // A span narrower than one step (a single step zoomed into): label where it starts.
  return ticks.length > 0 ? ticks : [min];
}
