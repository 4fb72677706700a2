import { networkWeights, type Layer, type Network } from './graph';

/**
 * A network in the TensorFlow.js layers format: `model.json` (Keras-style functional
 * topology + weights manifest) and one `weights.bin` of float32 values in manifest
 * order. Loads with plain `@tensorflow/tfjs` `tf.loadLayersModel('…/model.json')`.
 * Layer types map one to one: Dense, Conv2D and Conv2DTranspose ('same' padding, the
 * kernel layouts of tfjs), Flatten and Reshape (row-major, channels-last, as the app).
 */
export const TFJS_WEIGHTS_FILE = 'weights.bin';

export interface TfjsLayersFiles {
  modelJson: string;
  weights: Uint8Array;
}

type Inbound = [string, number, number, Record<string, never>][][];

function layerConfig(layer: Layer): { class_name: string; config: Record<string, unknown> } {
  const common = { name: layer.name, trainable: false, dtype: 'float32' };
  switch (layer.kind) {
    case 'flatten':
      return { class_name: 'Flatten', config: { ...common, data_format: 'channels_last' } };
    case 'reshape':
      return { class_name: 'Reshape', config: { ...common, target_shape: layer.shape } };
    case 'dense':
      return { class_name: 'Dense', config: { ...common, units: layer.kernel.shape[1], activation: layer.activation, use_bias: true } };
    case 'conv':
    case 'deconv': {
      const [kh, kw, a, b] = layer.filter.shape as [number, number, number, number];
      return {
        class_name: layer.kind === 'conv' ? 'Conv2D' : 'Conv2DTranspose',
        config: {
          ...common,
          // Conv2D filter [k, k, in, out]; Conv2DTranspose [k, k, out, in].
          filters: layer.kind === 'conv' ? b : a,
          kernel_size: [kh, kw],
          strides: [layer.stride, layer.stride],
          padding: 'same',
          data_format: 'channels_last',
          dilation_rate: [1, 1],
          activation: layer.activation,
          use_bias: true,
        },
      };
    }
  }
}

export function toTfjsLayers(network: Network, generatedBy: string): TfjsLayersFiles {
  const layers: Record<string, unknown>[] = [];
  const add = (name: string, config: { class_name: string; config: Record<string, unknown> }, inbound: Inbound): void => {
    layers.push({ name, class_name: config.class_name, config: config.config, inbound_nodes: inbound });
  };
  add(network.input.name, {
    class_name: 'InputLayer',
    config: { name: network.input.name, batch_input_shape: [null, ...network.input.shape], dtype: 'float32', sparse: false },
  }, []);
  let previous = network.input.name;
  for (const layer of network.trunk) {
    add(layer.name, layerConfig(layer), [[[previous, 0, 0, {}]]]);
    previous = layer.name;
  }
  for (const head of network.heads) add(head.layer.name, layerConfig(head.layer), [[[previous, 0, 0, {}]]]);

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
        input_layers: [[network.input.name, 0, 0]],
        output_layers: network.heads.map((head) => [head.layer.name, 0, 0]),
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
