import type { Init, ParamDecl } from '@shared/model-export/layers';
import { tf } from '../engine/tf';
import type { Rng } from '../engine/random';

/**
 * Parameter creation with a seeded JS generator (see engine/random.ts), from their
 * declarations (src-shared/model-export/architectures.ts). He-normal scaling for layers
 * followed by a ReLU, Glorot for linear outputs: both keep activations at unit scale so
 * the first steps neither explode nor vanish. `small`: a tenth of Glorot, for heads
 * whose outputs should start near zero (flow parameters). Biases start at zero (a decoder
 * head's at its declared values), a normalisation's scale at one.
 */
function std(init: Exclude<Init, 'zeros' | 'ones' | 'values'>, fanIn: number, fanOut: number): number {
  if (init === 'he') return Math.sqrt(2 / fanIn);
  const glorot = Math.sqrt(2 / (fanIn + fanOut));
  return init === 'small' ? glorot / 10 : glorot;
}

/** The starting values of an 'values' parameter, checked against its shape. */
function given(p: ParamDecl, size: number): tf.Tensor {
  if (p.values?.length !== size) throw new Error(`${p.name}: ${p.values?.length ?? 0} initial values for ${size} entries`);
  return tf.tensor(Float32Array.from(p.values), p.shape);
}

let counter = 0;

export class ParamSet {
  readonly variables: tf.Variable[] = [];
  constructor(
    private readonly rng: Rng,
    private readonly prefix: string,
  ) {}

  /** The variable of a declared parameter, drawn now (the order of calls is the order of the seed's draws). */
  create(p: ParamDecl): tf.Variable {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const value = p.init === 'zeros' ? tf.zeros(p.shape) : p.init === 'ones' ? tf.ones(p.shape) : p.init === 'values' ? given(p, size) : tf.tensor(this.rng.normals(size, std(p.init, p.fanIn, p.fanOut)), p.shape);
    // tf.variable copies; the initial tensor is not needed afterwards.
    // Names must be unique engine-wide; the counter keeps two models apart.
    const variable = tf.variable(value, true, `${this.prefix}/${p.name}#${counter++}`);
    value.dispose();
    this.variables.push(variable);
    return variable;
  }

  dispose(): void {
    for (const variable of this.variables) variable.dispose();
    this.variables.length = 0;
  }
}
