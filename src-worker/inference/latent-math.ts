/**
 * Small dense linear algebra for Explore, on plain arrays (latents are ≤ 512-D and a
 * map holds ≤ 5 000 points, so this is milliseconds and needs no backend).
 */

/** `steps` evenly spaced values from −range to +range. */
export function symmetricSteps(range: number, steps: number): number[] {
  return Array.from({ length: steps }, (_, i) => (steps === 1 ? 0 : -range + (2 * range * i) / (steps - 1)));
}

/** Linear path a → b at t ∈ [0, 1]. */
export function lerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Float32Array {
  return Float32Array.from({ length: a.length }, (_, i) => (1 - t) * a[i]! + t * b[i]!);
}

/**
 * Spherical path a → b: follows the great circle between their directions while the
 * length goes linearly from |a| to |b|, so intermediate codes keep a typical norm
 * instead of shrinking towards the origin as a straight line does. Falls back to the
 * straight line when the directions (nearly) coincide or one end is the origin.
 */
export function slerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Float32Array {
  const norm = (v: ArrayLike<number>): number => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
  const na = norm(a);
  const nb = norm(b);
  if (na < 1e-8 || nb < 1e-8) return lerp(a, b, t);
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += (a[i]! / na) * (b[i]! / nb);
  const omega = Math.acos(Math.min(1, Math.max(-1, dot)));
  if (omega < 1e-4 || Math.PI - omega < 1e-4) return lerp(a, b, t);
  const wa = Math.sin((1 - t) * omega) / Math.sin(omega);
  const wb = Math.sin(t * omega) / Math.sin(omega);
  const length = (1 - t) * na + t * nb;
  return Float32Array.from({ length: a.length }, (_, i) => length * (wa * (a[i]! / na) + wb * (b[i]! / nb)));
}

export interface Projection {
  /** [n, 2] row-major coordinates. */
  coords: Float32Array;
  /** Share of the total variance along each of the two axes. */
  explained: [number, number];
}

/**
 * Project n points of dimension d (row-major) on their first two principal components.
 * Covariance by one pass, eigenvectors by power iteration with deflation (d ≤ 512).
 */
export function pca2(points: Float32Array, n: number, d: number): Projection {
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) mean[j]! += points[r * d + j]! / n;
  const cov = new Float64Array(d * d);
  const centred = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < d; j++) centred[j] = points[r * d + j]! - mean[j]!;
    for (let i = 0; i < d; i++) {
      const ci = centred[i]!;
      if (ci === 0) continue;
      for (let j = i; j < d; j++) cov[i * d + j]! += ci * centred[j]!;
    }
  }
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const v = cov[i * d + j]! / Math.max(1, n - 1);
      cov[i * d + j] = v;
      cov[j * d + i] = v;
    }
  }
  let trace = 0;
  for (let i = 0; i < d; i++) trace += cov[i * d + i]!;
  const components: Float64Array[] = [];
  const variances: number[] = [];
  for (let k = 0; k < 2; k++) {
    const { vector, value } = powerIteration(cov, d, k);
    components.push(vector);
    variances.push(value);
    // Deflate: remove the found component so the next iteration finds the second.
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) cov[i * d + j]! -= value * vector[i]! * vector[j]!;
  }
  const coords = new Float32Array(n * 2);
  for (let r = 0; r < n; r++) {
    for (let k = 0; k < 2; k++) {
      let s = 0;
      const v = components[k]!;
      for (let j = 0; j < d; j++) s += (points[r * d + j]! - mean[j]!) * v[j]!;
      coords[r * 2 + k] = s;
    }
  }
  const share = (v: number): number => (trace > 0 ? Math.max(0, v) / trace : 0);
  return { coords, explained: [share(variances[0]!), share(variances[1]!)] };
}

function powerIteration(matrix: Float64Array, d: number, seed: number): { vector: Float64Array; value: number } {
  // A deterministic, non-degenerate start: not orthogonal to any axis in general.
  let v = Float64Array.from({ length: d }, (_, i) => 1 + ((i * 7 + seed * 3) % 11) / 11);
  let value = 0;
  for (let iteration = 0; iteration < 500; iteration++) {
    const next = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += matrix[i * d + j]! * v[j]!;
      next[i] = s;
    }
    const length = Math.sqrt(next.reduce((s, x) => s + x * x, 0));
    if (length < 1e-12) return { vector: v.map(() => 0), value: 0 };
    for (let i = 0; i < d; i++) next[i]! /= length;
    let change = 0;
    for (let i = 0; i < d; i++) change += Math.abs(Math.abs(next[i]!) - Math.abs(v[i]!));
    v = next;
    value = length;
    if (change < 1e-10) break;
  }
  // A fixed sign (largest entry positive), so maps do not flip between calls.
  let largest = 0;
  for (let i = 1; i < d; i++) if (Math.abs(v[i]!) > Math.abs(v[largest]!)) largest = i;
  if (v[largest]! < 0) v = v.map((x) => -x);
  return { vector: v, value };
}
