/**
 * How many threads a piece of work is worth: one rule for every job that can split
 * (imputation's chains, Explore's decoding). A thread's share must hold at least
 * `minWorkPerThread` (in the job's own unit: activations of the model's passes), no
 * item is split (at most one thread per item), and no more threads than there are.
 * 1 means: stay on the caller's thread.
 */
export function threadsForWork(available: number, items: number, workPerItem: number, minWorkPerThread: number): number {
  return Math.max(1, Math.min(available, items, Math.floor((items * workPerItem) / minWorkPerThread)));
}

/**
 * The least work (activations of the model's passes: activationsPerImage × passes, per
 * image of the shard) a training thread's shard of a batch must hold for a data-parallel
 * step to pay. Every replica pays per step costs that do not shrink with its rows (the
 * weights in, the gradient out, its Adam slice, one dispatch of every kernel), so a shard
 * must carry enough per-image work. Estimated on 2 cores from per-thread CPU times
 * (`node scripts/bench-shard.mjs`, docs/PERFORMANCE.md; the wall clock of a machine shared
 * with other work says little): conv medium 64×64×3 (182 832 activations an image) at 4
 * images a thread ≈ 0.98× one thread, at 8 0.94–1.36× (median 1.16×, ten runs), so 8 images of it
 * (1.46 M activations) are the least shard; smaller models' least is capped below.
 */
export const MIN_STEP_WORK_PER_THREAD = 1_400_000;

/**
 * At most this many images a thread are asked of any model: what small models (conv
 * 28×28, MLPs) needed before the rule followed per-image work — conv 28×28 (20 944
 * activations an image) gained ≈ 1.35× at 16 rows a thread and ≈ 1.16× at 8.
 */
export const MAX_MIN_ROWS_PER_THREAD = 16;

/**
 * The fewest images of a batch a training thread gets, for a model whose passes hold
 * `workPerImage` activations an image: enough rows for MIN_STEP_WORK_PER_THREAD, never
 * more than MAX_MIN_ROWS_PER_THREAD, at least one.
 */
export function minRowsPerThread(workPerImage: number): number {
  return Math.max(1, Math.min(MAX_MIN_ROWS_PER_THREAD, Math.ceil(MIN_STEP_WORK_PER_THREAD / Math.max(1, workPerImage))));
}
