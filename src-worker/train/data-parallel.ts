import { tf } from '../engine/tf';
import type { Rng } from '../engine/random';
import type { VaeSpec } from '../model/vae';
import type { ArtifactKind } from './artifacts';
import type { EngineTrainer, EpochView } from './engine-trainer';
import type { RasterImage } from './grid';
import type { BatchLabels, EvalSums, StepInputs, StepStats, TrainerConfig, TrainerState, VaeTrainer } from './trainer';

/**
 * Data-parallel training across threads. tfjs-backend-wasm runs its kernels on one
 * thread under Node, so the batch is split instead: this thread and each replica (a
 * copy of the model on another thread, with its own tfjs) compute the gradient of
 * their rows, the gradients are summed in a fixed order (this thread's rows, then
 * replica 1, 2, …) weighted by each shard's share of the batch, and one Adam step on
 * this thread's weights follows; the replicas take the new weights before the next
 * step. The noise and corruption of every row are drawn here for the whole batch, so
 * the random numbers do not depend on the thread count; a run is reproducible for a
 * seed and a thread count, and one thread is today's trainer itself (no replica).
 *
 * The objective is each shard's own batch mean, weighted by its share: for the ELBO
 * and β-VAE (linear in the rows) that is the whole batch's gradient up to float
 * rounding. Free bits, capacity and M2's labelled/unlabelled means are nonlinear in
 * the batch means, so with several threads they are computed per shard (as every
 * data-parallel trainer does); one thread computes them over the whole batch.
 *
 * No Node API here: the threads themselves are behind GradientReplicas
 * (src-worker/threads/replica-pool.ts under Node; a browser would use Web Workers).
 */

/** A replica's answer: its shard's batch means and its gradient by trainable variable (null: none). */
export interface ReplicaGradients {
  loss: number;
  recon: number;
  kl: number;
  /** Valid until the next `gradients` call (views of shared memory). */
  grads: (Float32Array | null)[];
}

/** Model replicas on other threads. */
export interface GradientReplicas {
  readonly count: number;
  /** Every replica computes its next gradient at these weights (trainable order). */
  setParameters(values: readonly Float32Array[]): Promise<void>;
  /**
   * Shard i goes to replica i (null: no rows for it this step). The shards are handed
   * over before this returns, so the caller computes its own rows meanwhile.
   */
  gradients(shards: readonly (StepInputs | null)[]): Promise<(ReplicaGradients | null)[]>;
  close(): void;
}

/** What a replica is built from: the trainer's spec and config (its weights come from setParameters). */
export interface ReplicaSetup {
  spec: VaeSpec;
  config: TrainerConfig;
  /** The trainable variables' shapes: a replica that builds others refuses to start. */
  shapes: number[][];
}

/** Starts `count` replicas (Node: worker threads). */
export type StartReplicas = (count: number, setup: ReplicaSetup) => Promise<GradientReplicas>;

/**
 * Row ranges of `shards` contiguous shards of n rows, as even as possible, the larger
 * ones first (so the first, this thread's, is never empty).
 */
export function shardRanges(n: number, shards: number): [number, number][] {
  const base = Math.floor(n / shards);
  const extra = n % shards;
  const ranges: [number, number][] = [];
  let from = 0;
  for (let s = 0; s < shards; s++) {
    const to = from + base + (s < extra ? 1 : 0);
    ranges.push([from, to]);
    from = to;
  }
  return ranges;
}

/** Rows [from, to) of a step's inputs (noise rows per image: M2 has one per class). */
export function sliceStep(inputs: StepInputs, from: number, to: number, inputSize: number, noisePerImage: number): StepInputs {
  const batch = inputs.batch.subarray(from * inputSize, to * inputSize);
  return {
    batch,
    corrupted: inputs.corrupted === inputs.batch ? batch : inputs.corrupted.subarray(from * inputSize, to * inputSize),
    eps: inputs.eps.subarray(from * noisePerImage, to * noisePerImage),
    n: to - from,
    ...(inputs.labels === undefined ? {} : { labels: Int32Array.from(Array.prototype.slice.call(inputs.labels, from, to) as number[]) }),
    stepNumber: inputs.stepNumber,
  };
}

/** A Gaussian-latent trainer (VAE, cVAE, flows, M2) whose steps run on this thread and `replicas.count` others. */
export class DataParallelTrainer implements EngineTrainer {
  private weightsStale = true;
  readonly classify?: VaeTrainer['classify'];

  constructor(
    readonly local: VaeTrainer,
    private readonly replicas: GradientReplicas,
  ) {
    if (local.classifier) this.classify = local.classify.bind(local);
  }

  /** Threads a step runs on: this one and the replicas. */
  get threads(): number {
    return this.replicas.count + 1;
  }

  get latent(): number {
    return this.local.latent;
  }
  get classes(): number {
    return this.local.classes;
  }
  get inputSize(): number {
    return this.local.inputSize;
  }

  async step(batch: Float32Array, n: number, labels?: BatchLabels): Promise<StepStats> {
    const local = this.local;
    const inputs = local.drawStep(batch, n, labels);
    if (this.weightsStale) {
      await this.replicas.setParameters(await local.parameterValues());
      this.weightsStale = false;
    }
    const ranges = shardRanges(n, this.threads);
    const noisePerImage = local.noiseRowsPerImage * local.latent;
    const shards = ranges.map(([from, to]) => (to > from ? sliceStep(inputs, from, to, local.inputSize, noisePerImage) : null));
    // The replicas start on their rows first; this thread then computes its own.
    const remote = this.replicas.gradients(shards.slice(1));
    const mine = await local.gradients(shards[0]!);
    const theirs = await remote.catch((error: unknown) => {
      tf.dispose(mine.grads.filter((g) => g !== undefined));
      throw error;
    });
    const weights = ranges.map(([from, to]) => (to - from) / n);
    const stats = { loss: mine.loss * weights[0]!, recon: mine.recon * weights[0]!, kl: mine.kl * weights[0]! };
    theirs.forEach((answer, r) => {
      if (answer === null) return;
      const w = weights[r + 1]!;
      stats.loss += answer.loss * w;
      stats.recon += answer.recon * w;
      stats.kl += answer.kl * w;
    });
    const shapes = local.parameterShapes();
    // Σ_s w_s g_s in shard order, one variable at a time.
    const summed = mine.grads.map((own, i) =>
      tf.tidy(() => {
        let total: tf.Tensor | undefined = own === undefined ? undefined : tf.mul(own, weights[0]!);
        theirs.forEach((answer, r) => {
          const values = answer?.grads[i];
          if (values === null || values === undefined) return;
          const term = tf.mul(tf.tensor(values, shapes[i]), weights[r + 1]!);
          total = total === undefined ? term : tf.add(total, term);
        });
        return total;
      }),
    );
    tf.dispose(mine.grads.filter((g) => g !== undefined));
    try {
      if (Number.isFinite(stats.loss)) {
        local.applyGradients(summed, inputs.stepNumber);
        this.weightsStale = true;
      }
      return stats;
    } finally {
      tf.dispose(summed.filter((g) => g !== undefined));
    }
  }

  evaluate(batch: Float32Array, n: number, rng: Rng, labels?: BatchLabels): Promise<EvalSums> {
    return this.local.evaluate(batch, n, rng, labels);
  }
  iwaeLogLikelihood(batch: Float32Array, n: number, k: number, rng: Rng, labels?: BatchLabels): Promise<Float64Array> {
    return this.local.iwaeLogLikelihood(batch, n, k, rng, labels);
  }
  reconstruct(batch: Float32Array, n: number, labels?: BatchLabels): Promise<Float32Array> {
    return this.local.reconstruct(batch, n, labels);
  }
  klPerDimSums(batch: Float32Array, n: number, labels?: BatchLabels): Promise<ArrayLike<number>> {
    return this.local.klPerDimSums(batch, n, labels);
  }
  epochImages(view: EpochView): Promise<{ kind: ArtifactKind; image: RasterImage }[]> {
    return this.local.epochImages(view);
  }
  exportState(): Promise<TrainerState> {
    return this.local.exportState();
  }
  importState(state: TrainerState): void {
    this.local.importState(state);
    this.weightsStale = true;
  }
  decoderSigma(): Promise<number | null> {
    return this.local.decoderSigma();
  }
  dispose(): void {
    this.replicas.close();
    this.local.dispose();
  }
}
