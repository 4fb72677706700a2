import { ApiError } from '@shared/errors';
import type { InferRequestOf, InferResults } from '@shared/inference';
import { createRng } from '../engine/random';
import { encodePngBase64 } from '../io/png';
import { gatherBatch } from '../train/images';
import { tileImages, type RasterImage } from '../train/grid';
import { decodeAll, meanOf, SAMPLES_STREAM } from './explore';
import type { InferContext } from './ops';
import type { ModelSession } from './session';

/** Explore's questions that only a conditional VAE can answer: its decoder takes a label. */

const dataUrl = (image: RasterImage): string => `data:image/png;base64,${encodePngBase64(image)}`;

function requireConditional(session: ModelSession, what: string): number {
  const classes = session.trainer.classes;
  if (classes === 0) {
    throw new ApiError(
      'invalid_input',
      `${what} needs a conditional VAE (family 'cvae'); this run trained family '${session.config.family}', whose decoder takes no label.`,
      { field: 'runId' },
    );
  }
  return classes;
}

function checkLabel(label: number, classes: number, field: string): void {
  if (label >= classes) throw new ApiError('invalid_input', `${field}: class ${label} does not exist (the model has ${classes}, 0–${classes - 1})`, { field });
}

/** z ~ N(0, t² I) decoded with one class: the same seed draws the same z whatever the class. */
export async function generateClass(
  session: ModelSession,
  request: InferRequestOf<'generateClass'>,
  ctx: InferContext,
): Promise<InferResults['generateClass']> {
  const classes = requireConditional(session, 'Generating a class');
  checkLabel(request.label, classes, 'label');
  const d = session.trainer.latent;
  const codes = createRng(request.seed, SAMPLES_STREAM).normals(request.count * d, request.temperature);
  const decoded = await decodeAll(session, codes, request.count, ctx, new Int32Array(request.count).fill(request.label));
  const cols = Math.min(12, Math.ceil(Math.sqrt(request.count)));
  return {
    label: request.label,
    temperature: request.temperature,
    seed: request.seed,
    count: request.count,
    cols,
    gridDataUrl: dataUrl(tileImages(decoded, request.count, session.images.shape, cols)),
  };
}

/** Swap class, keep style: the image's z (encoded with its own label) decoded with every class. */
export async function swapClass(session: ModelSession, request: InferRequestOf<'swapClass'>, ctx: InferContext): Promise<InferResults['swapClass']> {
  const classes = requireConditional(session, 'Swapping the class');
  const labels = request.labels ?? Array.from({ length: classes }, (_, k) => k);
  labels.forEach((label) => checkLabel(label, classes, 'labels'));
  const code = await meanOf(session, request.index, 'index');
  const d = session.trainer.latent;
  const codes = new Float32Array(labels.length * d);
  for (let i = 0; i < labels.length; i++) codes.set(code, i * d);
  const decoded = await decodeAll(session, codes, labels.length, ctx, Int32Array.from(labels));
  const D = session.trainer.model.inputSize;
  const strip = new Float32Array((labels.length + 1) * D);
  strip.set(gatherBatch(session.images, [request.index], 0, 1), 0);
  strip.set(decoded, D);
  return {
    index: request.index,
    label: session.labelsFor([request.index])?.[0] ?? 0,
    labels,
    stripDataUrl: dataUrl(tileImages(strip, labels.length + 1, session.images.shape, labels.length + 1)),
  };
}
