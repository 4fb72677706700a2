import { ApiError } from '@shared/errors';
import type { InferRequestOf, InferResults, VqPriorKind } from '@shared/inference';
import { createRng, type Rng } from '../engine/random';
import { takeValues } from '../engine/read';
import { tf } from '../engine/tf';
import { sampleMade } from '../model/made';
import { tileImages } from '../train/grid';
import { gatherBatch } from '../train/images';
import type { VqVaeTrainer } from '../train/vq-trainer';
import { dataUrl, SAMPLES_STREAM, samplesGrid, tileWithoutGap } from './explore';
import type { InferContext } from './ops';
import type { VqModelSession } from './session';

/**
 * Explore's questions to a VQ-VAE: code grids drawn from its autoregressive prior
 * (MADE, raster order), decoded. A run stopped before its prior epochs has an untrained
 * prior, so its grids are drawn uniformly instead (and the answer says so).
 */

/** RNG stream of the Codes tab's variations, apart from the samples' stream. */
export const CODES_STREAM = 0xc0de;

const priorKind = (trainer: VqVaeTrainer): VqPriorKind => (trainer.priorTrained ? 'learned' : 'uniform');

/**
 * `n` grids of L codes: positions before `from` copied from `given` (when there is one),
 * the others drawn from the prior at `temperature`, or uniformly when it is untrained.
 */
async function drawCodes(trainer: VqVaeTrainer, n: number, rng: Rng, temperature: number, given?: Int32Array, from = 0): Promise<Int32Array> {
  if (trainer.priorTrained) return sampleMade(trainer.prior, n, rng, { temperature, given, from });
  const L = trainer.latent;
  const codes = given ? Int32Array.from(given) : new Int32Array(n * L);
  for (let r = 0; r < n; r++) {
    for (let i = from; i < L; i++) codes[r * L + i] = Math.min(trainer.codes - 1, Math.floor(rng.uniform() * trainer.codes));
  }
  return codes;
}

/** Decode grids in batches, yielding between them. */
async function decodeGrids(trainer: VqVaeTrainer, codes: Int32Array, count: number, ctx: InferContext): Promise<Float32Array> {
  const L = trainer.latent;
  const out = new Float32Array(count * trainer.inputSize);
  const batch = 64;
  for (let from = 0; from < count; from += batch) {
    if (ctx.shouldStop()) throw new ApiError('cancelled', 'The request was cancelled');
    const to = Math.min(count, from + batch);
    out.set(await trainer.decodeCodes(codes.subarray(from * L, to * L), to - from), from * trainer.inputSize);
    await ctx.yieldToEventLoop();
  }
  return out;
}

/** −log π(k_i | k_<i) per position of one grid, nats; log K each under the uniform prior. */
async function positionCosts(trainer: VqVaeTrainer, codes: Int32Array): Promise<number[]> {
  const L = trainer.latent;
  const K = trainer.codes;
  if (!trainer.priorTrained) return new Array<number>(L).fill(Math.log(K));
  const values = await takeValues(
    tf.tidy(() => {
      const oneHot = tf.cast(tf.oneHot(tf.tensor1d(codes, 'int32'), K), 'float32');
      const logQ = tf.logSoftmax(trainer.prior.logits(tf.reshape(oneHot, [1, L * K]) as tf.Tensor2D));
      return tf.neg(tf.sum(tf.mul(logQ, tf.reshape(oneHot, [1, L, K])), 2));
    }),
  );
  return Array.from(values);
}

export async function vqSamples(session: VqModelSession, request: InferRequestOf<'samples'>, ctx: InferContext): Promise<InferResults['samples']> {
  const { trainer } = session;
  const codes = await drawCodes(trainer, request.count, createRng(request.seed, SAMPLES_STREAM), request.temperature);
  return { ...samplesGrid(request, await decodeGrids(trainer, codes, request.count, ctx), session.images.shape), prior: priorKind(trainer) };
}

export async function vqCodes(session: VqModelSession, request: InferRequestOf<'codes'>, ctx: InferContext): Promise<InferResults['codes']> {
  const { trainer, images } = session;
  session.checkIndex(request.index, 'index');
  const L = trainer.latent;
  if (request.from >= L) {
    throw new ApiError('invalid_input', `from: position ${request.from} does not exist (the code grid has ${L} positions, 0…${L - 1})`, { field: 'from' });
  }
  const x = gatherBatch(images, [request.index], 0, 1);
  const codes = await trainer.encodeCodes(x, 1);
  const reconstruction = await trainer.decodeCodes(codes, 1);
  const given = new Int32Array(request.count * L);
  for (let r = 0; r < request.count; r++) given.set(codes, r * L);
  const drawn = await drawCodes(trainer, request.count, createRng(request.seed, CODES_STREAM), request.temperature, given, request.from);
  const decoded = await decodeGrids(trainer, drawn, request.count, ctx);
  const [rows, cols] = trainer.nets.grid;
  return {
    index: request.index,
    label: images.labels[request.index] ?? 0,
    grid: [rows, cols],
    codebookSize: trainer.codes,
    codes: Array.from(codes),
    cost: await positionCosts(trainer, codes),
    imageDataUrl: dataUrl(tileWithoutGap(x, images.shape)),
    reconstructionDataUrl: dataUrl(tileWithoutGap(reconstruction, images.shape)),
    from: request.from,
    temperature: request.temperature,
    seed: request.seed,
    prior: priorKind(trainer),
    variations: Array.from({ length: request.count }, (_, r) => Array.from(drawn.subarray(r * L, (r + 1) * L))),
    stripDataUrl: dataUrl(tileImages(decoded, request.count, images.shape, request.count)),
  };
}
