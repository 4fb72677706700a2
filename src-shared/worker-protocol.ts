import type { RunConfig } from './config';
import type { ApiErrorShape } from './errors';
import type { MetricPoint } from './types';

/**
 * Messages between the job supervisor (src-main/core/jobs) and a training worker.
 * Versioned: a worker answering another version is refused at `hello`.
 */
export const WORKER_PROTOCOL_VERSION = 1;

export interface StartTraining {
  type: 'start';
  runId: number;
  config: RunConfig;
  /** Absolute path of the packed dataset file. */
  datasetPath: string;
  /** Folder the worker writes checkpoints and artifacts into. */
  runDir: string;
}

export type ToWorker =
  | { v: typeof WORKER_PROTOCOL_VERSION; msg: StartTraining }
  | { v: typeof WORKER_PROTOCOL_VERSION; msg: { type: 'stop' } }
  | { v: typeof WORKER_PROTOCOL_VERSION; msg: { type: 'ping' } };

export interface EpochSummary {
  epoch: number;
  step: number;
  /** Validation figures (e.g. val_elbo, val_recon, val_kl). */
  metrics: Record<string, number>;
}

export type FromWorkerMessage =
  | { type: 'hello'; pid: number }
  | { type: 'backend'; backend: string; notes: string[] }
  | { type: 'heartbeat'; memoryBytes: number }
  | { type: 'metrics'; points: MetricPoint[] }
  | {
      type: 'progress';
      epoch: number;
      epochs: number;
      step: number;
      stepsPerEpoch: number;
      imagesPerSec: number;
      etaSeconds: number | null;
    }
  | { type: 'epoch'; summary: EpochSummary }
  | { type: 'artifact'; kind: string; epoch: number; png: string }
  | { type: 'done'; reason: 'finished' | 'stopped'; summary: Record<string, number> }
  | { type: 'error'; error: ApiErrorShape };

export interface FromWorker {
  v: typeof WORKER_PROTOCOL_VERSION;
  msg: FromWorkerMessage;
}

export const HEARTBEAT_INTERVAL_MS = 1000;
/** No heartbeat for this long means the worker is hung; the supervisor kills it. */
export const HEARTBEAT_TIMEOUT_MS = 30_000;
/** Time a worker has to stop after a polite `stop` before it is killed. */
export const STOP_GRACE_MS = 5_000;
