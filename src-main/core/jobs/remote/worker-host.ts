import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { ApiError } from '@shared/errors';
import type { CheckpointWritten, FromWorkerMessage } from '@shared/worker-protocol';
import type { ExitContext } from '../exit-reason';
import type { SpawnWorker } from '../spawn';
import { openWorkerConnection, type WorkerConnection } from '../worker-connection';
import { fetchBlob, MAX_CHECKPOINT_BYTES, MAX_DATASET_BYTES, putBlobFile } from './blob-transfer';
import { redactedUrl, redisOptions, RUN_QUEUE, type RedisSettings } from './redis-config';
import { jobKeys, KEYS_TTL_MS, PROTOCOL, STREAM_MAX_ENTRIES, WORKER_ALIVE_MS, WORKER_BEAT_MS, workerAliveKey, WORKERS_KEY, type RemoteEvent, type RemoteRunJob } from './wire';

export interface WorkerHostOptions {
  redis: RedisSettings;
  /** This worker's own folder: fetched datasets (by hash) and each run's scratch folder. */
  home: string;
  spawn: SpawnWorker;
  workerEntry: string;
  /** Runs trained at once (default 1). */
  concurrency?: number;
  /** At most this many threads per run (its own setting otherwise). */
  threads?: number;
  /**
   * How long a job stays this worker's without word from it (BullMQ's lock; renewed at
   * half of it while the worker lives): after a kill -9, the run moves to another worker
   * within about twice this. Default 30 s.
   */
  lockMs?: number;
  /** One line per happening, for the terminal (JSON with --json). */
  log: (event: Record<string, unknown>, human: string) => void;
}

export interface WorkerHost {
  /** Settles when the worker has stopped taking runs and every run it held has ended. */
  readonly closed: Promise<void>;
  /** Stops taking runs; runs in progress are ended here and left to another worker (their lock lapses). */
  close(): Promise<void>;
}

const CONTROL_EVERY_MS = 300;

/**
 * `vae-studio worker`: takes runs from the queue and trains each in a training process of
 * its own (src-worker, through the same worker connection as the app's local runs, so a
 * dead child is noticed here and the child notices this process's death). It connects out
 * to Redis only and opens no port.
 */
export async function startWorkerHost(options: WorkerHostOptions): Promise<WorkerHost> {
  const connection = redisOptions(options.redis);
  const datasets = join(options.home, 'datasets');
  const runs = join(options.home, 'runs');
  mkdirSync(datasets, { recursive: true });
  mkdirSync(runs, { recursive: true });
  const lockMs = options.lockMs ?? 30_000;
  const me = `${hostname()}:${process.pid}`;
  // A connection of its own carries the events, control flags and files (BullMQ's clients adapt some commands' arguments).
  const redis = new Redis(connection);
  const children = new Map<string, WorkerConnection>();
  /** Jobs this worker gave up (closing): it writes nothing more for them. */
  const lost = new Set<string>();
  let closingAll = false;
  /** Datasets being fetched, by hash: runs of one sweep taken at once share one download (and its part file). */
  const fetching = new Map<string, Promise<void>>();
  const fetchDataset = (ref: RemoteRunJob['dataset'], path: string, what: string): Promise<void> => {
    let pending = fetching.get(ref.sha256);
    if (!pending) {
      pending = (async () => {
        if (!existsSync(path) || statSync(path).size !== ref.bytes) await fetchBlob(redis, ref, path, what, MAX_DATASET_BYTES);
      })().finally(() => fetching.delete(ref.sha256));
      fetching.set(ref.sha256, pending);
    }
    return pending;
  };

  const processor = async (job: Job<RemoteRunJob>): Promise<void> => {
    const data = job.data;
    const jobId = job.id!;
    if (data.protocol !== PROTOCOL) {
      throw new Error(`this worker speaks run protocol ${PROTOCOL}, the job ${String(data.protocol)}: run the same VAE Studio version on the app and the workers`);
    }
    const keys = jobKeys(jobId);
    // A run the app has already seen end (a job BullMQ handed out again after this or
    // another worker lost its lock at the very end) is not trained twice.
    const [done, stopped] = await redis.hmget(keys.control, 'done', 'stop');
    if (done === '1') {
      options.log({ type: 'skipped', runId: data.runId, job: jobId }, `run ${data.runId}: already ended in the app; not trained again`);
      return;
    }
    const attempt = await redis.incr(keys.attempt);
    await redis.pexpire(keys.attempt, KEYS_TTL_MS);
    let sent: Promise<unknown> = Promise.resolve();
    const emit = (event: RemoteEvent): void => {
      if (lost.has(jobId)) return;
      sent = sent.then(() => redis.xadd(keys.events, 'MAXLEN', '~', STREAM_MAX_ENTRIES, '*', 'a', String(attempt), 'm', JSON.stringify(event)));
    };
    const name = `run ${data.runId}`;
    emit({ type: 'attempt', worker: me, resumeFromEpoch: data.resumeFrom?.epoch ?? 0 });
    sent = sent.then(() => redis.pexpire(keys.events, KEYS_TTL_MS));
    options.log({ type: 'run', runId: data.runId, job: jobId, attempt, origin: data.origin, resumeFromEpoch: data.resumeFrom?.epoch ?? 0 }, `${name} from ${data.origin}: attempt ${attempt}${data.resumeFrom ? `, from epoch ${data.resumeFrom.epoch}` : ''}`);
    const runDir = join(runs, jobId);
    mkdirSync(runDir, { recursive: true });
    const finish = async (context: ExitContext): Promise<void> => {
      emit({ type: 'end', context });
      await sent;
      rmSync(runDir, { recursive: true, force: true });
    };
    const refused = (message: string): Promise<void> =>
      finish({ exit: { code: null, signal: null, stderrTail: '' }, done: null, reportedError: { code: 'worker_failed', message }, stopRequested: false, hung: false, shuttingDown: false });

    if (stopped === '1') {
      // Stopped by the app between two attempts: nothing to train.
      return finish({ exit: { code: 0, signal: null, stderrTail: '' }, done: 'stopped', reportedError: null, stopRequested: true, hung: false, shuttingDown: false });
    }
    let datasetPath: string;
    let resumePath: string | undefined;
    try {
      datasetPath = join(datasets, data.dataset.sha256);
      await fetchDataset(data.dataset, datasetPath, `The dataset of ${name}`);
      if (data.resumeFrom) {
        resumePath = join(runDir, 'resume.vaeckpt');
        await fetchBlob(redis, data.resumeFrom, resumePath, `The checkpoint of ${name} (epoch ${data.resumeFrom.epoch})`, MAX_CHECKPOINT_BYTES);
      }
    } catch (error) {
      const message = error instanceof ApiError ? error.message : `${name}: ${(error as Error).message}`;
      options.log({ type: 'refused', runId: data.runId, job: jobId, error: message }, `${name} refused: ${message}`);
      return refused(`${message} (worker ${me})`);
    }

    const threads = options.threads === undefined ? data.config.threads : Math.min(options.threads, data.config.threads ?? options.threads);
    const child = openWorkerConnection(options.spawn, options.workerEntry, {
      name,
      job: {
        type: 'start',
        runId: data.runId,
        config: { ...data.config, ...(threads !== undefined && { threads }) },
        datasetPath,
        datasetSha256: data.dataset.sha256,
        runDir,
        ...(data.resumeFrom && resumePath && { resumeFrom: { path: resumePath, sha256: data.resumeFrom.sha256, epoch: data.resumeFrom.epoch, step: data.resumeFrom.step } }),
      },
    });
    children.set(jobId, child);

    // Checkpoints go up before their event, and the job then names the newest: a worker
    // taking this run over continues from it.
    const upload = async (msg: CheckpointWritten): Promise<void> => {
      const ref = { sha256: msg.sha256, bytes: msg.bytes };
      await putBlobFile(redis, msg.path, ref);
      rmSync(msg.path, { force: true });
      if (lost.has(jobId)) return;
      await job.updateData({ ...job.data, resumeFrom: { ...ref, epoch: msg.epoch, step: msg.step } });
      const { path: _path, ...event } = msg;
      await redis.xadd(keys.events, 'MAXLEN', '~', STREAM_MAX_ENTRIES, '*', 'a', String(attempt), 'm', JSON.stringify(event));
    };
    let heard = false;
    child.onMessage((msg: FromWorkerMessage) => {
      heard = true;
      if (msg.type === 'heartbeat') return;
      if (msg.type === 'checkpoint') {
        sent = sent.then(() => upload(msg)).catch((error: unknown) => console.error(`${name}: could not send the checkpoint of epoch ${msg.epoch}: ${(error as Error).message}`));
        return;
      }
      emit(msg);
    });

    // The app's pause and stop, read from Redis (also by a worker that took the run over).
    let paused = false;
    const poll = setInterval(() => {
      if (!heard) return; // the child takes its job first
      void redis.hmget(keys.control, 'pause', 'stop').then(
        ([pause, stop]) => {
          if (stop === '1' && !child.stopRequested) child.stop();
          const wantPaused = pause === '1';
          if (wantPaused !== paused && !child.stopRequested) {
            paused = wantPaused;
            child.send({ type: wantPaused ? 'pause' : 'resume' });
          }
        },
        () => undefined,
      );
    }, CONTROL_EVERY_MS);

    const end = await child.ended;
    clearInterval(poll);
    children.delete(jobId);
    await sent.catch(() => undefined);
    const { reason: _reason, ...context } = end;
    options.log({ type: 'ended', runId: data.runId, job: jobId, how: end.reason.kind }, `${name}: ${end.reason.kind}`);
    // Closing: the job is left as a killed worker leaves it, for another worker once its lock lapses.
    if (closingAll) await new Promise(() => undefined);
    await finish({ ...context, exit: { ...context.exit, stderrTail: context.exit.stderrTail.slice(-2000) } });
  };

  const worker = new Worker<RemoteRunJob>(RUN_QUEUE, processor, {
    connection,
    concurrency: options.concurrency ?? 1,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    // A run whose workers keep dying is failed after this many takeovers, saying so.
    maxStalledCount: 5,
  });
  let lastError = '';
  const report = (error: Error): void => {
    if (error.message !== lastError) options.log({ type: 'redis-error', error: error.message }, `redis ${redactedUrl(options.redis.url)}: ${error.message}`);
    lastError = error.message;
  };
  worker.on('error', report);
  redis.on('error', report);
  // A lock this worker could not renew (Redis unreachable for a while) may or may not have
  // lapsed. The run trains on either way: if the job was given to another worker meanwhile,
  // the app follows the newer attempt and ignores this one's events (wire.ts), and BullMQ
  // refuses this one's completion. Failing it here would fail a run that may well be fine.
  worker.on('lockRenewalFailed', (jobIds: string[]) => {
    options.log({ type: 'lock-lost', jobs: jobIds }, `could not renew the lock of ${jobIds.join(', ')} (Redis unreachable?); training on`);
  });
  await worker.waitUntilReady();
  // The app tells "no worker connected" from these keys (wire.ts); a killed worker's lapses by itself.
  const beat = (): Promise<unknown> =>
    redis.multi().sadd(WORKERS_KEY, me).set(workerAliveKey(me), String(options.concurrency ?? 1), 'PX', WORKER_ALIVE_MS).exec();
  await beat();
  const beating = setInterval(() => void beat().catch(() => undefined), WORKER_BEAT_MS);
  options.log({ type: 'ready', redis: redactedUrl(options.redis.url), concurrency: options.concurrency ?? 1, home: options.home }, `worker ${me} takes runs from ${redactedUrl(options.redis.url)} (${options.concurrency ?? 1} at a time)`);

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let closing: Promise<void> | null = null;
  return {
    closed,
    close() {
      closing ??= (async () => {
        closingAll = true;
        clearInterval(beating);
        // Gone from the list at once; with Redis unreachable its key lapses by itself instead.
        const unlisted = redis.multi().srem(WORKERS_KEY, me).del(workerAliveKey(me)).exec().catch(() => undefined);
        await Promise.race([unlisted, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
        for (const [id, child] of children) {
          lost.add(id);
          child.kill();
        }
        await Promise.all([...children.values()].map((child) => child.ended));
        await worker.close(true);
        redis.disconnect();
        resolveClosed();
      })();
      return closing;
    },
  };
}
