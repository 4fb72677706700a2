import type { RunConfig } from '@shared/config';
import { tf } from '../engine/tf';
import { createRng, STREAM, type Rng, type RngState } from '../engine/random';
import { copyValues, takeValues } from '../engine/read';
import { createVae } from '../model/create';
import type { Vae, VaeSpec } from '../model/vae';
import { corruptBatch } from '../objectives/corrupt';
import { createDecoder, type TrainableDecoder } from '../objectives/decoders';
import { gaussianKl, gaussianKlPerDim, reparameterize, type ElboParts } from '../objectives/elbo';
import { importanceLogWeights, LogMeanExp } from '../objectives/iwae';
import { learningRateAt, objectiveAt, type ScheduleConfig } from '../objectives/schedule';
import { trainingObjective } from '../objectives/training-loss';
import { Adam } from './adam';

/** Batch means of one training step, in nats per image. */
export interface StepStats {
  loss: number;
  recon: number;
  kl: number;
}

/** Sums over a batch, so callers can average over a whole split. */
export interface EvalSums {
  count: number;
  /** Σ log p(x|z). */
  logLikelihood: number;
  /** Σ KL. */
  kl: number;
  /** Σ KL per latent dim. */
  klPerDim: Float64Array;
}

export type TrainerConfig = ScheduleConfig &
  Pick<RunConfig, 'seed' | 'decoder' | 'gaussianSigma' | 'decoderVariance' | 'denoise' | 'denoiseSigma' | 'denoiseMaskProb'>;

/** A tensor's values with its name and shape, as checkpoints store them. */
export interface TensorRecord {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** Everything that determines the trainer's next step. */
export interface TrainerState {
  /** Optimizer steps taken. */
  step: number;
  /** Model and decoder parameters, then Adam's first and second moments. */
  tensors: TensorRecord[];
  rng: { noise: RngState; corrupt: RngState };
}

/** Rows (image × sample) per decoder call in the IWAE bound: bounds memory at any k. */
const IWAE_CHUNK_ROWS = 2048;

/**
 * The numeric core: model, decoder likelihood, objective schedule, Adam. Works on flat
 * float batches and returns plain numbers; every tensor it makes is freed before a
 * method returns (tests check tf.memory().numTensors).
 */
export class VaeTrainer {
  readonly model: Vae;
  readonly decoder: TrainableDecoder;
  private readonly trainable: tf.Variable[];
  private readonly adam: Adam;
  private readonly noise: Rng;
  private readonly corruption: Rng;

  constructor(
    spec: VaeSpec,
    private readonly config: TrainerConfig,
  ) {
    this.model = createVae(spec, config.seed);
    this.decoder = createDecoder(config, this.model.inputSize);
    this.trainable = [...this.model.variables, ...this.decoder.variables];
    this.adam = new Adam(this.trainable);
    this.noise = createRng(config.seed, STREAM.noise);
    this.corruption = createRng(config.seed, STREAM.corrupt);
  }

  get latent(): number {
    return this.model.spec.latent;
  }

  /** Optimizer steps taken so far. */
  get stepsDone(): number {
    return this.adam.step;
  }

  /** ELBO parts for clean targets x, encoding `input` (x itself, or its corrupted copy). */
  private elboParts(x: tf.Tensor2D, input: tf.Tensor2D, eps: tf.Tensor2D): ElboParts {
    return tf.tidy(() => {
      const { mu, logVar } = this.model.encode(input);
      const output = this.model.decode(reparameterize(mu, logVar, eps));
      return {
        logLikelihood: this.decoder.logLikelihood(x, output),
        kl: gaussianKl(mu, logVar),
        klPerDim: gaussianKlPerDim(mu, logVar),
      };
    });
  }

  /**
   * One Adam step on `n` images with the objective and learning rate of this step. If
   * the loss is not finite the parameters are left untouched and the stats are
   * returned as they are, for the caller to report.
   */
  async step(batch: Float32Array, n: number): Promise<StepStats> {
    const D = this.model.inputSize;
    const stepNumber = this.adam.step + 1;
    const settings = objectiveAt(this.config, stepNumber);
    const corrupted = this.config.denoise === 'none' ? batch : corruptBatch(batch, this.model.spec.image.channels, this.config, this.corruption);
    const epsValues = this.noise.normals(n * this.latent);
    let stats: tf.Tensor1D | undefined;
    const grads = tf.tidy(() => {
      const x = tf.tensor2d(batch, [n, D]);
      const input = corrupted === batch ? x : tf.tensor2d(corrupted, [n, D]);
      const eps = tf.tensor2d(epsValues, [n, this.latent]);
      const { grads } = tf.variableGrads(() => {
        const objective = trainingObjective(this.elboParts(x, input, eps), settings);
        // Kept past the tape's scope so one read gives all three numbers.
        stats = tf.keep(tf.stack([objective.loss, objective.recon, objective.kl]) as tf.Tensor1D);
        return objective.loss;
      }, this.trainable);
      return grads;
    });
    try {
      const [loss = NaN, recon = NaN, kl = NaN] = stats === undefined ? [] : await stats.data();
      if (Number.isFinite(loss)) this.adam.apply(grads, learningRateAt(this.config, stepNumber));
      return { loss, recon, kl };
    } finally {
      stats?.dispose();
      tf.dispose(grads);
    }
  }

  /** ELBO sums over a batch with one z sample per image drawn from `rng` (clean inputs). */
  async evaluate(batch: Float32Array, n: number, rng: Rng): Promise<EvalSums> {
    const epsValues = rng.normals(n * this.latent);
    const sums = await takeValues(
      tf.tidy(() => {
        const x = tf.tensor2d(batch, [n, this.model.inputSize]);
        const eps = tf.tensor2d(epsValues, [n, this.latent]);
        const parts = this.elboParts(x, x, eps);
        // One read: [Σ log p(x|z), Σ KL, Σ KL_1 … Σ KL_d].
        return tf.concat([tf.stack([tf.sum(parts.logLikelihood), tf.sum(parts.kl)]), tf.sum(parts.klPerDim, 0)]);
      }),
    );
    return { count: n, logLikelihood: sums[0] ?? NaN, kl: sums[1] ?? NaN, klPerDim: Float64Array.from(sums.subarray(2)) };
  }

  /**
   * IWAE estimate log (1/k) Σ w per image (float64), k samples from `rng`, decoded in
   * chunks of at most IWAE_CHUNK_ROWS rows. `batch` is scored as given (the caller
   * dequantizes for continuous decoders).
   */
  async iwaeLogLikelihood(batch: Float32Array, n: number, k: number, rng: Rng): Promise<Float64Array> {
    const D = this.model.inputSize;
    const perChunk = Math.max(1, Math.min(k, Math.floor(IWAE_CHUNK_ROWS / n)));
    const accumulator = new LogMeanExp(n);
    const x = tf.tensor2d(batch, [n, D]);
    const posterior = this.model.encode(x);
    try {
      for (let done = 0; done < k; done += perChunk) {
        const samples = Math.min(perChunk, k - done);
        const epsValues = rng.normals(n * samples * this.latent);
        const logW = await takeValues(
          tf.tidy(() => {
            const eps = tf.tensor2d(epsValues, [n * samples, this.latent]);
            return importanceLogWeights(this.model, this.decoder, x, posterior, eps, samples);
          }),
        );
        accumulator.add(logW, samples);
      }
      return accumulator.result();
    } finally {
      tf.dispose([x, posterior.mu, posterior.logVar]);
    }
  }

  /** Posterior means μ(x), [n, latent] row-major. */
  encodeMean(batch: Float32Array, n: number): Promise<Float32Array> {
    return takeValues(tf.tidy(() => this.model.encode(tf.tensor2d(batch, [n, this.model.inputSize])).mu));
  }

  /** Decoder mean at the posterior mean: the deterministic reconstruction of x. */
  reconstruct(batch: Float32Array, n: number): Promise<Float32Array> {
    return takeValues(
      tf.tidy(() => {
        const x = tf.tensor2d(batch, [n, this.model.inputSize]);
        const { mu } = this.model.encode(x);
        return this.decoder.mean(this.model.decode(mu));
      }),
    );
  }

  /** Decoder mean for given latent codes z ([n, latent], row-major). */
  decodeMean(z: Float32Array, n: number): Promise<Float32Array> {
    return takeValues(
      tf.tidy(() => {
        const codes = tf.tensor2d(z, [n, this.latent]);
        return this.decoder.mean(this.model.decode(codes));
      }),
    );
  }

  async exportState(): Promise<TrainerState> {
    const names = this.tensorNames();
    const moments = await this.adam.exportMoments();
    const params = await Promise.all(this.trainable.map(copyValues));
    const records = (keys: string[], values: Float32Array[]): TensorRecord[] =>
      this.trainable.map((v, i) => ({ name: keys[i]!, shape: [...v.shape], values: values[i]! }));
    return {
      step: moments.step,
      tensors: [...records(names.param, params), ...records(names.m, moments.m), ...records(names.v, moments.v)],
      rng: { noise: this.noise.getState(), corrupt: this.corruption.getState() },
    };
  }

  /** Restores a state exported by a trainer built from the same spec and config. */
  importState(state: TrainerState): void {
    const names = this.tensorNames();
    const byName = new Map(state.tensors.map((t) => [t.name, t]));
    const take = (keys: string[]): Float32Array[] =>
      this.trainable.map((variable, i) => {
        const name = keys[i]!;
        const record = byName.get(name);
        if (record === undefined) throw new Error(`the checkpoint has no tensor ${name}: it was written for another model`);
        if (record.shape.join('x') !== variable.shape.join('x') || record.values.length !== variable.size) {
          throw new Error(`checkpoint tensor ${name} has shape [${record.shape.join(', ')}], the model [${variable.shape.join(', ')}]`);
        }
        return record.values;
      });
    const params = take(names.param);
    const moments = { step: state.step, m: take(names.m), v: take(names.v) };
    this.trainable.forEach((variable, i) => tf.tidy(() => variable.assign(tf.tensor(params[i]!, variable.shape))));
    this.adam.importMoments(moments);
    this.noise.setState(state.rng.noise);
    this.corruption.setState(state.rng.corrupt);
  }

  /** Names by position (variable names carry a per-process counter, stripped here). */
  private tensorNames(): { param: string[]; m: string[]; v: string[] } {
    const names = (prefix: string): string[] => this.trainable.map((v, i) => `${prefix}${i}:${v.name.replace(/#\d+$/, '')}`);
    return { param: names('param/'), m: names('adam_m/'), v: names('adam_v/') };
  }

  dispose(): void {
    this.adam.dispose();
    this.decoder.dispose();
    this.model.dispose();
  }
}
