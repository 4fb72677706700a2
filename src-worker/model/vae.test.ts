import { describe, expect, it } from 'vitest';
import { ApiError } from '@shared/errors';
import { tf } from '../engine/tf';
import { useBackend } from '../testing/setup';
import { createVae } from './create';
import { checkVaeSpec, parameterCount, type VaeSpec } from './vae';

const spec = (over: Omit<Partial<VaeSpec>, 'image'> & { image?: Partial<VaeSpec['image']> } = {}): VaeSpec => ({
  kind: over.kind ?? 'mlp',
  latent: over.latent ?? 4,
  hidden: over.hidden ?? 16,
  image: { width: 8, height: 8, channels: 1, ...over.image },
});

function fieldOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('invalid_input');
    return (error as ApiError).details?.['field'];
  }
  throw new Error('expected an error');
}

describe('model spec checks', () => {
  it('rejects a conv model on 6×6 images, naming the model field and the image size', () => {
    expect(fieldOf(() => checkVaeSpec(spec({ kind: 'conv', image: { width: 6, height: 6 } })))).toBe('architecture');
    expect(() => checkVaeSpec(spec({ kind: 'conv', image: { width: 6, height: 6 } }))).toThrow(/6×6/);
  });

  it('rejects conv on sides not divisible by 4 but accepts the MLP there', () => {
    expect(fieldOf(() => checkVaeSpec(spec({ kind: 'conv', image: { width: 10, height: 12 } })))).toBe('architecture');
    expect(() => checkVaeSpec(spec({ kind: 'mlp', image: { width: 10, height: 12 } }))).not.toThrow();
  });

  it('rejects latent 0 and oversized models', () => {
    expect(fieldOf(() => checkVaeSpec(spec({ latent: 0 })))).toBe('latent');
    expect(fieldOf(() => checkVaeSpec(spec({ hidden: 4096, image: { width: 256, height: 256, channels: 3 } })))).toBe('hidden');
  });

  for (const kind of ['mlp', 'conv'] as const) {
    it(`${kind}: creates the parameters it counts, with the right output shapes`, async () => {
      await useBackend('wasm');
      const s = spec({ kind, image: { width: 12, height: 8, channels: 3 } });
      const before = tf.memory().numTensors;
      const model = createVae(s, 1);
      try {
        expect(model.variables.reduce((n, v) => n + v.size, 0)).toBe(parameterCount(s));
        tf.tidy(() => {
          const x = tf.zeros([2, model.inputSize]) as tf.Tensor2D;
          const { mu, logVar } = model.encode(x);
          expect(mu.shape).toEqual([2, 4]);
          expect(logVar.shape).toEqual([2, 4]);
          expect(model.decode(mu).shape).toEqual([2, 12 * 8 * 3]);
        });
      } finally {
        model.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
