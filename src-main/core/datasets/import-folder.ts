import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import type { ImportSettings } from '@shared/config';
import { encodePacked, imageBytes, SPLIT_TEST, SPLIT_TRAIN, SPLIT_VALIDATION } from '@shared/dataset-format';
import { ApiError } from '@shared/errors';
import { binaryPixels } from '@shared/likelihood';
import type { ImportProgress, ImportStats, SkippedFile, SplitCounts } from '@shared/types';
import type { HealthReport } from '@shared/health';
import { decodeImage, describeDecodeError } from './decode-image';
import { computeHealth } from './health';
import { readSidecar, resolveLayout, type Placement } from './layout';
import { describeFsError, fileKind, relativeTo, requireFolder, scanFolder } from './scan-folder';

/** One kept image of a dataset: how to recognise its file again on the next import. */
export interface IndexEntry {
  path: string;
  size: number;
  mtimeMs: number;
  hash: string;
  /** The original's width and height (absent in indexes written before they were kept). */
  width?: number;
  height?: number;
}

/** What a previous import of the same folder left, so unchanged files are not decoded twice. */
export interface PreviousImport {
  /** Decoded pixels of each entry, same order as `entries`, under the same settings. */
  pixels: Uint8Array;
  entries: IndexEntry[];
}

export interface ImportResult {
  packed: Uint8Array;
  index: IndexEntry[];
  labelNames: string[];
  labelCounts: number[];
  splitCounts: SplitCounts;
  skipped: SkippedFile[];
  stats: ImportStats;
  /** Near-duplicates, leakage, blanks, balance and sizes of what was kept (health.ts). */
  health: HealthReport;
}

export type ProgressSink = (progress: Omit<ImportProgress, 'jobId'>) => void;

/**
 * Called between files, at least every YIELD_MS of decoding: the import child checks
 * there that its parent is still alive (the decode loop otherwise never lets the event
 * loop see the IPC channel close).
 */
export type Checkpoint = () => void;

/** Decodes in flight at once: libvips works on its own threads, so keep them fed. */
const CONCURRENCY = 8;
export const MAX_FILE_BYTES = 256 * 1024 * 1024;
/** Longest stretch of decoding without a turn of the event loop. */
const YIELD_MS = 20;
/**
 * Skipped files listed one by one; beyond this, the rest are counted per reason (the
 * dataset row, its CSV and every listing carry the list, so it must stay small).
 */
export const MAX_SKIPPED_LISTED = 10_000;

/**
 * Which split an image belongs to, from its content hash: stable when files are added
 * or removed later (an image never hops from test to train on re-import), and seeded.
 */
export function splitOf(hash: string, settings: Pick<ImportSettings, 'splitSeed' | 'validationFraction' | 'testFraction'>): number {
  const digest = createHash('sha256').update(`${settings.splitSeed}:${hash}`).digest();
  const u = digest.readUInt32BE(0) / 2 ** 32;
  if (u < settings.testFraction) return SPLIT_TEST;
  if (u < settings.testFraction + settings.validationFraction) return SPLIT_VALIDATION;
  return SPLIT_TRAIN;
}

/**
 * Synchronous on purpose: imports run in their own child process, where a blocking read
 * costs nothing, while an async one costs several thread-pool round trips per file —
 * more than decoding a small PNG (see `npm run bench:import`). Opened non-blocking and
 * checked to be a regular file: a FIFO or device put in a file's place after the scan
 * would otherwise block the read for ever or never end.
 */
function readFileLimited(path: string): { bytes: Buffer; info: Stats } {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw new Error(`not a regular file: ${fileKind(info)}`);
    if (info.size === 0) throw new Error('empty file (0 bytes)');
    if (info.size > MAX_FILE_BYTES) throw new Error(`file is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB`);
    const bytes = Buffer.allocUnsafe(info.size);
    let offset = 0;
    while (offset < bytes.length) {
      const n = readSync(fd, bytes, offset, bytes.length - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    return { bytes: offset === bytes.length ? bytes : bytes.subarray(0, offset), info };
  } finally {
    closeSync(fd);
  }
}

/**
 * The skipped list as stored: the first MAX_SKIPPED_LISTED by path, then one line per
 * reason counting the rest (path "… N more"), so nothing is lost and nothing is huge.
 */
export function summariseSkipped(skipped: SkippedFile[], limit = MAX_SKIPPED_LISTED): SkippedFile[] {
  const sorted = [...skipped].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (sorted.length <= limit) return sorted;
  const rest = new Map<string, number>();
  for (const s of sorted.slice(limit)) rest.set(s.reason, (rest.get(s.reason) ?? 0) + 1);
  const more = [...rest].sort((a, b) => b[1] - a[1]).map(([reason, n]) => ({ path: `… ${n.toLocaleString('en')} more`, reason }));
  return [...sorted.slice(0, limit), ...more];
}

type Slot =
  | { kind: 'pixels'; pixels: Uint8Array; entry: IndexEntry; place: Placement }
  | { kind: 'skipped' };

/** Whether an original of this size had to be enlarged to fill (or, padded, to fit) the square. */
export function upscaled(width: number, height: number, settings: Pick<ImportSettings, 'size' | 'fit'>): boolean {
  return (settings.fit === 'pad' ? Math.max(width, height) : Math.min(width, height)) < settings.size;
}

/** Scans, decodes and packs a folder. Writes nothing: the caller stores the result. */
export async function importFolder(
  folder: string,
  settings: ImportSettings,
  onProgress: ProgressSink,
  signal?: AbortSignal,
  previous?: PreviousImport,
  checkpoint?: Checkpoint,
): Promise<ImportResult> {
  const started = Date.now();
  await requireFolder(folder, 'folder');

  onProgress({ phase: 'scanning', done: 0, total: 0, ratePerSec: 0, etaSeconds: null });
  const scanned = await scanFolder(folder, signal);
  const sidecar = settings.labels ? await readSidecar(folder) : null;
  const relPaths = scanned.files.map((f) => relativeTo(folder, f.path));
  const layout = resolveLayout(folder, scanned.files, relPaths, settings, sidecar);
  const skipped: SkippedFile[] = scanned.skipped
    .map((s) => ({ ...s, path: relativeTo(folder, s.path) }))
    .filter((s) => s.path !== sidecar?.name);
  const outsideReason = `outside the split folders (${Object.values(layout.info.splitFolders).flat().map((f) => `${f}/`).join(', ')}): not imported`;
  const scan = { files: [] as { path: string; place: Placement }[] };
  scanned.files.forEach((file, i) => {
    const place = layout.placements[i];
    if (place) scan.files.push({ path: file.path, place });
    else skipped.push({ path: relPaths[i]!, reason: outsideReason });
  });
  const total = scan.files.length;
  const perImage = imageBytes({ width: settings.size, height: settings.size, channels: settings.channels });
  const reusable = new Map<string, { entry: IndexEntry; offset: number }>();
  previous?.entries.forEach((entry, i) => reusable.set(entry.path, { entry, offset: i * perImage }));

  const slots: Slot[] = new Array<Slot>(total);
  let done = 0;
  let decoded = 0;
  let reused = 0;
  let lastReport = 0;
  let next = 0;
  const report = (force: boolean): void => {
    const now = Date.now();
    if (!force && now - lastReport < 100) return;
    lastReport = now;
    const rate = done / Math.max((now - started) / 1000, 1e-3);
    onProgress({ phase: 'decoding', done, total, ratePerSec: rate, etaSeconds: rate > 0 ? (total - done) / rate : null });
  };

  let lastYield = Date.now();
  const work = async (): Promise<void> => {
    while (next < total) {
      if (Date.now() - lastYield >= YIELD_MS) {
        // Decoding plain PNGs is all synchronous work and microtasks: without this the
        // event loop would not run (no IPC, no timers) until the last file is done.
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = Date.now();
        checkpoint?.();
      }
      signal?.throwIfAborted();
      if (next >= total) break;
      const index = next++;
      const file = scan.files[index]!;
      const path = relativeTo(folder, file.path);
      try {
        const prior = reusable.get(path);
        const now = statSync(file.path);
        if (prior && previous && now.isFile() && now.size === prior.entry.size && now.mtimeMs === prior.entry.mtimeMs) {
          slots[index] = { kind: 'pixels', pixels: previous.pixels.subarray(prior.offset, prior.offset + perImage), entry: prior.entry, place: file.place };
          reused++;
        } else {
          const { bytes, info } = readFileLimited(file.path);
          const hash = createHash('sha256').update(bytes).digest('hex');
          const original = { width: 0, height: 0 };
          const pixels = await decodeImage(bytes, settings, original);
          const dims = original.width > 0 ? original : {};
          slots[index] = { kind: 'pixels', pixels, entry: { path, size: info.size, mtimeMs: info.mtimeMs, hash, ...dims }, place: file.place };
          decoded++;
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : '';
        const code = (error as { code?: string }).code;
        const reason = /^(empty file|file is larger|not a regular file)/.test(message) ? message : code ? describeFsError(error) : describeDecodeError(error);
        skipped.push({ path, reason });
        slots[index] = { kind: 'skipped' };
      }
      done++;
      report(false);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, Math.max(total, 1)) }, work));
  signal?.throwIfAborted();
  report(true);

  // Identical files would land in different splits and inflate the test score: keep the first.
  const firstByHash = new Map<string, string>();
  const kept: Extract<Slot, { kind: 'pixels' }>[] = [];
  let duplicates = 0;
  for (const slot of slots) {
    if (slot.kind !== 'pixels') continue;
    const first = firstByHash.get(slot.entry.hash);
    if (first !== undefined) {
      skipped.push({ path: slot.entry.path, reason: `duplicate of ${first}` });
      duplicates++;
      continue;
    }
    firstByHash.set(slot.entry.hash, slot.entry.path);
    kept.push(slot);
  }
  if (kept.length === 0) {
    throw new ApiError('invalid_input', `No readable images in ${folder} (${skipped.length} files skipped).`, {
      field: 'folder',
      skipped: summariseSkipped(skipped, 50),
    });
  }

  onProgress({ phase: 'writing', done, total, ratePerSec: 0, etaSeconds: null });
  const labelNames = settings.labels ? [...new Set(kept.map((e) => e.place.label).filter((l) => l !== ''))].sort() : [];
  const labelIndex = new Map(labelNames.map((name, i) => [name, i]));
  const pixels = new Uint8Array(kept.length * perImage);
  const labels = new Int32Array(kept.length);
  const split = new Uint8Array(kept.length);
  const labelCounts = new Array<number>(labelNames.length).fill(0);
  const splitCounts: SplitCounts = { train: 0, validation: 0, test: 0 };
  const splitNames = ['train', 'validation', 'test'] as const;
  const splitCodes = { train: SPLIT_TRAIN, validation: SPLIT_VALIDATION, test: SPLIT_TEST } as const;
  let measured = 0;
  let enlarged = 0;
  kept.forEach((slot, i) => {
    pixels.set(slot.pixels, i * perImage);
    const label = settings.labels ? (labelIndex.get(slot.place.label) ?? -1) : -1;
    labels[i] = label;
    if (label >= 0) labelCounts[label]!++;
    // A split folder decides; otherwise the content hash draws it (at the shares left to draw).
    split[i] = slot.place.split === null ? splitOf(slot.entry.hash, { splitSeed: settings.splitSeed, ...layout.draw }) : splitCodes[slot.place.split];
    const { width, height } = slot.entry;
    if (width !== undefined && height !== undefined) {
      measured++;
      if (upscaled(width, height, settings)) enlarged++;
    }
  });
  // A folder too small for its shares (one image drawn into test) must still train:
  // then every image whose split was drawn trains, and the warnings say what is missing.
  if (!split.includes(SPLIT_TRAIN)) {
    kept.forEach((slot, i) => {
      if (slot.place.split === null) split[i] = SPLIT_TRAIN;
    });
  }
  for (const code of split) splitCounts[splitNames[code]!]++;
  const header = { version: 2, count: kept.length, width: settings.size, height: settings.size, channels: settings.channels, labels: labelNames } as const;
  const index = kept.map((slot) => slot.entry);
  const health = await computeHealth({
    dataset: { header, pixels, labels, split },
    originals: index,
    exactDuplicates: duplicates,
    checkpoint: () => {
      checkpoint?.();
      signal?.throwIfAborted();
    },
  });
  const packed = encodePacked({ header: { ...header, labels: labelNames }, pixels, labels, split });
  const stats: ImportStats = {
    scanned: total,
    decoded,
    reused,
    duplicates,
    skipped: skipped.length,
    seconds: (Date.now() - started) / 1000,
    layout: layout.info,
    measured,
    upscaled: enlarged,
    pixelLevels: binaryPixels(pixels) ? 'binary' : '8-bit',
  };
  if (previous) {
    const before = new Set(previous.entries.map((e) => e.path));
    const now = new Set(index.map((e) => e.path));
    stats.added = index.filter((e) => !before.has(e.path)).length;
    stats.removed = previous.entries.filter((e) => !now.has(e.path)).length;
  }
  return { packed, index, labelNames, labelCounts, splitCounts, skipped: summariseSkipped(skipped), stats, health };
}
