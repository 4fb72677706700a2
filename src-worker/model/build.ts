import { declShapes, forwardLayer, nodesFor, type ModelDecl, type NetworkDecl, type TensorOps } from '@shared/model-export/layers';
import { tf } from '../engine/tf';
import type { Rng } from '../engine/random';
import { ParamSet } from './params';

/**
 * A declared model (src-shared/model-export/architectures.ts) made real: its variables
 * drawn from the seed in declaration order, its constants, and each network runnable.
 * The layers compute with tfjs ops through TENSOR_OPS, one tidy per layer.
 */
export interface BuiltModel {
  readonly variables: tf.Variable[];
  /**
   * Run network `name` on `inputs` (by input name; each [N, ...] with any shape of the
   * declared size, e.g. flat images for an image input) and return `outputs`, each
   * [N, ...declared shape]. Only the layers the outputs need run.
   */
  run(name: string, inputs: Record<string, tf.Tensor>, outputs: readonly string[]): tf.Tensor[];
  dispose(): void;
}

const TENSOR_OPS: TensorOps<tf.Tensor> = {
  matMul: (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
  add: (a, b) => tf.add(a, b),
  mul: (a, b) => tf.mul(a, b),
  relu: (x) => tf.relu(x),
  sigmoid: (x) => tf.sigmoid(x),
  conv2d: (x, f, stride) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, stride, 'same'),
  conv2dTranspose: (x, f, outShape, stride) => tf.conv2dTranspose(x as tf.Tensor4D, f as tf.Tensor4D, outShape as [number, number, number, number], stride, 'same'),
  reshape: (x, shape) => (sameShape(x.shape, x.shape[0]!, shape) ? x : tf.reshape(x, [x.shape[0]!, ...shape])),
  concat: (xs) => tf.concat(xs, xs[0]!.rank - 1),
  columns: (x, from, size) => tf.slice(x, [0, from], [x.shape[0]!, size]),
};

function sameShape(shape: readonly number[], batch: number, perExample: readonly number[]): boolean {
  return shape.length === perExample.length + 1 && shape[0] === batch && perExample.every((n, i) => shape[i + 1] === n);
}

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
    run: (name, inputs, outputs) => {
      const c = compiled.get(name);
      if (c === undefined) throw new Error(`${decl.prefix}: no network "${name}"`);
      const key = outputs.join('\n');
      let plan = c.plans.get(key);
      if (plan === undefined) {
        plan = nodesFor(c.network, outputs);
        c.plans.set(key, plan);
      }
      const values = new Map<string, tf.Tensor>();
      const first = inputs[c.network.inputs[0]!.name];
      if (first === undefined) throw new Error(`${c.network.name}: input "${c.network.inputs[0]!.name}" missing`);
      const batch = first.shape[0]!;
      for (const input of c.network.inputs) {
        const value = inputs[input.name];
        if (value === undefined) throw new Error(`${c.network.name}: input "${input.name}" missing`);
        values.set(input.name, TENSOR_OPS.reshape(value, input.shape));
      }
      for (const node of plan) {
        const ins = node.inputs.map((input) => values.get(input)!);
        const outShape = c.shapes.get(node.name)!;
        values.set(
          node.name,
          tf.tidy(() => forwardLayer(node, { ops: TENSOR_OPS, inputs: ins, tensor, outShape, batch })),
        );
      }
      return outputs.map((output) => values.get(output)!);
    },
    dispose: () => {
      params.dispose();
      tf.dispose(constants);
    },
  };
}
