/**
 * Phase timestamps of data-parallel steps, for finding where a 2-thread step loses to
 * half a 1-thread one (`VAE_STEP_TRACE=1`; `node scripts/bench-trace.mjs`). Off, nothing is
 * recorded and no message carries a timestamp. Times are absolute milliseconds
 * (performance.timeOrigin + now()), so a thread's marks and the coordinator's compare.
 */
import { readFileSync } from 'node:fs';

export const stepTraceOn = process.env['VAE_STEP_TRACE'] === '1';

export function traceNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * This thread's CPU time so far in ms (Linux: /proc/thread-self/schedstat, nanoseconds
 * on a CPU), NaN where there is none. What a loaded machine inflates least: a phase's
 * CPU time is its work, its wall time also the other processes'.
 */
export function threadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return NaN;
  }
}

/** A replica's marks (and, as `cpu:<phase>`, its thread's CPU time at each) for one step, by phase name, in the order they happened. */
export type ReplicaMarks = Record<string, number>;

/** One step: the coordinator's marks and each replica's. */
export interface StepTrace {
  coordinator: Record<string, number>;
  replicas: ReplicaMarks[];
}

/** Steps recorded so far (the bench empties it between measurements). */
export const stepTraces: StepTrace[] = [];

/**
 * Each replica's thread CPU ms a step over the recorded steps, from one step's arrival to
 * the next's: everything it did for a step, traced phase or not (none on one thread).
 */
export function replicaCpuPerStep(threads: number): number[] {
  if (threads === 1) return [];
  return Array.from({ length: threads }, (_, r) => {
    const at = stepTraces.map((t) => t.replicas[r]!['cpu:arrived']!);
    return (at[at.length - 1]! - at[0]!) / Math.max(1, at.length - 1);
  });
}
