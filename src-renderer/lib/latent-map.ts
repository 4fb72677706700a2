import type { LatentMapResult, LatentPoint } from '@shared/inference';
import { runPalette } from './chart-series';

/**
 * Geometry of the latent map's scatter plot: data bounds, data ↔ canvas pixels, the
 * point under the pointer and the next one for the arrow keys. Pure, so the canvas
 * component only draws.
 */
export interface Bounds {
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
}

export interface Frame {
  width: number;
  height: number;
  /** Blank border (px) inside the canvas, so edge points are whole. */
  margin: number;
}

/** Bounds around the points with `pad` of the range added on every side; never zero-wide. */
export function mapBounds(points: readonly Pick<LatentPoint, 'x' | 'y'>[], pad = 0.06): Bounds {
  if (points.length === 0) return { minX: -1, maxX: 1, minY: -1, maxY: 1 };
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const p of points) {
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
    minX = Math.min(minX, p.x);
    maxX = Math.max(maxX, p.x);
    minY = Math.min(minY, p.y);
    maxY = Math.max(maxY, p.y);
  }
  if (minX > maxX) return { minX: -1, maxX: 1, minY: -1, maxY: 1 };
  const widen = (lo: number, hi: number): [number, number] => {
    const span = hi - lo;
    if (span <= 1e-9) return [lo - 1, hi + 1];
    return [lo - span * pad, hi + span * pad];
  };
  const [x0, x1] = widen(minX, maxX);
  const [y0, y1] = widen(minY, maxY);
  return { minX: x0, maxX: x1, minY: y0, maxY: y1 };
}

/** Canvas position of a data point; y grows upwards in data, downwards on the canvas. */
export function toPixel(x: number, y: number, bounds: Bounds, frame: Frame): { px: number; py: number } {
  const w = frame.width - 2 * frame.margin;
  const h = frame.height - 2 * frame.margin;
  return {
    px: frame.margin + ((x - bounds.minX) / (bounds.maxX - bounds.minX)) * w,
    py: frame.margin + (1 - (y - bounds.minY) / (bounds.maxY - bounds.minY)) * h,
  };
}

export type MapDirection = 'left' | 'right' | 'up' | 'down';

const DIRECTIONS: Record<MapDirection, [number, number]> = { right: [1, 0], left: [-1, 0], up: [0, 1], down: [0, -1] };

/**
 * The arrow keys' next point from `from` (null: start at the point nearest the middle of
 * the bounds): the nearest one ahead in that direction, sideways distance counting
 * double, measured in the plot's proportions. `from` itself when none is ahead.
 */
export function stepPoint<P extends Pick<LatentPoint, 'x' | 'y'>>(points: readonly P[], from: P | null, direction: MapDirection, bounds: Bounds): P | null {
  const sx = 1 / (bounds.maxX - bounds.minX);
  const sy = 1 / (bounds.maxY - bounds.minY);
  const [ux, uy] = from ? DIRECTIONS[direction] : [0, 0];
  const origin = from ?? { x: (bounds.minX + bounds.maxX) / 2, y: (bounds.minY + bounds.maxY) / 2 };
  let best: P | null = null;
  let bestScore = Infinity;
  for (const point of points) {
    if (point === from) continue;
    const dx = (point.x - origin.x) * sx;
    const dy = (point.y - origin.y) * sy;
    const along = from ? dx * ux + dy * uy : Math.hypot(dx, dy);
    if (from && along <= 0) continue;
    const score = along + 2 * Math.abs(dx * uy - dy * ux);
    if (score < bestScore) {
      best = point;
      bestScore = score;
    }
  }
  return best ?? from;
}

/** The point drawn nearest to (px, py), if it is within `radius` pixels. */
export function nearestPoint<P extends Pick<LatentPoint, 'x' | 'y'>>(
  points: readonly P[],
  bounds: Bounds,
  frame: Frame,
  px: number,
  py: number,
  radius = 10,
): P | null {
  let best: P | null = null;
  let bestDistance = radius * radius;
  for (const point of points) {
    const at = toPixel(point.x, point.y, bounds, frame);
    const distance = (at.px - px) ** 2 + (at.py - py) ** 2;
    if (distance <= bestDistance) {
      best = point;
      bestDistance = distance;
    }
  }
  return best;
}

/** What the axes are, in words: the latent itself or the share of variance PCA kept. */
export function projectionCaption(map: Pick<LatentMapResult, 'projection' | 'explained'>): string {
  if (map.projection === 'latent' || map.explained === null) return 'The latent itself (posterior means, no projection)';
  const [a, b] = map.explained.map((share) => `${Math.round(share * 100)}%`);
  return `PCA, ${a} + ${b} of variance`;
}

export function axisNames(map: Pick<LatentMapResult, 'projection'>): [string, string] {
  return map.projection === 'pca' ? ['PC 1', 'PC 2'] : ['z₀', 'z₁'];
}

/** One colour per label, the same palette Compare uses (distinct for common colour blindness). */
export function labelColor(label: number): string {
  return runPalette[((label % runPalette.length) + runPalette.length) % runPalette.length]!;
}

/** How many points each label has, for the legend (labels with none are left out). */
export function labelCounts(points: readonly Pick<LatentPoint, 'label'>[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const p of points) counts.set(p.label, (counts.get(p.label) ?? 0) + 1);
  return new Map([...counts].sort((a, b) => a[0] - b[0]));
}
