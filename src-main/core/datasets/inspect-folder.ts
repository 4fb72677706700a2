import type { DatasetLayout } from '@shared/config';
import { INSPECT_SKIPPED_LISTED, type FolderInspection } from '@shared/types';
import { readSidecar, resolveLayout } from './layout';
import { relativeTo, requireFolder, scanFolder } from './scan-folder';

/**
 * What importing a folder would read, without decoding anything: its layout (detected
 * or as asked), its classes and how many image files each split folder holds. The
 * import form shows it before the import starts, so a wrong layout is caught first.
 */
export async function inspectFolder(
  folder: string,
  settings: { layout: DatasetLayout; labels: boolean; validationFraction: number; testFraction: number },
  signal?: AbortSignal,
): Promise<FolderInspection> {
  await requireFolder(folder, 'folder');
  const scan = await scanFolder(folder, signal);
  const sidecar = settings.labels ? await readSidecar(folder) : null;
  const relPaths = scan.files.map((f) => relativeTo(folder, f.path));
  const { info: layout, placements } = resolveLayout(folder, scan.files, relPaths, settings, sidecar);
  const splitFiles = { train: 0, validation: 0, test: 0, drawn: 0 };
  const perLabel = new Map<string, number>();
  for (const place of placements) {
    if (!place) continue;
    splitFiles[place.split ?? 'drawn']++;
    if (place.label !== '') perLabel.set(place.label, (perLabel.get(place.label) ?? 0) + 1);
  }
  // The labels file is read, not skipped, though the scan (which knows no labels) lists it.
  const skipped = scan.skipped.filter((s) => !sidecar || relativeTo(folder, s.path) !== sidecar.name);
  return {
    folder,
    layout,
    images: scan.files.length - layout.outside,
    splitFiles,
    classes: [...perLabel].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([label, files]) => ({ label, files })),
    skipped: skipped.length + layout.outside,
    skippedFiles: skipped.slice(0, INSPECT_SKIPPED_LISTED).map((s) => ({ path: relativeTo(folder, s.path), reason: s.reason })),
  };
}
