/**
 * The curves of the loss chart. Training figures are plotted per step; validation
 * figures arrive once per epoch at the step where the epoch ended.
 */
export interface SeriesSpec {
  /** Metric name as the worker records it. */
  name: string;
  label: string;
  /** CSS variable holding the colour, so both themes pick their own. */
  colorVar: string;
  perEpoch: boolean;
}

export const lossSeries: readonly SeriesSpec[] = [
  { name: 'loss', label: 'loss', colorVar: '--series-loss', perEpoch: false },
  { name: 'recon', label: 'recon', colorVar: '--series-recon', perEpoch: false },
  { name: 'kl', label: 'KL', colorVar: '--series-kl', perEpoch: false },
  { name: 'val_loss', label: 'val loss', colorVar: '--series-val', perEpoch: true },
];

export interface ChartColors {
  series: string[];
  grid: string;
  text: string;
  faint: string;
  tooltipBg: string;
  border: string;
}

export function readChartColors(element: Element): ChartColors {
  const style = getComputedStyle(element);
  const read = (name: string): string => style.getPropertyValue(name).trim();
  return {
    series: lossSeries.map((s) => read(s.colorVar)),
    grid: read('--chart-grid'),
    text: read('--text-muted'),
    faint: read('--text-faint'),
    tooltipBg: read('--bg-elev'),
    border: read('--border-strong'),
  };
}
