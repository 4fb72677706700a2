import type { ApiErrorShape } from '@shared/errors';
import { toApiError } from '../core/errors';

/**
 * "Show in folder": the thin Electron side. The renderer names an image by dataset and
 * index only, never by path; the core resolves the file the user imported (refusing one
 * outside the dataset's folder or gone), and the shell reveals it. Nothing is copied or moved.
 */
export function revealImage(
  core: { importedImagePath(datasetId: number, index: number): string },
  shell: { showItemInFolder(path: string): void },
  datasetId: unknown,
  index: unknown,
): { ok: true } | { ok: false; error: ApiErrorShape } {
  if (!Number.isInteger(datasetId) || !Number.isInteger(index) || (datasetId as number) < 1 || (index as number) < 0) {
    return { ok: false, error: { code: 'invalid_input', message: 'Show in folder needs a dataset id and an image index (whole numbers).', details: { field: 'index' } } };
  }
  try {
    shell.showItemInFolder(core.importedImagePath(datasetId as number, index as number));
    return { ok: true };
  } catch (error) {
    return { ok: false, error: toApiError(error).toJSON() };
  }
}
