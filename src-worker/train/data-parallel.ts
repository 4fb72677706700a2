import type { Rng } from '../engine/random';
import type { VaeSpec } from '../model/vae';
import type { VqSpec } from '../model/vq';
import { ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON, type AdamMoments } from './adam';
import type { ArtifactKind } from './epoch-images';
import type { EngineTrainer, EpochView } from './engine-trainer';
import type { IwaeThreads } from './evaluate';
import type { RasterImage } from './grid';
import type { BatchLabels, EvalSums, StepInputs, StepStats, TrainerConfig, TrainerState } from './trainer';
import type { VqTrainerConfig } from './vq-trainer';

/**
 * Data-parallel training across threads. tfjs-backend-wasm runs its kernels on one
 * thread under Node, so the batch is split instead: each replica (a copy of the model
 * on a worker thread, with its own tfjs) computes the gradient of its contiguous shard
 * of rows at the weights in shared memory; this thread sums the gradients in a fixed
 * order (replica 1, 2, …), each weighted by its shard's share of the batch, and one
 * Adam step (PyTorch's formula, as train/adam.ts, fused in one pass) updates the
 * shared weights, each replica its own slice of them; the replicas read the new
 * weights before the next step. This thread computes no rows and no update: it draws
 * the noise, hands out the work and keeps the run's state, and the replicas are what
 * the cores run.
 *
 * The noise and corruption of every row are drawn here for the whole batch, so the
 * random numbers do not depend on the thread count; a run is reproducible for a seed
 * and a thread count, and one thread is today's trainer itself (no replica at all).
 *
 * The objective is each shard's own batch mean, weighted by its share: for the ELBO
 * and β-VAE (linear in the rows) that is the whole batch's gradient up to float
 * rounding. Free bits, capacity and M2's labelled/unlabelled means are nonlinear in
 * the batch means, so with several threads they are computed per shard (as every
 * data-parallel trainer does); one thread computes them over the whole batch.
 *
 * The VQ-VAE (its autoencoder epochs) splits the same way: each replica quantizes its
 * rows with the codebook this thread sends with the step and returns its gradient
 * (recon + β·commitment, linear in the rows) with its rows' z_e and codes; the
 * codebook's EMA and dead-code restarts then run here, once, on the whole batch's rows
 * in order, after the weights' update — as on one thread. Its prior epochs (a small
 * MADE on the codes) train here on one thread.
 *
 * The test IWAE bound runs on the replicas too (iwaeThreads, train/evaluate.ts).
 *
 * Evaluation, images and checkpoints use the local trainer, whose weights and moments
 * are brought up to date from the shared ones first. No Node API here: the threads
 * are behind GradientReplicas (src-worker/threads/replica-pool.ts under Node).
 */

/** A replica's answer: its shard's batch means and its gradient by trainable variable (null: none). */
export interface ReplicaGradients {
  loss: number;
  recon: number;
  /** The objective's third term: KL, or the VQ-VAE's commitment term. */
  kl: number;
  /** Valid until the next `gradients` call (views of shared memory). */
  grads: (Float32Array | null)[];
  /** A code model's rows: z_e [rows·L, e] and the codes picked [rows·L]. */
  codes?: { ze: Float32Array; codes: Int32Array };
}

/** One optimizer step, as every replica applies it to its slice of the weights. */
export interface AdamStep {
  /** The 1-based optimizer step (Adam's bias corrections). */
  stepNumber: number;
  learningRate: number;
  /** Each replica's share of the batch (0: it had no rows). */
  weights: number[];
}

/** An AdamStep with, [replica][variable], whether that replica's gradient of that variable counts. */
export interface AdamUpdate extends AdamStep {
  present: boolean[][];
}

/**
 * The step's loss: each replica's shard mean weighted by its share, summed in replica
 * order over the replicas that had rows. The coordinator reports it, and every replica
 * computes it the same way to tell whether the optimizer step is taken (it is when
 * finite), so both agree bit for bit.
 */
export function weightedLoss(losses: ArrayLike<number>, weights: readonly number[]): number {
  let loss = 0;
  for (let r = 0; r < weights.length; r++) if (weights[r]! > 0) loss += losses[r]! * weights[r]!;
  return loss;
}

/**
 * Model replicas on other threads. Weights, Adam's moments and the replicas'
 * gradients live in shared memory, every variable's values one after the other in the
 * trainable order; the replicas also apply the optimizer step, each to its own slice
 * of the weights, so no thread waits on one doing it all.
 */
export interface GradientReplicas extends IwaeThreads {
  readonly count: number;
  /** The weights the replicas compute at. */
  readonly parameters: Float32Array;
  /** Adam's first and second moments, same layout. */
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** Call after writing `parameters` here: the replicas take them before their next gradient. */
  published(): void;
  /**
   * Shard i goes to replica i (null: no rows for it this step); answers in the same
   * order. `codebook`: what a code model's replicas quantize with this step. With
   * `update`, once every gradient is in, the replicas also apply the optimizer step —
   * Σ_r w_r g_r in replica order, then Adam, each on its slice of the shared weights —
   * when the step's weightedLoss is finite, before answering (no second round trip);
   * the weights are then what the next call computes at.
   */
  gradients(shards: readonly (StepInputs | null)[], codebook?: Float32Array, update?: AdamStep): Promise<(ReplicaGradients | null)[]>;
  close(): void;
}

/**
 * Elements [from, to) of the optimizer step: the weighted sum of the replicas'
 * gradients in replica order, then Adam as train/adam.ts computes it (PyTorch's
 * formula). Elementwise, so how the elements are split between threads changes no
 * number. A variable no replica has a gradient for keeps its weights and moments.
 * `grads[r]`: replica r's gradient block.
 */
export function adamRange(
  step: AdamUpdate,
  from: number,
  to: number,
  sizes: readonly number[],
  grads: readonly Float32Array[],
  state: { parameters: Float32Array; m: Float32Array; v: Float32Array },
): void {
  const stepSize = step.learningRate / (1 - ADAM_BETA1 ** step.stepNumber);
  const secondCorrection = 1 / (1 - ADAM_BETA2 ** step.stepNumber);
  const { parameters: params, m, v } = state;
  let offset = 0;
  for (let i = 0; i < sizes.length; i++) {
    const size = sizes[i]!;
    const start = Math.max(from, offset);
    const end = Math.min(to, offset + size);
    offset += size;
    if (start >= end) continue;
    const sources: Float32Array[] = [];
    const weights: number[] = [];
    grads.forEach((g, r) => {
      if (step.weights[r]! > 0 && step.present[r]?.[i] === true) {
        sources.push(g);
        weights.push(step.weights[r]!);
      }
    });
    if (sources.length > 0) adamSpan(start, end, sources, weights, params, m, v, stepSize, secondCorrection);
  }
}

/**
 * adamRange's inner loop over one variable's elements [start, end): monomorphic, no
 * closure, with one and two replicas' gradients read directly (the common cases: no
 * array of sources in the loop). Every form computes the same numbers: the weighted sum
 * in replica order, then Adam with the moments rounded to float32 as they are stored
 * (like tfjs's Adam).
 */
function adamSpan(
  start: number,
  end: number,
  sources: Float32Array[],
  weights: number[],
  params: Float32Array,
  m: Float32Array,
  v: Float32Array,
  stepSize: number,
  secondCorrection: number,
): void {
  if (sources.length === 1) adamSpan1(start, end, sources[0]!, weights[0]!, params, m, v, stepSize, secondCorrection);
  else if (sources.length === 2) adamSpan2(start, end, sources[0]!, weights[0]!, sources[1]!, weights[1]!, params, m, v, stepSize, secondCorrection);
  else adamSpanN(start, end, sources, weights, params, m, v, stepSize, secondCorrection);
}

function adamSpan1(start: number, end: number, a: Float32Array, wa: number, params: Float32Array, m: Float32Array, v: Float32Array, stepSize: number, secondCorrection: number): void {
  const b1 = ADAM_BETA1;
  const b2 = ADAM_BETA2;
  for (let k = start; k < end; k++) {
    const g = wa * a[k]!;
    const mk = (m[k] = b1 * m[k]! + (1 - b1) * g);
    const vk = (v[k] = b2 * v[k]! + (1 - b2) * g * g);
    params[k] = params[k]! - (Math.fround(mk) / (Math.sqrt(Math.fround(vk) * secondCorrection) + ADAM_EPSILON)) * stepSize;
  }
}

function adamSpan2(
  start: number,
  end: number,
  a: Float32Array,
  wa: number,
  b: Float32Array,
  wb: number,
  params: Float32Array,
  m: Float32Array,
  v: Float32Array,
  stepSize: number,
  secondCorrection: number,
): void {
  const b1 = ADAM_BETA1;
  const b2 = ADAM_BETA2;
  for (let k = start; k < end; k++) {
    const g = wa * a[k]! + wb * b[k]!;
    const mk = (m[k] = b1 * m[k]! + (1 - b1) * g);
    const vk = (v[k] = b2 * v[k]! + (1 - b2) * g * g);
    params[k] = params[k]! - (Math.fround(mk) / (Math.sqrt(Math.fround(vk) * secondCorrection) + ADAM_EPSILON)) * stepSize;
  }
}

function adamSpanN(
  start: number,
  end: number,
  sources: Float32Array[],
  weights: number[],
  params: Float32Array,
  m: Float32Array,
  v: Float32Array,
  stepSize: number,
  secondCorrection: number,
): void {
  const b1 = ADAM_BETA1;
  const b2 = ADAM_BETA2;
  const count = sources.length;
  for (let k = start; k < end; k++) {
    let g = weights[0]! * sources[0]![k]!;
    for (let r = 1; r < count; r++) g += weights[r]! * sources[r]![k]!;
    const mk = (m[k] = b1 * m[k]! + (1 - b1) * g);
    const vk = (v[k] = b2 * v[k]! + (1 - b2) * g * g);
    params[k] = params[k]! - (Math.fround(mk) / (Math.sqrt(Math.fround(vk) * secondCorrection) + ADAM_EPSILON)) * stepSize;
  }
}

/**
 * What a replica is built from: the trainer's engine, spec and config (its weights come
 * from `parameters`), and the trainable variables' shapes (a replica that builds others
 * refuses to start).
 */
export type ReplicaSetup =
  | { engine?: 'gaussian'; spec: VaeSpec; config: TrainerConfig; shapes: number[][] }
  | { engine: 'codes'; spec: VqSpec; config: VqTrainerConfig; shapes: number[][] };

/**
 * What the coordinator needs of its local trainer (VaeTrainer, VqVaeTrainer): the
 * streams' draws for a step, its Adam's moments and learning rate, its weights.
 */
export interface SplittableTrainer extends EngineTrainer {
  readonly noiseRowsPerImage: number;
  /** M2's classifier (the test accuracy is scored with it). */
  readonly classifier?: unknown;
  drawStep(batch: Float32Array, n: number, labels?: BatchLabels): StepInputs;
  learningRate(stepNumber: number): number;
  exportMoments(): Promise<AdamMoments>;
  importMoments(moments: AdamMoments): void;
  parameterShapes(): number[][];
  parameterValues(): Promise<Float32Array[]>;
  setParameterValues(values: readonly Float32Array[]): void;
  /** Whether this epoch's steps split (the VQ-VAE's prior epochs train on this thread). Absent: always. */
  splitsStep?(): boolean;
  /** A code model's codebook, sent with every step. */
  codebookValues?(): Promise<Float32Array>;
  /** A code model's step after the weights' update: the codebook's, from the replicas' rows in order. */
  finishSplitStep?(stats: StepStats, parts: readonly { ze: Float32Array; codes: Int32Array }[], updated: boolean): Promise<StepStats>;
}

/** Starts `count` replicas (Node: worker threads). */
export type StartReplicas = (count: number, setup: ReplicaSetup) => Promise<GradientReplicas>;

/**
 * Row ranges of `shards` contiguous shards of n rows, as even as possible, the larger
 * ones first (so the first is never empty).
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

/** Rows [from, to) of a step's inputs (`noisePerImage`: noise values per image, M2 has a row per class). */
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

/** A trainer (VAE, cVAE, flows, M2, VQ-VAE) whose steps run on `replicas.count` threads. */
export class DataParallelTrainer implements EngineTrainer {
  /** Where the current weights and moments are: the local trainer's (at the start, after a resume) or the shared arrays. */
  private current: 'local' | 'shared' = 'local';
  /** The local trainer's weights are behind the shared ones. */
  private localBehind = false;
  private step_ = 0;
  private readonly offsets: number[];
  private readonly sizes: number[];
  readonly classify?: EngineTrainer['classify'];
  readonly beginEpoch?: EngineTrainer['beginEpoch'];
  readonly codeGrid?: EngineTrainer['codeGrid'];

  constructor(
    readonly local: SplittableTrainer,
    private readonly replicas: GradientReplicas,
  ) {
    this.sizes = local.parameterShapes().map((shape) => shape.reduce((a, b) => a * b, 1));
    this.offsets = [];
    let total = 0;
    for (const size of this.sizes) {
      this.offsets.push(total);
      total += size;
    }
    if (replicas.parameters.length !== total) throw new Error(`the replicas hold ${replicas.parameters.length} weights, the model ${total}`);
    const classify = local.classify?.bind(local);
    if (local.classifier && classify) {
      this.classify = async (batch, n) => {
        this.catchUpLocal();
        return classify(batch, n);
      };
    }
    if (local.beginEpoch) this.beginEpoch = local.beginEpoch.bind(local);
    if (local.codeGrid) this.codeGrid = local.codeGrid.bind(local);
    if (local.iwaeNoise) {
      this.iwaeNoise = local.iwaeNoise.bind(local);
      this.iwaeThreads = async () => {
        if (this.current === 'local') await this.takeFromLocal();
        return this.replicas;
      };
    }
  }

  /** Threads a step runs on. */
  get threads(): number {
    return this.replicas.count;
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

  /** Moves weights, moments and step count from the local trainer into the shared arrays (first step, after a resume). */
  private async takeFromLocal(): Promise<void> {
    const params = await this.local.parameterValues();
    const moments = await this.local.exportMoments();
    params.forEach((values, i) => this.replicas.parameters.set(values, this.offsets[i]));
    moments.m.forEach((values, i) => this.replicas.m.set(values, this.offsets[i]));
    moments.v.forEach((values, i) => this.replicas.v.set(values, this.offsets[i]));
    this.step_ = moments.step;
    this.replicas.published();
    this.current = 'shared';
    this.localBehind = false;
  }

  private views(values: Float32Array): Float32Array[] {
    return this.offsets.map((offset, i) => values.subarray(offset, offset + this.sizes[i]!));
  }

  /** Gives the local trainer the shared weights before it evaluates or draws. */
  private catchUpLocal(): void {
    if (this.current !== 'shared' || !this.localBehind) return;
    this.local.setParameterValues(this.views(this.replicas.parameters));
    this.localBehind = false;
  }

  async step(batch: Float32Array, n: number, labels?: BatchLabels): Promise<StepStats> {
    const local = this.local;
    if (local.splitsStep?.() === false) {
      // Trains what the replicas do not hold (the VQ-VAE's prior) at the current weights.
      this.catchUpLocal();
      return local.step(batch, n, labels);
    }
    if (this.current === 'local') await this.takeFromLocal();
    const stepNumber = this.step_ + 1;
    const inputs = { ...local.drawStep(batch, n, labels), stepNumber };
    const ranges = shardRanges(n, this.replicas.count);
    const noisePerImage = local.noiseRowsPerImage * local.latent;
    const weights = ranges.map(([from, to]) => (to - from) / n);
    // The replicas take the optimizer step themselves once every gradient is in (when the loss is finite).
    const answers = await this.replicas.gradients(
      ranges.map(([from, to]) => (to > from ? sliceStep(inputs, from, to, local.inputSize, noisePerImage) : null)),
      await local.codebookValues?.(),
      { stepNumber, learningRate: local.learningRate(stepNumber), weights },
    );
    const stats = { loss: weightedLoss(answers.map((answer) => answer?.loss ?? 0), weights), recon: 0, kl: 0 };
    answers.forEach((answer, r) => {
      if (answer === null) return;
      stats.recon += answer.recon * weights[r]!;
      stats.kl += answer.kl * weights[r]!;
    });
    const updated = Number.isFinite(stats.loss);
    if (updated) {
      this.step_ = stepNumber;
      this.localBehind = true;
    }
    if (!local.finishSplitStep) return stats;
    const parts = answers.flatMap((answer, r) => {
      if (answer === null) return [];
      if (answer.codes === undefined) throw new Error(`training thread ${r + 1} sent no codes for a code model's step`);
      return [answer.codes];
    });
    return local.finishSplitStep(stats, parts, updated);
  }

  evaluate(batch: Float32Array, n: number, rng: Rng, labels?: BatchLabels): Promise<EvalSums> {
    this.catchUpLocal();
    return this.local.evaluate(batch, n, rng, labels);
  }
  iwaeLogLikelihood(batch: Float32Array, n: number, k: number, rng: Rng, labels?: BatchLabels): Promise<Float64Array> {
    this.catchUpLocal();
    return this.local.iwaeLogLikelihood(batch, n, k, rng, labels);
  }
  /** A Gaussian model's IWAE draws (a code model has none, and no IWAE threads). */
  readonly iwaeNoise?: (n: number, k: number, rng: Rng) => Float32Array[];
  /** The replicas, at the current weights, as the IWAE bound's threads. */
  readonly iwaeThreads?: () => Promise<IwaeThreads>;
  reconstruct(batch: Float32Array, n: number, labels?: BatchLabels): Promise<Float32Array> {
    this.catchUpLocal();
    return this.local.reconstruct(batch, n, labels);
  }
  klPerDimSums(batch: Float32Array, n: number, labels?: BatchLabels): Promise<ArrayLike<number>> {
    this.catchUpLocal();
    return this.local.klPerDimSums(batch, n, labels);
  }
  epochImages(view: EpochView): Promise<{ kind: ArtifactKind; image: RasterImage }[]> {
    this.catchUpLocal();
    return this.local.epochImages(view);
  }
  decoderSigma(): Promise<number | null> {
    this.catchUpLocal();
    return this.local.decoderSigma();
  }
  exportState(): Promise<TrainerState> {
    if (this.current === 'shared') {
      this.catchUpLocal();
      this.local.importMoments({ step: this.step_, m: this.views(this.replicas.m), v: this.views(this.replicas.v) });
    }
    return this.local.exportState();
  }
  importState(state: TrainerState): void {
    this.local.importState(state);
    this.current = 'local';
  }
  dispose(): void {
    this.replicas.close();
    this.local.dispose();
  }
}
