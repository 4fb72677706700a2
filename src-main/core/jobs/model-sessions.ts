import { ApiError } from '@shared/errors';
import type { InferRequest, ModelSessionInfo } from '@shared/inference';
import type { RunConfig } from '@shared/config';
import {
  HEARTBEAT_TIMEOUT_MS,
  WORKER_PROTOCOL_VERSION,
  type CheckpointRef,
  type FromWorker,
  type ToWorker,
} from '@shared/worker-protocol';
import type { SpawnWorker, WorkerHandle } from './spawn';

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

export interface CallOptions {
  onPartial?: (data: unknown) => void;
  signal?: AbortSignal;
}

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

interface Pending {
  resolve(data: unknown): void;
  reject(error: ApiError): void;
  onPartial?: (data: unknown) => void;
}

const DEFAULT_IDLE_MS = 5 * 60_000;
const DEFAULT_MAX_SESSIONS = 2;

/** Recency order for closing the least recently used session (several uses can share a millisecond). */
let uses = 0;

class Session {
  readonly ready: Promise<ModelSessionInfo>;
  lastUsed = Date.now();
  lastUse = ++uses;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private lastBeat = Date.now();
  private readonly watchdog: ReturnType<typeof setInterval>;
  private failure: ApiError | null = null;

  constructor(
    readonly key: string,
    readonly runId: number,
    private readonly worker: WorkerHandle,
    open: ModelKey,
    heartbeatTimeoutMs: number,
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
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastBeat > heartbeatTimeoutMs) {
        this.failure = new ApiError('worker_failed', 'The model process stopped responding and was restarted; try again.');
        worker.kill();
      }
    }, 1000);
    worker.onMessage((message: FromWorker) => {
      this.lastBeat = Date.now();
      if (message?.v !== WORKER_PROTOCOL_VERSION) {
        this.failure = new ApiError('worker_failed', `The worker speaks protocol ${String(message?.v)}, this app ${WORKER_PROTOCOL_VERSION}.`);
        worker.kill();
        return;
      }
      const msg = message.msg;
      switch (msg.type) {
        case 'hello':
          worker.send({
            v: WORKER_PROTOCOL_VERSION,
            msg: { type: 'open', runId: open.runId, config: open.config, datasetPath: open.datasetPath, datasetSha256: open.datasetSha256, checkpoint: open.checkpoint },
          });
          break;
        case 'ready':
          markReady(msg.info);
          break;
        case 'infer-partial':
          this.pending.get(msg.id)?.onPartial?.(msg.data);
          break;
        case 'infer-result':
          this.settle(msg.id)?.resolve(msg.data);
          break;
        case 'infer-error':
          this.settle(msg.id)?.reject(ApiError.from(msg.error));
          break;
        case 'error':
          // Only an open that failed ends in `error`; the worker exits right after.
          this.failure = ApiError.from(msg.error);
          failOpen(this.failure);
          break;
        default:
          break;
      }
    });
    worker.onExit((exit) => {
      clearInterval(this.watchdog);
      this.closed = true;
      const how = exit.signal ? `signal ${exit.signal}` : `exit code ${String(exit.code)}`;
      const oom = /heap out of memory|Allocation failed|out of memory/i.test(exit.stderrTail);
      const error =
        this.failure ??
        new ApiError(
          'worker_failed',
          oom
            ? `The model process ran out of memory (${how}).`
            : `The model process ended (${how}) before answering.`,
          { stderr: exit.stderrTail.slice(-1000) },
        );
      failOpen(error);
      for (const [, pending] of this.pending) pending.reject(error);
      this.pending.clear();
      onGone(this);
    });
  }

  get busy(): boolean {
    return this.pending.size > 0;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  touch(): void {
    this.lastUsed = Date.now();
    this.lastUse = ++uses;
  }

  private settle(id: number): Pending | undefined {
    const pending = this.pending.get(id);
    this.pending.delete(id);
    this.touch();
    return pending;
  }

  async call(request: InferRequest, options: CallOptions): Promise<unknown> {
    await this.ready;
    if (this.closed) throw this.failure ?? new ApiError('worker_failed', 'The model process has ended; try again.');
    if (options.signal?.aborted) throw new ApiError('cancelled', 'The request was cancelled');
    const id = this.nextId++;
    this.touch();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...(options.onPartial && { onPartial: options.onPartial }) });
      options.signal?.addEventListener('abort', () => this.send({ type: 'cancel', id }), { once: true });
      this.send({ type: 'infer', id, request });
    });
  }

  private send(msg: ToWorker['msg']): void {
    this.worker.send({ v: WORKER_PROTOCOL_VERSION, msg });
  }

  /** Polite stop; killed if it does not go within a few seconds. */
  close(): void {
    if (this.closed) return;
    this.send({ type: 'stop' });
    const timer = setTimeout(() => this.worker.kill(), 3000);
    timer.unref?.();
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
    const worker = this.deps.spawn(this.deps.workerEntry, { name: `model run ${key.runId}` });
    const session = new Session(id, key.runId, worker, { ...key, checkpoint: staged.ref }, this.deps.heartbeatTimeoutMs ?? HEARTBEAT_TIMEOUT_MS, (gone) => {
      staged.release();
      if (this.sessions.get(gone.key) === gone) this.sessions.delete(gone.key);
    });
    // Loaded into the worker's memory once ready: the private name is no longer needed.
    session.ready.then(staged.release, () => undefined);
    this.sessions.set(id, session);
    return session;
  }
}

