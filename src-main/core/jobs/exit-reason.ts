import type { ApiErrorShape } from '@shared/errors';
import type { RunStatus } from '@shared/types';
import type { WorkerExit } from './spawn';

/** What a connection knew when its child ended (worker-connection.ts collects it). */
export interface ExitContext {
  exit: WorkerExit;
  /** What the worker said last before it went away. */
  done: 'finished' | 'stopped' | null;
  /** An error the worker reported, or the supervisor's own reason for ending it (a protocol it does not speak, a store that failed). */
  reportedError: ApiErrorShape | null;
  stopRequested: boolean;
  hung: boolean;
  /** The app itself is closing and killed the worker. */
  shuttingDown: boolean;
}

/**
 * Why a child process ended, one kind each, in order of precedence: it said it finished;
 * it stopped when asked; the app was closing; Ctrl+C reached it; it (or the supervisor) reported an error;
 * it went silent and was killed; it ran out of memory; it was killed from outside; it crashed.
 */
export type ExitKind = 'finished' | 'stopped' | 'shutdown' | 'interrupted' | 'reported' | 'hung' | 'oom' | 'killed' | 'crashed';

export interface ExitReason {
  kind: ExitKind;
  /** `exit code 3` or `signal SIGKILL`, for messages. */
  how: string;
  /** The reported error (kind 'reported', or 'oom' when the worker saw it coming itself). */
  error: ApiErrorShape | null;
  details: { code: number | null; signal: string | null; stderr: string };
}

export interface ExitVerdict {
  status: RunStatus;
  error: ApiErrorShape | null;
}

/** What V8, the wasm heap and Electron's utility process say when memory ran out. */
const OOM_PATTERN = /heap out of memory|Allocation failed|out of memory/i;
const RESUME_HINT = 'Metrics up to the last finished step are kept.';

/** The one reading of how a child ended, for every kind of child (runs, evaluations, model sessions, doctor, import). */
export function exitReason(ctx: ExitContext): ExitReason {
  const { exit } = ctx;
  const how = exit.signal ? `signal ${exit.signal}` : `exit code ${String(exit.code)}`;
  const details = { code: exit.code, signal: exit.signal, stderr: exit.stderrTail.slice(-1000) };
  const reason = (kind: ExitKind, error: ApiErrorShape | null = null): ExitReason => ({ kind, how, error, details });
  if (ctx.done === 'finished') return reason('finished');
  if (ctx.done === 'stopped' || ctx.stopRequested) return reason('stopped');
  if (ctx.shuttingDown) return reason('shutdown');
  // Ctrl+C in the terminal VAE Studio runs in reaches its whole process group: the child
  // can end before the app has begun closing. The app is being stopped, not the child crashing.
  if (exit.signal === 'SIGINT') return reason('interrupted');
  if (ctx.reportedError) {
    // The worker caught its own allocation failure (or saw it coming) and said so.
    return reason(ctx.reportedError.details?.reason === 'out_of_memory' ? 'oom' : 'reported', ctx.reportedError);
  }
  if (ctx.hung) return reason('hung');
  if (OOM_PATTERN.test(exit.stderrTail)) return reason('oom');
  if (exit.signal === 'SIGKILL') return reason('killed');
  return reason('crashed');
}

/** Turns how a training worker ended into the status stored on its run, and why. */
export function classifyExit(ctx: ExitContext): ExitVerdict {
  const { kind, how, error, details } = exitReason(ctx);
  switch (kind) {
    case 'finished':
      return { status: 'finished', error: null };
    case 'stopped':
      return { status: 'cancelled', error: null };
    case 'shutdown':
      return {
        status: 'interrupted',
        error: { code: 'worker_failed', message: `VAE Studio was closed while this run was training. ${RESUME_HINT}` },
      };
    case 'interrupted':
      return {
        status: 'interrupted',
        error: { code: 'worker_failed', message: `VAE Studio was stopped (Ctrl+C) while this run was training. ${RESUME_HINT}` },
      };
    case 'reported':
      return { status: 'failed', error };
    case 'hung':
      return {
        status: 'crashed',
        error: { code: 'worker_failed', message: `The training process stopped responding and was killed. ${RESUME_HINT}`, details },
      };
    case 'oom':
      return {
        status: 'oom',
        error: error ?? {
          code: 'worker_failed',
          message: `The training process ran out of memory (${how}). Try a smaller batch size or model. ${RESUME_HINT}`,
          details,
        },
      };
    case 'killed':
      return {
        status: 'killed',
        error: {
          code: 'worker_failed',
          message: `The training process was killed from outside (SIGKILL) — by the OS when memory runs low, or by a user. ${RESUME_HINT}`,
          details,
        },
      };
    case 'crashed':
      return {
        status: 'crashed',
        error: { code: 'worker_failed', message: `The training process crashed (${how}). ${RESUME_HINT}`, details },
      };
  }
}
