import { ApiError } from '@shared/errors';
import type { ImputeMethod } from '@shared/inference';
import type { Rng } from '../engine/random';
import { takeValues } from '../engine/read';
import { tf } from '../engine/tf';
import type { Classifier } from '../model/classifier';
import { classesOf, type Posterior, type Vae } from '../model/vae';
import type { DecoderLikelihood } from '../objectives/elbo';
import { ImageLabels } from './labels';
import { logPosterior, logPrior, repeatRows } from './latent';

/**
 * Missing-pixel imputation with a trained VAE (VAE-MATH.md, "Imputation"). x = (x_obs,
 * x_mis); the engine works on n images at once, each with K chains (or restarts, or
 * resampled imputations), and is advanced one iteration at a time by the caller, who
 * streams snapshots, yields and may stop between iterations. Every number is drawn
 * from the caller's seeded Rng; every tensor is freed by dispose().
 *
 * Conditional models (cVAE, M2) encode q(z|x, y) and decode p(x|z, y) with the image's
 * class y: a given label is held fixed (the target is p(x_mis | x_obs, y)); an unknown
 * one (M2) is inferred along with z (the target is p(y, z, x_mis | x_obs)), see
 * labels.ts and each method.
 */
export interface ImputeProblem {
  model: Vae;
  decoder: DecoderLikelihood;
  /** n images, [n·D] in [0, 1]; values at missing entries are ignored. */
  x: Float32Array;
  n: number;
  /** [n·D], non-zero = missing (one entry per pixel and channel). */
  missing: Uint8Array;
  /** Start value of the missing entries, length D (the training images' per-pixel mean). */
  init: Float32Array;
  /**
   * Conditional models only (spec.classes > 0), one per image: the class to condition
   * on, or −1 to infer it (needs `classifier`). Absent: every label is inferred.
   */
  labels?: ArrayLike<number>;
  /** M2's q(y|x), which proposes the unknown labels. */
  classifier?: Classifier | null;
}

export interface ImputeOptions {
  method: ImputeMethod;
  /**
   * K per image: chains (pseudo-Gibbs, Metropolis-within-Gibbs), restarts (optimize),
   * or imputations resampled by weight (importance; 0 = the weighted mean only).
   */
  samples: number;
  /** Importance samples per iteration (importance). */
  proposals: number;
  /** Iterations planned: the chains average their second half (the first is burn-in). */
  iterations: number;
  rng: Rng;
  /** Adam step size of the latent optimization. */
  learningRate?: number;
  /**
   * Share β of importance proposals drawn from the prior instead of q(z|x̂): the
   * proposal is the mixture (1−β)·q + β·p(z) and weights divide by that mixture's
   * density ("defensive" importance sampling, Hesterberg 1995). β = 0 is plain MIWAE;
   * β > 0 keeps the weights bounded when few pixels are observed and q(z|x̂) is far
   * narrower than p(z|x_obs).
   */
  priorShare?: number;
}

export interface ImputeDiagnostic {
  name: 'acceptance' | 'ess' | 'objective';
  value: number;
}

export interface ImputeSnapshot {
  /** Iterations done. */
  iteration: number;
  /** [n·D]: observed entries as given, missing ones the single imputation ≈ E[x_mis | x_obs]. */
  mean: Float32Array;
  /** [n·K·D]: K imputations per image (decoder means E[x_mis | z_k]), observed entries as given. */
  samples: Float32Array;
  /** [n·D]: standard deviation of the imputations per entry (0 where observed). */
  std: Float32Array;
  diagnostic: ImputeDiagnostic | null;
  /**
   * [n·C] when some image's label is inferred: the method's estimate of p(y | x_obs) per
   * image (one-hot for images whose label was given); null otherwise.
   */
  classProbabilities: Float32Array | null;
}

export interface Imputer {
  readonly iteration: number;
  /** K imputations per image in snapshots. */
  readonly samples: number;
  step(): Promise<void>;
  snapshot(): Promise<ImputeSnapshot>;
  /**
   * The latent codes behind the current estimate, [rows, d], with normalized weights
   * per image (uniform except for importance sampling): for tests and diagnostics.
   */
  latents(): Promise<{ z: Float32Array; weights: Float32Array; rowsPerImage: number }>;
  dispose(): void;
}

export const DEFAULT_OPTIMIZE_LR = 0.05;
export const DEFAULT_PRIOR_SHARE = 0.25;

/** Shared tensors of one problem: observed values (0 where missing) and the observed mask. */
class Observed {
  readonly x: tf.Tensor2D;
  readonly o: tf.Tensor2D;
  readonly D: number;

  constructor(problem: ImputeProblem) {
    const { n, model } = problem;
    const D = model.inputSize;
    this.D = D;
    if (problem.x.length !== n * D) throw new ApiError('invalid_input', `image: ${problem.x.length} values for ${n} images of ${D}`, { field: 'image' });
    if (problem.missing.length !== n * D) {
      throw new ApiError('invalid_input', `mask: ${problem.missing.length} entries for ${n} images of ${D} values`, { field: 'mask' });
    }
    if (problem.init.length !== D) throw new ApiError('invalid_input', `init: ${problem.init.length} values, the model has ${D}`, { field: 'init' });
    const xs = new Float32Array(n * D);
    const os = new Float32Array(n * D);
    for (let i = 0; i < n * D; i++) {
      const observed = problem.missing[i] ? 0 : 1;
      os[i] = observed;
      xs[i] = observed ? problem.x[i]! : 0;
    }
    this.x = tf.tensor2d(xs, [n, D]);
    this.o = tf.tensor2d(os, [n, D]);
  }

  /** o ⊙ x + (1 − o) ⊙ fill, with x and o repeated k times per image. */
  fill(values: tf.Tensor2D, k: number): tf.Tensor2D {
    return tf.tidy(() => {
      const x = repeatRows(this.x, k);
      const o = repeatRows(this.o, k);
      return tf.add(tf.mul(o, x), tf.mul(tf.sub(1, o), values));
    });
  }

  dispose(): void {
    tf.dispose([this.x, this.o]);
  }
}

/** Running sums over iterations (and rows) of decoder means, per image: their mean and spread. */
class MeanAccumulator {
  private s1: tf.Tensor2D | null = null;
  private s2: tf.Tensor2D | null = null;
  private count = 0;

  /** Add [n·k, D] rows (k per image) of values f, with their squares f² unless given. */
  add(means: tf.Tensor2D, n: number, k: number, squares?: tf.Tensor2D): void {
    const D = means.shape[1];
    const [s1, s2] = tf.tidy(() => {
      const m = tf.reshape(means, [n, k, D]);
      const a = tf.sum(m, 1) as tf.Tensor2D;
      const b = tf.sum(squares ? tf.reshape(squares, [n, k, D]) : tf.square(m), 1) as tf.Tensor2D;
      return [this.s1 ? tf.add(this.s1, a) : a, this.s2 ? tf.add(this.s2, b) : b] as [tf.Tensor2D, tf.Tensor2D];
    });
    disposeAll(this.s1, this.s2);
    this.s1 = s1;
    this.s2 = s2;
    this.count += k;
  }

  get empty(): boolean {
    return this.count === 0;
  }

  /** [mean, std] tensors [n, D] (caller disposes). */
  moments(): [tf.Tensor2D, tf.Tensor2D] {
    if (!this.s1 || !this.s2) throw new Error('no values accumulated');
    const s1 = this.s1;
    const s2 = this.s2;
    return tf.tidy(() => {
      const mean = tf.div(s1, this.count) as tf.Tensor2D;
      const variance = tf.relu(tf.sub(tf.div(s2, this.count), tf.square(mean)));
      return [mean, tf.sqrt(variance) as tf.Tensor2D];
    });
  }

  dispose(): void {
    disposeAll(this.s1, this.s2);
  }
}

/** Mean and std over the k rows of each image of `means` ([n·k, D]). */
function rowMoments(means: tf.Tensor2D, n: number, k: number): [tf.Tensor2D, tf.Tensor2D] {
  return tf.tidy(() => {
    const m = tf.reshape(means, [n, k, means.shape[1]]);
    const mean = tf.mean(m, 1) as tf.Tensor2D;
    const variance = tf.relu(tf.sub(tf.mean(tf.square(m), 1), tf.square(mean)));
    return [mean, tf.sqrt(variance) as tf.Tensor2D];
  });
}

function disposeAll(...tensors: (tf.Tensor | null)[]): void {
  for (const t of tensors) t?.dispose();
}

function replace<T extends tf.Tensor>(old: T | null, next: T): T {
  old?.dispose();
  return next;
}

/** Common shape of the methods: observed data, K rows per image, snapshot assembly. */
abstract class BaseImputer implements Imputer {
  protected readonly obs: Observed;
  protected readonly n: number;
  protected readonly d: number;
  protected readonly rng: Rng;
  /** The images' labels when the model is conditional, else null. */
  protected readonly labels: ImageLabels | null;
  protected done = 0;

  constructor(
    protected readonly problem: ImputeProblem,
    protected readonly options: ImputeOptions,
  ) {
    this.obs = new Observed(problem);
    this.n = problem.n;
    this.d = problem.model.spec.latent;
    this.rng = options.rng;
    const classes = classesOf(problem.model.spec);
    try {
      this.labels = classes > 0 ? new ImageLabels(classes, problem.labels, problem.n, problem.classifier ?? null) : null;
    } catch (error) {
      this.obs.dispose();
      throw error;
    }
  }

  get iteration(): number {
    return this.done;
  }

  abstract get samples(): number;
  protected abstract advance(): Promise<void>;
  /** [mean, std, samples] for the snapshot; tensors owned by the caller. */
  protected abstract estimate(): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D | null];
  protected abstract diagnostic(): Promise<ImputeDiagnostic | null>;
  /** [n, C] estimate of p(y | x_obs) (caller disposes) when a label is inferred, else null. */
  protected abstract classEstimate(): tf.Tensor2D | null;
  abstract latents(): Promise<{ z: Float32Array; weights: Float32Array; rowsPerImage: number }>;
  protected abstract release(): void;

  async step(): Promise<void> {
    await this.advance();
    this.done++;
  }

  /** The start: observed entries with the missing ones at `init`, k copies per image. */
  protected startFill(k: number): tf.Tensor2D {
    return tf.tidy(() => this.obs.fill(tf.tile(tf.tensor2d(this.problem.init, [1, this.obs.D]), [this.n * k, 1]) as tf.Tensor2D, k));
  }

  /** Standard normal noise from the seeded stream, [rows, width]. */
  protected normals(rows: number, width: number): tf.Tensor2D {
    return tf.tensor2d(this.rng.normals(rows * width), [rows, width]);
  }

  /** Noise for decoder.sample, [rows, D]. */
  protected pixelNoise(rows: number): tf.Tensor2D {
    const D = this.obs.D;
    if (this.problem.decoder.noise === 'normal') return this.normals(rows, D);
    const u = new Float32Array(rows * D);
    for (let i = 0; i < u.length; i++) u[i] = this.rng.uniform();
    return tf.tensor2d(u, [rows, D]);
  }

  /** z = μ + σ ε from the encoder of `inputs` (with labels y), plus μ and log σ² (all kept by the caller's tidy). */
  protected encodeSample(inputs: tf.Tensor2D, y?: tf.Tensor2D): { z: tf.Tensor2D; mu: tf.Tensor2D; logVar: tf.Tensor2D } {
    const { mu, logVar } = this.problem.model.encode(inputs, y);
    const eps = this.normals(inputs.shape[0], this.d);
    return { z: tf.add(mu, tf.mul(tf.exp(tf.mul(0.5, logVar)), eps)) as tf.Tensor2D, mu, logVar };
  }

  async snapshot(): Promise<ImputeSnapshot> {
    const K = this.samples;
    const [meanT, stdT, samplesT] = this.estimate();
    const classesT = this.labels?.inferred ? this.classEstimate() : null;
    const [mean, std, samples, classProbabilities] = await Promise.all([
      takeValues(tf.tidy(() => this.obs.fill(meanT, 1))),
      takeValues(tf.tidy(() => tf.mul(stdT, tf.sub(1, this.obs.o)))),
      samplesT ? takeValues(tf.tidy(() => this.obs.fill(samplesT, K))) : Promise.resolve(new Float32Array(0)),
      classesT ? takeValues(classesT) : Promise.resolve(null),
    ]);
    disposeAll(meanT, stdT, samplesT);
    return { iteration: this.done, mean, std, samples, diagnostic: await this.diagnostic(), classProbabilities };
  }

  dispose(): void {
    this.release();
    this.labels?.dispose();
    this.obs.dispose();
  }
}

/**
 * Pseudo-Gibbs (Rezende 2014) and Metropolis-within-Gibbs (Mattei & Frellsen 2018):
 * K chains per image over (z, x_mis). Pseudo-Gibbs draws z ~ q(z | x̂) and keeps it;
 * Metropolis-within-Gibbs keeps it with probability
 *   min(1, p(x̂|z*) p(z*) q(z_t|x̂) / (p(x̂|z_t) p(z_t) q(z*|x̂))),
 * x̂ = (x_obs, x_mis,t), which makes p(z, x_mis | x_obs) the chain's stationary law.
 * Both then draw x_mis ~ p(x_mis | z). The single imputation averages the decoder means
 * E[x_mis | z] over chains and over the second half of the planned iterations
 * (Metropolis: Rao-Blackwellized over the accept/reject coin, see advance()), and the
 * uncertainty is the spread of E[x_mis | z] over the same draws.
 *
 * With a given label y every density above is conditioned on it (q(z|x̂, y), p(x̂|z, y)).
 * With an unknown label (M2) the chain's state is (y, z, x_mis): each iteration proposes
 * y* ~ q(y|x̂), then z* ~ q(z|x̂, y*). Metropolis accepts the pair with
 *   min(1, p(x̂|z*,y*) p(z*) p(y*) q(y_t|x̂) q(z_t|x̂,y_t) / (p(x̂|z_t,y_t) p(z_t) p(y_t) q(y*|x̂) q(z*|x̂,y*))),
 * an independence proposal given x̂, so p(y, z, x_mis | x_obs) stays its stationary law.
 * Pseudo-Gibbs keeps every draw: like its z step, the y step is an approximation (q(y|x̂)
 * stands in for p(y | x̂), which the classifier only approximates). The class estimate
 * is the share of (Rao-Blackwellized) chain states in each class over the same draws
 * as the imputation. Caveat: y and x_mis are strongly coupled (a fill drawn for one
 * class is unlikely under another), so a chain seldom changes class; where the observed
 * pixels leave the class open, the class shares mostly reflect the chains' starts
 * (measured: all pixels missing, 64 chains, 1000 iterations: 0.67 instead of p(y) = ½).
 * The importance method marginalizes y without that problem.
 */
class ChainImputer extends BaseImputer {
  private xhat: tf.Tensor2D;
  private z: tf.Tensor2D | null = null;
  /** Labels of the chains' current states [rows, C] (conditional models). */
  private y: tf.Tensor2D | null = null;
  /** Decoder output at z (Metropolis: reused to score the current state). */
  private output: tf.Tensor2D | null = null;
  private current: tf.Tensor2D | null = null;
  private readonly average = new MeanAccumulator();
  private readonly classAverage = new MeanAccumulator();
  private accepted: tf.Scalar | null = null;
  private proposed = 0;

  constructor(
    problem: ImputeProblem,
    options: ImputeOptions,
    private readonly metropolis: boolean,
  ) {
    super(problem, options);
    this.xhat = this.startFill(this.samples);
  }

  get samples(): number {
    return Math.max(1, this.options.samples);
  }

  protected async advance(): Promise<void> {
    const { model, decoder } = this.problem;
    const K = this.samples;
    const rows = this.n * K;
    const uniforms = new Float32Array(rows);
    for (let i = 0; i < rows; i++) uniforms[i] = this.rng.uniform();
    const labelUniforms = this.labels?.uniforms(this.rng, rows) ?? null;
    const first = this.z === null;
    const scored = this.metropolis && !first;
    const result = tf.tidy(() => {
      const labels = this.labels;
      const logQ = labels ? labels.logQ(this.xhat) : null;
      const yStar = labels && logQ ? labels.draw(logQ, labelUniforms, K) : undefined;
      const proposal = this.encodeSample(this.xhat, yStar);
      const proposedOutput = model.decode(proposal.z, yStar);
      let z = proposal.z;
      let y = yStar;
      let output = proposedOutput;
      let accepted: tf.Scalar = tf.scalar(0);
      let averaged: tf.Tensor2D | null = null;
      let averagedSquares: tf.Tensor2D | null = null;
      let classShare: tf.Tensor2D | undefined = yStar ? tf.clone(yStar) : undefined;
      if (scored && this.z && this.output) {
        const yNow = this.y ?? undefined;
        // q(z|x̂, y_t) of the current state: the proposal's encoder output unless the labels may differ.
        const posteriorNow: Posterior = labels?.inferred ? model.encode(this.xhat, yNow) : proposal;
        // log of p(x̂|z,y) p(z) p(y) / (q(y|x̂) q(z|x̂,y)) for the proposal and for the current state
        // (the label terms are 0 when the label is given).
        const weight = (code: tf.Tensor2D, out: tf.Tensor2D, posterior: Posterior, label: tf.Tensor2D | undefined): tf.Tensor1D => {
          const joint = tf.add(decoder.logLikelihood(this.xhat, out), logPrior(code));
          const logW = tf.sub(joint, logPosterior(code, posterior.mu, posterior.logVar)) as tf.Tensor1D;
          if (!labels || !label || !logQ) return logW;
          const { logQy, logPy } = labels.logDensities(label, logQ, K);
          return tf.add(logW, tf.sub(logPy, logQy)) as tf.Tensor1D;
        };
        const logAlpha = tf.sub(weight(proposal.z, proposedOutput, proposal, yStar), weight(this.z, this.output, posteriorNow, yNow));
        const accept = tf.reshape(tf.less(tf.log(tf.tensor1d(uniforms)), logAlpha), [rows, 1]);
        z = tf.where(tf.tile(accept, [1, this.d]), proposal.z, this.z);
        output = tf.where(tf.tile(accept, [1, this.obs.D]), proposedOutput, this.output);
        accepted = tf.sum(tf.cast(accept, 'float32'));
        // What the average adds is E[f(z_t+1) | z_t, z*] = α f(z*) + (1 − α) f(z_t), not
        // f(z_t+1): the same expectation, without the coin flip's noise (rejected
        // proposals still count, by their acceptance probability).
        const alpha = tf.reshape(tf.exp(tf.minimum(logAlpha, 0)), [rows, 1]);
        const mix = (a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D => tf.add(tf.mul(alpha, a), tf.mul(tf.sub(1, alpha), b)) as tf.Tensor2D;
        const fNew = decoder.mean(proposedOutput);
        const fOld = decoder.mean(this.output);
        averaged = mix(fNew, fOld);
        averagedSquares = mix(tf.square(fNew), tf.square(fOld));
        if (yStar && yNow) {
          y = tf.where(tf.tile(accept, [1, yStar.shape[1]]), yStar, yNow);
          classShare = mix(yStar, yNow);
        }
      }
      const means = decoder.mean(output);
      const draw = decoder.sample(output, this.pixelNoise(rows));
      return {
        z,
        y,
        output,
        means,
        averaged: averaged ?? tf.clone(means),
        averagedSquares: averagedSquares ?? tf.square(means),
        classShare,
        xhat: this.obs.fill(draw, K),
        accepted,
      };
    });
    if (scored) {
      this.proposed += rows;
      const total = this.accepted ? tf.add(this.accepted, result.accepted) : tf.clone(result.accepted);
      this.accepted = replace(this.accepted, total as tf.Scalar);
    }
    result.accepted.dispose();
    this.xhat = replace(this.xhat, result.xhat);
    this.z = replace(this.z, result.z);
    if (result.y) this.y = replace(this.y, result.y);
    this.output = replace(this.output, result.output);
    this.current = replace(this.current, result.means);
    if (this.done + 1 > Math.floor(this.options.iterations / 2)) {
      this.average.add(result.averaged, this.n, K, result.averagedSquares);
      if (result.classShare && this.labels?.inferred) this.classAverage.add(result.classShare, this.n, K);
    }
    disposeAll(result.averaged, result.averagedSquares, result.classShare ?? null);
  }

  protected estimate(): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D | null] {
    if (!this.current) return this.unstarted();
    const [mean, std] = this.average.empty ? rowMoments(this.current, this.n, this.samples) : this.average.moments();
    return [mean, std, tf.clone(this.current)];
  }

  protected classEstimate(): tf.Tensor2D | null {
    if (!this.labels) return null;
    if (!this.classAverage.empty) {
      const [share, spread] = this.classAverage.moments();
      spread.dispose();
      return share;
    }
    const y = this.y;
    // Before the averaged half: the chains' current labels; before any step: q(y|x̂) of the start.
    if (y) return tf.tidy(() => tf.mean(tf.reshape(y, [this.n, this.samples, -1]), 1) as tf.Tensor2D);
    return tf.tidy(() => this.labels!.classifierEstimate(this.startFill(1)));
  }

  /** Before the first iteration: the start fill, no spread. */
  protected unstarted(): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D] {
    return tf.tidy(() => {
      const start = this.startFill(1);
      return [start, tf.zerosLike(start), this.startFill(this.samples)];
    });
  }

  protected async diagnostic(): Promise<ImputeDiagnostic | null> {
    if (!this.metropolis) return null;
    if (!this.accepted || this.proposed === 0) return { name: 'acceptance', value: NaN };
    const [count = NaN] = await this.accepted.data();
    return { name: 'acceptance', value: count / this.proposed };
  }

  async latents(): Promise<{ z: Float32Array; weights: Float32Array; rowsPerImage: number }> {
    const K = this.samples;
    const z = this.z ? Float32Array.from(await this.z.data()) : new Float32Array(0);
    return { z, weights: new Float32Array(this.n * K).fill(1 / K), rowsPerImage: K };
  }

  protected release(): void {
    disposeAll(this.xhat, this.z, this.y, this.output, this.current, this.accepted);
    this.average.dispose();
    this.classAverage.dispose();
  }
}

/**
 * Importance-weighted imputation (MIWAE, Mattei & Frellsen 2019) with a trained
 * encoder: each iteration draws L codes from the proposal around the current fill x̂,
 * weighs them by log w = log p(x_obs|z) + log p(z) − log proposal(z), and adds them to
 * running self-normalized sums (in a running max, log-sum-exp style) of w·E[x|z] and
 * w·E[x|z]². The fill becomes the weighted mean, so the next proposal sits closer to
 * p(z | x_obs); every iteration's draws stay valid importance samples for the same
 * target, so the estimate only gains from them. K imputations are drawn from all the
 * weighted codes so far (one weighted reservoir per slot).
 *
 * With a given label every density is conditioned on it. With an unknown label (M2) the
 * draws are pairs (y, z) from the joint proposal q(y|x̂) q(z|x̂, y) (its defensive share
 * from p(y) p(z), p(y) = 1/C), weighed by
 *   log w = log p(x_obs|z, y) + log p(z) + log p(y) − log proposal(y, z),
 * so the self-normalized sums marginalize y: the imputation estimates
 * E[x_mis | x_obs] = Σ_y p(y | x_obs) E[x_mis | x_obs, y], and each class's share of
 * the weights estimates p(y | x_obs).
 */
class ImportanceImputer extends BaseImputer {
  private xhat: tf.Tensor2D;
  /** Running max of log w per image [n, 1], and the sums scaled by exp(−max). */
  private logMax: tf.Tensor2D;
  private s0: tf.Tensor2D;
  private sq: tf.Tensor2D;
  private s1: tf.Tensor2D;
  private s2: tf.Tensor2D;
  /** Σ w·y per image [n, C] (conditional models), scaled like s0. */
  private sy: tf.Tensor2D | null;
  private reservoir: tf.Tensor2D | null = null;
  /** Per image, log Σ w over every draw so far (for the reservoirs). */
  private readonly logTotal: Float64Array;
  private lastZ: tf.Tensor2D | null = null;
  private lastLogW: tf.Tensor2D | null = null;

  constructor(problem: ImputeProblem, options: ImputeOptions) {
    super(problem, options);
    this.xhat = this.startFill(1);
    const D = this.obs.D;
    this.logMax = tf.fill([this.n, 1], -1e30) as tf.Tensor2D;
    this.s0 = tf.zeros([this.n, 1]);
    this.sq = tf.zeros([this.n, 1]);
    this.s1 = tf.zeros([this.n, D]);
    this.s2 = tf.zeros([this.n, D]);
    this.sy = this.labels ? tf.zeros([this.n, this.labels.classes]) : null;
    this.logTotal = new Float64Array(this.n).fill(-Infinity);
  }

  /**
   * q(z|x̂, y) of every row, [n·L] each (rows of one image together): the encoder of x̂
   * with each row's label. When labels vary within an image, x̂ is encoded once per class
   * and the rows pick theirs (C encodes instead of L). Call inside a tidy.
   */
  private posteriorRows(y: tf.Tensor2D | undefined, L: number): Posterior {
    const { model } = this.problem;
    const labels = this.labels;
    if (!labels || !y) {
      const { mu, logVar } = model.encode(this.xhat);
      return { mu: repeatRows(mu, L), logVar: repeatRows(logVar, L) };
    }
    if (!labels.inferred) {
      const { mu, logVar } = model.encode(this.xhat, labels.givenRows(1));
      return { mu: repeatRows(mu, L), logVar: repeatRows(logVar, L) };
    }
    const C = labels.classes;
    const all = model.encode(repeatRows(this.xhat, C), tf.tile(tf.eye(C), [this.n, 1]) as tf.Tensor2D);
    const image = Int32Array.from({ length: this.n * L }, (_, r) => Math.floor(r / L) * C);
    const pick = tf.add(tf.argMax(y, 1), tf.tensor1d(image, 'int32'));
    return { mu: tf.gather(all.mu, pick), logVar: tf.gather(all.logVar, pick) };
  }

  get samples(): number {
    return Math.max(0, this.options.samples);
  }

  private get proposals(): number {
    return Math.max(1, this.options.proposals);
  }

  protected async advance(): Promise<void> {
    const { model, decoder } = this.problem;
    const n = this.n;
    const L = this.proposals;
    const D = this.obs.D;
    const beta = this.options.priorShare ?? DEFAULT_PRIOR_SHARE;
    const fromPrior = Math.floor(beta * L);
    const fromQ = L - fromPrior;
    const priorRows = new Float32Array(n * L);
    for (let i = 0; i < n; i++) for (let l = fromQ; l < L; l++) priorRows[i * L + l] = 1;
    const epsValues = this.rng.normals(n * L * this.d);
    const labelUniforms = this.labels?.uniforms(this.rng, n * L) ?? null;
    const out = tf.tidy(() => {
      const eps = tf.tensor2d(epsValues, [n * L, this.d]);
      const p = tf.tensor2d(priorRows, [n * L, 1]);
      const labels = this.labels;
      let y: tf.Tensor2D | undefined;
      let logQy: tf.Tensor1D | null = null;
      let logPy: tf.Tensor1D | null = null;
      if (labels) {
        const logQL = repeatRows(labels.logQ(this.xhat), L);
        // Proposal rows draw y from q(y|x̂), prior rows from p(y) (all logits equal).
        y = labels.draw(tf.mul(tf.sub(1, p), logQL) as tf.Tensor2D, labelUniforms, L);
        ({ logQy, logPy } = labels.logDensities(y, logQL, L));
      }
      const { mu: muL, logVar: logVarL } = this.posteriorRows(y, L);
      // Proposal rows: μ + σε; prior rows: ε.
      const z = tf.add(tf.mul(eps, tf.add(p, tf.mul(tf.sub(1, p), tf.exp(tf.mul(0.5, logVarL))))), tf.mul(tf.sub(1, p), muL)) as tf.Tensor2D;
      const output = model.decode(z, y);
      const observedLl = tf.sum(tf.mul(decoder.pixelLogLikelihood(repeatRows(this.obs.x, L), output), repeatRows(this.obs.o, L)), 1);
      // log p(z) (+ log p(y)), and the proposal's components q(y|x̂) q(z|x̂,y) and p(y) p(z);
      // the label terms are 0 for a given label.
      const logP = logPy ? tf.add(logPrior(z), logPy) : logPrior(z);
      let logProposal = logPosterior(z, muL, logVarL);
      if (logQy) logProposal = tf.add(logProposal, logQy);
      if (fromPrior > 0) {
        // log((1−β) q + β p) = logsumexp over the two components; β is the realised share.
        const share = fromPrior / L;
        logProposal = tf.logSumExp(tf.stack([tf.add(logProposal, Math.log(1 - share)), tf.add(logP, Math.log(share))], 1), 1);
      }
      const logW = tf.reshape(tf.sub(tf.add(observedLl, logP), logProposal), [n, L]) as tf.Tensor2D;
      const means = decoder.mean(output);
      const newMax = tf.maximum(this.logMax, tf.max(logW, 1, true));
      const scale = tf.exp(tf.sub(this.logMax, newMax));
      const w = tf.exp(tf.sub(logW, newMax));
      const m3 = tf.reshape(means, [n, L, D]);
      const w3 = tf.reshape(w, [n, L, 1]);
      const s0 = tf.add(tf.mul(this.s0, scale), tf.sum(w, 1, true));
      const sq = tf.add(tf.mul(this.sq, tf.square(scale)), tf.sum(tf.square(w), 1, true));
      const s1 = tf.add(tf.mul(this.s1, scale), tf.sum(tf.mul(w3, m3), 1));
      const s2 = tf.add(tf.mul(this.s2, scale), tf.sum(tf.mul(w3, tf.square(m3)), 1));
      const sy = this.sy && y ? tf.add(tf.mul(this.sy, scale), tf.sum(tf.mul(w3, tf.reshape(y, [n, L, -1])), 1)) : tf.zeros([n, 0]);
      const xhat = this.obs.fill(tf.div(s1, s0) as tf.Tensor2D, 1);
      return { z, logW, means, logMax: newMax, s0, sq, s1, s2, sy, xhat } as Record<string, tf.Tensor2D>;
    });
    if (this.sy) this.sy = replace(this.sy, out.sy!);
    else out.sy!.dispose();
    this.logMax = replace(this.logMax, out.logMax!);
    this.s0 = replace(this.s0, out.s0!);
    this.sq = replace(this.sq, out.sq!);
    this.s1 = replace(this.s1, out.s1!);
    this.s2 = replace(this.s2, out.s2!);
    this.xhat = replace(this.xhat, out.xhat!);
    this.lastZ = replace(this.lastZ, out.z!);
    this.lastLogW = replace(this.lastLogW, out.logW!);
    try {
      if (this.samples > 0) await this.resample(out.logW!, out.means!, L);
    } finally {
      out.means!.dispose();
    }
  }

  /**
   * Weighted reservoir per slot (Chao 1982): after draw j with weight w_j, a slot holds
   * it with probability w_j / Σ_{i≤j} w_i, so each slot ends as one draw from all the
   * weighted codes so far, independently of the other slots.
   */
  private async resample(logW: tf.Tensor2D, means: tf.Tensor2D, L: number): Promise<void> {
    const K = this.samples;
    const n = this.n;
    const lw = await logW.data();
    const held = n * K;
    const pick = new Int32Array(held);
    for (let i = 0; i < held; i++) pick[i] = this.reservoir ? i : -1;
    for (let i = 0; i < n; i++) {
      let total = this.logTotal[i]!;
      for (let l = 0; l < L; l++) {
        const w = lw[i * L + l]!;
        if (!Number.isFinite(w)) continue;
        total = total === -Infinity ? w : Math.max(total, w) + Math.log1p(Math.exp(-Math.abs(total - w)));
        const keep = Math.exp(w - total);
        for (let k = 0; k < K; k++) if (pick[i * K + k]! < 0 || this.rng.uniform() < keep) pick[i * K + k] = held + i * L + l;
      }
      this.logTotal[i] = total;
      // Only if every weight so far was −∞: hold the first draw rather than nothing.
      for (let k = 0; k < K; k++) if (pick[i * K + k]! < 0) pick[i * K + k] = held + i * L;
    }
    const next = tf.tidy(() => {
      const pool = this.reservoir ? tf.concat([this.reservoir, means]) : tf.concat([tf.zeros([held, this.obs.D]), means]);
      return tf.gather(pool, tf.tensor1d(pick, 'int32')) as tf.Tensor2D;
    });
    this.reservoir = replace(this.reservoir, next);
  }

  protected estimate(): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D | null] {
    const samples = this.samples === 0 ? null : this.reservoir ? tf.clone(this.reservoir) : this.startFill(this.samples);
    const [mean, std] = tf.tidy(() => {
      if (this.done === 0) {
        const start = this.startFill(1);
        return [start, tf.zerosLike(start)];
      }
      const m = tf.div(this.s1, this.s0) as tf.Tensor2D;
      return [m, tf.sqrt(tf.relu(tf.sub(tf.div(this.s2, this.s0), tf.square(m)))) as tf.Tensor2D];
    });
    return [mean, std, samples];
  }

  protected classEstimate(): tf.Tensor2D | null {
    const labels = this.labels;
    const sy = this.sy;
    if (!labels || !sy) return null;
    if (this.done === 0) return tf.tidy(() => labels.classifierEstimate(this.startFill(1)));
    return tf.tidy(() => tf.div(sy, this.s0) as tf.Tensor2D);
  }

  /** Kish's effective sample size (Σw)² / Σw², averaged over images. */
  protected async diagnostic(): Promise<ImputeDiagnostic> {
    if (this.done === 0) return { name: 'ess', value: NaN };
    const ess = await takeValues(tf.tidy(() => tf.mean(tf.div(tf.square(this.s0), this.sq))));
    return { name: 'ess', value: ess[0] ?? NaN };
  }

  async latents(): Promise<{ z: Float32Array; weights: Float32Array; rowsPerImage: number }> {
    const L = this.proposals;
    if (!this.lastZ || !this.lastLogW) return { z: new Float32Array(0), weights: new Float32Array(0), rowsPerImage: L };
    const z = Float32Array.from(await this.lastZ.data());
    const weights = await takeValues(tf.tidy(() => tf.reshape(tf.softmax(this.lastLogW!, 1), [-1])));
    return { z, weights, rowsPerImage: L };
  }

  protected release(): void {
    disposeAll(this.xhat, this.logMax, this.s0, this.sq, this.s1, this.s2, this.sy, this.reservoir, this.lastZ, this.lastLogW);
  }
}

/**
 * Latent optimization: z* = argmax_z log p(x_obs|z) + log p(z) by Adam ascent from K
 * starts per image (the encoder's mean of the start fill, then draws of q around it);
 * the single imputation is E[x_mis | z*] of the best start, the K imputations those of
 * every start.
 *
 * With a given label the objective is conditioned on it. With an unknown label (M2) the
 * search is over (y, z): start k holds the class ranked (k mod C) by q(y|x̂) of the start
 * fill (K ≥ C tries every class), its objective gains log p(y), and the best start picks
 * the pair. Its class estimate is a MAP one: softmax over the classes tried of
 * max_z log p(x_obs, z, y) (untried classes 0) — no volume term, so it is sharper than
 * p(y | x_obs).
 */
class OptimizeImputer extends BaseImputer {
  private z: tf.Tensor2D;
  private m: tf.Tensor2D;
  private v: tf.Tensor2D;
  /** Each start's label [n·K, C] (conditional models), fixed for the whole search. */
  private readonly y: tf.Tensor2D | null;
  private objective: tf.Tensor1D | null = null;
  private t = 0;

  constructor(problem: ImputeProblem, options: ImputeOptions) {
    super(problem, options);
    const K = this.samples;
    const eps = this.rng.normals(this.n * K * this.d);
    for (let i = 0; i < this.n; i++) eps.fill(0, i * K * this.d, (i * K + 1) * this.d);
    const labels = this.labels;
    this.y = labels
      ? tf.tidy(() => {
          const C = labels.classes;
          // Column (k mod C) of each image's classes sorted by q(y|x̂), for start k.
          const ranked = tf.topk(labels.logQ(this.startFill(1)), C).indices;
          const column = tf.tensor1d(Int32Array.from({ length: K }, (_, k) => k % C), 'int32');
          const picked = tf.reshape(tf.gather(ranked, column, 1), [-1]) as tf.Tensor1D;
          return labels.withGiven(tf.cast(tf.oneHot(picked, C), 'float32') as tf.Tensor2D, K);
        })
      : null;
    this.z = tf.tidy(() => {
      const noise = tf.tensor2d(eps, [this.n * K, this.d]);
      if (this.y) {
        const { mu, logVar } = problem.model.encode(this.startFill(K), this.y);
        return tf.add(mu, tf.mul(tf.exp(tf.mul(0.5, logVar)), noise)) as tf.Tensor2D;
      }
      const { mu, logVar } = problem.model.encode(this.startFill(1));
      return tf.add(repeatRows(mu, K), tf.mul(tf.exp(tf.mul(0.5, repeatRows(logVar, K))), noise)) as tf.Tensor2D;
    });
    this.m = tf.zerosLike(this.z);
    this.v = tf.zerosLike(this.z);
  }

  get samples(): number {
    return Math.max(1, this.options.samples);
  }

  /** log p(x_obs|z, y) + log p(z) (+ log p(y) where the label is inferred) per row. */
  private objectiveOf(z: tf.Tensor2D): tf.Tensor1D {
    const { model, decoder } = this.problem;
    const K = this.samples;
    return tf.tidy(() => {
      const y = this.y ?? undefined;
      const ll = tf.sum(tf.mul(decoder.pixelLogLikelihood(repeatRows(this.obs.x, K), model.decode(z, y)), repeatRows(this.obs.o, K)), 1);
      const joint = tf.add(ll, logPrior(z));
      return (this.labels ? tf.add(joint, this.labels.logPrior(K)) : joint) as tf.Tensor1D;
    });
  }

  protected advance(): Promise<void> {
    const lr = this.options.learningRate ?? DEFAULT_OPTIMIZE_LR;
    this.t++;
    const t = this.t;
    const next = tf.tidy(() => {
      const { value, grad } = tf.valueAndGrad((z: tf.Tensor) => tf.sum(this.objectiveOf(z as tf.Tensor2D)))(this.z);
      value.dispose();
      const m = tf.add(tf.mul(0.9, this.m), tf.mul(0.1, grad));
      const v = tf.add(tf.mul(0.999, this.v), tf.mul(0.001, tf.square(grad)));
      const stepSize = lr / (1 - 0.9 ** t);
      const denom = tf.add(tf.sqrt(tf.div(v, 1 - 0.999 ** t)), 1e-8);
      // Ascent: the objective is a log density to maximize.
      const z = tf.add(this.z, tf.mul(stepSize, tf.div(m, denom))) as tf.Tensor2D;
      return { z, m: m as tf.Tensor2D, v: v as tf.Tensor2D, objective: this.objectiveOf(z) };
    });
    this.z = replace(this.z, next.z);
    this.m = replace(this.m, next.m);
    this.v = replace(this.v, next.v);
    this.objective = replace(this.objective, next.objective);
    return Promise.resolve();
  }

  protected estimate(): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D] {
    const K = this.samples;
    const n = this.n;
    return tf.tidy(() => {
      const means = this.problem.decoder.mean(this.problem.model.decode(this.z, this.y ?? undefined));
      const [, std] = rowMoments(means, n, K);
      const objective = this.objective ?? this.objectiveOf(this.z);
      // Best start per image: its row in [n·K].
      const offsets = tf.tensor1d(Int32Array.from({ length: n }, (_, i) => i * K), 'int32');
      const best = tf.add(tf.argMax(tf.reshape(objective, [n, K]), 1), offsets);
      return [tf.gather(means, best) as tf.Tensor2D, std, means];
    });
  }

  protected classEstimate(): tf.Tensor2D | null {
    const y = this.y;
    if (!y) return null;
    const K = this.samples;
    return tf.tidy(() => {
      const objective = tf.reshape(this.objective ?? this.objectiveOf(this.z), [this.n, K, 1]);
      const y3 = tf.reshape(y, [this.n, K, -1]);
      // The best objective per class over the starts that hold it; far below any other where none does.
      const perClass = tf.max(tf.add(tf.mul(y3, objective), tf.mul(tf.sub(1, y3), -1e30)), 1);
      return tf.softmax(perClass) as tf.Tensor2D;
    });
  }

  protected async diagnostic(): Promise<ImputeDiagnostic> {
    const K = this.samples;
    const best = await takeValues(
      tf.tidy(() => tf.mean(tf.max(tf.reshape(this.objective ?? this.objectiveOf(this.z), [this.n, K]), 1))),
    );
    return { name: 'objective', value: best[0] ?? NaN };
  }

  async latents(): Promise<{ z: Float32Array; weights: Float32Array; rowsPerImage: number }> {
    const K = this.samples;
    return { z: Float32Array.from(await this.z.data()), weights: new Float32Array(this.n * K).fill(1 / K), rowsPerImage: K };
  }

  protected release(): void {
    disposeAll(this.z, this.m, this.v, this.y, this.objective);
  }
}

export function createImputer(problem: ImputeProblem, options: ImputeOptions): Imputer {
  switch (options.method) {
    case 'pseudo-gibbs':
      return new ChainImputer(problem, options, false);
    case 'metropolis':
      return new ChainImputer(problem, options, true);
    case 'importance':
      return new ImportanceImputer(problem, options);
    case 'optimize':
      return new OptimizeImputer(problem, options);
  }
}
