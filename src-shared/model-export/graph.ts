import type { CheckpointTensor } from '../checkpoint-format';

/**
 * A trained network as a small graph of layers, the common source of every export
 * format (TensorFlow.js layers, ONNX). Which graphs a model has, and that they compute
 * exactly what the engine computes, is networks.ts' business; this file only knows the
 * few operations they are made of.
 *
 * Values are channels-last like the app: images [N, H, W, C] with pixels in [0, 1],
 * vectors [N, n], code grids [N, L] or [N, L, e]. Every node names its output; the
 * network's outputs are node names (so the tfjs output layers and the ONNX outputs are
 * called the same).
 */
export type Activation = 'linear' | 'relu' | 'sigmoid';

export type Op =
  | { kind: 'flatten' }
  | { kind: 'reshape'; shape: number[] }
  /** Vectors side by side, along the last axis. */
  | { kind: 'concat' }
  /** x·kernel + bias on the last axis, kernel [in, out]. */
  | { kind: 'dense'; kernel: CheckpointTensor; bias: CheckpointTensor; activation: Activation }
  /** 'same' convolution, filter [k, k, inC, outC]. */
  | { kind: 'conv'; filter: CheckpointTensor; bias: CheckpointTensor; stride: number; activation: Activation }
  /** 'same' transposed convolution, filter [k, k, outC, inC] (tfjs' layout). */
  | { kind: 'deconv'; filter: CheckpointTensor; bias: CheckpointTensor; stride: number; activation: Activation }
  /** Integer indices → rows of table [K, e] (a codebook lookup). */
  | { kind: 'embedding'; table: CheckpointTensor }
  /** softmax over the last axis (a logistic mixture's weights). */
  | { kind: 'softmax' }
  /** Element-wise product of inputs of one shape. */
  | { kind: 'multiply' }
  /** Layer normalisation over the last axis (channels), gamma and beta [C]. */
  | { kind: 'norm'; gamma: CheckpointTensor; beta: CheckpointTensor; epsilon: number }
  /** An activation alone (after a normalisation). */
  | { kind: 'activation'; activation: Activation }
  /** The sum of two values of one shape. */
  | { kind: 'add' }
  /** An image's first `height` rows and `width` columns. */
  | { kind: 'crop'; height: number; width: number }
  /** x·scale + offset, element-wise (the encoder's centred input, 2x − 1). */
  | { kind: 'rescale'; scale: number; offset: number };

export interface GraphNode {
  /** Also the name of its output value. */
  name: string;
  op: Op;
  inputs: string[];
}

export interface NetworkInput {
  name: string;
  /** Without the batch dimension. */
  shape: number[];
  dtype: 'float32' | 'int32';
}

export interface Network {
  name: string;
  inputs: NetworkInput[];
  /** In an order where every node comes after its inputs. */
  nodes: GraphNode[];
  outputs: string[];
}

export function requireParam(params: ReadonlyMap<string, CheckpointTensor>, name: string, shape?: number[]): CheckpointTensor {
  const tensor = params.get(name);
  if (!tensor) throw new Error(`the checkpoint has no parameter "${name}" (another architecture?)`);
  if (shape && tensor.shape.join('x') !== shape.join('x')) {
    throw new Error(`parameter "${name}" has shape [${tensor.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return tensor;
}

/** Builds a network node by node; each method returns the new node's name. */
export class NetworkBuilder {
  private readonly nodes: GraphNode[] = [];
  constructor(
    private readonly name: string,
    private readonly inputs: NetworkInput[],
  ) {}

  add(name: string, op: Op, ...inputs: string[]): string {
    this.nodes.push({ name, op, inputs });
    return name;
  }

  dense(name: string, input: string, kernel: CheckpointTensor, bias: CheckpointTensor, activation: Activation): string {
    return this.add(name, { kind: 'dense', kernel, bias, activation }, input);
  }

  nodeOf(name: string): GraphNode | undefined {
    return this.nodes.find((node) => node.name === name);
  }

  /** The network of the nodes that lead to `outputs` (others, such as a head whose columns became their own layers, are left out). */
  build(outputs: string[]): Network {
    const needed = new Set<string>();
    const visit = (name: string): void => {
      const node = this.nodeOf(name);
      if (!node || needed.has(name)) return;
      needed.add(name);
      node.inputs.forEach(visit);
    };
    outputs.forEach(visit);
    const network: Network = { name: this.name, inputs: this.inputs, nodes: this.nodes.filter((node) => needed.has(node.name)), outputs };
    networkShapes(network); // throws when the weights do not fit together
    return network;
  }
}

const product = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * The shape (without batch) of every input and node output, checking that each layer's
 * weights fit what flows into it: a checkpoint of another size fails here, by name,
 * rather than in whatever runtime loads the export.
 */
export function networkShapes(network: Network): Map<string, number[]> {
  const shapes = new Map<string, number[]>(network.inputs.map((input) => [input.name, input.shape]));
  for (const node of network.nodes) {
    const ins = node.inputs.map((name) => {
      const shape = shapes.get(name);
      if (!shape) throw new Error(`${network.name}: "${node.name}" reads "${name}", which comes later or not at all`);
      return shape;
    });
    const first = ins[0]!;
    const fail = (why: string): never => {
      throw new Error(`${network.name}: "${node.name}" ${why}`);
    };
    const op = node.op;
    let out: number[];
    switch (op.kind) {
      case 'flatten':
        out = [product(first)];
        break;
      case 'reshape':
        if (product(op.shape) !== product(first)) fail(`cannot reshape [${first.join(', ')}] to [${op.shape.join(', ')}]`);
        out = op.shape;
        break;
      case 'concat':
        if (ins.some((shape) => shape.length !== 1)) fail('concatenates vectors only');
        out = [ins.reduce((n, shape) => n + shape[0]!, 0)];
        break;
      case 'dense':
        if (first.at(-1) !== op.kernel.shape[0]) fail(`has a kernel for ${op.kernel.shape[0]} inputs, gets ${first.at(-1)}`);
        out = [...first.slice(0, -1), op.kernel.shape[1]!];
        break;
      case 'conv':
        if (first.length !== 3 || first[2] !== op.filter.shape[2]) fail(`has a filter for ${op.filter.shape[2]} channels, gets [${first.join(', ')}]`);
        out = [Math.ceil(first[0]! / op.stride), Math.ceil(first[1]! / op.stride), op.filter.shape[3]!];
        break;
      case 'deconv':
        if (first.length !== 3 || first[2] !== op.filter.shape[3]) fail(`has a filter for ${op.filter.shape[3]} channels, gets [${first.join(', ')}]`);
        out = [first[0]! * op.stride, first[1]! * op.stride, op.filter.shape[2]!];
        break;
      case 'embedding':
        out = [...first, op.table.shape[1]!];
        break;
      case 'softmax':
        out = first;
        break;
      case 'multiply':
        if (ins.some((shape) => shape.join('x') !== first.join('x'))) fail(`multiplies values of different shapes: ${ins.map((s) => `[${s.join(', ')}]`).join(' and ')}`);
        out = first;
        break;
      case 'norm':
        if (first.at(-1) !== op.gamma.shape[0]) fail(`normalises ${op.gamma.shape[0]} channels, gets [${first.join(', ')}]`);
        out = first;
        break;
      case 'activation':
      case 'rescale':
        out = first;
        break;
      case 'add':
        if (ins.length !== 2 || ins[1]!.join('x') !== first.join('x')) fail('adds values of one shape only');
        out = first;
        break;
      case 'crop':
        if (first.length !== 3 || first[0]! < op.height || first[1]! < op.width) fail(`cannot crop [${first.join(', ')}] to ${op.height}×${op.width}`);
        out = [op.height, op.width, first[2]!];
        break;
    }
    shapes.set(node.name, out);
  }
  for (const output of network.outputs) if (!shapes.has(output)) throw new Error(`${network.name}: no node "${output}"`);
  return shapes;
}

export type WeightKind = 'kernel' | 'bias' | 'embeddings' | 'gamma' | 'beta';

/** Every weight tensor of a network in node order: [kernel, bias] per weighted layer, a table per lookup. */
export function networkWeights(network: Network): { layer: string; kind: WeightKind; tensor: CheckpointTensor }[] {
  const out: { layer: string; kind: WeightKind; tensor: CheckpointTensor }[] = [];
  for (const { name, op } of network.nodes) {
    if (op.kind === 'dense') out.push({ layer: name, kind: 'kernel', tensor: op.kernel }, { layer: name, kind: 'bias', tensor: op.bias });
    if (op.kind === 'conv' || op.kind === 'deconv') out.push({ layer: name, kind: 'kernel', tensor: op.filter }, { layer: name, kind: 'bias', tensor: op.bias });
    if (op.kind === 'embedding') out.push({ layer: name, kind: 'embeddings', tensor: op.table });
    if (op.kind === 'norm') out.push({ layer: name, kind: 'gamma', tensor: op.gamma }, { layer: name, kind: 'beta', tensor: op.beta });
  }
  return out;
}

export const parameterCount = (networks: Network[]): number =>
  networks.flatMap(networkWeights).reduce((n, w) => n + w.tensor.values.length, 0);

function describeOp(op: Op): string {
  switch (op.kind) {
    case 'flatten':
      return 'Flatten';
    case 'reshape':
      return `Reshape [${op.shape.join(', ')}]`;
    case 'concat':
      return 'Concatenate';
    case 'dense':
      return `Dense ${op.kernel.shape[0]}→${op.kernel.shape[1]}, ${op.activation}`;
    case 'conv':
      return `Conv2D ${op.filter.shape[0]}×${op.filter.shape[1]} stride ${op.stride} same, ${op.filter.shape[2]}→${op.filter.shape[3]} ch, ${op.activation}`;
    case 'deconv':
      return `Conv2DTranspose ${op.filter.shape[0]}×${op.filter.shape[1]} stride ${op.stride} same, ${op.filter.shape[3]}→${op.filter.shape[2]} ch, ${op.activation}`;
    case 'embedding':
      return `Embedding ${op.table.shape[0]} rows × ${op.table.shape[1]}`;
    case 'softmax':
      return 'Softmax (last axis)';
    case 'multiply':
      return 'Multiply';
    case 'norm':
      return `LayerNormalization over ${op.gamma.shape[0]} channels, ε ${op.epsilon}`;
    case 'activation':
      return `Activation ${op.activation}`;
    case 'add':
      return 'Add';
    case 'crop':
      return `Crop to ${op.height}×${op.width}`;
    case 'rescale':
      return `Rescale x·${op.scale} ${op.offset < 0 ? '−' : '+'} ${Math.abs(op.offset)}`;
  }
}

/** One line per input and layer, for the model card and README: `name ← inputs: Op → [shape]`. */
export function describeNetwork(network: Network): string[] {
  const shapes = networkShapes(network);
  const dims = (name: string): string => `[N, ${shapes.get(name)!.join(', ')}]`;
  return [
    ...network.inputs.map((input) => `input ${input.name} ${dims(input.name)}${input.dtype === 'int32' ? ' int32' : ''}`),
    ...network.nodes.map((node) => `${node.name} ← ${node.inputs.join(' + ')}: ${describeOp(node.op)} → ${dims(node.name)}`),
    `outputs: ${network.outputs.join(', ')}`,
  ];
}
