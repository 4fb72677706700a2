import { describe, expect, it } from 'vitest';
import { countMissing, fillRect, invertMask, MaskHistory, paintDisc, paintStroke, presetMask } from './inpaint-mask';

const grid = (mask: Uint8Array, width: number): string[] =>
  Array.from({ length: mask.length / width }, (_, y) => Array.from(mask.subarray(y * width, (y + 1) * width)).join(''));

describe('inpaint mask editing', () => {
  it('a disc covers the pixels whose centres are within the radius, clipped at the edges', () => {
    const mask = new Uint8Array(25);
    paintDisc(mask, 5, 5, 2.5, 2.5, 1, 1);
    expect(grid(mask, 5)).toEqual(['00000', '00100', '01110', '00100', '00000']);
    paintDisc(mask, 5, 5, 0, 0, 1, 1);
    expect(mask[0]).toBe(1);
    paintDisc(mask, 5, 5, 2.5, 2.5, 0.2, 0);
    expect(mask[12]).toBe(0);
  });

  it('a fast stroke leaves no gap, and the eraser clears what it crosses', () => {
    const mask = new Uint8Array(10 * 3);
    paintStroke(mask, 10, 3, { x: 0.5, y: 1.5 }, { x: 9.5, y: 1.5 }, 0.5, 1);
    expect(grid(mask, 10)[1]).toBe('1111111111');
    paintStroke(mask, 10, 3, { x: 3.5, y: 1.5 }, { x: 5.5, y: 1.5 }, 0.5, 0);
    expect(grid(mask, 10)[1]).toBe('1110001111');
  });

  it('rectangles span both corners in any order, inclusive', () => {
    const mask = new Uint8Array(16);
    fillRect(mask, 4, 4, { x: 2.9, y: 2.2 }, { x: 1.1, y: 0.5 }, 1);
    expect(grid(mask, 4)).toEqual(['0110', '0110', '0110', '0000']);
    expect(countMissing(mask)).toBe(6);
    expect(countMissing(invertMask(mask))).toBe(10);
  });

  it('presets: half the pixels at random (different per seed), the top or the bottom half', () => {
    const a = presetMask('random50', 28, 28, 1);
    const b = presetMask('random50', 28, 28, 2);
    expect(Math.abs(countMissing(a) / 784 - 0.5)).toBeLessThan(0.06);
    expect(Array.from(a)).not.toEqual(Array.from(b));
    const top = presetMask('top', 28, 28, 1);
    expect(countMissing(top)).toBe(392);
    expect(top[0]).toBe(1);
    expect(top[783]).toBe(0);
  });

  it('undo and redo walk back and forth; a new change drops the redo steps', () => {
    const history = new MaskHistory();
    let mask: Uint8Array = new Uint8Array(4);
    history.record(mask);
    mask = Uint8Array.of(1, 0, 0, 0);
    history.record(mask);
    mask = Uint8Array.of(1, 1, 0, 0);
    mask = history.undo(mask)!;
    expect(Array.from(mask)).toEqual([1, 0, 0, 0]);
    mask = history.undo(mask)!;
    expect(Array.from(mask)).toEqual([0, 0, 0, 0]);
    expect(history.undo(mask)).toBeNull();
    mask = history.redo(mask)!;
    expect(Array.from(mask)).toEqual([1, 0, 0, 0]);
    history.record(mask);
    expect(history.canRedo).toBe(false);
  });
});
