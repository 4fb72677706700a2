import sharp from 'sharp';
import type { ParsedInput } from '@shared/api';
import { decodePacked, imageBytes, type PackedDataset } from '@shared/dataset-format';
import { ApiError } from '@shared/errors';
import { familyOf } from '@shared/families';
import {
  complexityScore,
  decodeRunHealth,
  modelBits,
  splitName,
  typicalityDistance,
  typicalityStats,
  type RunHealthImage,
  type RunHealthReport,
  type RunHealthScore,
  type RunHealthSummary,
  type TypicalityStats,
} from '@shared/run-health';
import type { Dataset, Run } from '@shared/types';
import { toCsv } from '../datasets/csv';
import type { IndexEntry } from '../datasets/import-folder';
import { getCheckpoint, toCheckpointInfo } from '../store/checkpoints';
import { datasetIndexHash, getDataset } from '../store/datasets';
import { getRunHealth } from '../store/run-health';
import { requireRun, type Context, type HandlerMap } from './context';
import { readableConfig } from '../store/runs';

type RunHealthRequests = 'runs.scoreHealth' | 'runs.cancelHealth' | 'runs.health' | 'runs.healthNeighbours' | 'runs.healthCsv';

/** Datasets of up to this many images get the IWAE column by default (8 samples cost about 8× the ELBO's time). */
const DEFAULT_IWAE_UP_TO = 5_000;
const DEFAULT_IWAE_SAMPLES = 8;

async function pngDataUrl(pixels: Uint8Array, width: number, height: number, channels: number): Promise<string> {
  const png = await sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.length), { raw: { width, height, channels: channels as 1 | 3 } })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

/** Per-pixel absolute error, averaged over channels and stretched so the largest error is white. */
function errorMap(original: Uint8Array, reconstruction: Uint8Array, channels: number): Uint8Array {
  const pixels = original.length / channels;
  const out = new Uint8Array(pixels);
  let max = 1;
  for (let p = 0; p < pixels; p++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += Math.abs(original[p * channels + c]! - reconstruction[p * channels + c]!);
    out[p] = Math.round(sum / channels);
    max = Math.max(max, out[p]!);
  }
  // Stretched to at least a quarter of the range, so a small error stays dark.
  const scale = 255 / Math.max(64, max);
  for (let p = 0; p < pixels; p++) out[p] = Math.round(out[p]! * scale);
  return out;
}

interface Loaded {
  hash: string;
  report: RunHealthReport;
  typical: TypicalityStats;
  orders: Map<RunHealthScore, Int32Array>;
}

/** Ranking key of image i for a score: larger is worse. NaN: not in this ranking. */
function keyOf({ report, typical }: Pick<Loaded, 'report' | 'typical'>, score: RunHealthScore, i: number): number {
  switch (score) {
    case 'atypical':
      return typicalityDistance(typical, modelBits(report, i), report.compress[i]!);
    case 'complexity':
      return complexityScore(report, i);
    case 'elbo':
      return report.elbo[i]!;
    case 'iwae':
      return report.iwae ? report.iwae[i]! : NaN;
    case 'label':
      return report.labelProb ? -report.labelProb[i]! : NaN;
  }
}

export function runHealthHandlers(ctx: Context): HandlerMap<RunHealthRequests> {
  const { db, blobs } = ctx.workspace;
  // The last report read and its rankings (a page at a time reads the same one again and again).
  let cached: Loaded | null = null;
  let packCache: { hash: string; pack: PackedDataset } | null = null;
  let indexCache: { hash: string; index: IndexEntry[] } | null = null;

  const datasetOf = (run: Run): Dataset => {
    const dataset = getDataset(db, run.datasetId);
    if (!dataset) throw new ApiError('not_found', `Dataset ${run.datasetId} of run ${run.id} no longer exists`, { field: 'runId' });
    return dataset;
  };
  const reportOf = (run: Run): Loaded | null => {
    const row = getRunHealth(db, run.id);
    if (!row) return null;
    if (cached?.hash === row.hash) return cached;
    try {
      const report = decodeRunHealth(blobs.read(row.hash));
      cached = { hash: row.hash, report, typical: typicalityStats(report), orders: new Map() };
    } catch (error) {
      throw new ApiError('io_error', `The health scores of run ${run.id} cannot be read (${error instanceof Error ? error.message : String(error)}). Score the dataset again.`, {
        field: 'runId',
      });
    }
    return cached;
  };
  const packOf = (dataset: Dataset): PackedDataset => {
    if (packCache?.hash !== dataset.contentHash) packCache = { hash: dataset.contentHash, pack: decodePacked(blobs.read(dataset.contentHash)) };
    return packCache.pack;
  };
  const indexOf = (dataset: Dataset): IndexEntry[] | null => {
    const hash = datasetIndexHash(db, dataset.id);
    if (hash === null || !blobs.has(hash)) return null;
    if (indexCache?.hash !== hash) indexCache = { hash, index: JSON.parse(blobs.read(hash).toString('utf8')) as IndexEntry[] };
    return indexCache.index;
  };
  const requireReport = (run: Run) => {
    const found = reportOf(run);
    if (!found) throw new ApiError('not_found', `Run ${run.id} has not scored its dataset yet: run runs.scoreHealth (the Health page's "Score with this run").`, { field: 'runId' });
    const pack = packOf(datasetOf(run));
    if (pack.header.count !== found.report.header.count) {
      throw new ApiError('conflict', `The health scores of run ${run.id} cover ${found.report.header.count} images but its dataset has ${pack.header.count}. Score the dataset again.`, {
        field: 'runId',
      });
    }
    return found;
  };
  const orderOf = (found: Loaded, score: RunHealthScore): Int32Array => {
    let order = found.orders.get(score);
    if (!order) {
      const { report } = found;
      const keys = Float64Array.from({ length: report.header.count }, (_, i) => keyOf(found, score, i));
      order = Int32Array.from(Array.from({ length: report.header.count }, (_, i) => i).filter((i) => !Number.isNaN(keys[i]!)).sort((a, b) => keys[b]! - keys[a]! || a - b));
      found.orders.set(score, order);
    }
    return order;
  };

  const describe = async (run: Run, found: Loaded, score: RunHealthScore, i: number, images: boolean): Promise<RunHealthImage> => {
    const { report } = found;
    const dataset = datasetOf(run);
    const pack = packOf(dataset);
    const index = indexOf(dataset);
    const labelName = (c: number | undefined): string | null => (c === undefined || c < 0 ? null : (pack.header.labels[c] ?? null));
    const label = labelName(pack.labels[i]);
    const complexity = complexityScore(report, i);
    const atypical = keyOf(found, 'atypical', i);
    const iwae = report.iwae ? report.iwae[i]! : null;
    const predicted =
      report.predicted && report.predictedProb ? { label: labelName(report.predicted[i]) ?? String(report.predicted[i]), probability: report.predictedProb[i]! } : undefined;
    const bits = (v: number): string => v.toFixed(3);
    const reason =
      score === 'label'
        ? `folder label "${label ?? ''}" has p ${report.labelProb![i]!.toFixed(3)}; the ${report.header.labelSource === 'latent-classifier' ? 'cross-fitted classifier' : 'model'} says "${predicted?.label ?? '?'}" (p ${predicted?.probability.toFixed(3) ?? '?'})`
        : score === 'atypical'
          ? `atypicality ${atypical.toFixed(2)}: the model needs ${bits(modelBits(report, i))} bits/dim and a lossless compressor ${bits(report.compress[i]!)}, where training images need ${bits(found.typical.mean[0])} and ${bits(found.typical.mean[1])}`
          : score === 'complexity'
          ? `input complexity ${bits(complexity)} bits/dim: the model needs ${bits(iwae ?? report.elbo[i]!)}, a lossless compressor ${bits(report.compress[i]!)}`
          : score === 'iwae'
            ? `IWAE bound ${bits(iwae!)} bits/dim (k = ${report.header.iwaeSamples})`
            : `−ELBO ${bits(report.elbo[i]!)} bits/dim`;
    const item: RunHealthImage = {
      index: i,
      path: index?.[i]?.path ?? null,
      split: splitName(report.split[i]!),
      label,
      score: score === 'label' ? report.labelProb![i]! : keyOf(found, score, i),
      elbo: report.elbo[i]!,
      iwae,
      complexity,
      atypical,
      ...(predicted ? { predicted } : {}),
      reason,
    };
    if (images) {
      const { width, height, channels } = pack.header;
      const per = imageBytes(pack.header);
      const original = pack.pixels.subarray(i * per, (i + 1) * per);
      item.thumb = await pngDataUrl(original, width, height, channels);
      const at = binarySearch(report.reconIndex, i);
      if (at >= 0) {
        const recon = report.recon.subarray(at * per, (at + 1) * per);
        item.reconstruction = await pngDataUrl(recon, width, height, channels);
        item.errorMap = await pngDataUrl(errorMap(original, recon, channels), width, height, 1);
      }
    }
    return item;
  };

  const summaryOf = (report: RunHealthReport): RunHealthSummary => {
    const { columns: _columns, ...header } = report.header;
    const sums = [0, 0, 0];
    const counts = [0, 0, 0];
    for (let i = 0; i < report.header.count; i++) {
      const s = report.split[i]!;
      sums[s]! += report.elbo[i]!;
      counts[s]!++;
    }
    const mean = (s: number): number | null => (counts[s] ? sums[s]! / counts[s]! : null);
    return { ...header, meanElbo: { train: mean(0), validation: mean(1), test: mean(2) } };
  };

  return {
    'runs.scoreHealth': async ({ runId, iwaeSamples, checkpoint: kind }) => {
      const run = requireRun(ctx, runId);
      const dataset = datasetOf(run);
      if (familyOf(readableConfig(run)).engine !== 'gaussian') {
        throw new ApiError('invalid_input', `Run ${runId} is a ${run.config.family}: scoring a dataset needs a model with a Gaussian latent (VAE, conditional VAE, M2 or a flow posterior).`, {
          field: 'runId',
        });
      }
      const row = getCheckpoint(db, runId, kind) ?? getCheckpoint(db, runId, 'last');
      if (!row) throw new ApiError('not_found', `Run ${runId} has no saved model yet (checkpoints are written after each epoch)`, { field: 'runId' });
      const k = iwaeSamples ?? (dataset.count <= DEFAULT_IWAE_UP_TO ? DEFAULT_IWAE_SAMPLES : 0);
      ctx.runs.scoreHealth(run, { path: blobs.pathOf(row.blob_hash), sha256: row.blob_hash, epoch: row.epoch, step: row.step }, k);
      return { runId, iwaeSamples: k, checkpoint: toCheckpointInfo(row) };
    },
    'runs.cancelHealth': async ({ runId }) => {
      requireRun(ctx, runId);
      return { cancelled: ctx.runs.cancelHealth(runId) };
    },
    'runs.health': async (input: ParsedInput<'runs.health'>) => {
      const run = requireRun(ctx, input.runId);
      const computing = ctx.runs.healthScoring(run.id) !== null;
      if (!getRunHealth(db, run.id)) return { runId: run.id, computed: false, computing };
      const found = requireReport(run);
      const { report } = found;
      if (input.score === 'iwae' && !report.iwae) {
        throw new ApiError('invalid_input', `Run ${run.id}'s scores have no IWAE bound (scored with 0 importance samples); score again with iwaeSamples > 0, or rank by elbo.`, { field: 'score' });
      }
      if (input.score === 'label' && !report.labelProb) {
        throw new ApiError('invalid_input', `Run ${run.id}'s dataset has no folder labels to check (or the label check was left out).`, { field: 'score' });
      }
      const pack = packOf(datasetOf(run));
      const labelIndex = input.label === undefined ? undefined : pack.header.labels.indexOf(input.label);
      if (labelIndex === -1) {
        throw new ApiError('invalid_input', `The dataset of run ${run.id} has no label "${input.label}" (its labels: ${pack.header.labels.slice(0, 20).join(', ') || 'none'}).`, {
          field: 'label',
        });
      }
      let order = orderOf(found, input.score);
      if (input.split !== undefined || labelIndex !== undefined) {
        const code = input.split === undefined ? -1 : ['train', 'validation', 'test'].indexOf(input.split);
        order = order.filter((i) => (code < 0 || report.split[i] === code) && (labelIndex === undefined || pack.labels[i] === labelIndex));
      }
      const total = order.length;
      const picked: number[] = [];
      for (let r = input.offset; r < Math.min(total, input.offset + input.limit); r++) picked.push(order[input.order === 'worst' ? r : total - 1 - r]!);
      const items: RunHealthImage[] = [];
      for (const i of picked) items.push(await describe(run, found, input.score, i, input.thumbnails));
      return { runId: run.id, computed: true, computing, summary: summaryOf(report), score: input.score, order: input.order, offset: input.offset, total, items };
    },
    'runs.healthNeighbours': async ({ runId, index, k, thumbnails }) => {
      const run = requireRun(ctx, runId);
      const found = requireReport(run);
      const { report } = found;
      const { count, latent } = report.header;
      if (index >= count) throw new ApiError('invalid_input', `Image ${index} is not in run ${runId}'s dataset (it has ${count} images, 0 to ${count - 1}).`, { field: 'index' });
      const query = report.means.subarray(index * latent, (index + 1) * latent);
      // The k smallest distances, kept sorted (k ≤ MAX_NEIGHBOURS).
      const best: { i: number; d: number }[] = [];
      for (let i = 0; i < count; i++) {
        if (i === index) continue;
        let d = 0;
        for (let j = 0; j < latent; j++) d += (report.means[i * latent + j]! - query[j]!) ** 2;
        if (best.length < k || d < best[best.length - 1]!.d) {
          best.push({ i, d });
          best.sort((a, b) => a.d - b.d);
          if (best.length > k) best.pop();
        }
      }
      const neighbours = [];
      for (const { i, d } of best) neighbours.push({ ...(await describe(run, found, 'elbo', i, thumbnails)), distance: Math.sqrt(d) });
      return { runId, index, neighbours };
    },
    'runs.healthCsv': async ({ runId, score }) => {
      const run = requireRun(ctx, runId);
      const found = requireReport(run);
      if (score === 'iwae' && !found.report.iwae) throw new ApiError('invalid_input', `Run ${runId}'s scores have no IWAE bound; export elbo or complexity.`, { field: 'score' });
      if (score === 'label' && !found.report.labelProb) throw new ApiError('invalid_input', `Run ${runId}'s dataset has no folder labels to check.`, { field: 'score' });
      const rows: string[][] = [];
      for (const i of orderOf(found, score)) {
        const item = await describe(run, found, score, i, false);
        rows.push([item.path ?? `#${i}`, item.split, item.label ?? '', item.score.toFixed(4), item.reason]);
      }
      const dataset = datasetOf(run);
      return { filename: `${dataset.name.replace(/[^\w.-]+/g, '_')}-run${runId}-${score}.csv`, csv: toCsv(['path', 'split', 'label', 'score', 'reason'], rows) };
    },
  };
}

function binarySearch(sorted: Int32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] === value) return mid;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
