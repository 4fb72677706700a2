import { tf } from '../engine/tf';
import type { Posterior } from '../model/vae';
import { logPosterior, logPrior } from './latent';
import type { ImputeDiagnostic, ImputeOptions, ImputeProblem } from './problem';
import { BaseImputer, disposeAll, MeanAccumulator, replace, rowMoments } from './base';

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
        // The decoder's raw output: D values, or a logistic mixture's 3·K per sub-pixel.
        output = tf.where(tf.tile(accept, [1, proposedOutput.shape[1]]), proposedOutput, this.output);
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
