import { describe, expect, it } from 'vitest';
import { tf } from '../engine/tf';
import { createRng, STREAM } from '../engine/random';
import { useBackend } from '../testing/setup';
import { createClassifier } from './classifier';
import { createVae } from './create';
import { createVqNetworks } from './vq';
import type { VaeSpec } from './vae';

/**
 * A centred encoder input (config encoderInput 'centred') is the same network reading
 * 2x − 1: from one seed the weights are the same, and the centred model's encoder on x is
 * the plain model's on 2x − 1 — not a no-op, and nothing else changes (the decoder reads z
 * alike).
 */
const image = { width: 12, height: 8, channels: 3 as const };

function pixels(n: number): tf.Tensor2D {
  const values = Float32Array.from({ length: n * image.width * image.height * image.channels }, (_, i) => ((i * 37) % 256) / 255);
  return tf.tensor2d(values, [n, image.width * image.height * image.channels]);
}

const centredOf = (x: tf.Tensor2D): tf.Tensor2D => tf.sub(tf.mul(x, 2), 1);

describe('centred encoder input', () => {
  for (const kind of ['mlp', 'conv'] as const) {
    it(`${kind}: the centred encoder on x is the plain encoder on 2x − 1, and differs from it on x`, async () => {
      await useBackend('cpu');
      const base: VaeSpec = { kind, image, latent: 3, hidden: 16, classes: 2, ...(kind === 'conv' && { conv: { width: 4, resBlocks: 1, norm: 'layer' as const } }) };
      const plain = createVae(base, 5);
      const centred = createVae({ ...base, input: 'centred' }, 5);
      try {
        tf.tidy(() => {
          const x = pixels(4);
          const y = tf.cast(tf.oneHot(tf.tensor1d([0, 1, 1, 0], 'int32'), 2), 'float32') as tf.Tensor2D;
          plain.variables.forEach((v, i) => expect(Array.from(v.dataSync())).toEqual(Array.from(centred.variables[i]!.dataSync())));
          const a = centred.encode(x, y);
          const b = plain.encode(centredOf(x), y);
          const c = plain.encode(x, y);
          expect(Array.from(a.mu.dataSync())).toEqual(Array.from(b.mu.dataSync()));
          expect(Array.from(a.logVar.dataSync())).toEqual(Array.from(b.logVar.dataSync()));
          const moved = tf.max(tf.abs(tf.sub(a.mu, c.mu))).dataSync()[0]!;
          expect(moved).toBeGreaterThan(1e-3);
          const z = tf.randomNormal([4, 3], 0, 1, 'float32', 3) as tf.Tensor2D;
          expect(Array.from(centred.decode(z, y).dataSync())).toEqual(Array.from(plain.decode(z, y).dataSync()));
        });
      } finally {
        plain.dispose();
        centred.dispose();
      }
    });
  }

  it("M2's classifier and the VQ encoder read the centred image too", async () => {
    await useBackend('cpu');
    const spec: VaeSpec = { kind: 'conv', image, latent: 3, hidden: 16 };
    const plainCls = createClassifier(spec, 3, createRng(2, STREAM.classifierInit), 'conv');
    const centredCls = createClassifier({ ...spec, input: 'centred' }, 3, createRng(2, STREAM.classifierInit), 'conv');
    const vqSpec = { kind: 'conv' as const, image, hidden: 16, codeDim: 4, positions: 4 };
    const plainVq = createVqNetworks(vqSpec, createRng(2, STREAM.init));
    const centredVq = createVqNetworks({ ...vqSpec, input: 'centred' }, createRng(2, STREAM.init));
    try {
      tf.tidy(() => {
        const x = pixels(2);
        expect(Array.from(centredCls.logits(x).dataSync())).toEqual(Array.from(plainCls.logits(centredOf(x)).dataSync()));
        expect(Array.from(centredCls.logits(x).dataSync())).not.toEqual(Array.from(plainCls.logits(x).dataSync()));
        expect(Array.from(centredVq.encode(x).dataSync())).toEqual(Array.from(plainVq.encode(centredOf(x)).dataSync()));
        expect(Array.from(centredVq.encode(x).dataSync())).not.toEqual(Array.from(plainVq.encode(x).dataSync()));
      });
    } finally {
      for (const m of [plainCls, centredCls, plainVq, centredVq]) m.dispose();
    }
  });
});
