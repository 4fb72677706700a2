import type { RunConfig } from '@shared/config';
import { tf } from '../engine/tf';
import { createRng, STREAM, type Rng } from '../engine/random';
import { createVae } from '../model/create';
import type { Vae, VaeSpec } from '../model/vae';
import {
  betaVaeObjective,
  decoderLikelihood,
  gaussianKl,
  gaussianKlPerDim,
  reparameterize,
  type DecoderLikelihood,
  type ElboParts,
} from '../objectives/elbo';

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

export type TrainerConfig = Pick<RunConfig, 'seed' | 'learningRate' | 'beta' | 'decoder' | 'gaussianSigma'>;

/**
 * The numeric core: model, decoder likelihood, Adam. Works on flat float batches and
 * returns plain numbers; every tensor it makes is freed before a method returns
 * (tests check tf.memory().numTensors).
 */
export class VaeTrainer {
  readonly model: Vae;
  private readonly decoder: DecoderLikelihood;
  // Typed as the base class: its applyGradients accepts the NamedTensorMap variableGrads returns.
  private readonly optimizer: tf.Optimizer;
  private readonly noise: Rng;

  constructor(
    spec: VaeSpec,
    private readonly config: TrainerConfig,
  ) {
    this.model = createVae(spec, config.seed);
    this.decoder = decoderLikelihood(config.decoder, config.gaussianSigma);
    this.optimizer = tf.train.adam(config.learningRate);
    this.noise = createRng(config.seed, STREAM.noise);
  }

  get latent(): number {
    return this.model.spec.latent;
  }

  /** ELBO parts for x with the given reparameterization noise. */
  private elboParts(x: tf.Tensor2D, eps: tf.Tensor2D): ElboParts {
    return tf.tidy(() => {
      const { mu, logVar } = this.model.encode(x);
      const output = this.model.decode(reparameterize(mu, logVar, eps));
      return {
        logLikelihood: this.decoder.logLikelihood(x, output),
        kl: gaussianKl(mu, logVar),
        klPerDim: gaussianKlPerDim(mu, logVar),
      };
    });
  }

  /**
   * One Adam step on `n` images. If the loss is not finite the parameters are left
   * untouched and the stats are returned as they are, for the caller to report.
   */
  step(batch: Float32Array, n: number): StepStats {
    const D = this.model.inputSize;
    const epsValues = this.noise.normals(n * this.latent);
    let stats: tf.Tensor1D | undefined;
    const grads = tf.tidy(() => {
      const x = tf.tensor2d(batch, [n, D]);
      const eps = tf.tensor2d(epsValues, [n, this.latent]);
      const { grads } = tf.variableGrads(() => {
        const objective = betaVaeObjective(this.elboParts(x, eps), this.config.beta);
        // Kept past the tape's scope so one read gives all three numbers.
        stats = tf.keep(tf.stack([objective.loss, objective.recon, objective.kl]) as tf.Tensor1D);
        return objective.loss;
      }, this.model.variables);
      return grads;
    });
    try {
      const [loss = NaN, recon = NaN, kl = NaN] = stats === undefined ? [] : stats.dataSync();
      if (Number.isFinite(loss)) this.optimizer.applyGradients(grads);
      return { loss, recon, kl };
    } finally {
      stats?.dispose();
      tf.dispose(grads);
    }
  }

  /** ELBO sums over a batch with one z sample per image drawn from `rng`. */
  evaluate(batch: Float32Array, n: number, rng: Rng): EvalSums {
    const epsValues = rng.normals(n * this.latent);
    const sums = tf.tidy(() => {
      const x = tf.tensor2d(batch, [n, this.model.inputSize]);
      const eps = tf.tensor2d(epsValues, [n, this.latent]);
      const parts = this.elboParts(x, eps);
      // One read: [Σ log p(x|z), Σ KL, Σ KL_1 … Σ KL_d].
      return tf.concat([tf.stack([tf.sum(parts.logLikelihood), tf.sum(parts.kl)]), tf.sum(parts.klPerDim, 0)]).dataSync();
    });
    return { count: n, logLikelihood: sums[0] ?? NaN, kl: sums[1] ?? NaN, klPerDim: Float64Array.from(sums.subarray(2)) };
  }

  /** Decoder mean at the posterior mean: the deterministic reconstruction of x. */
  reconstruct(batch: Float32Array, n: number): Float32Array {
    return tf.tidy(() => {
      const x = tf.tensor2d(batch, [n, this.model.inputSize]);
      const { mu } = this.model.encode(x);
      return this.decoder.mean(this.model.decode(mu)).dataSync() as Float32Array;
    });
  }

  /** Decoder mean for given latent codes z ([n, latent], row-major). */
  decodeMean(z: Float32Array, n: number): Float32Array {
    return tf.tidy(() => {
      const codes = tf.tensor2d(z, [n, this.latent]);
      return this.decoder.mean(this.model.decode(codes)).dataSync() as Float32Array;
    });
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}
