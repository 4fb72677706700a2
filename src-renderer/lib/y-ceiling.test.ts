import { describe, expect, it } from 'vitest';
import { applyYCeiling, outlierCeiling } from './y-ceiling';

/** A loss curve falling from `start` towards `end` over `steps` steps, with a little noise. */
function lossCurve(steps: number, start: number, end: number): number[] {
  return Array.from({ length: steps }, (_, i) => end + (start - end) * Math.exp(-i / (steps / 10)) + ((i * 7919) % 13) - 6);
}

describe('outlierCeiling (a y-axis top that one diverging step does not set)', () => {
  it('sets aside an early spike far above the rest of the run', () => {
    const run = lossCurve(400, 80_000, 30_000);
    run[1] = 530_000;
    const ceiling = outlierCeiling(run);
    expect(ceiling).not.toBeNull();
    expect(ceiling!.above).toBe(1);
    expect(ceiling!.highest).toBe(530_000);
    // Just above the highest point kept (79 994 at step 1), on a round value.
    const kept = Math.max(...run.filter((v) => v !== 530_000));
    expect(ceiling!.max).toBeGreaterThan(kept);
    expect(ceiling!.max).toBeLessThanOrEqual(90_000);
    expect(ceiling!.max % 1000).toBe(0);
  });

  it('keeps a curve whose early descent is its own: hundreds of high points are not outliers', () => {
    expect(outlierCeiling(lossCurve(1000, 550, 100))).toBeNull();
    expect(outlierCeiling(lossCurve(50, 550, 100))).toBeNull();
  });

  it('sets aside two spikes, not three on a short run (3 of 100 points is no longer a few)', () => {
    const run = Array.from({ length: 100 }, (_, i) => 100 + (i % 5));
    run[3] = 5000;
    run[40] = 7000;
    expect(outlierCeiling(run)).toMatchObject({ above: 2, highest: 7000 });
    run[70] = 6000;
    expect(outlierCeiling(run)).toBeNull();
  });

  it('leaves points that would not squash the chart: setting them aside must shrink the axis to a quarter', () => {
    // Setting it aside would shrink the axis by 40 % only.
    const run = Array.from({ length: 200 }, (_, i) => 100 + (i % 10));
    run[5] = 115;
    expect(outlierCeiling(run)).toBeNull();
  });

  it('says nothing about too few points, and ignores values that are not finite', () => {
    expect(outlierCeiling([1, 1, 1, 1, 1, 1, 1000])).toBeNull();
    const run = [...lossCurve(300, 200, 100), Number.NaN, Number.POSITIVE_INFINITY];
    run[0] = 100_000;
    expect(outlierCeiling(run)).toMatchObject({ above: 1, highest: 100_000 });
  });

  it('works below zero (an ELBO, a negative log-likelihood bound)', () => {
    const run = lossCurve(300, -100, -600);
    run[2] = 40_000;
    const ceiling = outlierCeiling(run)!;
    expect(ceiling.above).toBe(1);
    expect(ceiling.max).toBeGreaterThan(-100 - 7);
    expect(ceiling.max).toBeLessThan(0);
  });

  it('sets the y axis top on the chart, and clears it again', () => {
    const chart = { options: { scales: { y: {} as { max?: number } } } };
    applyYCeiling(chart as never, { max: 90_000, above: 1, highest: 530_000 });
    expect(chart.options.scales.y.max).toBe(90_000);
    applyYCeiling(chart as never, null);
    expect('max' in chart.options.scales.y).toBe(false);
  });
});
