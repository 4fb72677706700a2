import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../engine/random';
import { tf } from '../engine/tf';
import { flowJacobian, logAbsDet } from '../testing/linear-algebra';
import { useBackend } from '../testing/setup';
import { IAF_GATE_BIAS } from '@shared/made-masks';
import { createPosteriorFlow, iafContext, type PosteriorFlow } from './posterior-flow';

/** An IAF with its small initial output weights replaced by large ones, so the steps bend z visibly. */
function bentIaf(steps: number, d: number, seed: number): PosteriorFlow {
  const flow = createPosteriorFlow('iaf', steps, d, createRng(seed))!;
  const rng = createRng(seed + 1);
  for (const v of flow.variables) {
    // The gates' biases cancel IAF_GATE_BIAS, so σ is around ½ and the steps do bend z.
    const offset = /\/bs#/.test(v.name) ? -IAF_GATE_BIAS : 0;
    v.assign(tf.tensor(rng.normals(v.size, 0.4).map((x) => x + offset), v.shape));
  }
  return flow;
}

describe('inverse autoregressive flow', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('log-det matches the log|det| of a numerical Jacobian of the whole K-step map', async () => {
    const d = 4;
    const flow = bentIaf(3, d, 3);
    const rng = createRng(9);
    const context = tf.tensor2d(rng.normals(iafContext(d)), [1, iafContext(d)]);
    const z0 = Array.from(rng.normals(d, 0.8));
    const { base, jacobian } = await flowJacobian((z) => flow.apply(z, context), z0);
    const numeric = logAbsDet(jacobian);
    expect(Math.abs(numeric)).toBeGreaterThan(0.05);
    expect(base.logDet).toBeCloseTo(numeric, 2);
    expect(Math.hypot(...Array.from(base.z, (v, i) => v - z0[i]!))).toBeGreaterThan(0.1);
    // Three steps in alternating order: every output depends on every input.
    for (const row of jacobian) for (const entry of row) expect(Math.abs(entry)).toBeGreaterThan(1e-4);
    tf.dispose(context);
    flow.dispose();
  });

  it('one step is autoregressive: its Jacobian is triangular, with the gates σ on the diagonal', async () => {
    const d = 5;
    const flow = bentIaf(1, d, 21);
    const rng = createRng(4);
    const context = tf.tensor2d(rng.normals(iafContext(d)), [1, iafContext(d)]);
    const { base, jacobian } = await flowJacobian((z) => flow.apply(z, context), Array.from(rng.normals(d)));
    for (let i = 0; i < d; i++) {
      for (let j = i + 1; j < d; j++) expect(Math.abs(jacobian[i]![j]!), `∂z${i}/∂z${j}`).toBeLessThan(1e-5);
      // Below the diagonal z_i does depend on earlier dimensions (through m and σ).
      if (i > 0) expect(Math.max(...jacobian[i]!.slice(0, i).map(Math.abs))).toBeGreaterThan(1e-4);
    }
    const diagonal = jacobian.map((row, i) => row[i]!);
    for (const g of diagonal) expect(g).toBeGreaterThan(0);
    expect(base.logDet).toBeCloseTo(diagonal.reduce((sum, g) => sum + Math.log(g), 0), 2);
    tf.dispose(context);
    flow.dispose();
  });

  it('starts as almost the identity and leaves no tensor behind', async () => {
    const d = 3;
    const flow = createPosteriorFlow('iaf', 2, d, createRng(1))!;
    const z0 = tf.tensor2d(createRng(2).normals(8 * d), [8, d]);
    const context = tf.zeros([8, iafContext(d)]) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const out = flow.apply(z0, context);
    const [z, logDet, start] = await Promise.all([out.z.data(), out.logDet.data(), z0.data()]);
    tf.dispose([out.z, out.logDet]);
    expect(tf.memory().numTensors).toBe(before);
    // σ ≈ sigmoid(IAF_GATE_BIAS) per step, m ≈ 0: z keeps its direction and shrinks by σ², log|det| ≈ 2·d·log σ.
    const sigma = 1 / (1 + Math.exp(-IAF_GATE_BIAS));
    const ratio = Math.hypot(...z) / Math.hypot(...start);
    expect(ratio).toBeGreaterThan(sigma * sigma - 0.01);
    expect(ratio).toBeLessThan(1);
    for (const v of logDet) expect(v).toBeCloseTo(2 * d * Math.log(sigma), 2);
    tf.dispose([z0, context]);
    flow.dispose();
  });
});
