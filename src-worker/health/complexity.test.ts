import { describe, expect, it } from 'vitest';
import { compressedBitsPerDim } from './complexity';

describe('input complexity (compressed bits/dim)', () => {
  it('ranks flat below sparse strokes below smooth shapes below noise; noise costs about 8 bits per value', () => {
    const W = 28;
    const flat = new Uint8Array(W * W).fill(90);
    const strokes = new Uint8Array(W * W);
    for (let i = 4; i < 24; i++) strokes[i * W + 14] = 255;
    const blob = Uint8Array.from({ length: W * W }, (_, i) => {
      const x = (i % W) - 14;
      const y = Math.floor(i / W) - 14;
      return Math.max(0, 255 - Math.round(((x * x + y * y) * 255) / 60) + ((i * 37) % 5));
    });
    let s = 12345;
    const noise = Uint8Array.from({ length: W * W }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24));
    const bits = [flat, strokes, blob, noise].map((px) => compressedBitsPerDim(px, W, W, 1));
    expect(bits[0]!).toBeLessThan(bits[1]!);
    expect(bits[1]!).toBeLessThan(bits[2]!);
    expect(bits[2]!).toBeLessThan(bits[3]!);
    expect(bits[0]!).toBeLessThan(0.25);
    expect(bits[3]!).toBeGreaterThan(7.5);
    expect(bits[3]!).toBeLessThan(8.6);
  });

  it('filters colour images by pixel, not by byte (a smooth RGB ramp compresses well)', () => {
    const W = 16;
    const ramp = Uint8Array.from({ length: W * W * 3 }, (_, i) => ((Math.floor(i / 3) % W) * 16 + (i % 3) * 5) & 0xff);
    expect(compressedBitsPerDim(ramp, W, W, 3)).toBeLessThan(1);
  });
});
