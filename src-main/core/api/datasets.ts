import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ImportSettings } from '@shared/config';
import { ApiError } from '@shared/errors';
import type { Dataset } from '@shared/types';
import { inspectFolder } from '../datasets/inspect-folder';
import { classStrips, previewGrid } from '../datasets/preview';
import { toCsv } from '../datasets/csv';
import {
  datasetIndexHash,
  datasetNameTaken,
  deleteDatasetRow,
  insertDataset,
  listDatasets,
  runIdsUsingDataset,
} from '../store/datasets';
import { requireDataset, requireProject, type Context, type HandlerMap } from './context';
import { deleteRuns } from './runs';

type DatasetRequests =
  | 'datasets.list'
  | 'datasets.import'
  | 'datasets.inspect'
  | 'datasets.refresh'
  | 'datasets.cancelImport'
  | 'datasets.preview'
  | 'datasets.delete'
  | 'datasets.skippedCsv';

interface ImportJob {
  projectId: number;
  folder: string;
  name: string;
  settings: ImportSettings;
  jobId: string | undefined;
  previous?: Dataset;
}

export function nextVersionName(ctx: Context, projectId: number, name: string): string {
  const base = name.replace(/ \(v\d+\)$/, '');
  for (let version = 2; ; version++) {
    const candidate = `${base} (v${version})`;
    if (!datasetNameTaken(ctx.workspace.db, projectId, candidate)) return candidate;
  }
}

/** Runs one import job and stores its result; on any failure nothing is left behind. */
async function runImport(ctx: Context, job: ImportJob): Promise<Dataset> {
  const { db, blobs } = ctx.workspace;
  if (datasetNameTaken(db, job.projectId, job.name)) {
    throw new ApiError('conflict', `This project already has a dataset named "${job.name}"`, { field: 'name' });
  }
  const jobId = job.jobId ?? randomUUID();
  if (ctx.imports.has(jobId)) throw new ApiError('conflict', `An import with job id ${jobId} is already running`, { field: 'jobId' });
  const controller = new AbortController();
  ctx.imports.set(jobId, controller);
  let previous;
  if (job.previous) {
    const indexHash = datasetIndexHash(db, job.previous.id);
    if (indexHash && blobs.has(indexHash)) {
      previous = { packedPath: blobs.pathOf(job.previous.contentHash), indexPath: blobs.pathOf(indexHash) };
    }
  }
  let temp: string[] = [];
  try {
    const output = await ctx.importer(
      { type: 'import', folder: job.folder, settings: job.settings, previous, outDir: dirname(blobs.tempPath()), ...(ctx.workspace.lock && { lock: ctx.workspace.lock }) },
      (progress) => ctx.events.emit('dataset.progress', { jobId, ...progress }),
      controller.signal,
    );
    temp = [output.packedPath, output.indexPath];
    const blobHash = await blobs.putFile(output.packedPath);
    const indexHash = await blobs.putFile(output.indexPath);
    const { meta } = output;
    // An import child of an older build answers no health: the dataset then shows "not computed".
    const healthHash = meta.health ? blobs.put(Buffer.from(JSON.stringify(meta.health))) : null;
    const count = meta.splitCounts.train + meta.splitCounts.validation + meta.splitCounts.test;
    const dataset = insertDataset(
      db,
      {
        projectId: job.projectId,
        name: job.name,
        sourcePath: job.folder,
        count,
        labels: meta.labelNames,
        labelCounts: meta.labelCounts,
        skipped: meta.skipped,
        settings: job.settings,
        splitCounts: meta.splitCounts,
        stats: meta.stats,
        previousId: job.previous?.id ?? null,
        blobHash,
        indexHash,
        healthHash,
      },
      ctx.now(),
    );
    ctx.events.emit('dataset.progress', { jobId, phase: 'done', done: meta.stats.scanned, total: meta.stats.scanned, ratePerSec: 0, etaSeconds: 0 });
    return dataset;
  } catch (error) {
    if (controller.signal.aborted) throw new ApiError('cancelled', `Import of ${job.folder} was cancelled; nothing was saved.`, { field: 'jobId' });
    throw error;
  } finally {
    ctx.imports.delete(jobId);
    for (const path of temp) rmSync(path, { force: true });
  }
}

export function datasetHandlers(ctx: Context): HandlerMap<DatasetRequests> {
  const { db, blobs } = ctx.workspace;
  let inspecting: AbortController | null = null;
  return {
    'datasets.list': async ({ projectId }) => listDatasets(db, projectId),
    'datasets.import': async ({ projectId, folder, name, jobId, ...settings }) => {
      requireProject(ctx, projectId);
      const absolute = resolve(folder);
      return runImport(ctx, {
        projectId,
        folder: absolute,
        name: name ?? (absolute.split(/[\\/]/).filter(Boolean).pop() || 'dataset'),
        settings,
        jobId,
      });
    },
    'datasets.inspect': async ({ folder, ...settings }) => {
      // The import form asks while a path is typed: a newer question stops the older scan.
      inspecting?.abort();
      const controller = new AbortController();
      inspecting = controller;
      try {
        return await inspectFolder(resolve(folder), settings, controller.signal);
      } catch (error) {
        if (controller.signal.aborted) throw new ApiError('cancelled', `A newer look at a folder replaced the one at ${folder}.`, { field: 'folder' });
        throw error;
      } finally {
        if (inspecting === controller) inspecting = null;
      }
    },
    'datasets.refresh': async ({ datasetId, jobId }) => {
      const previous = requireDataset(ctx, datasetId);
      return runImport(ctx, {
        projectId: previous.projectId,
        folder: previous.sourcePath,
        name: nextVersionName(ctx, previous.projectId, previous.name),
        settings: previous.settings,
        jobId,
        previous,
      });
    },
    'datasets.cancelImport': async ({ jobId }) => {
      const controller = ctx.imports.get(jobId);
      controller?.abort();
      return { cancelled: controller !== undefined };
    },
    'datasets.preview': async ({ datasetId, count, perClass }) => {
      const dataset = requireDataset(ctx, datasetId);
      const packed = blobs.read(dataset.contentHash);
      return {
        datasetId,
        width: dataset.width,
        height: dataset.height,
        channels: dataset.channels,
        labels: dataset.labels,
        gridDataUrl: await previewGrid(packed, count),
        ...(perClass === undefined ? {} : { classes: await classStrips(packed, perClass) }),
      };
    },
    'datasets.delete': async ({ datasetId, withRuns }) => {
      const dataset = requireDataset(ctx, datasetId);
      const runIds = runIdsUsingDataset(db, datasetId);
      if (runIds.length > 0 && withRuns !== true) {
        throw new ApiError(
          'conflict',
          `Dataset "${dataset.name}" is used by ${runIds.length === 1 ? '1 run' : `${runIds.length} runs`}; delete ${runIds.length === 1 ? 'it' : 'them'} first, or delete the dataset with its runs.`,
          { field: 'datasetId', runs: runIds.length },
        );
      }
      deleteRuns(ctx, runIds, 'datasetId', () => deleteDatasetRow(db, dataset));
      return { deleted: datasetId, runsDeleted: runIds.length };
    },
    'datasets.skippedCsv': async ({ datasetId }) => {
      const dataset = requireDataset(ctx, datasetId);
      const safeName = dataset.name.replace(/[^\w.-]+/g, '_');
      return {
        filename: `${safeName}-skipped.csv`,
        csv: toCsv(['path', 'reason'], dataset.skipped.map((s) => [s.path, s.reason])),
      };
    },
  };
}
