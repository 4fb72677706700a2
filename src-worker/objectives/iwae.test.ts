import { describe, expect, it } from 'vitest';
import { createRng } from '../engine/random';
import { dequantize, LogMeanExp, nllReport } from './iwae';

describe('IWAE helpers', () => {
  it('streams log-mean-exp over chunks exactly like the direct formula, even for huge log-weights', () => {
    const rng = createRng(1);
    const rows = 3;
    const k = 50;
    const logW = Array.from({ length: rows * k }, () => -1000 + 30 * rng.normal());
    const acc = new LogMeanExp(rows);
    for (let from = 0; from < k; from += 7) {
      const to = Math.min(k, from + 7);
      const chunk: number[] = [];
      for (let i = 0; i < rows; i++) for (let j = from; j < to; j++) chunk.push(logW[i * k + j]!);
      acc.add(chunk, to - from);
    }
    const result = acc.result();
    for (let i = 0; i < rows; i++) {
      const row = logW.slice(i * k, (i + 1) * k);
      const max = Math.max(...row);
      const direct = max + Math.log(row.reduce((s, w) => s + Math.exp(w - max), 0) / k);
      expect(result[i]).toBeCloseTo(direct, 9);
    }
  });

  it('dequantizes 8-bit levels k/255 to (k + u)/256 inside the level’s bin', () => {
    const levels = Float32Array.from([0, 1, 128 / 255, 37 / 255]);
    const y = dequantize(levels, createRng(2));
    [0, 255, 128, 37].forEach((k, i) => {
      expect(y[i]).toBeGreaterThanOrEqual(k / 256);
      expect(y[i]).toBeLessThan((k + 1) / 256);
    });
  });

  it('reports bits/dim as NLL/(D ln 2), adding D·ln 256 for continuous decoders', () => {
    const D = 784;
    expect(nllReport(-86.8, D, 'bernoulli')).toEqual({ nll: 86.8, bitsPerDim: 86.8 / (D * Math.LN2) });
    const gaussian = nllReport(2000, D, 'gaussian');
    expect(gaussian.nll).toBeCloseTo(-2000 + D * Math.log(256), 9);
    expect(gaussian.bitsPerDim).toBeCloseTo(8 - 2000 / (D * Math.LN2), 9);
  });
});
