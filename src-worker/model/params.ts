import { tf } from '../engine/tf';
import type { Rng } from '../engine/random';

/**
 * Parameter creation with a seeded JS generator (see engine/random.ts). He-normal
 * scaling for layers followed by a ReLU, Glorot for linear outputs: both keep
 * activations at unit scale so the first steps neither explode nor vanish.
 */
export type Init = 'he' | 'glorot' | 'small';

/** `small`: a tenth of Glorot, for heads whose outputs should start near zero (flow parameters). */
function std(init: Init, fanIn: number, fanOut: number): number {
  if (init === 'he') return Math.sqrt(2 / fanIn);
  const glorot = Math.sqrt(2 / (fanIn + fanOut));
  return init === 'small' ? glorot / 10 : glorot;
}

let counter = 0;

export class ParamSet {
  readonly variables: tf.Variable[] = [];
  constructor(
    private readonly rng: Rng,
    private readonly prefix: string,
  ) {}

  private add(value: tf.Tensor, name: string): tf.Variable {
    // tf.variable copies; the initial tensor is not needed afterwards.
    // Names must be unique engine-wide; the counter keeps two models apart.
    const variable = tf.variable(value, true, `${this.prefix}/${name}#${counter++}`);
    value.dispose();
    this.variables.push(variable);
    return variable;
  }

  /** Dense weight [fanIn, fanOut]. */
  dense(name: string, fanIn: number, fanOut: number, init: Init): tf.Variable {
    return this.add(tf.tensor2d(this.rng.normals(fanIn * fanOut, std(init, fanIn, fanOut)), [fanIn, fanOut]), name);
  }

  /** Conv2D filter [k, k, inC, outC]. */
  conv(name: string, k: number, inC: number, outC: number, init: Init): tf.Variable {
    const values = this.rng.normals(k * k * inC * outC, std(init, k * k * inC, k * k * outC));
    return this.add(tf.tensor4d(values, [k, k, inC, outC]), name);
  }

  /**
   * Transposed-conv filter [k, k, outC, inC] (tfjs' layout for conv2dTranspose). With
   * stride s each output pixel sees only k²/s² taps per input channel: that is its fan-in.
   */
  convTranspose(name: string, k: number, stride: number, inC: number, outC: number, init: Init): tf.Variable {
    const taps = (k * k) / (stride * stride);
    const values = this.rng.normals(k * k * inC * outC, std(init, taps * inC, taps * outC));
    return this.add(tf.tensor4d(values, [k, k, outC, inC]), name);
  }

  bias(name: string, size: number): tf.Variable {
    return this.add(tf.zeros([size]), name);
  }

  dispose(): void {
    for (const variable of this.variables) variable.dispose();
    this.variables.length = 0;
  }
}
