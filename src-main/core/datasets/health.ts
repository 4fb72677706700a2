import { imageBytes, SPLIT_TRAIN, type PackedDataset } from '@shared/dataset-format';
import {
  ASPECT_BINS,
  aspectBin,
  BLANK_STD,
  HEALTH_VERSION,
  MAX_HEALTH_BLANKS,
  MAX_HEALTH_PAIRS,
  NEAR_HASH_BITS,
  NEAR_MEAN_DIFF,
  SIZE_BINS,
  sizeBin,
  type HealthBlank,
  type HealthPair,
  type HealthReport,
} from '@shared/health';

/** Thumbnail the hash is taken from: 9 columns so each of the 8 rows gives 8 left/right comparisons. */
const THUMB_W = 9;
const THUMB_H = 8;
const THUMB = THUMB_W * THUMB_H;
/** A bucket (images sharing one 16-bit quarter of their hash) up to this size is compared pair by pair … */
const FULL_BUCKET = 256;
/** … a larger one (thousands of near-identical strokes) only with this many neighbours in hash order. */
const WINDOW = 256;
/** Longest stretch of work without a turn of the event loop. */
const YIELD_MS = 20;

export interface HealthInput {
  dataset: PackedDataset;
  /** Per image, the original's size when it was kept (index entries). */
  originals: readonly { width?: number; height?: number }[] | null;
  exactDuplicates: number;
  /** Called between slices of work (the import child checks its parent there; an abort throws). */
  checkpoint?: () => void;
  now?: () => Date;
}

const popcount = (v: number): number => {
  let x = v - ((v >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
};

/** Keeps the pairs a user should see first (leaking, then closest) within a fixed budget. */
function rankPairs(pairs: HealthPair[]): HealthPair[] {
  return pairs
    .sort((p, q) => Number(q.leak) - Number(p.leak) || p.bits - q.bits || p.meanDiff - q.meanDiff || p.a - q.a || p.b - q.b)
    .slice(0, MAX_HEALTH_PAIRS);
}

/**
 * Grey 9×8 thumbnail (area means), a 64-bit difference hash of it (two 32-bit halves),
 * and the mean and spread of the whole image's grey values, for every image; for RGB
 * also the thumbnail's three channels (`colour`, cell-major), which confirm a pair: two
 * images of one shape in colours of equal brightness (a purple and an orange heart) have
 * the same grey thumbnail and are not copies. Memory: 72 (RGB: 288) + 16 bytes per image
 * beside the packed pixels.
 */
function measure(dataset: PackedDataset): {
  thumbs: Uint8Array;
  colour: Uint8Array | null;
  hashHi: Uint32Array;
  hashLo: Uint32Array;
  mean: Float32Array;
  std: Float32Array;
} {
  const { width: w, height: h, channels: c, count } = dataset.header;
  const per = imageBytes(dataset.header);
  const thumbs = new Uint8Array(count * THUMB);
  const colour = c === 3 ? new Uint8Array(count * THUMB * 3) : null;
  const cellRgb = new Float64Array(THUMB * 3);
  const hashHi = new Uint32Array(count);
  const hashLo = new Uint32Array(count);
  const mean = new Float32Array(count);
  const std = new Float32Array(count);
  const grey = new Float64Array(w * h);
  const cell = new Float64Array(THUMB);
  const cellN = new Float64Array(THUMB);
  const colOf = Int32Array.from({ length: w }, (_, x) => Math.min(THUMB_W - 1, Math.floor((x * THUMB_W) / w)));
  const rowOf = Int32Array.from({ length: h }, (_, y) => Math.min(THUMB_H - 1, Math.floor((y * THUMB_H) / h)));
  for (let i = 0; i < count; i++) {
    const base = i * per;
    let sum = 0;
    let sumSq = 0;
    cell.fill(0);
    cellN.fill(0);
    cellRgb.fill(0);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = base + (y * w + x) * c;
        const g = c === 3 ? 0.299 * dataset.pixels[p]! + 0.587 * dataset.pixels[p + 1]! + 0.114 * dataset.pixels[p + 2]! : dataset.pixels[p]!;
        grey[y * w + x] = g;
        sum += g;
        sumSq += g * g;
        const k = rowOf[y]! * THUMB_W + colOf[x]!;
        cell[k]! += g;
        cellN[k]! += 1;
        if (colour) for (let ch = 0; ch < 3; ch++) cellRgb[k * 3 + ch]! += dataset.pixels[p + ch]!;
      }
    }
    const n = w * h;
    mean[i] = sum / n;
    std[i] = Math.sqrt(Math.max(0, sumSq / n - (sum / n) ** 2));
    // An image narrower than 9 pixels leaves some cells empty: they take their left neighbour.
    for (let k = 0; k < THUMB; k++) {
      const v = cellN[k]! > 0 ? cell[k]! / cellN[k]! : k % THUMB_W > 0 ? thumbs[i * THUMB + k - 1]! : 0;
      thumbs[i * THUMB + k] = Math.round(v);
      if (colour) {
        for (let ch = 0; ch < 3; ch++) {
          const at = (i * THUMB + k) * 3 + ch;
          colour[at] = cellN[k]! > 0 ? Math.round(cellRgb[k * 3 + ch]! / cellN[k]!) : k % THUMB_W > 0 ? colour[at - 3]! : 0;
        }
      }
    }
    let hi = 0;
    let lo = 0;
    for (let y = 0; y < THUMB_H; y++) {
      for (let x = 0; x < THUMB_W - 1; x++) {
        const bit = thumbs[i * THUMB + y * THUMB_W + x]! < thumbs[i * THUMB + y * THUMB_W + x + 1]! ? 1 : 0;
        const b = y * 8 + x;
        if (b < 32) lo = (lo | (bit << b)) >>> 0;
        else hi = (hi | (bit << (b - 32))) >>> 0;
      }
    }
    hashHi[i] = hi;
    hashLo[i] = lo;
  }
  return { thumbs, colour, hashHi, hashLo, mean, std };
}

/**
 * The import-time health report of a packed dataset: near-duplicate pairs by difference
 * hash, confirmed on the thumbnails (leaking when the two lie in different splits),
 * nearly blank images, class balance per split, and the originals' size and aspect
 * histograms. Candidates come from four 16-bit quarters of the hash: two hashes within
 * 3 bits agree on at least one quarter, so comparing within quarter buckets misses none
 * (buckets beyond FULL_BUCKET are compared within a window and the report says so).
 * Memory is bounded by the image count, never by the number of pairs.
 */
export async function computeHealth(input: HealthInput): Promise<HealthReport> {
  const started = Date.now();
  const { dataset } = input;
  const { count } = dataset.header;
  let lastYield = Date.now();
  const pause = async (): Promise<void> => {
    if (Date.now() - lastYield < YIELD_MS) return;
    await new Promise((resolve) => setImmediate(resolve));
    lastYield = Date.now();
    input.checkpoint?.();
  };
  const split = dataset.split ?? new Uint8Array(count).fill(SPLIT_TRAIN);
  const { thumbs, colour, hashHi, hashLo, mean, std } = measure(dataset);
  await pause();

  const blanks: HealthBlank[] = [];
  let blankTotal = 0;
  const usable: number[] = [];
  for (let i = 0; i < count; i++) {
    if (std[i]! < BLANK_STD) {
      blankTotal++;
      blanks.push({ index: i, std: Math.round(std[i]! * 100) / 100, mean: Math.round(mean[i]! * 10) / 10 });
    } else usable.push(i);
  }
  blanks.sort((p, q) => p.std - q.std || p.index - q.index);

  const quarter = (i: number, q: number): number => (q < 2 ? hashLo[i]! >>> (16 * q) : hashHi[i]! >>> (16 * (q - 2))) & 0xffff;
  let kept: HealthPair[] = [];
  let total = 0;
  let leaking = 0;
  let approximate = false;
  const consider = (a0: number, b0: number, q: number): void => {
    const a = Math.min(a0, b0);
    const b = Math.max(a0, b0);
    // Counted once: in the first quarter the two hashes share.
    for (let earlier = 0; earlier < q; earlier++) if (quarter(a, earlier) === quarter(b, earlier)) return;
    const bits = popcount(hashHi[a]! ^ hashHi[b]!) + popcount(hashLo[a]! ^ hashLo[b]!);
    if (bits > NEAR_HASH_BITS) return;
    // Confirmed on the thumbnail's values: each channel's for RGB, else the grey ones.
    const values = colour ?? thumbs;
    const n = colour ? THUMB * 3 : THUMB;
    let diff = 0;
    for (let k = 0; k < n; k++) diff += Math.abs(values[a * n + k]! - values[b * n + k]!);
    const meanDiff = diff / n;
    if (meanDiff > NEAR_MEAN_DIFF) return;
    const leak = split[a] !== split[b];
    total++;
    if (leak) leaking++;
    kept.push({ a, b, bits, meanDiff: Math.round(meanDiff * 100) / 100, leak });
    if (kept.length >= 2 * MAX_HEALTH_PAIRS) kept = rankPairs(kept);
  };
  const order = Int32Array.from(usable);
  for (let q = 0; q < 4; q++) {
    const key = (i: number): number => quarter(i, q);
    order.sort((i, j) => key(i) - key(j) || hashHi[i]! - hashHi[j]! || hashLo[i]! - hashLo[j]! || i - j);
    await pause();
    for (let start = 0; start < order.length; ) {
      let end = start + 1;
      while (end < order.length && key(order[end]!) === key(order[start]!)) end++;
      const size = end - start;
      if (size > FULL_BUCKET) approximate = true;
      for (let s = start; s < end; s++) {
        const last = size > FULL_BUCKET ? Math.min(end, s + 1 + WINDOW) : end;
        for (let t = s + 1; t < last; t++) consider(order[s]!, order[t]!, q);
        await pause();
      }
      start = end;
    }
  }
  kept = rankPairs(kept);

  const labels = dataset.header.labels;
  const classBalance = labels.map((label) => ({ label, train: 0, validation: 0, test: 0 }));
  const splitNames = ['train', 'validation', 'test'] as const;
  let unlabelled = 0;
  for (let i = 0; i < count; i++) {
    const row = classBalance[dataset.labels[i]!];
    if (row) row[splitNames[split[i]!] ?? 'train']++;
    else unlabelled++;
  }
  const sizes = { bins: new Array<number>(SIZE_BINS.length).fill(0), unknown: 0 };
  const aspects = { bins: new Array<number>(ASPECT_BINS.length).fill(0), unknown: 0 };
  for (let i = 0; i < count; i++) {
    const original = input.originals?.[i];
    if (original?.width && original.height) {
      sizes.bins[sizeBin(Math.max(original.width, original.height))]!++;
      aspects.bins[aspectBin(original.width, original.height)]!++;
    } else {
      sizes.unknown++;
      aspects.unknown++;
    }
  }

  return {
    version: HEALTH_VERSION,
    computedAt: (input.now?.() ?? new Date()).toISOString(),
    count,
    seconds: (Date.now() - started) / 1000,
    exactDuplicates: input.exactDuplicates,
    nearDuplicates: { total, leaking, pairs: kept, truncated: total > kept.length },
    blanks: { total: blankTotal, items: blanks.slice(0, MAX_HEALTH_BLANKS) },
    classBalance,
    unlabelled,
    sizes,
    aspects,
    approximate,
  };
}
