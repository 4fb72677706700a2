import { ApiError } from '@shared/errors';
import type { InferRequestOf, InferResults } from '@shared/inference';
import { createRng } from '../engine/random';
import { encodePngBase64 } from '../io/png';
import { gatherBatch } from '../train/images';
import type { ImageShape } from '../model/vae';
import { tileImages, type RasterImage } from '../train/grid';
import type { InferContext } from './ops';
import { lerp, pca2, slerp, symmetricSteps } from './latent-math';
import { encodeMeans, spreadBatches, type LatentThreads, type ModelSession, type SessionBase } from './session';
import type { VaeTrainer } from '../train/trainer';
import { activationsPerImage, type ModelSizeSpec } from '@shared/model-size';
import { threadsForWork } from '../threads/work';

/** Explore's questions to a model: each decodes in this process and answers PNG data URLs. */

export const dataUrl = (image: RasterImage): string => `data:image/png;base64,${encodePngBase64(image)}`;

/** The most codes one decoder call takes. */
const DECODE_BATCH = 256;

/**
 * The least work (activations of one image's passes, activationsPerImage × codes) a
 * thread's share of a decoding must hold for splitting to pay (threads/work.ts). Measured
 * on 2 cores at load 26.5–27.3 (`npm run bench -- --inference-only`, docs/PERFORMANCE.md):
 * shares of 77 k (MLP 28×28, 64 samples) and 292 k (MLP, 15² manifold) ran 0.71× and
 * 0.97× the one-thread speed, 167 k (conv 28×28, 16 samples) 1.11×; from 670 k (conv
 * 28×28, 64 samples) up 1.3–1.6× (conv 64×64×3, 16 samples: 1.29×; 15² manifold: 1.63×).
 */
export const MIN_DECODE_WORK_PER_THREAD = 300_000;

/**
 * How many of the session's threads decoding `count` codes is worth (at most one per
 * code, each share MIN_DECODE_WORK_PER_THREAD or more): 1 stays on this thread.
 */
export function decodeThreadsFor(threads: { readonly count: number } | null, spec: ModelSizeSpec, count: number): number {
  return threads === null ? 1 : threadsForWork(threads.count, count, activationsPerImage(spec), MIN_DECODE_WORK_PER_THREAD);
}

/**
 * Decode many codes without one giant batch: results in order, yielding between batches.
 * A conditional model decodes row i with labels[i] (see ModelSessionInfo.family). Where
 * the work pays for it (decodeThreadsFor) the codes are cut into one batch per thread and
 * spread over the session's threads like the latent map's (spreadBatches): each code is
 * decoded alone in its row, so any cut gives the one-thread numbers bit for bit.
 */
export async function decodeAll(
  session: ModelSession,
  codes: Float32Array,
  count: number,
  ctx: InferContext,
  labels?: Int32Array,
): Promise<Float32Array> {
  const threads = session.threads();
  const parts = decodeThreadsFor(threads, session.trainer.model.spec, count);
  return decodeRows(session.trainer, codes, count, ctx, labels, parts > 1 ? threads : null, parts);
}

/** decodeAll's work on `parts` of the given threads (null or 1 part: this thread, batches of DECODE_BATCH). */
export async function decodeRows(
  trainer: VaeTrainer,
  codes: Float32Array,
  count: number,
  ctx: Pick<InferContext, 'shouldStop' | 'yieldToEventLoop'>,
  labels: Int32Array | undefined,
  threads: LatentThreads | null,
  parts: number,
): Promise<Float32Array> {
  const d = trainer.latent;
  const D = trainer.model.inputSize;
  const out = new Float32Array(count * D);
  // The first `parts` of the threads, batch i on thread i mod parts.
  const used = Math.min(parts, threads?.count ?? 1);
  const split = threads && used > 1 ? threads : null;
  const size = split ? Math.min(DECODE_BATCH, Math.ceil(count / used)) : DECODE_BATCH;
  await spreadBatches(
    count,
    size,
    split && { count: used },
    async (from, to, batch) => {
      if (ctx.shouldStop()) throw new ApiError('cancelled', 'The request was cancelled');
      const rows = codes.subarray(from * d, to * d);
      const rowLabels = labels?.subarray(from, to);
      out.set(await (split ? split.decodeMean(batch % used, rows, to - from, rowLabels) : trainer.decodeMean(rows, to - from, rowLabels)), from * D);
    },
    () => ctx.yieldToEventLoop(),
  );
  return out;
}

export async function meanOf(session: ModelSession, index: number, field: string): Promise<Float32Array> {
  session.checkIndex(index, field);
  return session.trainer.encodeMean(gatherBatch(session.images, [index], 0, 1), 1, session.labelsFor([index]));
}

/**
 * Labels for `count` decodes of a conditional model: all `label` (an image's own, or
 * 0 where there is no image), or undefined for an unconditional model.
 */
function sameLabel(session: ModelSession, count: number, image: number | null): Int32Array | undefined {
  if (session.trainer.classes === 0) return undefined;
  return new Int32Array(count).fill(image === null ? 0 : (session.labelsFor([image])?.[0] ?? 0));
}

export async function images(session: SessionBase, request: InferRequestOf<'images'>): Promise<InferResults['images']> {
  const inSplit = session.indicesOf(request.split);
  let chosen: number[];
  if (request.indices !== undefined) {
    request.indices.forEach((i) => session.checkIndex(i, 'indices'));
    chosen = request.indices;
  } else {
    chosen = Array.from(inSplit.subarray(request.offset, request.offset + request.count));
  }
  const shape = session.images.shape;
  return {
    split: request.split,
    total: inSplit.length,
    images: chosen.map((index) => ({
      index,
      label: session.images.labels[index] ?? 0,
      dataUrl: dataUrl(tileWithoutGap(gatherBatch(session.images, [index], 0, 1), shape)),
    })),
  };
}

/** One image as a raster, no frame. */
export function tileWithoutGap(values: Float32Array, shape: { width: number; height: number; channels: 1 | 3 }): RasterImage {
  const pixels = Uint8Array.from(values, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
  return { width: shape.width, height: shape.height, channels: shape.channels, pixels };
}

export async function traverse(session: ModelSession, request: InferRequestOf<'traverse'>, ctx: InferContext): Promise<InferResults['traverse']> {
  const d = session.trainer.latent;
  const dims = request.dims ?? session.info.dimsByKl.slice(0, request.count);
  const outside = dims.find((dim) => dim >= d);
  if (outside !== undefined) throw new ApiError('invalid_input', `dims: dimension ${outside} does not exist (the latent has ${d})`, { field: 'dims' });
  const base = request.base === null ? new Float32Array(d) : await meanOf(session, request.base, 'base');
  const values = symmetricSteps(request.range, request.steps);
  const codes = new Float32Array(dims.length * values.length * d);
  dims.forEach((dim, r) => {
    values.forEach((v, c) => {
      const offset = (r * values.length + c) * d;
      codes.set(base, offset);
      codes[offset + dim] = base[dim]! + v;
    });
  });
  const count = dims.length * values.length;
  const decoded = await decodeAll(session, codes, count, ctx, sameLabel(session, count, request.base));
  return {
    base: request.base,
    dims,
    kl: dims.map((dim) => session.info.klPerDim[dim] ?? 0),
    values,
    gridDataUrl: dataUrl(tileImages(decoded, count, session.images.shape, values.length)),
  };
}

/** Half-width of the decoded plane for 2-D latents, in prior standard deviations. */
export const MANIFOLD_EXTENT = 2.5;

export async function latentMap(session: ModelSession, request: InferRequestOf<'latentMap'>, ctx: InferContext): Promise<InferResults['latentMap']> {
  const { split } = session;
  const pool = split.test.length > 0 ? split.test : split.validation.length > 0 ? split.validation : split.train;
  const chosen = pool.subarray(0, request.max);
  const n = chosen.length;
  const d = session.trainer.latent;
  const means = await encodeMeans(session.trainer, session.images, chosen, session.threads());
  await ctx.yieldToEventLoop();
  let coords: Float32Array;
  let explained: [number, number] | null = null;
  if (d <= 2) {
    coords = new Float32Array(n * 2);
    for (let r = 0; r < n; r++) {
      coords[r * 2] = means[r * d]!;
      coords[r * 2 + 1] = d === 2 ? means[r * d + 1]! : 0;
    }
  } else {
    ({ coords, explained } = pca2(means, n, d));
  }
  let manifold: InferResults['latentMap']['manifold'] = null;
  if (d === 2) {
    const steps = request.manifoldSteps;
    const codes = manifoldCodes(steps);
    const decoded = await decodeAll(session, codes, steps * steps, ctx, sameLabel(session, steps * steps, null));
    manifold = { gridDataUrl: dataUrl(tileImages(decoded, steps * steps, session.images.shape, steps)), steps, extent: MANIFOLD_EXTENT };
  }
  // M2: what its classifier makes of each point, beside the true label.
  const predicted = session.trainer.classifier ? await predictAll(session, chosen, ctx) : null;
  return {
    projection: d <= 2 ? 'latent' : 'pca',
    explained,
    points: Array.from(chosen, (index, r) => ({
      index,
      label: session.images.labels[index] ?? 0,
      ...(predicted ? { predicted: predicted[r]! } : {}),
      x: coords[r * 2]!,
      y: coords[r * 2 + 1]!,
    })),
    manifold,
  };
}

/** The 2-D manifold's codes, [steps², 2]: a steps × steps grid over ±MANIFOLD_EXTENT, row 0 the top (largest y first, as on the scatter plot). */
export function manifoldCodes(steps: number): Float32Array {
  const axis = symmetricSteps(MANIFOLD_EXTENT, steps);
  const codes = new Float32Array(steps * steps * 2);
  for (let row = 0; row < steps; row++) {
    for (let col = 0; col < steps; col++) {
      codes[(row * steps + col) * 2] = axis[col]!;
      codes[(row * steps + col) * 2 + 1] = axis[steps - 1 - row]!;
    }
  }
  return codes;
}

/** argmax q(y|x) of an M2 model for the given images, in order. */
async function predictAll(session: ModelSession, indices: Int32Array, ctx: InferContext): Promise<Int32Array> {
  const out = new Int32Array(indices.length);
  for (let from = 0; from < indices.length; from += 256) {
    const to = Math.min(indices.length, from + 256);
    out.set((await session.trainer.classify(gatherBatch(session.images, indices, from, to), to - from)).labels, from);
    await ctx.yieldToEventLoop();
  }
  return out;
}

export async function interpolate(session: ModelSession, request: InferRequestOf<'interpolate'>, ctx: InferContext): Promise<InferResults['interpolate']> {
  const a = await meanOf(session, request.from, 'from');
  const b = await meanOf(session, request.to, 'to');
  const d = session.trainer.latent;
  const path = request.mode === 'spherical' ? slerp : lerp;
  const codes = new Float32Array(request.steps * d);
  for (let i = 0; i < request.steps; i++) codes.set(path(a, b, i / (request.steps - 1)), i * d);
  const decoded = await decodeAll(session, codes, request.steps, ctx, sameLabel(session, request.steps, request.from));
  return {
    from: request.from,
    to: request.to,
    mode: request.mode,
    steps: request.steps,
    stripDataUrl: dataUrl(tileImages(decoded, request.steps, session.images.shape, request.steps)),
  };
}

/** RNG stream for Explore's samples, apart from training's streams. */
export const SAMPLES_STREAM = 0x5a4e;

export async function samples(session: ModelSession, request: InferRequestOf<'samples'>, ctx: InferContext): Promise<InferResults['samples']> {
  const d = session.trainer.latent;
  const codes = createRng(request.seed, SAMPLES_STREAM).normals(request.count * d, request.temperature);
  const classes = session.trainer.classes;
  const labels = classes > 0 ? Int32Array.from({ length: request.count }, (_, i) => i % classes) : undefined;
  return samplesGrid(request, await decodeAll(session, codes, request.count, ctx, labels), session.images.shape);
}

/** The samples answer: the decoded images as one grid of at most 12 columns, with the request's settings. */
export function samplesGrid(request: InferRequestOf<'samples'>, decoded: Float32Array, shape: ImageShape): InferResults['samples'] {
  const cols = Math.min(12, Math.ceil(Math.sqrt(request.count)));
  return {
    temperature: request.temperature,
    seed: request.seed,
    count: request.count,
    cols,
    gridDataUrl: dataUrl(tileImages(decoded, request.count, shape, cols)),
  };
}
