import { declShapes, forwardLayer, isView, nodesFor, outputsOf, type ModelDecl, type NetworkDecl, type TensorOps } from '@shared/model-export/layers';
import { tf } from '../engine/tf';
import type { Rng } from '../engine/random';
import { ParamSet } from './params';

/**
 * A declared model (src-shared/model-export/architectures.ts) made real: its variables
 * drawn from the seed in declaration order, its constants, and each network runnable.
 * The layers compute with tfjs ops through TENSOR_OPS, one tidy per layer.
 *
 * Reshapes cost: tfjs saves a copy of every reshaped tensor for the backward pass. So
 * layers that only reshape (flatten, reshape) pass their input on unchanged, and a
 * tensor is reshaped only where a layer needs its declared shape, or where the caller
 * asks for another; then a flat image input that an MLP flattens is never reshaped.
 */
export interface BuiltModel {
  readonly variables: tf.Variable[];
  /**
   * Run network `name` on `inputs` (by input name, each with `batch` examples of the
   * declared size in any shape, e.g. flat images [N, D] for an image input) and return
   * `outputs`, each [batch, ...declared shape] or the shape `shapes` asks for. Only the
   * layers the outputs need run. Call inside a tidy.
   */
  run(name: string, batch: number, inputs: Record<string, tf.Tensor>, outputs: readonly string[], shapes?: readonly (number[] | undefined)[]): tf.Tensor[];
  dispose(): void;
}

/** x itself when it has `shape` already, else x reshaped (a no-copy view in tfjs, but saved for the backward pass). */
const toShape = (x: tf.Tensor, shape: readonly number[]): tf.Tensor =>
  x.shape.length === shape.length && x.shape.every((n, i) => n === shape[i]) ? x : tf.reshape(x, shape as number[]);

const TENSOR_OPS: TensorOps<tf.Tensor> = {
  matMul: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
  add: (a, b) => tf.add(a, b),
  mul: (a, b) => tf.mul(a, b),
  relu: (x) => tf.relu(x),
  sigmoid: (x) => tf.sigmoid(x),
  conv2d: (x, f, stride) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, stride, 'same'),
  conv2dTranspose: (x, f, outShape, stride) => tf.conv2dTranspose(x as tf.Tensor4D, f as tf.Tensor4D, outShape as [number, number, number, number], stride, 'same'),
  reshape: (x, shape) => toShape(x, [x.shape[0]!, ...shape]),
  concat: (xs) => tf.concat(xs, xs[0]!.rank - 1),
  split: (x, sizes) => tf.split(x, sizes, 1),
  normalize: (x, epsilon) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon)));
  },
  crop: (x, height, width) => tf.slice(x, [0, 0, 0, 0], [-1, height, width, -1]),
  rescale: (x, scale, offset) => tf.add(tf.mul(x, scale), offset),
};

interface Compiled {
  network: NetworkDecl;
  shapes: Map<string, number[]>;
  /** The layers each output set needs, computed once per set. */
  plans: Map<string, NetworkDecl['nodes']>;
}

export function buildModel(decl: ModelDecl, rng: Rng): BuiltModel {
  const params = new ParamSet(rng, decl.prefix);
  const tensors = new Map<string, tf.Tensor>();
  for (const p of decl.params) tensors.set(p.name, params.create(p));
  // Constants, not variables: they never train and are rebuilt from the sizes.
  const constants = decl.constants.map((c) => tf.tensor(c.values, c.shape));
  decl.constants.forEach((c, i) => tensors.set(c.name, constants[i]!));
  const tensor = (name: string): tf.Tensor => {
    const t = tensors.get(name);
    if (t === undefined) throw new Error(`${decl.prefix}: no parameter or constant "${name}"`);
    return t;
  };
  const compiled = new Map<string, Compiled>(
    decl.networks.map((network) => [network.name, { network, shapes: declShapes(network, (name) => [...tensor(name).shape]), plans: new Map() }]),
  );

  return {
    variables: params.variables,
    run: (name, batch, inputs, outputs, shapes) => {
      const c = compiled.get(name);
      if (c === undefined) throw new Error(`${decl.prefix}: no network "${name}"`);
      const key = outputs.join('\n');
      let plan = c.plans.get(key);
      if (plan === undefined) {
        plan = nodesFor(c.network, outputs);
        c.plans.set(key, plan);
      }
      // Every value in any shape of its declared size; `declared` gives it its declared shape.
      const values = new Map<string, tf.Tensor>();
      const declared = (value: string): tf.Tensor => toShape(values.get(value)!, [batch, ...c.shapes.get(value)!]);
      for (const input of c.network.inputs) {
        const value = inputs[input.name];
        if (value === undefined) throw new Error(`${c.network.name}: input "${input.name}" missing`);
        values.set(input.name, value);
      }
      for (const node of plan) {
        const names = outputsOf(node);
        if (isView(node)) {
          values.set(names[0]!, values.get(node.inputs[0]!)!);
          continue;
        }
        const ins = node.inputs.map(declared);
        const outShapes = names.map((output) => c.shapes.get(output)!);
        const outs = tf.tidy(() => forwardLayer(node, { ops: TENSOR_OPS, inputs: ins, tensor, outShapes, batch }));
        names.forEach((output, i) => values.set(output, outs[i]!));
      }
      return outputs.map((output, i) => {
        const shape = shapes?.[i];
        return shape === undefined ? declared(output) : toShape(values.get(output)!, shape);
      });
    },
    dispose: () => {
      params.dispose();
      tf.dispose(constants);
    },
  };
}
