import { describe, expect, it } from 'vitest';
import { pairedFigures } from './scaling';

describe('pairedFigures (the paired scaling factor)', () => {
  it('gives the true factor when the machine speeds up and slows down under both sides of each pair', () => {
    // One thread 175 ms and two threads 100 ms a step (1.75×), the ceiling's round 190 ms (2 × 175 / 190 = 1.84×),
    // on a machine whose speed drifts from pair to pair by up to 40 %.
    const drift = [1, 1.4, 1.1, 0.9, 1.35, 1.0, 1.2, 0.95, 1.4];
    const paired = pairedFigures(
      2,
      drift.map((d) => 175 * d),
      drift.map((d) => 100 * d),
      drift.map((d) => 190 * d),
    );
    expect(paired.factor).toBeCloseTo(1.75, 10);
    expect(paired.ceiling).toBeCloseTo(350 / 190, 10);
    expect(paired.pairs).toBe(9);
    expect(paired.factors).toHaveLength(9);
  });

  it('is not moved by a few pairs where only one side was disturbed', () => {
    const one = [175, 175, 175, 175, 175, 175, 175];
    const many = [100, 100, 160, 100, 100, 70, 100];
    const paired = pairedFigures(2, one, many, one.map(() => 190));
    expect(paired.factor).toBeCloseTo(1.75, 10);
    expect(paired.factors[0]).toBeCloseTo(175 / 160, 10);
    expect(paired.factors.at(-1)).toBeCloseTo(2.5, 10);
    expect(paired.oneMs).toBe(175);
    expect(paired.manyMs).toBe(100);
  });

  it('takes the mean of the middle two of an even number of pairs', () => {
    const paired = pairedFigures(2, [100, 100, 100, 100], [50, 60, 70, 80], [100, 100, 100, 100]);
    expect(paired.factor).toBeCloseTo((100 / 70 + 100 / 60) / 2, 10);
    expect(paired.manyMs).toBe(65);
  });

  it('refuses times that do not come in whole pairs', () => {
    expect(() => pairedFigures(2, [1, 2], [1], [1, 2])).toThrow(/per pair/);
    expect(() => pairedFigures(2, [], [], [])).toThrow(/per pair/);
  });
});
