import type { Run } from '@shared/types';
import { activeStatuses, resumableStatuses } from '@shared/types';

/** Queued, running or paused: it has (or waits for) a worker. */
export function isActive(run: Pick<Run, 'status'> | null): boolean {
  return run !== null && activeStatuses.includes(run.status);
}

/** Ended early: runs.resume continues it from its last checkpoint. */
export function isResumable(run: Pick<Run, 'status'> | null): boolean {
  return run !== null && resumableStatuses.includes(run.status);
}

/**
 * One vocabulary for a run's state on every screen: a person pauses and resumes, stops
 * and resumes. The stored status `cancelled` (a run the user stopped) reads "stopped".
 */
const statusWords: Partial<Record<Run['status'], string>> = { cancelled: 'stopped', oom: 'out of memory' };

export function statusLabel(status: Run['status']): string {
  return statusWords[status] ?? status;
}
