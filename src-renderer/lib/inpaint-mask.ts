import { makeMask, type MaskKind } from '@shared/pixel-mask';

/**
 * The Inpaint view's mask: one byte per pixel (1 = missing), edited by brush, rectangle
 * and eraser, with undo/redo. Pure functions over Uint8Array, so the painting canvas
 * only turns pointer positions into pixel coordinates and calls these.
 */
export type MaskTool = 'brush' | 'rect' | 'eraser';

/** Set every pixel whose centre lies within `radius` pixels of (cx, cy) to `value`. A radius below 1 still paints the pixel under the pointer. */
export function paintDisc(mask: Uint8Array, width: number, height: number, cx: number, cy: number, radius: number, value: 0 | 1): void {
  const r = Math.max(0.5, radius);
  const x0 = Math.max(0, Math.floor(cx - r));
  const x1 = Math.min(width - 1, Math.ceil(cx + r));
  const y0 = Math.max(0, Math.floor(cy - r));
  const y1 = Math.min(height - 1, Math.ceil(cy + r));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r) mask[y * width + x] = value;
    }
  }
}

/** Paint discs along the segment from (ax, ay) to (bx, by), so a fast stroke leaves no gaps. */
export function paintStroke(
  mask: Uint8Array,
  width: number,
  height: number,
  from: { x: number; y: number },
  to: { x: number; y: number },
  radius: number,
  value: 0 | 1,
): void {
  const distance = Math.hypot(to.x - from.x, to.y - from.y);
  const steps = Math.max(1, Math.ceil(distance / Math.max(0.5, radius / 2)));
  for (let i = 0; i <= steps; i++) {
    const t = i / steps;
    paintDisc(mask, width, height, from.x + (to.x - from.x) * t, from.y + (to.y - from.y) * t, radius, value);
  }
}

/** Pixels of the rectangle spanned by two corners (inclusive, clipped to the image). */
export function fillRect(mask: Uint8Array, width: number, height: number, a: { x: number; y: number }, b: { x: number; y: number }, value: 0 | 1): void {
  const x0 = Math.max(0, Math.floor(Math.min(a.x, b.x)));
  const x1 = Math.min(width - 1, Math.floor(Math.max(a.x, b.x)));
  const y0 = Math.max(0, Math.floor(Math.min(a.y, b.y)));
  const y1 = Math.min(height - 1, Math.floor(Math.max(a.y, b.y)));
  for (let y = y0; y <= y1; y++) mask.fill(value, y * width + x0, y * width + x1 + 1);
}

export function invertMask(mask: Uint8Array): Uint8Array {
  return mask.map((v) => (v ? 0 : 1));
}

/** A ready-made mask (random 50 %, top or bottom half); random masks differ per `seed`. */
export function presetMask(kind: MaskKind, width: number, height: number, seed: number): Uint8Array {
  let state = (seed * 2654435761) >>> 0 || 1;
  const uniform = (): number => {
    // xorshift32: fine for a picture of random pixels.
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
  return makeMask(kind, width, height, uniform);
}

export const countMissing = (mask: Uint8Array): number => mask.reduce((s, v) => s + v, 0);

/** Undo/redo over whole masks (small: one byte per pixel), at most `limit` steps back. */
export class MaskHistory {
  private past: Uint8Array[] = [];
  private future: Uint8Array[] = [];

  constructor(private readonly limit = 100) {}

  /** Remember `current` before it is changed. */
  record(current: Uint8Array): void {
    this.past.push(current.slice());
    if (this.past.length > this.limit) this.past.shift();
    this.future = [];
  }

  get canUndo(): boolean {
    return this.past.length > 0;
  }

  get canRedo(): boolean {
    return this.future.length > 0;
  }

  /** The mask before the last change, or null; `current` goes to the redo stack. */
  undo(current: Uint8Array): Uint8Array | null {
    const previous = this.past.pop();
    if (!previous) return null;
    this.future.push(current.slice());
    return previous;
  }

  redo(current: Uint8Array): Uint8Array | null {
    const next = this.future.pop();
    if (!next) return null;
    this.past.push(current.slice());
    return next;
  }

  clear(): void {
    this.past = [];
    this.future = [];
  }
}
