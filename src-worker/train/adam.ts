import { copyValues } from '../engine/read';
import { tf } from '../engine/tf';

/**
 * Adam (Kingma & Ba 2015) in PyTorch's formulation:
 *   m ← β1 m + (1−β1) g,  v ← β2 v + (1−β2) g²,
 *   θ ← θ − (lr / (1−β1^t)) · m / (√(v / (1−β2^t)) + ε).
 * Our own rather than tf.train.adam because its state has to be saved and restored
 * exactly: the bias corrections are computed here in float64 from the step count t,
 * so a resumed run continues bit for bit, and the learning rate can change every
 * step (decay schedules) without reaching into a protected field.
 */
export interface AdamMoments {
  /** Optimizer steps taken. */
  step: number;
  /** First and second moments, one per variable, same order as the variables. */
  m: Float32Array[];
  v: Float32Array[];
}

export const ADAM_BETA1 = 0.9;
export const ADAM_BETA2 = 0.999;
export const ADAM_EPSILON = 1e-8;

export class Adam {
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private t = 0;

  constructor(private readonly variables: readonly tf.Variable[]) {
    // tidy frees the zerosLike temporaries; the variables (copies) survive it.
    const zeros = (): tf.Variable[] => variables.map((x) => tf.tidy(() => tf.variable(tf.zerosLike(x), false)));
    this.m = zeros();
    this.v = zeros();
  }

  get step(): number {
    return this.t;
  }

  /** One update with gradients by variable name (what tf.variableGrads returns). */
  apply(grads: tf.NamedTensorMap, learningRate: number): void {
    this.t++;
    const stepSize = learningRate / (1 - ADAM_BETA1 ** this.t);
    const secondCorrection = 1 / (1 - ADAM_BETA2 ** this.t);
    tf.tidy(() => {
      this.variables.forEach((variable, i) => {
        const g = grads[variable.name];
        if (g === undefined) return;
        const m = this.m[i]!;
        const v = this.v[i]!;
        const mNew = tf.add(tf.mul(m, ADAM_BETA1), tf.mul(g, 1 - ADAM_BETA1));
        const vNew = tf.add(tf.mul(v, ADAM_BETA2), tf.mul(tf.square(g), 1 - ADAM_BETA2));
        m.assign(mNew);
        v.assign(vNew);
        const denominator = tf.add(tf.sqrt(tf.mul(vNew, secondCorrection)), ADAM_EPSILON);
        variable.assign(tf.sub(variable, tf.mul(tf.div(mNew, denominator), stepSize)));
      });
    });
  }

  async exportMoments(): Promise<AdamMoments> {
    const step = this.t;
    return { step, m: await Promise.all(this.m.map(copyValues)), v: await Promise.all(this.v.map(copyValues)) };
  }

  importMoments(state: AdamMoments): void {
    if (state.m.length !== this.m.length || state.v.length !== this.v.length) {
      throw new Error(`optimizer state has ${state.m.length} moments, the model ${this.m.length} variables`);
    }
    const load = (target: tf.Variable, values: Float32Array): void => {
      if (values.length !== target.size) throw new Error(`optimizer moment of ${values.length} values for a variable of ${target.size}`);
      tf.tidy(() => target.assign(tf.tensor(values, target.shape)));
    };
    state.m.forEach((values, i) => load(this.m[i]!, values));
    state.v.forEach((values, i) => load(this.v[i]!, values));
    this.t = state.step;
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
