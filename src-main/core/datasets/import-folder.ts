import { stat } from 'node:fs/promises';
import { encodePacked, imageBytes } from '@shared/dataset-format';
import { ApiError } from '@shared/errors';
import type { ImportProgress, SkippedFile } from '@shared/types';
import { decodeImage, describeDecodeError, type DecodeSettings } from './decode-image';
import { relativeTo, scanFolder } from './scan-folder';

export interface ImportSettings extends DecodeSettings {
  labels: boolean;
}

export interface ImportedImages {
  pixels: Uint8Array;
  labels: Int32Array;
  labelNames: string[];
  labelCounts: number[];
  skipped: SkippedFile[];
  packed: Uint8Array;
}

export type ProgressSink = (progress: Omit<ImportProgress, 'jobId'>) => void;

const CONCURRENCY = 8;
const MAX_FILE_BYTES = 256 * 1024 * 1024;

/** Scans, decodes and packs a folder. Writes nothing: the caller stores the result. */
export async function importFolder(
  folder: string,
  settings: ImportSettings,
  onProgress: ProgressSink,
  signal?: AbortSignal,
): Promise<ImportedImages> {
  let info;
  try {
    info = await stat(folder);
  } catch {
    throw new ApiError('invalid_input', `Folder not found: ${folder}`, { field: 'folder' });
  }
  if (!info.isDirectory()) throw new ApiError('invalid_input', `Not a folder: ${folder}`, { field: 'folder' });

  onProgress({ phase: 'scanning', done: 0, total: 0, ratePerSec: 0, etaSeconds: null });
  const scan = await scanFolder(folder, signal);
  const skipped: SkippedFile[] = scan.skipped.map((s) => ({ ...s, path: relativeTo(folder, s.path) }));
  const total = scan.files.length;
  const perImage = imageBytes({ width: settings.size, height: settings.size, channels: settings.channels });
  const decoded: (Uint8Array | null)[] = new Array(total).fill(null);
  const started = Date.now();
  let done = 0;
  let lastReport = 0;
  let next = 0;

  const report = (force: boolean): void => {
    const now = Date.now();
    if (!force && now - lastReport < 100) return;
    lastReport = now;
    const rate = done / Math.max((now - started) / 1000, 1e-3);
    onProgress({ phase: 'decoding', done, total, ratePerSec: rate, etaSeconds: rate > 0 ? (total - done) / rate : null });
  };

  const worker = async (): Promise<void> => {
    while (next < total) {
      signal?.throwIfAborted();
      const index = next++;
      const file = scan.files[index]!;
      try {
        const size = (await stat(file.path)).size;
        if (size === 0) throw new Error('empty file (0 bytes)');
        if (size > MAX_FILE_BYTES) throw new Error(`file is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB`);
        decoded[index] = await decodeImage(file.path, settings);
      } catch (error) {
        const reason = error instanceof Error && /^(empty file|file is larger)/.test(error.message) ? error.message : describeDecodeError(error);
        skipped.push({ path: relativeTo(folder, file.path), reason });
      }
      done++;
      report(false);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, Math.max(total, 1)) }, worker));
  signal?.throwIfAborted();
  report(true);

  const kept = scan.files.map((f, i) => ({ f, pixels: decoded[i] })).filter((e) => e.pixels !== null);
  if (kept.length === 0) {
    throw new ApiError('invalid_input', `No readable images in ${folder} (${skipped.length} files skipped).`, {
      field: 'folder',
      skipped: skipped.slice(0, 50),
    });
  }
  onProgress({ phase: 'writing', done, total, ratePerSec: 0, etaSeconds: null });
  const labelNames = settings.labels ? [...new Set(kept.map((e) => e.f.label).filter((l) => l !== ''))].sort() : [];
  const labelIndex = new Map(labelNames.map((name, i) => [name, i]));
  const pixels = new Uint8Array(kept.length * perImage);
  const labels = new Int32Array(kept.length);
  const labelCounts = new Array<number>(labelNames.length).fill(0);
  kept.forEach((entry, i) => {
    pixels.set(entry.pixels!, i * perImage);
    const label = settings.labels ? (labelIndex.get(entry.f.label) ?? -1) : -1;
    labels[i] = label;
    if (label >= 0) labelCounts[label]!++;
  });
  const packed = encodePacked({
    header: { version: 1, count: kept.length, width: settings.size, height: settings.size, channels: settings.channels, labels: labelNames },
    pixels,
    labels,
  });
  skipped.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { pixels, labels, labelNames, labelCounts, skipped, packed };
}
