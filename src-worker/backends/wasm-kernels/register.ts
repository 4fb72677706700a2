import { tf } from '../../engine/tf';
import { fastBatchMatMulConfig } from './batch-matmul';
import { fastConv2dBackpropInputConfig } from './conv2d-backprop-input';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter';
import { sharedCastConfig, sharedIdentityConfig } from './identity';

const ours = new WeakSet<tf.KernelConfig>();

/**
 * Install the project's kernels on the wasm backend: the missing
 * Conv2DBackpropFilter (so conv VAEs can train at all), plus BatchMatMul and
 * Conv2DBackpropInput wrappers that keep the work on XNNPACK, and an Identity (and a
 * Cast to the same dtype) that shares data instead of copying it. Idempotent. Must run after
 * '@tensorflow/tfjs-backend-wasm' has registered its own kernels; it may run before
 * or after the backend is initialized (the wrapped kernel reuses the original setup).
 * Returns a short description of what it changed.
 */
export function registerWasmKernels(backendName = 'wasm'): string[] {
  const changes: string[] = [];
  const matMul = tf.getKernel(tf.BatchMatMul, backendName);
  if (matMul !== undefined && !ours.has(matMul)) {
    const wrapped = fastBatchMatMulConfig(matMul);
    ours.add(wrapped);
    tf.unregisterKernel(tf.BatchMatMul, backendName);
    tf.registerKernel(wrapped);
    changes.push('BatchMatMul: transposed operands routed to XNNPACK');
  }
  const backpropInput = tf.getKernel(tf.Conv2DBackpropInput, backendName);
  if (backpropInput !== undefined && !ours.has(backpropInput)) {
    const wrapped = fastConv2dBackpropInputConfig(backpropInput);
    ours.add(wrapped);
    tf.unregisterKernel(tf.Conv2DBackpropInput, backendName);
    tf.registerKernel(wrapped);
    changes.push('Conv2DBackpropInput: phase-decomposed onto Conv2D');
  }
  const identity = tf.getKernel(tf.Identity, backendName);
  if (identity !== undefined && !ours.has(identity)) {
    const wrapped = sharedIdentityConfig(identity);
    ours.add(wrapped);
    tf.unregisterKernel(tf.Identity, backendName);
    tf.registerKernel(wrapped);
    changes.push('Identity: shares its input data instead of copying it');
  }
  const cast = tf.getKernel(tf.Cast, backendName);
  if (cast !== undefined && !ours.has(cast)) {
    const wrapped = sharedCastConfig(cast);
    ours.add(wrapped);
    tf.unregisterKernel(tf.Cast, backendName);
    tf.registerKernel(wrapped);
    changes.push('Cast to the same dtype: shares its input data');
  }
  if (tf.getKernel(tf.Conv2DBackpropFilter, backendName) === undefined) {
    const config = conv2dBackpropFilterConfig(backendName);
    ours.add(config);
    tf.registerKernel(config);
    changes.push('Conv2DBackpropFilter: added (dilated Conv2D)');
  }
  return changes;
}
