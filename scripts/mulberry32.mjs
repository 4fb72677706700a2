// mulberry32: a small seeded generator for the scripts, so a bench or a generated dataset
// is the same every time (src-shared/random.ts is the app's own, with its state exposed).

/** Numbers in [0, 1) drawn from `seed`. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
