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
