import { tf } from '../../engine/tf';
import { asBackend, disposeInfo, runBackendKernel } from './kernel-utils';

/**
 * Stock wasm BatchMatMul runs XNNPACK only when neither operand is transposed and
 * otherwise falls back to a naive loop about 10× slower. Backprop through x·W needs
 * dy·Wᵀ and xᵀ·dy, so that slow loop dominated MLP training. This wrapper
 * materializes the transposes (a cheap copy) and always calls the fast path.
 */
function transposeLastTwo(
  info: tf.TensorInfo,
  backend: ReturnType<typeof asBackend>,
  backendName: string,
): tf.TensorInfo {
  const rank = info.shape.length;
  const perm = [...Array(rank).keys()];
  perm[rank - 1] = rank - 2;
  perm[rank - 2] = rank - 1;
  return runBackendKernel('Transpose', backendName, backend, { x: info }, { perm });
}

/**
 * Whether a·bᵀ is cheaper as (b·aᵀ)ᵀ: two rank-2 operands (no batch dimensions to
 * broadcast), b the larger (what is transposed is a and the product, not b).
 */
function swapsCheaper(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== 2 || b.length !== 2) return false;
  const [n, k] = a as [number, number];
  const [m] = b as [number, number];
  return n * k + n * m < m * k;
}

export function fastBatchMatMulConfig(original: tf.KernelConfig): tf.KernelConfig {
  const { backendName } = original;
  return {
    kernelName: tf.BatchMatMul,
    backendName,
    // The original's setup binds its wasm entry point; we call it through kernelFunc.
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
    kernelFunc: ({ inputs, backend: rawBackend, attrs }) => {
      const { transposeA, transposeB } = (attrs ?? {}) as unknown as tf.BatchMatMulAttrs;
      const a = inputs['a'];
      const b = inputs['b'];
      if ((!transposeA && !transposeB) || a === undefined || b === undefined || a.dtype !== 'float32' || b.dtype !== 'float32') {
        return original.kernelFunc({ inputs, backend: rawBackend, attrs });
      }
      const backend = asBackend(rawBackend);
      if (!transposeA && swapsCheaper(a.shape, b.shape)) {
        // a·bᵀ as (b·aᵀ)ᵀ: transposes a and the product instead of b (a layer's weights,
        // new every step, so XNNPACK also repacks them). Each output is the same sum in
        // the same order (the kernels test holds it bit for bit), a backward pass through
        // a wide dense layer about twice as fast.
        const at = transposeLastTwo(a, backend, backendName);
        let product: tf.TensorInfo | undefined;
        try {
          product = original.kernelFunc({ inputs: { a: b, b: at }, backend: rawBackend, attrs: { transposeA: false, transposeB: false } }) as tf.TensorInfo;
          return transposeLastTwo(product, backend, backendName);
        } finally {
          disposeInfo(backend, at);
          if (product !== undefined) disposeInfo(backend, product);
        }
      }
      const at = transposeA ? transposeLastTwo(a, backend, backendName) : a;
      const bt = transposeB ? transposeLastTwo(b, backend, backendName) : b;
      try {
        return original.kernelFunc({
          inputs: { a: at, b: bt },
          backend: rawBackend,
          attrs: { transposeA: false, transposeB: false },
        });
      } finally {
        if (at !== a) disposeInfo(backend, at);
        if (bt !== b) disposeInfo(backend, bt);
      }
    },
  };
}
