import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, type Stats } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { parseCheckpoint } from '@shared/checkpoint-format';
import { encoderInputOf, LIMITS, runConfigSchema, importSettingsSchema, type RunConfig } from '@shared/config';
import { latentWidthOf } from '@shared/families';
import { decodePacked, type PackedDataset } from '@shared/dataset-format';
import { ApiError } from '@shared/errors';
import { EXPORT_FILES, EXPORT_FORMAT, EXPORT_FORMAT_VERSION, HELDOUT_MAX, manifestSchema, modelCardSchema, type ImportedModel, type ModelCard } from '@shared/model-card';
import { buildExportNetworks, exportParams } from '@shared/model-export/networks';
import type { MetricPoint, Run } from '@shared/types';
import { insertArtifact } from '../store/artifacts';
import { replaceCheckpoint } from '../store/checkpoints';
import { datasetNameTaken, insertDataset } from '../store/datasets';
import type { Db } from '../store/db';
import { insertMetrics } from '../store/metrics';
import { getRun, insertRun } from '../store/runs';
import type { BlobStore } from '../workspace/blobs';
import { sha256Hex, sha256HexAsync } from './export-model';
import { DEFAULT_ZIP_LIMITS, nextTurn, unsafePathReason, ZipError, ZipReader } from './zip';

/**
 * Bringing an exported model back (models.import). Everything is read and checked
 * first — zip structure and paths, the manifest's format and version (before any other
 * file is unpacked), every file's size and SHA-256 (streamed; only the files the import
 * uses are kept in memory, each within what its role allows), the model card's schema, the checkpoint's own hash and
 * its fit to the card's architecture, the held-out images — and only then written:
 * blobs, then one transaction of rows. A refused file leaves the workspace as it was.
 */
export interface ImportedBundle {
  card: ModelCard;
  config: RunConfig;
  checkpoint: Uint8Array;
  heldout: Uint8Array;
  heldoutDataset: PackedDataset;
  samples: { kind: string; data: Uint8Array }[];
  metrics: MetricPoint[];
  formatVersion: number;
}

const bad = (source: string, why: string): ApiError =>
  new ApiError('invalid_input', `${source} is not a usable VAE Studio model export: ${why}. Nothing was imported; choose a .vaestudio archive or export folder written by VAE Studio's Export.`, { field: 'path' });

/**
 * Where an export's files come from: an archive or a folder. `files` lists every file
 * with its size as declared (the zip's directory, the folder's stat); `stream` gives a
 * file's bytes a chunk at a time and never more than that size.
 */
interface ExportSource {
  files: ReadonlyMap<string, number>;
  stream(path: string, onChunk: (chunk: Uint8Array) => void): Promise<void>;
  close(): Promise<void>;
}

async function zipSource(path: string): Promise<ExportSource> {
  const zip = await ZipReader.open(path);
  return {
    files: new Map([...zip.entries.values()].map((e) => [e.path, e.size])),
    stream: (file, onChunk) => zip.stream(file, onChunk),
    close: () => zip.close(),
  };
}

/** The files of an export folder; symlinks and odd files are refused. */
function folderSource(root: string): ExportSource {
  const files = new Map<string, number>();
  let total = 0;
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      const rel = relative(root, full).split(sep).join('/');
      const stat: Stats = lstatSync(full);
      if (stat.isSymbolicLink()) throw new ZipError(`"${rel}" is a symbolic link`);
      if (stat.isDirectory()) {
        walk(full);
        continue;
      }
      if (!stat.isFile()) throw new ZipError(`"${rel}" is not a regular file`);
      const reason = unsafePathReason(rel);
      if (reason) throw new ZipError(`"${rel}" has ${reason}`);
      if (stat.size > DEFAULT_ZIP_LIMITS.maxEntryBytes) throw new ZipError(`"${rel}" is ${stat.size} bytes (limit ${DEFAULT_ZIP_LIMITS.maxEntryBytes})`);
      total += stat.size;
      if (total > DEFAULT_ZIP_LIMITS.maxTotalBytes || files.size >= DEFAULT_ZIP_LIMITS.maxEntries) throw new ZipError('the folder holds too much');
      files.set(rel, stat.size);
    }
  };
  walk(root);
  return {
    files,
    async stream(rel, onChunk) {
      const size = files.get(rel)!;
      let read = 0;
      if (size > 0) {
        for await (const chunk of createReadStream(join(root, ...rel.split('/')), { start: 0, end: size - 1 })) {
          read += (chunk as Buffer).length;
          onChunk(chunk as Buffer);
        }
      }
      if (read !== size) throw new ZipError(`"${rel}" changed while it was read`);
    },
    close: async () => {},
  };
}

function parseCsv(text: string, source: string): MetricPoint[] {
  const lines = text.split('\n').filter((l) => l.length > 0);
  if (lines[0] !== 'step,epoch,name,value,t_ms') throw bad(source, `${EXPORT_FILES.metrics} has an unexpected header`);
  return lines.slice(1).map((line, i) => {
    const [step, epoch, name, value, t] = line.split(',');
    const point = { step: Number(step), epoch: Number(epoch), name: name ?? '', value: Number(value), t: Number(t) };
    if (!/^[a-z0-9_]{1,64}$/i.test(point.name) || ![point.step, point.epoch, point.value, point.t].every(Number.isFinite)) {
      throw bad(source, `${EXPORT_FILES.metrics} line ${i + 2} is malformed`);
    }
    return point;
  });
}

/** The manifest and the model card are small; larger ones are refused unread. */
const MANIFEST_MAX_BYTES = 1024 * 1024;
const CARD_MAX_BYTES = 1024 * 1024;
const METRICS_MAX_BYTES = 64 * 1024 * 1024;
/** All sample images together. */
const SAMPLES_MAX_BYTES = 64 * 1024 * 1024;
const SAMPLE_PATH = /^samples\/[a-z0-9_-]+\.png$/i;

/**
 * Room for the held-out images the card describes (pixels, a label and a split code
 * each, the header), and for a checkpoint of the card's parameter count: the weights
 * and Adam's two moments, float32, plus headroom for the header and a VQ-VAE's EMA state.
 */
const heldoutMaxBytes = (p: ModelCard['preprocessing']): number => HELDOUT_MAX * (p.width * p.height * p.channels + 5) + 1024 * 1024;
const checkpointMaxBytes = (card: ModelCard): number => 3 * 4 * card.architecture.parameters + 16 * 1024 * 1024;

/** Read and check an archive or export folder; throws a clear invalid_input error, writes nothing. */
export async function readExport(path: string): Promise<ImportedBundle> {
  const source = resolve(path);
  let stat: Stats;
  try {
    stat = lstatSync(source);
  } catch {
    throw new ApiError('not_found', `${source} does not exist`, { field: 'path' });
  }
  let files: ExportSource;
  try {
    if (stat.isDirectory()) files = folderSource(source);
    else if (stat.isFile()) {
      if (stat.size > DEFAULT_ZIP_LIMITS.maxTotalBytes) throw new ZipError(`the file is ${stat.size} bytes`);
      files = await zipSource(source);
    } else throw new ZipError('it is neither a file nor a folder');
  } catch (error) {
    if (error instanceof ZipError) throw bad(source, error.message);
    throw error;
  }
  try {
    return await readBundle(files, source);
  } catch (error) {
    if (error instanceof ZipError) throw bad(source, error.message);
    throw error;
  } finally {
    await files.close();
  }
}

/**
 * The manifest is read first and alone: nothing else is unpacked unless it names our
 * format and lists every file with its size, and the files are exactly those listed.
 * Then each file is streamed once, its SHA-256 computed on the way; only the files the
 * import uses (card, checkpoint, held-out images, metrics, samples) are kept, each
 * within a size its role allows (the checkpoint's and the images' from the card).
 */
async function readBundle(files: ExportSource, source: string): Promise<ImportedBundle> {
  /** A file's bytes, checked against the manifest's SHA-256 when given; kept only with `keep`. */
  const read = async (path: string, keep: boolean, sha256?: string): Promise<Uint8Array | null> => {
    const size = files.files.get(path)!;
    const data = keep ? new Uint8Array(size) : null;
    const hash = createHash('sha256');
    let at = 0;
    await files.stream(path, (chunk) => {
      hash.update(chunk);
      data?.set(chunk, at);
      at += chunk.length;
    });
    if (sha256 !== undefined && hash.digest('hex') !== sha256) throw bad(source, `"${path}" is damaged (its SHA-256 does not match the manifest)`);
    return data;
  };

  const manifestSize = files.files.get(EXPORT_FILES.manifest);
  if (manifestSize === undefined) throw bad(source, `it has no ${EXPORT_FILES.manifest}`);
  if (manifestSize > MANIFEST_MAX_BYTES) throw bad(source, `its ${EXPORT_FILES.manifest} is ${manifestSize} bytes (at most ${MANIFEST_MAX_BYTES})`);
  let manifestJson: unknown;
  try {
    manifestJson = JSON.parse(new TextDecoder().decode((await read(EXPORT_FILES.manifest, true))!));
  } catch (error) {
    if (error instanceof ZipError) throw error;
    throw bad(source, `${EXPORT_FILES.manifest} is not JSON`);
  }
  const format = (manifestJson as { format?: unknown })?.format;
  if (format !== EXPORT_FORMAT) throw bad(source, `its manifest names format "${String(format)}", not "${EXPORT_FORMAT}"`);
  const version = (manifestJson as { formatVersion?: unknown }).formatVersion;
  if (typeof version === 'number' && version > EXPORT_FORMAT_VERSION) {
    throw new ApiError(
      'invalid_input',
      `${source} was written by a newer VAE Studio (export format ${version}; this app reads up to ${EXPORT_FORMAT_VERSION}). Update the app. Nothing was imported.`,
      { field: 'path' },
    );
  }
  const manifest = manifestSchema.safeParse(manifestJson);
  if (!manifest.success) throw bad(source, `its manifest is malformed (${manifest.error.issues[0]?.path.join('.')}: ${manifest.error.issues[0]?.message})`);

  // Exactly the listed files, each of the listed size, before any of them is unpacked.
  const listed = new Map<string, { bytes: number; sha256: string }>();
  for (const file of manifest.data.files) {
    if (file.path === EXPORT_FILES.manifest || listed.has(file.path)) throw bad(source, `its manifest lists "${file.path}" twice`);
    listed.set(file.path, file);
  }
  for (const path of files.files.keys()) {
    if (path !== EXPORT_FILES.manifest && !listed.has(path)) throw bad(source, `"${path}" is not listed in its manifest`);
  }
  for (const [path, file] of listed) {
    const size = files.files.get(path);
    if (size === undefined) throw bad(source, `"${path}" is missing`);
    if (size !== file.bytes) throw bad(source, `"${path}" is ${size} bytes, its manifest says ${file.bytes}`);
  }
  const need = (path: string, max: number): { bytes: number; sha256: string } => {
    const file = listed.get(path);
    if (!file) throw bad(source, `it has no ${path}`);
    if (file.bytes > max) throw bad(source, `its ${path} is ${file.bytes} bytes, more than it can be (${max})`);
    return file;
  };

  const cardFile = need(EXPORT_FILES.card, CARD_MAX_BYTES);
  let card: ModelCard;
  try {
    card = modelCardSchema.parse(JSON.parse(new TextDecoder().decode((await read(EXPORT_FILES.card, true, cardFile.sha256))!)));
  } catch (error) {
    if (error instanceof ApiError || error instanceof ZipError) throw error;
    throw bad(source, `${EXPORT_FILES.card} is malformed`);
  }
  const p = card.preprocessing;
  if (p.width !== p.height) throw bad(source, 'VAE Studio datasets are square');
  if (p.width > LIMITS.imageSize.max) throw bad(source, `its images are ${p.width}×${p.height} (at most ${LIMITS.imageSize.max})`);

  // Every other file in the manifest's order: the import's own kept, the rest only hashed.
  const kept = new Map<string, Uint8Array>();
  const limit = new Map<string, number>([
    [EXPORT_FILES.checkpoint, checkpointMaxBytes(card)],
    [EXPORT_FILES.heldout, heldoutMaxBytes(p)],
    [EXPORT_FILES.metrics, METRICS_MAX_BYTES],
  ]);
  need(EXPORT_FILES.checkpoint, limit.get(EXPORT_FILES.checkpoint)!);
  need(EXPORT_FILES.heldout, limit.get(EXPORT_FILES.heldout)!);
  let samplesBytes = 0;
  for (const [path, file] of listed) {
    if (path === EXPORT_FILES.card) continue;
    const max = limit.get(path) ?? (SAMPLE_PATH.test(path) ? SAMPLES_MAX_BYTES - samplesBytes : null);
    if (max !== null) {
      need(path, max);
      if (SAMPLE_PATH.test(path)) samplesBytes += file.bytes;
    }
    const data = await read(path, max !== null, file.sha256);
    if (data) kept.set(path, data);
  }

  const checkpoint = kept.get(EXPORT_FILES.checkpoint)!;
  await nextTurn();
  let config: RunConfig;
  try {
    const parsed = parseCheckpoint(checkpoint);
    if ((await sha256HexAsync(parsed.body)) !== Buffer.from(parsed.hash).toString('hex')) throw new Error('its trailing hash does not match');
    config = runConfigSchema.parse(parsed.config);
    if (config.architecture !== card.architecture.kind || latentWidthOf(config) !== card.architecture.latent) throw new Error('it does not match the model card');
    if (config.family !== card.architecture.family) throw new Error(`it holds a '${config.family}' model, the model card says '${card.architecture.family}'`);
    if (encoderInputOf(config) !== card.preprocessing.encoderInput) {
      throw new Error(`its encoder reads '${encoderInputOf(config)}' pixels, the model card says '${card.preprocessing.encoderInput}'`);
    }
    const { width, height, channels } = card.preprocessing;
    buildExportNetworks(
      {
        family: config.family,
        model: config.architecture,
        width,
        height,
        channels,
        latent: latentWidthOf(config),
        flow: config.flow,
        flowSteps: config.flowSteps,
        decoder: { decoder: config.decoder, mixtureComponents: config.mixtureComponents },
        encoderInput: encoderInputOf(config),
      },
      exportParams(parsed.tensors),
    );
  } catch (error) {
    throw bad(source, `${EXPORT_FILES.checkpoint}: ${(error as Error).message}`);
  }

  const heldout = kept.get(EXPORT_FILES.heldout)!;
  let heldoutDataset: PackedDataset;
  try {
    heldoutDataset = decodePacked(heldout);
  } catch (error) {
    throw bad(source, `${EXPORT_FILES.heldout}: ${(error as Error).message}`);
  }
  const h = heldoutDataset.header;
  if (h.width !== p.width || h.height !== p.height || h.channels !== p.channels || h.count > HELDOUT_MAX || h.count !== card.heldout.count) {
    throw bad(source, `${EXPORT_FILES.heldout} does not match the model card (${h.width}×${h.height}×${h.channels}, ${h.count} images)`);
  }

  const samples = [...kept.entries()].filter(([path]) => SAMPLE_PATH.test(path)).map(([path, data]) => ({ kind: path.slice('samples/'.length, -'.png'.length), data }));
  const metricsBytes = kept.get(EXPORT_FILES.metrics);
  const metrics = metricsBytes ? parseCsv(new TextDecoder().decode(metricsBytes), source) : [];
  return { card, config, checkpoint, heldout, heldoutDataset, samples, metrics, formatVersion: manifest.data.formatVersion };
}

const IMPORTED = ' (imported)';

/**
 * An imported run's name: the original's with " (imported)", so the copy and the run it
 * came from never read as two identical rows; a copy of a copy does not say it twice.
 */
export function importedRunName(name: string): string {
  const base = name.endsWith(IMPORTED) ? name.slice(0, -IMPORTED.length) : name;
  return `${base.slice(0, LIMITS.nameLength - IMPORTED.length).trimEnd()}${IMPORTED}`;
}

function freeDatasetName(db: Db, projectId: number, wanted: string): string {
  const base = wanted.slice(0, 100);
  if (!datasetNameTaken(db, projectId, base)) return base;
  for (let n = 2; ; n++) if (!datasetNameTaken(db, projectId, `${base} (${n})`)) return `${base} (${n})`;
}

/** Write a checked bundle into a project: a dataset of the held-out images and a finished run with its checkpoint. */
export function writeImport(db: Db, blobs: BlobStore, projectId: number, bundle: ImportedBundle, source: string, now: string): Run {
  const { card } = bundle;
  const created: string[] = [];
  const put = (bytes: Uint8Array): string => {
    const hash = sha256Hex(bytes);
    if (!blobs.has(hash)) created.push(hash);
    return blobs.put(bytes);
  };
  try {
    const checkpointHash = put(bundle.checkpoint);
    const heldoutHash = put(bundle.heldout);
    const sampleHashes = bundle.samples.map((s) => ({ kind: s.kind, hash: put(s.data) }));
    const imported: ImportedModel = { card, source, importedAt: now, formatVersion: bundle.formatVersion };
    return db.transaction(() => {
      const { header, labels } = bundle.heldoutDataset;
      const labelCounts = header.labels.map((_, i) => labels.filter((l) => l === i).length);
      const dataset = insertDataset(
        db,
        {
          projectId,
          name: freeDatasetName(db, projectId, `${card.dataset.name} · ${card.heldout.split} images of ${card.name}`),
          sourcePath: source,
          count: header.count,
          labels: header.labels,
          labelCounts,
          skipped: [],
          settings: importSettingsSchema.parse({
            size: card.preprocessing.width,
            channels: card.preprocessing.channels,
            fit: card.preprocessing.fit,
            background: card.preprocessing.background,
            binarize: card.preprocessing.binarize,
            labels: header.labels.length > 0,
            validationFraction: 0,
            testFraction: 0.5,
          }),
          splitCounts: { train: 0, validation: 0, test: header.count },
          stats: { scanned: 0, decoded: 0, reused: header.count, duplicates: 0, skipped: 0, seconds: 0 },
          previousId: null,
          blobHash: heldoutHash,
          indexHash: null,
        },
        now,
      );
      const run = insertRun(db, { projectId, datasetId: dataset.id, name: importedRunName(card.name), configJson: JSON.stringify(bundle.config) }, now);
      const epoch = card.source.epoch;
      db.prepare(
        `UPDATE runs SET status = 'finished', backend = ?, backend_notes_json = ?, started_at = ?, finished_at = ?,
           epochs_done = ?, last_step = ?, summary_json = ?, notes = ?, tags_json = ?, imported_json = ? WHERE id = ?`,
      ).run(
        card.backend.name,
        JSON.stringify(card.backend.notes),
        now,
        now,
        epoch,
        card.source.step,
        JSON.stringify(card.metrics.final),
        card.source.notes,
        JSON.stringify([...new Set([...card.source.tags, 'imported'])].slice(0, 20)),
        JSON.stringify(imported),
        run.id,
      );
      for (const kind of ['best', 'last'] as const) {
        replaceCheckpoint(db, { runId: run.id, kind, epoch, step: card.source.step, blobHash: checkpointHash, bytes: bundle.checkpoint.length }, now);
      }
      for (const sample of sampleHashes) insertArtifact(db, { runId: run.id, kind: sample.kind, epoch, blobHash: sample.hash, mime: 'image/png' }, now);
      insertMetrics(db, run.id, bundle.metrics);
      return getRun(db, run.id)!;
    })();
  } catch (error) {
    for (const hash of created) blobs.remove(hash);
    throw error;
  }
}
