import { setFlagsFromString } from 'node:v8';
import { ISOLATE_OLD_SPACE_FLAG, ISOLATE_OLD_SPACE_MIB } from '@shared/model-size';

/**
 * The old generation a replica's (or inference thread's) V8 isolate starts with, MiB
 * (@shared/model-size ISOLATE_OLD_SPACE_MIB; the memory check counts THREAD_JS_HEAP_BYTES,
 * the same size, for every thread). The worker process's own isolate gets it from its
 * command line (src-main/core/jobs/spawn.ts).
 *
 * A thread's live JavaScript heap is small (≈ 15 MB: tfjs and the model's objects), and
 * V8 sizes a small heap's old-generation limit from it (≈ 23–38 MB), leaving less room
 * than one young generation holds, so the objects a step promotes (tensors and the
 * gradient tape, alive for the whole step) brought marking back right after each full
 * mark-compact, which freed ≈ 1 MB: conv medium 64×64×3 on 2 threads ran 0.65 of them a
 * replica a step at batch 16 and 2.7 at batch 128, marking on V8's background threads
 * (which share the cores with the replicas) as well as its own — 82 and 179 CPU ms a step
 * on other threads (`node scripts/bench-gc.mjs`, docs/PERFORMANCE.md "gc27"). Starting
 * the old generation at 64 MiB lets a replica run 10–20 steps between them at batch 16.
 * What it costs: up to this much more memory a thread before a collection.
 */
export const THREAD_OLD_SPACE_MIB = ISOLATE_OLD_SPACE_MIB;

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
  setFlagsFromString(ISOLATE_OLD_SPACE_FLAG);
}
