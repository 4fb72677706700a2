import { ApiError, type ApiErrorShape } from '@shared/errors';
import { blobOwners } from './store/artifacts';
import type { Db } from './store/db';
import { DamagedBlobError } from './workspace/blobs';

/**
 * Stored files are content-addressed and checked when read (the worker checks the
 * dataset it trains on, the core what it exports or shows). When one is damaged, the
 * user must learn which dataset or run it belongs to and how to get it back: these
 * turn "hash mismatch" into that.
 */

export function damagedDatasetMessage(db: Db, hash: string, path: string): string | null {
  const dataset = blobOwners(db, hash).datasets[0];
  if (!dataset) return null;
  return (
    `The dataset "${dataset.name}" (#${dataset.id}) is damaged: its stored file ${path} no longer has the content it was imported with, so it was not used. ` +
    `Re-import it from ${dataset.sourcePath} (Datasets → Import, or vae-studio import "${dataset.sourcePath}") and train on the new copy; results already saved are kept.`
  );
}

/** A DamagedBlobError from the core's own reads, naming the dataset or run it belongs to. */
export function explainDamage(db: Db, error: unknown): unknown {
  if (!(error instanceof DamagedBlobError)) return error;
  const details = { ...error.details };
  const dataset = damagedDatasetMessage(db, error.hash, error.path);
  if (dataset) return new ApiError('io_error', `${dataset} Nothing was changed.`, details);
  const owners = blobOwners(db, error.hash);
  const checkpoint = owners.checkpoints[0];
  if (checkpoint) {
    const kinds = owners.checkpoints.filter((c) => c.runId === checkpoint.runId).map((c) => c.kind);
    const other = kinds.length === 1 ? ` Use its ${kinds[0] === 'best' ? 'last' : 'best'} checkpoint instead if it has one, or` : ' To get the model back,';
    return new ApiError(
      'io_error',
      `The saved model of run ${checkpoint.runId} (its ${kinds.join(' and ')} checkpoint, epoch ${checkpoint.epoch}) is damaged: its file ${error.path} no longer has the content it was saved with, so it was not used. ` +
        `Nothing was changed.${other} train the run again with the same settings.`,
      { ...details, runId: checkpoint.runId },
    );
  }
  const artifact = owners.artifacts[0];
  if (artifact) {
    return new ApiError(
      'io_error',
      `An image of run ${artifact.runId} (${artifact.kind}, epoch ${artifact.epoch}) is damaged: its file ${error.path} no longer has the content it was saved with. Nothing was changed; the run's model and metrics are not affected.`,
      { ...details, runId: artifact.runId },
    );
  }
  return error;
}

/**
 * A worker's report that it refused damaged input, retold for the run it belongs to.
 * Other errors pass unchanged.
 */
export function explainWorkerDamage(db: Db, runId: number, datasetHash: string, error: ApiErrorShape): ApiErrorShape {
  const details = error.details ?? {};
  if (details.reason === 'damaged_dataset') {
    const path = typeof details.path === 'string' ? details.path : datasetHash;
    const message = damagedDatasetMessage(db, datasetHash, path);
    if (message) return { ...error, message: `Run ${runId} did not train: ${message}` };
  }
  if (details.field === 'resumeFrom') {
    return {
      ...error,
      message:
        `Run ${runId} could not resume: its last saved checkpoint could not be used (${error.message}). ` +
        'Its metrics, images and other checkpoints are kept; train a new run with the same settings to continue.',
    };
  }
  return error;
}
