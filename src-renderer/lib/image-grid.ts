/**
 * Layout of the worker's image grids (src-worker/train/grid.ts): `rows × cols` tiles of
 * one size with the same gap around and between them. Read back from the picture's own
 * size, so row labels can sit exactly beside their rows at any zoom.
 */
export interface GridGeometry {
  gap: number;
  cellWidth: number;
  cellHeight: number;
  /** Centre of each row, as a share of the picture's height (0 = top). */
  rowCenters: number[];
  /** Centre of each column, as a share of the picture's width. */
  colCenters: number[];
}

export function gridGeometry(
  natural: { width: number; height: number },
  rows: number,
  cols: number,
  tile: { width: number; height: number },
): GridGeometry {
  // width = cols·w + (cols + 1)·gap; the same gap from the height as a cross-check.
  const gap = Math.max(0, (natural.width - cols * tile.width) / (cols + 1));
  const center = (i: number, size: number, total: number): number => (gap + i * (size + gap) + size / 2) / total;
  return {
    gap,
    cellWidth: tile.width,
    cellHeight: tile.height,
    rowCenters: Array.from({ length: rows }, (_, r) => center(r, tile.height, natural.height)),
    colCenters: Array.from({ length: cols }, (_, c) => center(c, tile.width, natural.width)),
  };
}

/**
 * The whole-number zoom at which a `naturalWidth` picture fits `available` pixels (so
 * every source pixel is the same square on screen), between 1 and `max`.
 */
export function pixelScale(naturalWidth: number, available: number, max = 8): number {
  if (naturalWidth <= 0 || available <= 0) return 1;
  return Math.max(1, Math.min(max, Math.floor(available / naturalWidth)));
}

/** Offsets along a traversal row as labels: "−3", "0", "+1.5". */
export function formatOffset(value: number): string {
  const rounded = Math.round(value * 100) / 100;
  if (rounded === 0) return '0';
  const text = Math.abs(rounded).toString();
  return rounded > 0 ? `+${text}` : `−${text}`;
}
