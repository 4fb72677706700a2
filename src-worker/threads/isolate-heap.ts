import { setFlagsFromString } from 'node:v8';
import { THREAD_JS_HEAP_BYTES } from '../model/memory';

/**
 * The old generation a replica's (or inference thread's) V8 isolate starts with, MiB
 * (THREAD_JS_HEAP_BYTES, which the memory check counts for every thread).
 *
 * A thread's live JavaScript heap is small (≈ 15 MB: tfjs and the model's objects), and
 * V8 sizes a small heap's allocation limit from it (≈ 23–38 MB), so the objects a step
 * promotes (tensors and the gradient tape, alive for the whole step) reached the limit's
 * trigger about every step: each replica ran a full mark-compact ≈ 0.75 times a step
 * that freed ≈ 1 MB, marking on V8's background threads (which share the cores with the
 * replicas) as well as its own — conv medium 64×64×3 batch 16 on 2 threads: 86.7 CPU ms
 * a step on other threads, 15–16 collections a replica in 20 steps
 * (`node scripts/bench-gc.mjs`, docs/PERFORMANCE.md "gc27"). Starting the old
 * generation at 64 MiB lets a replica run ≈ 13 steps between them. What it costs: up to
 * this much more memory a thread before a collection.
 */
export const THREAD_OLD_SPACE_MIB = THREAD_JS_HEAP_BYTES / 1024 ** 2;

let configured = false;

/**
 * Makes isolates started from now on in this process (worker threads) begin with
 * THREAD_OLD_SPACE_MIB of old generation. A V8 flag is process-wide: it is read when an
 * isolate's heap is set up, so the running isolates (this one) keep theirs. Node's
 * Worker resourceLimits has no initial size, hence the flag.
 */
export function configureThreadHeaps(): void {
  if (configured) return;
  configured = true;
  setFlagsFromString(`--initial-old-space-size=${THREAD_OLD_SPACE_MIB}`);
}
