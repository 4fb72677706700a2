import { ApiError } from '@shared/errors';
import { toArtifact } from '../artifacts';
import { blobHashesOfRun, blobStillReferenced, listArtifacts } from '../store/artifacts';
import { readMetrics } from '../store/metrics';
import { countRunsInProject, deleteRunRow, getRun, insertRun, listRuns } from '../store/runs';
import { requireDataset, requireProject, requireRun, type Context, type HandlerMap } from './context';

type RunRequests = 'runs.list' | 'runs.get' | 'runs.create' | 'runs.cancel' | 'runs.delete' | 'runs.metrics' | 'runs.artifacts';

export function runHandlers(ctx: Context): HandlerMap<RunRequests> {
  const { db, blobs } = ctx.workspace;
  return {
    'runs.list': async ({ projectId }) => listRuns(db, projectId),
    'runs.get': async ({ runId }) => requireRun(ctx, runId),
    'runs.create': async ({ projectId, datasetId, name, config }) => {
      requireProject(ctx, projectId);
      const dataset = requireDataset(ctx, datasetId);
      if (dataset.projectId !== projectId) {
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
      const run = insertRun(db, { projectId, datasetId, name: runName, configJson: JSON.stringify(config) }, ctx.now());
      ctx.events.emit('run.status', { runId: run.id, status: run.status, run });
      ctx.runs.enqueue(run.id);
      return getRun(db, run.id)!;
    },
    'runs.cancel': async ({ runId }) => {
      requireRun(ctx, runId);
      ctx.runs.cancel(runId);
      return requireRun(ctx, runId);
    },
    'runs.delete': async ({ runId }) => {
      requireRun(ctx, runId);
      if (ctx.runs.isActive(runId)) {
        throw new ApiError('conflict', `Run ${runId} is still training; stop it before deleting it`, { field: 'runId' });
      }
      const hashes = blobHashesOfRun(db, runId);
      db.transaction(() => deleteRunRow(db, runId))();
      for (const hash of hashes) if (!blobStillReferenced(db, hash)) blobs.remove(hash);
      return { deleted: runId };
    },
    'runs.metrics': async ({ runId, names, afterStep }) => {
      requireRun(ctx, runId);
      return readMetrics(db, runId, names, afterStep);
    },
    'runs.artifacts': async ({ runId, kind }) => {
      requireRun(ctx, runId);
      return listArtifacts(db, runId, kind).map((row) => toArtifact(row, blobs.read(row.blob_hash)));
    },
  };
}
