import { existsSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ApiError } from '@shared/errors';
import { datasetIndexHash, getDataset } from '../store/datasets';
import type { Db } from '../store/db';
import type { BlobStore } from '../workspace/blobs';
import type { IndexEntry } from './import-folder';

/**
 * The file on disk an image of a dataset was imported from ("Show in folder"): its
 * folder joined with the path the import recorded, refused when the recorded path would
 * leave that folder, when the dataset kept no paths, or when the file is gone — so a
 * caller can only ever point at a file the user imported.
 */
export function importedImagePath(db: Db, blobs: BlobStore, datasetId: number, index: number): string {
  const dataset = getDataset(db, datasetId);
  if (!dataset) throw new ApiError('not_found', `Dataset ${datasetId} does not exist`, { field: 'datasetId' });
  const hash = datasetIndexHash(db, datasetId);
  if (hash === null || !blobs.has(hash)) {
    throw new ApiError('not_found', `Dataset "${dataset.name}" kept no file paths (imported before they were kept); refresh it from its folder to get them.`, { field: 'datasetId' });
  }
  const entries = JSON.parse(blobs.read(hash).toString('utf8')) as IndexEntry[];
  const entry = Number.isInteger(index) && index >= 0 ? entries[index] : undefined;
  if (!entry) throw new ApiError('invalid_input', `Dataset "${dataset.name}" has no image ${index} (it has ${entries.length}).`, { field: 'index' });
  const folder = resolve(dataset.sourcePath);
  const file = resolve(folder, entry.path);
  const inside = relative(folder, file);
  if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) {
    throw new ApiError('invalid_input', `The recorded path "${entry.path}" of image ${index} lies outside the dataset's folder ${folder}; it is not shown.`, { field: 'index' });
  }
  if (!existsSync(file)) throw new ApiError('not_found', `${file} is no longer there (moved or deleted since the import).`, { field: 'index', path: file });
  return file;
}
