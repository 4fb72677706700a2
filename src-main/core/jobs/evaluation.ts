import type { ApiErrorShape } from '@shared/errors';
import type { EventBus } from '../events';
import { insertMetrics } from '../store/metrics';
import { getRun, patchRunSummary } from '../store/runs';
import type { Db } from '../store/db';
import type { ExitReason } from './exit-reason';
import { checkpointJobError, openCheckpointJob, type CheckpointJobDeps, type CheckpointJobRequest } from './checkpoint-job';

/**
 * An on-demand evaluation: one worker process computes the IWAE bound of a saved
 * checkpoint on the test split. It runs beside the training queue and leaves the run's
 * status alone; its figures land in the run's metrics and summary. Stopped, it stores
 * nothing: the figure the run had stays.
 */
export interface EvaluationRequest extends CheckpointJobRequest {
  /** The first this many of the test split's evaluation order, or all of it. */
  images: number | 'all';
}

export interface EvaluationDeps extends CheckpointJobDeps {
  db: Db;
  events: EventBus;
}

export interface EvaluationHandle {
  /** Settles when the worker has exited and the outcome is stored and announced. */
  done: Promise<void>;
  /** Asks the worker to stop after its current batch; kills it after the grace period. */
  stop(): void;
  kill(): void;
}

export function startEvaluation(deps: EvaluationDeps, request: EvaluationRequest): EvaluationHandle {
  const { db, events } = deps;
  const runId = request.run.id;
  const worker = openCheckpointJob(deps, request, `evaluate run ${runId}`, { type: 'evaluate', ...(request.images === 'all' ? {} : { images: request.images }) });
  let summary: Record<string, number> | null = null;

  events.emit('run.evaluation', { runId, state: 'started', iwaeSamples: request.iwaeSamples, images: request.images });
  worker.onMessage((msg) => {
    switch (msg.type) {
      case 'metrics':
        insertMetrics(db, runId, msg.points);
        events.emit('run.metrics', { runId, points: msg.points });
        break;
      case 'progress':
        events.emit('run.progress', { runId, ...msg });
        break;
      case 'done':
        if (msg.reason === 'finished') summary = msg.summary;
        break;
      default:
        break;
    }
  });
  const done = worker.ended.then((end) => {
    if (summary !== null) {
      patchRunSummary(db, runId, summary);
      events.emit('run.evaluation', { runId, state: 'finished', summary });
      const run = getRun(db, runId);
      if (run) events.emit('run.status', { runId, status: run.status, run });
    } else if (worker.stopRequested) {
      events.emit('run.evaluation', { runId, state: 'cancelled' });
    } else {
      events.emit('run.evaluation', { runId, state: 'failed', error: evaluationError(db, runId, request.datasetSha256, end.reason) });
    }
  });
  return { done, stop: () => worker.stop(), kill: () => worker.kill() };
}

/** Why an evaluation gave no figure, from how its worker ended. */
function evaluationError(db: Db, runId: number, datasetSha256: string, reason: ExitReason): ApiErrorShape {
  return checkpointJobError(db, runId, datasetSha256, reason, 'evaluation', (how) => `The evaluation process ran out of memory (${how}) before reporting a result; try fewer importance samples or images.`);
}
