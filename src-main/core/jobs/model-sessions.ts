import { ApiError } from '@shared/errors';
import type { InferRequest, ModelSessionInfo } from '@shared/inference';
import type { RunConfig } from '@shared/config';
import type { CheckpointRef } from '@shared/worker-protocol';
import type { SpawnWorker } from './spawn';
import { openWorkerConnection, type ConnectionEnd, type RequestOptions, type WorkerConnection } from './worker-connection';

/**
 * Trained models kept open in worker processes to answer Explore and Inpaint requests.
 * A session is keyed by run and checkpoint blob: the first request starts a worker and
 * loads the checkpoint (seconds), later ones reuse it (milliseconds). At most
 * `maxSessions` stay open (least recently used closes first), and each closes after
 * `idleMs` without requests, so memory is given back. A worker that dies fails its
 * pending requests with the reason; the next request starts a fresh one.
 */
export interface ModelKey {
  runId: number;
  /** Checkpoint blob hash: a newer checkpoint of the same run is another session. */
  checkpoint: CheckpointRef;
  config: RunConfig;
  datasetPath: string;
  datasetSha256: string;
}

export type CallOptions = RequestOptions;

/**
 * A private name for a checkpoint file while its session loads it: the run may replace
 * (and delete) the stored checkpoint at any moment while it trains. Throws
 * `CheckpointReplaced` when the file is already gone.
 */
export type StageCheckpoint = (ref: CheckpointRef) => { ref: CheckpointRef; release(): void };

/** The checkpoint a request resolved was replaced by a newer one before it could be opened. */
export class CheckpointReplaced extends Error {}

export interface ModelSessionsDeps {
  spawn: SpawnWorker;
  workerEntry: string;
  stage?: StageCheckpoint;
  maxSessions?: number;
  idleMs?: number;
  heartbeatTimeoutMs?: number;
}

const DEFAULT_IDLE_MS = 5 * 60_000;
const DEFAULT_MAX_SESSIONS = 2;
/** A closed session's worker has this long to stop before it is killed. */
const CLOSE_GRACE_MS = 3000;

/** Recency order for closing the least recently used session (several uses can share a millisecond). */
let uses = 0;

/** What requests to a session fail with once its worker has gone. */
function sessionEndError(end: ConnectionEnd): ApiError {
  const { kind, how, error, details } = end.reason;
  if (error) return ApiError.from(error);
  if (kind === 'hung') return new ApiError('worker_failed', 'The model process stopped responding and was restarted; try again.');
  const stderr = { stderr: details.stderr };
  if (kind === 'oom') return new ApiError('worker_failed', `The model process ran out of memory (${how}).`, stderr);
  return new ApiError('worker_failed', `The model process ended (${how}) before answering.`, stderr);
}

class Session {
  readonly ready: Promise<ModelSessionInfo>;
  lastUsed = Date.now();
  lastUse = ++uses;
  private closed = false;
  private failure: ApiError | null = null;

  constructor(
    readonly key: string,
    readonly runId: number,
    private readonly worker: WorkerConnection,
    private readonly onGone: (session: Session) => void,
  ) {
    let markReady: (info: ModelSessionInfo) => void = () => undefined;
    let failOpen: (error: ApiError) => void = () => undefined;
    this.ready = new Promise((resolve, reject) => {
      markReady = resolve;
      failOpen = reject;
    });
    // An unawaited failure is still reported through the awaiting callers.
    this.ready.catch(() => undefined);
    worker.onMessage((msg) => {
      if (msg.type === 'ready') markReady(msg.info);
      // Only an open that failed ends in `error`; the worker exits right after.
      if (msg.type === 'error') failOpen(ApiError.from(msg.error));
    });
    void worker.ended.then((end) => {
      this.closed = true;
      this.failure = sessionEndError(end);
      failOpen(this.failure);
      onGone(this);
    });
  }

  get busy(): boolean {
    return this.worker.pendingRequests > 0;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  touch(): void {
    this.lastUsed = Date.now();
    this.lastUse = ++uses;
  }

  async call(request: InferRequest, options: CallOptions): Promise<unknown> {
    await this.ready;
    if (this.closed) throw this.failure ?? new ApiError('worker_failed', 'The model process has ended; try again.');
    this.touch();
    try {
      return await this.worker.request(request, options);
    } finally {
      this.touch();
    }
  }

  /** Polite stop; killed if it does not go within a few seconds. */
  close(): void {
    if (!this.closed) this.worker.stop();
  }
}

export class ModelSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly idleTimer: ReturnType<typeof setInterval>;

  constructor(private readonly deps: ModelSessionsDeps) {
    const idleMs = deps.idleMs ?? DEFAULT_IDLE_MS;
    this.idleTimer = setInterval(() => {
      for (const session of this.sessions.values()) {
        if (!session.busy && Date.now() - session.lastUsed > idleMs) this.drop(session);
      }
    }, Math.min(idleMs, 30_000));
    this.idleTimer.unref?.();
  }

  /** Open (or reuse) the session for `key` and report what the model is. */
  info(key: ModelKey): Promise<ModelSessionInfo> {
    return this.session(key).ready;
  }

  call(key: ModelKey, request: InferRequest, options: CallOptions = {}): Promise<unknown> {
    return this.session(key).call(request, options);
  }

  /** Close every session of a run (e.g. it was deleted); answers how many closed. */
  close(runId: number): number {
    let closed = 0;
    for (const session of [...this.sessions.values()]) {
      if (session.runId === runId) {
        this.drop(session);
        closed++;
      }
    }
    return closed;
  }

  get openCount(): number {
    return this.sessions.size;
  }

  closeAll(): void {
    clearInterval(this.idleTimer);
    for (const session of [...this.sessions.values()]) this.drop(session);
  }

  private drop(session: Session): void {
    this.sessions.delete(session.key);
    session.close();
  }

  private session(key: ModelKey): Session {
    const id = `${key.runId}:${key.checkpoint.sha256}`;
    const existing = this.sessions.get(id);
    if (existing && !existing.isClosed) {
      existing.touch();
      return existing;
    }
    // Staged before anything starts: a replaced checkpoint is known at once, not after a process start.
    const staged = this.deps.stage?.(key.checkpoint) ?? { ref: key.checkpoint, release: () => undefined };
    const max = this.deps.maxSessions ?? DEFAULT_MAX_SESSIONS;
    const idle = [...this.sessions.values()].filter((s) => !s.busy).sort((a, b) => a.lastUse - b.lastUse);
    while (this.sessions.size >= max && idle.length > 0) this.drop(idle.shift()!);
    const { runId, config, datasetPath, datasetSha256 } = key;
    const worker = openWorkerConnection(this.deps.spawn, this.deps.workerEntry, {
      name: `model run ${runId}`,
      job: { type: 'open', runId, config, datasetPath, datasetSha256, checkpoint: staged.ref },
      ...(this.deps.heartbeatTimeoutMs !== undefined && { heartbeatTimeoutMs: this.deps.heartbeatTimeoutMs }),
      stopGraceMs: CLOSE_GRACE_MS,
      endError: sessionEndError,
    });
    const session = new Session(id, runId, worker, (gone) => {
      staged.release();
      if (this.sessions.get(gone.key) === gone) this.sessions.delete(gone.key);
    });
    // Loaded into the worker's memory once ready: the private name is no longer needed.
    session.ready.then(staged.release, () => undefined);
    this.sessions.set(id, session);
    return session;
  }
}

