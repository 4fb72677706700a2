import type { CheckpointTensor } from '../checkpoint-format';
import { networkShapes, type Activation, type Network } from './graph';

/**
 * A network as an ONNX model (IR 8, opset 13), protobuf encoded by hand: the ops needed
 * are few (Gemm, MatMul, Add, Relu, Sigmoid, Flatten, Reshape, Concat, Gather, Transpose,
 * Conv, ConvTranspose, Softmax, Mul, Slice, and ReduceMean, Sub, Sqrt, Div for a layer norm) and a converter would drag in Python or a large dependency.
 * Interface is channels-last like the app and the tfjs export (x [N, H, W, C], z [N, d]);
 * convolutions run in ONNX's NCHW between Transposes. Checked against onnxruntime (onnxruntime-web's wasm build in Node)
 * in the round-trip tests.
 */
export const ONNX_OPSET = 13;
const IR_VERSION = 8;
const FLOAT = 1;
const INT32 = 6;
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

function valueInfo(name: string, dims: (number | string)[], elementType: number): Proto {
  const shape = new Proto();
  for (const d of dims) shape.message(1, typeof d === 'number' ? new Proto().int(1, d) : new Proto().string(2, d));
  const tensorType = new Proto().int(1, elementType).message(2, shape);
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

/**
 * TF 'same' padding [top, left, bottom, right] of a k×k stride-s convolution of an
 * [h, w] input: (out − 1)·s + k − in in all, out = ⌈in / s⌉, the extra one at the end
 * (an odd side). A transposed convolution pads as the convolution from its output.
 */
function samePads(k: number, stride: number, [h, w]: number[]): number[] {
  const total = (n: number): number => Math.max(0, (Math.ceil(n / stride) - 1) * stride + k - n);
  const [th, tw] = [total(h!), total(w!)];
  return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
}

type Layout = 'nhwc' | 'nchw' | 'plain';

export function toOnnx(network: Network, producerVersion: string): Uint8Array {
  const shapes = networkShapes(network);
  const nodes: Proto[] = [];
  const initializers: Proto[] = [];
  // Each graph value: its ONNX name and layout. Images are channels-last at the
  // interface and NCHW after a convolution; 'plain' values (vectors, code grids) have none.
  const values = new Map<string, { name: string; layout: Layout }>();
  for (const input of network.inputs) values.set(input.name, { name: input.name, layout: input.shape.length === 3 ? 'nhwc' : 'plain' });
  const transposed = new Map<string, string>();

  /** A value in the wanted layout, transposing once per value and layout. */
  const get = (name: string, wanted: 'nhwc' | 'nchw'): string => {
    const value = values.get(name)!;
    if (value.layout === 'plain' || value.layout === wanted) return value.name;
    const key = `${name}@${wanted}`;
    let out = transposed.get(key);
    if (!out) {
      out = `${name}__${wanted}`;
      nodes.push(node('Transpose', [value.name], [out], `${name}/to_${wanted}`, [{ name: 'perm', ints: wanted === 'nchw' ? [0, 3, 1, 2] : [0, 2, 3, 1] }]));
      transposed.set(key, out);
    }
    return out;
  };

  const activate = (name: string, activation: Activation, linear: string, output: string): void => {
    if (activation !== 'linear') nodes.push(node(activation === 'relu' ? 'Relu' : 'Sigmoid', [linear], [output], `${name}/${activation}`));
  };

  for (const { name, op, inputs } of network.nodes) {
    switch (op.kind) {
      case 'flatten':
        nodes.push(node('Flatten', [get(inputs[0]!, 'nhwc')], [name], name, [{ name: 'axis', int: 1 }]));
        values.set(name, { name, layout: 'plain' });
        break;
      case 'reshape': {
        const shapeName = `${name}/shape`;
        initializers.push(int64Tensor(shapeName, [-1, ...op.shape]));
        nodes.push(node('Reshape', [get(inputs[0]!, 'nhwc'), shapeName], [name], name));
        values.set(name, { name, layout: op.shape.length === 3 ? 'nhwc' : 'plain' });
        break;
      }
      case 'concat':
        nodes.push(node('Concat', inputs.map((input) => get(input, 'nhwc')), [name], name, [{ name: 'axis', int: -1 }]));
        values.set(name, { name, layout: 'plain' });
        break;
      case 'softmax':
        nodes.push(node('Softmax', [get(inputs[0]!, 'nhwc')], [name], name, [{ name: 'axis', int: -1 }]));
        values.set(name, { name, layout: shapes.get(name)!.length === 3 ? 'nhwc' : 'plain' });
        break;
      case 'multiply':
        nodes.push(node('Mul', inputs.map((input) => get(input, 'nhwc')), [name], name));
        values.set(name, { name, layout: shapes.get(name)!.length === 3 ? 'nhwc' : 'plain' });
        break;
      case 'embedding': {
        const table = `${name}/embeddings`;
        initializers.push(floatTensor(table, op.table.shape, op.table.values));
        nodes.push(node('Gather', [table, get(inputs[0]!, 'nhwc')], [name], name, [{ name: 'axis', int: 0 }]));
        values.set(name, { name, layout: 'plain' });
        break;
      }
      case 'dense': {
        const kernel = `${name}/kernel`;
        const bias = `${name}/bias`;
        initializers.push(floatTensor(kernel, op.kernel.shape, op.kernel.values), floatTensor(bias, op.bias.shape, op.bias.values));
        const linear = op.activation === 'linear' ? name : `${name}__linear`;
        const input = get(inputs[0]!, 'nhwc');
        if (shapes.get(inputs[0]!)!.length === 1) {
          nodes.push(node('Gemm', [input, kernel, bias], [linear], name));
        } else {
          // On the last axis of a grid: MatMul broadcasts over the leading dimensions.
          nodes.push(node('MatMul', [input, kernel], [`${name}__matmul`], `${name}/matmul`), node('Add', [`${name}__matmul`, bias], [linear], `${name}/bias`));
        }
        activate(name, op.activation, linear, name);
        values.set(name, { name, layout: shapes.get(name)!.length === 3 ? 'nhwc' : 'plain' });
        break;
      }
      case 'conv':
      case 'deconv': {
        const filter = filterToOnnx(op.filter);
        const k = op.filter.shape[0]!;
        const w = `${name}/kernel`;
        const b = `${name}/bias`;
        initializers.push(floatTensor(w, filter.dims, filter.values), floatTensor(b, op.bias.shape, op.bias.values));
        const out = `${name}__nchw`;
        const linear = op.activation === 'linear' ? out : `${name}__linear`;
        nodes.push(
          node(op.kind === 'conv' ? 'Conv' : 'ConvTranspose', [get(inputs[0]!, 'nchw'), w, b], [linear], name, [
            { name: 'kernel_shape', ints: [k, op.filter.shape[1]!] },
            { name: 'strides', ints: [op.stride, op.stride] },
            { name: 'pads', ints: samePads(k, op.stride, op.kind === 'conv' ? shapes.get(inputs[0]!)! : shapes.get(name)!) },
          ]),
        );
        activate(name, op.activation, linear, out);
        values.set(name, { name: out, layout: 'nchw' });
        break;
      }
      case 'norm': {
        // ONNX 13 has no LayerNormalization: mean and variance over the channels, written out.
        const image = shapes.get(inputs[0]!)!.length === 3;
        const x = image ? get(inputs[0]!, 'nchw') : get(inputs[0]!, 'nhwc');
        const axis = image ? 1 : -1;
        const c = op.gamma.shape[0]!;
        const dims = image ? [c, 1, 1] : [c];
        const t = (suffix: string): string => `${name}__${suffix}`;
        initializers.push(floatTensor(t('gamma'), dims, op.gamma.values), floatTensor(t('beta'), dims, op.beta.values), floatTensor(t('epsilon'), [], Float32Array.of(op.epsilon)));
        const reduce = (input: string, output: string): Proto => node('ReduceMean', [input], [output], `${name}/${output}`, [{ name: 'axes', ints: [axis] }, { name: 'keepdims', int: 1 }]);
        const out = image ? t('nchw') : name;
        nodes.push(
          reduce(x, t('mean')),
          node('Sub', [x, t('mean')], [t('centred')], `${name}/centred`),
          node('Mul', [t('centred'), t('centred')], [t('squared')], `${name}/squared`),
          reduce(t('squared'), t('variance')),
          node('Add', [t('variance'), t('epsilon')], [t('variance_eps')], `${name}/variance_eps`),
          node('Sqrt', [t('variance_eps')], [t('std')], `${name}/std`),
          node('Div', [t('centred'), t('std')], [t('normalised')], `${name}/normalised`),
          node('Mul', [t('normalised'), t('gamma')], [t('scaled')], `${name}/scaled`),
          node('Add', [t('scaled'), t('beta')], [out], `${name}/shifted`),
        );
        values.set(name, { name: out, layout: image ? 'nchw' : 'plain' });
        break;
      }
      case 'activation': {
        const input = values.get(inputs[0]!)!;
        const out = `${name}__${input.layout}`;
        nodes.push(node(op.activation === 'relu' ? 'Relu' : op.activation === 'sigmoid' ? 'Sigmoid' : 'Identity', [input.name], [out], name));
        values.set(name, { name: out, layout: input.layout });
        break;
      }
      case 'add': {
        const image = shapes.get(name)!.length === 3;
        const out = image ? `${name}__nchw` : name;
        nodes.push(node('Add', inputs.map((input) => (image ? get(input, 'nchw') : get(input, 'nhwc'))), [out], name));
        values.set(name, { name: out, layout: image ? 'nchw' : 'plain' });
        break;
      }
      case 'rescale': {
        // Element-wise, in whatever layout the value has: Mul then Add, as Rescaling computes it.
        const input = values.get(inputs[0]!)!;
        const out = `${name}__${input.layout}`;
        initializers.push(floatTensor(`${name}__scale`, [], Float32Array.of(op.scale)), floatTensor(`${name}__offset`, [], Float32Array.of(op.offset)));
        nodes.push(node('Mul', [input.name, `${name}__scale`], [`${name}__scaled`], `${name}/scale`), node('Add', [`${name}__scaled`, `${name}__offset`], [out], `${name}/offset`));
        values.set(name, { name: out, layout: input.layout });
        break;
      }
      case 'crop': {
        const t = (suffix: string, v: number[]): string => {
          initializers.push(int64Tensor(`${name}/${suffix}`, v));
          return `${name}/${suffix}`;
        };
        const out = `${name}__nchw`;
        nodes.push(node('Slice', [get(inputs[0]!, 'nchw'), t('starts', [0, 0]), t('ends', [op.height, op.width]), t('axes', [2, 3])], [out], name));
        values.set(name, { name: out, layout: 'nchw' });
        break;
      }
    }
  }

  // Outputs under their own names, channels-last.
  for (const output of network.outputs) {
    const value = get(output, 'nhwc');
    if (value !== output) nodes.push(node('Identity', [value], [output], `${output}/output`));
  }

  const graph = new Proto();
  for (const n of nodes) graph.message(1, n);
  graph.string(2, network.name);
  for (const init of initializers) graph.message(5, init);
  for (const input of network.inputs) graph.message(11, valueInfo(input.name, ['N', ...input.shape], input.dtype === 'int32' ? INT32 : FLOAT));
  for (const output of network.outputs) graph.message(12, valueInfo(output, ['N', ...shapes.get(output)!], FLOAT));

  return new Proto()
    .int(1, IR_VERSION)
    .string(2, 'VAE Studio')
    .string(3, producerVersion)
    .message(7, graph)
    .message(8, new Proto().string(1, '').int(2, ONNX_OPSET))
    .finish();
}
