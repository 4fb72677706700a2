import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../engine/tf';
import { useBackend } from '../testing/setup';
import { enumerateClasses, m2Loss, m2PerImage } from './m2';

describe('M2 objective', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('is L(x, y) for a labelled image and Σ_y q(y|x)[L(x, y) + log q(y|x)] for an unlabelled one', async () => {
    // Two images, three classes; per-class recon and KL of z chosen by hand.
    const recon = [
      [10, 20, 30],
      [5, 6, 7],
    ];
    const klz = [
      [1, 2, 3],
      [0.5, 0.25, 0.125],
    ];
    const q = [
      [0.2, 0.3, 0.5],
      [0.6, 0.3, 0.1],
    ];
    const terms = { recon: tf.tensor2d(recon), klz: tf.tensor2d(klz), logQ: tf.log(tf.tensor2d(q)) as tf.Tensor2D };
    const y = tf.tensor2d([
      [0, 1, 0],
      [0, 0, 0],
    ]);
    const labelled = tf.tensor1d([1, 0]);
    const parts = m2PerImage(terms, y, labelled);
    const [total0, total1] = (await tf.add(parts.recon, parts.kl).data()) as Float32Array;
    const logC = Math.log(3);
    expect(total0).toBeCloseTo(20 + 2 + logC, 4);
    const expectedU = q[1]!.reduce((sum, qc, c) => sum + qc * (recon[1]![c]! + klz[1]![c]! + logC + Math.log(qc)), 0);
    expect(total1).toBeCloseTo(expectedU, 4);
    // The batch loss adds α times the labelled image's −log q(y|x), averaged over labelled rows.
    const loss = m2Loss(terms, y, labelled, 1, 2);
    expect((await loss.loss.data())[0]).toBeCloseTo((total0! + total1!) / 2 + 2 * -Math.log(0.3), 3);
    tf.dispose([terms.recon, terms.klz, terms.logQ, y, labelled, parts.recon, parts.kl, loss.loss, loss.recon, loss.kl]);
  });

  it('enumerates every class for every row, rows of one image together', async () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const { x: rows, y } = enumerateClasses(x, 3);
    expect(Array.from(await rows.data())).toEqual([1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4]);
    expect(Array.from(await tf.argMax(y, 1).data())).toEqual([0, 1, 2, 0, 1, 2]);
    tf.dispose([x, rows, y]);
  });
});
