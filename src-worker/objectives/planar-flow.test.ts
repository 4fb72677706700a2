import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../engine/random';
import { tf } from '../engine/tf';
import { useBackend } from '../testing/setup';
import { planarFlow, planarFlowParameters } from './planar-flow';

/** log|det A| of a small dense matrix by Gaussian elimination with partial pivoting, float64. */
function logAbsDet(a: number[][]): number {
  const m = a.map((row) => [...row]);
  const n = m.length;
  let sum = 0;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    const pivot = m[c]![c]!;
    sum += Math.log(Math.abs(pivot));
    for (let r = c + 1; r < n; r++) {
      const f = m[r]![c]! / pivot;
      for (let k = c; k < n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return sum;
}

describe('planar flow', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('log-det matches the log|det| of a numerical Jacobian of the whole K-step map', async () => {
    const d = 3;
    const steps = 3;
    const rng = createRng(11);
    // Large parameters so the steps bend z visibly (a near-identity map would pass trivially).
    const params = tf.tensor2d(rng.normals(planarFlowParameters(d, steps), 1.5), [1, planarFlowParameters(d, steps)]);
    const z0 = Array.from(rng.normals(d, 0.8));
    const apply = async (z: number[]): Promise<{ z: Float32Array; logDet: number }> => {
      const out = planarFlow(tf.tensor2d(z, [1, d]), params, steps);
      const [values, logDet] = await Promise.all([out.z.data(), out.logDet.data()]);
      tf.dispose([out.z, out.logDet]);
      return { z: values as Float32Array, logDet: logDet[0]! };
    };
    const base = await apply(z0);
    // Central differences in float32: h = 1e-2 keeps rounding and curvature errors near 1e-4.
    const h = 1e-2;
    const jacobian: number[][] = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (let j = 0; j < d; j++) {
      const plus = await apply(z0.map((v, i) => (i === j ? v + h : v)));
      const minus = await apply(z0.map((v, i) => (i === j ? v - h : v)));
      for (let i = 0; i < d; i++) jacobian[i]![j] = (plus.z[i]! - minus.z[i]!) / (2 * h);
    }
    const numeric = logAbsDet(jacobian);
    expect(Math.abs(numeric)).toBeGreaterThan(0.05);
    expect(base.logDet).toBeCloseTo(numeric, 2);
    // The map moved z: otherwise the check says nothing.
    expect(Math.hypot(...Array.from(base.z, (v, i) => v - z0[i]!))).toBeGreaterThan(0.1);
    params.dispose();
  });

  it('stays invertible (det > 0) for any predicted u, w: the û constraint', async () => {
    const d = 4;
    const rng = createRng(5);
    const n = 256;
    const params = tf.tensor2d(rng.normals(n * planarFlowParameters(d, 1), 4), [n, planarFlowParameters(d, 1)]);
    const z0 = tf.tensor2d(rng.normals(n * d, 2), [n, d]);
    const before = tf.memory().numTensors;
    const out = planarFlow(z0, params, 1);
    expect(tf.memory().numTensors).toBe(before + 2);
    const logDet = await out.logDet.data();
    for (const v of logDet) expect(Number.isFinite(v)).toBe(true);
    tf.dispose([params, z0, out.z, out.logDet]);
  });
});
