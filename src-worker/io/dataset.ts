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

export function loadPackedDataset(path: string): LoadedDataset {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ApiError('io_error', `Cannot read the dataset file ${path}: ${why}`, { field: 'datasetPath', path });
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
