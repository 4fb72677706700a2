import { mkdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, isAbsolute } from 'node:path';
import { UI_EVENT_INTERVAL_MS } from '@shared/api';
import { ApiError, type ApiErrorShape } from '@shared/errors';
import type { AppInfo, MetricPoint, Run, RunProgress, RunStatus } from '@shared/types';
import type { CheckpointRef, CheckpointWritten, FromWorkerMessage, StartTraining } from '@shared/worker-protocol';
import type { EventBus } from '../events';
import { blobStillReferenced, insertArtifact } from '../store/artifacts';
import { getCheckpoint, replaceCheckpoint } from '../store/checkpoints';
import { durableTransaction } from '../store/db';
import { getDataset } from '../store/datasets';
import { insertMetrics } from '../store/metrics';
import {
  finishRun,
  getRun,
  markRunStarted,
  readableConfig,
  recordEpoch,
  runsWithStatus,
  setRunBackend,
  setRunPaused,
  setRunWaiting,
} from '../store/runs';
import type { Workspace } from '../workspace/workspace';
import { toArtifact } from '../api/artifact-file';
import { explainWorkerDamage } from '../damage';
import { isDiskFull, toApiError } from '../errors';
import { startEvaluation, type EvaluationHandle } from './evaluation';
import { startHealthScoring, type HealthScoringHandle } from './health-scoring';
import { classifyExit } from './exit-reason';
import { adoptOrphanCheckpoints } from './orphan-checkpoints';
import type { SpawnWorker } from './spawn';
import { Batcher } from './throttle';
import { openWorkerConnection, type WorkerConnection } from './worker-connection';

/**
 * Runs trained at once unless configured: two where there is a core to spare beside the
 * app (each wasm worker uses one core), else one, so a 2-core laptop does not split
 * itself between two slow runs and a sluggish window.
 */
export function defaultParallelRuns(cores = availableParallelism()): number {
  return cores > 2 ? 2 : 1;
}

/** `VAE_STUDIO_PARALLEL_RUNS` (1–16) overrides the default; anything else is ignored. */
export function parallelRunsSetting(env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): number {
  const value = Number(env.VAE_STUDIO_PARALLEL_RUNS);
  return Number.isInteger(value) && value >= 1 && value <= 16 ? value : defaultParallelRuns(cores);
}

export interface RunManagerOptions {
  workspace: Workspace;
  events: EventBus;
  spawn: SpawnWorker;
  workerEntry: string;
  maxConcurrent?: number;
  now?: () => string;
  heartbeatTimeoutMs?: number;
  stopGraceMs?: number;
  /** How often buffered metric points are written to SQLite. */
  dbFlushMs?: number;
  /** Where runs train when not in a local child (remote/remote-dispatcher.ts: a queue on Redis). */
  dispatcher?: RunDispatcher;
  /** The adapter's kind, for the artifact URLs in events (api/artifact-file.ts). */
  mode?: AppInfo['mode'];
}

/**
 * Another place for runs to train: consulted for every run started; `open` answers null
 * to leave the run to a local worker. `maxRuns`: runs active at once while it takes them
 * (a queue's workers, not this machine's cores, bound how many train).
 */
export interface RunDispatcher {
  open(name: string, job: StartTraining): WorkerConnection | null;
  maxRuns(): number | null;
}

interface Active {
  runId: number;
  /** Its worker: handshake, watchdog, stop and how it ended are the connection's. */
  worker: WorkerConnection;
  summary: Record<string, number>;
  /** What the workspace refused to store (also after the worker exited: its last points). */
  storeFailure: ApiErrorShape | null;
  dbBatch: Batcher<MetricPoint>;
  uiBatch: Batcher<MetricPoint>;
  progress: Batcher<RunProgress>;
  /** Checkpoint files being moved into the blob store, in order; awaited before the run ends. */
  ingest: Promise<void>;
  settled: Promise<void>;
}

/** How a run ended, while the workspace cannot take it yet (disk full, read-only). */
interface Ending {
  status: RunStatus;
  error: ApiErrorShape | null;
  summary: Record<string, number>;
  finishedAt: string;
  /** The run's scratch folder, deleted once the ending is saved (null: leave it). */
  runDir: string | null;
  /** Why it could not be written, for the user. */
  cause: string;
}

/** How often an ending the workspace refused is tried again. */
const RETRY_ENDING_MS = 2000;

/**
 * Supervises training workers: a FIFO queue (see defaultParallelRuns), one process per run, heartbeats, polite
 * stop then kill, and the reason every worker ended recorded on its run.
 */
export class RunManager {
  private readonly active = new Map<number, Active>();
  private readonly evaluations = new Map<number, EvaluationHandle>();
  private readonly evaluating = new Map<number, NonNullable<Run['evaluating']>>();
  /** Dataset health scorings by run (one per run at a time, beside training and evaluation). */
  private readonly scorings = new Map<number, HealthScoringHandle>();
  private readonly queue: number[] = [];
  /** Endings not yet in the database; shown from here and retried until they are. */
  private readonly unrecorded = new Map<number, Ending>();
  private retryTimer: NodeJS.Timeout | null = null;
  /** Runs at once that others (a sweep's scheduler) asked for, by who asked: the limit is the largest. */
  private readonly concurrencyRequests = new Map<string, number>();
  private readonly now: () => string;
  private closed = false;

  constructor(private readonly options: RunManagerOptions) {
    this.now = options.now ?? (() => new Date().toISOString());
  }

  /** After a crash of the app itself: runs left 'running' or 'paused' cannot be, so say so. */
  recover(): void {
    const { db } = this.options.workspace;
    for (const run of runsWithStatus(db, ['running', 'paused'])) {
      // A checkpoint the worker finished but this app never stored is not thrown away.
      try {
        adoptOrphanCheckpoints(this.options.workspace, run, this.now());
      } catch (error) {
        console.error(`run ${run.id}: could not adopt checkpoints left by the last session:`, error);
      }
      this.recordEnding(run.id, {
        status: 'interrupted',
        error: {
          code: 'worker_failed',
          message: 'VAE Studio stopped while this run was training. Metrics up to the last finished step are kept.',
        },
        summary: {},
        finishedAt: this.now(),
        runDir: null,
        cause: '',
      });
    }
    for (const run of runsWithStatus(db, ['queued'])) this.queue.push(run.id);
    this.pump();
  }

  enqueue(runId: number): void {
    this.queue.push(runId);
    this.pump();
  }

  isActive(runId: number): boolean {
    return this.active.has(runId) || this.queue.includes(runId) || this.evaluations.has(runId);
  }

  /**
   * IWAE bound of a checkpoint on the test split, in its own worker beside the queue.
   * Resolves when the evaluation has started; `evaluationSettled` waits for its end.
   */
  evaluate(run: Run, checkpoint: CheckpointRef, iwaeSamples: number, images: number | 'all'): void {
    if (this.active.has(run.id) || this.queue.includes(run.id)) {
      throw new ApiError('conflict', `Run ${run.id} is training; evaluate it once it has ended`, { field: 'runId' });
    }
    if (this.evaluations.has(run.id)) {
      throw new ApiError('conflict', `Run ${run.id} is already being evaluated`, { field: 'runId' });
    }
    const { db, blobs } = this.options.workspace;
    const dataset = getDataset(db, run.datasetId);
    if (!dataset) throw new ApiError('not_found', `Dataset ${run.datasetId} of run ${run.id} no longer exists`, { field: 'runId' });
    const handle = startEvaluation(
      {
        db,
        events: this.options.events,
        spawn: this.options.spawn,
        workerEntry: this.options.workerEntry,
        ...(this.options.heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeoutMs: this.options.heartbeatTimeoutMs }),
        ...(this.options.stopGraceMs === undefined ? {} : { stopGraceMs: this.options.stopGraceMs }),
      },
      { run, datasetPath: blobs.pathOf(dataset.contentHash), datasetSha256: dataset.contentHash, checkpoint, iwaeSamples, images },
    );
    this.evaluations.set(run.id, handle);
    this.evaluating.set(run.id, { iwaeSamples, images });
    void handle.done.then(() => {
      this.evaluations.delete(run.id);
      this.evaluating.delete(run.id);
    });
  }

  /**
   * Scores every image of the run's dataset with a checkpoint (dataset health), in its
   * own worker beside the queue. Refused while the run trains or is scored already.
   */
  scoreHealth(run: Run, checkpoint: CheckpointRef, iwaeSamples: number): void {
    if (this.active.has(run.id) || this.queue.includes(run.id)) {
      throw new ApiError('conflict', `Run ${run.id} is training; score the dataset with it once it has ended`, { field: 'runId' });
    }
    if (this.scorings.has(run.id)) throw new ApiError('conflict', `Run ${run.id} is already scoring its dataset`, { field: 'runId' });
    const { db, blobs } = this.options.workspace;
    const dataset = getDataset(db, run.datasetId);
    if (!dataset) throw new ApiError('not_found', `Dataset ${run.datasetId} of run ${run.id} no longer exists`, { field: 'runId' });
    const handle = startHealthScoring(
      {
        db,
        blobs,
        events: this.options.events,
        spawn: this.options.spawn,
        workerEntry: this.options.workerEntry,
        now: this.now,
        ...(this.options.heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeoutMs: this.options.heartbeatTimeoutMs }),
        ...(this.options.stopGraceMs === undefined ? {} : { stopGraceMs: this.options.stopGraceMs }),
      },
      { run, datasetPath: blobs.pathOf(dataset.contentHash), datasetSha256: dataset.contentHash, checkpoint, iwaeSamples },
    );
    this.scorings.set(run.id, handle);
    void handle.done.then(() => this.scorings.delete(run.id));
  }

  /** The health scoring of a run in progress, if any, with its last progress. */
  healthScoring(runId: number): { progress: { phase: string; done: number; total: number } | null } | null {
    const handle = this.scorings.get(runId);
    return handle ? { progress: handle.progress() } : null;
  }

  /** Stops a run's health scoring; false when none runs. */
  cancelHealth(runId: number): boolean {
    const handle = this.scorings.get(runId);
    handle?.stop();
    return handle !== undefined;
  }

  async healthSettled(runId: number): Promise<void> {
    await this.scorings.get(runId)?.done;
  }

  async evaluationSettled(runId: number): Promise<void> {
    await this.evaluations.get(runId)?.done;
  }

  /** Waits until the run's worker has exited and its status is stored (tests, CLI). */
  async settled(runId: number): Promise<void> {
    await this.active.get(runId)?.settled;
  }

  /**
   * Stops a queued or training run (a training one once its worker confirms or is
   * killed). Refuses, rather than answering as if it had, a run this instance is not
   * running: one whose end could not be recorded yet, or one another app trains.
   */
  cancel(runId: number): void {
    const ending = this.unrecorded.get(runId);
    if (ending) {
      throw new ApiError(
        'conflict',
        `Run ${runId} has already stopped (${ending.status}), so there is nothing to cancel; ${ending.cause} Free some space or fix the disk: its status is saved as soon as the workspace can take it.`,
        { field: 'runId' },
      );
    }
    const queued = this.queue.indexOf(runId);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      finishRun(this.options.workspace.db, runId, 'cancelled', this.now(), null);
      this.emitStatus(runId);
      return;
    }
    const job = this.active.get(runId);
    const evaluation = this.evaluations.get(runId);
    if (!job && evaluation) {
      // A finished run being evaluated: stop the evaluation, keep the run as it is.
      evaluation.stop();
      return;
    }
    if (!job) {
      const run = getRun(this.options.workspace.db, runId);
      if (run && ['queued', 'running', 'paused'].includes(run.status)) {
        throw new ApiError(
          'conflict',
          `Run ${runId} is not training in this VAE Studio (${this.options.workspace.readOnly ? 'another VAE Studio holds this workspace; stop it there' : 'its training process is gone; restart VAE Studio to mark it interrupted'}). Nothing was changed.`,
          { field: 'runId' },
        );
      }
      return;
    }
    job.worker.stop();
  }

  /**
   * Hold a running run after its current step. Its status becomes 'paused' when the
   * worker confirms (a `state` message), so it never claims a pause that did not happen.
   * Returns false when the run has no live worker.
   */
  pause(runId: number): boolean {
    const job = this.active.get(runId);
    if (!job || job.worker.stopRequested) return false;
    job.worker.send({ type: 'pause' });
    return true;
  }

  unpause(runId: number): boolean {
    const job = this.active.get(runId);
    if (!job || job.worker.stopRequested) return false;
    job.worker.send({ type: 'resume' });
    return true;
  }

  /** The run as this instance knows it: an ending not yet saved shows instead of 'running'. */
  view(run: Run): Run {
    const evaluating = this.evaluating.get(run.id);
    const seen = evaluating ? { ...run, evaluating } : run;
    const ending = this.unrecorded.get(run.id);
    if (!ending) return seen;
    const note = `Not saved yet: ${ending.cause}`;
    return {
      ...seen,
      status: ending.status,
      finishedAt: ending.finishedAt,
      error: ending.error ? { ...ending.error, details: { ...ending.error.details, unsaved: note } } : { code: 'io_error', message: note },
      summary: { ...run.summary, ...ending.summary },
    };
  }

  /**
   * Before a run is changed again (resume): its ending must be in the database, or the
   * change would be overwritten by it. Throws why when the workspace still refuses it.
   */
  saveEnding(runId: number): void {
    const ending = this.unrecorded.get(runId);
    if (!ending) return;
    this.retryEndings();
    if (this.unrecorded.has(runId)) {
      throw new ApiError('io_error', `Run ${runId} cannot be changed yet: ${ending.cause} Free some space or fix the disk and try again.`, { field: 'runId' });
    }
  }

  /** App shutdown: workers are killed and their runs marked interrupted, never left 'running'. */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    const pending = [...this.active.values()].map((job) => {
      job.worker.shutdown();
      return job.settled;
    });
    for (const evaluation of [...this.evaluations.values(), ...this.scorings.values()]) {
      evaluation.kill();
      pending.push(evaluation.done);
    }
    await Promise.all(pending);
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = null;
    this.retryEndings();
    for (const [runId, ending] of this.unrecorded) {
      console.error(`run ${runId}: closing without recording how it ended (${ending.status}): ${ending.cause}`);
    }
  }

  /**
   * Let `owner` (sweep 3's scheduler) have `runs` training at once, above the configured
   * number if need be, until it asks for null. The owner keeps its own count of what it queues.
   */
  requestConcurrency(owner: string, runs: number | null): void {
    if (runs === null) this.concurrencyRequests.delete(owner);
    else this.concurrencyRequests.set(owner, runs);
    this.pump();
  }

  private pump(): void {
    // Remote workers (Redis) take as many as are sent; here, the setting or a sweep's larger request.
    const limit = this.options.dispatcher?.maxRuns() ?? Math.max(this.options.maxConcurrent ?? parallelRunsSetting(), ...this.concurrencyRequests.values());
    while (!this.closed && this.active.size < limit && this.queue.length > 0) {
      const runId = this.queue.shift()!;
      try {
        this.start(runId);
      } catch (error) {
        const shape = error instanceof ApiError ? error.toJSON() : { code: 'internal' as const, message: String(error) };
        finishRun(this.options.workspace.db, runId, 'failed', this.now(), shape);
        this.emitStatus(runId);
      }
    }
  }

  private start(runId: number): void {
    const { workspace, events } = this.options;
    const { db } = workspace;
    const run = getRun(db, runId);
    if (!run) return;
    readableConfig(run);
    const dataset = getDataset(db, run.datasetId);
    if (!dataset) throw new ApiError('not_found', `Dataset ${run.datasetId} of run ${runId} no longer exists`);
    const runDir = join(workspace.runsDir, String(runId));
    mkdirSync(runDir, { recursive: true });
    // A run with a checkpoint continues from it (runs.resume, or a resumed run re-queued
    // by recover() after the app died); a fresh run has none.
    const last = getCheckpoint(db, runId, 'last');
    const resumeFrom: CheckpointRef | undefined = last && {
      path: workspace.blobs.pathOf(last.blob_hash),
      sha256: last.blob_hash,
      epoch: last.epoch,
      step: last.step,
    };

    const start: StartTraining = {
      type: 'start',
      runId,
      config: run.config,
      datasetPath: workspace.blobs.pathOf(dataset.contentHash),
      datasetSha256: dataset.contentHash,
      runDir,
      ...(resumeFrom && { resumeFrom }),
    };
    const worker =
      this.options.dispatcher?.open(`run ${runId}`, start) ??
      openWorkerConnection(this.options.spawn, this.options.workerEntry, {
        name: `run ${runId}`,
        job: start,
        ...(this.options.heartbeatTimeoutMs !== undefined && { heartbeatTimeoutMs: this.options.heartbeatTimeoutMs }),
        ...(this.options.stopGraceMs !== undefined && { stopGraceMs: this.options.stopGraceMs }),
      });
    let resolveSettled!: () => void;
    const job: Active = {
      runId,
      worker,
      summary: {},
      storeFailure: null,
      dbBatch: new Batcher(this.options.dbFlushMs ?? 250, (points) => this.guard(job, () => insertMetrics(db, runId, points))),
      uiBatch: new Batcher(UI_EVENT_INTERVAL_MS, (points) => events.emit('run.metrics', { runId, points })),
      progress: new Batcher(UI_EVENT_INTERVAL_MS, (items) => events.emit('run.progress', items[items.length - 1]!)),
      ingest: Promise.resolve(),
      settled: new Promise((resolve) => (resolveSettled = resolve)),
    };
    this.active.set(runId, job);
    markRunStarted(db, runId, worker.pid ?? null, this.now());
    this.emitStatus(runId);

    worker.onMessage((msg) => this.guard(job, () => this.onWorkerMessage(job, runDir, msg)));
    // A notice, not a result: one the workspace cannot take is left out rather than failing the run.
    worker.onWaiting?.((wait) => {
      try {
        setRunWaiting(db, runId, wait);
      } catch (error) {
        console.error(`run ${runId}: could not note that it waits for a worker:`, error);
      }
      this.emitStatus(runId);
    });
    void worker.ended.then(async (end) => {
      job.dbBatch.flush();
      job.uiBatch.flush();
      job.progress.flush();
      // The last checkpoint must be in the store before the run reads as ended (resumable).
      await job.ingest;
      const verdict = classifyExit({ ...end, reportedError: end.reportedError ?? job.storeFailure });
      const error = verdict.error && explainWorkerDamage(db, runId, dataset.contentHash, verdict.error);
      this.recordEnding(runId, { status: verdict.status, error, summary: job.summary, finishedAt: this.now(), runDir, cause: '' });
      this.active.delete(runId);
      this.emitStatus(runId);
      resolveSettled();
      this.pump();
    });
  }

  private onWorkerMessage(job: Active, runDir: string, msg: FromWorkerMessage): void {
    const { db, blobs } = this.options.workspace;
    const runId = job.runId;
    switch (msg.type) {
      case 'backend':
        setRunBackend(db, runId, msg.backend, msg.notes, msg.adapter);
        this.emitStatus(runId);
        break;
      case 'metrics':
        job.dbBatch.push(...msg.points);
        job.uiBatch.push(...msg.points);
        break;
      case 'progress':
        job.progress.push({ runId, ...msg, ...(job.worker.memoryBytes > 0 && { memoryBytes: job.worker.memoryBytes }) });
        break;
      case 'epoch':
        job.dbBatch.flush();
        recordEpoch(db, runId, msg.summary.epoch, msg.summary.step, msg.summary.metrics);
        this.emitStatus(runId);
        break;
      case 'artifact': {
        const bytes = Buffer.from(msg.png, 'base64');
        const hash = blobs.put(bytes);
        const row = insertArtifact(db, { runId, kind: msg.kind, epoch: msg.epoch, blobHash: hash, mime: 'image/png' }, this.now());
        this.options.events.emit('run.artifact', { runId, artifact: toArtifact(row, bytes, this.options.mode) });
        break;
      }
      case 'checkpoint':
        job.ingest = job.ingest.then(() => this.ingestCheckpoint(runId, runDir, msg));
        break;
      case 'state':
        // Every step before the hold is stored before the run reads as paused.
        job.dbBatch.flush();
        setRunPaused(db, runId, msg.state === 'paused');
        this.emitStatus(runId);
        break;
      case 'done':
        job.summary = msg.summary;
        break;
      default:
        // 'error' and 'done' reasons are kept by the connection for the verdict.
        break;
    }
  }

  /**
   * Move a checkpoint file the worker wrote into the blob store and make it the run's
   * 'last' (and 'best' when the worker says so), deleting blobs no row needs any more.
   * A file outside the run folder, or whose content is not the hash announced, is
   * refused: the supervisor only trusts what it verified.
   */
  private async ingestCheckpoint(runId: number, runDir: string, msg: CheckpointWritten): Promise<void> {
    const { db, blobs } = this.options.workspace;
    const inside = relative(runDir, msg.path);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
      console.error(`run ${runId}: ignoring checkpoint outside its folder: ${msg.path}`);
      return;
    }
    try {
      const hash = await blobs.putFile(msg.path);
      if (hash !== msg.sha256) {
        if (!blobStillReferenced(db, hash)) blobs.remove(hash);
        console.error(`run ${runId}: checkpoint ${msg.path} changed after it was announced; not kept`);
        return;
      }
      const now = this.now();
      // Durable before the superseded files go: a power cut must not leave the database
      // pointing at a checkpoint that was already deleted.
      const superseded = durableTransaction(db, () => {
        const fields = { runId, epoch: msg.epoch, step: msg.step, blobHash: hash, bytes: msg.bytes };
        const dropped = [replaceCheckpoint(db, { ...fields, kind: 'last' }, now)];
        if (msg.best) dropped.push(replaceCheckpoint(db, { ...fields, kind: 'best' }, now));
        return dropped;
      });
      for (const old of superseded) if (old !== null && !blobStillReferenced(db, old)) blobs.remove(old);
    } catch (error) {
      // A lost checkpoint costs a resume point, not the run.
      console.error(`run ${runId}: could not keep checkpoint ${msg.path}:`, error);
    }
  }

  /**
   * Writes how a run ended. When the disk is full, the workspace's space reserve is
   * given up for it (so the ending is saved even on a disk full to the last byte);
   * when it still cannot be written (no reserve left, a read-only or failing disk),
   * the ending is kept here, shown by `view`, and retried until it is saved.
   */
  private recordEnding(runId: number, ending: Ending): void {
    const write = (): void => {
      finishRun(this.options.workspace.db, runId, ending.status, ending.finishedAt, ending.error, ending.summary);
    };
    try {
      try {
        write();
      } catch (error) {
        if (!isDiskFull(error) || !this.options.workspace.releaseReserve()) throw error;
        console.error(`run ${runId}: the disk is full; using the workspace's space reserve to record how the run ended`);
        write();
      }
      this.unrecorded.delete(runId);
      this.removeRunDir(runId, ending.runDir);
    } catch (error) {
      const cause = toApiError(error).message.replace(/ ?Nothing was saved[^.]*\./, '').replace(/ ?Check its folder's permissions\./, '');
      console.error(`run ${runId}: could not record how it ended (${ending.status}); retrying every ${RETRY_ENDING_MS / 1000} s:`, error);
      this.unrecorded.set(runId, { ...ending, cause: `VAE Studio could not save how it ended: ${cause}` });
      this.retryTimer ??= setInterval(() => this.retryEndings(), RETRY_ENDING_MS);
      this.retryTimer.unref?.();
    }
  }

  /** The scratch folder of an ended run; one that cannot go now (read-only disk) is swept at the next start. */
  private removeRunDir(runId: number, runDir: string | null): void {
    if (runDir === null) return;
    try {
      rmSync(runDir, { recursive: true, force: true });
    } catch (error) {
      console.error(`run ${runId}: could not delete its scratch folder ${runDir}:`, error);
    }
  }

  private retryEndings(): void {
    const { db } = this.options.workspace;
    for (const [runId, ending] of [...this.unrecorded]) {
      try {
        finishRun(db, runId, ending.status, ending.finishedAt, ending.error, ending.summary);
        this.unrecorded.delete(runId);
        this.removeRunDir(runId, ending.runDir);
        this.emitStatus(runId);
      } catch {
        // Still refused; the next round tries again.
      }
    }
    if (this.unrecorded.size === 0 && this.retryTimer) {
      clearInterval(this.retryTimer);
      this.retryTimer = null;
    }
  }

  /**
   * Runs one step of storing what a worker sent. If the workspace cannot take it (disk
   * full, read-only), training on would produce results nobody keeps: the worker is
   * stopped and the run fails saying why, while everything stored before stays.
   */
  private guard(job: Active, store: () => void): void {
    try {
      store();
    } catch (error) {
      const cause = toApiError(error);
      job.storeFailure ??= {
        code: cause.code === 'internal' ? 'worker_failed' : cause.code,
        message: `Run ${job.runId} stopped: its results could not be saved. ${cause.message.replace(/ ?Nothing was saved[^.]*\./, '')} What was saved before is kept; resume the run once that is fixed.`.replace(/\s+/g, ' '),
      };
      job.worker.fail(job.storeFailure);
    }
  }

  private emitStatus(runId: number): void {
    const stored = getRun(this.options.workspace.db, runId);
    const run = stored && this.view(stored);
    if (run) this.options.events.emit('run.status', { runId, status: run.status, run });
  }
}
