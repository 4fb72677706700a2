import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { CHECKPOINT_HASH_BYTES, parseCheckpoint, zeroCheckpointTensors, type ParsedCheckpoint } from '@shared/checkpoint-format';
import { decodePacked, encodePacked, imageBytes, SPLIT_TEST, SPLIT_VALIDATION, type PackedDataset } from '@shared/dataset-format';
import { ApiError } from '@shared/errors';
import { encoderInputOf } from '@shared/config';
import { latentWidthOf } from '@shared/families';
import {
  ARCHIVE_EXTENSION,
  EXPORT_FILES,
  EXPORT_FORMAT,
  EXPORT_FORMAT_VERSION,
  HELDOUT_MAX,
  type ExportFormat,
  type ExportManifest,
  type ModelCard,
} from '@shared/model-card';
import { describeNetwork, parameterCount } from '@shared/model-export/graph';
import { buildExportNetworks, exportParams, type ExportNetworks } from '@shared/model-export/networks';
import { toOnnx } from '@shared/model-export/onnx';
import { toTfjsLayers, TFJS_WEIGHTS_FILE } from '@shared/model-export/tfjs-layers';
import type { Dataset, Run } from '@shared/types';
import { listArtifacts } from '../store/artifacts';
import { getCheckpoint, type CheckpointRow } from '../store/checkpoints';
import type { Db } from '../store/db';
import { readMetrics } from '../store/metrics';
import type { BlobStore } from '../workspace/blobs';
import { fsyncFolder, siblingName, writeFileDurably, type PendingFiles } from '../workspace/pending-files';
import { exportReadme } from './export-readme';
import { nextTurn, writeZipAsync, type ZipEntry } from './zip';

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Bytes hashed between two turns of the event loop (about 20 ms of SHA-256). */
const HASH_SLICE = 8 * 1024 * 1024;

/** sha256Hex in slices, so hashing a large file does not hold the event loop. */
export async function sha256HexAsync(bytes: Uint8Array): Promise<string> {
  const hash = createHash('sha256');
  for (let at = 0; at < bytes.length; at += HASH_SLICE) {
    hash.update(bytes.subarray(at, at + HASH_SLICE));
    await nextTurn();
  }
  return hash.digest('hex');
}

/** Read a checkpoint blob and check both its blob hash and its own trailing hash. */
export async function loadCheckpointBlob(blobs: BlobStore, hash: string, what: string): Promise<{ bytes: Uint8Array; parsed: ParsedCheckpoint }> {
  const bytes = blobs.read(hash);
  if ((await sha256HexAsync(bytes)) !== hash) throw new ApiError('internal', `The checkpoint file of ${what} is damaged (its hash changed)`);
  const parsed = parseCheckpoint(bytes);
  if ((await sha256HexAsync(parsed.body)) !== Buffer.from(parsed.hash).toString('hex')) {
    throw new ApiError('internal', `The checkpoint file of ${what} is damaged (its trailing hash does not match)`);
  }
  return { bytes, parsed };
}

/**
 * The checkpoint for the archive: Adam's moments zeroed (they only matter to continue
 * training, which an imported model does not do; zeros deflate to almost nothing, so
 * the archive carries the weights about once per format), hash recomputed.
 */
async function slimCheckpoint(bytes: Uint8Array): Promise<Uint8Array> {
  const slim = zeroCheckpointTensors(bytes, (name) => /^adam_[mv]\//.test(name));
  const body = slim.subarray(0, slim.length - CHECKPOINT_HASH_BYTES);
  slim.set(Buffer.from(await sha256HexAsync(body), 'hex'), slim.length - CHECKPOINT_HASH_BYTES);
  return slim;
}

/** Up to HELDOUT_MAX images the model did not train on: the test split, else validation. */
function heldoutImages(packed: PackedDataset): { dataset: PackedDataset; split: ModelCard['heldout']['split'] } {
  const { split } = packed;
  const pick = (code: number): number[] => (split ? [...split.keys()].filter((i) => split[i] === code) : []);
  let chosen = pick(SPLIT_TEST);
  let name: ModelCard['heldout']['split'] = 'test';
  if (chosen.length === 0) {
    chosen = pick(SPLIT_VALIDATION);
    name = 'validation';
  }
  if (chosen.length === 0) {
    // Version-1 files have no split codes: say honestly that these may be training images.
    chosen = [...Array(packed.header.count).keys()];
    name = 'train';
  }
  chosen = chosen.slice(0, HELDOUT_MAX);
  const size = imageBytes(packed.header);
  const pixels = new Uint8Array(chosen.length * size);
  chosen.forEach((from, i) => pixels.set(packed.pixels.subarray(from * size, (from + 1) * size), i * size));
  return {
    split: name,
    dataset: {
      // Imported, they are the model's test images: Explore and evaluation look there.
      header: { ...packed.header, version: 2, count: chosen.length },
      pixels,
      labels: Int32Array.from(chosen, (i) => packed.labels[i]!),
      split: new Uint8Array(chosen.length).fill(SPLIT_TEST),
    },
  };
}

function metricsCsv(db: Db, runId: number): string {
  const lines = ['step,epoch,name,value,t_ms'];
  for (const p of readMetrics(db, runId)) lines.push(`${p.step},${p.epoch},${p.name},${p.value},${p.t}`);
  return `${lines.join('\n')}\n`;
}

/** One line on what the model is, for the card and the README's first paragraph. */
function describeModel(run: Run, dataset: Dataset, exported: ExportNetworks): string {
  const c = run.config;
  const kind = c.architecture.toUpperCase();
  const data = `trained in VAE Studio on "${dataset.name}" (${dataset.width}×${dataset.height}×${dataset.channels})`;
  if (exported.codes) {
    const { size, dim, grid, positions } = exported.codes;
    const where = c.architecture === 'conv' ? `a ${grid[0]}×${grid[1]} grid` : `${positions} positions`;
    return `${kind} VQ-VAE (${size} codes of dimension ${dim} on ${where}, ${c.decoder} decoder, ${exported.priorTrained ? 'autoregressive prior' : 'no trained prior'}) ${data}.`;
  }
  const what =
    c.family === 'cvae'
      ? `Conditional ${kind} VAE (${exported.classes} classes, latent ${c.latent}`
      : c.family === 'm2'
        ? `Semi-supervised M2 ${kind} VAE (${exported.classes} classes, ${Math.round(c.labelFraction * 1000) / 10} % of the training labels kept, latent ${c.latent}`
        : `${kind} VAE (latent ${c.latent}`;
  const flow = c.flow === 'none' ? '' : `, ${c.flowSteps}-step ${c.flow === 'iaf' ? 'inverse autoregressive' : 'planar'} flow posterior`;
  return `${what}${flow}, ${c.decoder} decoder) ${data}.`;
}

function modelCard(run: Run, dataset: Dataset, row: CheckpointRow, exported: ExportNetworks, heldout: ModelCard['heldout'], format: ExportFormat, version: string, now: string): ModelCard {
  const c = run.config;
  const num = (key: string): number | null => (Number.isFinite(run.summary[key]) ? run.summary[key]! : null);
  const layers = (name: string): string[] => {
    const network = exported.networks.find((n) => n.name === name);
    return network ? describeNetwork(network) : [];
  };
  return {
    name: run.name,
    description: describeModel(run, dataset, exported),
    exportedAt: now,
    app: { name: 'VAE Studio', version },
    source: { runId: run.id, runName: run.name, runStatus: run.status, checkpoint: row.kind, epoch: row.epoch, step: row.step, notes: run.notes, tags: run.tags },
    architecture: {
      kind: c.architecture,
      latent: latentWidthOf(c),
      hidden: c.hidden,
      parameters: parameterCount(exported.networks),
      encoder: layers('encoder'),
      decoder: layers('decoder'),
      family: c.family,
      networks: exported.networks.map((n) => ({ name: n.name, inputs: n.inputs.map((i) => i.name), outputs: n.outputs, layers: describeNetwork(n) })),
      classes: exported.classes,
      flow: c.flow,
      flowSteps: c.flow === 'none' ? 0 : c.flowSteps,
      flowContext: exported.flowContext,
      codes: exported.codes ? { ...exported.codes, priorTrained: exported.priorTrained } : null,
    },
    decoder: {
      likelihood: c.decoder,
      variance: c.decoder === 'gaussian' ? c.decoderVariance : 'none',
      gaussianSigma: c.decoder === 'gaussian' ? c.gaussianSigma : null,
      ...(c.decoder === 'logistic' ? { mixtureComponents: c.mixtureComponents } : {}),
      output:
        c.decoder === 'logistic'
          ? `x_mean = Σ_k π_k μ_k per sub-pixel, the mean of the discretized logistic mixture (K = ${c.mixtureComponents}): ` +
            'π = softmax of the mixture logits, μ_k = sigmoid of the locations, both from the decoder\'s last layer ' +
            '(3·K values per sub-pixel: K logits, K locations, K log scales), in [0, 1].'
          : 'x_mean = sigmoid(decoder output): the Bernoulli probability of each pixel, or the Gaussian mean; ' +
            'the raw logit is log(x_mean / (1 − x_mean)).',
    },
    preprocessing: {
      width: dataset.width,
      height: dataset.height,
      channels: dataset.channels,
      fit: dataset.settings.fit,
      background: dataset.settings.background,
      binarize: dataset.settings.binarize,
      normalization:
        'pixel / 255, float32 in [0, 1]' +
        (dataset.settings.binarize ? ' (thresholded at 50 % to 0 or 1 first)' : '') +
        (encoderInputOf(c) === 'centred' ? `; the ${c.family === 'm2' ? 'encoder and classifier centre' : 'encoder centres'} it to 2x − 1 in ${c.family === 'm2' ? 'their' : 'its'} first layer (x_centred), so feed [0, 1]` : ''),
      encoderInput: encoderInputOf(c),
      layout: `channels-last [N, ${dataset.height}, ${dataset.width}, ${dataset.channels}] (height, width, channel)`,
    },
    dataset: { name: dataset.name, contentHash: dataset.contentHash, labels: dataset.labels, count: dataset.count, splitCounts: dataset.splitCounts },
    heldout,
    training: c,
    metrics: { final: run.summary, testNll: num('test_nll'), testBpd: num('test_bpd'), iwaeK: num('iwae_k') },
    backend: { name: run.backend, notes: run.backendNotes },
    formats: { tfjs: format !== 'onnx', onnx: format !== 'tfjs' },
  };
}

/**
 * Everything of an export, in memory, before it is written anywhere. The core runs in
 * Electron's main process: the steps give the event loop a turn in between, so a
 * large model (a VQ-VAE's prior, tens of MB) does not freeze the app while it exports.
 */
export async function buildExport(
  db: Db,
  blobs: BlobStore,
  run: Run,
  dataset: Dataset,
  kind: 'best' | 'last',
  format: ExportFormat,
  version: string,
  now: string,
): Promise<{ entries: ZipEntry[]; card: ModelCard; row: CheckpointRow }> {
  const row = getCheckpoint(db, run.id, kind) ?? getCheckpoint(db, run.id, 'last');
  if (!row) throw new ApiError('not_found', `Run ${run.id} has no saved model yet (a checkpoint is written after each epoch)`, { field: 'runId' });
  const { bytes, parsed } = await loadCheckpointBlob(blobs, row.blob_hash, `run ${run.id}`);
  const checkpointBytes = await slimCheckpoint(bytes);
  const c = run.config;
  const spec = {
    family: c.family,
    model: c.architecture,
    width: dataset.width,
    height: dataset.height,
    channels: dataset.channels,
    latent: latentWidthOf(c),
    flow: c.flow,
    flowSteps: c.flowSteps,
    decoder: { decoder: c.decoder, mixtureComponents: c.mixtureComponents },
    encoderInput: encoderInputOf(c),
  };
  let exported: ExportNetworks;
  try {
    exported = buildExportNetworks(spec, exportParams(parsed.tensors));
  } catch (error) {
    throw new ApiError('internal', `The checkpoint of run ${run.id} does not fit its model: ${(error as Error).message}`);
  }
  await nextTurn();
  const heldout = heldoutImages(decodePacked(blobs.read(dataset.contentHash)));
  const card = modelCard(run, dataset, row, exported, { split: heldout.split, count: heldout.dataset.header.count }, format, version, now);

  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  const files: ZipEntry[] = [
    { path: EXPORT_FILES.card, data: text(`${JSON.stringify(card, null, 2)}\n`) },
    { path: EXPORT_FILES.readme, data: text(exportReadme(card)) },
    { path: EXPORT_FILES.metrics, data: text(metricsCsv(db, run.id)) },
  ];
  for (const artifact of listArtifacts(db, run.id, { latest: true })) {
    if (artifact.mime === 'image/png' && /^[a-z0-9_-]+$/i.test(artifact.kind)) {
      files.push({ path: `samples/${artifact.kind}.png`, data: blobs.read(artifact.blob_hash) });
    }
  }
  const generatedBy = `VAE Studio ${version}`;
  if (card.formats.tfjs) {
    for (const net of exported.networks) {
      await nextTurn();
      const tfjs = toTfjsLayers(net, generatedBy);
      files.push({ path: `tfjs/${net.name}/model.json`, data: text(tfjs.modelJson) }, { path: `tfjs/${net.name}/${TFJS_WEIGHTS_FILE}`, data: tfjs.weights });
    }
  }
  if (card.formats.onnx) {
    for (const net of exported.networks) {
      await nextTurn();
      files.push({ path: `onnx/${net.name}.onnx`, data: toOnnx(net, version) });
    }
  }
  files.push({ path: EXPORT_FILES.checkpoint, data: checkpointBytes }, { path: EXPORT_FILES.heldout, data: encodePacked(heldout.dataset) });

  const manifest: ExportManifest = {
    format: EXPORT_FORMAT,
    formatVersion: EXPORT_FORMAT_VERSION,
    appVersion: version,
    createdAt: now,
    files: [],
  };
  for (const f of files) manifest.files.push({ path: f.path, bytes: f.data.length, sha256: await sha256HexAsync(f.data) });
  return { entries: [{ path: EXPORT_FILES.manifest, data: text(`${JSON.stringify(manifest, null, 2)}\n`) }, ...files], card, row };
}

/** Where an archive goes: `path` itself, `<path>.vaestudio` without an extension, or `<folder>/<run>.vaestudio`. */
export function archiveTarget(path: string, runName: string): string {
  const target = resolve(path);
  if (existsSync(target) && statSync(target).isDirectory()) {
    const safe = runName.replace(/[^a-zA-Z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
    return join(target, `${safe}${ARCHIVE_EXTENSION}`);
  }
  return extname(target) === '' ? `${target}${ARCHIVE_EXTENSION}` : target;
}

/** Whether `path` is `folder` or inside it. */
const inside = (path: string, folder: string): boolean => {
  const rel = relative(folder, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/** `path` with its folder's symlinks resolved (the file itself may not exist yet). */
function realTarget(path: string): string {
  return join(realpathSync(dirname(path)), basename(path));
}

/** Whether a folder holds a VAE Studio export (its manifest names our format), the only kind of non-empty folder an export replaces. */
function holdsExport(folder: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(folder, EXPORT_FILES.manifest), 'utf8')) as { format?: unknown }).format === EXPORT_FORMAT;
  } catch {
    return false;
  }
}

export interface WriteExportOptions {
  /** Replace an existing archive, or a folder holding a previous export. */
  overwrite: boolean;
  /** The workspace folder: nothing is ever written inside it. */
  home: string;
  pending: PendingFiles;
}

const exists = (target: string, what: string): ApiError =>
  new ApiError(
    'conflict',
    `${target} already exists, so nothing was written. Choose another ${what}, or replace it: confirm in the export dialog, or add --overwrite on the command line.`,
    { field: 'path', path: target, exists: true },
  );

/**
 * Where an export goes and what is there now; throws the error a user sees when it may
 * not go there (called before the export is built, and again before it is written).
 */
export function checkExportTarget(format: ExportFormat, path: string, runName: string, options: WriteExportOptions): { target: string; present: Stats | null } {
  const target = format === 'archive' ? archiveTarget(path, runName) : resolve(path);
  const folder = dirname(target);
  if (!existsSync(folder)) throw new ApiError('not_found', `The folder ${folder} does not exist; create it or choose another place for the export`, { field: 'path' });
  if (inside(realTarget(target), realpathSync(options.home))) {
    throw new ApiError(
      'invalid_input',
      `${target} is inside the VAE Studio workspace (${options.home}), where the app keeps its database and files; an export there could destroy them. Choose a folder outside it.`,
      { field: 'path' },
    );
  }
  let present: Stats | null;
  try {
    present = lstatSync(target);
  } catch {
    present = null;
  }
  if (format === 'archive') {
    if (present) {
      if (present.isDirectory() || !(present.isFile() || present.isSymbolicLink())) throw new ApiError('conflict', `${target} exists and is not a file; choose another name for the archive`, { field: 'path' });
      if (!options.overwrite) throw exists(target, 'file name');
    }
  } else if (present) {
    if (!present.isDirectory()) throw new ApiError('conflict', `${target} is a file; give a folder for a ${format} export`, { field: 'path' });
    if (readdirSync(target).length > 0) {
      if (!options.overwrite) throw exists(target, 'folder (a new or empty one)');
      if (!holdsExport(target)) {
        throw new ApiError('conflict', `The folder ${target} is not empty and holds no VAE Studio export (only a previous export is replaced); choose a new or empty folder`, { field: 'path' });
      }
    }
  }
  return { target, present };
}

/**
 * Write an export: one archive file, or a folder. It goes to a hidden temp name beside
 * the target (recorded in the workspace until it is renamed, so a crash leaves nothing
 * behind after the next start), is fsynced with its folder, and is renamed into place:
 * the target is either the old file or the whole new one. An existing target is replaced
 * only with `overwrite`; a target inside the workspace is refused.
 */
export async function writeExport(entries: ZipEntry[], format: ExportFormat, path: string, runName: string, options: WriteExportOptions): Promise<{ path: string; bytes: number }> {
  const { target, present } = checkExportTarget(format, path, runName, options);
  if (format === 'archive') {
    const zip = await writeZipAsync(entries);
    await publish(target, options.pending, present !== null, (temp) => writeFileDurably(temp, zip));
    return { path: target, bytes: zip.length };
  }

  await publish(target, options.pending, present !== null, async (temp) => {
    for (const entry of entries) {
      const file = join(temp, ...entry.path.split('/'));
      mkdirSync(dirname(file), { recursive: true });
      writeFileDurably(file, entry.data);
      await nextTurn();
    }
  });
  return { path: target, bytes: entries.reduce((n, e) => n + e.data.length, 0) };
}

/**
 * Writes a file or folder at a recorded temp name beside `target` and renames it into
 * place. A file replaces the old one in one rename; a folder cannot, so the old one is
 * first moved aside (recorded: the next start puts it back if the new one never
 * arrived) and deleted once the new one is in place.
 */
async function publish(target: string, pending: PendingFiles, replacing: boolean, write: (temp: string) => void | Promise<void>): Promise<void> {
  const folder = dirname(target);
  const temp = siblingName(target, 'tmp');
  const dropTemp = pending.record(temp, 'temp', target);
  try {
    await write(temp);
    fsyncFolder(folder);
    if (replacing && statSync(target).isDirectory()) {
      const old = siblingName(target, 'old');
      const dropOld = pending.record(old, 'previous', target);
      renameSync(target, old);
      renameSync(temp, target);
      fsyncFolder(folder);
      rmSync(old, { recursive: true, force: true });
      dropOld();
    } else {
      renameSync(temp, target);
      fsyncFolder(folder);
    }
  } catch (error) {
    // Disk full, or the folder went away: the record stays if the temp file cannot be removed now.
    try {
      rmSync(temp, { recursive: true, force: true });
    } catch {
      throw error;
    }
    dropTemp();
    throw error;
  }
  dropTemp();
}
