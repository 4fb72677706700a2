import { tf } from '../../engine/tf';

/**
 * What our kernels need from a tfjs backend: run another registered kernel of the
 * same backend on TensorInfos and free the intermediates. Kernels work below the
 * engine (no tape, no tidy), so every intermediate is disposed by hand.
 */
export interface KernelBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
  /** Values of a tensor (wasm: a copy out of its heap). */
  readSync(dataId: object): tf.backend_util.BackendValues;
  /** Stores `values` as new data of this backend (refcount 1) and returns its id. */
  write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): object;
  /** One more reference to existing data (a kernel output that shares its input's data). */
  incRef?(dataId: object): void;
}

/**
 * A backend whose tensors live in one heap a kernel can read and write in place (wasm):
 * `makeOutput` allocates a tensor of `shape`, `typedArrayFromHeap` is a view of a
 * tensor's values (no copy). A view is only valid until the next allocation (the heap
 * may grow and move), so allocate first, then take views.
 */
export interface HeapBackendLike extends KernelBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): tf.backend_util.TypedArray;
}

export function isHeapBackend(backend: KernelBackendLike): backend is HeapBackendLike {
  const b = backend as Partial<Record<keyof HeapBackendLike, unknown>>;
  return typeof b.makeOutput === 'function' && typeof b.typedArrayFromHeap === 'function';
}

export type KernelAttrs = tf.NamedAttrMap;

export function runBackendKernel(
  kernelName: string,
  backendName: string,
  backend: KernelBackendLike,
  inputs: tf.NamedTensorInfoMap,
  attrs: KernelAttrs,
): tf.TensorInfo {
  const config = tf.getKernel(kernelName, backendName);
  if (config === undefined) throw new Error(`${backendName} has no ${kernelName} kernel`);
  const out = config.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new Error(`${kernelName} returned several tensors`);
  return out;
}

export function disposeInfo(backend: KernelBackendLike, info: tf.TensorInfo): void {
  backend.disposeData(info.dataId);
}

export function isBackendLike(value: unknown): value is KernelBackendLike {
  if (typeof value !== 'object' || value === null) return false;
  const b = value as Partial<Record<keyof KernelBackendLike, unknown>>;
  return typeof b.disposeData === 'function' && typeof b.readSync === 'function' && typeof b.write === 'function';
}

export function asBackend(value: unknown): KernelBackendLike {
  if (!isBackendLike(value)) throw new Error('kernel called without a usable backend');
  return value;
}
