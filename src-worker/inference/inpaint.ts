import { ApiError } from '@shared/errors';
import { imputeMethods, type ImputeFrame, type InferPartials, type InferRequestOf, type InferResults } from '@shared/inference';
import { base64ToBytes, decodeMask } from '@shared/pixel-mask';
import { createRng } from '../engine/random';
import { evaluateImputation, expandMask, pixelMeans } from '../impute/evaluate';
import { chainThreadsFor } from '../impute/chain';
import { createImputer, type ImputeSnapshot } from '../impute/imputer';
import { argMaxRows } from '../impute/labels';
import { encodePngBase64 } from '../io/png';
import type { ImageShape } from '../model/vae';
import { gatherBatch, pixelsPerImage } from '../train/images';
import type { InferContext } from './ops';
import type { ModelSession } from './session';

/** Inpaint's questions to a model: impute one image (streaming frames), or score every method on held-out images. */

/** RNG stream of imputations, apart from training's and Explore's. */
const IMPUTE_STREAM = 0x1a9c;
/** A new frame at most this often (the last one always goes out). */
const FRAME_INTERVAL_MS = 50;

/** Per-pixel means of a session's training images: the start fill and the evaluation's floor. */
const meansBySession = new WeakMap<ModelSession, Float32Array>();
export function trainingMeans(session: ModelSession): Float32Array {
  let means = meansBySession.get(session);
  if (!means) {
    // An imported model's dataset may hold only held-out images: then those.
    const pool = (['train', 'validation', 'test'] as const).map((split) => session.indicesOf(split)).find((indices) => indices.length > 0);
    means = pixelMeans(session.images, pool ?? []);
    meansBySession.set(session, means);
  }
  return means;
}

/*
 * Flow posteriors need nothing special: the engine proposes from the base Gaussian
 * q0(z|x) and weighs by that density, which is exact for any proposal (a flow would only
 * make proposals better). VQ-VAEs are refused in ops.ts.
 */

/**
 * The label an imputation conditions on: the request's, checked against the model; for
 * M2 without one, −1 (the engine infers it with the classifier). A cVAE needs one: its
 * decoder draws whichever class it is told, so guessing would fill in another class's
 * strokes without saying so.
 */
export function imputeLabel(session: ModelSession, label: number | undefined): number | undefined {
  const { classes, classifier } = session.trainer;
  const run = session.config.family;
  if (classes === 0) {
    if (label === undefined) return undefined;
    throw new ApiError('invalid_input', `label: this run's model (family '${run}') takes no class label; leave it out`, { field: 'label' });
  }
  if (label === undefined) {
    if (classifier) return -1;
    throw new ApiError('invalid_input', "label: a conditional VAE imputes given the image's class; choose the class (label) to fill the pixels in with", {
      field: 'label',
    });
  }
  if (label >= classes) throw new ApiError('invalid_input', `label: class ${label} does not exist (the model has ${classes}, 0–${classes - 1})`, { field: 'label' });
  return label;
}

/** The image's values in [0, 1] (HWC) and its missing entries, checked against the model's size. */
export function imputeInputs(session: ModelSession, request: Pick<InferRequestOf<'impute'>, 'image' | 'mask'>): { x: Float32Array; missing: Uint8Array } {
  const { width, height, channels } = session.images.shape;
  const D = pixelsPerImage(session.images.shape);
  let x: Float32Array;
  if ('index' in request.image) {
    session.checkIndex(request.image.index, 'image.index');
    x = gatherBatch(session.images, [request.image.index], 0, 1);
  } else {
    const bytes = base64ToBytes(request.image.pixels);
    if (bytes === null || bytes.length !== D) {
      const got = bytes === null ? 'is not base64' : `has ${bytes.length} bytes`;
      throw new ApiError('invalid_input', `image.pixels ${got}; the model takes ${width}×${height}×${channels} = ${D} bytes (use inpaint.prepareImage)`, {
        field: 'image.pixels',
      });
    }
    x = Float32Array.from(bytes, (v) => v / 255);
  }
  const mask = decodeMask(request.mask, width * height, width, height);
  if (!mask.ok) throw new ApiError('invalid_input', mask.message, { field: 'mask' });
  return { x, missing: expandMask(mask.missing, channels) };
}

const toBytes = (values: Float32Array, from: number, count: number): Uint8Array => {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.round(Math.min(1, Math.max(0, values[from + i]!)) * 255);
  return out;
};

/** Dark blue → purple → orange → pale yellow, for the uncertainty map. */
const RAMP: [number, number, number][] = [
  [12, 7, 45],
  [90, 20, 110],
  [190, 55, 82],
  [245, 140, 35],
  [252, 240, 160],
];

function heat(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const a = RAMP[i]!;
  const b = RAMP[i + 1]!;
  return [0, 1, 2].map((c) => Math.round(a[c]! + (b[c]! - a[c]!) * f)) as [number, number, number];
}

/** The standard deviation per pixel (channel mean), colour-mapped over [0, max]. */
export function uncertaintyPicture(std: Float32Array, width: number, height: number, channels: number): { pixels: Uint8Array; max: number } {
  const perPixel = new Float32Array(width * height);
  let max = 0;
  for (let p = 0; p < perPixel.length; p++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += std[p * channels + c]!;
    perPixel[p] = s / channels;
    max = Math.max(max, perPixel[p]!);
  }
  const pixels = new Uint8Array(width * height * 3);
  perPixel.forEach((v, p) => pixels.set(heat(max > 0 ? v / max : 0), p * 3));
  return { pixels, max };
}

/** The pictures of a snapshot: PNG data URLs of the mean, the K imputations and the uncertainty map. */
export function frameOf(
  shape: ImageShape,
  request: Pick<InferRequestOf<'impute'>, 'method' | 'iterations'> & { label?: number | undefined },
  snapshot: ImputeSnapshot,
  missingFraction: number,
  done: boolean,
  refinementMs: number,
  seconds: number,
): ImputeFrame {
  const { width, height, channels } = shape;
  const D = width * height * channels;
  const url = (pixels: Uint8Array, c: 1 | 3): string => `data:image/png;base64,${encodePngBase64({ width, height, channels: c, pixels })}`;
  const K = snapshot.samples.length / D;
  const heatMap = uncertaintyPicture(snapshot.std, width, height, channels);
  const probabilities = snapshot.classProbabilities;
  const classes = probabilities ? probabilities.length / (snapshot.mean.length / D) : 0;
  return {
    method: request.method,
    iteration: snapshot.iteration,
    iterations: request.iterations,
    done,
    width,
    height,
    channels,
    meanDataUrl: url(toBytes(snapshot.mean, 0, D), channels),
    sampleDataUrls: Array.from({ length: K }, (_, k) => url(toBytes(snapshot.samples, k * D, D), channels)),
    uncertaintyDataUrl: url(heatMap.pixels, 3),
    maxStd: heatMap.max,
    missingFraction,
    diagnostic: snapshot.diagnostic && Number.isFinite(snapshot.diagnostic.value) ? snapshot.diagnostic : null,
    label: probabilities ? (argMaxRows(probabilities, classes)[0] ?? null) : (request.label ?? null),
    classProbabilities: probabilities ? Array.from(probabilities.subarray(0, classes)) : null,
    refinementMs,
    seconds,
  };
}

export async function impute(session: ModelSession, request: InferRequestOf<'impute'>, ctx: InferContext): Promise<InferResults['impute']> {
  const { x, missing } = imputeInputs(session, request);
  const label = imputeLabel(session, request.label);
  const missingFraction = missing.reduce((s, v) => s + v, 0) / missing.length;
  const { trainer } = session;
  const imputer = createImputer(
    {
      model: trainer.model,
      decoder: trainer.decoder,
      x,
      n: 1,
      missing,
      init: trainingMeans(session),
      ...(label === undefined ? {} : { labels: [label] }),
      classifier: trainer.classifier,
    },
    {
      method: request.method,
      samples: request.samples,
      proposals: request.proposals,
      iterations: request.iterations,
      rng: createRng(request.seed, IMPUTE_STREAM),
      // The chains split over the session's threads where an iteration is work enough: the same imputation on any count.
      threads: chainThreadsFor(session.threads(), trainer.model.spec, 1, request.samples),
    },
  );
  const start = performance.now();
  const elapsed = (): number => (performance.now() - start) / 1000;
  let lastFrame = -Infinity;
  try {
    // Nothing missing: the input is the answer.
    const iterations = missingFraction === 0 ? 0 : request.iterations;
    let stepStart = performance.now();
    for (let it = 0; it < iterations - 1; it++) {
      if (ctx.shouldStop()) throw new ApiError('cancelled', 'The imputation was cancelled');
      stepStart = performance.now();
      await imputer.step();
      if (stepStart - lastFrame >= FRAME_INTERVAL_MS) {
        const frame = frameOf(session.images.shape, request, await imputer.snapshot(), missingFraction, false, 0, elapsed());
        // A refinement: one iteration and the picture of it.
        ctx.partial({ ...frame, refinementMs: performance.now() - stepStart } satisfies InferPartials['impute']);
        lastFrame = stepStart;
      }
      await ctx.yieldToEventLoop();
    }
    if (ctx.shouldStop()) throw new ApiError('cancelled', 'The imputation was cancelled');
    stepStart = performance.now();
    if (iterations > 0) await imputer.step();
    const frame = frameOf(session.images.shape, request, await imputer.snapshot(), missingFraction, true, 0, 0);
    return { ...frame, refinementMs: performance.now() - stepStart, seconds: elapsed() };
  } finally {
    imputer.dispose();
  }
}

export async function imputeEvaluate(
  session: ModelSession,
  request: InferRequestOf<'imputeEvaluate'>,
  ctx: InferContext,
): Promise<InferResults['imputeEvaluate']> {
  const test = session.indicesOf('test');
  const split = test.length > 0 ? 'test' : 'validation';
  const pool = session.indicesOf(split);
  if (pool.length === 0) {
    throw new ApiError('invalid_input', "The run's dataset has no test or validation images to evaluate imputation on", { field: 'runId' });
  }
  const indices = pool.subarray(0, request.images);
  const methods = request.methods ?? imputeMethods;
  const { trainer } = session;
  // A cVAE imputes given each image's true label; M2 infers it, as it would for an unlabelled image.
  const labels = trainer.classes === 0 ? 'none' : trainer.classifier ? 'inferred' : 'given';
  if (labels === 'given' && session.images.labels === undefined) {
    throw new ApiError('invalid_input', "The run's dataset has no labels for its held-out images, which a conditional VAE imputes with", { field: 'runId' });
  }
  const report = await evaluateImputation({
    model: trainer.model,
    decoder: trainer.decoder,
    ...(labels !== 'none' && session.images.labels ? { labels: { truth: session.images.labels, infer: labels === 'inferred' } } : {}),
    classifier: trainer.classifier,
    images: session.images,
    indices,
    means: trainingMeans(session),
    mask: request.mask,
    methods,
    iterations: request.iterations,
    proposals: request.proposals,
    seed: request.seed,
    onProgress: (method, done, total) => ctx.partial({ method, done, total } satisfies InferPartials['imputeEvaluate']),
    shouldStop: ctx.shouldStop,
    yieldToEventLoop: ctx.yieldToEventLoop,
  });
  return {
    mask: request.mask,
    split,
    images: indices.length,
    binary: report.binary,
    missingFraction: report.missingFraction,
    iterations: request.iterations,
    proposals: request.proposals,
    labels,
    scores: report.scores,
  };
}
