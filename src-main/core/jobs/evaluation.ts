import { ApiError, type ApiErrorShape } from '@shared/errors';
import type { Run } from '@shared/types';
import { HEARTBEAT_TIMEOUT_MS, STOP_GRACE_MS, WORKER_PROTOCOL_VERSION, type CheckpointRef, type FromWorker } from '@shared/worker-protocol';
import type { EventBus } from '../events';
import { explainWorkerDamage } from '../damage';
import { insertMetrics } from '../store/metrics';
import { getRun, patchRunSummary } from '../store/runs';
import type { Db } from '../store/db';
import type { SpawnWorker } from './spawn';

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
  const worker = deps.spawn(deps.workerEntry, { name: `evaluate run ${runId}` });
  let summary: Record<string, number> | null = null;
  let reported: ApiErrorShape | null = null;
  let stopRequested = false;
  let killTimer: NodeJS.Timeout | null = null;
  let lastBeat = Date.now();
  const watchdog = setInterval(() => {
    if (Date.now() - lastBeat > (deps.heartbeatTimeoutMs ?? HEARTBEAT_TIMEOUT_MS)) worker.kill();
  }, 1000);

  events.emit('run.evaluation', { runId, state: 'started', iwaeSamples: request.iwaeSamples, images: request.images });
  worker.onMessage((message: FromWorker) => {
    lastBeat = Date.now();
    if (message?.v !== WORKER_PROTOCOL_VERSION) {
      reported = { code: 'worker_failed', message: `The worker speaks protocol ${String(message?.v)}, this app ${WORKER_PROTOCOL_VERSION}.` };
      worker.kill();
      return;
    }
    const msg = message.msg;
    switch (msg.type) {
      case 'hello':
        worker.send({
          v: WORKER_PROTOCOL_VERSION,
          msg: {
            type: 'evaluate',
            runId,
            config: request.run.config,
            datasetPath: request.datasetPath,
            datasetSha256: request.datasetSha256,
            checkpoint: request.checkpoint,
            iwaeSamples: request.iwaeSamples,
            ...(request.images === 'all' ? {} : { images: request.images }),
          },
        });
        break;
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
      case 'error':
        reported = msg.error;
        break;
      default:
        break;
    }
  });
  const done = new Promise<void>((resolve) => {
    worker.onExit((exit) => {
      clearInterval(watchdog);
      if (killTimer) clearTimeout(killTimer);
      if (summary !== null) {
        patchRunSummary(db, runId, summary);
        events.emit('run.evaluation', { runId, state: 'finished', summary });
        const run = getRun(db, runId);
        if (run) events.emit('run.status', { runId, status: run.status, run });
      } else if (stopRequested) {
        events.emit('run.evaluation', { runId, state: 'cancelled' });
      } else {
        const how = exit.signal ? `signal ${exit.signal}` : `exit code ${String(exit.code)}`;
        const error = reported ? explainWorkerDamage(db, runId, request.datasetSha256, reported) : new ApiError('worker_failed', `The evaluation process ended (${how}) before reporting a result.`).toJSON();
        events.emit('run.evaluation', { runId, state: 'failed', error });
      }
      resolve();
    });
  });
  const stop = (): void => {
    if (stopRequested) return;
    stopRequested = true;
    worker.send({ v: WORKER_PROTOCOL_VERSION, msg: { type: 'stop' } });
    killTimer = setTimeout(() => worker.kill(), deps.stopGraceMs ?? STOP_GRACE_MS);
  };
  return { done, stop, kill: () => worker.kill() };
}
