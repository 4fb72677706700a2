import type { AdamUpdate, ReplicaSetup } from '../train/data-parallel';

/**
 * What a training replica thread (train-thread.ts) and its pool (replica-pool.ts)
 * exchange. Weights and gradients travel through shared memory, never through
 * messages: `params` holds the weights (every variable's values, one after the other,
 * in the trainable order), `m` and `v` Adam's moments, `grads` one such block per
 * replica, and `control[0]` the weights' version, bumped (atomically) after every
 * write.
 */
export type ReplicaThreadData = ReplicaSetup & {
  index: number;
  backend: 'wasm' | 'cpu';
  /** tfjs-backend-wasm's .wasm folder, the same local files the worker loads (never the network). */
  wasmDir?: string;
  params: SharedArrayBuffer;
  m: SharedArrayBuffer;
  v: SharedArrayBuffer;
  grads: SharedArrayBuffer;
  /** How many replicas write into `grads`. */
  count: number;
  control: SharedArrayBuffer;
};

/** One step's rows; `corrupted` null when the encoder sees the clean batch. */
export interface StepRequest {
  type: 'step';
  id: number;
  batch: Float32Array;
  corrupted: Float32Array | null;
  eps: Float32Array;
  n: number;
  labels: Int32Array | null;
  stepNumber: number;
  /** A code model's codebook [K·e] for this step. */
  codebook: Float32Array | null;
}

/** The optimizer step on elements [from, to) of the weights. */
export interface UpdateRequest {
  type: 'update';
  id: number;
  step: AdamUpdate;
  from: number;
  to: number;
}

export type ToReplica = StepRequest | UpdateRequest;

export type ToPool =
  | { type: 'ready' }
  | { type: 'updated'; id: number }
  | { type: 'grads'; id: number; loss: number; recon: number; kl: number; present: boolean[]; codes: { ze: Float32Array; codes: Int32Array } | null }
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
