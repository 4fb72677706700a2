import { describe, expect, it } from 'vitest';
import { filterKey } from '@shared/run-filter';
import { axisScale } from './parallel-coords';

describe('parallel-coordinates axes', () => {
  it('spaces a choice setting by its choices', () => {
    const scale = axisScale('decoder', filterKey('decoder'), [0, 2]);
    expect(scale.ticks.map((t) => t.label)).toEqual(['bernoulli', 'gaussian', 'logistic']);
    expect(scale.position(1)).toBe(0.5);
  });

  it('puts a wide positive range (a learning rate) on a log scale, a narrow one linear', () => {
    const lr = axisScale('learningRate', filterKey('learningRate'), [1e-4, 1e-3, 1e-2]);
    expect(lr.log).toBe(true);
    expect(lr.position(1e-3)).toBeCloseTo(0.5, 12);
    const beta = axisScale('beta', filterKey('beta'), [1, 2, 3, null]);
    expect(beta.log).toBe(false);
    expect(beta.position(2)).toBe(0.5);
    expect(axisScale('seed', filterKey('seed'), [4, 4]).position(4)).toBe(0.5);
  });
});
