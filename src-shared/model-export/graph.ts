import type { CheckpointTensor } from '../checkpoint-format';

/**
 * A trained VAE as a plain chain of layers, the common source of every export format
 * (TensorFlow.js layers, ONNX). It must compute exactly what src-worker/model/{mlp,conv}.ts
 * compute; the round-trip tests (src-worker/model/export-roundtrip.test.ts) compare both
 * against the engine, so a change of architecture that is not mirrored here fails there.
 *
 * Shapes are channels-last like the app: images [N, H, W, C] with pixels in [0, 1], the
 * encoder answers (μ, log σ²) of q(z|x), the decoder the decoder mean sigmoid(output)
 * (Bernoulli probabilities or the Gaussian mean) as an image.
 */
export type Activation = 'linear' | 'relu' | 'sigmoid';

export type Layer =
  | { kind: 'flatten'; name: string }
  | { kind: 'reshape'; name: string; shape: number[] }
  | { kind: 'dense'; name: string; kernel: CheckpointTensor; bias: CheckpointTensor; activation: Activation }
  /** Stride-2 'same' convolution, filter [k, k, inC, outC]. */
  | { kind: 'conv'; name: string; filter: CheckpointTensor; bias: CheckpointTensor; stride: number; activation: Activation }
  /** Stride-2 'same' transposed convolution, filter [k, k, outC, inC] (tfjs' layout). */
  | { kind: 'deconv'; name: string; filter: CheckpointTensor; bias: CheckpointTensor; stride: number; activation: Activation };

export interface Network {
  name: string;
  input: { name: string; shape: number[] };
  /** Layers applied in order to the input. */
  trunk: Layer[];
  /** Output heads, each a dense layer on the trunk's result (the encoder has two). */
  heads: { output: string; layer: Layer }[];
}

export interface VaeNetworks {
  encoder: Network;
  decoder: Network;
}

export interface ExportSpec {
  model: 'mlp' | 'conv';
  width: number;
  height: number;
  channels: 1 | 3;
  latent: number;
}

/** Conv VAEs downsample with stride-2 convolutions (src-worker/model/conv.ts). */
const CONV_STRIDE = 2;

function requireParam(params: Map<string, CheckpointTensor>, name: string, shape?: number[]): CheckpointTensor {
  const tensor = params.get(name);
  if (!tensor) throw new Error(`the checkpoint has no parameter "${name}" (another architecture?)`);
  if (shape && tensor.shape.join('x') !== shape.join('x')) {
    throw new Error(`parameter "${name}" has shape [${tensor.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return tensor;
}

/** The head [h, 2d] → μ = columns 0..d−1 and log σ² = columns d..2d−1, as two dense layers. */
function splitHead(kernel: CheckpointTensor, bias: CheckpointTensor, latent: number): [CheckpointTensor, CheckpointTensor, CheckpointTensor, CheckpointTensor] {
  const [rows, cols] = kernel.shape as [number, number];
  if (cols !== 2 * latent) throw new Error(`encoder head has ${cols} outputs, expected 2 × latent = ${2 * latent}`);
  const part = (from: number): { k: Float32Array; b: Float32Array } => {
    const k = new Float32Array(rows * latent);
    for (let r = 0; r < rows; r++) k.set(kernel.values.subarray(r * cols + from, r * cols + from + latent), r * latent);
    return { k, b: bias.values.slice(from, from + latent) };
  };
  const mu = part(0);
  const lv = part(latent);
  return [
    { name: 'mu/kernel', shape: [rows, latent], values: mu.k },
    { name: 'mu/bias', shape: [latent], values: mu.b },
    { name: 'log_var/kernel', shape: [rows, latent], values: lv.k },
    { name: 'log_var/bias', shape: [latent], values: lv.b },
  ];
}

export function buildVaeNetworks(spec: ExportSpec, params: Map<string, CheckpointTensor>): VaeNetworks {
  const { width: W, height: H, channels: C, latent: d } = spec;
  const D = W * H * C;
  const p = (name: string, shape?: number[]): CheckpointTensor => requireParam(params, `${spec.model}/${name}`, shape);
  const image = [H, W, C];
  const dense = (name: string, key: string, activation: Activation): Layer => ({
    kind: 'dense',
    name,
    kernel: p(`${key}/w`),
    bias: p(`${key}/b`),
    activation,
  });
  const heads = (hidden: number): Network['heads'] => {
    const [muK, muB, lvK, lvB] = splitHead(p('head/w', [hidden, 2 * d]), p('head/b', [2 * d]), d);
    return [
      { output: 'mu', layer: { kind: 'dense', name: 'mu', kernel: muK, bias: muB, activation: 'linear' } },
      { output: 'log_var', layer: { kind: 'dense', name: 'log_var', kernel: lvK, bias: lvB, activation: 'linear' } },
    ];
  };

  if (spec.model === 'mlp') {
    const h = p('enc1/w').shape[1]!;
    p('enc1/w', [D, h]);
    p('out/w', [h, D]);
    return {
      encoder: {
        name: 'encoder',
        input: { name: 'x', shape: image },
        trunk: [{ kind: 'flatten', name: 'flatten' }, dense('enc1', 'enc1', 'relu'), dense('enc2', 'enc2', 'relu')],
        heads: heads(h),
      },
      decoder: {
        name: 'decoder',
        input: { name: 'z', shape: [d] },
        trunk: [dense('dec1', 'dec1', 'relu'), dense('dec2', 'dec2', 'relu'), dense('out', 'out', 'sigmoid')],
        heads: [{ output: 'x_mean', layer: { kind: 'reshape', name: 'image', shape: image } }],
      },
    };
  }

  const conv1 = p('conv1/f');
  const conv2 = p('conv2/f');
  const c2 = conv2.shape[3]!;
  const h4 = H / (CONV_STRIDE * CONV_STRIDE);
  const w4 = W / (CONV_STRIDE * CONV_STRIDE);
  const h = p('enc/w', [h4 * w4 * c2, p('enc/w').shape[1]!]).shape[1]!;
  const conv = (name: string, filter: CheckpointTensor): Layer => ({ kind: 'conv', name, filter, bias: p(`${name}/b`), stride: CONV_STRIDE, activation: 'relu' });
  const deconv = (name: string, activation: Activation): Layer => ({
    kind: 'deconv',
    name,
    filter: p(`${name}/f`),
    bias: p(`${name}/b`),
    stride: CONV_STRIDE,
    activation,
  });
  return {
    encoder: {
      name: 'encoder',
      input: { name: 'x', shape: image },
      trunk: [conv('conv1', conv1), conv('conv2', conv2), { kind: 'flatten', name: 'flatten' }, dense('enc', 'enc', 'relu')],
      heads: heads(h),
    },
    decoder: {
      name: 'decoder',
      input: { name: 'z', shape: [d] },
      trunk: [
        dense('dec', 'dec', 'relu'),
        dense('unflat', 'unflat', 'relu'),
        { kind: 'reshape', name: 'unflatten', shape: [h4, w4, c2] },
        deconv('deconv1', 'relu'),
      ],
      heads: [{ output: 'x_mean', layer: deconv('deconv2', 'sigmoid') }],
    },
  };
}

/** Every weight tensor of a network in order: [kernel, bias] per weighted layer. */
export function networkWeights(network: Network): { layer: string; kind: 'kernel' | 'bias'; tensor: CheckpointTensor }[] {
  const out: { layer: string; kind: 'kernel' | 'bias'; tensor: CheckpointTensor }[] = [];
  for (const layer of [...network.trunk, ...network.heads.map((head) => head.layer)]) {
    if (layer.kind === 'dense') out.push({ layer: layer.name, kind: 'kernel', tensor: layer.kernel }, { layer: layer.name, kind: 'bias', tensor: layer.bias });
    if (layer.kind === 'conv' || layer.kind === 'deconv') {
      out.push({ layer: layer.name, kind: 'kernel', tensor: layer.filter }, { layer: layer.name, kind: 'bias', tensor: layer.bias });
    }
  }
  return out;
}

/** One line per layer, for the model card and README. */
export function describeNetwork(network: Network): string[] {
  const describe = (layer: Layer): string => {
    switch (layer.kind) {
      case 'flatten':
        return 'Flatten';
      case 'reshape':
        return `Reshape [${layer.shape.join(', ')}]`;
      case 'dense':
        return `Dense ${layer.kernel.shape[0]}→${layer.kernel.shape[1]}, ${layer.activation}`;
      case 'conv':
        return `Conv2D ${layer.filter.shape[0]}×${layer.filter.shape[1]} stride ${layer.stride} same, ${layer.filter.shape[2]}→${layer.filter.shape[3]} ch, ${layer.activation}`;
      case 'deconv':
        return `Conv2DTranspose ${layer.filter.shape[0]}×${layer.filter.shape[1]} stride ${layer.stride} same, ${layer.filter.shape[3]}→${layer.filter.shape[2]} ch, ${layer.activation}`;
    }
  };
  return [
    `input ${network.input.name} [N, ${network.input.shape.join(', ')}]`,
    ...network.trunk.map(describe),
    ...network.heads.map((head) => `${head.output}: ${describe(head.layer)}`),
  ];
}
