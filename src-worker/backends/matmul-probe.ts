import { tf } from '../engine/tf';
import { createRng, STREAM } from '../engine/random';

/**
 * Matrix products at the sizes a real conv VAE uses, for the self-check. The tiny
 * self-check models cannot reach them, and size is exactly where GPU backends switch
 * algorithms: tfjs-backend-webgpu 4.22 picks a split-K program for long inner
 * dimensions and gets [128,3136]×[16,3136]ᵀ wrong by about 25 (see webgpu.ts).
 * 3136 = 7·7·64, the flattened feature map of the 28×28 conv VAE; 128 a batch; 16 a
 * hidden width. All three products of a dense layer's forward and backward pass.
 */
export const PROBE = { batch: 128, inner: 3136, outer: 16 } as const;

/** The four products, as tensors the caller reads and disposes. */
export function matmulProbe(): Record<string, tf.Tensor> {
  const { batch, inner, outer } = PROBE;
  const rng = createRng(11, STREAM.selfCheck);
  const fill = (n: number): Float32Array => new Float32Array(n).map(() => rng.uniform() - 0.5);
  const a = fill(batch * inner);
  const b = fill(outer * inner);
  const g = fill(batch * outer);
  return tf.tidy(() => {
    const A = tf.tensor2d(a, [batch, inner]);
    const B = tf.tensor2d(b, [outer, inner]);
    const G = tf.tensor2d(g, [batch, outer]);
    return {
      'matmul A·Bᵀ': tf.matMul(A, B, false, true),
      'matmul A·(Bᵀ)': tf.matMul(A, tf.transpose(B)),
      'matmul Aᵀ·G': tf.matMul(A, G, true, false),
      'matmul G·B': tf.matMul(G, B),
    };
  });
}
