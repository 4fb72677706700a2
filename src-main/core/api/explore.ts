import { ApiError } from '@shared/errors';
import type { InferOp, InferRequestOf, InferResults } from '@shared/inference';
import type { CheckpointInfo, Dataset, Run } from '@shared/types';
import { CheckpointReplaced, type CallOptions, type ModelKey } from '../jobs/model-sessions';
import { getCheckpoint, toCheckpointInfo } from '../store/checkpoints';
import { requireDataset, requireRun, type Context, type HandlerMap } from './context';
import { readableConfig } from '../store/runs';

type ExploreRequests =
  | 'explore.info'
  | 'explore.images'
  | 'explore.traverse'
  | 'explore.latentMap'
  | 'explore.interpolate'
  | 'explore.samples'
  | 'explore.codes'
  | 'explore.generateClass'
  | 'explore.swapClass'
  | 'explore.close';

export interface ResolvedModel {
  run: Run;
  dataset: Dataset;
  checkpoint: CheckpointInfo;
  key: ModelKey;
}

/**
 * The saved model a request means: the run's best checkpoint (or its newest with
 * 'last', or when no best is marked), with the run's config and dataset file.
 * Works while the run is still training: it answers with the newest saved epoch.
 */
export function resolveModel(ctx: Context, runId: number, kind: 'best' | 'last'): ResolvedModel {
  const run = requireRun(ctx, runId);
  readableConfig(run);
  const { db, blobs } = ctx.workspace;
  const row = getCheckpoint(db, runId, kind) ?? getCheckpoint(db, runId, 'last');
  if (!row) {
    throw new ApiError('not_found', `Run ${runId} has no saved model yet (a checkpoint is written after each epoch)`, { field: 'runId' });
  }
  const dataset = requireDataset(ctx, run.datasetId);
  return {
    run,
    dataset,
    checkpoint: toCheckpointInfo(row),
    key: {
      runId,
      checkpoint: { path: blobs.pathOf(row.blob_hash), sha256: row.blob_hash, epoch: row.epoch, step: row.step },
      config: run.config,
      datasetPath: blobs.pathOf(dataset.contentHash),
      datasetSha256: dataset.contentHash,
    },
  };
}

/**
 * Use a run's saved model. A training run replaces its checkpoint after every epoch; if
 * the one just resolved is replaced before its session could open, the newer one is used.
 */
export async function withModel<T>(ctx: Context, runId: number, kind: 'best' | 'last', use: (model: ResolvedModel) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const model = resolveModel(ctx, runId, kind);
    try {
      return await use(model);
    } catch (error) {
      if (!(error instanceof CheckpointReplaced)) throw error;
      if (attempt >= 3) {
        throw new ApiError('io_error', `The saved model of run ${runId} (epoch ${model.checkpoint.epoch}) is missing from the workspace; its checkpoint file was deleted.`, {
          field: 'runId',
        });
      }
    }
  }
}

/** Ask a run's model session one question (opening the session if needed). */
export async function askModel<K extends InferOp>(
  ctx: Context,
  input: { runId: number; checkpoint: 'best' | 'last' } & Omit<InferRequestOf<K>, 'op'>,
  op: K,
  options?: CallOptions,
): Promise<InferResults[K]> {
  const { runId, checkpoint, ...fields } = input;
  const request = { op, ...fields } as unknown as InferRequestOf<K>;
  return withModel(ctx, runId, checkpoint, async ({ key }) => (await ctx.models.call(key, request, options)) as InferResults[K]);
}

export function exploreHandlers(ctx: Context): HandlerMap<ExploreRequests> {
  return {
    'explore.info': ({ runId, checkpoint }) =>
      withModel(ctx, runId, checkpoint, async (model) => {
        const info = await ctx.models.info(model.key);
        return { ...info, runId, checkpoint: model.checkpoint, labels: model.dataset.labels };
      }),
    'explore.images': (input) => askModel(ctx, input, 'images'),
    'explore.traverse': (input) => askModel(ctx, input, 'traverse'),
    'explore.latentMap': (input) => askModel(ctx, input, 'latentMap'),
    'explore.interpolate': (input) => askModel(ctx, input, 'interpolate'),
    'explore.samples': (input) => askModel(ctx, input, 'samples'),
    'explore.codes': (input) => askModel(ctx, input, 'codes'),
    'explore.generateClass': (input) => askModel(ctx, input, 'generateClass'),
    'explore.swapClass': (input) => askModel(ctx, input, 'swapClass'),
    'explore.close': async ({ runId }) => {
      requireRun(ctx, runId);
      return { closed: ctx.models.close(runId) };
    },
  };
}
