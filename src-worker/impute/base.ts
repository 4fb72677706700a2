import { ApiError } from '@shared/errors';
import { takeValues } from '../engine/read';
import { tf } from '../engine/tf';
import { classesOf } from '../model/vae';
import { ImageLabels } from './labels';
import { repeatRows } from './latent';
import type { ImputeDiagnostic, ImputeOptions, ImputeProblem, ImputeSnapshot, Imputer } from './problem';
import type { Rng } from '../engine/random';

/** Shared tensors of one problem: observed values (0 where missing) and the observed mask. */
export class Observed {
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
export class MeanAccumulator {
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
export function rowMoments(means: tf.Tensor2D, n: number, k: number): [tf.Tensor2D, tf.Tensor2D] {
  return tf.tidy(() => {
    const m = tf.reshape(means, [n, k, means.shape[1]]);
    const mean = tf.mean(m, 1) as tf.Tensor2D;
    const variance = tf.relu(tf.sub(tf.mean(tf.square(m), 1), tf.square(mean)));
    return [mean, tf.sqrt(variance) as tf.Tensor2D];
  });
}

export function disposeAll(...tensors: (tf.Tensor | null)[]): void {
  for (const t of tensors) t?.dispose();
}

export function replace<T extends tf.Tensor>(old: T | null, next: T): T {
  old?.dispose();
  return next;
}

/** Common shape of the methods: observed data, K rows per image, snapshot assembly. */
export abstract class BaseImputer implements Imputer {
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
    return tf.tensor2d(this.pixelNoiseValues(rows), [rows, this.obs.D]);
  }

  /** pixelNoise's values, [rows·D] row-major, from the seeded stream. */
  protected pixelNoiseValues(rows: number): Float32Array {
    const D = this.obs.D;
    if (this.problem.decoder.noise === 'normal') return this.rng.normals(rows * D);
    const u = new Float32Array(rows * D);
    for (let i = 0; i < u.length; i++) u[i] = this.rng.uniform();
    return u;
  }

  /** z = μ + σ ε from the encoder of `inputs` (with labels y), plus μ and log σ² (all kept by the caller's tidy). */
  protected encodeSample(inputs: tf.Tensor2D, y?: tf.Tensor2D, noise?: Float32Array): { z: tf.Tensor2D; mu: tf.Tensor2D; logVar: tf.Tensor2D } {
    const { mu, logVar } = this.problem.model.encode(inputs, y);
    const eps = noise === undefined ? this.normals(inputs.shape[0], this.d) : tf.tensor2d(noise, [inputs.shape[0], this.d]);
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
