import type { BackendReport, GpuAdapterInfo } from './backend-report';
import type { InferRequest, ModelSessionInfo } from './inference';
import type { RunConfig } from './config';
import type { ApiErrorShape } from './errors';
import type { MetricPoint, RunProgress } from './types';

/**
 * Messages between the job supervisor (src-main/core/jobs) and a training worker.
 * Versioned: a worker answering another version is refused at `hello`.
 * v2: checkpoints, resume, pause, on-demand evaluation.
 * v3: model sessions (`open`, then any number of `infer`, each answered by id).
 * v4: dataset health scoring (`health`, answered by health-progress… and health-report).
 */
export const WORKER_PROTOCOL_VERSION = 4;

/** A checkpoint file the worker should load (it verifies the hash before trusting it). */
export interface CheckpointRef {
  path: string;
  sha256: string;
  epoch: number;
  step: number;
}

export interface StartTraining {
  type: 'start';
  runId: number;
  config: RunConfig;
  /** Absolute path of the packed dataset file. */
  datasetPath: string;
  /** Its SHA-256 (the blob's name): the worker checks it once when it reads the file. */
  datasetSha256: string;
  /** Folder the worker writes checkpoints and artifacts into. */
  runDir: string;
  /** Continue the run from this checkpoint (weights, optimizer, random streams, step). */
  resumeFrom?: CheckpointRef;
}

/** Compute the IWAE bound on the test split for a saved model; no training. */
export interface StartEvaluation {
  type: 'evaluate';
  runId: number;
  config: RunConfig;
  datasetPath: string;
  datasetSha256: string;
  checkpoint: CheckpointRef;
  /** Importance samples k (defaults to the run's iwaeSamples). */
  iwaeSamples: number;
  /** Score only the first this many of the test split's fixed evaluation order; absent: all. */
  images?: number;
}

/**
 * Score every image of the dataset with a saved model (dataset health, #22): per-image
 * −ELBO and IWAE bound in bits/dim, a compressor's code length, latent means, p(y|x),
 * and reconstructions of the extremes. Answered by health-progress… then health-report
 * and done, or done stopped.
 */
export interface StartHealthScoring {
  type: 'health';
  runId: number;
  config: RunConfig;
  datasetPath: string;
  datasetSha256: string;
  checkpoint: CheckpointRef;
  /** Importance samples of the IWAE column; 0 leaves it out. */
  iwaeSamples: number;
  /** Leave the label check out (the reconstructions and scores are still computed). */
  labelCheck?: boolean;
}

/**
 * Instead of start: load a checkpoint and answer `infer` requests (Explore, Inpaint)
 * until `stop` or until the supervisor goes away. Answered by `ready` or `error`.
 */
export interface OpenModel {
  type: 'open';
  runId: number;
  config: RunConfig;
  datasetPath: string;
  datasetSha256: string;
  checkpoint: CheckpointRef;
}

export type ToWorkerMessage =
  | StartTraining
  | StartEvaluation
  | StartHealthScoring
  | OpenModel
  /** One question to an open model session; `id` is echoed in its answer. */
  | { type: 'infer'; id: number; request: InferRequest }
  /** Abandon request `id` at its next yield point (answered by infer-error 'cancelled'). */
  | { type: 'cancel'; id: number }
  | { type: 'stop' }
  | { type: 'ping' }
  /** Instead of start: report on every backend (`vae-studio doctor`), then exit. */
  | { type: 'probe' }
  /** Hold after the current step (the process, its memory and its queue slot stay). */
  | { type: 'pause' }
  | { type: 'resume' };

/**
 * How every message to or from a child process travels (the training worker's protocol
 * here, the import child's in src-main): tagged with the protocol version its sender
 * speaks, so a child from another build is refused at its first message.
 */
export interface Envelope<M> {
  v: number;
  msg: M;
}

export interface ToWorker {
  v: typeof WORKER_PROTOCOL_VERSION;
  msg: ToWorkerMessage;
}

export interface EpochSummary {
  epoch: number;
  step: number;
  /** Validation figures (e.g. val_elbo, val_recon, val_kl). */
  metrics: Record<string, number>;
}

/**
 * A checkpoint written (atomically) into runDir after an epoch. The supervisor moves
 * the file into its blob store; `sha256` is the whole file's hash.
 */
export interface CheckpointWritten {
  type: 'checkpoint';
  epoch: number;
  step: number;
  path: string;
  bytes: number;
  sha256: string;
  /** The epoch's evaluation loss (−ELBO), null without one. */
  evalLoss: number | null;
  /** Lowest evaluation loss of the run so far: keep this one as 'best'. */
  best: boolean;
}

export type FromWorkerMessage =
  | { type: 'hello'; pid: number }
  | { type: 'backend'; backend: string; notes: string[]; adapter?: GpuAdapterInfo }
  | { type: 'probe-report'; report: BackendReport }
  | { type: 'heartbeat'; memoryBytes: number }
  | { type: 'metrics'; points: MetricPoint[] }
  | ({ type: 'progress' } & Omit<RunProgress, 'runId' | 'memoryBytes'>)
  | { type: 'epoch'; summary: EpochSummary }
  | { type: 'artifact'; kind: string; epoch: number; png: string }
  | CheckpointWritten
  /** Answer to pause/resume, sent when the loop actually holds or continues. */
  | { type: 'state'; state: 'paused' | 'running' }
  | { type: 'done'; reason: 'finished' | 'stopped'; summary: Record<string, number> }
  /** The model session is open and takes `infer` requests. */
  | { type: 'ready'; info: ModelSessionInfo }
  /** An intermediate answer of a long request (e.g. an imputation refining). */
  | { type: 'infer-partial'; id: number; data: unknown }
  | { type: 'infer-result'; id: number; data: unknown }
  | { type: 'infer-error'; id: number; error: ApiErrorShape }
  | { type: 'health-progress'; phase: 'scoring' | 'labels' | 'reconstructions'; done: number; total: number }
  /** The scored dataset, encoded as src-shared/run-health.ts stores it, in base64. */
  | { type: 'health-report'; data: string }
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
