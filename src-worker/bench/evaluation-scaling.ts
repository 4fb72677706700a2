import { defaultRunConfig } from '@shared/config';
import { createRng } from '../engine/random';
import { wasmBinaryDir } from '../io/wasm-files';
import type { VaeSpec } from '../model/vae';
import { startInferenceThreads, type InferenceReplicas } from '../threads/replica-pool';
import { iwaeBound } from '../train/evaluate';
import { VaeTrainer } from '../train/trainer';

/**
 * The test IWAE bound's speed by thread count (train/evaluate.ts: batches spread over
 * inference threads; 1 = this thread alone), in test images per second at a given k,
 * each count measured `rounds` times interleaved and the best kept, with the bound
 * itself beside it: it must be the same figure on every count.
 */
export interface EvaluationPoint {
  threads: number;
  imagesPerSec: number;
  /** Mean IWAE log-likelihood of the images (nats): the same on every count. */
  meanLogLikelihood: number;
}

async function measure(spec: VaeSpec, threads: number, count: number, k: number, seconds: number): Promise<EvaluationPoint> {
  const config = { ...defaultRunConfig(), seed: 1 };
  const trainer = new VaeTrainer(spec, config);
  const D = spec.image.width * spec.image.height * spec.image.channels;
  const rng = createRng(11);
  const pixels = Uint8Array.from({ length: count * D }, () => (rng.uniform() > 0.7 ? 255 : 0));
  const images = { shape: spec.image, count, pixels };
  const indices = Int32Array.from({ length: count }, (_, i) => i);
  let pool: InferenceReplicas | null = null;
  try {
    if (threads > 1) {
      const wasmDir = wasmBinaryDir();
      pool = await startInferenceThreads(threads, { spec, config, shapes: trainer.parameterShapes() }, { backend: 'wasm', ...(wasmDir === undefined ? {} : { wasmDir }) });
      let offset = 0;
      for (const values of await trainer.parameterValues()) {
        pool.parameters.set(values, offset);
        offset += values.length;
      }
      pool.published();
    }
    const control = { shouldStop: () => false, yieldToEventLoop: () => Promise.resolve(), now: () => performance.now(), threads: pool };
    // Warm-up: kernel setup, the threads' first weights.
    await iwaeBound(trainer, images, indices.subarray(0, Math.min(count, 16 * threads)), config, k, control);
    let done = 0;
    let mean = NaN;
    const t0 = performance.now();
    while (done === 0 || performance.now() - t0 < seconds * 1000) {
      const result = await iwaeBound(trainer, images, indices, config, k, control);
      mean = result!.meanLogLikelihood;
      done += count;
    }
    return { threads, imagesPerSec: (done * 1000) / (performance.now() - t0), meanLogLikelihood: mean };
  } finally {
    pool?.close();
    trainer.dispose();
  }
}

export async function evaluationScaling(spec: VaeSpec, maxThreads: number, count: number, k: number, seconds: number, rounds: number): Promise<EvaluationPoint[]> {
  const best = new Map<number, EvaluationPoint>();
  for (let round = 0; round < rounds; round++) {
    for (let threads = 1; threads <= maxThreads; threads++) {
      const point = await measure(spec, threads, count, k, seconds);
      const previous = best.get(threads);
      if (previous === undefined || point.imagesPerSec > previous.imagesPerSec) best.set(threads, point);
    }
  }
  return [...best.values()].sort((a, b) => a.threads - b.threads);
}
