import { takeValues } from '../engine/read';
import { tf } from '../engine/tf';
import type { Posterior } from '../model/vae';
import { logPosterior, logPrior, repeatRows } from './latent';
import { DEFAULT_PRIOR_SHARE, type ImputeDiagnostic, type ImputeOptions, type ImputeProblem } from './problem';
import { BaseImputer, disposeAll, replace } from './base';

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
export class ImportanceImputer extends BaseImputer {
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
