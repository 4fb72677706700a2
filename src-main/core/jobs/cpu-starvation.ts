import { readdirSync, readFileSync } from 'node:fs';

/**
 * What Linux says of a process's threads (/proc/<pid>/task/<tid>): whether any is runnable
 * (running, or waiting for a CPU), and each one's CPU time so far (schedstat's first field,
 * ns, kept current while it runs).
 */
export interface ProcessThreads {
  runnable: boolean;
  cpuMsByThread: Map<number, number>;
}

/** A task's state letter: the command name may hold spaces and parentheses, so it follows the last ')'. */
function stateOf(stat: string): string {
  const close = stat.lastIndexOf(')');
  return stat.slice(close + 2, close + 3);
}

/**
 * Every thread of `pid` (a worker's main thread and its training or inference threads),
 * or null where that is not known (another OS, a process gone). Threads that end while
 * this reads are skipped.
 */
export function processThreads(pid: number | undefined): ProcessThreads | null {
  if (pid === undefined || process.platform !== 'linux') return null;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  let runnable = false;
  const cpuMsByThread = new Map<number, number>();
  for (const tid of tids) {
    try {
      const state = stateOf(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      const cpuNs = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/)[0]);
      if (!Number.isFinite(cpuNs)) continue;
      runnable ||= state === 'R';
      cpuMsByThread.set(Number(tid), cpuNs / 1e6);
    } catch {
      // ended meanwhile
    }
  }
  return cpuMsByThread.size === 0 ? null : { runnable, cpuMsByThread };
}

/**
 * What a process did since `before`: whether a thread of it is runnable now, and the most
 * CPU time one thread used meanwhile (a thread born since counts all of its own). The
 * busiest thread, not the sum: N training threads starved together may use N× the clock
 * between them in a long step, while a thread looping without a word uses about all of it.
 */
export function busiestSince(before: ProcessThreads | null, now: ProcessThreads | null): { runnable: boolean; cpuMs: number } | null {
  if (before === null || now === null) return null;
  let cpuMs = 0;
  for (const [tid, ms] of now.cpuMsByThread) cpuMs = Math.max(cpuMs, ms - (before.cpuMsByThread.get(tid) ?? 0));
  return { runnable: now.runnable, cpuMs };
}

/**
 * Whether a child silent for `silentMs` is hung. A child with a runnable thread now is
 * measured by the CPU time its busiest thread used while silent (`cpuMs`): a worker on a
 * busy machine — niced, or sharing two cores with other work — waits tens of seconds for
 * a CPU inside one long step; it is starved, not hung, and killing it loses its epoch.
 * That holds as well where the main thread sleeps while its training or inference threads
 * wait for a CPU. A child none of whose threads is runnable (all blocked, stopped) or
 * whose figures are unknown is measured by the wall clock, as before. A runnable child
 * that loops without a word uses CPU and is still caught.
 */
export function silentTooLong(silentMs: number, now: { runnable: boolean; cpuMs: number } | null, timeoutMs: number): boolean {
  if (silentMs <= timeoutMs) return false;
  if (now === null || !now.runnable) return true;
  return now.cpuMs > timeoutMs;
}
