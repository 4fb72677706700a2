import { ApiError, type ApiErrorShape } from '@shared/errors';
import { decodeRunHealth } from '@shared/run-health';
import type { EventBus } from '../events';
import { blobStillReferenced } from '../store/artifacts';
import type { Db } from '../store/db';
import { setRunHealth } from '../store/run-health';
import type { BlobStore } from '../workspace/blobs';
import type { ExitReason } from './exit-reason';
import { checkpointJobError, openCheckpointJob, type CheckpointJobDeps, type CheckpointJobRequest } from './checkpoint-job';

/**
 * Dataset health with a run (#22): one worker process scores every image of the run's
 * dataset with a saved checkpoint (src-worker/health/score-job.ts). It runs beside the
 * training queue and leaves the run alone; its report replaces the run's previous one
 * only once it is complete and reads back. Stopped or failed, the previous one stays.
 */
export type HealthScoringRequest = CheckpointJobRequest;

export interface HealthScoringDeps extends CheckpointJobDeps {
  db: Db;
  blobs: BlobStore;
  events: EventBus;
  now: () => string;
}

export interface HealthScoringHandle {
  done: Promise<void>;
  stop(): void;
  kill(): void;
  /** The last progress the worker reported. */
  progress(): { phase: string; done: number; total: number } | null;
}

export function startHealthScoring(deps: HealthScoringDeps, request: HealthScoringRequest): HealthScoringHandle {
  const { db, events, blobs } = deps;
  const runId = request.run.id;
  const worker = openCheckpointJob(deps, request, `score dataset health with run ${runId}`, { type: 'health' });
  let stored: { seconds: number } | null = null;
  let storeError: ApiErrorShape | null = null;
  let last: { phase: string; done: number; total: number } | null = null;

  events.emit('run.health', { runId, state: 'started' });
  worker.onMessage((msg) => {
    if (msg.type === 'health-progress') {
      last = { phase: msg.phase, done: msg.done, total: msg.total };
      events.emit('run.health', { runId, state: 'progress', phase: msg.phase, done: msg.done, total: msg.total });
    } else if (msg.type === 'health-report') {
      try {
        const bytes = Buffer.from(msg.data, 'base64');
        // Read back before it replaces anything: a report that does not add up is refused.
        const report = decodeRunHealth(bytes);
        if (report.header.runId !== runId) throw new Error(`it is run ${report.header.runId}'s`);
        const hash = blobs.put(bytes);
        const previous = setRunHealth(db, runId, hash, report.header.checkpoint.epoch, deps.now());
        if (previous !== null && !blobStillReferenced(db, previous)) blobs.remove(previous);
        stored = { seconds: report.header.seconds };
      } catch (error) {
        storeError = new ApiError('io_error', `The health scores of run ${runId} could not be stored (${error instanceof Error ? error.message : String(error)}); the previous scores, if any, are kept.`).toJSON();
        worker.fail(storeError);
      }
    }
  });
  const done = worker.ended.then((end) => {
    if (stored !== null) events.emit('run.health', { runId, state: 'finished', seconds: stored.seconds });
    else if (storeError !== null) events.emit('run.health', { runId, state: 'failed', error: storeError });
    else if (worker.stopRequested) events.emit('run.health', { runId, state: 'cancelled' });
    else events.emit('run.health', { runId, state: 'failed', error: scoringError(db, runId, request.datasetSha256, end.reason) });
  });
  return { done, stop: () => worker.stop(), kill: () => worker.kill(), progress: () => last };
}

function scoringError(db: Db, runId: number, datasetSha256: string, reason: ExitReason): ApiErrorShape {
  return checkpointJobError(db, runId, datasetSha256, reason, 'health scoring', (how) => `The health scoring process ran out of memory (${how}); try fewer importance samples.`);
}
