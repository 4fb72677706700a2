import { convDesignOf, encoderInputOf, type RunConfig } from '@shared/config';
import { familyOf, type FamilyDescriptor } from '@shared/families';
import type { Rng } from '../engine/random';
import { checkVaeSpec } from '../model/vae';
import { checkVqSpec, type VqSpec } from '../model/vq';
import type { ArtifactKind } from './epoch-images';
import type { IwaeThreads } from './evaluate';
import type { RasterImage } from './grid';
import type { ImageSet } from './images';
import { modelSpec } from './model-spec';
import { VaeTrainer, type BatchLabels, type EvalSums, type StepStats, type TrainerState } from './trainer';
import { VqVaeTrainer } from './vq-trainer';
import { DataParallelTrainer, type ReplicaSetup, type StartReplicas } from './data-parallel';

/** What a trainer draws after each epoch besides reconstructions. */
export interface EpochView {
  images: ImageSet;
  seed: number;
  /** The held-out image a traversal starts from. */
  imageIndex: number;
  /** Latent dims, most active first. */
  dimsByKl: readonly number[];
  /** How often each code was picked in the evaluation (a code model's). */
  codeCounts?: Float64Array;
}

/**
 * What the training loop, the evaluations and the model sessions need of a model
 * family's numeric core. The optional hooks are what only some families have; callers
 * test for the hook, never for the class.
 */
export interface EngineTrainer {
  /** Latent dims the per-dim KL figures count (VQ-VAE: positions of the code grid). */
  readonly latent: number;
  readonly classes: number;
  readonly inputSize: number;
  step(batch: Float32Array, n: number, labels?: BatchLabels): Promise<StepStats>;
  evaluate(batch: Float32Array, n: number, rng: Rng, labels?: BatchLabels): Promise<EvalSums>;
  iwaeLogLikelihood(batch: Float32Array, n: number, k: number, rng: Rng, labels?: BatchLabels): Promise<Float64Array>;
  reconstruct(batch: Float32Array, n: number, labels?: BatchLabels): Promise<Float32Array>;
  /** Per latent dim (or code position), the cost summed over the batch: KL, or −log π of the code. */
  klPerDimSums(batch: Float32Array, n: number, labels?: BatchLabels): Promise<ArrayLike<number>>;
  /** The images drawn after each epoch besides reconstructions (samples, and a traversal or codebook usage). */
  epochImages(view: EpochView): Promise<{ kind: ArtifactKind; image: RasterImage }[]>;
  exportState(): Promise<TrainerState>;
  importState(state: TrainerState): void;
  decoderSigma(): Promise<number | null>;
  dispose(): void;
  /** Called before each epoch's steps (VQ-VAE: its last priorEpochs train the prior). */
  beginEpoch?(epoch: number): void;
  /** A classifier q(y|x) (M2): the test accuracy is scored with it. */
  classify?(batch: Float32Array, n: number): Promise<{ labels: Int32Array; probabilities: Float32Array }>;
  /**
   * The normal draws iwaeLogLikelihood(·, n, k, rng) takes, drawn ahead (VaeTrainer.iwaeNoise):
   * with them another thread computes the same estimates (train/evaluate.ts).
   */
  iwaeNoise?(n: number, k: number, rng: Rng): Float32Array[];
  /** Threads the test IWAE bound may spread its batches over (data-parallel training's replicas). */
  iwaeThreads?(): Promise<IwaeThreads>;
  /** A code model's codebook and grid, as Explore shows it. */
  codeGrid?(): { codebookSize: number; grid: [number, number]; priorTrained: boolean };
}

const vqSpec = (config: RunConfig, images: ImageSet): VqSpec => ({
  kind: config.architecture,
  image: images.shape,
  hidden: config.hidden,
  codeDim: config.codeDim,
  positions: config.codePositions,
  conv: convDesignOf(config),
  ...(encoderInputOf(config) === 'centred' && { input: 'centred' as const }),
});

/** The trainer of each engine a family names (FamilyDescriptor.engine), and its check against the data. */
const ENGINES = {
  gaussian: {
    check: (config: RunConfig, images: ImageSet): void => checkVaeSpec(modelSpec(config, images)),
    create: (config: RunConfig, images: ImageSet) => new VaeTrainer(modelSpec(config, images), config),
  },
  codes: {
    check: (config: RunConfig, images: ImageSet): void => checkVqSpec(vqSpec(config, images)),
    create: (config: RunConfig, images: ImageSet) => new VqVaeTrainer(vqSpec(config, images), config),
  },
} satisfies Record<FamilyDescriptor['engine'], { check(config: RunConfig, images: ImageSet): void; create(config: RunConfig, images: ImageSet): EngineTrainer }>;

type Engines = typeof ENGINES;
/** A trainer with its engine's name, for the model sessions that need the engine's own methods. */
export type OpenedTrainer = { [K in keyof Engines]: { kind: K; trainer: ReturnType<Engines[K]['create']> } }[keyof Engines];

/** Refuses, naming the field, a model that cannot fit the data, before any tensor exists. */
export function checkModelFits(config: RunConfig, images: ImageSet): void {
  ENGINES[familyOf(config).engine].check(config, images);
}

/** The trainer a run config asks for on a data set (config-dependent extras already resolved). */
export function createTrainer(config: RunConfig, images: ImageSet): EngineTrainer {
  return ENGINES[familyOf(config).engine].create(config, images);
}

/** createTrainer, keeping the engine's own type for the model sessions. */
export function openTrainer(config: RunConfig, images: ImageSet): OpenedTrainer {
  const kind = familyOf(config).engine;
  return { kind, trainer: ENGINES[kind].create(config, images) } as OpenedTrainer;
}

/** Data-parallel training: how many threads, and how replicas start (Node: threads/replica-pool.ts). */
export interface ParallelOptions {
  threads: number;
  /** Resolves null when no replica could start (the run then trains on one thread). */
  start: (...args: Parameters<StartReplicas>) => Promise<Awaited<ReturnType<StartReplicas>> | null>;
}

/**
 * createTrainer across `parallel.threads` threads (VAE, cVAE, flows, M2, and the
 * VQ-VAE's autoencoder epochs); for one thread today's trainer itself. `threads` is
 * what the steps run on.
 */
export async function createParallelTrainer(
  config: RunConfig,
  images: ImageSet,
  parallel: ParallelOptions | undefined,
): Promise<{ trainer: EngineTrainer; threads: number }> {
  if (parallel === undefined || parallel.threads <= 1) return { trainer: createTrainer(config, images), threads: 1 };
  const opened = openTrainer(config, images);
  const local = opened.trainer;
  try {
    const shapes = local.parameterShapes();
    const setup: ReplicaSetup =
      opened.kind === 'codes' ? { engine: 'codes', spec: vqSpec(config, images), config, shapes } : { engine: 'gaussian', spec: modelSpec(config, images), config, shapes };
    const replicas = await parallel.start(parallel.threads, setup);
    if (replicas === null) return { trainer: local, threads: 1 };
    return { trainer: new DataParallelTrainer(local, replicas), threads: replicas.count };
  } catch (error) {
    local.dispose();
    throw error;
  }
}
