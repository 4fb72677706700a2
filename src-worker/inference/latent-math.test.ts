import { describe, expect, it } from 'vitest';
import { lerp, pca2, slerp, symmetricSteps } from './latent-math';

const norm = (v: ArrayLike<number>): number => Math.hypot(...Array.from(v));

describe('latent paths', () => {
  it('steps are symmetric around zero and include both ends', () => {
    expect(symmetricSteps(3, 7)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
  });

  it('slerp starts and ends at the end points and keeps the norm where lerp shrinks it', () => {
    const a = [3, 0, 0];
    const b = [0, 3, 0];
    expect(Array.from(slerp(a, b, 0))).toEqual([3, 0, 0]);
    expect(Array.from(slerp(a, b, 1)).map((x) => Math.round(x * 1e6) / 1e6)).toEqual([0, 3, 0]);
    expect(norm(slerp(a, b, 0.5))).toBeCloseTo(3, 5);
    expect(norm(lerp(a, b, 0.5))).toBeCloseTo(3 / Math.SQRT2, 5);
  });

  it('slerp falls back to the straight line for parallel codes or the origin', () => {
    expect(Array.from(slerp([1, 1], [2, 2], 0.5))).toEqual(Array.from(lerp([1, 1], [2, 2], 0.5)));
    expect(Array.from(slerp([0, 0], [2, 2], 0.25))).toEqual([0.5, 0.5]);
  });
});

describe('pca2', () => {
  it('finds the axes of an elongated cloud, largest first, with their variance shares', () => {
    // Points along direction (1, 1, 0) with spread 10, along (1, −1, 0) with spread 1, none on z.
    const n = 400;
    const points = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      const u = Math.sin(i * 12.9898) * 10;
      const v = Math.cos(i * 78.233) * 1;
      points.set([(u + v) / Math.SQRT2 + 5, (u - v) / Math.SQRT2 - 2, 0], i * 3);
    }
    const { coords, explained } = pca2(points, n, 3);
    expect(explained[0]).toBeGreaterThan(0.95);
    expect(explained[0] + explained[1]).toBeCloseTo(1, 4);
    // The first coordinate recovers u (up to sign), the second v.
    let dotU = 0;
    let dotV = 0;
    for (let i = 0; i < n; i++) {
      dotU += coords[i * 2]! * Math.sin(i * 12.9898) * 10;
      dotV += coords[i * 2 + 1]! * Math.cos(i * 78.233);
    }
    const normU = Math.sqrt(Array.from({ length: n }, (_, i) => coords[i * 2]! ** 2).reduce((s, x) => s + x, 0));
    const refU = Math.sqrt(Array.from({ length: n }, (_, i) => (Math.sin(i * 12.9898) * 10) ** 2).reduce((s, x) => s + x, 0));
    expect(Math.abs(dotU) / (normU * refU)).toBeGreaterThan(0.999);
    expect(Math.abs(dotV)).toBeGreaterThan(0);
  });

  it('answers zeros, not NaN, for identical points', () => {
    const { coords, explained } = pca2(new Float32Array(12).fill(0.5), 4, 3);
    expect(Array.from(coords).every((x) => x === 0)).toBe(true);
    expect(explained).toEqual([0, 0]);
  });
});
