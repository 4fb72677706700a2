import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { parseCheckpoint } from '@shared/checkpoint-format';
import { runConfigSchema, importSettingsSchema, type RunConfig } from '@shared/config';
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
import { DEFAULT_ZIP_LIMITS, nextTurn, readZipAsync, unsafePathReason, ZipError, type ZipEntry } from './zip';

/**
 * Bringing an exported model back (models.import). Everything is read and checked in
 * memory first — zip structure and paths, the manifest's format and version, every
 * file's size and SHA-256, the model card's schema, the checkpoint's own hash and
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
  new ApiError('invalid_input', `${source} is not a usable VAE Studio model export: ${why}. Nothing was imported.`, { field: 'path' });

/** The files of an export folder, as archive entries; symlinks and odd files are refused. */
async function readFolder(root: string): Promise<ZipEntry[]> {
  const entries: ZipEntry[] = [];
  const paths: { rel: string; full: string }[] = [];
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
      if (total > DEFAULT_ZIP_LIMITS.maxTotalBytes || paths.length >= DEFAULT_ZIP_LIMITS.maxEntries) throw new ZipError('the folder holds too much');
      paths.push({ rel, full });
    }
  };
  walk(root);
  for (const { rel, full } of paths) entries.push({ path: rel, data: await readFile(full) });
  return entries;
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

/** Read and check an archive or export folder; throws a clear invalid_input error, writes nothing. */
export async function readExport(path: string): Promise<ImportedBundle> {
  const source = resolve(path);
  let stat: Stats;
  try {
    stat = lstatSync(source);
  } catch {
    throw new ApiError('not_found', `${source} does not exist`, { field: 'path' });
  }
  let entries: ZipEntry[];
  try {
    if (stat.isDirectory()) entries = await readFolder(source);
    else if (stat.isFile()) {
      if (stat.size > DEFAULT_ZIP_LIMITS.maxTotalBytes) throw new ZipError(`the file is ${stat.size} bytes`);
      entries = await readZipAsync(await readFile(source));
    } else throw new ZipError('it is neither a file nor a folder');
  } catch (error) {
    if (error instanceof ZipError) throw bad(source, error.message);
    throw error;
  }
  const files = new Map(entries.map((e) => [e.path, e.data]));
  const manifestBytes = files.get(EXPORT_FILES.manifest);
  if (!manifestBytes) throw bad(source, `it has no ${EXPORT_FILES.manifest}`);
  let manifestJson: unknown;
  try {
    manifestJson = JSON.parse(new TextDecoder().decode(manifestBytes));
  } catch {
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

  const listed = new Set(manifest.data.files.map((f) => f.path));
  for (const path of files.keys()) {
    if (path !== EXPORT_FILES.manifest && !listed.has(path)) throw bad(source, `"${path}" is not listed in its manifest`);
  }
  for (const file of manifest.data.files) {
    const data = files.get(file.path);
    if (!data) throw bad(source, `"${file.path}" is missing`);
    if (data.length !== file.bytes || (await sha256HexAsync(data)) !== file.sha256) throw bad(source, `"${file.path}" is damaged (its SHA-256 does not match the manifest)`);
  }

  const need = (path: string): Uint8Array => {
    const data = files.get(path);
    if (!data) throw bad(source, `it has no ${path}`);
    return data;
  };
  let card: ModelCard;
  try {
    card = modelCardSchema.parse(JSON.parse(new TextDecoder().decode(need(EXPORT_FILES.card))));
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw bad(source, `${EXPORT_FILES.card} is malformed`);
  }

  const checkpoint = need(EXPORT_FILES.checkpoint);
  await nextTurn();
  let config: RunConfig;
  try {
    const parsed = parseCheckpoint(checkpoint);
    if ((await sha256HexAsync(parsed.body)) !== Buffer.from(parsed.hash).toString('hex')) throw new Error('its trailing hash does not match');
    config = runConfigSchema.parse(parsed.config);
    if (config.model !== card.architecture.kind || config.latent !== card.architecture.latent) throw new Error('it does not match the model card');
    if (config.family !== card.architecture.family) throw new Error(`it holds a '${config.family}' model, the model card says '${card.architecture.family}'`);
    const { width, height, channels } = card.preprocessing;
    buildExportNetworks({ family: config.family, model: config.model, width, height, channels, latent: config.latent, flow: config.flow, flowSteps: config.flowSteps }, exportParams(parsed.tensors));
  } catch (error) {
    throw bad(source, `${EXPORT_FILES.checkpoint}: ${(error as Error).message}`);
  }

  const heldout = need(EXPORT_FILES.heldout);
  let heldoutDataset: PackedDataset;
  try {
    heldoutDataset = decodePacked(heldout);
  } catch (error) {
    throw bad(source, `${EXPORT_FILES.heldout}: ${(error as Error).message}`);
  }
  const h = heldoutDataset.header;
  const p = card.preprocessing;
  if (h.width !== p.width || h.height !== p.height || h.channels !== p.channels || h.count > HELDOUT_MAX || h.count !== card.heldout.count) {
    throw bad(source, `${EXPORT_FILES.heldout} does not match the model card (${h.width}×${h.height}×${h.channels}, ${h.count} images)`);
  }
  if (p.width !== p.height) throw bad(source, 'VAE Studio datasets are square');

  const samples = [...files.entries()]
    .filter(([path]) => /^samples\/[a-z0-9_-]+\.png$/i.test(path))
    .map(([path, data]) => ({ kind: path.slice('samples/'.length, -'.png'.length), data }));
  const metrics = files.has(EXPORT_FILES.metrics) ? parseCsv(new TextDecoder().decode(files.get(EXPORT_FILES.metrics)), source) : [];
  return { card, config, checkpoint, heldout, heldoutDataset, samples, metrics, formatVersion: manifest.data.formatVersion };
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
      const run = insertRun(db, { projectId, datasetId: dataset.id, name: card.name.slice(0, 120), configJson: JSON.stringify(bundle.config) }, now);
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
