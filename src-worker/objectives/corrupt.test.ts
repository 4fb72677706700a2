import { describe, expect, it } from 'vitest';
import { createRng } from '../engine/random';
import { corruptBatch } from './corrupt';

const settings = { denoise: 'none' as const, denoiseSigma: 0.2, denoiseMaskProb: 0.25 };

describe('denoising corruption', () => {
  it('adds clipped Gaussian noise of the configured σ and leaves the clean batch alone', () => {
    const clean = new Float32Array(20_000).fill(0.5);
    const noisy = corruptBatch(clean, 1, { ...settings, denoise: 'gaussian' }, createRng(1));
    expect(clean.every((v) => v === 0.5)).toBe(true);
    expect(noisy.every((v) => v >= 0 && v <= 1)).toBe(true);
    const mean = noisy.reduce((a, b) => a + b, 0) / noisy.length;
    const sd = Math.sqrt(noisy.reduce((a, b) => a + (b - mean) ** 2, 0) / noisy.length);
    expect(mean).toBeCloseTo(0.5, 2);
    expect(sd).toBeGreaterThan(0.19);
    expect(sd).toBeLessThan(0.21);
  });

  it('masks whole pixels (every channel) with probability p', () => {
    const clean = new Float32Array(3 * 10_000).fill(1);
    const masked = corruptBatch(clean, 3, { ...settings, denoise: 'mask' }, createRng(2));
    let dropped = 0;
    for (let p = 0; p < masked.length; p += 3) {
      const channels = [masked[p], masked[p + 1], masked[p + 2]];
      expect(new Set(channels).size).toBe(1);
      if (channels[0] === 0) dropped++;
    }
    expect(dropped / 10_000).toBeGreaterThan(0.23);
    expect(dropped / 10_000).toBeLessThan(0.27);
  });

  it('is reproducible from the stream state', () => {
    const clean = new Float32Array(100).fill(0.5);
    const rng = createRng(3);
    const state = rng.getState();
    const a = corruptBatch(clean, 1, { ...settings, denoise: 'gaussian' }, rng);
    rng.setState(state);
    expect(corruptBatch(clean, 1, { ...settings, denoise: 'gaussian' }, rng)).toEqual(a);
  });
});
