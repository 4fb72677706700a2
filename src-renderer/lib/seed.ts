/** Seeds the "New samples" buttons draw: whole numbers from 1 to 2^30. */
export const REROLL_MAX = 2 ** 30;

/**
 * A fresh random seed for a "New samples" / "Resample" button. Never the seed on screen:
 * drawing the same one again would ask for the same pictures and the click would seem to
 * do nothing. `random` is injectable for tests.
 */
export function rerollSeed(current: number, random: () => number = Math.random): number {
  const next = 1 + Math.floor(random() * REROLL_MAX);
  if (next !== current) return next;
  return next === REROLL_MAX ? 1 : next + 1;
}
