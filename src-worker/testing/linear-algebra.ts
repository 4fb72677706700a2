import { tf } from '../engine/tf';
import type { FlowResult } from '../objectives/planar-flow';

/** log|det A| of a small dense matrix by Gaussian elimination with partial pivoting, float64. */
export function logAbsDet(a: number[][]): number {
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

/**
 * A flow at z0 (one row) and the numerical Jacobian ∂z_K/∂z_0 of its map, by central
 * differences in float32: h = 1e-2 keeps rounding and curvature errors near 1e-4.
 */
export async function flowJacobian(flow: (z: tf.Tensor2D) => FlowResult, z0: number[], h = 1e-2): Promise<{ base: { z: Float32Array; logDet: number }; jacobian: number[][] }> {
  const d = z0.length;
  const apply = async (z: number[]): Promise<{ z: Float32Array; logDet: number }> => {
    const input = tf.tensor2d(z, [1, d]);
    const out = flow(input);
    const [values, logDet] = await Promise.all([out.z.data(), out.logDet.data()]);
    tf.dispose([input, out.z, out.logDet]);
    return { z: values as Float32Array, logDet: logDet[0]! };
  };
  const base = await apply(z0);
  const jacobian: number[][] = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (let j = 0; j < d; j++) {
    const plus = await apply(z0.map((v, i) => (i === j ? v + h : v)));
    const minus = await apply(z0.map((v, i) => (i === j ? v - h : v)));
    for (let i = 0; i < d; i++) jacobian[i]![j] = (plus.z[i]! - minus.z[i]!) / (2 * h);
  }
  return { base, jacobian };
}
