/**
 * Model-based dataset health (issue #22): a trained run scores every image of its dataset
 * (−ELBO and, where asked, the IWAE bound, in bits/dim), the input-complexity outlier
 * score, a label check, and keeps each image's latent mean for nearest neighbours. The
 * worker computes it (src-worker/health/), the core stores it as one blob per run and
 * serves pages of it (src-main/core/api/run-health.ts).
 *
 * Blob layout: "VSRH", a little-endian u32 header length, the JSON header, then the
 * header's columns in order, each starting at a multiple of 4 bytes.
 */

export const RUN_HEALTH_VERSION = 1;
export const RUN_HEALTH_MAGIC = 'VSRH';
/** Largest JSON header a reader accepts. */
export const MAX_RUN_HEALTH_HEADER = 1 << 20;
/** Reconstructions kept in the report: the worst and best of each score, at most this many images in all. */
export const MAX_RUN_HEALTH_RECONSTRUCTIONS = 600;
/** How many of each end of each ranking get a stored reconstruction. */
export const RECONSTRUCTIONS_PER_END = 50;
/** Folds of the cross-fitted label classifier. */
export const LABEL_FOLDS = 5;
/** Largest page of runs.health, and most neighbours asked at once. */
export const MAX_RUN_HEALTH_PAGE = 200;
export const MAX_NEIGHBOURS = 50;

export type RunHealthScore = 'atypical' | 'complexity' | 'elbo' | 'iwae' | 'label';

/** What each ranking means, in one sentence each (the UI and the CLI say it). */
export const SCORE_MEANING: Record<RunHealthScore, string> = {
  atypical:
    'Atypicality: how far an image’s pair (model bits/dim, compressor bits/dim) lies from the training images’ pairs, in their own spread; too simple (blank, flat, sparse) and too complex (noise, texture) both score high.',
  complexity:
    'Input complexity: the model’s bits/dim minus what a lossless compressor (deflate on PNG-filtered rows) needs for the same image; high means the model explains the image worse than its simplicity predicts, so blank or flat images are not mistaken for typical ones.',
  elbo: 'Plain −ELBO in bits/dim: how many bits the model needs per pixel value; high is unlike the training data, but simple images (flat, sparse) score low even when they are foreign.',
  iwae: 'IWAE bound in bits/dim: a tighter estimate of −log p(x) from several posterior samples; reads like −ELBO.',
  label:
    'Label check: the probability a classifier that never saw the image gives its folder label; low means the image looks like another class.',
};

export type ColumnType = 'f32' | 'i32' | 'u8';
export interface ColumnInfo {
  name: string;
  type: ColumnType;
  length: number;
}

export interface RunHealthHeader {
  version: number;
  runId: number;
  computedAt: string;
  checkpoint: { epoch: number; step: number };
  count: number;
  latent: number;
  shape: { width: number; height: number; channels: number };
  decoder: string;
  /** Importance samples of the IWAE column; 0: not computed. */
  iwaeSamples: number;
  /** Where p(y|x) came from: the run's own classifier (M2), Bayes over a conditional model's bound per class, a cross-fitted classifier on the latent means, or none (unlabelled). */
  labelSource: 'm2' | 'cvae' | 'latent-classifier' | null;
  /** Accuracy of p(y|x)'s argmax against the folder labels (cross-fitted for the latent classifier). */
  labelAccuracy: number | null;
  seconds: number;
  /** Seconds per part of the scoring: the model's bound and means, the IWAE bound, the compressor, the label check, the reconstructions. */
  timings?: Record<string, number>;
  columns: ColumnInfo[];
}

/** Columns, by name: split (u8: 0 train, 1 validation, 2 test), elbo, iwae, compress (bits/dim), means (count × latent), labelProb, predicted (i32), predictedProb, reconIndex (i32), recon (u8 pixels). */
export interface RunHealthReport {
  header: RunHealthHeader;
  split: Uint8Array;
  elbo: Float32Array;
  iwae: Float32Array | null;
  compress: Float32Array;
  means: Float32Array;
  labelProb: Float32Array | null;
  predicted: Int32Array | null;
  predictedProb: Float32Array | null;
  reconIndex: Int32Array;
  recon: Uint8Array;
}

const SPLIT_NAMES = ['train', 'validation', 'test'] as const;
export const splitName = (code: number): 'train' | 'validation' | 'test' => SPLIT_NAMES[code] ?? 'train';

/** The outlier score of image i: input complexity uses the best likelihood estimate there is. */
export function complexityScore(report: Pick<RunHealthReport, 'elbo' | 'iwae' | 'compress'>, i: number): number {
  return modelBits(report, i) - report.compress[i]!;
}

/** The best estimate of −log p(x) there is for image i, in bits/dim. */
export const modelBits = (report: Pick<RunHealthReport, 'elbo' | 'iwae'>, i: number): number => report.iwae?.[i] ?? report.elbo[i]!;

/** Mean and inverse covariance of the training images' (model bits/dim, compressor bits/dim). */
export interface TypicalityStats {
  mean: [number, number];
  inverse: [number, number, number];
}

/**
 * What typical looks like: the training images' pairs (model bits/dim, compressor
 * bits/dim), their mean and covariance, estimated again without the 5 % farthest (so the
 * outliers being looked for do not widen it). Serrà's input complexity is one direction
 * of this plane (model minus compressor); a model weaker than the compressor leaves noise
 * and blank images on the typical side of that line, but far from the training pairs.
 */
export function typicalityStats(report: Pick<RunHealthReport, 'elbo' | 'iwae' | 'compress' | 'split'>): TypicalityStats {
  let rows: number[] = [];
  for (let i = 0; i < report.elbo.length; i++) if (report.split[i] === 0 && Number.isFinite(modelBits(report, i))) rows.push(i);
  if (rows.length < 3) rows = Array.from({ length: report.elbo.length }, (_, i) => i);
  const fit = (use: number[]): TypicalityStats => {
    let mx = 0;
    let my = 0;
    for (const i of use) {
      mx += modelBits(report, i);
      my += report.compress[i]!;
    }
    mx /= Math.max(1, use.length);
    my /= Math.max(1, use.length);
    let sxx = 0;
    let syy = 0;
    let sxy = 0;
    for (const i of use) {
      const dx = modelBits(report, i) - mx;
      const dy = report.compress[i]! - my;
      sxx += dx * dx;
      syy += dy * dy;
      sxy += dx * dy;
    }
    const n = Math.max(1, use.length - 1);
    // A floor on the variances keeps a constant column (every image alike) from dividing by zero.
    const a = sxx / n + 1e-6;
    const c = syy / n + 1e-6;
    const b = sxy / n;
    const det = a * c - b * b;
    return { mean: [mx, my], inverse: [c / det, -b / det, a / det] };
  };
  const first = fit(rows);
  const distance = rows.map((i) => ({ i, d: typicalityDistance(first, modelBits(report, i), report.compress[i]!) })).sort((x, y) => x.d - y.d);
  return fit(distance.slice(0, Math.max(3, Math.ceil(distance.length * 0.95))).map((r) => r.i));
}

/** Mahalanobis distance of a pair from the typical pairs. */
export function typicalityDistance(stats: TypicalityStats, model: number, compressed: number): number {
  const dx = model - stats.mean[0];
  const dy = compressed - stats.mean[1];
  const [p, q, r] = stats.inverse;
  return Math.sqrt(Math.max(0, p * dx * dx + 2 * q * dx * dy + r * dy * dy));
}

const BYTES: Record<ColumnType, number> = { f32: 4, i32: 4, u8: 1 };
const align4 = (n: number): number => (n + 3) & ~3;

export function encodeRunHealth(report: Omit<RunHealthReport, 'header'> & { header: Omit<RunHealthHeader, 'columns'> }): Uint8Array {
  const arrays: [string, ColumnType, Float32Array | Int32Array | Uint8Array | null][] = [
    ['split', 'u8', report.split],
    ['elbo', 'f32', report.elbo],
    ['iwae', 'f32', report.iwae],
    ['compress', 'f32', report.compress],
    ['means', 'f32', report.means],
    ['labelProb', 'f32', report.labelProb],
    ['predicted', 'i32', report.predicted],
    ['predictedProb', 'f32', report.predictedProb],
    ['reconIndex', 'i32', report.reconIndex],
    ['recon', 'u8', report.recon],
  ];
  const present = arrays.filter((a): a is [string, ColumnType, Float32Array | Int32Array | Uint8Array] => a[2] !== null);
  const header: RunHealthHeader = { ...report.header, columns: present.map(([name, type, data]) => ({ name, type, length: data.length })) };
  const json = new TextEncoder().encode(JSON.stringify(header));
  let size = align4(8 + json.length);
  for (const [, type, data] of present) size += align4(data.length * BYTES[type]);
  const out = new Uint8Array(size);
  out.set(new TextEncoder().encode(RUN_HEALTH_MAGIC), 0);
  new DataView(out.buffer).setUint32(4, json.length, true);
  out.set(json, 8);
  let at = align4(8 + json.length);
  for (const [, type, data] of present) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.length * BYTES[type]), at);
    at += align4(data.length * BYTES[type]);
  }
  return out;
}

/**
 * Reads a stored report, refusing (with why) one whose header or columns do not add up:
 * every column must have the length its name implies for the declared count, and lie
 * within the bytes there are. Nothing is allocated beyond what the file holds.
 */
export function decodeRunHealth(bytes: Uint8Array): RunHealthReport {
  const fail = (why: string): never => {
    throw new Error(`not a health report of a run: ${why}`);
  };
  if (bytes.length < 8 || new TextDecoder().decode(bytes.subarray(0, 4)) !== RUN_HEALTH_MAGIC) fail('bad magic');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4, true);
  if (headerLength > MAX_RUN_HEALTH_HEADER || 8 + headerLength > bytes.length) fail(`header of ${headerLength} bytes in a file of ${bytes.length}`);
  let header: RunHealthHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as RunHealthHeader;
  } catch {
    return fail('its header is not JSON');
  }
  if (header.version !== RUN_HEALTH_VERSION) fail(`version ${String(header.version)}, this app reads ${RUN_HEALTH_VERSION}`);
  const { count, latent } = header;
  if (!Number.isInteger(count) || count < 0 || !Number.isInteger(latent) || latent < 1 || !Array.isArray(header.columns)) fail('bad count, latent or columns');
  const D = header.shape.width * header.shape.height * header.shape.channels;
  const recons = header.columns.find((c) => c.name === 'reconIndex')?.length ?? 0;
  const expected: Record<string, [ColumnType, number]> = {
    split: ['u8', count],
    elbo: ['f32', count],
    iwae: ['f32', count],
    compress: ['f32', count],
    means: ['f32', count * latent],
    labelProb: ['f32', count],
    predicted: ['i32', count],
    predictedProb: ['f32', count],
    reconIndex: ['i32', recons],
    recon: ['u8', recons * D],
  };
  const columns = new Map<string, Float32Array | Int32Array | Uint8Array>();
  let at = align4(8 + headerLength);
  for (const column of header.columns) {
    const want = expected[column.name];
    if (!want || want[0] !== column.type || want[1] !== column.length || columns.has(column.name)) fail(`unexpected column ${JSON.stringify(column)}`);
    const length = column.length * BYTES[column.type];
    if (at + length > bytes.length) fail(`column ${column.name} runs past the end of the file`);
    // Copied out (a Node Buffer's slice would share its pool), so each column is aligned whatever the buffer's offset.
    const raw = new Uint8Array(length);
    raw.set(bytes.subarray(at, at + length));
    columns.set(column.name, column.type === 'u8' ? raw : column.type === 'i32' ? new Int32Array(raw.buffer) : new Float32Array(raw.buffer));
    at += align4(length);
  }
  const need = <T>(name: string): T => (columns.get(name) as T | undefined) ?? fail(`column ${name} is missing`);
  return {
    header,
    split: need<Uint8Array>('split'),
    elbo: need<Float32Array>('elbo'),
    iwae: (columns.get('iwae') as Float32Array | undefined) ?? null,
    compress: need<Float32Array>('compress'),
    means: need<Float32Array>('means'),
    labelProb: (columns.get('labelProb') as Float32Array | undefined) ?? null,
    predicted: (columns.get('predicted') as Int32Array | undefined) ?? null,
    predictedProb: (columns.get('predictedProb') as Float32Array | undefined) ?? null,
    reconIndex: (columns.get('reconIndex') as Int32Array | undefined) ?? new Int32Array(0),
    recon: (columns.get('recon') as Uint8Array | undefined) ?? new Uint8Array(0),
  };
}

/** One image of a ranking page. */
export interface RunHealthImage {
  index: number;
  path: string | null;
  split: 'train' | 'validation' | 'test';
  label: string | null;
  /** The ranking's score (bits/dim, or for the label check the probability of the folder label). */
  score: number;
  elbo: number;
  iwae: number | null;
  complexity: number;
  /** Distance of (model bits/dim, compressor bits/dim) from the training images' pairs, in their spread. */
  atypical: number;
  /** Label check: the class the classifier prefers and its probability. */
  predicted?: { label: string; probability: number };
  /** Why it is listed, in words (the CSV's reason). */
  reason: string;
  thumb?: string;
  /** Decoder mean at the latent mean, and the per-pixel absolute error (PNG data URLs), when stored. */
  reconstruction?: string;
  errorMap?: string;
}

export type RunHealthSummary = Omit<RunHealthHeader, 'columns'> & {
  /** Mean bits/dim per split (−ELBO). */
  meanElbo: { train: number | null; validation: number | null; test: number | null };
};

export type RunHealthAnswer =
  | { runId: number; computed: false; computing: boolean }
  | {
      runId: number;
      computed: true;
      computing: boolean;
      summary: RunHealthSummary;
      score: RunHealthScore;
      order: 'worst' | 'best';
      offset: number;
      total: number;
      items: RunHealthImage[];
    };

export type RunHealthEvent =
  | { runId: number; state: 'started' }
  | { runId: number; state: 'progress'; done: number; total: number; phase: 'scoring' | 'labels' | 'reconstructions' }
  | { runId: number; state: 'finished'; seconds: number }
  | { runId: number; state: 'cancelled' }
  | { runId: number; state: 'failed'; error: { code: string; message: string } };
