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
