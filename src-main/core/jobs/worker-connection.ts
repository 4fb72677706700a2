import { ApiError, type ApiErrorShape } from '@shared/errors';
import type { InferRequest } from '@shared/inference';
import type { RunWait } from '@shared/types';
import {
  HEARTBEAT_TIMEOUT_MS,
  STOP_GRACE_MS,
  WORKER_PROTOCOL_VERSION,
  type Envelope,
  type FromWorkerMessage,
  type ToWorkerMessage,
} from '@shared/worker-protocol';
import { busiestSince, processThreads, silentTooLong, type ProcessThreads } from './cpu-starvation';
import { exitReason, type ExitContext, type ExitReason } from './exit-reason';
import type { SpawnWorker } from './spawn';

/**
 * The one way the core talks to a child process — training runs, evaluations, model
 * sessions, `doctor` and dataset imports alike (the way VS Code has one UtilityProcess
 * with a typed crash reason for every process kind):
 *
 * - started through the adapter's spawner (child_process.fork on the web and CLI,
 *   Electron's utilityProcess in the app);
 * - every message an envelope carrying its protocol version: a child speaking another
 *   version is refused with a clear error and killed at its first message;
 * - a handshake: the child says `hello` when it is ready to listen, and only then gets its
 *   job (`job` of the options);
 * - a watchdog: a child silent for the heartbeat timeout is killed as hung; a runnable one
 *   by the CPU time it used meanwhile (cpu-starvation.ts: a starved child is not hung);
 * - a polite stop (the protocol's stop message), then a kill after the grace period;
 * - its end read once, by `exitReason` (exit-reason.ts), into a typed reason.
 *
 * `WorkerConnection` adds the training worker's request ids (`infer`, answered by id,
 * `cancel` by id). The interfaces know nothing of local processes but a pid: a worker on
 * another machine would implement the same `WorkerConnection` over its own transport.
 * The other half, a child noticing its parent's death (IPC closed, or re-parented), is
 * the child's own: src-worker/index.ts and datasets/import-process.ts.
 */
export interface Connection<In, Out> {
  /** The child's process id (a local child; undefined if it could not start). */
  readonly pid: number | undefined;
  readonly stopRequested: boolean;
  /** Every message the child sends after its `hello`, in order. */
  onMessage(listener: (msg: Out) => void): void;
  /** Settles once the child has ended and its last message was handled, saying why; never rejects. */
  readonly ended: Promise<ConnectionEnd>;
  /** Sends at once (a message to a child already gone is dropped: `ended` says why it went). */
  send(msg: In): void;
  /** Asks the child to stop (its protocol's stop message) and kills it after the grace period; a protocol without one is killed. */
  stop(): void;
  /** Ends the child now for a reason of the supervisor's (e.g. what it sent could not be stored); a reason already known stays. */
  fail(error: ApiErrorShape): void;
  /** Ends the child now because the app is closing. */
  shutdown(): void;
  kill(): void;
}

/** How a connection's child ended: what was known when it did, and the one reading of that. */
export interface ConnectionEnd extends ExitContext {
  reason: ExitReason;
}

export interface ConnectionOptions<In> {
  /** For the terminal (`[run 3] …`), the OS process name and messages. */
  name: string;
  /** The protocol version both ends must speak. */
  version: number;
  /** The job, sent once the child said hello. */
  job: In;
  /** The polite stop of this protocol; without one, `stop` kills. */
  stopMessage?: In;
  /** Kill a child silent this long (ms); null: no watchdog (its protocol has no heartbeat). */
  heartbeatTimeoutMs: number | null;
  stopGraceMs?: number;
  /** Keep the child's output out of the app's terminal (see SpawnOptions). */
  quiet?: boolean;
  /** A child that trains or infers: its isolate starts with the training heap (see SpawnOptions). */
  trainingHeap?: boolean;
}

interface HelloMessage {
  type: 'hello';
}

/** Opens a connection to a child process started by `spawn` (the local-child implementation). */
export function openConnection<In, Out extends { type: string }>(spawn: SpawnWorker, entry: string, options: ConnectionOptions<In>): Connection<In, Out> {
  const handle = spawn<Envelope<In>, Envelope<Out | HelloMessage>>(entry, { name: options.name, ...(options.quiet && { quiet: true }), ...(options.trainingHeap && { trainingHeap: true }) });
  const listeners: ((msg: Out) => void)[] = [];
  let greeted = false;
  let refused = false;
  let done: ExitContext['done'] = null;
  let reportedError: ApiErrorShape | null = null;
  let stopRequested = false;
  let hung = false;
  let shuttingDown = false;
  let lastHeard = Date.now();
  /** The child's threads' CPU times at the watchdog's first look after it was last heard from (null: not known). */
  let cpuAtLastHeard: ProcessThreads | null = null;
  let heardSinceLook = true;
  let killTimer: NodeJS.Timeout | null = null;
  const timeout = options.heartbeatTimeoutMs;
  const watchdog =
    timeout === null
      ? null
      : setInterval(
          () => {
            // The baseline is read here, at most one interval after the child spoke, not on
            // every message: a busy run sends many, and each read lists its threads.
            if (heardSinceLook) {
              heardSinceLook = false;
              cpuAtLastHeard = processThreads(handle.pid);
            }
            const silent = Date.now() - lastHeard;
            if (silent <= timeout) return;
            if (!silentTooLong(silent, busiestSince(cpuAtLastHeard, processThreads(handle.pid)), timeout)) return;
            hung = true;
            handle.kill();
          },
          Math.min(1000, timeout),
        );

  const send = (msg: In): void => {
    try {
      handle.send({ v: options.version, msg });
    } catch {
      // The child is already gone; `ended` says why.
    }
  };

  handle.onMessage((envelope) => {
    if (refused) return;
    if (envelope?.v !== options.version) {
      refused = true;
      reportedError = {
        code: 'worker_failed',
        message: `The ${options.name} process speaks protocol ${String(envelope?.v)}, this app ${options.version}: they come from different builds. Rebuild or reinstall VAE Studio.`,
      };
      handle.kill();
      return;
    }
    lastHeard = Date.now();
    heardSinceLook = true;
    const msg = envelope.msg;
    if (msg.type === 'hello') {
      if (!greeted) send(options.job);
      greeted = true;
      return;
    }
    const said = msg as Out & { reason?: unknown; error?: ApiErrorShape };
    if (said.type === 'done' && (said.reason === 'finished' || said.reason === 'stopped')) done = said.reason;
    if (said.type === 'error' && said.error) reportedError = said.error;
    for (const listener of listeners) listener(msg as Out);
  });

  const ended = new Promise<ConnectionEnd>((resolve) => {
    handle.onExit((exit) => {
      if (watchdog) clearInterval(watchdog);
      if (killTimer) clearTimeout(killTimer);
      const context: ExitContext = { exit, done, reportedError, stopRequested, hung, shuttingDown };
      resolve({ ...context, reason: exitReason(context) });
    });
  });

  return {
    get pid() {
      return handle.pid;
    },
    get stopRequested() {
      return stopRequested;
    },
    onMessage: (listener) => void listeners.push(listener),
    ended,
    send,
    stop() {
      if (stopRequested) return;
      stopRequested = true;
      if (options.stopMessage === undefined) {
        handle.kill();
        return;
      }
      send(options.stopMessage);
      killTimer = setTimeout(() => handle.kill(), options.stopGraceMs ?? STOP_GRACE_MS);
      killTimer.unref?.();
    },
    fail(error) {
      reportedError ??= error;
      handle.kill();
    },
    shutdown() {
      shuttingDown = true;
      handle.kill();
    },
    kill: () => handle.kill(),
  };
}

export interface RequestOptions {
  /** Intermediate answers of a long request (an imputation refining). */
  onPartial?: (data: unknown) => void;
  /** Aborting sends `cancel` for the request's id; the worker answers it with a 'cancelled' error. */
  signal?: AbortSignal;
}

/** A connection to a training worker (src-worker), which also answers requests by id. */
export interface WorkerConnection extends Connection<ToWorkerMessage, FromWorkerMessage> {
  /** Resident memory at the worker's last heartbeat, bytes (0 before the first). */
  readonly memoryBytes: number;
  /** Requests sent and not answered yet. */
  readonly pendingRequests: number;
  /** One question to an open model (`open`); settles with its answer, or rejects when the worker ends first. */
  request(request: InferRequest, options?: RequestOptions): Promise<unknown>;
  /** A run on a queue (remote-dispatcher.ts): told when it starts and stops waiting for a worker to connect. */
  onWaiting?(listener: (wait: RunWait | null) => void): void;
}

export interface WorkerConnectionOptions {
  name: string;
  /** The job: start, evaluate, open or probe. */
  job: ToWorkerMessage;
  /** Default HEARTBEAT_TIMEOUT_MS; null for none. */
  heartbeatTimeoutMs?: number | null;
  stopGraceMs?: number;
  quiet?: boolean;
  /** The error requests still unanswered fail with when the worker ends (default: it ended before answering). */
  endError?: (end: ConnectionEnd) => ApiError;
}

interface Pending {
  resolve(data: unknown): void;
  reject(error: ApiError): void;
  onPartial?: (data: unknown) => void;
}

export function openWorkerConnection(spawn: SpawnWorker, entry: string, options: WorkerConnectionOptions): WorkerConnection {
  const connection = openConnection<ToWorkerMessage, FromWorkerMessage>(spawn, entry, {
    name: options.name,
    version: WORKER_PROTOCOL_VERSION,
    job: options.job,
    stopMessage: { type: 'stop' },
    heartbeatTimeoutMs: options.heartbeatTimeoutMs === undefined ? HEARTBEAT_TIMEOUT_MS : options.heartbeatTimeoutMs,
    ...(options.stopGraceMs !== undefined && { stopGraceMs: options.stopGraceMs }),
    ...(options.quiet && { quiet: true }),
    // Every worker process trains or infers (or probes the backends for both).
    trainingHeap: true,
  });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let memoryBytes = 0;
  let end: ConnectionEnd | null = null;
  const endError =
    options.endError ??
    ((gone: ConnectionEnd) =>
      new ApiError('worker_failed', `The ${options.name} process ended (${gone.reason.how}) before answering.`, { stderr: gone.reason.details.stderr }));
  const settle = (id: number): Pending | undefined => {
    const request = pending.get(id);
    pending.delete(id);
    return request;
  };

  connection.onMessage((msg) => {
    switch (msg.type) {
      case 'heartbeat':
        memoryBytes = msg.memoryBytes;
        break;
      case 'infer-partial':
        pending.get(msg.id)?.onPartial?.(msg.data);
        break;
      case 'infer-result':
        settle(msg.id)?.resolve(msg.data);
        break;
      case 'infer-error':
        settle(msg.id)?.reject(ApiError.from(msg.error));
        break;
      default:
        break;
    }
  });
  void connection.ended.then((gone) => {
    end = gone;
    const error = endError(gone);
    for (const request of pending.values()) request.reject(error);
    pending.clear();
  });

  return {
    get pid() {
      return connection.pid;
    },
    get stopRequested() {
      return connection.stopRequested;
    },
    get memoryBytes() {
      return memoryBytes;
    },
    get pendingRequests() {
      return pending.size;
    },
    onMessage: (listener) => connection.onMessage(listener),
    ended: connection.ended,
    send: (msg) => connection.send(msg),
    stop: () => connection.stop(),
    fail: (error) => connection.fail(error),
    shutdown: () => connection.shutdown(),
    kill: () => connection.kill(),
    request(request, { onPartial, signal } = {}) {
      if (end !== null) return Promise.reject(endError(end));
      if (signal?.aborted) return Promise.reject(new ApiError('cancelled', 'The request was cancelled'));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject, ...(onPartial && { onPartial }) });
        signal?.addEventListener(
          'abort',
          () => {
            if (pending.has(id)) connection.send({ type: 'cancel', id });
          },
          { once: true },
        );
        connection.send({ type: 'infer', id, request });
      });
    },
  };
}
