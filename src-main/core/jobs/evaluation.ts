import { ApiError, type ApiErrorShape } from '@shared/errors';
import type { Run } from '@shared/types';
import type { CheckpointRef } from '@shared/worker-protocol';
import type { EventBus } from '../events';
import { explainWorkerDamage } from '../damage';
import { insertMetrics } from '../store/metrics';
import { getRun, patchRunSummary } from '../store/runs';
import type { Db } from '../store/db';
import type { ExitReason } from './exit-reason';
import type { SpawnWorker } from './spawn';
import { openWorkerConnection } from './worker-connection';

/**
 * An on-demand evaluation: one worker process computes the IWAE bound of a saved
 * checkpoint on the test split. It runs beside the training queue and leaves the run's
 * status alone; its figures land in the run's metrics and summary. Stopped, it stores
 * nothing: the figure the run had stays.
 */
export interface EvaluationRequest {
  run: Run;
  datasetPath: string;
  datasetSha256: string;
  checkpoint: CheckpointRef;
  iwaeSamples: number;
  /** The first this many of the test split's evaluation order, or all of it. */
  images: number | 'all';
}

export interface EvaluationDeps {
  db: Db;
  events: EventBus;
  spawn: SpawnWorker;
  workerEntry: string;
  heartbeatTimeoutMs?: number;
  stopGraceMs?: number;
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
  const worker = openWorkerConnection(deps.spawn, deps.workerEntry, {
    name: `evaluate run ${runId}`,
    job: {
      type: 'evaluate',
      runId,
      config: request.run.config,
      datasetPath: request.datasetPath,
      datasetSha256: request.datasetSha256,
      checkpoint: request.checkpoint,
      iwaeSamples: request.iwaeSamples,
      ...(request.images === 'all' ? {} : { images: request.images }),
    },
    ...(deps.heartbeatTimeoutMs !== undefined && { heartbeatTimeoutMs: deps.heartbeatTimeoutMs }),
    ...(deps.stopGraceMs !== undefined && { stopGraceMs: deps.stopGraceMs }),
  });
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
  if (reason.error) return explainWorkerDamage(db, runId, datasetSha256, reason.error);
  const message =
    reason.kind === 'hung'
      ? 'The evaluation process stopped responding and was killed before reporting a result.'
      : reason.kind === 'oom'
        ? `The evaluation process ran out of memory (${reason.how}) before reporting a result; try fewer importance samples or images.`
        : `The evaluation process ended (${reason.how}) before reporting a result.`;
  return new ApiError('worker_failed', message).toJSON();
}
