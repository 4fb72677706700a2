import type { CheckpointTensor } from '../checkpoint-format';
import type { Layer, Network } from './graph';

/**
 * A network as an ONNX model (IR 8, opset 13), protobuf encoded by hand: the ops needed
 * are few (Gemm, Relu, Sigmoid, Flatten, Reshape, Transpose, Conv, ConvTranspose) and a
 * converter would drag in Python or a large dependency. Interface is channels-last like
 * the app and the tfjs export (x [N, H, W, C], z [N, d]); convolutions run in ONNX's
 * NCHW between two Transposes. Checked against onnxruntime-node in the round-trip tests.
 */
export const ONNX_OPSET = 13;
const IR_VERSION = 8;
const FLOAT = 1;
const INT64 = 7;
const ATTR_INT = 2;
const ATTR_INTS = 7;

/** Minimal protobuf writer: varints, length-delimited fields, fixed32. */
class Proto {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.size += bytes.length;
  }

  private varint(value: number | bigint): void {
    // Two's complement for negatives (int64 fields), as protobuf does.
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number): this {
    this.tag(field, 0);
    this.varint(value);
    return this;
  }

  ints(field: number, values: readonly number[]): this {
    for (const v of values) this.int(field, v);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, message: Proto): this {
    return this.bytes(field, message.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

function floatTensor(name: string, dims: number[], values: Float32Array): Proto {
  // raw_data is little endian; Float32Array bytes are, on every platform the app runs on.
  const raw = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return new Proto().ints(1, dims).int(2, FLOAT).string(8, name).bytes(9, raw);
}

function int64Tensor(name: string, values: number[]): Proto {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return new Proto().ints(1, [values.length]).int(2, INT64).string(8, name).bytes(9, raw);
}

type Attr = { name: string; int: number } | { name: string; ints: number[] };

function node(op: string, inputs: string[], outputs: string[], name: string, attrs: Attr[] = []): Proto {
  const n = new Proto();
  for (const i of inputs) n.string(1, i);
  for (const o of outputs) n.string(2, o);
  n.string(3, name).string(4, op);
  for (const a of attrs) {
    const attr = new Proto().string(1, a.name);
    if ('int' in a) attr.int(3, a.int).int(20, ATTR_INT);
    else attr.ints(8, a.ints).int(20, ATTR_INTS);
    n.message(5, attr);
  }
  return n;
}

function valueInfo(name: string, dims: (number | string)[]): Proto {
  const shape = new Proto();
  for (const d of dims) shape.message(1, typeof d === 'number' ? new Proto().int(1, d) : new Proto().string(2, d));
  const tensorType = new Proto().int(1, FLOAT).message(2, shape);
  return new Proto().string(1, name).message(2, new Proto().message(1, tensorType));
}

/** Permute a [k, k, a, b] filter to [b, a, k, k] (ONNX Conv [out, in, k, k], ConvTranspose [in, out, k, k]). */
function filterToOnnx(filter: CheckpointTensor): { dims: number[]; values: Float32Array } {
  const [kh, kw, a, b] = filter.shape as [number, number, number, number];
  const out = new Float32Array(filter.values.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < a; i++)
        for (let o = 0; o < b; o++) out[((o * a + i) * kh + y) * kw + x] = filter.values[((y * kw + x) * a + i) * b + o]!;
  return { dims: [b, a, kh, kw], values: out };
}

/** TF 'same' padding of a stride-s layer with an even input: (k − s) split evenly, extra at the end. */
function samePads(k: number, stride: number): number[] {
  const total = Math.max(0, k - stride);
  const begin = Math.floor(total / 2);
  return [begin, begin, total - begin, total - begin];
}

export function toOnnx(network: Network, producerVersion: string): Uint8Array {
  const graph = new Proto();
  const nodes: Proto[] = [];
  const initializers: Proto[] = [];
  // Layout of the current value: the app's channels-last, or NCHW inside a conv stack.
  let layout: 'nhwc' | 'nchw' | 'flat' = network.input.shape.length === 3 ? 'nhwc' : 'flat';
  let current = network.input.name;
  let counter = 0;
  const fresh = (base: string): string => `${base}_${counter++}`;

  const toLayout = (wanted: 'nhwc' | 'nchw'): void => {
    if (layout === wanted || layout === 'flat') return;
    const out = fresh(`${current}_${wanted}`);
    nodes.push(node('Transpose', [current], [out], fresh('transpose'), [{ name: 'perm', ints: wanted === 'nchw' ? [0, 3, 1, 2] : [0, 2, 3, 1] }]));
    current = out;
    layout = wanted;
  };

  const activation = (layer: Layer & { activation: string }, value: string, output?: string): string => {
    if (layer.activation === 'linear') return value;
    const out = output ?? fresh(`${layer.name}_${layer.activation}`);
    nodes.push(node(layer.activation === 'relu' ? 'Relu' : 'Sigmoid', [value], [out], `${layer.name}/${layer.activation}`));
    return out;
  };

  const emit = (layer: Layer, output?: string): void => {
    switch (layer.kind) {
      case 'flatten': {
        toLayout('nhwc');
        const out = output ?? fresh(layer.name);
        nodes.push(node('Flatten', [current], [out], layer.name, [{ name: 'axis', int: 1 }]));
        current = out;
        layout = 'flat';
        return;
      }
      case 'reshape': {
        toLayout('nhwc');
        const shapeName = `${layer.name}/shape`;
        initializers.push(int64Tensor(shapeName, [-1, ...layer.shape]));
        const out = output ?? fresh(layer.name);
        nodes.push(node('Reshape', [current, shapeName], [out], layer.name));
        current = out;
        layout = layer.shape.length === 3 ? 'nhwc' : 'flat';
        return;
      }
      case 'dense': {
        const kernel = `${layer.name}/kernel`;
        const bias = `${layer.name}/bias`;
        initializers.push(floatTensor(kernel, layer.kernel.shape, layer.kernel.values), floatTensor(bias, layer.bias.shape, layer.bias.values));
        const linear = layer.activation === 'linear' && output ? output : fresh(`${layer.name}_linear`);
        nodes.push(node('Gemm', [current, kernel, bias], [linear], layer.name));
        current = activation(layer, linear, output);
        return;
      }
      case 'conv':
      case 'deconv': {
        toLayout('nchw');
        const filter = filterToOnnx(layer.filter);
        const k = layer.filter.shape[0]!;
        const w = `${layer.name}/kernel`;
        const b = `${layer.name}/bias`;
        initializers.push(floatTensor(w, filter.dims, filter.values), floatTensor(b, layer.bias.shape, layer.bias.values));
        const linear = fresh(`${layer.name}_linear`);
        nodes.push(
          node(layer.kind === 'conv' ? 'Conv' : 'ConvTranspose', [current, w, b], [linear], layer.name, [
            { name: 'kernel_shape', ints: [k, layer.filter.shape[1]!] },
            { name: 'strides', ints: [layer.stride, layer.stride] },
            { name: 'pads', ints: samePads(k, layer.stride) },
          ]),
        );
        current = activation(layer, linear);
        if (output) {
          toLayout('nhwc');
          nodes.push(node('Identity', [current], [output], `${layer.name}/output`));
          current = output;
        }
        return;
      }
    }
  };

  for (const layer of network.trunk) emit(layer);
  toLayout('nhwc');
  const trunkOut = current;
  const trunkLayout = layout;
  const outputs: Proto[] = [];
  for (const head of network.heads) {
    current = trunkOut;
    layout = trunkLayout;
    emit(head.layer, head.output);
    const dims: (number | string)[] =
      head.layer.kind === 'dense'
        ? ['N', head.layer.kernel.shape[1]!]
        : head.layer.kind === 'reshape'
          ? ['N', ...head.layer.shape]
          : ['N', ...imageShapeAfterDeconv(network, head.layer)];
    outputs.push(valueInfo(head.output, dims));
  }

  for (const n of nodes) graph.message(1, n);
  graph.string(2, network.name);
  for (const init of initializers) graph.message(5, init);
  graph.message(11, valueInfo(network.input.name, ['N', ...network.input.shape]));
  for (const o of outputs) graph.message(12, o);

  return new Proto()
    .int(1, IR_VERSION)
    .string(2, 'VAE Studio')
    .string(3, producerVersion)
    .message(7, graph)
    .message(8, new Proto().string(1, '').int(2, ONNX_OPSET))
    .finish();
}

/** Output [H, W, C] of the decoder's last transposed convolution: the input side doubled per stride-2 layer. */
function imageShapeAfterDeconv(network: Network, last: Layer): number[] {
  const reshape = network.trunk.find((l): l is Extract<Layer, { kind: 'reshape' }> => l.kind === 'reshape');
  const deconvs = [...network.trunk, last].filter((l): l is Extract<Layer, { kind: 'deconv' }> => l.kind === 'deconv');
  if (!reshape || last.kind !== 'deconv') throw new Error('decoder without a reshape before its transposed convolutions');
  const scale = deconvs.reduce((s, l) => s * l.stride, 1);
  return [reshape.shape[0]! * scale, reshape.shape[1]! * scale, last.filter.shape[2]!];
}
