import type { CheckpointTensor } from '../checkpoint-format';
import type { Activation, GraphNode, NetworkBuilder, NetworkInput } from './graph';

/**
 * The layers every network of the app is made of, each written once: the parameters it
 * reads, the shape it outputs, what it computes (over TensorOps, which the worker binds
 * to tfjs) and the export-graph nodes it becomes (graph.ts, which tfjs-layers.ts and
 * onnx.ts write). A network is declared once (architectures.ts) as a list of these; the
 * trainer runs the declaration (src-worker/model/build.ts) and the export lowers the
 * same declaration with a checkpoint's values (networks.ts). A new layer kind is a new
 * member of `Layer` and of `LAYERS` (the compiler asks for every part); only a new
 * primitive needs more: a TensorOps method (bound in the worker) or, for the export, a
 * graph Op that tfjs-layers.ts and onnx.ts write.
 *
 * Shapes are per example (no batch dimension), channels-last: images [H, W, C],
 * vectors [n], grids [L, e].
 */

/**
 * How a trained parameter starts: He-normal before a ReLU, Glorot for linear outputs, a tenth of Glorot, zeros (biases),
 * ones (a normalisation's scale) or the given values (ParamDecl.values: a decoder head's bias). The last three draw nothing from the seed.
 */
export type Init = 'he' | 'glorot' | 'small' | 'zeros' | 'ones' | 'values';

/** A trained parameter, named under its model's prefix ("enc1/w" of model "mlp" is stored as "mlp/enc1/w"). */
export interface ParamDecl {
  name: string;
  shape: number[];
  init: Init;
  /** The fans the initial scale is computed from. */
  fanIn: number;
  fanOut: number;
  /** Init 'values': the starting values, as many as the shape holds. */
  values?: readonly number[];
}

/** A fixed tensor a layer reads (a MADE mask): never trained, never stored, rebuilt from the sizes. */
export interface ConstDecl {
  name: string;
  shape: number[];
  values: Float32Array;
}

export type Layer =
  | { kind: 'flatten' }
  | { kind: 'reshape'; shape: number[] }
  /** Vectors side by side. */
  | { kind: 'concat' }
  /**
   * Σ_i inputs[i]·(kernel_i ⊙ mask_i) + bias (+ biasOffset), then the activation: one
   * kernel per input (a dense layer over several inputs, as an IAF step reads z and h),
   * each optionally masked (MADE). The export concatenates the inputs, stacks the kernels,
   * folds the masks into them and the offset into the bias: one plain Dense.
   */
  | { kind: 'dense'; kernels: { param: string; mask?: string }[]; bias: string; activation: Activation; biasOffset?: number }
  /** 'same' convolution, filter [k, k, inC, outC]. */
  | { kind: 'conv'; filter: string; bias: string; stride: number; activation: Activation }
  /** 'same' transposed convolution, filter [k, k, outC, inC] (tfjs' layout). */
  | { kind: 'deconv'; filter: string; bias: string; stride: number; activation: Activation }
  /**
   * Layer normalisation over the channels of each pixel (the last axis), as ConvNeXt's
   * channels-last LayerNorm: (x − mean) / sqrt(var + epsilon) · gamma + beta, gamma and
   * beta [C], then the activation. No batch statistics: training and inference agree.
   */
  | { kind: 'norm'; gamma: string; beta: string; epsilon: number; activation: Activation }
  /** The sum of two inputs of one shape (a residual connection). */
  | { kind: 'add' }
  /** An image's first `height` rows and `width` columns (the decoder's output back to the image size). */
  | { kind: 'crop'; height: number; width: number }
  /**
   * A vector cut into consecutive parts of `sizes`, one output each (μ and log σ² of an
   * encoder head); the export folds it into the dense layer it reads: one dense layer
   * per part, with those columns of its kernel and bias.
   */
  | { kind: 'split'; sizes: number[] }
  /** x·scale + offset, element-wise, no parameters (the encoder's centred input, 2x − 1). */
  | { kind: 'rescale'; scale: number; offset: number };

export type LayerKind = Layer['kind'];

export interface LayerNode {
  /** Also the name of its output (and of the export node it becomes), unless it has several. */
  name: string;
  layer: Layer;
  inputs: string[];
  /** The names of its outputs when it has several (split). */
  outputs?: string[];
}

/** The names of a node's outputs. */
export const outputsOf = (node: LayerNode): string[] => node.outputs ?? [node.name];

export interface NetworkDecl {
  name: string;
  inputs: NetworkInput[];
  /** In an order where every node comes after its inputs. */
  nodes: LayerNode[];
  outputs: string[];
}

/** A model: its parameters in creation order (the seed's draws and the checkpoint's order follow it), constants and networks. */
export interface ModelDecl {
  /** Prefix of its parameter names ("mlp", "conv", "vq", "cls", "prior", "iaf"). */
  prefix: string;
  params: ParamDecl[];
  constants: ConstDecl[];
  networks: NetworkDecl[];
}

/** The primitive operations layers compute with, on whole batches (shapes include the batch dimension). */
export interface TensorOps<T> {
  matMul(a: T, b: T): T;
  add(a: T, b: T | number): T;
  mul(a: T, b: T): T;
  relu(x: T): T;
  sigmoid(x: T): T;
  /** 'same' padding. */
  conv2d(x: T, filter: T, stride: number): T;
  /** 'same' padding, to `outShape` (batch included). */
  conv2dTranspose(x: T, filter: T, outShape: number[], stride: number): T;
  /** To [batch, ...shape]. */
  reshape(x: T, shape: number[]): T;
  /** Along the last axis. */
  concat(xs: T[]): T;
  /** [batch, n] into [batch, sizes[i]] parts. */
  split(x: T, sizes: number[]): T[];
  /** (x − mean) / sqrt(var + epsilon) over the last axis. */
  normalize(x: T, epsilon: number): T;
  /** [batch, H, W, C] → [batch, height, width, C], the top-left part. */
  crop(x: T, height: number, width: number): T;
  /** x·scale + offset, element-wise. */
  rescale(x: T, scale: number, offset: number): T;
}

/** What a layer sees when it computes: its inputs, its parameters and constants by name, its output shapes. */
export interface ForwardContext<T> {
  ops: TensorOps<T>;
  /** In their declared shapes. */
  inputs: T[];
  tensor(name: string): T;
  /** This layer's output shapes (per example). */
  outShapes: number[][];
  batch: number;
}

/** What a layer sees when it is exported: the builder, its inputs' and outputs' export names, its tensors' values, and the nodes emitted so far. */
export interface LowerContext {
  b: NetworkBuilder;
  outputs: string[];
  inputs: string[];
  tensor(name: string): CheckpointTensor;
  emitted(name: string): GraphNode | undefined;
}

interface LayerSpec<L extends Layer> {
  /** Names of the parameters and constants it reads. */
  tensors(layer: L): string[];
  /** Output shapes from the input shapes and its tensors' shapes; throws, naming the problem, when they do not fit. */
  shape(layer: L, inputs: number[][], tensorShape: (name: string) => number[]): number[][];
  /**
   * Only gives its input another shape, the values untouched: a runner may pass the
   * input on as it is and reshape where a consumer needs the declared shape (tfjs saves
   * a copy of every reshaped tensor for the backward pass).
   */
  view?: true;
  forward<T>(layer: L, c: ForwardContext<T>): T[];
  /** Adds its export node(s) to the builder, those of its outputs named `c.outputs`. */
  lower(layer: L, c: LowerContext): void;
}

type LayerSpecs = { [K in LayerKind]: LayerSpec<Extract<Layer, { kind: K }>> };

const product = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

function activate<T>(ops: TensorOps<T>, y: T, activation: Activation): T {
  if (activation === 'relu') return ops.relu(y);
  if (activation === 'sigmoid') return ops.sigmoid(y);
  return y;
}

/** w ⊙ mask with the values of a checkpoint tensor. */
function masked(w: CheckpointTensor, mask: CheckpointTensor | undefined): CheckpointTensor {
  return mask ? { ...w, values: w.values.map((v, i) => v * mask.values[i]!) } : w;
}

export const LAYERS: LayerSpecs = {
  flatten: {
    tensors: () => [],
    shape: (_, [x]) => [[product(x!)]],
    view: true,
    forward: (_, c) => [c.ops.reshape(c.inputs[0]!, c.outShapes[0]!)],
    lower: (_, c) => void c.b.add(c.outputs[0]!, { kind: 'flatten' }, c.inputs[0]!),
  },
  reshape: {
    tensors: () => [],
    shape: (layer, [x]) => {
      if (product(layer.shape) !== product(x!)) throw new Error(`cannot reshape [${x!.join(', ')}] to [${layer.shape.join(', ')}]`);
      return [layer.shape];
    },
    view: true,
    forward: (layer, c) => [c.ops.reshape(c.inputs[0]!, layer.shape)],
    lower: (layer, c) => void c.b.add(c.outputs[0]!, { kind: 'reshape', shape: layer.shape }, c.inputs[0]!),
  },
  concat: {
    tensors: () => [],
    shape: (_, ins) => {
      if (ins.some((shape) => shape.length !== 1)) throw new Error('concatenates vectors only');
      return [[ins.reduce((n, shape) => n + shape[0]!, 0)]];
    },
    forward: (_, c) => [c.ops.concat(c.inputs)],
    lower: (_, c) => void c.b.add(c.outputs[0]!, { kind: 'concat' }, ...c.inputs),
  },
  dense: {
    tensors: (layer) => [...layer.kernels.flatMap((k) => (k.mask ? [k.param, k.mask] : [k.param])), layer.bias],
    shape: (layer, ins, shapeOf) => {
      if (ins.length !== layer.kernels.length) throw new Error(`has ${layer.kernels.length} kernels for ${ins.length} inputs`);
      const out = shapeOf(layer.bias)[0]!;
      layer.kernels.forEach((k, i) => {
        const [rows, cols] = shapeOf(k.param);
        if (ins[i]!.at(-1) !== rows || cols !== out) throw new Error(`has a kernel [${rows}, ${cols}] for ${ins[i]!.at(-1)} inputs and ${out} outputs`);
      });
      return [[...ins[0]!.slice(0, -1), out]];
    },
    forward: (layer, c) => {
      const { ops } = c;
      const kernel = (k: { param: string; mask?: string }): ReturnType<typeof c.tensor> => (k.mask ? ops.mul(c.tensor(k.param), c.tensor(k.mask)) : c.tensor(k.param));
      let y = ops.matMul(c.inputs[0]!, kernel(layer.kernels[0]!));
      for (let i = 1; i < layer.kernels.length; i++) y = ops.add(y, ops.matMul(c.inputs[i]!, kernel(layer.kernels[i]!)));
      y = ops.add(y, c.tensor(layer.bias));
      if (layer.biasOffset !== undefined) y = ops.add(y, layer.biasOffset);
      return [activate(ops, y, layer.activation)];
    },
    lower: (layer, c) => {
      const name = c.outputs[0]!;
      const parts = layer.kernels.map((k) => masked(c.tensor(k.param), k.mask === undefined ? undefined : c.tensor(k.mask)));
      const bias = c.tensor(layer.bias);
      let input = c.inputs[0]!;
      let kernel = parts[0]!;
      if (parts.length > 1) {
        // [x1, x2, …]·[K1; K2; …]: the inputs side by side, the kernels stacked by rows.
        input = c.b.add(c.inputs.join('_'), { kind: 'concat' }, ...c.inputs);
        const rows = parts.reduce((n, p) => n + p.shape[0]!, 0);
        const values = new Float32Array(rows * bias.shape[0]!);
        let at = 0;
        for (const p of parts) {
          values.set(p.values, at);
          at += p.values.length;
        }
        kernel = { name: `${name}/kernel`, shape: [rows, bias.shape[0]!], values };
      }
      const offset = layer.biasOffset;
      const b = offset === undefined ? bias : { ...bias, values: bias.values.map((v) => v + offset) };
      c.b.dense(name, input, kernel, b, layer.activation);
    },
  },
  conv: {
    tensors: (layer) => [layer.filter, layer.bias],
    shape: (layer, [x], shapeOf) => {
      const f = shapeOf(layer.filter);
      if (x!.length !== 3 || x![2] !== f[2]) throw new Error(`has a filter for ${f[2]} channels, gets [${x!.join(', ')}]`);
      return [[Math.ceil(x![0]! / layer.stride), Math.ceil(x![1]! / layer.stride), f[3]!]];
    },
    forward: (layer, c) => [activate(c.ops, c.ops.add(c.ops.conv2d(c.inputs[0]!, c.tensor(layer.filter), layer.stride), c.tensor(layer.bias)), layer.activation)],
    lower: (layer, c) =>
      void c.b.add(c.outputs[0]!, { kind: 'conv', filter: c.tensor(layer.filter), bias: c.tensor(layer.bias), stride: layer.stride, activation: layer.activation }, c.inputs[0]!),
  },
  deconv: {
    tensors: (layer) => [layer.filter, layer.bias],
    shape: (layer, [x], shapeOf) => {
      const f = shapeOf(layer.filter);
      if (x!.length !== 3 || x![2] !== f[3]) throw new Error(`has a filter for ${f[3]} channels, gets [${x!.join(', ')}]`);
      return [[x![0]! * layer.stride, x![1]! * layer.stride, f[2]!]];
    },
    forward: (layer, c) => [
      activate(
        c.ops,
        c.ops.add(c.ops.conv2dTranspose(c.inputs[0]!, c.tensor(layer.filter), [c.batch, ...c.outShapes[0]!], layer.stride), c.tensor(layer.bias)),
        layer.activation,
      ),
    ],
    lower: (layer, c) =>
      void c.b.add(c.outputs[0]!, { kind: 'deconv', filter: c.tensor(layer.filter), bias: c.tensor(layer.bias), stride: layer.stride, activation: layer.activation }, c.inputs[0]!),
  },
  norm: {
    tensors: (layer) => [layer.gamma, layer.beta],
    shape: (layer, [x], shapeOf) => {
      const c = shapeOf(layer.gamma)[0];
      if (x!.at(-1) !== c || shapeOf(layer.beta)[0] !== c) throw new Error(`normalises ${c} channels, gets [${x!.join(', ')}]`);
      return [x!];
    },
    forward: (layer, c) => {
      const { ops } = c;
      return [activate(ops, ops.add(ops.mul(ops.normalize(c.inputs[0]!, layer.epsilon), c.tensor(layer.gamma)), c.tensor(layer.beta)), layer.activation)];
    },
    lower: (layer, c) => {
      const name = c.outputs[0]!;
      const op = { kind: 'norm' as const, gamma: c.tensor(layer.gamma), beta: c.tensor(layer.beta), epsilon: layer.epsilon };
      if (layer.activation === 'linear') c.b.add(name, op, c.inputs[0]!);
      else c.b.add(name, { kind: 'activation', activation: layer.activation }, c.b.add(`${name}_ln`, op, c.inputs[0]!));
    },
  },
  add: {
    tensors: () => [],
    shape: (_, ins) => {
      if (ins.length !== 2 || ins[0]!.join('x') !== ins[1]!.join('x')) throw new Error(`adds inputs of one shape, gets ${ins.map((s) => `[${s.join(', ')}]`).join(' and ')}`);
      return [ins[0]!];
    },
    forward: (_, c) => [c.ops.add(c.inputs[0]!, c.inputs[1]!)],
    lower: (_, c) => void c.b.add(c.outputs[0]!, { kind: 'add' }, ...c.inputs),
  },
  crop: {
    tensors: () => [],
    shape: (layer, [x]) => {
      if (x!.length !== 3 || x![0]! < layer.height || x![1]! < layer.width) throw new Error(`cannot crop [${x!.join(', ')}] to ${layer.height}×${layer.width}`);
      return [[layer.height, layer.width, x![2]!]];
    },
    forward: (layer, c) => [c.ops.crop(c.inputs[0]!, layer.height, layer.width)],
    lower: (layer, c) => void c.b.add(c.outputs[0]!, { kind: 'crop', height: layer.height, width: layer.width }, c.inputs[0]!),
  },
  rescale: {
    tensors: () => [],
    shape: (_, [x]) => [x!],
    forward: (layer, c) => [c.ops.rescale(c.inputs[0]!, layer.scale, layer.offset)],
    lower: (layer, c) => void c.b.add(c.outputs[0]!, { kind: 'rescale', scale: layer.scale, offset: layer.offset }, c.inputs[0]!),
  },
  split: {
    tensors: () => [],
    shape: (layer, [x]) => {
      if (x!.length !== 1 || layer.sizes.reduce((a, b) => a + b, 0) !== x![0]) throw new Error(`cannot split [${x!.join(', ')}] into [${layer.sizes.join(', ')}]`);
      return layer.sizes.map((size) => [size]);
    },
    forward: (layer, c) => c.ops.split(c.inputs[0]!, layer.sizes),
    lower: (layer, c) => {
      // The export has no split: each part of a dense layer is a dense layer with those columns of its kernel and bias.
      const node = c.emitted(c.inputs[0]!);
      const source = node?.op;
      if (node === undefined || source?.kind !== 'dense') throw new Error(`"${c.outputs.join(', ')}" split "${c.inputs[0]}", which is not a dense layer`);
      const [rows, cols] = source.kernel.shape as [number, number];
      let from = 0;
      layer.sizes.forEach((size, i) => {
        const name = c.outputs[i]!;
        const kernel = new Float32Array(rows * size);
        for (let r = 0; r < rows; r++) kernel.set(source.kernel.values.subarray(r * cols + from, r * cols + from + size), r * size);
        const bias = source.bias.values.slice(from, from + size);
        c.b.dense(name, node.inputs[0]!, { name: `${name}/kernel`, shape: [rows, size], values: kernel }, { name: `${name}/bias`, shape: [size], values: bias }, source.activation);
        from += size;
      });
    },
  },
};

/** Every input's and node output's shape (per example), checking that each layer's tensors fit what flows into it. */
export function declShapes(network: NetworkDecl, tensorShape: (name: string) => number[]): Map<string, number[]> {
  const shapes = new Map<string, number[]>(network.inputs.map((input) => [input.name, input.shape]));
  for (const node of network.nodes) {
    const ins = node.inputs.map((name) => {
      const shape = shapes.get(name);
      if (!shape) throw new Error(`${network.name}: "${node.name}" reads "${name}", which comes later or not at all`);
      return shape;
    });
    let outs: number[][];
    try {
      outs = specOf(node).shape(node.layer, ins, tensorShape);
    } catch (error) {
      throw new Error(`${network.name}: "${node.name}" ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    outputsOf(node).forEach((name, i) => shapes.set(name, outs[i]!));
  }
  for (const output of network.outputs) if (!shapes.has(output)) throw new Error(`${network.name}: no node "${output}"`);
  return shapes;
}

const specOf = (node: LayerNode): LayerSpec<Layer> => LAYERS[node.layer.kind] as LayerSpec<Layer>;

/** The nodes needed for `outputs`, in order. */
export function nodesFor(network: NetworkDecl, outputs: readonly string[]): LayerNode[] {
  const producer = new Map(network.nodes.flatMap((node) => outputsOf(node).map((name) => [name, node] as const)));
  const needed = new Set<LayerNode>();
  const visit = (name: string): void => {
    const node = producer.get(name);
    if (!node || needed.has(node)) return;
    needed.add(node);
    node.inputs.forEach(visit);
  };
  outputs.forEach(visit);
  return network.nodes.filter((node) => needed.has(node));
}

/** Whether a layer only reshapes (see LayerSpec.view). */
export const isView = (node: LayerNode): boolean => specOf(node).view === true;

/** Run one layer: its outputs in order. */
export const forwardLayer = <T>(node: LayerNode, c: ForwardContext<T>): T[] => specOf(node).forward(node.layer, c);

/**
 * Adds a declared network's nodes to an export builder whose inputs (or earlier nodes)
 * carry the declaration's input names, with the tensors of `tensor`.
 */
export function lowerNetwork(b: NetworkBuilder, network: NetworkDecl, tensor: (name: string) => CheckpointTensor): void {
  for (const node of network.nodes) {
    specOf(node).lower(node.layer, { b, outputs: outputsOf(node), inputs: node.inputs, tensor, emitted: (name) => b.nodeOf(name) });
  }
}
