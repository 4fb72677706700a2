import { describe, expect, it } from 'vitest';
import type { SeriesPoint } from './chart-series';
import { klSnapshot, latestKlEpoch, recordedKlDims } from './kl-dims';

const p = (epoch: number, y: number): SeriesPoint => ({ step: epoch * 10, epoch, t: epoch * 1000, y });

describe('KL per latent dim', () => {
  const series: Record<string, SeriesPoint[]> = {
    kl_dim_0: [p(1, 2.5), p(2, 3.1), p(3, 3.4)],
    kl_dim_1: [p(1, 0.2), p(2, 0.004), p(3, 0.002)],
    kl_dim_2: [p(1, 0.009), p(2, 0.5), p(3, 0.8)],
    loss: [p(1, 100)],
  };

  it('takes the newest epoch by default and marks dims above 0.01 nats as active', () => {
    const snapshot = klSnapshot(series, 3, null);
    expect(snapshot).toEqual({ epoch: 3, values: [3.4, 0.002, 0.8], active: [true, false, true], activeCount: 2 });
    expect(latestKlEpoch(series)).toBe(3);
  });

  it('answers for an earlier epoch (the step slider)', () => {
    expect(klSnapshot(series, 3, 1)).toMatchObject({ epoch: 1, values: [2.5, 0.2, 0.009], activeCount: 2 });
  });

  it('is null before the first epoch and for an epoch without figures', () => {
    expect(klSnapshot({}, 3, null)).toBeNull();
    expect(klSnapshot(series, 3, 7)).toBeNull();
  });

  it('leaves a dim it has no point for as NaN, not as an inactive zero', () => {
    const snapshot = klSnapshot(series, 4, 2)!;
    expect(snapshot.values[3]).toBeNaN();
    expect(snapshot.active[3]).toBe(false);
  });

  it('counts the dims that have a series, so a VQ-VAE grid wider than the latent setting shows whole', () => {
    const point = { step: 1, epoch: 1, t: 0, y: 1 };
    expect(recordedKlDims({})).toBe(0);
    expect(recordedKlDims({ kl_dim_0: [point], kl_dim_1: [point], kl_dim_2: [point], kl_dim_4: [point] })).toBe(3);
  });
});
