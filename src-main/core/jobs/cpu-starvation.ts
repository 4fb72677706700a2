import { readFileSync } from 'node:fs';

/** What Linux says of a process's main thread: whether it is runnable (running, or waiting for a CPU) and the CPU time it has used. */
export interface ThreadCpu {
  runnable: boolean;
  cpuMs: number;
}

/**
 * The main thread's state (/proc/<pid>/stat) and CPU time (/proc/<pid>/schedstat, first
 * field, kept current while it runs), or null where that is not known (another OS, a
 * process gone).
 */
export function threadCpu(pid: number | undefined): ThreadCpu | null {
  if (pid === undefined || process.platform !== 'linux') return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the state follows the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    const cpuNs = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/)[0]);
    return Number.isFinite(cpuNs) ? { runnable: state === 'R', cpuMs: cpuNs / 1e6 } : null;
  } catch {
    return null;
  }
}

/**
 * Whether a child silent for `silentMs` is hung. A child that is runnable now is measured
 * by the CPU time it used while silent (`cpuMs`): a worker on a busy machine — niced, or
 * sharing two cores with other work — waits tens of seconds for a CPU inside one long
 * step; it is starved, not hung, and killing it loses its epoch. A child that is not
 * runnable (blocked, stopped) or whose figures are unknown is measured by the wall clock,
 * as before. A runnable child that loops without a word uses CPU and is still caught.
 */
export function silentTooLong(silentMs: number, now: { runnable: boolean; cpuMs: number } | null, timeoutMs: number): boolean {
  if (silentMs <= timeoutMs) return false;
  if (now === null || !now.runnable) return true;
  return now.cpuMs > timeoutMs;
}
