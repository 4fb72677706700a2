import { takeValues } from '../engine/read';
import { tf } from '../engine/tf';
import { logPrior, repeatRows } from './latent';
import { DEFAULT_OPTIMIZE_LR, type ImputeDiagnostic, type ImputeOptions, type ImputeProblem } from './problem';
import { BaseImputer, disposeAll, replace, rowMoments } from './base';

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
export class OptimizeImputer extends BaseImputer {
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
