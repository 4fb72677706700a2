/**
 * Phase timestamps of data-parallel steps, for finding where a 2-thread step loses to
 * half a 1-thread one (`VAE_STEP_TRACE=1`; `node scripts/bench-trace.mjs`). Off, nothing is
 * recorded and no message carries a timestamp. Times are absolute milliseconds
 * (performance.timeOrigin + now()), so a thread's marks and the coordinator's compare.
 */
export const stepTraceOn = process.env['VAE_STEP_TRACE'] === '1';

export function traceNow(): number {
  return performance.timeOrigin + performance.now();
}

/** A replica's marks for one step, by phase name, in the order they happened. */
export type ReplicaMarks = Record<string, number>;

/** One step: the coordinator's marks and each replica's. */
export interface StepTrace {
  coordinator: Record<string, number>;
  replicas: ReplicaMarks[];
}

/** Steps recorded so far (the bench empties it between measurements). */
export const stepTraces: StepTrace[] = [];
