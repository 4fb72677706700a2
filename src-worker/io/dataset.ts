import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decodePacked } from '@shared/dataset-format';
import { ApiError } from '@shared/errors';
import type { ImageSet } from '../train/images';

/** Read a packed dataset file (src-shared/dataset-format.ts) into the engine's ImageSet. */
export interface LoadedDataset extends ImageSet {
  labels: Int32Array;
  /** Per-image split codes (train/validation/test) from format version 2 files. */
  split?: Uint8Array;
}

/** Why a job refused its dataset file: the supervisor names the dataset and the run. */
export const DAMAGED_DATASET = 'damaged_dataset';

/**
 * Reads the packed file once and, given the hash it was stored under (blobs are
 * content-addressed), checks it in the same pass over memory before any pixel is used:
 * a flipped byte on disk must not train silently on wrong data.
 */
export function loadPackedDataset(path: string, expectedSha256?: string): LoadedDataset {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ApiError('io_error', `Cannot read the dataset file ${path}: ${why}`, { field: 'datasetPath', path });
  }
  if (expectedSha256 !== undefined) {
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== expectedSha256) {
      throw new ApiError(
        'io_error',
        `The dataset file ${path} is damaged: its content no longer has the hash it was imported with (sha256 ${actual.slice(0, 12)}…, expected ${expectedSha256.slice(0, 12)}…). Re-import the dataset.`,
        { field: 'datasetPath', path, reason: DAMAGED_DATASET, expected: expectedSha256, actual },
      );
    }
  }
  try {
    const { header, pixels, labels, split } = decodePacked(bytes);
    return {
      shape: { width: header.width, height: header.height, channels: header.channels },
      count: header.count,
      pixels,
      labels,
      classes: header.labels.length,
      ...(split === undefined ? {} : { split }),
    };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ApiError('invalid_input', `${path} is not a usable dataset: ${why}. Re-import the dataset.`, {
      field: 'datasetPath',
      path,
    });
  }
}
