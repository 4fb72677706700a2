import { describe, expect, it } from 'vitest';
import { spreadByLabel } from './pick-strip';

const image = (index: number, label: number) => ({ index, label });

describe('spreadByLabel', () => {
  it('takes every label before a second image of any, grouped by label', () => {
    // Stored sorted by label, as a test split often is: the first page alone would be all 0s.
    const images = [image(1, 0), image(2, 0), image(3, 0), image(4, 0), image(5, 1), image(6, 1), image(7, 2)];
    expect(spreadByLabel(images, 3).map((i) => i.index)).toEqual([1, 5, 7]);
    expect(spreadByLabel(images, 5).map((i) => i.index)).toEqual([1, 2, 5, 6, 7]);
  });

  it('returns everything when there are fewer images than asked for', () => {
    const images = [image(9, 1), image(3, 0), image(4, 1)];
    expect(spreadByLabel(images, 10).map((i) => i.index)).toEqual([3, 9, 4]);
    expect(spreadByLabel([], 4)).toEqual([]);
  });
});
