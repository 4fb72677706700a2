import { ApiError } from '@shared/errors';
import { activationsPerImage, THREAD_JS_HEAP_BYTES, trainingBytes } from '@shared/model-size';
import { parameterCount, type VaeSpec } from './vae';

/** The estimate is shared with the run form (@shared/model-size). */
export { activationsPerImage, THREAD_JS_HEAP_BYTES, trainingBytes };

/** `details.reason` of an error that means out of memory (the run's status becomes 'oom'). */
export const OUT_OF_MEMORY = 'out_of_memory';

/** wasm32's address space: tfjs-backend-wasm cannot hold more, whatever the machine has. */
export const WASM_HEAP_BYTES = 4 * 1024 ** 3;

/**
 * THREAD_JS_HEAP_BYTES (@shared/model-size): the JavaScript heap an isolate that trains or
 * infers may fill before V8 collects it — its old generation starts this large
 * (threads/isolate-heap.ts, where why). Each thread counts it on top of its wasm heap, and
 * the worker process's own isolate (started with the same flag, src-main/core/jobs/spawn.ts)
 * once.
 */

/**
 * What a machine of `machineBytes` leaves training or inference beside the worker
 * process's own JavaScript heap (THREAD_JS_HEAP_BYTES, counted once): the limit every
 * memory check below is given.
 */
export function besideWorkerHeap(machineBytes: number): number {
  return Math.max(0, machineBytes - THREAD_JS_HEAP_BYTES);
}

const gb = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(1)} GB`;

/**
 * Refuses a training step that cannot fit in `limitBytes`, naming what to lower.
 * Returns the estimate (bytes) when it fits. `passes`: how many times a step runs the
 * model on each image (M2 encodes and decodes every image once per class).
 */
export function checkTrainingMemory(spec: VaeSpec, batch: number, limitBytes: number, where: string, passes = 1): number {
  const need = trainingBytes(spec, batch, passes);
  if (need <= limitBytes) return need;
  const perImage = 4 * 2 * passes * activationsPerImage(spec);
  const fits = Math.max(0, Math.floor((limitBytes - 4 * 4 * parameterCount(spec)) / perImage));
  throw new ApiError(
    'invalid_input',
    `This model needs at least ${gb(need)} to train on batches of ${batch} images of ${spec.image.width}×${spec.image.height}×${spec.image.channels}` +
      (passes > 1 ? ` (each encoded and decoded once per class, ${passes} times)` : '') +
      ', ' +
      `more than the ${gb(limitBytes)} ${where} can use. ` +
      (fits > 0 ? `Lower the batch size to ${fits} or less, or use smaller images or a smaller model.` : 'Use smaller images or a smaller model.'),
    { field: fits > 0 ? 'batchSize' : 'hidden', reason: OUT_OF_MEMORY, neededBytes: need, limitBytes },
  );
}

/**
 * The most training threads, at most `requested`, whose replicas fit (train/data-parallel.ts):
 * each replica holds the weights, their gradient and its shard's activations in its own
 * wasm heap (`heapBytes` each) and up to THREAD_JS_HEAP_BYTES of JavaScript heap; all of
 * them, plus the coordinating model, the shared weights, Adam's moments and one gradient
 * block per replica, in `machineBytes` beside the worker's own JavaScript heap.
 * 1 when no split fits (the single-thread check then decides).
 */
export function threadsThatFit(spec: VaeSpec, batch: number, requested: number, heapBytes: number, machineBytes: number, passes = 1): number {
  const params = parameterCount(spec);
  for (let threads = Math.min(requested, batch); threads > 1; threads--) {
    const shard = Math.ceil(batch / threads);
    const replica = 4 * (2 * params + 2 * shard * passes * activationsPerImage(spec));
    const coordinator = 4 * (4 + threads) * params;
    if (replica <= heapBytes && threads * (replica + THREAD_JS_HEAP_BYTES) + coordinator <= besideWorkerHeap(machineBytes)) return threads;
  }
  return 1;
}

/**
 * The most inference threads, at most `requested`, that fit (train/evaluate.ts): each
 * holds the weights and the activations of one decoder call of `rows` rows in its own
 * wasm heap (`heapBytes` each) and its JavaScript heap (THREAD_JS_HEAP_BYTES); all of
 * them, plus the coordinating model and the shared weights, in `machineBytes` beside the
 * worker's own JavaScript heap. 1 when two do not fit.
 */
export function inferenceThreadsThatFit(spec: VaeSpec, rows: number, requested: number, heapBytes: number, machineBytes: number): number {
  const params = parameterCount(spec);
  const thread = 4 * (params + rows * activationsPerImage(spec));
  for (let threads = requested; threads > 1; threads--) {
    if (thread <= heapBytes && threads * (thread + THREAD_JS_HEAP_BYTES) + 4 * 2 * params <= besideWorkerHeap(machineBytes)) return threads;
  }
  return 1;
}
