import type { RunConfig } from '@shared/config';
import type { CheckpointWritten, FromWorkerMessage } from '@shared/worker-protocol';
import type { ExitContext } from '../exit-reason';
import type { BlobRef } from './blob-transfer';
import { KEY_PREFIX } from './redis-config';

/**
 * What the app and `vae-studio worker` say to each other through Redis, beside the
 * BullMQ job itself. Per job (its id chosen by the app, one per start or resume of a run):
 *
 * - `events`: a stream the worker appends to, each entry `a` (the attempt: 1, then 2
 *   after a failover…) and `m` (one RemoteEvent as JSON). The app reads it in order and
 *   ignores entries of an attempt older than the newest it has seen, so a worker that lost
 *   its job can never write over the one that took it over.
 * - `control`: a hash the app sets (`pause` 0/1, `stop` 1, and `done` 1 once it has seen
 *   the run end) and the worker polls, so a worker that takes the run over after a
 *   failover also finds it paused or stopped, and none trains an ended run again.
 * - `attempt`: a counter each attempt increments when it begins.
 *
 * And per worker: `workers`, a set of the worker names, and `worker:<name>`, a key each
 * worker sets again every WORKER_BEAT_MS to expire after WORKER_ALIVE_MS, so the app can
 * tell a queue nobody takes runs from (BullMQ's own getWorkers reads CLIENT LIST, which an
 * ACL user without @admin may not run and some hosted Redis refuse).
 */
export const PROTOCOL = 1;

export interface RemoteRunJob {
  protocol: typeof PROTOCOL;
  runId: number;
  /** The app that sent it (host and workspace), for the worker's log. */
  origin: string;
  config: RunConfig;
  dataset: BlobRef;
  /** The checkpoint to continue from: the app's at dispatch, then each newer one a worker sent. */
  resumeFrom?: BlobRef & { epoch: number; step: number };
}

/** A checkpoint the worker put in Redis (the file itself travels as a blob). */
export type RemoteCheckpoint = Omit<CheckpointWritten, 'path'>;

export type RemoteEvent =
  | { type: 'attempt'; worker: string; resumeFromEpoch: number }
  | Exclude<FromWorkerMessage, CheckpointWritten | { type: 'heartbeat' }>
  | RemoteCheckpoint
  | { type: 'end'; context: ExitContext };

export const jobKeys = (jobId: string): { events: string; control: string; attempt: string } => ({
  events: `${KEY_PREFIX}:job:${jobId}:events`,
  control: `${KEY_PREFIX}:job:${jobId}:control`,
  attempt: `${KEY_PREFIX}:job:${jobId}:attempt`,
});

/** The most one event may hold (an artifact's PNG is the largest): a longer one is dropped, not parsed. */
export const MAX_EVENT_BYTES = 16 * 1024 * 1024;
/** Entries kept in a job's stream (roughly) while the app has not read them. */
export const STREAM_MAX_ENTRIES = 100_000;
/** Every key of a job expires this long after it was last written (the app deletes them sooner). */
export const KEYS_TTL_MS = 7 * 24 * 3600 * 1000;

export const WORKERS_KEY = `${KEY_PREFIX}:workers`;
export const workerAliveKey = (name: string): string => `${KEY_PREFIX}:worker:${name}`;
/** A worker not heard of for this long counts as gone (kill -9, a machine that went away). */
export const WORKER_ALIVE_MS = 10_000;
export const WORKER_BEAT_MS = 3_000;
