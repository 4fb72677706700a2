import { describe, expect, it } from 'vitest';
import { defaultRunConfig } from '@shared/config';
import { learningRateAt, objectiveAt } from './schedule';

const config = { ...defaultRunConfig(), beta: 4, klWarmupSteps: 100, capacityMax: 20, capacitySteps: 200 };

describe('schedules', () => {
  it('KL warm-up ramps β linearly from 0 to β over N steps, then holds', () => {
    expect(objectiveAt(config, 1).klWeight).toBeCloseTo(0.04, 10);
    expect(objectiveAt(config, 50).klWeight).toBeCloseTo(2, 10);
    expect(objectiveAt(config, 100).klWeight).toBe(4);
    expect(objectiveAt(config, 5000).klWeight).toBe(4);
    expect(objectiveAt({ ...config, klWarmupSteps: 0 }, 1).klWeight).toBe(4);
  });

  it('capacity C(t) rises linearly from 0 to C_max over its steps', () => {
    expect(objectiveAt(config, 50).capacity).toBeCloseTo(5, 10);
    expect(objectiveAt(config, 200).capacity).toBe(20);
    expect(objectiveAt(config, 10_000).capacity).toBe(20);
  });

  it('learning rate: none, exponential lr·r^(t/N) and step lr·r^⌊t/N⌋, starting at the base rate', () => {
    const base = { ...config, learningRate: 0.01, lrDecayRate: 0.5, lrDecaySteps: 10 };
    expect(learningRateAt({ ...base, lrDecay: 'none' }, 1000)).toBe(0.01);
    expect(learningRateAt({ ...base, lrDecay: 'exponential' }, 1)).toBe(0.01);
    expect(learningRateAt({ ...base, lrDecay: 'exponential' }, 6)).toBeCloseTo(0.01 * 0.5 ** 0.5, 12);
    expect(learningRateAt({ ...base, lrDecay: 'exponential' }, 21)).toBeCloseTo(0.0025, 12);
    expect(learningRateAt({ ...base, lrDecay: 'step' }, 10)).toBe(0.01);
    expect(learningRateAt({ ...base, lrDecay: 'step' }, 11)).toBe(0.005);
    expect(learningRateAt({ ...base, lrDecay: 'step' }, 25)).toBe(0.0025);
  });
});
