import { describe, expect, it } from 'vitest';
import { REROLL_MAX, rerollSeed } from './seed';

describe('rerollSeed', () => {
  it('draws whole seeds from 1 to 2^30 and spreads them', () => {
    const seen = new Set<number>();
    let seed = 1;
    for (let i = 0; i < 1000; i++) {
      seed = rerollSeed(seed);
      expect(Number.isInteger(seed)).toBe(true);
      expect(seed).toBeGreaterThanOrEqual(1);
      expect(seed).toBeLessThanOrEqual(REROLL_MAX);
      seen.add(seed);
    }
    expect(seen.size).toBeGreaterThan(990);
    expect(rerollSeed(5, () => 0)).toBe(1);
    expect(rerollSeed(5, () => 1 - 2 ** -53)).toBe(REROLL_MAX);
  });

  it('never answers the seed already on screen, so "New samples" always changes the pictures', () => {
    // random() values that land exactly on the current seed.
    expect(rerollSeed(1, () => 0)).not.toBe(1);
    expect(rerollSeed(REROLL_MAX, () => 1 - 2 ** -53)).not.toBe(REROLL_MAX);
    const current = 12345;
    const onCurrent = (current - 1) / REROLL_MAX;
    expect(rerollSeed(current, () => onCurrent)).not.toBe(current);
  });
});
