import { gatherBatch, gatherLabels, type ImageSet } from './images';
import { tileImages, type RasterImage } from './grid';
import type { EngineTrainer } from './engine-trainer';
import type { VaeTrainer } from './trainer';

/** The image grids sent after every epoch (`codebook`: VQ-VAE usage chart, instead of the traversal). */
export type ArtifactKind = 'reconstructions' | 'samples' | 'traversal' | 'codebook';

/** Images shown in the reconstruction grid (top: originals, bottom: reconstructions). */
export const RECONSTRUCTION_COUNT = 8;
/** Images decoded from fixed prior noise: 4 rows of 8, the same z every epoch. */
export const SAMPLE_COUNT = 32;
const GRID_COLUMNS = 8;
/** Traversal: at most this many rows (latent dims), each swept over TRAVERSAL_VALUES. */
export const TRAVERSAL_ROWS = 8;
export const TRAVERSAL_VALUES = [-3, -2.25, -1.5, -0.75, 0, 0.75, 1.5, 2.25, 3] as const;

/** Labels of the given images when the model is conditional, else undefined. */
export function labelsFor(trainer: EngineTrainer, images: ImageSet, indices: ArrayLike<number>): Int32Array | undefined {
  return trainer.classes > 0 ? gatherLabels(images, indices, 0, indices.length) : undefined;
}

/** Sample i of a conditional model shows class i mod C (with the fixed noise of sample i). */
export function cycleClasses(trainer: VaeTrainer, count: number): Int32Array | undefined {
  const classes = trainer.classes;
  return classes > 0 ? Int32Array.from({ length: count }, (_, i) => i % classes) : undefined;
}

/** Originals on the top row, decoder means at z = μ(x) right below (one column per image). */
export async function reconstructionGrid(trainer: EngineTrainer, images: ImageSet, indices: Int32Array): Promise<RasterImage> {
  const n = indices.length;
  const D = trainer.inputSize;
  const originals = gatherBatch(images, indices, 0, n);
  const both = new Float32Array(2 * n * D);
  both.set(originals, 0);
  both.set(await trainer.reconstruct(originals, n, labelsFor(trainer, images, indices)), n * D);
  return tileImages(both, 2 * n, images.shape, n);
}

export async function samplesGrid(trainer: VaeTrainer, images: ImageSet, priorZ: Float32Array): Promise<RasterImage> {
  return tileImages(await trainer.decodeMean(priorZ, SAMPLE_COUNT, cycleClasses(trainer, SAMPLE_COUNT)), SAMPLE_COUNT, images.shape, GRID_COLUMNS);
}

/**
 * Latent traversal around one fixed image: start from its posterior mean μ, and in row r
 * move only dim dims[r] to μ_j + v for each v in TRAVERSAL_VALUES (prior standard
 * deviations). Rows are the given dims in order (the caller passes the most active
 * first), so what a dim controls reads along its row.
 */
export async function traversalGrid(
  trainer: VaeTrainer,
  images: ImageSet,
  imageIndex: number,
  dims: readonly number[],
): Promise<RasterImage> {
  const d = trainer.latent;
  const rows = dims.slice(0, TRAVERSAL_ROWS);
  const columns = TRAVERSAL_VALUES.length;
  const label = labelsFor(trainer, images, [imageIndex]);
  const mu = await trainer.encodeMean(gatherBatch(images, [imageIndex], 0, 1), 1, label);
  const codes = new Float32Array(rows.length * columns * d);
  rows.forEach((dim, r) => {
    TRAVERSAL_VALUES.forEach((v, c) => {
      const offset = (r * columns + c) * d;
      codes.set(mu, offset);
      codes[offset + dim] = (mu[dim] ?? 0) + v;
    });
  });
  const count = rows.length * columns;
  const labels = label === undefined ? undefined : new Int32Array(count).fill(label[0] ?? 0);
  return tileImages(await trainer.decodeMean(codes, count, labels), count, images.shape, columns);
}

const CHART_WIDTH = 512;
const CHART_HEIGHT = 96;

/**
 * VQ-VAE codebook usage as a bar chart: one bar per code (left to right by index), its
 * height the code's share of the evaluated positions relative to the most used code;
 * unused (dead) codes show as a thin dark tick at the bottom.
 */
export function codebookChart(counts: Float64Array): RasterImage {
  const K = counts.length;
  const barWidth = Math.max(1, Math.floor(CHART_WIDTH / K));
  const width = Math.max(K * barWidth, 64);
  const pixels = new Uint8Array(width * CHART_HEIGHT).fill(24);
  const max = Math.max(1e-12, ...counts);
  for (let k = 0; k < K; k++) {
    const used = (counts[k] ?? 0) > 0;
    const height = used ? Math.max(1, Math.round(((counts[k] ?? 0) / max) * (CHART_HEIGHT - 2))) : 1;
    const value = used ? 220 : 80;
    for (let y = CHART_HEIGHT - height; y < CHART_HEIGHT; y++) {
      for (let x = k * barWidth; x < (k + 1) * barWidth - (barWidth > 2 ? 1 : 0); x++) pixels[y * width + x] = value;
    }
  }
  return { width, height: CHART_HEIGHT, channels: 1, pixels };
}
