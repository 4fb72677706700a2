import { classifierKindOf, type RunConfig } from '@shared/config';
import { ApiError } from '@shared/errors';
import { tf } from '../engine/tf';
import { createRng, STREAM, type Rng, type RngState } from '../engine/random';
import { copyValues, takeValues } from '../engine/read';
import { createClassifier, type Classifier } from '../model/classifier';
import { createVae } from '../model/create';
import { createPosteriorFlow, type PosteriorFlow } from '../model/posterior-flow';
import { classesOf, type Vae, type VaeSpec } from '../model/vae';
import { corruptBatch } from '../objectives/corrupt';
import { createDecoder, type TrainableDecoder } from '../objectives/decoders';
import { gaussianKl, gaussianKlPerDim, reparameterize, type ElboParts } from '../objectives/elbo';
import { importanceLogWeights, LogMeanExp } from '../objectives/iwae';
import { enumerateClasses, m2Loss, m2PerImage, type M2Terms } from '../objectives/m2';
import { learningRateAt, objectiveAt, type ScheduleConfig } from '../objectives/schedule';
import { trainingObjective } from '../objectives/training-loss';
import { familyOf } from '@shared/families';
import { decoderHead } from '@shared/likelihood';
import { assignWeights, weightShapes, weightValues } from './trainable-weights';
import { Adam, type AdamMoments } from './adam';
import { SAMPLE_COUNT, samplesGrid, traversalGrid, type ArtifactKind } from './epoch-images';
import type { EpochView } from './engine-trainer';
import type { RasterImage } from './grid';

/** Batch means of one training step, in nats per image. */
export interface StepStats {
  loss: number;
  recon: number;
  kl: number;
  /** Further per-step figures of a family (VQ-VAE: commitment, perplexity, codes_restarted). */
  extra?: Record<string, number>;
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
  /** M2: images with a label that the classifier was scored on, and how many it got right. */
  classified?: number;
  correct?: number;
  /** VQ-VAE: how often each code was picked. */
  codeCounts?: Float64Array;
}

export type TrainerConfig = ScheduleConfig &
  Pick<RunConfig, 'seed' | 'decoder' | 'gaussianSigma' | 'decoderVariance' | 'denoise' | 'denoiseSigma' | 'denoiseMaskProb'> &
  Partial<Pick<RunConfig, 'flow' | 'flowSteps' | 'family' | 'classifierWeight' | 'classifier' | 'mixtureComponents'>>;

/** What one step's gradient needs besides the weights (VaeTrainer.drawStep). */
export interface StepInputs {
  /** Clean images [n, D] row-major: what the decoder is scored on. */
  batch: Float32Array;
  /** What the encoder sees: `batch` itself, or its corrupted copy (denoising). */
  corrupted: Float32Array;
  /** Standard normal noise, [n · rows per image, latent] row-major. */
  eps: Float32Array;
  n: number;
  labels?: BatchLabels;
  /** The 1-based optimizer step (the objective's schedules depend on it). */
  stepNumber: number;
}

/** A step's batch means and its gradient by trainable variable (undefined where a variable has none). */
export interface StepGradients {
  loss: number;
  recon: number;
  kl: number;
  grads: (tf.Tensor | undefined)[];
}

/** Class labels of the images of a batch, in row order (conditional models). */
export type BatchLabels = ArrayLike<number>;

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

/**
 * Rows (image × sample) per decoder call in the IWAE bound: 2 048 rows of 28×28 images,
 * fewer for larger ones (130 of 64×64×3), so that memory is bounded at any k and one
 * call takes seconds at most, never the heartbeat's 30 s.
 */
export function iwaeRowsPerChunk(inputSize: number): number {
  return Math.max(1, Math.min(2048, Math.floor((2048 * 784) / Math.max(1, inputSize))));
}

/** Between decoder calls: lets timers (the heartbeat) and queued messages run. */
const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * The numeric core: model, decoder likelihood, objective schedule, Adam. Works on flat
 * float batches and returns plain numbers; every tensor it makes is freed before a
 * method returns (tests check tf.memory().numTensors).
 */
export class VaeTrainer {
  readonly model: Vae;
  readonly decoder: TrainableDecoder;
  private readonly trainable: tf.Variable[];
  private optimizer: Adam | null = null;
  private readonly noise: Rng;
  private readonly corruption: Rng;
  /** The flow on the posterior sample (planar or IAF), null for a plain Gaussian q. */
  readonly flow: PosteriorFlow | null;
  /** M2's q(y|x); null for every other family. */
  readonly classifier: Classifier | null;
  /** Raw decoder outputs per image: D, or a logistic mixture's 3·K per sub-pixel. */
  private readonly outputWidth: number;

  /**
   * `spec.classes` makes a conditional model (every method then needs the batch's
   * labels); the config's flow adds the encoder outputs the flow steps read.
   */
  constructor(
    spec: VaeSpec,
    private readonly config: TrainerConfig,
  ) {
    this.flow = createPosteriorFlow(config.flow ?? 'none', config.flowSteps ?? 0, spec.latent, createRng(config.seed, STREAM.flowInit));
    // The decoder's last layer is what its likelihood reads (one value per sub-pixel, or a mixture's parameters).
    const head = decoderHead(config, spec.image.channels);
    this.model = createVae({ ...spec, extraOutputs: this.flow?.extraOutputs ?? 0, output: head }, config.seed);
    this.outputWidth = spec.image.width * spec.image.height * head.channels;
    this.decoder = createDecoder(config, this.model.inputSize);
    // A family that keeps only some labels infers the others with a classifier q(y|x) (M2).
    const semiSupervised = config.family !== undefined && familyOf({ family: config.family }).labels === 'some';
    if (semiSupervised && classesOf(spec) < 2) throw new Error('an M2 model needs the classes of its dataset (spec.classes)');
    this.classifier =
      semiSupervised
        ? createClassifier(spec, classesOf(spec), createRng(config.seed, STREAM.classifierInit), classifierKindOf(config))
        : null;
    // The flow's own weights (IAF) come last: checkpoints of every other model keep their order.
    this.trainable = [...this.model.variables, ...this.decoder.variables, ...(this.classifier?.variables ?? []), ...(this.flow?.variables ?? [])];
    this.noise = createRng(config.seed, STREAM.noise);
    this.corruption = createRng(config.seed, STREAM.corrupt);
  }

  /** Created on first use: a replica that only computes gradients holds no moments. */
  private get adam(): Adam {
    this.optimizer ??= new Adam(this.trainable);
    return this.optimizer;
  }

  get latent(): number {
    return this.model.spec.latent;
  }

  get inputSize(): number {
    return this.model.inputSize;
  }

  decoderSigma(): Promise<number | null> {
    return this.decoder.sigma();
  }

  /** Classes of a conditional model, 0 for an unconditional one. */
  get classes(): number {
    return classesOf(this.model.spec);
  }

  /**
   * One-hot rows for the labels of a batch (conditional models), undefined otherwise.
   * Call inside a tidy. A label outside 0…classes−1 (an unlabelled image) is refused.
   */
  private oneHot(labels: BatchLabels | undefined, n: number): tf.Tensor2D | undefined {
    const classes = this.classes;
    if (classes === 0) return undefined;
    if (labels === undefined) {
      throw new ApiError('invalid_input', 'This conditional VAE needs the class label of every image; none was given.', { field: 'labels' });
    }
    if (labels.length !== n) throw new Error(`${labels.length} labels for ${n} images`);
    const ids = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const label = labels[i]!;
      if (!Number.isInteger(label) || label < 0 || label >= classes) {
        throw new ApiError('invalid_input', `Label ${label} is not one of the model's ${classes} classes (0–${classes - 1}).`, { field: 'labels' });
      }
      ids[i] = label;
    }
    return tf.cast(tf.oneHot(tf.tensor1d(ids, 'int32'), classes), 'float32') as tf.Tensor2D;
  }

  /**
   * M2's partly labelled batch: one-hot rows for labels ≥ 0 and zero rows for −1
   * (unlabelled), with the mask of labelled rows. Call inside a tidy.
   */
  private partialOneHot(labels: BatchLabels, n: number): { y: tf.Tensor2D; labelled: tf.Tensor1D } {
    const classes = this.classes;
    const values = new Float32Array(n * classes);
    const mask = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const label = labels[i]!;
      if (label < 0) continue;
      if (!Number.isInteger(label) || label >= classes) {
        throw new ApiError('invalid_input', `Label ${label} is not one of the model's ${classes} classes (0–${classes - 1}).`, { field: 'labels' });
      }
      values[i * classes + label] = 1;
      mask[i] = 1;
    }
    return { y: tf.tensor2d(values, [n, classes]), labelled: tf.tensor1d(mask) };
  }

  /**
   * M2's terms for every image and every class (each image's ELBO under each label,
   * one z sample each from eps [n·C, d]) and log q(y|x). Call inside a tidy.
   */
  private m2Terms(x: tf.Tensor2D, input: tf.Tensor2D, eps: tf.Tensor2D): M2Terms & { klPerDim: tf.Tensor3D } {
    const classes = this.classes;
    const n = x.shape[0];
    const targets = enumerateClasses(x, classes);
    const inputs = input === x ? targets : enumerateClasses(input, classes);
    const parts = this.elboParts(targets.x, inputs.x, eps, targets.y);
    return {
      recon: tf.reshape(tf.neg(parts.logLikelihood), [n, classes]) as tf.Tensor2D,
      klz: tf.reshape(parts.kl, [n, classes]) as tf.Tensor2D,
      logQ: tf.logSoftmax(this.classifier!.logits(input)) as tf.Tensor2D,
      klPerDim: tf.reshape(parts.klPerDim, [n, classes, this.latent]) as tf.Tensor3D,
    };
  }

  /**
   * A posterior sample for each row: z = μ + σ ε, then the flow steps if any, with
   * log p(z) − log q(z|x) per row (a single-sample −KL estimate when there is a flow).
   */
  private sampleLatent(posterior: { mu: tf.Tensor2D; logVar: tf.Tensor2D; extra: tf.Tensor2D }, eps: tf.Tensor2D): { z: tf.Tensor2D; logPOverQ: tf.Tensor1D } {
    return tf.tidy(() => {
      const z0 = reparameterize(posterior.mu, posterior.logVar, eps);
      const flowed = this.flow ? this.flow.apply(z0, posterior.extra) : { z: z0, logDet: tf.zeros([z0.shape[0]]) as tf.Tensor1D };
      // log N(z_K; 0, I) − [log N(z_0; μ, σ²) − Σ log|det|]; the log 2π terms cancel.
      const gap = tf.mul(-0.5, tf.sum(tf.sub(tf.sub(tf.square(flowed.z), tf.square(eps)), posterior.logVar), 1));
      return { z: flowed.z, logPOverQ: tf.add(gap, flowed.logDet) as tf.Tensor1D };
    });
  }

  /** Optimizer steps taken so far. */
  get stepsDone(): number {
    return this.adam.step;
  }

  /**
   * ELBO parts for clean targets x, encoding `input` (x itself, or its corrupted copy).
   * With a flow the KL is the single-sample estimate log q(z_K|x) − log p(z_K) (no
   * closed form), and klPerDim stays the analytic KL of the base Gaussian q0 (what
   * the active-dims figure and kl_dim_j show).
   */
  private elboParts(x: tf.Tensor2D, input: tf.Tensor2D, eps: tf.Tensor2D, y: tf.Tensor2D | undefined): ElboParts {
    return tf.tidy(() => {
      if (this.flow) {
        const posterior = this.model.encodeExtra(input, y);
        const { z, logPOverQ } = this.sampleLatent(posterior, eps);
        return {
          logLikelihood: this.decoder.logLikelihood(x, this.model.decode(z, y)),
          kl: tf.neg(logPOverQ) as tf.Tensor1D,
          klPerDim: gaussianKlPerDim(posterior.mu, posterior.logVar),
        };
      }
      const { mu, logVar } = this.model.encode(input, y);
      const output = this.model.decode(reparameterize(mu, logVar, eps), y);
      return {
        logLikelihood: this.decoder.logLikelihood(x, output),
        kl: gaussianKl(mu, logVar),
        klPerDim: gaussianKlPerDim(mu, logVar),
      };
    });
  }

  /**
   * What step `stepsDone + 1` draws from the trainer's own streams for a batch: the
   * corrupted copy the encoder sees and the noise of every row. Drawn once for the
   * whole batch (whichever thread then computes which rows), so the random numbers of
   * a run do not depend on how many threads train it.
   */
  drawStep(batch: Float32Array, n: number, labels?: BatchLabels): StepInputs {
    const corrupted = this.config.denoise === 'none' ? batch : corruptBatch(batch, this.model.spec.image.channels, this.config, this.corruption);
    // M2 draws one z per image and class (every label is tried for unlabelled images).
    const eps = this.noise.normals(n * this.noiseRowsPerImage * this.latent);
    return { batch, corrupted, eps, n, ...(labels === undefined ? {} : { labels }), stepNumber: this.adam.step + 1 };
  }

  /** Noise rows per image of a step: M2 decodes each image once per class. */
  get noiseRowsPerImage(): number {
    return this.classifier ? this.classes : 1;
  }

  /**
   * The gradient of the step's objective (the batch mean) by trainable variable, in
   * their order, with the batch means loss/recon/kl. Touches no weight and no stream:
   * a replica on another thread runs it on its rows. The caller disposes the gradients.
   */
  async gradients(inputs: StepInputs): Promise<StepGradients> {
    const { batch, corrupted, n, labels } = inputs;
    const D = this.model.inputSize;
    const settings = objectiveAt(this.config, inputs.stepNumber);
    const rows = n * this.noiseRowsPerImage;
    let stats: tf.Tensor1D | undefined;
    const grads = tf.tidy(() => {
      const x = tf.tensor2d(batch, [n, D]);
      const input = corrupted === batch ? x : tf.tensor2d(corrupted, [n, D]);
      const eps = tf.tensor2d(inputs.eps, [rows, this.latent]);
      const partial = this.classifier ? this.partialOneHot(labels ?? new Int32Array(n).fill(-1), n) : null;
      const y = this.classifier ? undefined : this.oneHot(labels, n);
      const { grads } = tf.variableGrads(() => {
        const objective = partial
          ? m2Loss(this.m2Terms(x, input, eps), partial.y, partial.labelled, settings.klWeight, this.config.classifierWeight ?? 1)
          : trainingObjective(this.elboParts(x, input, eps, y), settings);
        // Kept past the tape's scope so one read gives all three numbers.
        stats = tf.keep(tf.stack([objective.loss, objective.recon, objective.kl]) as tf.Tensor1D);
        return objective.loss;
      }, this.trainable);
      return grads;
    });
    const ordered = this.trainable.map((variable) => grads[variable.name]);
    try {
      const [loss = NaN, recon = NaN, kl = NaN] = stats === undefined ? [] : await stats.data();
      return { loss, recon, kl, grads: ordered };
    } catch (error) {
      tf.dispose(grads);
      throw error;
    } finally {
      stats?.dispose();
    }
  }

  /** Adam on gradients in the trainable variables' order (undefined: that variable has none this step). */
  applyGradients(grads: readonly (tf.Tensor | undefined)[], stepNumber: number): void {
    const named: tf.NamedTensorMap = {};
    this.trainable.forEach((variable, i) => {
      const g = grads[i];
      if (g !== undefined) named[variable.name] = g;
    });
    this.adam.apply(named, learningRateAt(this.config, stepNumber));
  }

  /**
   * One Adam step on `n` images with the objective and learning rate of this step. If
   * the loss is not finite the parameters are left untouched and the stats are
   * returned as they are, for the caller to report.
   */
  async step(batch: Float32Array, n: number, labels?: BatchLabels): Promise<StepStats> {
    const inputs = this.drawStep(batch, n, labels);
    const { loss, recon, kl, grads } = await this.gradients(inputs);
    try {
      if (Number.isFinite(loss)) this.applyGradients(grads, inputs.stepNumber);
      return { loss, recon, kl };
    } finally {
      tf.dispose(grads.filter((g) => g !== undefined));
    }
  }

  /** The learning rate of a 1-based optimizer step (the run's decay schedule). */
  learningRate(stepNumber: number): number {
    return learningRateAt(this.config, stepNumber);
  }

  /** Adam's step count and moments (a data-parallel coordinator runs its own update on them). */
  exportMoments(): Promise<AdamMoments> {
    return this.adam.exportMoments();
  }

  importMoments(moments: AdamMoments): void {
    this.adam.importMoments(moments);
  }

  /** The trainable variables' shapes, in order (what a replica's weights are laid out as). */
  parameterShapes(): number[][] {
    return weightShapes(this.trainable);
  }

  /** The trainable variables' current values, in order. */
  parameterValues(): Promise<Float32Array[]> {
    return weightValues(this.trainable);
  }

  /** Overwrites the weights (a replica takes its coordinator's after every step); Adam and streams untouched. */
  setParameterValues(values: readonly Float32Array[]): void {
    assignWeights(this.trainable, values);
  }

  /** ELBO sums over a batch with one z sample per image drawn from `rng` (clean inputs). */
  async evaluate(batch: Float32Array, n: number, rng: Rng, labels?: BatchLabels): Promise<EvalSums> {
    if (this.classifier) return this.evaluateM2(batch, n, rng, labels);
    const epsValues = rng.normals(n * this.latent);
    const sums = await takeValues(
      tf.tidy(() => {
        const x = tf.tensor2d(batch, [n, this.model.inputSize]);
        const eps = tf.tensor2d(epsValues, [n, this.latent]);
        const parts = this.elboParts(x, x, eps, this.oneHot(labels, n));
        // One read: [Σ log p(x|z), Σ KL, Σ KL_1 … Σ KL_d].
        return tf.concat([tf.stack([tf.sum(parts.logLikelihood), tf.sum(parts.kl)]), tf.sum(parts.klPerDim, 0)]);
      }),
    );
    return { count: n, logLikelihood: sums[0] ?? NaN, kl: sums[1] ?? NaN, klPerDim: Float64Array.from(sums.subarray(2)) };
  }

  /**
   * The ELBO of each image in nats (one posterior sample, the KL in closed form where
   * there is one), as the decoder scores `batch` (the caller dequantizes for continuous
   * decoders), and with `means` the posterior means of `clean` from the same encoder
   * pass where the two inputs are one (as encodeMean gives them). M2 gives its
   * one-sample bound on log p(x) with y summed out.
   */
  async elboPerImage(batch: Float32Array, n: number, rng: Rng, labels?: BatchLabels): Promise<Float64Array> {
    return (await this.scoreBatch(batch, n, rng, labels, false)).elbo;
  }

  async scoreBatch(batch: Float32Array, n: number, rng: Rng, labels: BatchLabels | undefined, withMeans: boolean, clean = batch): Promise<{ elbo: Float64Array; means: Float32Array | null }> {
    if (this.classifier || this.flow || clean !== batch) {
      const elbo = this.classifier ? await this.iwaeLogLikelihood(batch, n, 1, rng) : await this.elboOnly(batch, n, rng, labels);
      return { elbo, means: withMeans ? await this.encodeMean(clean, n, labels) : null };
    }
    const epsValues = rng.normals(n * this.latent);
    const d = this.latent;
    const values = await takeValues(
      tf.tidy(() => {
        const x = tf.tensor2d(batch, [n, this.model.inputSize]);
        const y = this.oneHot(labels, n);
        const { mu, logVar } = this.model.encode(x, y);
        const output = this.model.decode(reparameterize(mu, logVar, tf.tensor2d(epsValues, [n, d])), y);
        const elbo = tf.sub(this.decoder.logLikelihood(x, output), gaussianKl(mu, logVar));
        // One read: [ELBO per image …, μ row-major …].
        return withMeans ? tf.concat([elbo, tf.reshape(mu, [n * d])]) : elbo;
      }),
    );
    return { elbo: Float64Array.from(values.subarray(0, n)), means: withMeans ? Float32Array.from(values.subarray(n, n + n * d)) : null };
  }

  private async elboOnly(batch: Float32Array, n: number, rng: Rng, labels?: BatchLabels): Promise<Float64Array> {
    const epsValues = rng.normals(n * this.latent);
    const values = await takeValues(
      tf.tidy(() => {
        const x = tf.tensor2d(batch, [n, this.model.inputSize]);
        const parts = this.elboParts(x, x, tf.tensor2d(epsValues, [n, this.latent]), this.oneHot(labels, n));
        return tf.sub(parts.logLikelihood, parts.kl);
      }),
    );
    return Float64Array.from(values);
  }

  /**
   * M2 on held-out images: the bound on log p(x) with y summed out under q(y|x) (−U(x),
   * labels unused), and, for images with a label, whether argmax q(y|x) is right.
   */
  private async evaluateM2(batch: Float32Array, n: number, rng: Rng, labels?: BatchLabels): Promise<EvalSums> {
    const classes = this.classes;
    const epsValues = rng.normals(n * classes * this.latent);
    const values = await takeValues(
      tf.tidy(() => {
        const x = tf.tensor2d(batch, [n, this.model.inputSize]);
        const terms = this.m2Terms(x, x, tf.tensor2d(epsValues, [n * classes, this.latent]));
        const parts = m2PerImage(terms, tf.zeros([n, classes]), tf.zeros([n]));
        const q = tf.exp(terms.logQ);
        const klPerDim = tf.sum(tf.mul(terms.klPerDim, tf.expandDims(q, 2)), [0, 1]);
        const predicted = tf.cast(tf.argMax(terms.logQ, 1), 'float32');
        // One read: [Σ log p(x|z) (expected), Σ rest of −ELBO, Σ KL_j …, predicted labels …].
        return tf.concat([tf.stack([tf.neg(tf.sum(parts.recon)), tf.sum(parts.kl)]), klPerDim, predicted]);
      }),
    );
    const d = this.latent;
    let classified = 0;
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const label = labels?.[i] ?? -1;
      if (label < 0) continue;
      classified++;
      if (values[2 + d + i] === label) correct++;
    }
    return {
      count: n,
      logLikelihood: values[0] ?? NaN,
      kl: values[1] ?? NaN,
      klPerDim: Float64Array.from(values.subarray(2, 2 + d)),
      classified,
      correct,
    };
  }

  /** M2: argmax q(y|x) per image and the probabilities [n, C] row-major. */
  async classify(batch: Float32Array, n: number): Promise<{ labels: Int32Array; probabilities: Float32Array }> {
    if (!this.classifier) throw new ApiError('invalid_input', "Only semi-supervised models (family 'm2') have a classifier.", { field: 'family' });
    const probabilities = await takeValues(tf.tidy(() => tf.softmax(this.classifier!.logits(tf.tensor2d(batch, [n, this.model.inputSize])))));
    const classes = this.classes;
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (probabilities[i * classes + c]! > probabilities[i * classes + best]!) best = c;
      labels[i] = best;
    }
    return { labels, probabilities };
  }

  /**
   * IWAE estimate log (1/k) Σ w per image (float64), k samples from `rng`, decoded in
   * chunks of at most IWAE_CHUNK_ROWS rows. `batch` is scored as given (the caller
   * dequantizes for continuous decoders). A conditional VAE gives log p(x|y) for the
   * labels given; M2 gives log p(x) = log Σ_y p(y) p(x|y), each p(x|y) an IWAE estimate
   * with k samples (unbiased, so the sum is a bound in expectation), labels unused.
   */
  async iwaeLogLikelihood(batch: Float32Array, n: number, k: number, rng: Rng, labels?: BatchLabels): Promise<Float64Array> {
    if (!this.classifier) return this.iwaeConditional(batch, n, k, rng, labels);
    const classes = this.classes;
    const perClass: Float64Array[] = [];
    for (let c = 0; c < classes; c++) perClass.push(await this.iwaeConditional(batch, n, k, rng, new Int32Array(n).fill(c)));
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const max = Math.max(...perClass.map((values) => values[i]!));
      out[i] = max + Math.log(perClass.reduce((sum, values) => sum + Math.exp(values[i]! - max), 0) / classes);
    }
    return out;
  }

  /** Samples per decoder call of iwaeLogLikelihood: memory follows the decoder's output, 3·K times the image for a logistic mixture. */
  private iwaeSamplesPerChunk(n: number, k: number): number {
    return Math.max(1, Math.min(k, Math.floor(iwaeRowsPerChunk(this.outputWidth) / n)));
  }

  /**
   * The normal draws iwaeLogLikelihood(batch, n, k, rng) takes from `rng`, in its order
   * (one array per decoder call; M2: per class): drawn here, they let another thread
   * compute the same estimates from a replay of them (engine/random.ts replayNormals).
   */
  iwaeNoise(n: number, k: number, rng: Rng): Float32Array[] {
    const perChunk = this.iwaeSamplesPerChunk(n, k);
    const draws: Float32Array[] = [];
    for (let c = 0; c < (this.classifier ? this.classes : 1); c++) {
      for (let done = 0; done < k; done += perChunk) draws.push(rng.normals(n * Math.min(perChunk, k - done) * this.latent));
    }
    return draws;
  }

  private async iwaeConditional(batch: Float32Array, n: number, k: number, rng: Rng, labels?: BatchLabels): Promise<Float64Array> {
    const D = this.model.inputSize;
    const perChunk = this.iwaeSamplesPerChunk(n, k);
    const accumulator = new LogMeanExp(n);
    const x = tf.tensor2d(batch, [n, D]);
    let y: tf.Tensor2D | undefined;
    let posterior: ReturnType<Vae['encodeExtra']> | undefined;
    try {
      y = tf.tidy(() => this.oneHot(labels, n));
      posterior = this.model.encodeExtra(x, y);
      const options = { ...(y ? { condition: y } : {}), ...(this.flow ? { flow: this.flow, flowParams: posterior.extra } : {}) };
      for (let done = 0; done < k; done += perChunk) {
        const samples = Math.min(perChunk, k - done);
        const epsValues = rng.normals(n * samples * this.latent);
        const logW = await takeValues(
          tf.tidy(() => {
            const eps = tf.tensor2d(epsValues, [n * samples, this.latent]);
            return importanceLogWeights(this.model, this.decoder, x, posterior!, eps, samples, options);
          }),
        );
        accumulator.add(logW, samples);
        if (done + samples < k) await nextTask();
      }
      return accumulator.result();
    } finally {
      tf.dispose([x, ...(y ? [y] : []), ...(posterior ? [posterior.mu, posterior.logVar, posterior.extra] : [])]);
    }
  }

  /**
   * The code an image is shown at: μ(x), or with a flow f_K(μ(x)), the base mean pushed
   * through the image's flow steps (call inside a tidy).
   */
  private typicalCode(x: tf.Tensor2D, y: tf.Tensor2D | undefined): tf.Tensor2D {
    if (!this.flow) return this.model.encode(x, y).mu;
    const posterior = this.model.encodeExtra(x, y);
    return this.flow.apply(posterior.mu, posterior.extra).z;
  }

  /** Posterior means μ(x) (with a flow: f_K(μ(x))), [n, latent] row-major. */
  async encodeMean(batch: Float32Array, n: number, labels?: BatchLabels): Promise<Float32Array> {
    return takeValues(tf.tidy(() => this.typicalCode(tf.tensor2d(batch, [n, this.model.inputSize]), this.oneHot(labels, n))));
  }

  /** Σ over the batch of the analytic KL(q0(z|x) ‖ p(z)) per latent dim (the base Gaussian with a flow), [latent]. */
  async klPerDimSums(batch: Float32Array, n: number, labels?: BatchLabels): Promise<Float32Array> {
    return takeValues(
      tf.tidy(() => {
        const { mu, logVar } = this.model.encode(tf.tensor2d(batch, [n, this.model.inputSize]), this.oneHot(labels, n));
        return tf.sum(gaussianKlPerDim(mu, logVar), 0);
      }),
    );
  }

  /** Decoder mean at the posterior mean: the deterministic reconstruction of x. */
  /** Samples from the same prior noise every epoch, and a traversal of the most active dims. */
  async epochImages(view: EpochView): Promise<{ kind: ArtifactKind; image: RasterImage }[]> {
    const priorZ = createRng(view.seed, STREAM.prior).normals(SAMPLE_COUNT * this.latent);
    return [
      { kind: 'samples', image: await samplesGrid(this, view.images, priorZ) },
      { kind: 'traversal', image: await traversalGrid(this, view.images, view.imageIndex, view.dimsByKl) },
    ];
  }

  async reconstruct(batch: Float32Array, n: number, labels?: BatchLabels): Promise<Float32Array> {
    return takeValues(
      tf.tidy(() => {
        const x = tf.tensor2d(batch, [n, this.model.inputSize]);
        const y = this.oneHot(labels, n);
        return this.decoder.mean(this.model.decode(this.typicalCode(x, y), y));
      }),
    );
  }

  /** Decoder mean for given latent codes z ([n, latent], row-major) and, for a conditional model, labels. */
  async decodeMean(z: Float32Array, n: number, labels?: BatchLabels): Promise<Float32Array> {
    return takeValues(
      tf.tidy(() => {
        const codes = tf.tensor2d(z, [n, this.latent]);
        return this.decoder.mean(this.model.decode(codes, this.oneHot(labels, n)));
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
    this.classifier?.dispose();
    this.flow?.dispose();
    this.optimizer?.dispose();
    this.decoder.dispose();
    this.model.dispose();
  }
}
