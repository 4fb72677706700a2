import type { ApiErrorShape } from '@shared/errors';
import type { RunStatus } from '@shared/types';
import type { WorkerExit } from './spawn';

export interface ExitContext {
  exit: WorkerExit;
  /** What the worker said last before it went away. */
  done: 'finished' | 'stopped' | null;
  reportedError: ApiErrorShape | null;
  stopRequested: boolean;
  hung: boolean;
  /** The app itself is closing and killed the worker. */
  shuttingDown: boolean;
}

export interface ExitVerdict {
  status: RunStatus;
  error: ApiErrorShape | null;
}

const OOM_PATTERN = /heap out of memory|Allocation failed|out of memory/i;
const RESUME_HINT = 'Metrics up to the last finished step are kept.';

/** Turns how a worker ended into the status stored on its run, and why. */
export function classifyExit(ctx: ExitContext): ExitVerdict {
  const { exit } = ctx;
  if (ctx.done === 'finished') return { status: 'finished', error: null };
  if (ctx.done === 'stopped' || ctx.stopRequested) return { status: 'cancelled', error: null };
  if (ctx.shuttingDown) {
    return {
      status: 'interrupted',
      error: { code: 'worker_failed', message: `VAE Studio was closed while this run was training. ${RESUME_HINT}` },
    };
  }
  if (exit.signal === 'SIGINT') {
    // Ctrl+C in the terminal VAE Studio runs in reaches its whole process group: the
    // worker can end before the app has begun closing. The app is being stopped, not
    // the worker crashing.
    return {
      status: 'interrupted',
      error: { code: 'worker_failed', message: `VAE Studio was stopped (Ctrl+C) while this run was training. ${RESUME_HINT}` },
    };
  }
  if (ctx.reportedError) {
    // The worker caught its own allocation failure (or saw it coming) and said so.
    const oom = ctx.reportedError.details?.reason === 'out_of_memory';
    return { status: oom ? 'oom' : 'failed', error: ctx.reportedError };
  }
  const how = exit.signal ? `signal ${exit.signal}` : `exit code ${String(exit.code)}`;
  const details = { code: exit.code, signal: exit.signal, stderr: exit.stderrTail.slice(-1000) };
  if (ctx.hung) {
    return {
      status: 'crashed',
      error: { code: 'worker_failed', message: `The training process stopped responding and was killed. ${RESUME_HINT}`, details },
    };
  }
  if (OOM_PATTERN.test(exit.stderrTail)) {
    return {
      status: 'oom',
      error: {
        code: 'worker_failed',
        message: `The training process ran out of memory (${how}). Try a smaller batch size or model. ${RESUME_HINT}`,
        details,
      },
    };
  }
  if (exit.signal === 'SIGKILL') {
    return {
      status: 'killed',
      error: {
        code: 'worker_failed',
        message: `The training process was killed from outside (SIGKILL) — by the OS when memory runs low, or by a user. ${RESUME_HINT}`,
        details,
      },
    };
  }
  return {
    status: 'crashed',
    error: { code: 'worker_failed', message: `The training process crashed (${how}). ${RESUME_HINT}`, details },
  };
}
