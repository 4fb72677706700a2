import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../engine/random';
import { tf } from '../engine/tf';
import { useBackend } from '../testing/setup';
import { flowJacobian, logAbsDet } from '../testing/linear-algebra';
import { planarFlow, planarFlowParameters } from './planar-flow';

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
    const { base, jacobian } = await flowJacobian((z) => planarFlow(z, params, steps), z0);
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
