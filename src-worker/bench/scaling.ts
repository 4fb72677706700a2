import { defaultRunConfig, type RunConfig } from '@shared/config';
import { familyOf } from '@shared/families';

import { createRng } from '../engine/random';
import { wasmBinaryDir } from '../io/wasm-files';
import type { ImageShape, VaeSpec } from '../model/vae';
import { publishWeightsOf, startReplicaThreads } from '../threads/replica-pool';
import { DataParallelTrainer, type GradientReplicas } from '../train/data-parallel';
import { createParallelTrainer, type EngineTrainer, type ParallelOptions } from '../train/engine-trainer';
import { gatherBatch, type ImageSet } from '../train/images';
import { VaeTrainer } from '../train/trainer';

/**
 * The multi-core scaling curve: training img/s of one model with 1, 2, … threads
 * (train/data-parallel.ts; 1 = the single-thread trainer itself, no replica). Each
 * count is measured `rounds` times, the counts interleaved, and the best kept: on a
 * machine shared with other work the best is the least disturbed, and interleaving
 * keeps a burst of load from landing on one count only.
 */
export interface ScalingPoint {
  threads: number;
  imagesPerSec: number;
  steps: number;
  /**
   * The machine's own ceiling: img/s of `threads` replicas each computing a whole
   * batch's gradient at once, with nothing exchanged and no update — what the cores
   * give side by side (shared caches, memory bandwidth, a VM's vCPUs that are one
   * core's hyper-threads), against which the data-parallel figure is judged.
   */
  independentImagesPerSec: number;
}

/**
 * Runs `step` at least twice and for at least `seconds`, before a measurement. Every
 * count starts fresh replica threads, whose wasm code V8 compiles and tiers up in the
 * background over their first seconds (their first steps cost 1.3–1.8× the CPU of later
 * ones, measured), while the one-thread trainer reuses this process's warm instance: a
 * measurement of a few steps right after the start timed the threads' warm-up, not
 * training. Every count gets the same warm-up.
 */
export async function warmUp(step: () => Promise<unknown>, seconds: number): Promise<void> {
  const t0 = performance.now();
  for (let steps = 0; steps < 2 || performance.now() - t0 < seconds * 1000; steps++) await step();
}

const benchConfig = (): RunConfig => ({ ...defaultRunConfig(), seed: 1 });

/** `threads` wasm replica threads of a model whose trainer on this thread is `local`. */
function wasmReplicas(threads: number, spec: VaeSpec, config: RunConfig, local: VaeTrainer): Promise<GradientReplicas> {
  const wasmDir = wasmBinaryDir();
  return startReplicaThreads(threads, { spec, config, shapes: local.parameterShapes() }, {
    backend: 'wasm',
    ...(wasmDir === undefined ? {} : { wasmDir }),
  });
}

/** The curves' batch: random binary pixels, the same for every count and measurement. */
function benchBatch(spec: VaeSpec, batch: number): Float32Array {
  const D = spec.image.width * spec.image.height * spec.image.channels;
  const rng = createRng(7);
  return Float32Array.from({ length: batch * D }, () => (rng.uniform() > 0.5 ? 1 : 0));
}

async function trainerOn(spec: VaeSpec, threads: number, config: RunConfig = benchConfig()): Promise<EngineTrainer> {
  const local = new VaeTrainer(spec, config);
  if (threads === 1) return local;
  return new DataParallelTrainer(local, await wasmReplicas(threads, spec, config, local));
}

/**
 * The ceiling's replicas (ScalingPoint.independentImagesPerSec): `round()` has each of
 * `threads` replicas compute the whole batch's gradient at once, nothing exchanged.
 */
async function ceilingReplicas(spec: VaeSpec, threads: number, x: Float32Array, batch: number, config: RunConfig): Promise<{ round(): Promise<unknown>; close(): void }> {
  const local = new VaeTrainer(spec, config);
  let replicas: GradientReplicas;
  try {
    replicas = await wasmReplicas(threads, spec, config, local);
    await publishWeightsOf(replicas, local);
  } catch (error) {
    local.dispose();
    throw error;
  }
  const inputs = local.drawStep(x, batch);
  const all = Array.from({ length: threads }, () => inputs);
  return {
    round: () => replicas.gradients(all),
    close(): void {
      replicas.close();
      local.dispose();
    },
  };
}

/** Replicas computing whole-batch gradients side by side, no exchange (ScalingPoint.independentImagesPerSec). */
async function independent(spec: VaeSpec, threads: number, x: Float32Array, batch: number, seconds: number, minSteps: number): Promise<number> {
  const ceiling = await ceilingReplicas(spec, threads, x, batch, benchConfig());
  try {
    await warmUp(() => ceiling.round(), seconds);
    let rounds = 0;
    const t0 = performance.now();
    while (rounds < minSteps || performance.now() - t0 < seconds * 1000) {
      await ceiling.round();
      rounds++;
    }
    return (rounds * threads * batch * 1000) / (performance.now() - t0);
  } finally {
    ceiling.close();
  }
}

async function measure(spec: VaeSpec, threads: number, batch: number, seconds: number, minSteps: number): Promise<ScalingPoint> {
  const x = benchBatch(spec, batch);
  const trainer = await trainerOn(spec, threads);
  try {
    // Warm-up: kernel setup, Adam's first allocation, the replicas' first weights, their code's tier-up.
    await warmUp(() => trainer.step(x, batch), seconds / 2);
    let steps = 0;
    const t0 = performance.now();
    while (steps < minSteps || performance.now() - t0 < seconds * 1000) {
      await trainer.step(x, batch);
      steps++;
    }
    const imagesPerSec = (steps * batch * 1000) / (performance.now() - t0);
    return { threads, imagesPerSec, steps, independentImagesPerSec: await independent(spec, threads, x, batch, seconds / 2, minSteps) };
  } finally {
    trainer.dispose();
  }
}

/**
 * What a paired measurement gives: each pair is one 1-thread step, one `threads`-thread
 * step and one round of `threads` replicas' whole gradients (the ceiling), timed one
 * after the other; the factor is the median of the pairs' ratios. A slower or faster
 * minute of a shared machine (this VM's steps drift by a third within minutes, and one
 * vCPU at times runs a fifth slower than the other) moves both sides of a pair alike,
 * where separate measurements seconds apart can land in different minutes.
 */
export interface PairedScaling {
  threads: number;
  pairs: number;
  /** Median of (1-thread step ms ÷ `threads`-thread step ms) over the pairs. */
  factor: number;
  /** Median of (`threads` × 1-thread step ms ÷ the ceiling round's ms). */
  ceiling: number;
  /** Medians of the step times, ms. */
  oneMs: number;
  manyMs: number;
  /** The pairs' factors, ascending (their spread says how steady the machine was). */
  factors: number[];
}

const medianOf = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** The paired figures from each pair's times (ms): a 1-thread step, a `threads`-thread step, the ceiling's round. */
export function pairedFigures(threads: number, oneMs: readonly number[], manyMs: readonly number[], ceilingMs: readonly number[]): PairedScaling {
  if (oneMs.length === 0 || oneMs.length !== manyMs.length || oneMs.length !== ceilingMs.length) throw new Error('pairedFigures: one time of each kind per pair');
  const factors = oneMs.map((one, i) => one / manyMs[i]!);
  return {
    threads,
    pairs: oneMs.length,
    factor: medianOf(factors),
    ceiling: medianOf(oneMs.map((one, i) => (threads * one) / ceilingMs[i]!)),
    oneMs: medianOf(oneMs),
    manyMs: medianOf(manyMs),
    factors: factors.sort((a, b) => a - b),
  };
}

/**
 * The data-parallel factor of `threads` threads measured in pairs (PairedScaling): the
 * 1-thread trainer, the `threads`-thread one and the ceiling's replicas all alive at once,
 * warmed up together for `seconds`, then `pairs` pairs.
 */
export async function pairedScaling(spec: VaeSpec, batch: number, threads: number, seconds: number, pairs: number, config?: RunConfig): Promise<PairedScaling> {
  const setup = config ?? benchConfig();
  const x = benchBatch(spec, batch);
  const one = await trainerOn(spec, 1, setup);
  const many = await trainerOn(spec, threads, setup);
  const ceiling = await ceilingReplicas(spec, threads, x, batch, setup);
  try {
    const timed = async (f: () => Promise<unknown>): Promise<number> => {
      const t0 = performance.now();
      await f();
      return performance.now() - t0;
    };
    const pair = async (): Promise<[number, number, number]> => [
      await timed(() => one.step(x, batch)),
      await timed(() => many.step(x, batch)),
      await timed(() => ceiling.round()),
    ];
    await warmUp(pair, seconds);
    const times: [number, number, number][] = [];
    for (let i = 0; i < pairs; i++) times.push(await pair());
    return pairedFigures(threads, times.map((t) => t[0]), times.map((t) => t[1]), times.map((t) => t[2]));
  } finally {
    ceiling.close();
    many.dispose();
    one.dispose();
  }
}

export async function scalingCurve(spec: VaeSpec, batch: number, maxThreads: number, seconds: number, rounds: number, minSteps = 3): Promise<ScalingPoint[]> {
  const best = new Map<number, ScalingPoint>();
  for (let round = 0; round < rounds; round++) {
    for (let threads = 1; threads <= maxThreads; threads++) {
      const point = await measure(spec, threads, batch, seconds, minSteps);
      const previous = best.get(threads);
      if (previous === undefined) best.set(threads, point);
      else {
        best.set(threads, {
          ...(point.imagesPerSec > previous.imagesPerSec ? point : previous),
          independentImagesPerSec: Math.max(point.independentImagesPerSec, previous.independentImagesPerSec),
        });
      }
    }
  }
  return [...best.values()].sort((a, b) => a.threads - b.threads);
}

/** Images of a family's scaling row: random binary pixels, labels 0…9 in turn (M2: every other one hidden). */
function scalingImages(shape: ImageShape, count: number): ImageSet {
  const rng = createRng(11);
  const pixels = Uint8Array.from({ length: count * shape.width * shape.height * shape.channels }, () => (rng.uniform() > 0.5 ? 255 : 0));
  return { shape, count, pixels, labels: Int32Array.from({ length: count }, (_, i) => i % 10), classes: 10 };
}

/**
 * A model family's img/s with 1, 2, … threads, through the run's own path
 * (createParallelTrainer: cVAE, M2 with its per-class passes, the VQ-VAE's
 * autoencoder steps with the codebook update on the coordinator). M2's batches are
 * half labelled. No ceiling column (NaN).
 */
export async function familyScalingCurve(
  overrides: Partial<RunConfig>,
  shape: ImageShape,
  batch: number,
  maxThreads: number,
  seconds: number,
  rounds: number,
  minSteps = 3,
): Promise<ScalingPoint[]> {
  const best = new Map<number, ScalingPoint>();
  for (let round = 0; round < rounds; round++) {
    for (let threads = 1; threads <= maxThreads; threads++) {
      const { trainer, step } = await familyTrainer(overrides, shape, batch, threads);
      try {
        await warmUp(step, seconds / 2);
        let steps = 0;
        const t0 = performance.now();
        while (steps < minSteps || performance.now() - t0 < seconds * 1000) {
          await step();
          steps++;
        }
        const imagesPerSec = (steps * batch * 1000) / (performance.now() - t0);
        const previous = best.get(threads);
        if (previous === undefined || imagesPerSec > previous.imagesPerSec) best.set(threads, { threads, imagesPerSec, steps, independentImagesPerSec: NaN });
      } finally {
        trainer.dispose();
      }
    }
  }
  return [...best.values()].sort((a, b) => a.threads - b.threads);
}

/** A model the per-step probes (bench-shard, bench-gc) train, picked by its key with --only. */
export interface ProbeModel {
  key: string;
  label: string;
  overrides: Partial<RunConfig>;
  shape: ImageShape;
}

/** The probes' models: the scaling curve's two classic convs, and the medium preset at 64×64×3 as a run trains it. */
export const PROBE_MODELS: readonly ProbeModel[] = [
  { key: '28', label: 'conv classic 28×28×1, Bernoulli', overrides: { architecture: 'conv', convArch: 'classic' }, shape: { width: 28, height: 28, channels: 1 } },
  { key: '64c', label: "conv classic 64×64×3, Bernoulli (the scaling curve's)", overrides: { architecture: 'conv', convArch: 'classic' }, shape: { width: 64, height: 64, channels: 3 } },
  {
    key: '64',
    label: 'conv medium 64×64×3, logistic',
    overrides: { architecture: 'conv', convArch: 'medium', decoder: 'logistic' },
    shape: { width: 64, height: 64, channels: 3 },
  },
];

/**
 * A family's trainer on `threads` threads through the run's own path
 * (createParallelTrainer), and one step of it on a fixed batch of `batch` scaling images.
 */
export async function familyTrainer(
  overrides: Partial<RunConfig>,
  shape: ImageShape,
  batch: number,
  threads: number,
): Promise<{ trainer: EngineTrainer; step: () => Promise<unknown> }> {
  const config: RunConfig = { ...defaultRunConfig(), seed: 1, batchSize: batch, ...overrides };
  const images = scalingImages(shape, batch);
  const rows = Int32Array.from({ length: batch }, (_, i) => i);
  const x = gatherBatch(images, rows, 0, batch);
  const labels = familyOf(config).labels === 'some' ? Int32Array.from(images.labels!, (y, i) => (i % 2 === 0 ? y : -1)) : images.labels!;
  const wasmDir = wasmBinaryDir();
  const parallel: ParallelOptions = {
    threads,
    start: (count, setup) => startReplicaThreads(count, setup, { backend: 'wasm', ...(wasmDir === undefined ? {} : { wasmDir }) }),
  };
  const { trainer } = await createParallelTrainer(config, images, threads > 1 ? parallel : undefined);
  trainer.beginEpoch?.(1);
  return { trainer, step: () => trainer.step(x, batch, labels) };
}
