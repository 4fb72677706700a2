import { describe, expect, it } from 'vitest';
import { formatOffset, gridGeometry, pixelScale } from './image-grid';

describe('image grids', () => {
  it('reads the gap and the row and column centres back from the picture size', () => {
    // 9 columns × 4 rows of 28 px tiles with a 2 px gap: 9·28 + 10·2 = 272, 4·28 + 5·2 = 122.
    const geometry = gridGeometry({ width: 272, height: 122 }, 4, 9, { width: 28, height: 28 });
    expect(geometry.gap).toBe(2);
    expect(geometry.rowCenters).toHaveLength(4);
    expect(geometry.rowCenters[0]).toBeCloseTo(16 / 122);
    expect(geometry.rowCenters[3]).toBeCloseTo((2 + 3 * 30 + 14) / 122);
    expect(geometry.colCenters[8]).toBeCloseTo((2 + 8 * 30 + 14) / 272);
  });

  it('zooms by whole pixels to fit, within limits', () => {
    expect(pixelScale(272, 900)).toBe(3);
    expect(pixelScale(272, 200)).toBe(1);
    expect(pixelScale(30, 2000, 6)).toBe(6);
    expect(pixelScale(0, 500)).toBe(1);
  });

  it('labels traversal offsets with a sign', () => {
    expect([-3, -0.75, 0, 1.5, 3].map(formatOffset)).toEqual(['−3', '−0.75', '0', '+1.5', '+3']);
    expect(formatOffset(1e-12)).toBe('0');
  });
});
