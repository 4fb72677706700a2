import { tf } from './tf';

/**
 * A tensor's values, then the tensor freed. Every number the engine reads back goes
 * through here, asynchronously: WebGPU has no synchronous readback outside a browser
 * page (tfjs-backend-webgpu's dataSync needs OffscreenCanvas, which Node and workers
 * lack), and on cpu and wasm the await costs one microtask.
 */
export async function takeValues(tensor: tf.Tensor): Promise<Float32Array> {
  try {
    return Float32Array.from(await tensor.data());
  } finally {
    tensor.dispose();
  }
}

/** The values of a tensor that stays alive (a variable), copied. */
export async function copyValues(tensor: tf.Tensor): Promise<Float32Array> {
  return Float32Array.from(await tensor.data());
}
