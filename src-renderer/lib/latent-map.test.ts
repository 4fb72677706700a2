import { describe, expect, it } from 'vitest';
import { axisNames, labelColor, labelCounts, mapBounds, nearestPoint, projectionCaption, stepPoint, toPixel } from './latent-map';

const frame = { width: 220, height: 120, margin: 10 };

describe('latent map geometry', () => {
  it('pads the bounds and never makes a zero-wide axis', () => {
    expect(mapBounds([{ x: 0, y: 10 }, { x: 10, y: 20 }], 0.1)).toEqual({ minX: -1, maxX: 11, minY: 9, maxY: 21 });
    expect(mapBounds([{ x: 2, y: 3 }])).toEqual({ minX: 1, maxX: 3, minY: 2, maxY: 4 });
    expect(mapBounds([])).toEqual({ minX: -1, maxX: 1, minY: -1, maxY: 1 });
    // A NaN (a diverged model) does not poison the axes.
    expect(mapBounds([{ x: Number.NaN, y: 0 }, { x: 0, y: 0 }, { x: 4, y: 2 }], 0)).toEqual({ minX: 0, maxX: 4, minY: 0, maxY: 2 });
  });

  it('maps data to pixels inside the margin, y upwards', () => {
    const bounds = { minX: 0, maxX: 2, minY: 0, maxY: 1 };
    expect(toPixel(0, 0, bounds, frame)).toEqual({ px: 10, py: 110 });
    expect(toPixel(2, 1, bounds, frame)).toEqual({ px: 210, py: 10 });
    expect(toPixel(1, 0.5, bounds, frame)).toEqual({ px: 110, py: 60 });
  });

  it('finds the nearest point under the pointer, or none beyond the radius', () => {
    const bounds = { minX: 0, maxX: 2, minY: 0, maxY: 1 };
    const points = [
      { index: 5, label: 0, x: 0, y: 0 },
      { index: 9, label: 1, x: 1, y: 0.5 },
      { index: 12, label: 2, x: 1.05, y: 0.5 },
    ];
    expect(nearestPoint(points, bounds, frame, 12, 108)?.index).toBe(5);
    // 9 sits at (110, 60), 12 at (115, 60): the pointer at 114 is nearer 12.
    expect(nearestPoint(points, bounds, frame, 114, 60)?.index).toBe(12);
    expect(nearestPoint(points, bounds, frame, 111, 61)?.index).toBe(9);
    expect(nearestPoint(points, bounds, frame, 160, 20, 10)).toBeNull();
  });

  it('says what the axes are', () => {
    expect(projectionCaption({ projection: 'pca', explained: [0.4149, 0.2051] })).toBe('PCA, 41% + 21% of variance');
    expect(projectionCaption({ projection: 'latent', explained: null })).toMatch(/latent itself/);
    expect(axisNames({ projection: 'pca' })).toEqual(['PC 1', 'PC 2']);
    expect(axisNames({ projection: 'latent' })).toEqual(['z₀', 'z₁']);
  });

  it('gives each label its own colour and counts the legend', () => {
    const colours = new Set(Array.from({ length: 10 }, (_, i) => labelColor(i)));
    expect(colours.size).toBe(10);
    expect(labelColor(10)).toBe(labelColor(0));
    expect([...labelCounts([{ label: 3 }, { label: 1 }, { label: 3 }])]).toEqual([
      [1, 1],
      [3, 2],
    ]);
  });

  it('steps with the arrow keys to the nearest point ahead, starting in the middle', () => {
    const grid = [
      { x: 0, y: 0, id: 'middle' },
      { x: 1, y: 0.1, id: 'right' },
      { x: 2, y: 0, id: 'far right' },
      { x: 0.3, y: 1, id: 'up' },
      { x: -1, y: -1, id: 'down left' },
    ];
    const bounds = { minX: -2, maxX: 2, minY: -2, maxY: 2 };
    const [middle, right, farRight, up] = grid;
    expect(stepPoint(grid, null, 'right', bounds)).toBe(middle);
    expect(stepPoint(grid, middle!, 'right', bounds)).toBe(right);
    expect(stepPoint(grid, right!, 'right', bounds)).toBe(farRight);
    expect(stepPoint(grid, farRight!, 'right', bounds)).toBe(farRight);
    expect(stepPoint(grid, middle!, 'up', bounds)).toBe(up);
    expect(stepPoint(grid, middle!, 'down', bounds)?.id).toBe('down left');
    expect(stepPoint(grid, middle!, 'left', bounds)?.id).toBe('down left');
    expect(stepPoint([], null, 'left', bounds)).toBeNull();
  });
});
