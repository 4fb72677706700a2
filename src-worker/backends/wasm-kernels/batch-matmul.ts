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
