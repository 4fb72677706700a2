import { networkShapes, networkWeights, type Network, type Op } from './graph';

/**
 * A network in the TensorFlow.js layers format: `model.json` (Keras-style functional
 * topology + weights manifest) and one `weights.bin` of float32 values in manifest
 * order. Loads with plain `@tensorflow/tfjs` `tf.loadLayersModel('…/model.json')`.
 * Layer types map one to one: Dense, Conv2D and Conv2DTranspose ('same' padding, the
 * kernel layouts of tfjs), Flatten and Reshape (row-major, channels-last, as the app),
 * Concatenate (last axis), Embedding (a codebook lookup), Activation 'softmax' (last
 * axis), Multiply, LayerNormalization (last axis), Activation, Add, Cropping2D and Rescaling (x·scale + offset). Several inputs or outputs
 * are a list in `predict`, in the order of the network's inputs and outputs.
 */
export const TFJS_WEIGHTS_FILE = 'weights.bin';

export interface TfjsLayersFiles {
  modelJson: string;
  weights: Uint8Array;
}

type Inbound = [string, number, number, Record<string, never>][][];

function layerConfig(name: string, op: Op): { class_name: string; config: Record<string, unknown> } {
  const common = { name, trainable: false, dtype: 'float32' };
  switch (op.kind) {
    case 'flatten':
      return { class_name: 'Flatten', config: { ...common, data_format: 'channels_last' } };
    case 'reshape':
      return { class_name: 'Reshape', config: { ...common, target_shape: op.shape } };
    case 'concat':
      return { class_name: 'Concatenate', config: { ...common, axis: -1 } };
    case 'softmax':
      return { class_name: 'Activation', config: { ...common, activation: 'softmax' } };
    case 'multiply':
      return { class_name: 'Multiply', config: common };
    case 'dense':
      return { class_name: 'Dense', config: { ...common, units: op.kernel.shape[1], activation: op.activation, use_bias: true } };
    case 'embedding':
      return {
        class_name: 'Embedding',
        config: { ...common, input_dim: op.table.shape[0], output_dim: op.table.shape[1], mask_zero: false, input_length: null },
      };
    case 'norm':
      return {
        class_name: 'LayerNormalization',
        config: { ...common, axis: -1, epsilon: op.epsilon, center: true, scale: true, beta_initializer: null, gamma_initializer: null, beta_regularizer: null, gamma_regularizer: null },
      };
    case 'activation':
      return { class_name: 'Activation', config: { ...common, activation: op.activation } };
    case 'add':
      return { class_name: 'Add', config: common };
    case 'rescale':
      return { class_name: 'Rescaling', config: { ...common, scale: op.scale, offset: op.offset } };
    case 'crop':
      // Inputs are known per network, so the rows and columns to cut are written when lowering (see toTfjsLayers).
      return { class_name: 'Cropping2D', config: { ...common, data_format: 'channels_last' } };
    case 'conv':
    case 'deconv': {
      const [kh, kw, a, b] = op.filter.shape as [number, number, number, number];
      return {
        class_name: op.kind === 'conv' ? 'Conv2D' : 'Conv2DTranspose',
        config: {
          ...common,
          // Conv2D filter [k, k, in, out]; Conv2DTranspose [k, k, out, in].
          filters: op.kind === 'conv' ? b : a,
          kernel_size: [kh, kw],
          strides: [op.stride, op.stride],
          padding: 'same',
          data_format: 'channels_last',
          dilation_rate: [1, 1],
          activation: op.activation,
          use_bias: true,
        },
      };
    }
  }
}

export function toTfjsLayers(network: Network, generatedBy: string): TfjsLayersFiles {
  const shapes = networkShapes(network);
  const layers: Record<string, unknown>[] = network.inputs.map((input) => ({
    name: input.name,
    class_name: 'InputLayer',
    config: { name: input.name, batch_input_shape: [null, ...input.shape], dtype: input.dtype, sparse: false },
    inbound_nodes: [],
  }));
  for (const node of network.nodes) {
    const { class_name, config } = layerConfig(node.name, node.op);
    if (node.op.kind === 'crop') {
      const [h, w] = shapes.get(node.inputs[0]!)!;
      config['cropping'] = [
        [0, h! - node.op.height],
        [0, w! - node.op.width],
      ];
    }
    const inbound: Inbound = [node.inputs.map((input) => [input, 0, 0, {}])];
    layers.push({ name: node.name, class_name, config, inbound_nodes: inbound });
  }

  const weights = networkWeights(network);
  const total = weights.reduce((n, w) => n + w.tensor.values.length, 0);
  const data = new Float32Array(total);
  let at = 0;
  for (const w of weights) {
    data.set(w.tensor.values, at);
    at += w.tensor.values.length;
  }
  const model = {
    format: 'layers-model',
    generatedBy,
    convertedBy: null,
    modelTopology: {
      class_name: 'Model',
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
      config: {
        name: network.name,
        layers,
        input_layers: network.inputs.map((input) => [input.name, 0, 0]),
        output_layers: network.outputs.map((output) => [output, 0, 0]),
      },
    },
    weightsManifest: [
      {
        paths: [TFJS_WEIGHTS_FILE],
        weights: weights.map((w) => ({ name: `${w.layer}/${w.kind}`, shape: w.tensor.shape, dtype: 'float32' })),
      },
    ],
  };
  return { modelJson: JSON.stringify(model, null, 1), weights: new Uint8Array(data.buffer) };
}
