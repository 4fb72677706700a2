import { tf } from '../../engine/tf';
import { asBackend } from './kernel-utils';

/**
 * Identity that shares its input's data (a reference count more) instead of copying it,
 * as the cpu backend's Identity and wasm's own Reshape do. tfjs clones every tensor a
 * gradient needs when it records the tape, so the stock copy ran ~250 times a 64×64×3
 * training step, up to a million floats each (3 % of the step). Safe because no wasm
 * kernel writes into its inputs: data never changes once written (a variable update
 * gets new data). Strings keep the original kernel.
 */
export function sharedIdentityConfig(original: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.Identity,
    backendName: original.backendName,
    kernelFunc: (args) => {
      const x = args.inputs['x'];
      const backend = asBackend(args.backend);
      if (x === undefined || x.dtype === 'string' || backend.incRef === undefined) return original.kernelFunc(args);
      backend.incRef(x.dataId);
      return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
    },
  };
}

/**
 * Cast to the dtype a tensor already has is an Identity too (tfjs' gradients of Relu,
 * Multiply and RealDiv cast float32 operands to float32: ~35 copies of up to a million
 * floats per 64×64×3 step on wasm); a real conversion keeps the original kernel.
 */
export function sharedCastConfig(original: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.Cast,
    backendName: original.backendName,
    kernelFunc: (args) => {
      const x = args.inputs['x'];
      const backend = asBackend(args.backend);
      const { dtype } = args.attrs as unknown as tf.CastAttrs;
      if (x === undefined || x.dtype !== dtype || x.dtype === 'string' || backend.incRef === undefined) return original.kernelFunc(args);
      backend.incRef(x.dataId);
      return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
    },
  };
}
