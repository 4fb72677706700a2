import type { SettingImportance } from '@shared/api';
import { mulberry32 } from '@shared/random';

/**
 * Which settings mattered for a metric, over a set of runs (as W&B's parameter importance
 * does): per setting its Pearson and Spearman correlation with the metric, and a
 * permutation importance from a small random forest — how much the forest's out-of-bag
 * error grows when that setting's values are shuffled, as a share of the total. The forest
 * sees interactions and non-monotone effects that a correlation misses. Deterministic: the
 * same runs give the same answer.
 */

export interface ImportanceOptions {
  trees?: number;
  maxDepth?: number;
  minLeaf?: number;
  seed?: number;
}

export function pearson(x: readonly number[], y: readonly number[]): number | null {
  const n = x.length;
  if (n < 3) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? null : sxy / Math.sqrt(sxx * syy);
}

/** Ranks with ties sharing their mean rank. */
export function ranks(values: readonly number[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]!] === values[order[i]!]) j += 1;
    const rank = (i + j) / 2;
    for (let k = i; k <= j; k++) out[order[k]!] = rank;
    i = j + 1;
  }
  return out;
}

export const spearman = (x: readonly number[], y: readonly number[]): number | null => pearson(ranks(x), ranks(y));

type Node = { leaf: true; value: number } | { leaf: false; feature: number; threshold: number; left: Node; right: Node };

interface Tree {
  root: Node;
  outOfBag: number[];
}

function mean(y: readonly number[], rows: readonly number[]): number {
  let sum = 0;
  for (const row of rows) sum += y[row]!;
  return rows.length > 0 ? sum / rows.length : 0;
}

/** A regression tree by variance reduction, trying a random third of the features at each split. */
function growTree(X: readonly number[][], y: readonly number[], rows: number[], depth: number, options: Required<ImportanceOptions>, random: () => number): Node {
  if (depth >= options.maxDepth || rows.length < 2 * options.minLeaf) return { leaf: true, value: mean(y, rows) };
  const features = X[0]!.length;
  const tryCount = Math.max(1, Math.ceil(features / 3));
  const candidates = Array.from({ length: features }, (_, i) => i);
  for (let i = candidates.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
  }
  let best: { feature: number; threshold: number; score: number } | null = null;
  let total = 0;
  let totalSq = 0;
  for (const row of rows) {
    total += y[row]!;
    totalSq += y[row]! * y[row]!;
  }
  const parentError = totalSq - (total * total) / rows.length;
  for (const feature of candidates.slice(0, tryCount)) {
    const sorted = [...rows].sort((a, b) => X[a]![feature]! - X[b]![feature]!);
    let leftSum = 0;
    let leftSq = 0;
    for (let i = 0; i < sorted.length - 1; i++) {
      const v = y[sorted[i]!]!;
      leftSum += v;
      leftSq += v * v;
      const here = X[sorted[i]!]![feature]!;
      const next = X[sorted[i + 1]!]![feature]!;
      const leftCount = i + 1;
      const rightCount = sorted.length - leftCount;
      if (here === next || leftCount < options.minLeaf || rightCount < options.minLeaf) continue;
      const rightSum = total - leftSum;
      const error = leftSq - (leftSum * leftSum) / leftCount + (totalSq - leftSq) - (rightSum * rightSum) / rightCount;
      if (!best || error < best.score) best = { feature, threshold: (here + next) / 2, score: error };
    }
  }
  if (!best || best.score >= parentError - 1e-12) return { leaf: true, value: mean(y, rows) };
  const left = rows.filter((row) => X[row]![best.feature]! <= best.threshold);
  const right = rows.filter((row) => X[row]![best.feature]! > best.threshold);
  return {
    leaf: false,
    feature: best.feature,
    threshold: best.threshold,
    left: growTree(X, y, left, depth + 1, options, random),
    right: growTree(X, y, right, depth + 1, options, random),
  };
}

/** The tree's prediction for a row, with column `feature` read as `value` instead (−1: as it is). */
function predict(node: Node, x: readonly number[], feature = -1, value = 0): number {
  while (!node.leaf) node = (node.feature === feature ? value : x[node.feature]!) <= node.threshold ? node.left : node.right;
  return node.value;
}

/**
 * Importance of each column of X (one row per run; nulls already filled) for y. Columns
 * that never vary score 0 and have no correlation.
 */
export function settingImportance(keys: readonly string[], X: readonly number[][], y: readonly number[], options: ImportanceOptions = {}): SettingImportance[] {
  const opts: Required<ImportanceOptions> = { trees: 20, maxDepth: 6, minLeaf: 3, seed: 1, ...options };
  const n = y.length;
  const column = (j: number): number[] => X.map((row) => row[j]!);
  const correlations = keys.map((_, j) => {
    const x = column(j);
    return { pearson: pearson(x, y), spearman: spearman(x, y) };
  });
  const raw = new Array<number>(keys.length).fill(0);
  if (n >= 2 * opts.minLeaf && keys.length > 0) {
    const random = mulberry32(opts.seed);
    const trees: Tree[] = [];
    for (let t = 0; t < opts.trees; t++) {
      const inBag = new Uint8Array(n);
      const rows: number[] = [];
      for (let i = 0; i < n; i++) {
        const row = Math.floor(random() * n);
        rows.push(row);
        inBag[row] = 1;
      }
      const outOfBag = [];
      for (let i = 0; i < n; i++) if (!inBag[i]) outOfBag.push(i);
      trees.push({ root: growTree(X, y, rows, 0, opts, random), outOfBag });
    }
    for (const tree of trees) {
      if (tree.outOfBag.length < 2) continue;
      const baseline = squaredError(tree, X, y, tree.outOfBag, -1, []);
      for (let j = 0; j < keys.length; j++) {
        const shuffled = tree.outOfBag.map((row) => X[row]![j]!);
        for (let i = shuffled.length - 1; i > 0; i--) {
          const k = Math.floor(random() * (i + 1));
          [shuffled[i], shuffled[k]] = [shuffled[k]!, shuffled[i]!];
        }
        raw[j]! += Math.max(0, squaredError(tree, X, y, tree.outOfBag, j, shuffled) - baseline);
      }
    }
  }
  const sum = raw.reduce((a, b) => a + b, 0);
  return keys.map((key, j) => ({ key, ...correlations[j]!, importance: sum > 0 ? raw[j]! / sum : 0 }));
}

function squaredError(tree: Tree, X: readonly number[][], y: readonly number[], rows: readonly number[], feature: number, replacement: readonly number[]): number {
  let error = 0;
  rows.forEach((row, i) => {
    const d = predict(tree.root, X[row]!, feature, feature < 0 ? 0 : replacement[i]!) - y[row]!;
    error += d * d;
  });
  return error / rows.length;
}
