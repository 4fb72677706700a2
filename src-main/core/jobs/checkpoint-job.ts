import { ApiError, type ApiErrorShape } from '@shared/errors';
import type { Run } from '@shared/types';
import type { CheckpointRef, StartEvaluation, StartHealthScoring } from '@shared/worker-protocol';
import { explainWorkerDamage } from '../damage';
import type { Db } from '../store/db';
import type { ExitReason } from './exit-reason';
import type { SpawnWorker } from './spawn';
import { openWorkerConnection, type WorkerConnection } from './worker-connection';

/**
 * A job that reads a run's saved checkpoint in its own worker process beside the
 * training queue, leaving the run's status alone: the on-demand evaluation
 * (evaluation.ts) and dataset health with a run (health-scoring.ts). One place for how
 * such a job starts and for why one gave no result.
 */
export interface CheckpointJobRequest {
  run: Run;
  datasetPath: string;
  datasetSha256: string;
  checkpoint: CheckpointRef;
  iwaeSamples: number;
}

export interface CheckpointJobDeps {
  spawn: SpawnWorker;
  workerEntry: string;
  heartbeatTimeoutMs?: number;
  stopGraceMs?: number;
}

type CommonJob = 'runId' | 'config' | 'datasetPath' | 'datasetSha256' | 'checkpoint' | 'iwaeSamples';

/** Starts the job's worker (`name` names it in its errors) with the run's config, dataset, checkpoint and k, plus the job's own fields. */
export function openCheckpointJob(
  deps: CheckpointJobDeps,
  request: CheckpointJobRequest,
  name: string,
  job: Omit<StartEvaluation, CommonJob> | Omit<StartHealthScoring, CommonJob>,
): WorkerConnection {
  return openWorkerConnection(deps.spawn, deps.workerEntry, {
    name,
    job: {
      ...job,
      runId: request.run.id,
      config: request.run.config,
      datasetPath: request.datasetPath,
      datasetSha256: request.datasetSha256,
      checkpoint: request.checkpoint,
      iwaeSamples: request.iwaeSamples,
    } as StartEvaluation | StartHealthScoring,
    ...(deps.heartbeatTimeoutMs !== undefined && { heartbeatTimeoutMs: deps.heartbeatTimeoutMs }),
    ...(deps.stopGraceMs !== undefined && { stopGraceMs: deps.stopGraceMs }),
  });
}

/**
 * Why a checkpoint job gave no result, from how its worker ended: the damage its error
 * names (a checkpoint or dataset that changed), else the way it ended. `process` names
 * it ("evaluation"); `outOfMemory` says what to try after it ran out of memory.
 */
export function checkpointJobError(db: Db, runId: number, datasetSha256: string, reason: ExitReason, process: string, outOfMemory: (how: string) => string): ApiErrorShape {
  if (reason.error) return explainWorkerDamage(db, runId, datasetSha256, reason.error);
  const message =
    reason.kind === 'hung'
      ? `The ${process} process stopped responding and was killed before reporting a result.`
      : reason.kind === 'oom'
        ? outOfMemory(reason.how)
        : `The ${process} process ended (${reason.how}) before reporting a result.`;
  return new ApiError('worker_failed', message).toJSON();
}
