import type { ChainNoise, ChainRows, ChainSetup } from '../impute/chain';
import type { AdamStep, ReplicaSetup } from '../train/data-parallel';

/**
 * What a training replica thread (train-thread.ts) and its pool (replica-pool.ts)
 * exchange (and the inference threads of evaluations, which use the same entry and the
 * same shared weights without gradients). Weights and gradients travel through shared memory, never through
 * messages: `params` holds the weights (every variable's values, one after the other,
 * in the trainable order), `m` and `v` Adam's moments, `grads` one such block per
 * replica (each its own buffer), and `control` the weights' version, bumped (atomically) after every
 * write, and the step's barrier (CONTROL). `exchange` holds what every replica of a
 * step needs of the others before the optimizer step: their losses (float64, one per
 * replica), then which variables each has a gradient of (one byte per replica and
 * variable).
 */
export type ReplicaThreadData = ReplicaSetup & {
  index: number;
  backend: 'wasm' | 'cpu';
  /** tfjs-backend-wasm's .wasm folder, the same local files the worker loads (never the network). */
  wasmDir?: string;
  params: SharedArrayBuffer;
  m: SharedArrayBuffer;
  v: SharedArrayBuffer;
  /** Each replica's gradient, one buffer per replica; none for threads that only infer (no gradient, no optimizer step). */
  grads: SharedArrayBuffer[];
  /** How many replicas write into `grads`. */
  count: number;
  /** Int32 × CONTROL.length. */
  control: SharedArrayBuffer;
  /** Empty for threads that only infer. */
  exchange: SharedArrayBuffer;
};

/** Slots of `control`. */
export const CONTROL = {
  /** The weights' version. */
  version: 0,
  /** Replicas at the step's barrier so far. */
  arrived: 1,
  /** Bumped by the last replica to arrive, which releases the others. */
  generation: 2,
  /** 1 once the pool has failed or closed: a replica waiting at the barrier gives up. */
  aborted: 3,
  length: 4,
} as const;

/** Bytes of `exchange` for `count` replicas of a model with `variables` trainable variables. */
export function exchangeBytes(count: number, variables: number): number {
  return count * 8 + count * variables;
}

/**
 * Where a step's rows lie in a replica's rows block (floats from its start): the images,
 * their corrupted copy (none when the encoder sees the images) and the noise, each from a
 * 16-byte boundary (V8 copies between shared and other memory a word at a time only where
 * both are equally aligned: replica-pool.ts, the gradient blocks), and the floats in all.
 */
export function rowsLayout(batch: number, corrupted: number, eps: number): { corrupted: number; eps: number; total: number } {
  const up = (floats: number): number => Math.ceil(floats / 4) * 4;
  return { corrupted: up(batch), eps: up(batch) + up(corrupted), total: up(batch) + up(corrupted) + up(eps) };
}

/**
 * One step. Its rows are in the replica's rows block, shared memory the coordinator
 * writes before it sends the step (rowsLayout): no buffer of rows is made or moved a step
 * (at batch 128 of 64×64×3 they were 3 MB a step in each replica's message, memory outside
 * V8's heap that counts towards a full collection). The replica reads them into its
 * tensors before it answers, and the coordinator writes the next step's only after
 * every answer, so one block serves every step.
 */
export interface StepRequest {
  type: 'step';
  id: number;
  /** The replica's rows block when it is new (its first step, or a larger shard's); null: the one it has. */
  rowsBlock: SharedArrayBuffer | null;
  /** Floats of the images, of their corrupted copy (null: the encoder sees the images) and of the noise. */
  batchLength: number;
  corruptedLength: number | null;
  epsLength: number;
  n: number;
  labels: Int32Array | null;
  stepNumber: number;
  /** A code model's codebook [K·e] for this step. */
  codebook: Float32Array | null;
  /**
   * Then the optimizer step on elements [from, to) of the weights, once every replica's
   * gradient is in (all `count` replicas get the step, n = 0 for one without rows).
   */
  update: { step: AdamStep; from: number; to: number } | null;
}

/**
 * IWAE estimates of one batch at the shared weights (train/evaluate.ts): `noise` holds the
 * normal draws VaeTrainer.iwaeNoise made for it on the coordinator, so the thread computes
 * exactly what the coordinator would.
 */
export interface IwaeRequest {
  type: 'iwae';
  id: number;
  batch: Float32Array;
  n: number;
  k: number;
  noise: Float32Array[];
  labels: Int32Array | null;
}

/** Imputation chains a thread holds (impute/chain.ts): open some, move them an iteration per noise, close them. */
export type ChainsRequest =
  | { type: 'chains-open'; id: number; key: number; setup: ChainSetup }
  | { type: 'chains-step'; id: number; key: number; noises: ChainNoise[] }
  | { type: 'chains-close'; id: number; key: number };

/**
 * Posterior means of a batch of images ('encode': Explore's latent map, inference/session.ts
 * encodeMeans) or decoder means of a batch of codes ('decode': its sample grids and manifold,
 * inference/explore.ts decodeAll).
 */
interface LatentRows {
  id: number;
  rows: Float32Array;
  n: number;
  labels: Int32Array | null;
}
export type LatentRequest = (LatentRows & { type: 'encode' }) | (LatentRows & { type: 'decode' });

export type ToReplica = StepRequest | IwaeRequest | ChainsRequest | LatentRequest;

export type ToPool =
  | { type: 'ready' }
  | { type: 'iwae'; id: number; values: Float64Array }
  | { type: 'chains'; id: number; rows: ChainRows[] | null }
  | { type: 'latent'; id: number; values: Float32Array }
  | { type: 'grads'; id: number; loss: number; recon: number; kl: number; present: boolean[]; codes: { ze: Float32Array; codes: Int32Array } | null; marks?: Record<string, number> }
  | { type: 'failed'; id: number | null; message: string };

/** Offsets of each variable's values in a flat block, and the block's length. */
export function layout(shapes: readonly number[][]): { offsets: number[]; sizes: number[]; total: number } {
  const sizes = shapes.map((shape) => shape.reduce((a, b) => a * b, 1));
  const offsets: number[] = [];
  let total = 0;
  for (const size of sizes) {
    offsets.push(total);
    total += size;
  }
  return { offsets, sizes, total };
}
