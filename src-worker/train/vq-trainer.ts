import type { RunConfig } from '@shared/config';
import { decoderHead } from '@shared/likelihood';
import { tf } from '../engine/tf';
import { createRng, STREAM, type Rng } from '../engine/random';
import { copyValues, takeValues } from '../engine/read';
import { createMadePrior, sampleMade, type MadePrior } from '../model/made';
import { createVqNetworks, type VqNetworks, type VqSpec } from '../model/vq';
import { corruptBatch } from '../objectives/corrupt';
import { createDecoder, type TrainableDecoder } from '../objectives/decoders';
import { commitment, emaUpdate, nearestCodes, perplexity, restartCodes, straightThrough, type EmaState } from '../objectives/vq';
import { learningRateAt } from '../objectives/schedule';
import { assignWeights, weightShapes, weightValues } from './trainable-weights';
import { Adam } from './adam';
import { codebookChart, SAMPLE_COUNT, type ArtifactKind } from './epoch-images';
import type { EpochView } from './engine-trainer';
import { tileImages, type RasterImage } from './grid';
import type { AdamMoments } from './adam';
import type { EvalSums, StepGradients, StepInputs, StepStats, TensorRecord, TrainerConfig, TrainerState } from './trainer';

/**
 * The VQ-VAE's numeric core (van den Oord 2017), trained by the same loop as the VAE:
 * epochs 1…E−P train encoder, decoder and (by EMA, not by gradient) the codebook; the
 * last P = priorEpochs epochs train the autoregressive prior over the code grid with the
 * autoencoder frozen. q(k|x) is deterministic, so KL(q ‖ p) = −log p(k(x)): L·log K under
 * the uniform prior of the first phase, −log π(k(x)) once the prior is trained; the bound
 * log p(x) ≥ log p(x|z_q(x)) + log π(k(x)) is exact for the model, and k samples add nothing.
 */
export type VqTrainerConfig = TrainerConfig & Pick<RunConfig, 'epochs' | 'priorEpochs' | 'codebookSize' | 'codeDim' | 'commitment' | 'codebookDecay'>;

/** A code is dead when fewer than this many vectors per batch (EMA) pick it. */
export const DEAD_CODE_THRESHOLD = 1;
const PRIOR_HIDDEN = 256;

/** codeGradients' answer: a step's gradient (kl: the commitment term), with the rows' z_e [n·L, e] and codes [n·L]. */
export interface CodeGradients extends StepGradients {
  ze: tf.Tensor2D;
  codes: tf.Tensor1D;
}

export class VqVaeTrainer {
  readonly nets: VqNetworks;
  readonly decoder: TrainableDecoder;
  readonly prior: MadePrior;
  readonly ema: EmaState;
  readonly codes: number;
  private readonly trainable: tf.Variable[];
  private readonly adam: Adam;
  private readonly priorAdam: Adam;
  /** Picks the encoder outputs that restart dead codes (the VAE's reparameterization stream, unused here). */
  private readonly restarts: Rng;
  private readonly corruption: Rng;
  private phase: 'autoencoder' | 'prior' = 'autoencoder';

  constructor(
    spec: VqSpec,
    private readonly config: VqTrainerConfig,
  ) {
    this.nets = createVqNetworks({ ...spec, output: decoderHead(config, spec.image.channels) }, createRng(config.seed, STREAM.init));
    this.decoder = createDecoder(config, this.nets.inputSize);
    this.codes = config.codebookSize;
    const init = createRng(config.seed, STREAM.classifierInit);
    // The codebook starts as unit-scale noise, like the encoder's outputs; dead codes
    // are then moved onto real outputs by the restarts.
    const K = this.codes;
    const e = config.codeDim;
    const start = init.normals(K * e);
    // tf.variable copies its value: the tidy frees the starting tensors.
    this.ema = tf.tidy(() => ({
      codebook: tf.variable(tf.tensor2d(start, [K, e]), false, `vq/codebook#${nextId++}`),
      clusterSize: tf.variable(tf.ones([K]), false, `vq/cluster#${nextId++}`),
      embedSum: tf.variable(tf.tensor2d(start, [K, e]), false, `vq/embed#${nextId++}`),
    }));
    this.prior = createMadePrior(this.nets.positions, K, PRIOR_HIDDEN, init);
    this.trainable = [...this.nets.variables, ...this.decoder.variables];
    this.adam = new Adam(this.trainable);
    this.priorAdam = new Adam(this.prior.variables);
    this.restarts = createRng(config.seed, STREAM.noise);
    this.corruption = createRng(config.seed, STREAM.corrupt);
  }

  /** Positions of the code grid: the "latent dims" the per-dim KL figures count. */
  get latent(): number {
    return this.nets.positions;
  }

  get classes(): number {
    return 0;
  }

  get inputSize(): number {
    return this.nets.inputSize;
  }

  get stepsDone(): number {
    return this.adam.step + this.priorAdam.step;
  }

  /** Whether the prior has taken a step (else the uniform prior scores the codes). */
  get priorTrained(): boolean {
    return this.priorAdam.step > 0;
  }

  /** The phase of a 1-based epoch: the last priorEpochs train the prior. */
  beginEpoch(epoch: number): void {
    this.phase = epoch > this.config.epochs - this.config.priorEpochs ? 'prior' : 'autoencoder';
  }

  decoderSigma(): Promise<number | null> {
    return this.decoder.sigma();
  }

  /** z_e, the codes and z_q of a batch (call inside a tidy). */
  private quantize(x: tf.Tensor2D): { ze: tf.Tensor2D; codes: tf.Tensor1D; zq: tf.Tensor2D } {
    const ze = this.nets.encode(x);
    const codes = nearestCodes(ze, this.ema.codebook as tf.Tensor2D);
    return { ze, codes, zq: tf.gather(this.ema.codebook, codes) as tf.Tensor2D };
  }

  /** −log p(k) per image and per position: the prior's, or log K each under the uniform one. [N, L]. */
  private codeNll(codes: tf.Tensor1D, n: number): tf.Tensor2D {
    return tf.tidy(() => {
      const L = this.nets.positions;
      if (!this.priorTrained) return tf.fill([n, L], Math.log(this.codes)) as tf.Tensor2D;
      const oneHot = tf.cast(tf.oneHot(codes, this.codes), 'float32');
      const logQ = tf.logSoftmax(this.prior.logits(tf.reshape(oneHot, [n, L * this.codes]) as tf.Tensor2D));
      return tf.neg(tf.sum(tf.mul(logQ, tf.reshape(oneHot, [n, L, this.codes])), 2)) as tf.Tensor2D;
    });
  }

  async step(batch: Float32Array, n: number): Promise<StepStats> {
    return this.phase === 'prior' ? this.priorStep(batch, n) : this.autoencoderStep(batch, n);
  }

  /**
   * What autoencoder step `adam.step + 1` draws from the trainer's own streams: the
   * corrupted copy the encoder sees (no noise: q(k|x) is deterministic). Drawn once for
   * the whole batch, whichever thread then computes which rows.
   */
  drawStep(batch: Float32Array, n: number): StepInputs {
    const corrupted = this.config.denoise === 'none' ? batch : corruptBatch(batch, this.nets.spec.image.channels, this.config, this.corruption);
    return { batch, corrupted, eps: new Float32Array(0), n, stepNumber: this.adam.step + 1 };
  }

  /** Noise rows per image of a step: none (see drawStep). */
  get noiseRowsPerImage(): number {
    return 0;
  }

  /**
   * The autoencoder's step as far as it is a function of its rows at the current
   * weights and codebook: the gradient of the batch mean of recon + β·commitment by
   * trainable variable (in their order), the batch means (kl: the commitment term),
   * and z_e and the codes of every row for the codebook's EMA. Touches no weight, no
   * codebook and no stream: a replica on another thread runs it on its rows. The
   * caller disposes grads, ze and codes.
   */
  async codeGradients(inputs: StepInputs): Promise<CodeGradients> {
    const { batch, corrupted, n } = inputs;
    const D = this.nets.inputSize;
    let stats: tf.Tensor1D | undefined;
    let ze: tf.Tensor2D | undefined;
    const x = tf.tensor2d(batch, [n, D]);
    const input = corrupted === batch ? x : tf.tensor2d(corrupted, [n, D]);
    // The codes come from a forward pass off the gradient tape: z_q must be a constant
    // for the tape (sg in the paper), and argmin/gather have no gradient to give.
    const codes = tf.tidy(() => this.quantize(input).codes);
    const grads = tf.tidy(() => {
      const zq = tf.gather(this.ema.codebook, codes) as tf.Tensor2D;
      const { grads } = tf.variableGrads(() => {
        const encoded = this.nets.encode(input);
        const output = this.nets.decode(straightThrough(encoded, zq));
        const recon = tf.neg(tf.mean(this.decoder.logLikelihood(x, output)));
        const commit = tf.mean(commitment(encoded, zq, this.nets.positions));
        const loss = tf.add(recon, tf.mul(this.config.commitment, commit)) as tf.Scalar;
        stats = tf.keep(tf.stack([loss, recon, commit]) as tf.Tensor1D);
        ze = tf.keep(encoded);
        return loss;
      }, this.trainable);
      return grads;
    });
    try {
      const [loss = NaN, recon = NaN, commit = NaN] = stats === undefined ? [] : await stats.data();
      return { loss, recon, kl: commit, grads: this.trainable.map((variable) => grads[variable.name]), ze: ze!, codes };
    } catch (error) {
      tf.dispose([codes, ...(ze ? [ze] : [])]);
      tf.dispose(grads);
      throw error;
    } finally {
      tf.dispose([x, input, ...(stats ? [stats] : [])]);
    }
  }

  /**
   * The codebook's step after the weights' one: the EMA with every row's z_e and code
   * (the whole batch, in row order), then dead codes restarted on rows of it.
   */
  async updateCodebook(ze: tf.Tensor2D, codes: tf.Tensor1D): Promise<{ perplexity: number; codes_restarted: number }> {
    const counts = await takeValues(emaUpdate(this.ema, ze, codes, this.config.codebookDecay));
    const restarted = await this.restartDead(ze);
    return { perplexity: perplexity(counts), codes_restarted: restarted };
  }

  private async autoencoderStep(batch: Float32Array, n: number): Promise<StepStats> {
    const inputs = this.drawStep(batch, n);
    const { loss, recon, kl: commit, grads, ze, codes } = await this.codeGradients(inputs);
    try {
      if (!Number.isFinite(loss)) return { loss, recon, kl: NaN };
      const named: tf.NamedTensorMap = {};
      this.trainable.forEach((variable, i) => {
        const g = grads[i];
        if (g !== undefined) named[variable.name] = g;
      });
      this.adam.apply(named, learningRateAt(this.config, inputs.stepNumber));
      return { loss, recon, kl: this.codeCost, extra: { commitment: commit, ...(await this.updateCodebook(ze, codes)) } };
    } finally {
      tf.dispose([codes, ze]);
      tf.dispose(grads.filter((g) => g !== undefined));
    }
  }

  /**
   * A step whose rows other threads computed (train/data-parallel.ts): their batch
   * means weighted by their share in `stats` (kl: the commitment term), the weights
   * already updated (`updated`; false when the loss was not finite), and each replica's
   * z_e and codes in replica order — the batch's rows in order — for the codebook's
   * update, which runs here, once, as on one thread.
   */
  async finishSplitStep(stats: StepStats, parts: readonly { ze: Float32Array; codes: Int32Array }[], updated: boolean): Promise<StepStats> {
    if (!updated) return { loss: stats.loss, recon: stats.recon, kl: NaN };
    const e = this.config.codeDim;
    const rows = parts.reduce((sum, part) => sum + part.codes.length, 0);
    const zeAll = new Float32Array(rows * e);
    const codesAll = new Int32Array(rows);
    let at = 0;
    for (const part of parts) {
      if (part.ze.length !== part.codes.length * e) throw new Error(`a replica sent ${part.ze.length} code-vector values for ${part.codes.length} codes of ${e}`);
      zeAll.set(part.ze, at * e);
      codesAll.set(part.codes, at);
      at += part.codes.length;
    }
    const ze = tf.tensor2d(zeAll, [rows, e]);
    const codes = tf.tensor1d(codesAll, 'int32');
    try {
      return { loss: stats.loss, recon: stats.recon, kl: this.codeCost, extra: { commitment: stats.kl, ...(await this.updateCodebook(ze, codes)) } };
    } finally {
      tf.dispose([ze, codes]);
    }
  }

  /** KL = −log p(k) under the uniform prior of the autoencoder's epochs: L·log K. */
  private get codeCost(): number {
    return this.nets.positions * Math.log(this.codes);
  }

  /** Whether this epoch's steps split across threads: the autoencoder's do; the prior's train here. */
  splitsStep(): boolean {
    return this.phase === 'autoencoder';
  }

  /** The learning rate of a 1-based autoencoder step. */
  learningRate(stepNumber: number): number {
    return learningRateAt(this.config, stepNumber);
  }

  /** The autoencoder's Adam (step count and moments): a data-parallel coordinator runs its update on them. */
  exportMoments(): Promise<AdamMoments> {
    return this.adam.exportMoments();
  }

  importMoments(moments: AdamMoments): void {
    this.adam.importMoments(moments);
  }

  /** The trainable variables' shapes (encoder, decoder; not the codebook nor the prior), in order. */
  parameterShapes(): number[][] {
    return weightShapes(this.trainable);
  }

  parameterValues(): Promise<Float32Array[]> {
    return weightValues(this.trainable);
  }

  /** Overwrites the trainable weights (a replica takes its coordinator's); Adam, codebook and streams untouched. */
  setParameterValues(values: readonly Float32Array[]): void {
    assignWeights(this.trainable, values);
  }

  /** The codebook [K·e] the replicas quantize with this step. */
  codebookValues(): Promise<Float32Array> {
    return copyValues(this.ema.codebook);
  }

  /** A replica takes its coordinator's codebook before computing a step. */
  setCodebook(values: Float32Array): void {
    if (values.length !== this.ema.codebook.size) throw new Error(`a codebook of ${values.length} values for ${this.codes}×${this.config.codeDim}`);
    tf.tidy(() => this.ema.codebook.assign(tf.tensor2d(values, [this.codes, this.config.codeDim])));
  }

  /** Restart the codes nobody picks (EMA size < DEAD_CODE_THRESHOLD) on random encoder outputs of this batch. */
  private async restartDead(ze: tf.Tensor2D): Promise<number> {
    const sizes = await copyValues(this.ema.clusterSize);
    const dead = new Float32Array(this.codes);
    const rows = new Int32Array(this.codes);
    let count = 0;
    const M = ze.shape[0];
    for (let k = 0; k < this.codes; k++) {
      if (sizes[k]! >= DEAD_CODE_THRESHOLD) continue;
      dead[k] = 1;
      rows[k] = Math.min(M - 1, Math.floor(this.restarts.uniform() * M));
      count++;
    }
    if (count > 0) restartCodes(this.ema, ze, dead, rows);
    return count;
  }

  private async priorStep(batch: Float32Array, n: number): Promise<StepStats> {
    const stepNumber = this.priorAdam.step + 1;
    let stats: tf.Tensor1D | undefined;
    const grads = tf.tidy(() => {
      const x = tf.tensor2d(batch, [n, this.nets.inputSize]);
      const q = this.quantize(x);
      const recon = tf.neg(tf.mean(this.decoder.logLikelihood(x, this.nets.decode(q.zq))));
      const { grads } = tf.variableGrads(() => {
        const nll = tf.neg(tf.mean(this.prior.logProb(q.codes))) as tf.Scalar;
        stats = tf.keep(tf.stack([nll, recon]) as tf.Tensor1D);
        return nll;
      }, this.prior.variables);
      return grads;
    });
    try {
      const [nll = NaN, recon = NaN] = stats === undefined ? [] : await stats.data();
      if (Number.isFinite(nll)) this.priorAdam.apply(grads, learningRateAt(this.config, stepNumber));
      // The minimized loss is the prior's −log π(k(x)), which is also the KL term now.
      return { loss: nll, recon, kl: nll };
    } finally {
      stats?.dispose();
      tf.dispose(grads);
    }
  }

  /** Sums over a batch: log p(x|z_q), KL = −log p(k) (per position too), and code usage. */
  async evaluate(batch: Float32Array, n: number): Promise<EvalSums> {
    const L = this.nets.positions;
    const values = await takeValues(
      tf.tidy(() => {
        const x = tf.tensor2d(batch, [n, this.nets.inputSize]);
        const q = this.quantize(x);
        const ll = this.decoder.logLikelihood(x, this.nets.decode(q.zq));
        const nll = this.codeNll(q.codes, n);
        const counts = tf.sum(tf.cast(tf.oneHot(q.codes, this.codes), 'float32'), 0);
        return tf.concat([tf.stack([tf.sum(ll), tf.sum(nll)]), tf.sum(nll, 0), counts]);
      }),
    );
    return {
      count: n,
      logLikelihood: values[0] ?? NaN,
      kl: values[1] ?? NaN,
      klPerDim: Float64Array.from(values.subarray(2, 2 + L)),
      codeCounts: Float64Array.from(values.subarray(2 + L)),
    };
  }

  /** log p(x|z_q(x)) + log p(k(x)) per image: the ELBO of a deterministic posterior (k unused). */
  async iwaeLogLikelihood(batch: Float32Array, n: number): Promise<Float64Array> {
    const values = await takeValues(
      tf.tidy(() => {
        const x = tf.tensor2d(batch, [n, this.nets.inputSize]);
        const q = this.quantize(x);
        return tf.sub(this.decoder.logLikelihood(x, this.nets.decode(q.zq)), tf.sum(this.codeNll(q.codes, n), 1));
      }),
    );
    return Float64Array.from(values);
  }

  /** Decoder mean at the quantized code grid of each image. */
  async reconstruct(batch: Float32Array, n: number): Promise<Float32Array> {
    return takeValues(tf.tidy(() => this.decoder.mean(this.nets.decode(this.quantize(tf.tensor2d(batch, [n, this.nets.inputSize])).zq))));
  }

  /** The code grids of a batch, [n·L] indices. */
  async encodeCodes(batch: Float32Array, n: number): Promise<Int32Array> {
    return Int32Array.from(await takeValues(tf.tidy(() => tf.cast(this.quantize(tf.tensor2d(batch, [n, this.nets.inputSize])).codes, 'float32'))));
  }

  /** Decoder means of n given code grids ([n·L] indices). */
  async decodeCodes(codes: Int32Array, n: number): Promise<Float32Array> {
    if (codes.length !== n * this.nets.positions) throw new Error(`${codes.length} codes for ${n} grids of ${this.nets.positions}`);
    return takeValues(tf.tidy(() => this.decoder.mean(this.nets.decode(tf.gather(this.ema.codebook, tf.tensor1d(codes, 'int32')) as tf.Tensor2D))));
  }

  /** Code cost −log π(k_i | k_<i) per position, summed over the batch (log K each under the uniform prior). */
  async klPerDimSums(batch: Float32Array, n: number): Promise<Float64Array> {
    return (await this.evaluate(batch, n)).klPerDim;
  }

  /** Prior samples from the same noise every epoch (untrained before the prior's epochs), and codebook usage. */
  async epochImages(view: EpochView): Promise<{ kind: ArtifactKind; image: RasterImage }[]> {
    const samples = await this.sample(SAMPLE_COUNT, createRng(view.seed, STREAM.prior));
    return [
      { kind: 'samples', image: tileImages(samples, SAMPLE_COUNT, view.images.shape, 8) },
      { kind: 'codebook', image: codebookChart(view.codeCounts ?? new Float64Array(this.codes)) },
    ];
  }

  codeGrid(): { codebookSize: number; grid: [number, number]; priorTrained: boolean } {
    return { codebookSize: this.codes, grid: [this.nets.grid[0], this.nets.grid[1]], priorTrained: this.priorTrained };
  }

  /** n new images: code grids drawn from the prior (uniform noise from `rng`), decoded. */
  async sample(n: number, rng: Rng): Promise<Float32Array> {
    return this.decodeCodes(await sampleMade(this.prior, n, rng), n);
  }

  private named(): { name: string; variable: tf.Variable }[] {
    const strip = (v: tf.Variable): string => v.name.replace(/#\d+$/, '');
    return [
      ...this.trainable.map((variable, i) => ({ name: `param/${i}:${strip(variable)}`, variable })),
      ...this.prior.variables.map((variable, i) => ({ name: `prior/${i}:${strip(variable)}`, variable })),
      { name: 'ema/codebook', variable: this.ema.codebook },
      { name: 'ema/cluster_size', variable: this.ema.clusterSize },
      { name: 'ema/embed_sum', variable: this.ema.embedSum },
    ];
  }

  async exportState(): Promise<TrainerState> {
    const record = (name: string, variable: tf.Variable, values: Float32Array): TensorRecord => ({ name, shape: [...variable.shape], values });
    const tensors: TensorRecord[] = [];
    for (const { name, variable } of this.named()) tensors.push(record(name, variable, await copyValues(variable)));
    const moments = async (adam: Adam, vars: tf.Variable[], prefix: string): Promise<void> => {
      const m = await adam.exportMoments();
      vars.forEach((v, i) => tensors.push(record(`${prefix}_m/${i}`, v, m.m[i]!), record(`${prefix}_v/${i}`, v, m.v[i]!)));
      tensors.push({ name: `${prefix}_step`, shape: [1], values: Float32Array.of(m.step) });
    };
    await moments(this.adam, this.trainable, 'adam');
    await moments(this.priorAdam, this.prior.variables, 'prior_adam');
    return { step: this.stepsDone, tensors, rng: { noise: this.restarts.getState(), corrupt: this.corruption.getState() } };
  }

  importState(state: TrainerState): void {
    const byName = new Map(state.tensors.map((t) => [t.name, t]));
    const take = (name: string, variable: { shape: readonly number[]; size: number }): Float32Array => {
      const record = byName.get(name);
      if (record === undefined) throw new Error(`the checkpoint has no tensor ${name}: it was written for another model`);
      if (record.shape.join('x') !== variable.shape.join('x') || record.values.length !== variable.size) {
        throw new Error(`checkpoint tensor ${name} has shape [${record.shape.join(', ')}], the model [${variable.shape.join(', ')}]`);
      }
      return record.values;
    };
    const values = this.named().map(({ name, variable }) => ({ variable, values: take(name, variable) }));
    const moments = (adam: Adam, vars: tf.Variable[], prefix: string): void => {
      const step = take(`${prefix}_step`, { shape: [1], size: 1 })[0] ?? 0;
      adam.importMoments({ step, m: vars.map((v, i) => take(`${prefix}_m/${i}`, v)), v: vars.map((v, i) => take(`${prefix}_v/${i}`, v)) });
    };
    moments(this.adam, this.trainable, 'adam');
    moments(this.priorAdam, this.prior.variables, 'prior_adam');
    for (const { variable, values: v } of values) tf.tidy(() => variable.assign(tf.tensor(v, variable.shape)));
    this.restarts.setState(state.rng.noise);
    this.corruption.setState(state.rng.corrupt);
  }

  dispose(): void {
    this.adam.dispose();
    this.priorAdam.dispose();
    this.prior.dispose();
    tf.dispose([this.ema.codebook, this.ema.clusterSize, this.ema.embedSum]);
    this.decoder.dispose();
    this.nets.dispose();
  }
}

let nextId = 0;
