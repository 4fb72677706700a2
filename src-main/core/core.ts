import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { AnyEventMessage, RequestName, RequestOutput } from '@shared/api';
import { ApiError, type Envelope } from '@shared/errors';
import type { AppInfo } from '@shared/types';
import { assertRequestName, parseRequest } from '@shared/validate';
import { importFolder } from './datasets/import-folder';
import { previewGrid } from './datasets/preview';
import { EventBus } from './events';
import { RunManager } from './jobs/run-manager';
import { forkWorker, type SpawnWorker } from './jobs/spawn';
import { toArtifact } from './artifacts';
import { blobHashesOfRun, blobStillReferenced, listArtifacts } from './store/artifacts';
import { datasetNameTaken, getDataset, insertDataset, listDatasets } from './store/datasets';
import { readMetrics } from './store/metrics';
import { findProjectByName, getProject, insertProject, listProjects } from './store/projects';
import { countRunsInProject, deleteRunRow, getRun, insertRun, listRuns } from './store/runs';
import { openWorkspace, type Workspace } from './workspace/workspace';

export interface CoreOptions {
  home: string;
  mode: AppInfo['mode'];
  version: string;
  workerEntry: string;
  sampleDatasetPath: string;
  spawnWorker?: SpawnWorker;
  nativeBinding?: string;
  maxConcurrentRuns?: number;
}

type Handlers = { [N in RequestName]: (input: ReturnType<typeof parseRequest<N>>) => Promise<RequestOutput<N>> };

export interface Core {
  readonly workspace: Workspace;
  readonly runs: RunManager;
  /** Validates and answers one request; never throws. */
  handle(name: string, input: unknown): Promise<Envelope<unknown>>;
  /** Typed call for in-process adapters (CLI); throws ApiError. */
  call<N extends RequestName>(name: N, input: unknown): Promise<RequestOutput<N>>;
  subscribe(listener: (message: AnyEventMessage) => void): () => void;
  close(): Promise<void>;
}

const now = (): string => new Date().toISOString();

export function createCore(options: CoreOptions): Core {
  const workspace = openWorkspace(options.home, { nativeBinding: options.nativeBinding });
  const { db, blobs } = workspace;
  const events = new EventBus();
  const runs = new RunManager({
    workspace,
    events,
    spawn: options.spawnWorker ?? forkWorker,
    workerEntry: options.workerEntry,
    maxConcurrent: options.maxConcurrentRuns ?? 1,
  });
  const imports = new Map<string, AbortController>();

  const requireProject = (id: number, field = 'projectId') => {
    const project = getProject(db, id);
    if (!project) throw new ApiError('not_found', `Project ${id} does not exist`, { field });
    return project;
  };
  const requireRun = (id: number) => {
    const run = getRun(db, id);
    if (!run) throw new ApiError('not_found', `Run ${id} does not exist`, { field: 'runId' });
    return run;
  };

  const handlers: Handlers = {
    'app.info': async () => ({
      version: options.version,
      mode: options.mode,
      home: options.home,
      sampleDatasetPath: options.sampleDatasetPath,
    }),
    'projects.list': async () => listProjects(db),
    'projects.create': async ({ name }) => {
      if (findProjectByName(db, name)) {
        throw new ApiError('conflict', `A project named "${name}" already exists`, { field: 'name' });
      }
      return insertProject(db, name, now());
    },
    'datasets.list': async ({ projectId }) => listDatasets(db, projectId),
    'datasets.import': async (input) => {
      requireProject(input.projectId);
      const folder = resolve(input.folder);
      const name = input.name ?? (folder.split(/[\\/]/).filter(Boolean).pop() || 'dataset');
      if (datasetNameTaken(db, input.projectId, name)) {
        throw new ApiError('conflict', `This project already has a dataset named "${name}"`, { field: 'name' });
      }
      const jobId = input.jobId ?? randomUUID();
      const controller = new AbortController();
      imports.set(jobId, controller);
      try {
        const result = await importFolder(
          folder,
          { size: input.size, channels: input.channels, labels: input.labels },
          (progress) => events.emit('dataset.progress', { jobId, ...progress }),
          controller.signal,
        );
        const hash = blobs.put(result.packed);
        const dataset = insertDataset(
          db,
          {
            projectId: input.projectId,
            name,
            sourcePath: folder,
            width: input.size,
            height: input.size,
            channels: input.channels,
            count: result.labels.length,
            labels: result.labelNames,
            labelCounts: result.labelCounts,
            skipped: result.skipped,
            settings: { size: input.size, channels: input.channels, labels: input.labels, fit: 'fill' },
            blobHash: hash,
          },
          now(),
        );
        events.emit('dataset.progress', { jobId, phase: 'done', done: dataset.count, total: dataset.count, ratePerSec: 0, etaSeconds: 0 });
        return dataset;
      } catch (error) {
        if (controller.signal.aborted) throw new ApiError('cancelled', `Import of ${folder} was cancelled; nothing was saved.`);
        throw error;
      } finally {
        imports.delete(jobId);
      }
    },
    'datasets.cancelImport': async ({ jobId }) => {
      const controller = imports.get(jobId);
      controller?.abort();
      return { cancelled: controller !== undefined };
    },
    'datasets.preview': async ({ datasetId, count }) => {
      const dataset = getDataset(db, datasetId);
      if (!dataset) throw new ApiError('not_found', `Dataset ${datasetId} does not exist`, { field: 'datasetId' });
      return {
        datasetId,
        width: dataset.width,
        height: dataset.height,
        channels: dataset.channels,
        labels: dataset.labels,
        gridDataUrl: await previewGrid(blobs.read(dataset.contentHash), count),
      };
    },
    'runs.list': async ({ projectId }) => listRuns(db, projectId),
    'runs.get': async ({ runId }) => requireRun(runId),
    'runs.create': async ({ projectId, datasetId, name, config }) => {
      requireProject(projectId);
      const dataset = getDataset(db, datasetId);
      if (!dataset || dataset.projectId !== projectId) {
        throw new ApiError('not_found', `Dataset ${datasetId} is not in project ${projectId}`, { field: 'datasetId' });
      }
      if (config.model === 'conv' && (dataset.width % 4 !== 0 || dataset.width < 8)) {
        throw new ApiError(
          'invalid_input',
          `The conv model needs images whose size is a multiple of 4 (at least 8); "${dataset.name}" is ${dataset.width}×${dataset.height}.`,
          { field: 'config.model' },
        );
      }
      const runName = name ?? `${config.model}-z${config.latent}-${countRunsInProject(db, projectId) + 1}`;
      const run = insertRun(db, { projectId, datasetId, name: runName, configJson: JSON.stringify(config) }, now());
      events.emit('run.status', { runId: run.id, status: run.status, run });
      runs.enqueue(run.id);
      return getRun(db, run.id)!;
    },
    'runs.cancel': async ({ runId }) => {
      requireRun(runId);
      runs.cancel(runId);
      return requireRun(runId);
    },
    'runs.delete': async ({ runId }) => {
      requireRun(runId);
      if (runs.isActive(runId)) {
        throw new ApiError('conflict', `Run ${runId} is still training; stop it before deleting it`, { field: 'runId' });
      }
      const hashes = blobHashesOfRun(db, runId);
      db.transaction(() => deleteRunRow(db, runId))();
      for (const hash of hashes) if (!blobStillReferenced(db, hash)) blobs.remove(hash);
      return { deleted: runId };
    },
    'runs.metrics': async ({ runId, names, afterStep }) => {
      requireRun(runId);
      return readMetrics(db, runId, names, afterStep);
    },
    'runs.artifacts': async ({ runId, kind }) => {
      requireRun(runId);
      return listArtifacts(db, runId, kind).map((row) => toArtifact(row, blobs.read(row.blob_hash)));
    },
  };

  const call = async <N extends RequestName>(name: N, input: unknown): Promise<RequestOutput<N>> => {
    const parsed = parseRequest(name, input);
    return (handlers[name] as (i: typeof parsed) => Promise<RequestOutput<N>>)(parsed);
  };

  runs.recover();

  return {
    workspace,
    runs,
    call,
    async handle(name, input) {
      try {
        return { ok: true, value: await call(assertRequestName(name), input) };
      } catch (error) {
        return { ok: false, error: toErrorShape(error).toJSON() };
      }
    },
    subscribe: (listener) => events.subscribe(listener),
    async close() {
      for (const controller of imports.values()) controller.abort();
      await runs.close();
      workspace.close();
    },
  };
}

function toErrorShape(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/SQLITE_CONSTRAINT/.test((error as { code?: string }).code ?? '')) {
    return new ApiError('conflict', message);
  }
  if (/SQLITE_FULL|ENOSPC/.test(`${(error as { code?: string }).code ?? ''} ${message}`)) {
    return new ApiError('io_error', `The disk is full: ${message}. Nothing was saved.`);
  }
  console.error(error);
  return new ApiError('internal', message);
}
