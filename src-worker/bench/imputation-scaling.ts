import { defaultRunConfig } from '@shared/config';
import { createRng } from '../engine/random';
import { createImputer } from '../impute/imputer';
import { wasmBinaryDir } from '../io/wasm-files';
import type { VaeSpec } from '../model/vae';
import { startInferenceThreads, type InferenceReplicas } from '../threads/replica-pool';
import { VaeTrainer } from '../train/trainer';

/**
 * Imputation's chains by thread count (impute/chain.ts: the K chains of an image split
 * over inference threads; 1 = this thread alone): Metropolis-within-Gibbs iterations per
 * second on one 28×28 image with its top half missing, as Inpaint runs it, each count
 * measured `rounds` times interleaved and the best kept, with the final imputation
 * beside it (the same on every count).
 */
export interface ImputationPoint {
  threads: number;
  iterationsPerSec: number;
  /** Σ of the final mean imputation: the same on every count. */
  checksum: number;
}

async function measure(spec: VaeSpec, K: number, threads: number, seconds: number): Promise<ImputationPoint> {
  const config = { ...defaultRunConfig(), seed: 1 };
  const trainer = new VaeTrainer(spec, config);
  const D = spec.image.width * spec.image.height * spec.image.channels;
  const rng = createRng(5);
  const x = Float32Array.from({ length: D }, () => (rng.uniform() > 0.7 ? 1 : 0));
  const missing = Uint8Array.from({ length: D }, (_, i) => (i < D / 2 ? 1 : 0));
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
    const run = async (iterations: number): Promise<{ perSec: number; checksum: number }> => {
      const imputer = createImputer(
        { model: trainer.model, decoder: trainer.decoder, x, n: 1, missing, init: new Float32Array(D).fill(0.2) },
        { method: 'metropolis', samples: K, proposals: 0, iterations, rng: createRng(9), threads: pool },
      );
      try {
        await imputer.step(); // warm-up: the threads open their chains
        const t0 = performance.now();
        let done = 1;
        while (done < iterations && (done < 5 || performance.now() - t0 < seconds * 1000)) {
          await imputer.step();
          done++;
        }
        const perSec = ((done - 1) * 1000) / (performance.now() - t0);
        const snapshot = await imputer.snapshot();
        return { perSec, checksum: snapshot.mean.reduce((a, b) => a + b, 0) };
      } finally {
        imputer.dispose();
      }
    };
    const timed = await run(100_000);
    // A fixed number of iterations, for the figure that must not depend on the count.
    const { checksum } = await run(20);
    return { threads, iterationsPerSec: timed.perSec, checksum };
  } finally {
    pool?.close();
    trainer.dispose();
  }
}

export async function imputationScaling(spec: VaeSpec, K: number, maxThreads: number, seconds: number, rounds: number): Promise<ImputationPoint[]> {
  const best = new Map<number, ImputationPoint>();
  for (let round = 0; round < rounds; round++) {
    for (let threads = 1; threads <= maxThreads; threads++) {
      const point = await measure(spec, K, threads, seconds);
      const previous = best.get(threads);
      if (previous === undefined || point.iterationsPerSec > previous.iterationsPerSec) best.set(threads, point);
    }
  }
  return [...best.values()].sort((a, b) => a.threads - b.threads);
}
