import { describe, expect, it } from 'vitest';
import { Ema, runColor, smooth, withAlpha, xOf, type SeriesPoint } from './chart-series';

describe('x axes', () => {
  const point: SeriesPoint = { step: 30, epoch: 2, t: 4_500, y: 1 };

  it('plots by step, by fractional epoch and by seconds', () => {
    expect(xOf(point, 'step', 20)).toBe(30);
    expect(xOf(point, 'epoch', 20)).toBe(1.5);
    expect(xOf({ ...point, step: 40 }, 'epoch', 20)).toBe(2);
    expect(xOf(point, 'time', 20)).toBe(4.5);
  });

  it('puts a point at its epoch start while the steps per epoch are unknown', () => {
    expect(xOf(point, 'epoch', null)).toBe(1);
    expect(xOf({ ...point, epoch: 0 }, 'epoch', null)).toBe(0);
  });
});

describe('EMA smoothing', () => {
  it('gives the raw values back at weight 0', () => {
    expect(smooth([3, 1, 4, 1, 5], 0)).toEqual([3, 1, 4, 1, 5]);
  });

  it('is bias-corrected: a constant stays constant from the first point', () => {
    for (const value of smooth([7, 7, 7, 7], 0.9)) expect(value).toBeCloseTo(7, 10);
  });

  it('damps noise and follows a step change with the expected lag', () => {
    const noisy = Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 11 : 9));
    const smoothed = smooth(noisy, 0.9);
    expect(Math.abs(smoothed.at(-1)! - 10)).toBeLessThan(0.2);
    // After one step of a jump from 0 to 1, a 0.5-weight EMA (corrected) sits at 2/3.
    expect(smooth([0, 1], 0.5)[1]).toBeCloseTo(2 / 3, 10);
  });

  it('smooths one value at a time exactly like the whole series', () => {
    const values = [5, 3, 8, 2, 9, 4];
    const ema = new Ema(0.6);
    expect(values.map((v) => ema.next(v))).toEqual(smooth(values, 0.6));
  });
});

describe('run colours', () => {
  it('gives the first ten runs distinct colours and then repeats', () => {
    const colors = Array.from({ length: 10 }, (_, i) => runColor(i));
    expect(new Set(colors).size).toBe(10);
    expect(runColor(10)).toBe(runColor(0));
  });
});

describe('withAlpha', () => {
  it('turns a hex colour into rgba and leaves other colours alone', () => {
    expect(withAlpha('#5b5bd6', 0.25)).toBe('rgba(91, 91, 214, 0.25)');
    expect(withAlpha(' #FFFFFF', 1)).toBe('rgba(255, 255, 255, 1)');
    expect(withAlpha('rebeccapurple', 0.5)).toBe('rebeccapurple');
  });
});
