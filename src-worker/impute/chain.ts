import { tf } from '../engine/tf';
import type { Posterior } from '../model/vae';
import { logPosterior, logPrior } from './latent';
import type { ImputeDiagnostic, ImputeOptions, ImputeProblem } from './problem';
import { BaseImputer, disposeAll, MeanAccumulator, replace, rowMoments } from './base';
import { activationsPerImage, type ModelSizeSpec } from '@shared/model-size';
import { shardRanges } from '../train/data-parallel';
import { threadsForWork } from '../threads/work';

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
export class ChainImputer extends BaseImputer {
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
  /** The chains' shares of the threads (threaded: the chains live there, this keeps the figures). */
  private readonly remote: RemoteChains | null;

  constructor(
    problem: ImputeProblem,
    options: ImputeOptions,
    private readonly metropolis: boolean,
  ) {
    super(problem, options);
    this.xhat = this.startFill(this.samples);
    this.remote =
      options.threads && options.threads.count > 1 && this.samples > 1 ? new RemoteChains(options.threads, problem, this.samples, metropolis, options.iterations) : null;
  }

  get samples(): number {
    return Math.max(1, this.options.samples);
  }

  /**
   * One iteration's random numbers, for all n·K chains, in the order the single-thread
   * engine has always drawn them: the Metropolis coins, the label draws' uniforms, the
   * encoder's noise, the pixel noise (row-major, row = image·K + chain).
   */
  private drawNoise(): ChainNoise {
    const rows = this.n * this.samples;
    const uniforms = new Float32Array(rows);
    for (let i = 0; i < rows; i++) uniforms[i] = this.rng.uniform();
    const labelUniforms = this.labels?.uniforms(this.rng, rows) ?? null;
    const eps = this.rng.normals(rows * this.d);
    return { uniforms, labelUniforms, eps, pixels: this.pixelNoiseValues(rows) };
  }

  protected async advance(): Promise<void> {
    const first = this.z === null;
    const rows = this.remote ? await this.remoteRows(this.remote) : this.propose(this.drawNoise());
    this.accumulate(rows, this.metropolis && !first);
  }

  /** Iterations whose noise has been drawn (threaded: some may still be on their way back). */
  private drawn = 0;
  /** Iterations the threads have answered that this thread has not taken in yet, in order. */
  private queued: ChainRows[] = [];
  /** The threads' next iterations, asked for while this thread takes the last ones in. */
  private ahead: Promise<ChainRows[]> | null = null;
  /** How many iterations one request carries (grows towards REMOTE_REQUEST_MS of work). */
  private perRequest = 1;

  /**
   * The next iteration's rows from the threads. Several iterations travel in one request
   * and the next request leaves before this thread takes the last one in, so the threads
   * do not wait for a round trip per iteration. Their noise is drawn here in iteration
   * order, as one thread draws it, and never past the planned iterations (a caller that
   * shares the stream, like imputation's evaluation, draws on from the same place).
   */
  private async remoteRows(remote: RemoteChains): Promise<ChainRowTensors> {
    if (this.queued.length === 0) {
      const next = this.ahead ?? this.request(remote);
      this.ahead = null;
      this.queued = await next;
    }
    const rows = this.queued.shift()!;
    if (this.queued.length === 0 && this.drawn < this.options.iterations) this.ahead = this.request(remote);
    return remote.tensors(rows, this.n);
  }

  private request(remote: RemoteChains): Promise<ChainRows[]> {
    const count = Math.max(1, Math.min(this.perRequest, this.options.iterations - this.drawn));
    const noises = Array.from({ length: count }, () => this.drawNoise());
    this.drawn += count;
    const started = performance.now();
    const answer = remote.step(noises, this.n).then((rows) => {
      const perIteration = (performance.now() - started) / count;
      this.perRequest = Math.max(1, Math.min(MAX_REMOTE_ITERATIONS, Math.floor(REMOTE_REQUEST_MS / Math.max(perIteration, 0.01))));
      return rows;
    });
    // Answered after a dispose: nothing waits for it.
    answer.catch(() => {});
    return answer;
  }

  /**
   * The chains' move from the given noise: each row's new state (kept here) and what the
   * averages take of it. Row by row: a chain's figures do not depend on the other rows
   * (ChainRows), so a thread holding some of the chains computes theirs exactly.
   */
  propose(noise: ChainNoise): ChainRowTensors {
    const { model, decoder } = this.problem;
    const K = this.samples;
    const rows = this.n * K;
    const first = this.z === null;
    const scored = this.metropolis && !first;
    const result = tf.tidy(() => {
      const labels = this.labels;
      const logQ = labels ? labels.logQ(this.xhat) : null;
      const yStar = labels && logQ ? labels.draw(logQ, noise.labelUniforms, K) : undefined;
      const proposal = this.encodeSample(this.xhat, yStar, noise.eps);
      const proposedOutput = model.decode(proposal.z, yStar);
      let z = proposal.z;
      let y = yStar;
      let output = proposedOutput;
      let accepted: tf.Tensor2D | undefined;
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
        const accept = tf.reshape(tf.less(tf.log(tf.tensor1d(noise.uniforms)), logAlpha), [rows, 1]);
        z = tf.where(tf.tile(accept, [1, this.d]), proposal.z, this.z);
        // The decoder's raw output: D values, or a logistic mixture's 3·K per sub-pixel.
        output = tf.where(tf.tile(accept, [1, proposedOutput.shape[1]]), proposedOutput, this.output);
        accepted = tf.cast(accept, 'float32') as tf.Tensor2D;
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
      const draw = decoder.sample(output, tf.tensor2d(noise.pixels, [rows, this.obs.D]));
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
    this.xhat = replace(this.xhat, result.xhat);
    this.output = replace(this.output, result.output);
    return {
      z: result.z,
      y: result.y ?? null,
      means: result.means,
      averaged: result.averaged,
      averagedSquares: result.averagedSquares,
      classShare: result.classShare ?? null,
      accepted: result.accepted ?? null,
    };
  }

  /** Takes one iteration's rows into the chains' state and the averages (all n·K rows, in order). */
  private accumulate(result: ChainRowTensors, scored: boolean): void {
    const K = this.samples;
    if (scored && result.accepted) {
      this.proposed += this.n * K;
      const count = tf.sum(result.accepted) as tf.Scalar;
      const total = this.accepted ? tf.add(this.accepted, count) : tf.clone(count);
      count.dispose();
      this.accepted = replace(this.accepted, total as tf.Scalar);
    }
    result.accepted?.dispose();
    this.z = replace(this.z, result.z);
    if (result.y) this.y = replace(this.y, result.y);
    this.current = replace(this.current, result.means);
    if (this.done + 1 > Math.floor(this.options.iterations / 2)) {
      this.average.add(result.averaged, this.n, K, result.averagedSquares);
      if (result.classShare && this.labels?.inferred) this.classAverage.add(result.classShare, this.n, K);
    }
    disposeAll(result.averaged, result.averagedSquares, result.classShare);
  }

  /** A thread's part of a threaded imputation: moves its chains and answers their rows' values. */
  async moveRows(noise: ChainNoise): Promise<ChainRows> {
    const rows = this.propose(noise);
    const read = async (t: tf.Tensor | null): Promise<Float32Array | null> => (t === null ? null : Float32Array.from(await t.data<'float32'>()));
    try {
      const [z, y, means, averaged, averagedSquares, classShare, accepted] = await Promise.all(
        [rows.z, rows.y, rows.means, rows.averaged, rows.averagedSquares, rows.classShare, rows.accepted].map(read),
      );
      return { z: z!, y: y ?? null, means: means!, averaged: averaged!, averagedSquares: averagedSquares!, classShare: classShare ?? null, accepted: accepted ?? null };
    } finally {
      this.z = replace(this.z, rows.z);
      if (rows.y) this.y = replace(this.y, rows.y);
      disposeAll(rows.means, rows.averaged, rows.averagedSquares, rows.classShare, rows.accepted);
    }
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
    this.remote?.close();
    disposeAll(this.xhat, this.z, this.y, this.output, this.current, this.accepted);
    this.average.dispose();
    this.classAverage.dispose();
  }
}

/** One iteration's random numbers for n·K chains (ChainImputer.drawNoise), row = image·K + chain. */
export interface ChainNoise {
  uniforms: Float32Array;
  labelUniforms: Float32Array | null;
  eps: Float32Array;
  pixels: Float32Array;
}

/** What an iteration leaves of each chain, [rows, ·] tensors (accepted: Metropolis's coins, from the second iteration). */
export interface ChainRowTensors {
  z: tf.Tensor2D;
  y: tf.Tensor2D | null;
  means: tf.Tensor2D;
  averaged: tf.Tensor2D;
  averagedSquares: tf.Tensor2D;
  classShare: tf.Tensor2D | null;
  accepted: tf.Tensor2D | null;
}

/** The same rows as values, row-major (what a thread answers). */
export type ChainRows = { [K in keyof ChainRowTensors]: null extends ChainRowTensors[K] ? Float32Array | null : Float32Array };

/** What a thread needs to hold some chains of an imputation (the model is its own). */
export interface ChainSetup {
  x: Float32Array;
  n: number;
  missing: Uint8Array;
  init: Float32Array;
  labels: Int32Array | null;
  metropolis: boolean;
  /** The thread's chains per image. */
  samples: number;
  iterations: number;
}

/** Threads that hold chains (threads/replica-pool.ts under Node), each part known by a key. */
export interface ChainThreads {
  readonly count: number;
  openChains(thread: number, key: number, setup: ChainSetup): Promise<void>;
  /** Moves the chains one iteration per noise, in order, and answers each iteration's rows. */
  stepChains(thread: number, key: number, noises: ChainNoise[]): Promise<ChainRows[]>;
  closeChains(thread: number, key: number): void;
}

/**
 * The least work (activations of the model's passes, activationsPerImage × chains) a
 * thread's share of an iteration must hold for splitting to pay: measured on 2 cores,
 * shares of 126 k–168 k (conv 28×28, K 6–16) ran 1.0–1.1× the one-thread speed and an
 * MLP's even slower (each share still dispatches every operation, and the rows go back
 * and forth every iteration); shares of 370 k and 1 M (conv 64×64×3, K 6 and 16) ran
 * 1.4× and 1.7× (docs/PERFORMANCE.md).
 */
export const MIN_CHAIN_WORK_PER_THREAD = 250_000;

/** A request to the chains' threads carries iterations for about this long (ms), at most MAX_REMOTE_ITERATIONS. */
const REMOTE_REQUEST_MS = 25;
const MAX_REMOTE_ITERATIONS = 16;

/**
 * The threads worth splitting `n` images' K chains over: as many as keep each share at
 * MIN_CHAIN_WORK_PER_THREAD or more (at most one per chain), or null when fewer than two.
 */
export function chainThreadsFor(threads: ChainThreads | null, spec: ModelSizeSpec, n: number, K: number): ChainThreads | null {
  if (threads === null) return null;
  const count = threadsForWork(threads.count, K, n * activationsPerImage(spec), MIN_CHAIN_WORK_PER_THREAD);
  if (count < 2) return null;
  return {
    count,
    openChains: (thread, key, setup) => threads.openChains(thread, key, setup),
    stepChains: (thread, key, noises) => threads.stepChains(thread, key, noises),
    closeChains: (thread, key) => threads.closeChains(thread, key),
  };
}

let nextKey = 0;

/**
 * The K chains of every image split into contiguous parts, one per thread (the larger
 * first): each thread moves its part from the noise drawn here for it, and the rows come
 * back in chain order, so the averages, the acceptance and the snapshots are computed
 * here from exactly the rows one thread would have made.
 */
class RemoteChains {
  private readonly parts: { thread: number; key: number; from: number; to: number }[];
  private readonly opened: Promise<void>;
  private readonly widths: { labels: number; d: number; D: number; out: number };

  constructor(
    private readonly threads: ChainThreads,
    problem: ImputeProblem,
    private readonly K: number,
    metropolis: boolean,
    iterations = 0,
  ) {
    this.parts = shardRanges(K, Math.min(threads.count, K)).map(([from, to], thread) => ({ thread, key: nextKey++, from, to }));
    const classes = problem.model.spec.classes ?? 0;
    this.widths = { labels: classes, d: problem.model.spec.latent, D: problem.model.inputSize, out: 0 };
    const labels = problem.labels === undefined ? null : Int32Array.from(problem.labels);
    this.opened = Promise.all(
      this.parts.map((part) =>
        threads.openChains(part.thread, part.key, {
          x: problem.x,
          n: problem.n,
          missing: problem.missing,
          init: problem.init,
          labels,
          metropolis,
          samples: part.to - part.from,
          iterations,
        }),
      ),
    ).then(() => undefined);
    this.opened.catch(() => {});
  }

  /** Rows [image·K + from, image·K + to) of every image, `width` values each. */
  private rowsOf(values: Float32Array, width: number, n: number, from: number, to: number): Float32Array {
    const out = new Float32Array(n * (to - from) * width);
    for (let i = 0; i < n; i++) out.set(values.subarray((i * this.K + from) * width, (i * this.K + to) * width), i * (to - from) * width);
    return out;
  }

  /** Each noise's iteration on every part, the rows back in chain order (values: tensors() makes them tensors). */
  async step(noises: ChainNoise[], n: number): Promise<ChainRows[]> {
    await this.opened;
    const { labels: C, d, D } = this.widths;
    const answers = await Promise.all(
      this.parts.map((part) =>
        this.threads.stepChains(
          part.thread,
          part.key,
          noises.map((noise) => ({
            uniforms: this.rowsOf(noise.uniforms, 1, n, part.from, part.to),
            labelUniforms: noise.labelUniforms === null ? null : this.rowsOf(noise.labelUniforms, C, n, part.from, part.to),
            eps: this.rowsOf(noise.eps, d, n, part.from, part.to),
            pixels: this.rowsOf(noise.pixels, D, n, part.from, part.to),
          })),
        ),
      ),
    );
    const rows = n * this.K;
    return noises.map((_, it) => {
      // Each part's rows back in their places, image by image.
      const join = (pick: (rows: ChainRows) => Float32Array | null, width: number): Float32Array | null => {
        if (answers.some((a) => pick(a[it]!) === null)) return null;
        const out = new Float32Array(rows * width);
        this.parts.forEach((part, p) => {
          const values = pick(answers[p]![it]!)!;
          const span = (part.to - part.from) * width;
          for (let i = 0; i < n; i++) out.set(values.subarray(i * span, (i + 1) * span), (i * this.K + part.from) * width);
        });
        return out;
      };
      return {
        z: join((a) => a.z, d)!,
        y: join((a) => a.y, C),
        means: join((a) => a.means, D)!,
        averaged: join((a) => a.averaged, D)!,
        averagedSquares: join((a) => a.averagedSquares, D)!,
        classShare: join((a) => a.classShare, C),
        accepted: join((a) => a.accepted, 1),
      };
    });
  }

  /** One iteration's rows (all n·K, in chain order) as the tensors accumulate() takes. */
  tensors(rows: ChainRows, n: number): ChainRowTensors {
    const { labels: C, d, D } = this.widths;
    const all = n * this.K;
    const of = (values: Float32Array | null, width: number): tf.Tensor2D | null => (values === null ? null : tf.tensor2d(values, [all, width]));
    return {
      z: of(rows.z, d)!,
      y: of(rows.y, C),
      means: of(rows.means, D)!,
      averaged: of(rows.averaged, D)!,
      averagedSquares: of(rows.averagedSquares, D)!,
      classShare: of(rows.classShare, C),
      accepted: of(rows.accepted, 1),
    };
  }

  close(): void {
    for (const part of this.parts) this.threads.closeChains(part.thread, part.key);
  }
}
