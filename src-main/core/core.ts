import { existsSync, linkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AnyEventMessage, ParsedInput, RequestName, RequestOutput } from '@shared/api';
import { ApiError, type Envelope } from '@shared/errors';
import type { AppInfo } from '@shared/types';
import { assertRequestName, parseRequest } from '@shared/validate';
import { datasetHandlers } from './api/datasets';
import { healthHandlers } from './api/health';
import { historyHandlers } from './api/history';
import { explainDamage } from './damage';
import { exploreHandlers } from './api/explore';
import { inpaintHandlers } from './api/inpaint';
import { modelHandlers } from './api/models';
import { readArtifact, type ArtifactAnswer } from './api/artifact-file';
import { toApiError } from './errors';
import type { Context } from './api/context';
import { projectHandlers } from './api/projects';
import { runHandlers } from './api/runs';
import { sweepHandlers, trialLauncher } from './api/sweeps';
import { runHealthHandlers } from './api/run-health';
import { importedImagePath } from './datasets/image-file';
import { childProcessImporter, inProcessImporter } from './datasets/import-runner';
import { EventBus } from './events';
import { CheckpointReplaced, ModelSessions, type StageCheckpoint } from './jobs/model-sessions';
import { RunManager } from './jobs/run-manager';
import { RemoteSwitch } from './jobs/remote/remote-dispatcher';
import { settingsHandlers } from './api/settings';
import { getRemoteSetting } from './store/settings';
import type { RedisSettings } from './jobs/remote/redis-config';
import { SweepScheduler } from './jobs/sweep-scheduler';
import { forkWorker, type SpawnWorker } from './jobs/spawn';
import { backupIfDue } from './store/backup';
import { openWorkspace, type Workspace } from './workspace/workspace';

/** How often a running app checks whether the daily database backup is due. */
const BACKUP_CHECK_MS = 60 * 60 * 1000;

export interface CoreOptions {
  home: string;
  mode: AppInfo['mode'];
  version: string;
  workerEntry: string;
  /** Child-process entry for imports; without one (tests) imports run in this process. */
  importWorkerEntry?: string;
  sampleDatasetPath: string;
  spawnWorker?: SpawnWorker;
  nativeBinding?: string;
  maxConcurrentRuns?: number;
  /** Says who holds the workspace lock, for a second instance's error message. */
  instanceLabel?: string;
  /** When another instance holds the workspace, open it read-only instead of failing. */
  allowReadOnly?: boolean;
  /** Send runs to this Redis for `vae-studio worker`s (CLI --redis); without it, runs train here. */
  redis?: RedisSettings;
}

type Handlers = { [N in RequestName]: (input: ParsedInput<N>) => Promise<RequestOutput<N>> };

export interface Core {
  readonly workspace: Workspace;
  readonly runs: RunManager;
  /** Validates and answers one request; never throws. */
  handle(name: string, input: unknown): Promise<Envelope<unknown>>;
  /** Typed call for in-process adapters (CLI); throws ApiError. */
  call<N extends RequestName>(name: N, input: unknown): Promise<RequestOutput<N>>;
  subscribe(listener: (message: AnyEventMessage) => void): () => void;
  /**
   * One stored image (a run's samples or reconstructions) by artifact id, for adapters that
   * serve artifacts by URL instead of inlining them; null when there is none.
   */
  /** The image an artifact address names (`ref`: the id text after the adapter's prefix, untrusted): api/artifact-file.ts. */
  artifact(ref: string): ArtifactAnswer;
  /** The imported file behind image `index` of a dataset, for the desktop's "Show in folder"; throws ApiError. */
  importedImagePath(datasetId: number, index: number): string;
  close(): Promise<void>;
}

export function createCore(options: CoreOptions): Core {
  const workspace = openLockedOrReadOnly(options);
  const events = new EventBus();
  const spawn = options.spawnWorker ?? forkWorker;
  const now = (): string => new Date().toISOString();
  // Runs go to Redis when --redis or the saved URL (Settings) names one; else they train here.
  const remote = new RemoteSwitch();
  const saved = workspace.readOnly ? null : getRemoteSetting(workspace.db);
  if (!workspace.readOnly) remote.use(options.redis ?? (saved && { url: saved.redisUrl, ...(saved.redisCaFile !== null && { caFile: saved.redisCaFile }) }));
  const runs = new RunManager({ workspace, events, spawn, workerEntry: options.workerEntry, maxConcurrent: options.maxConcurrentRuns, now, dispatcher: remote, mode: options.mode });
  const models = new ModelSessions({ spawn, workerEntry: options.workerEntry, stage: stageCheckpoint(workspace) });
  // The scheduler acts through the handlers' context, made just below.
  const sweeps = new SweepScheduler({ db: workspace.db, events, launcher: trialLauncher(() => ctx), now });
  const ctx: Context = {
    workspace,
    events,
    runs,
    sweeps,
    models,
    importer:
      options.importWorkerEntry && existsSync(options.importWorkerEntry)
        ? childProcessImporter(spawn, options.importWorkerEntry)
        : inProcessImporter((bytes, suffix) => workspace.blobs.writeTemp(bytes, suffix)),
    imports: new Map(),
    remote: { switch: remote, flag: options.redis ?? null },
    info: { version: options.version, mode: options.mode, home: options.home, sampleDatasetPath: options.sampleDatasetPath },
    now,
  };
  const handlers: Handlers = { ...projectHandlers(ctx), ...datasetHandlers(ctx), ...healthHandlers(ctx), ...runHandlers(ctx), ...runHealthHandlers(ctx), ...historyHandlers(ctx), ...sweepHandlers(ctx), ...exploreHandlers(ctx), ...modelHandlers(ctx), ...inpaintHandlers(ctx), ...settingsHandlers(ctx) };

  const call = async <N extends RequestName>(name: N, input: unknown): Promise<RequestOutput<N>> => {
    const parsed = parseRequest(name, input);
    try {
      return await (handlers[name] as (i: ParsedInput<N>) => Promise<RequestOutput<N>>)(parsed);
    } catch (error) {
      // A damaged stored file is named by the dataset or run it belongs to.
      throw explainDamage(workspace.db, error);
    }
  };

  if (!workspace.readOnly) {
    runs.recover();
    // After the runs: sweeps left running carry on queueing (and resume trials the app's end interrupted).
    sweeps.recover();
  }

  // A daily copy of the database (see store/backup.ts): checked hourly and at close, one at a time.
  let backup: Promise<unknown> = Promise.resolve();
  const backupIfNeeded = (): void => {
    backup = backup.then(() => backupIfDue(workspace.db, join(workspace.home, 'studio.db'), new Date(), options.nativeBinding));
  };
  const backupTimer = workspace.readOnly ? null : setInterval(backupIfNeeded, BACKUP_CHECK_MS);
  backupTimer?.unref();

  return {
    workspace,
    runs,
    call,
    async handle(name, input) {
      try {
        return { ok: true, value: await call(assertRequestName(name), input) };
      } catch (error) {
        const apiError = toApiError(error);
        if (apiError.code === 'internal') console.error(error);
        return { ok: false, error: apiError.toJSON() };
      }
    },
    subscribe: (listener) => events.subscribe(listener),
    artifact: (ref) => readArtifact(workspace, ref),
    importedImagePath: (datasetId, index) => importedImagePath(workspace.db, workspace.blobs, datasetId, index),
    async close() {
      for (const controller of ctx.imports.values()) controller.abort();
      models.closeAll();
      // First, so trials that closing interrupts do not make room for new ones.
      sweeps.close();
      await runs.close();
      await remote.close();
      if (backupTimer && workspace.db.open) {
        clearInterval(backupTimer);
        backupIfNeeded();
      }
      await backup;
      workspace.close();
    },
  };
}

/**
 * A hard link to a checkpoint blob under a private temp name, so a training run may
 * replace and delete its stored checkpoint while a model session is still loading it.
 */
function stageCheckpoint(workspace: Workspace): StageCheckpoint {
  return (ref) => {
    const path = workspace.blobs.tempPath('.vaeckpt');
    try {
      linkSync(ref.path, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CheckpointReplaced(`checkpoint ${ref.sha256} was replaced`);
      throw error;
    }
    return { ref: { ...ref, path }, release: () => rmSync(path, { force: true }) };
  };
}

function openLockedOrReadOnly(options: CoreOptions): Workspace {
  const lockMode = options.instanceLabel ?? options.mode;
  try {
    return openWorkspace(options.home, { nativeBinding: options.nativeBinding, lockMode });
  } catch (error) {
    if (!(options.allowReadOnly && error instanceof ApiError && error.code === 'conflict')) throw error;
    return openWorkspace(options.home, { nativeBinding: options.nativeBinding });
  }
}

