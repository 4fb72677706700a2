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

/** What Compare can overlay: the per-step training figures and the per-epoch validation ones, with their unit. */
export const compareMetrics: readonly { name: string; label: string; perEpoch: boolean; unit: string }[] = [
  { name: 'loss', label: 'Loss (training, per step)', perEpoch: false, unit: 'nats per image' },
  { name: 'recon', label: 'Reconstruction (per step)', perEpoch: false, unit: 'nats per image' },
  { name: 'kl', label: 'KL (per step)', perEpoch: false, unit: 'nats per image' },
  { name: 'val_loss', label: 'Validation loss (per epoch)', perEpoch: true, unit: 'nats per image' },
  { name: 'val_recon', label: 'Validation reconstruction', perEpoch: true, unit: 'nats per image' },
  { name: 'val_kl', label: 'Validation KL', perEpoch: true, unit: 'nats per image' },
  { name: 'val_active_dims', label: 'Active latent dims', perEpoch: true, unit: 'dimensions' },
  { name: 'val_accuracy', label: 'Validation accuracy (M2)', perEpoch: true, unit: 'share correct' },
  { name: 'val_perplexity', label: 'Codebook perplexity (VQ-VAE)', perEpoch: true, unit: 'codes' },
  { name: 'val_codes_used', label: 'Codes in use (VQ-VAE)', perEpoch: true, unit: 'codes' },
];

/** One stored metric point as the run feed keeps it: every x the chart can plot by. */
export interface SeriesPoint {
  step: number;
  epoch: number;
  /** Milliseconds since the run started. */
  t: number;
  y: number;
}

export interface ChartPoint {
  x: number;
  y: number;
}

export const xAxes = ['step', 'epoch', 'time'] as const;
export type XAxis = (typeof xAxes)[number];

/**
 * Where a point sits on the chosen x axis. Epochs are fractional (step / steps per
 * epoch) so per-step curves spread across each epoch and per-epoch points, recorded at
 * the epoch's last step, land on whole numbers. Until the steps per epoch are known, a
 * point sits at its epoch's start; time is in seconds.
 */
export function xOf(point: SeriesPoint, axis: XAxis, stepsPerEpoch: number | null): number {
  switch (axis) {
    case 'step':
      return point.step;
    case 'epoch':
      return stepsPerEpoch && stepsPerEpoch > 0 ? point.step / stepsPerEpoch : Math.max(0, point.epoch - 1);
    case 'time':
      return point.t / 1000;
  }
}

/**
 * Exponential moving average with TensorBoard's bias correction: the first points are
 * not dragged towards 0, and weight 0 gives the raw values back. Fed one value at a
 * time so a live chart smooths only its new tail.
 */
export class Ema {
  #weight: number;
  #mean = 0;
  #count = 0;

  constructor(weight: number) {
    this.#weight = Math.min(Math.max(weight, 0), 0.999);
  }

  next(value: number): number {
    if (this.#weight === 0) return value;
    this.#mean = this.#mean * this.#weight + (1 - this.#weight) * value;
    this.#count++;
    return this.#mean / (1 - this.#weight ** this.#count);
  }
}

export function smooth(values: readonly number[], weight: number): number[] {
  const ema = new Ema(weight);
  return values.map((value) => ema.next(value));
}

/**
 * A #rrggbb colour at some opacity, for canvas drawing (the theme colours are hex).
 * Anything else comes back unchanged: better opaque than an unparsable colour.
 */
export function withAlpha(color: string, alpha: number): string {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color.trim());
  if (!match) return color;
  const [r, g, b] = match.slice(1).map((hex) => parseInt(hex, 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** Colours for overlaid runs (Compare): distinct in both themes and for common colour blindness. */
export const runPalette = ['#4e79a7', '#e15759', '#59a14f', '#f28e2b', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#ff9da7', '#bab0ac'] as const;

export function runColor(index: number): string {
  return runPalette[index % runPalette.length]!;
}

export interface ChartColors {
  series: string[];
  grid: string;
  text: string;
  faint: string;
  tooltipBg: string;
  border: string;
  accent: string;
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
    accent: read('--accent'),
  };
}
