/** Small seeded PRNG (mulberry32): reproducible splits and shuffles on every platform. */
export function mulberry32(seed: number): () => number {
  const stream = mulberry32Stream(seed);
  return stream.next;
}

/**
 * mulberry32 with its 32-bit state readable and settable, so a checkpoint can store
 * where a stream was and a resumed run draws exactly the numbers it would have drawn.
 */
export interface Mulberry32Stream {
  next(): number;
  state: number;
}

export function mulberry32Stream(seed: number): Mulberry32Stream {
  let a = seed >>> 0;
  return {
    next: () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
    get state() {
      return a;
    },
    set state(value: number) {
      a = value >>> 0;
    },
  };
}

/** Fisher–Yates shuffle of 0..n-1 driven by `random`. */
export function permutation(n: number, random: () => number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = out[i]!;
    out[i] = out[j]!;
    out[j] = tmp;
  }
  return out;
}

export interface Split {
  train: Int32Array;
  validation: Int32Array;
}

/** Seeded train/validation split; at least one training image whenever count > 0. */
export function splitIndices(count: number, validationFraction: number, seed: number): Split {
  const order = permutation(count, mulberry32(seed ^ 0x5eed));
  const nVal = Math.min(Math.max(count - 1, 0), Math.round(count * validationFraction));
  return { validation: order.slice(0, nVal), train: order.slice(nVal) };
}
