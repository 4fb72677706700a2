import { describe, expect, it } from 'vitest';
import { SPLIT_TEST, SPLIT_TRAIN, SPLIT_VALIDATION } from '@shared/dataset-format';
import { chooseSplit } from './split';

describe('train/validation split', () => {
  it('uses the split stored in the dataset and keeps test images apart', () => {
    const codes = Uint8Array.of(SPLIT_TRAIN, SPLIT_TEST, SPLIT_VALIDATION, SPLIT_TRAIN, SPLIT_TEST);
    const split = chooseSplit(5, codes, { validationFraction: 0.5, seed: 1 });
    expect(Array.from(split.train)).toEqual([0, 3]);
    expect(Array.from(split.validation)).toEqual([2]);
    expect(Array.from(split.test)).toEqual([1, 4]);
    expect(split.source).toBe('dataset');
  });

  it('falls back to a seeded split of the whole set for files without split codes', () => {
    const split = chooseSplit(100, undefined, { validationFraction: 0.2, seed: 4 });
    expect(split.validation).toHaveLength(20);
    expect(new Set([...split.train, ...split.validation]).size).toBe(100);
    expect(split.test).toHaveLength(0);
    expect(chooseSplit(100, undefined, { validationFraction: 0.2, seed: 4 }).validation).toEqual(split.validation);
  });
});
