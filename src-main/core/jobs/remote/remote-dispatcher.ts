import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ApiError, type ApiErrorShape } from '@shared/errors';
import type { FromWorkerMessage, StartTraining } from '@shared/worker-protocol';
import { exitReason, type ExitContext } from '../exit-reason';
import type { RunDispatcher } from '../run-manager';
import type { ConnectionEnd, WorkerConnection } from '../worker-connection';
import { fetchBlob, MAX_CHECKPOINT_BYTES, putBlobFile, removeBlob, type BlobRef } from './blob-transfer';
import type { RunWait } from '@shared/types';
import { queueAddress, redactedUrl, redisOptions, RUN_QUEUE, type RedisSettings } from './redis-config';
import { jobKeys, KEYS_TTL_MS, MAX_EVENT_BYTES, PROTOCOL, workerAliveKey, WORKERS_KEY, type RemoteEvent, type RemoteRunJob } from './wire';

/** How often the app reads a remote run's events, and asks BullMQ how its job stands. */
const READ_EVERY_MS = 100;
const STATE_EVERY_MS = 2000;
/** Entries read at a time. */
const READ_COUNT = 200;
/** Finished jobs stay this long in Redis (BullMQ's own record; the app keeps the run). */
const KEEP_ENDED_S = 3600;

/** Runs the app follows on the queue at once (they wait there for a worker, not here). */
const MAX_REMOTE_RUNS = 1000;
/** How long one count of the connected workers serves every run asking. */
const WORKERS_CACHE_MS = 1000;
/** Job states in which a run waits for a worker to take it. */
const UNTAKEN = new Set(['waiting', 'wait', 'prioritized', 'delayed']);

/**
 * The app's side of runs on other machines: each run started while a Redis URL is set
 * becomes one BullMQ job (see wire.ts for what travels beside it), and the run manager
 * gets a `WorkerConnection` that reads like a local worker's — messages in order,
 * pause, resume and stop, and an `ended` saying why — so everything it stores (metrics,
 * epochs, images, checkpoints, how the run ended) goes through the same code as a local
 * run. A worker that dies mid-run is BullMQ's to notice (its lock expires); another
 * worker continues from the last checkpoint, and the app ignores what the dead attempt
 * may still have had in flight.
 */
export class RemoteDispatcher implements RunDispatcher {
  private readonly queue: Queue;
  /** Its own connection for events, flags and files (BullMQ's clients adapt some commands' arguments). */
  private readonly redis: Redis;
  private readonly runs = new Set<RemoteRun>();
  private workersCount: { at: number; count: Promise<number> } | null = null;
  /** Since when this app has seen no worker connected (null: one is, or not asked yet). */
  private noWorkersSince: string | null = null;

  constructor(
    readonly settings: RedisSettings,
    private readonly origin = `${hostname()}`,
  ) {
    this.queue = new Queue(RUN_QUEUE, { connection: redisOptions(settings) });
    this.redis = new Redis(redisOptions(settings));
    // Connection errors are retried by ioredis; logged once per kind rather than thrown.
    let lastError = '';
    const report = (error: Error): void => {
      if (error.message !== lastError) console.error(`redis ${redactedUrl(settings.url)}: ${error.message}`);
      lastError = error.message;
    };
    this.queue.on('error', report);
    this.redis.on('error', report);
  }

  open(name: string, job: StartTraining): WorkerConnection {
    const run = new RemoteRun(this.queue, this.redis, job, name, this.origin, () => this.waitFor(), () => this.runs.delete(run));
    this.runs.add(run);
    return run.connection;
  }

  maxRuns(): number {
    return MAX_REMOTE_RUNS;
  }

  /**
   * What a run not taken yet waits for: null when a worker is connected (it is busy with
   * others, then), else this Redis and since when none has been.
   */
  async waitFor(): Promise<RunWait | null> {
    if (!this.workersCount || Date.now() - this.workersCount.at > WORKERS_CACHE_MS) this.workersCount = { at: Date.now(), count: this.countWorkers() };
    const count = await this.workersCount.count;
    if (count > 0) {
      this.noWorkersSince = null;
      return null;
    }
    this.noWorkersSince ??= new Date().toISOString();
    return { redis: queueAddress(this.settings.url), since: this.noWorkersSince };
  }

  /** Workers whose heartbeat key lives (wire.ts); names whose key expired are dropped from the set. */
  private async countWorkers(): Promise<number> {
    const names = await this.redis.smembers(WORKERS_KEY);
    if (names.length === 0) return 0;
    const beats = await this.redis.mget(names.map(workerAliveKey));
    const gone = names.filter((_, i) => beats[i] === null);
    if (gone.length > 0) await this.redis.srem(WORKERS_KEY, ...gone);
    return names.length - gone.length;
  }

  /** Queued jobs waiting for a worker, for `doctor`-like reports and tests. */
  async waiting(): Promise<number> {
    return this.queue.getWaitingCount();
  }

  async close(): Promise<void> {
    await Promise.all([...this.runs].map((run) => run.closed));
    await this.queue.close();
    this.redis.disconnect();
  }
}

class RemoteRun {
  readonly jobId = randomUUID();
  private readonly keys = jobKeys(this.jobId);
  private readonly listeners: ((msg: FromWorkerMessage) => void)[] = [];
  private attempt = 0;
  private lastId = '0-0';
  private stopRequested = false;
  private shuttingDown = false;
  private localError: ApiErrorShape | null = null;
  private finished = false;
  /** The remote worker said how the run ended (else a stop may still be on its way to it). */
  private endSeen = false;
  /** Pause and stop flags being written, in order. */
  private controls: Promise<void> = Promise.resolve();
  private resolveEnded!: (end: ConnectionEnd) => void;
  readonly ended = new Promise<ConnectionEnd>((resolve) => (this.resolveEnded = resolve));
  /** Checkpoints fetched from Redis, oldest first: all but the newest are removed there. */
  private readonly fetched: BlobRef[] = [];
  /** Images already stored, by kind and epoch: an epoch trained again after a failover sends its images again. */
  private readonly artifacts = new Set<string>();
  /** Waiting for a worker to connect (null: one took it, or one is connected and busy). */
  private waiting: RunWait | null = null;
  private readonly waitListeners: ((wait: RunWait | null) => void)[] = [];
  private waitCheckFailed = false;
  readonly closed: Promise<void>;
  readonly connection: WorkerConnection;

  constructor(
    private readonly queue: Queue,
    private readonly client: Redis,
    private readonly job: StartTraining,
    private readonly name: string,
    origin: string,
    private readonly waitFor: () => Promise<RunWait | null>,
    onClosed: () => void,
  ) {
    this.connection = this.makeConnection();
    this.closed = this.run(origin)
      .catch((error: unknown) => {
        this.end({ code: 'worker_failed', message: `${name} could not be sent to or followed on Redis: ${(error as Error).message}` });
      })
      .finally(onClosed);
  }

  private async run(origin: string): Promise<void> {
    const { job } = this;
    const dataset: BlobRef = { sha256: job.datasetSha256, bytes: statSync(job.datasetPath).size };
    await putBlobFile(this.client, job.datasetPath, dataset);
    const from = job.resumeFrom;
    const resume = from && { sha256: from.sha256, bytes: statSync(from.path).size, epoch: from.epoch, step: from.step };
    if (from && resume) await putBlobFile(this.client, from.path, resume);
    const data: RemoteRunJob = { protocol: PROTOCOL, runId: job.runId, origin, config: job.config, dataset, ...(resume && { resumeFrom: resume }) };
    if (this.finished) return;
    await this.queue.add('run', data, { jobId: this.jobId, attempts: 1, removeOnComplete: { age: KEEP_ENDED_S }, removeOnFail: { age: KEEP_ENDED_S } });
    let lastState = 0;
    while (!this.finished) {
      // The job's state first, then every event: an ended job's last events are read before it is judged.
      let state: string | null = null;
      if (Date.now() - lastState >= STATE_EVERY_MS) {
        state = await this.queue.getJobState(this.jobId);
        lastState = Date.now();
      }
      if (state !== null) await this.checkWaiting(state);
      let more = true;
      while (more && !this.finished) more = await this.readEvents();
      if (this.finished) break;
      if (state === 'failed' || state === 'completed' || state === 'unknown') {
        const failed = state === 'failed' ? await this.queue.getJob(this.jobId) : undefined;
        this.end({
          code: 'worker_failed',
          message:
            state === 'failed'
              ? `${this.name} failed on the queue: ${failed?.failedReason ?? 'no reason given'}. Metrics up to the last finished step are kept; resume it to continue from its last checkpoint.`
              : `${this.name}'s job ended on the queue without saying how (${state}). Metrics up to the last finished step are kept; resume it to continue from its last checkpoint.`,
        });
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, READ_EVERY_MS));
    }
    await this.controls;
    await this.cleanUp();
  }

  /** Not taken yet with no worker connected: say so (a worker busy with other runs is not waited for in this sense). */
  private async checkWaiting(state: string): Promise<void> {
    if (!UNTAKEN.has(state)) return this.setWaiting(null);
    try {
      this.setWaiting(await this.waitFor());
      this.waitCheckFailed = false;
    } catch (error) {
      // Not knowing costs the notice, not the run.
      if (!this.waitCheckFailed) console.error(`${this.name}: could not count the workers connected to Redis: ${(error as Error).message}`);
      this.waitCheckFailed = true;
    }
  }

  private setWaiting(wait: RunWait | null): void {
    if (this.finished || (wait === null && this.waiting === null) || (wait && this.waiting && wait.since === this.waiting.since && wait.redis === this.waiting.redis)) return;
    this.waiting = wait;
    for (const listener of this.waitListeners) listener(wait);
  }

  /** Reads one batch of events; true when there may be more. */
  private async readEvents(): Promise<boolean> {
    const answer = await this.client.xread('COUNT', READ_COUNT, 'STREAMS', this.keys.events, this.lastId);
    const entries = answer?.[0]?.[1] ?? [];
    for (const [id, fields] of entries) {
      this.lastId = id;
      const attempt = Number(fields[fields.indexOf('a') + 1]);
      const text = fields[fields.indexOf('m') + 1] ?? '';
      if (!(attempt >= this.attempt)) continue;
      this.attempt = attempt;
      if (text.length > MAX_EVENT_BYTES) {
        console.error(`${this.name}: dropped an event of ${text.length} bytes from the worker (at most ${MAX_EVENT_BYTES})`);
        continue;
      }
      let event: RemoteEvent;
      try {
        event = JSON.parse(text) as RemoteEvent;
      } catch {
        console.error(`${this.name}: dropped an event that is not JSON`);
        continue;
      }
      await this.onEvent(event);
      if (this.finished) return false;
    }
    return entries.length === READ_COUNT;
  }

  private async onEvent(event: RemoteEvent): Promise<void> {
    switch (event.type) {
      case 'attempt':
        this.setWaiting(null);
        if (this.attempt > 1) console.error(`${this.name}: continued by worker ${event.worker} from epoch ${event.resumeFromEpoch} (attempt ${this.attempt})`);
        return;
      case 'end': {
        this.endSeen = true;
        const context: ExitContext = { ...event.context, stopRequested: event.context.stopRequested || this.stopRequested, reportedError: event.context.reportedError ?? this.localError };
        this.finish({ ...context, reason: exitReason(context) });
        return;
      }
      case 'checkpoint': {
        const ref: BlobRef = { sha256: event.sha256, bytes: event.bytes };
        const path = join(this.job.runDir, `remote-${event.epoch}-${event.sha256.slice(0, 16)}.vaeckpt`);
        try {
          await fetchBlob(this.client, ref, path, `Checkpoint of epoch ${event.epoch}`, MAX_CHECKPOINT_BYTES);
        } catch (error) {
          // A lost checkpoint costs a resume point, not the run (as with a local one).
          console.error(`${this.name}: could not fetch the checkpoint of epoch ${event.epoch}: ${(error as Error).message}`);
          return;
        }
        this.deliver({ ...event, path });
        // Older ones are no longer anybody's resume point: the job names this one (or a newer).
        for (const old of this.fetched.splice(0)) if (old.sha256 !== ref.sha256) await removeBlob(this.client, old);
        this.fetched.push(ref);
        return;
      }
      case 'artifact': {
        const key = `${event.kind}:${event.epoch}`;
        if (this.artifacts.has(key)) return;
        this.artifacts.add(key);
        this.deliver(event);
        return;
      }
      default:
        this.deliver(event);
    }
  }

  private deliver(msg: FromWorkerMessage): void {
    for (const listener of this.listeners) listener(msg);
  }

  private finish(end: ConnectionEnd): void {
    if (this.finished) return;
    this.finished = true;
    this.resolveEnded(end);
  }

  /** Ends the connection from this side (a stop that needs no worker, shutdown, a failure of the app's own). */
  private end(error: ApiErrorShape | null): void {
    const context: ExitContext = {
      exit: { code: null, signal: null, stderrTail: '' },
      done: null,
      reportedError: this.localError ?? error,
      stopRequested: this.stopRequested,
      hung: false,
      shuttingDown: this.shuttingDown,
    };
    this.finish({ ...context, reason: exitReason(context) });
  }

  private async cleanUp(): Promise<void> {
    try {
      for (const old of this.fetched) await removeBlob(this.client, old);
      // A stop the worker has not answered yet stays for it to read (the key expires); once
      // the end was seen, `done` keeps any later attempt from training the run again.
      if (this.endSeen) {
        await this.client.del(this.keys.events, this.keys.attempt);
        await this.client.multi().hset(this.keys.control, 'done', '1').pexpire(this.keys.control, KEYS_TTL_MS).exec();
      }
    } catch (error) {
      console.error(`${this.name}: could not clean up its keys in Redis (they expire with its job): ${(error as Error).message}`);
    }
  }

  private control(field: 'pause' | 'stop', value: '0' | '1'): void {
    this.controls = this.controls.then(async () => {
      await this.client.multi().hset(this.keys.control, field, value).pexpire(this.keys.control, KEYS_TTL_MS).exec();
      if (field !== 'stop') return;
      // Not picked up by any worker yet: nobody would read the flag, so the job goes.
      const job = await this.queue.getJob(this.jobId);
      if (job && (await job.getState()) === 'waiting') {
        await job.remove();
        this.end(null);
      }
    }).catch((error: unknown) => console.error(`${this.name}: could not send ${field} through Redis: ${(error as Error).message}`));
  }

  private makeConnection(): WorkerConnection {
    const unsupported = (): Promise<never> => Promise.reject(new ApiError('conflict', `${this.name} trains on a remote worker; open its model once it has ended.`));
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return {
      pid: undefined,
      memoryBytes: 0,
      pendingRequests: 0,
      get stopRequested() {
        return self.stopRequested;
      },
      onMessage: (listener) => void this.listeners.push(listener),
      onWaiting: (listener) => void this.waitListeners.push(listener),
      ended: this.ended,
      send: (msg) => {
        if (msg.type === 'pause') this.control('pause', '1');
        else if (msg.type === 'resume') this.control('pause', '0');
        else if (msg.type === 'stop') this.connection.stop();
      },
      stop: () => {
        if (this.stopRequested) return;
        this.stopRequested = true;
        this.control('stop', '1');
      },
      fail: (error) => {
        this.localError ??= error;
        this.control('stop', '1');
        this.end(error);
      },
      shutdown: () => {
        // The app is closing: the run is stopped politely where it trains and reads interrupted here.
        this.shuttingDown = true;
        this.control('stop', '1');
        this.end(null);
      },
      kill: () => {
        this.control('stop', '1');
        this.end(null);
      },
      request: unsupported,
    };
  }
}

/**
 * The dispatcher runs go through now, changed from the Settings page: none (runs train
 * here) or one per Redis URL. Runs already sent keep following the dispatcher that sent them.
 */
export class RemoteSwitch implements RunDispatcher {
  private current: RemoteDispatcher | null = null;
  private readonly retired: RemoteDispatcher[] = [];

  get settings(): RedisSettings | null {
    return this.current?.settings ?? null;
  }

  use(settings: RedisSettings | null): void {
    const now = this.current?.settings;
    if (now?.url === settings?.url && now?.caFile === settings?.caFile) return;
    if (this.current) this.retired.push(this.current);
    this.current = settings ? new RemoteDispatcher(settings) : null;
  }

  open(name: string, job: StartTraining): WorkerConnection | null {
    return this.current?.open(name, job) ?? null;
  }

  maxRuns(): number | null {
    return this.current?.maxRuns() ?? null;
  }

  async close(): Promise<void> {
    await Promise.all([this.current, ...this.retired].map((dispatcher) => dispatcher?.close()));
  }
}
