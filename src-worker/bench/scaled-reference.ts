import { convDesignOf, defaultRunConfig, encoderInputOf, type EncoderInput, type RunConfig } from '@shared/config';
import { convPlan, type ConvPlan, type ConvPreset } from '@shared/conv';
import { decoderHead, nllFigures, type DecoderHead } from '@shared/likelihood';
import { permutation } from '@shared/random';
import { createRng, STREAM } from '../engine/random';
import { wasmBinaryDir } from '../io/wasm-files';
import type { VaeSpec } from '../model/vae';
import { startReplicaThreads } from '../threads/replica-pool';
import { DataParallelTrainer } from '../train/data-parallel';
import type { EngineTrainer } from '../train/engine-trainer';
import { gatherBatch, type ImageSet } from '../train/images';
import { VaeTrainer } from '../train/trainer';

/**
 * The scaled conv VAE with the discretized logistic mixture decoder, as the app trains
 * it, measured for the PyTorch reference (scripts/torch_vae_reference.py --scaled):
 * the plan it is built from (written as JSON, so the reference builds its layers from
 * the app's own stage widths, residual blocks, norm and head), its initial weights, the
 * same steps from the same weights and noise, a quality run whose batch order and noise
 * the reference replays, and training img/s on 1 thread and data-parallel threads.
 */
export interface ScaledSetup {
  image: { width: number; height: number; channels: 1 | 3 };
  preset: ConvPreset;
  latent: number;
  hidden: number;
  /** Mixture components K per sub-pixel. */
  mixture: number;
  batch: number;
  /** What the encoder reads; absent: 'unit', as the bench's figures were measured. */
  encoderInput?: EncoderInput;
}

/** The initialization seed of every scaled measurement; the reference starts from the same weights. */
export const SCALED_SEED = 1;

export function scaledConfig(setup: ScaledSetup, seed = SCALED_SEED): RunConfig {
  return {
    ...defaultRunConfig(),
    seed,
    architecture: 'conv',
    convArch: setup.preset,
    latent: setup.latent,
    hidden: setup.hidden,
    decoder: 'logistic',
    mixtureComponents: setup.mixture,
    batchSize: setup.batch,
    ...(setup.encoderInput && { encoderInput: setup.encoderInput }),
  };
}

export function scaledSpec(setup: ScaledSetup): VaeSpec {
  const config = scaledConfig(setup);
  return { kind: 'conv', image: setup.image, latent: setup.latent, hidden: setup.hidden, conv: convDesignOf(config), ...(encoderInputOf(config) === 'centred' && { input: 'centred' as const }) };
}

/** What the reference builds its network from: the app's conv plan and decoder head, never re-derived. */
export interface ReferencePlan {
  image: ScaledSetup['image'];
  latent: number;
  hidden: number;
  plan: ConvPlan;
  head: DecoderHead;
  mixtureComponents: number;
  /** What the encoder reads: 'centred' feeds it 2x − 1, as the app's first layer does. */
  encoderInput: EncoderInput;
}

export function referencePlan(setup: ScaledSetup): ReferencePlan {
  const config = scaledConfig(setup);
  return {
    image: setup.image,
    latent: setup.latent,
    hidden: setup.hidden,
    plan: convPlan(convDesignOf(config), setup.image),
    head: decoderHead(config, setup.image.channels),
    mixtureComponents: setup.mixture,
    encoderInput: encoderInputOf(config),
  };
}

const trainer = (setup: ScaledSetup): VaeTrainer => new VaeTrainer(scaledSpec(setup), scaledConfig(setup));

export interface NamedWeights {
  name: string;
  shape: number[];
  values: number[];
}

/** The model's initial weights by declared name (`conv1/f`, `norm1/g`, `res4a/f`, …), without the model prefix and engine counter. */
export function scaledInitialWeights(setup: ScaledSetup): NamedWeights[] {
  const t = trainer(setup);
  try {
    return t.model.variables.map((v) => ({ name: v.name.replace(/^[a-z]+\//, '').replace(/#\d+$/, ''), shape: [...v.shape], values: Array.from(v.dataSync()) }));
  } finally {
    t.dispose();
  }
}

/** Train and test images as one set, train first. */
export interface ImageSplit {
  images: ImageSet;
  train: Int32Array;
  test: Int32Array;
}

export function imageSplit(shape: ScaledSetup['image'], train: Uint8Array, test: Uint8Array): ImageSplit {
  const D = shape.width * shape.height * shape.channels;
  const pixels = new Uint8Array(train.length + test.length);
  pixels.set(train);
  pixels.set(test, train.length);
  const nTrain = train.length / D;
  const nTest = test.length / D;
  return {
    images: { shape, count: nTrain + nTest, pixels },
    train: Int32Array.from({ length: nTrain }, (_, i) => i),
    test: Int32Array.from({ length: nTest }, (_, i) => nTrain + i),
  };
}

/** The file the reference reads: u32 train count, u32 test count, then the 8-bit levels (HWC rows, train first). */
export function imagesFile(split: ImageSplit): Uint8Array {
  const out = new Uint8Array(8 + split.images.pixels.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, split.train.length, true);
  view.setUint32(4, split.test.length, true);
  out.set(split.images.pixels, 8);
  return out;
}

/**
 * The first `steps` losses from the initial weights on consecutive batches of the
 * training images, and the noise they drew (the trainer's own stream, replayed), so the
 * reference can take the very same steps.
 */
export async function scaledSameSteps(setup: ScaledSetup, data: ImageSplit, steps: number): Promise<{ losses: number[]; eps: Float32Array }> {
  const t = trainer(setup);
  try {
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) {
      losses.push((await t.step(gatherBatch(data.images, data.train, s * setup.batch, (s + 1) * setup.batch), setup.batch)).loss);
    }
    return { losses, eps: createRng(SCALED_SEED, STREAM.noise).normals(steps * setup.batch * setup.latent) };
  } finally {
    t.dispose();
  }
}

export interface ScaledQuality {
  bitsPerDim: number;
  trainSeconds: number;
  evalSeconds: number;
  /** The batch order (train-part indices per epoch) and the noise the run used. */
  orders: Int32Array;
  eps: Float32Array;
}

/**
 * `epochs` over the training images (Adam 1e-3, every batch including the last partial
 * one), then the test IWAE bound (k samples) in bits/dim on the 0–255 scale. Returns the
 * batch order and noise for the reference to replay.
 */
export async function scaledQuality(setup: ScaledSetup, data: ImageSplit, epochs: number, k: number): Promise<ScaledQuality> {
  const t = trainer(setup);
  try {
    const shuffle = createRng(SCALED_SEED, 0x51);
    const nTrain = data.train.length;
    const orders = new Int32Array(epochs * nTrain);
    const t0 = performance.now();
    for (let epoch = 0; epoch < epochs; epoch++) {
      const perm = permutation(nTrain, shuffle.uniform);
      orders.set(perm, epoch * nTrain);
      const order = Int32Array.from(perm, (i) => data.train[i]!);
      for (let from = 0; from < nTrain; from += setup.batch) {
        const to = Math.min(nTrain, from + setup.batch);
        await t.step(gatherBatch(data.images, order, from, to), to - from);
      }
    }
    const t1 = performance.now();
    const rng = createRng(2);
    let sum = 0;
    for (let from = 0; from < data.test.length; from += 16) {
      const to = Math.min(data.test.length, from + 16);
      for (const v of await t.iwaeLogLikelihood(gatherBatch(data.images, data.test, from, to), to - from, k, rng)) sum += v;
    }
    const D = setup.image.width * setup.image.height * setup.image.channels;
    const { bitsPerDim } = nllFigures(sum / data.test.length, D, 'logistic');
    const eps = createRng(SCALED_SEED, STREAM.noise).normals(epochs * nTrain * setup.latent);
    return { bitsPerDim, trainSeconds: (t1 - t0) / 1000, evalSeconds: (performance.now() - t1) / 1000, orders, eps };
  } finally {
    t.dispose();
  }
}

/** The trainer a run with `threads` gets: the single-thread trainer, or data-parallel wasm replicas. */
async function trainerOn(setup: ScaledSetup, threads: number): Promise<EngineTrainer> {
  const local = trainer(setup);
  if (threads === 1) return local;
  const wasmDir = wasmBinaryDir();
  const replicas = await startReplicaThreads(threads, { spec: scaledSpec(setup), config: scaledConfig(setup), shapes: local.parameterShapes() }, {
    backend: 'wasm',
    ...(wasmDir === undefined ? {} : { wasmDir }),
  });
  return new DataParallelTrainer(local, replicas);
}

/** Training img/s with `threads` (random 8-bit levels), after two warm-up steps, for at least `seconds` and 2 steps. */
export async function scaledThroughput(setup: ScaledSetup, threads: number, seconds: number): Promise<number> {
  const D = setup.image.width * setup.image.height * setup.image.channels;
  const rng = createRng(7);
  const x = Float32Array.from({ length: setup.batch * D }, () => Math.floor(rng.uniform() * 256) / 255);
  const t = await trainerOn(setup, threads);
  try {
    await t.step(x, setup.batch);
    await t.step(x, setup.batch);
    let steps = 0;
    const t0 = performance.now();
    while (steps < 2 || performance.now() - t0 < seconds * 1000) {
      await t.step(x, setup.batch);
      steps++;
    }
    return (steps * setup.batch * 1000) / (performance.now() - t0);
  } finally {
    t.dispose();
  }
}
