import { convDesignOf, decoderProblem, newRunConfig, type RunConfig, type RunRequestConfig } from '@shared/config';
import { suggestDecoder } from '@shared/likelihood';
import { convMisfit } from '@shared/conv';
import { familyOf, labelsBlocker } from '@shared/families';
import { ApiError } from '@shared/errors';
import { resumableStatuses, type Dataset, type Run } from '@shared/types';
import { toArtifact } from './artifact-file';
import { artifactEpochs, blobHashesOfRun, blobStillReferenced, listArtifacts } from '../store/artifacts';
import { getCheckpoint, listCheckpoints, toCheckpointInfo } from '../store/checkpoints';
import { deleteDatasetRow, getDataset, runIdsUsingDataset } from '../store/datasets';
import { readMetricPage } from '../store/metrics';
import { countRunsInProject, deleteRunRow, getRun, insertRun, listRuns, readableConfig, requeueRun, updateRunDetails } from '../store/runs';
import { requireDataset, requireProject, requireRun, type Context, type HandlerMap } from './context';

type RunRequests =
  | 'runs.list'
  | 'runs.get'
  | 'runs.create'
  | 'runs.cancel'
  | 'runs.resume'
  | 'runs.pause'
  | 'runs.unpause'
  | 'runs.evaluate'
  | 'runs.checkpoints'
  | 'runs.delete'
  | 'runs.metrics'
  | 'runs.artifacts'
  | 'runs.artifactEpochs'
  | 'runs.update';

/**
 * Deletes finished (or stopped, failed…) runs with their metrics, images and checkpoints,
 * and then whatever `alsoDelete` removes, in one transaction; blobs nothing else uses go
 * afterwards. A run still training or queued refuses the whole request, naming it.
 */
export function deleteRuns(ctx: Context, runIds: readonly number[], field: string, alsoDelete?: () => string[]): void {
  const { db, blobs } = ctx.workspace;
  const active = runIds.filter((runId) => ctx.runs.isActive(runId));
  if (active.length > 0) {
    const names = active.map((runId) => getRun(db, runId)?.name ?? `run ${runId}`).map((name) => `"${name}"`);
    throw new ApiError(
      'conflict',
      active.length === 1 && runIds.length === 1
        ? `Run ${runIds[0]} is still training; stop it before deleting it`
        : `${names.join(', ')} ${active.length === 1 ? 'is' : 'are'} still training or queued; stop ${active.length === 1 ? 'it' : 'them'} first.`,
      { field },
    );
  }
  for (const runId of runIds) ctx.models.close(runId);
  const hashes = runIds.flatMap((runId) => blobHashesOfRun(db, runId));
  db.transaction(() => {
    for (const runId of runIds) deleteRunRow(db, runId);
    if (alsoDelete) hashes.push(...alsoDelete());
  })();
  for (const hash of new Set(hashes)) if (!blobStillReferenced(db, hash)) blobs.remove(hash);
}

/**
 * What a new run would be stored as, or why it cannot be: the dataset must be in the
 * project and have training images, a conv design must fit its size, a family that needs
 * labels needs labelled images. runs.create and every sweep trial go through here.
 */
export function checkNewRun(ctx: Context, projectId: number, datasetId: number, config: RunRequestConfig, field = 'config'): { dataset: Dataset; stored: RunConfig } {
  requireProject(ctx, projectId);
  const dataset = requireDataset(ctx, datasetId);
  if (dataset.projectId !== projectId) {
    throw new ApiError('not_found', `Dataset ${datasetId} is not in project ${projectId}`, { field: 'datasetId' });
  }
  if (dataset.splitCounts.train === 0) {
    throw new ApiError(
      'invalid_input',
      `"${dataset.name}" has no training images (${dataset.count} held-out images${dataset.splitCounts.test === dataset.count ? ', as an imported model brings along' : ''}); import an image folder to train on.`,
      { field: 'datasetId' },
    );
  }
  // As it will be stored: a run naming no decoder gets the one the dataset's pixels call for (the form and
  // the CLI show the same choice, from the same rule), a conv run naming no architecture the default preset.
  const stored = newRunConfig(withDatasetDecoder(config, dataset, field));
  const misfit = stored.architecture === 'conv' ? convMisfit(dataset, convDesignOf(stored)) : null;
  if (misfit) {
    throw new ApiError('invalid_input', `"${dataset.name}": ${misfit} Use architecture 'mlp', or re-import it at another size.`, { field: `${field}.architecture` });
  }
  const unlabelled = labelsBlocker(config, dataset);
  if (unlabelled) throw new ApiError('invalid_input', `"${dataset.name}": ${unlabelled}`, { field: `${field}.family` });
  return { dataset, stored };
}

/** A run just inserted: announced and queued. */
export function queueNewRun(ctx: Context, run: Run): void {
  ctx.events.emit('run.status', { runId: run.id, status: run.status, run });
  ctx.runs.enqueue(run.id);
}

/**
 * Re-queue a run that ended early from its last checkpoint (a run that died in its first
 * epoch starts over); what it recorded after that checkpoint is dropped.
 */
export function resumeRun(ctx: Context, runId: number): void {
  const { db, blobs } = ctx.workspace;
  const run = requireRun(ctx, runId);
  readableConfig(run);
  if (ctx.runs.isActive(runId)) throw new ApiError('conflict', `Run ${runId} is already ${run.status}`, { field: 'runId' });
  ctx.runs.saveEnding(runId);
  if (!resumableStatuses.includes(run.status)) {
    throw new ApiError(
      'conflict',
      `Run ${runId} is ${run.status}; only a run that ended early (${resumableStatuses.join(', ')}) can be resumed`,
      { field: 'runId' },
    );
  }
  const last = getCheckpoint(db, runId, 'last');
  const dropped = requeueRun(db, runId, last ? { epoch: last.epoch, step: last.step } : { epoch: 0, step: 0 });
  for (const hash of dropped) if (!blobStillReferenced(db, hash)) blobs.remove(hash);
  const queued = getRun(db, runId)!;
  ctx.events.emit('run.status', { runId, status: queued.status, run: queued });
  ctx.runs.enqueue(runId);
}

/**
 * A requested config (already checked in full) with its decoder: the one it names, else
 * the dataset's default (suggestDecoder: Bernoulli for binary pixels, the discretized
 * logistic for 8-bit ones), with what the other settings ask of the decoder checked
 * again against the one filled in (decoderProblem); nothing else depends on it.
 */
export function withDatasetDecoder(config: RunRequestConfig, dataset: Parameters<typeof suggestDecoder>[0], field = 'config'): RunConfig {
  const withDecoder: RunConfig = { ...config, decoder: config.decoder ?? suggestDecoder(dataset).decoder };
  const problem = decoderProblem(withDecoder);
  if (problem) throw new ApiError('invalid_input', `${field}.${problem.path}: ${problem.message}`, { field: `${field}.${problem.path}` });
  return withDecoder;
}

export function runHandlers(ctx: Context): HandlerMap<RunRequests> {
  const { db, blobs } = ctx.workspace;
  return {
    'runs.list': async ({ projectId }) => listRuns(db, projectId).map((run) => ctx.runs.view(run)),
    'runs.get': async ({ runId }) => requireRun(ctx, runId),
    'runs.create': async ({ projectId, datasetId, name, config }) => {
      const { stored } = checkNewRun(ctx, projectId, datasetId, config);
      const runName = name ?? `${familyOf(config).runName(config)}-${countRunsInProject(db, projectId) + 1}`;
      const run = insertRun(db, { projectId, datasetId, name: runName, configJson: JSON.stringify(stored) }, ctx.now());
      queueNewRun(ctx, run);
      return getRun(db, run.id)!;
    },
    'runs.cancel': async ({ runId }) => {
      requireRun(ctx, runId);
      ctx.runs.cancel(runId);
      return requireRun(ctx, runId);
    },
    'runs.resume': async ({ runId }) => {
      resumeRun(ctx, runId);
      return requireRun(ctx, runId);
    },
    'runs.pause': async ({ runId }) => {
      const run = requireRun(ctx, runId);
      if (run.status !== 'running' || !ctx.runs.pause(runId)) {
        throw new ApiError('conflict', `Run ${runId} is ${run.status}; only a running run can be paused`, { field: 'runId' });
      }
      return requireRun(ctx, runId);
    },
    'runs.unpause': async ({ runId }) => {
      const run = requireRun(ctx, runId);
      if ((run.status !== 'paused' && run.status !== 'running') || !ctx.runs.unpause(runId)) {
        throw new ApiError('conflict', `Run ${runId} is ${run.status}; only a paused run can continue`, { field: 'runId' });
      }
      return requireRun(ctx, runId);
    },
    'runs.evaluate': async ({ runId, iwaeSamples, images, checkpoint: kind }) => {
      const run = requireRun(ctx, runId);
      readableConfig(run);
      const row = getCheckpoint(db, runId, kind) ?? getCheckpoint(db, runId, 'last');
      if (!row) {
        throw new ApiError('not_found', `Run ${runId} has no saved model yet (checkpoints are written after each epoch)`, {
          field: 'runId',
        });
      }
      const k = iwaeSamples ?? run.config.iwaeSamples;
      const ref = { path: blobs.pathOf(row.blob_hash), sha256: row.blob_hash, epoch: row.epoch, step: row.step };
      ctx.runs.evaluate(run, ref, k, images);
      return { runId, iwaeSamples: k, images, checkpoint: toCheckpointInfo(row) };
    },
    'runs.checkpoints': async ({ runId }) => {
      requireRun(ctx, runId);
      return listCheckpoints(db, runId).map(toCheckpointInfo);
    },
    'runs.delete': async ({ runId }) => {
      const run = requireRun(ctx, runId);
      // An imported run's held-out images came with it (models.import): they go with it,
      // unless another run was trained on them since.
      const heldout = run.imported ? getDataset(db, run.datasetId) : undefined;
      const withImages = heldout && runIdsUsingDataset(db, heldout.id).every((id) => id === runId) ? heldout : null;
      deleteRuns(ctx, [runId], 'runId', () => (withImages ? deleteDatasetRow(db, withImages) : []));
      return { deleted: runId };
    },
    'runs.metrics': async ({ runId, names, afterStep, after, limit }) => {
      requireRun(ctx, runId);
      return readMetricPage(db, runId, { names, afterStep, after, limit });
    },
    'runs.artifacts': async ({ runId, inline, offset, limit, ...filter }) => {
      requireRun(ctx, runId);
      return listArtifacts(db, runId, filter, { offset, limit }).map((row) => toArtifact(row, inline ? blobs.read(row.blob_hash) : null, ctx.info.mode));
    },
    'runs.artifactEpochs': async ({ runId, afterEpoch }) => {
      requireRun(ctx, runId);
      return artifactEpochs(db, runId, afterEpoch);
    },
    'runs.update': async ({ runId, ...changes }) => {
      requireRun(ctx, runId);
      updateRunDetails(db, runId, changes);
      const run = requireRun(ctx, runId);
      ctx.events.emit('run.status', { runId, status: run.status, run });
      return run;
    },
  };
}
