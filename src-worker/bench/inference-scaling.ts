import { createHash } from 'node:crypto';
import { defaultRunConfig, type RunConfig } from '@shared/config';
import { createRng } from '../engine/random';
import { createImputer } from '../impute/imputer';
import { decodeRows, decodeThreadsFor, manifoldCodes } from '../inference/explore';
import type { VaeSpec } from '../model/vae';
import { startThreadsWithWeights } from '../threads/inference-threads';
import type { InferenceReplicas } from '../threads/replica-pool';
import { iwaeBound } from '../train/evaluate';
import { warmUp } from './scaling';
import { VaeTrainer } from '../train/trainer';

/**
 * A saved model's heavy inference work by thread count (1 = the worker's thread alone):
 * the test IWAE bound, Inpaint's chains and Explore's decoding. One harness for all:
 * a model from the seed's initial weights, inference threads given its weights once (as
 * a model session or the evaluation job starts them), each count measured `rounds`
 * times interleaved and the best kept, and beside each figure the result itself, which
 * must be the same on every count.
 */
export interface InferencePoint {
  threads: number;
  /** Work per second: test images, chain iterations, decoded grids. */
  perSec: number;
  /** The result (a figure or a digest): the same on every count. */
  result: string;
}

type Measure = (trainer: VaeTrainer, pool: InferenceReplicas | null, threads: number) => Promise<{ perSec: number; result: string }>;

async function measureOn(spec: VaeSpec, threads: number, measure: Measure): Promise<InferencePoint> {
  const config: RunConfig = { ...defaultRunConfig(), seed: 1 };
  const trainer = new VaeTrainer(spec, config);
  let pool: InferenceReplicas | null = null;
  try {
    if (threads > 1) pool = await startThreadsWithWeights(trainer, threads, { spec, config }, 'wasm');
    return { threads, ...(await measure(trainer, pool, threads)) };
  } finally {
    pool?.close();
    trainer.dispose();
  }
}

/** 1 … maxThreads, `rounds` times interleaved, the best of each count kept. */
async function curve(spec: VaeSpec, maxThreads: number, rounds: number, measure: Measure): Promise<InferencePoint[]> {
  const best = new Map<number, InferencePoint>();
  for (let round = 0; round < rounds; round++) {
    for (let threads = 1; threads <= maxThreads; threads++) {
      const point = await measureOn(spec, threads, measure);
      const previous = best.get(threads);
      if (previous === undefined || point.perSec > previous.perSec) best.set(threads, point);
    }
  }
  return [...best.values()].sort((a, b) => a.threads - b.threads);
}

/** Calls `once` until `seconds` have passed (at least `least` times): calls per second. */
async function rate(seconds: number, least: number, once: () => Promise<unknown>): Promise<number> {
  let done = 0;
  const t0 = performance.now();
  while (done < least || performance.now() - t0 < seconds * 1000) {
    await once();
    done++;
  }
  return (done * 1000) / (performance.now() - t0);
}

const imageSize = (spec: VaeSpec): number => spec.image.width * spec.image.height * spec.image.channels;

/** The test IWAE bound (train/evaluate.ts) of `count` random binary images at k: test images per second, the mean bound in nats. */
export function evaluationScaling(spec: VaeSpec, maxThreads: number, count: number, k: number, seconds: number, rounds: number): Promise<InferencePoint[]> {
  const D = imageSize(spec);
  const rng = createRng(11);
  const pixels = Uint8Array.from({ length: count * D }, () => (rng.uniform() > 0.7 ? 255 : 0));
  const images = { shape: spec.image, count, pixels };
  const indices = Int32Array.from({ length: count }, (_, i) => i);
  const config = { ...defaultRunConfig(), seed: 1 };
  return curve(spec, maxThreads, rounds, async (trainer, pool, threads) => {
    const control = { shouldStop: () => false, yieldToEventLoop: () => Promise.resolve(), now: () => performance.now(), threads: pool };
    // Warm-up: kernel setup, the threads' first weights, their code's tier-up (scaling.ts warmUp).
    await warmUp(() => iwaeBound(trainer, images, indices.subarray(0, Math.min(count, 16 * threads)), config, k, control), seconds / 2);
    let mean = NaN;
    const perSec = await rate(seconds, 1, async () => {
      mean = (await iwaeBound(trainer, images, indices, config, k, control))!.meanLogLikelihood;
    });
    return { perSec: perSec * count, result: `${mean.toFixed(4)} nats` };
  });
}

/** Inpaint's Metropolis-within-Gibbs on one image with its top half missing, K chains: iterations per second, the final imputation's sum. */
export function imputationScaling(spec: VaeSpec, K: number, maxThreads: number, seconds: number, rounds: number): Promise<InferencePoint[]> {
  const D = imageSize(spec);
  const rng = createRng(5);
  const x = Float32Array.from({ length: D }, () => (rng.uniform() > 0.7 ? 1 : 0));
  const missing = Uint8Array.from({ length: D }, (_, i) => (i < D / 2 ? 1 : 0));
  return curve(spec, maxThreads, rounds, async (trainer, pool) => {
    const imputer = (iterations: number) =>
      createImputer(
        { model: trainer.model, decoder: trainer.decoder, x, n: 1, missing, init: new Float32Array(D).fill(0.2) },
        { method: 'metropolis', samples: K, proposals: 0, iterations, rng: createRng(9), threads: pool },
      );
    const timed = imputer(1_000_000);
    let perSec: number;
    try {
      // Warm-up: the threads open their chains, their code tiers up (scaling.ts warmUp).
      await warmUp(() => timed.step(), seconds / 2);
      perSec = await rate(seconds, 4, () => timed.step());
    } finally {
      timed.dispose();
    }
    // Twenty iterations, for the figure that must not depend on the count.
    const fixed = imputer(20);
    try {
      for (let i = 0; i < 20; i++) await fixed.step();
      return { perSec, result: `Σ ${(await fixed.snapshot()).mean.reduce((a, b) => a + b, 0)}` };
    } finally {
      fixed.dispose();
    }
  });
}

/**
 * Explore's decoding (inference/explore.ts decodeRows) of `count` codes — a sample grid
 * (codes from the prior) or the `steps`² manifold of a 2-D latent — cut over every
 * thread measured, whatever the session's threshold would choose (printed beside):
 * grids per second, a digest of the decoded values.
 */
export function decodingScaling(spec: VaeSpec, what: { samples: number } | { manifold: number }, maxThreads: number, seconds: number, rounds: number): Promise<InferencePoint[]> {
  const model = 'manifold' in what ? { ...spec, latent: 2 } : spec;
  const count = 'manifold' in what ? what.manifold ** 2 : what.samples;
  const codes = 'manifold' in what ? manifoldCodes(what.manifold) : createRng(7).normals(count * model.latent);
  const ctx = { shouldStop: () => false, yieldToEventLoop: () => Promise.resolve() };
  return curve(model, maxThreads, rounds, async (trainer, pool, threads) => {
    let decoded: Float32Array = new Float32Array(0);
    const once = async (): Promise<void> => {
      decoded = await decodeRows(trainer, codes, count, ctx, undefined, pool, threads);
    };
    // Warm-up as the training rows': kernel setup, the threads' first weights, and their
    // code's tier-up over the first seconds (scaling.ts warmUp) — one call timed the
    // tier-up of a fresh thread against a warm one-thread instance.
    await warmUp(once, seconds / 2);
    const perSec = await rate(seconds, 3, once);
    return { perSec, result: createHash('sha256').update(new Uint8Array(decoded.buffer)).digest('hex').slice(0, 12) };
  });
}

/** How many threads a model session would decode `count` codes of this model on, of `available`. */
export const sessionDecodeThreads = (spec: VaeSpec, count: number, available: number): number => decodeThreadsFor({ count: available }, spec, count);
