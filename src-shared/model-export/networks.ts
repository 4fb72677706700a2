import type { CheckpointTensor } from '../checkpoint-format';
import type { FlowKind, ModelFamily, ArchitectureKind, EncoderInput } from '../config';
import { classifierArchitecture, gaussianArchitecture, resKey, iafArchitecture, iafContext, madePriorArchitecture, vqArchitecture, vqGrid } from './architectures';
import { convPlanOfChannels, type ConvPlan } from '../conv';
import { NetworkBuilder, requireParam, type Network, type NetworkInput } from './graph';
import { lowerNetwork, type ModelDecl, type NetworkDecl } from './layers';
import { decoderHead, LOGISTIC_PARAMS, mixtureComponentsOf, type DecoderChoice } from '../likelihood';

/**
 * Which networks a trained model exports and what each computes, for every family. Each
 * is the network the trainer runs, from the same declaration (architectures.ts), lowered
 * with the checkpoint's values (layers.ts): masks are folded into weights, the encoder
 * head's μ and log σ² columns become their own dense layers, the decoders' last layer
 * gets the sigmoid. Only what the engine does outside a network is added here: the VQ
 * encoder's nearest-code scores and the VQ decoder's codebook lookup. The round-trip
 * tests (src-worker/model/export-roundtrip.test.ts) run each export in plain tfjs and in
 * onnxruntime against the engine.
 *
 *   vae, cvae, m2   encoder  x [, y] → mu, log_var [, flow_params | flow_context]   q0(z|x[, y])
 *   with an IAF     iaf_step<k>  z, h → m, s                         one autoregressive step each
 *                   decoder  z [, y] → x_mean                        sigmoid of the decoder output
 *                            (logistic mixture: x_mean, x_params      mixture mean, and its 3·K parameters per sub-pixel)
 *   m2              classifier x → logits                            q(y|x) = softmax(logits)
 *   vqvae           encoder  x → z_e, code_scores                    code = argmax of code_scores
 *                   decoder  codes (int32) → x_mean                  codebook lookup inside
 *                   prior    codes_onehot → logits [L, K]            MADE, autoregressive in raster order
 * y is the one-hot class; flow_params are the planar flow's per-image (u, w, b) per step,
 * flow_context the IAF's per-image context h.
 */
export interface ExportSpec {
  family: ModelFamily;
  model: ArchitectureKind;
  width: number;
  height: number;
  channels: 1 | 3;
  latent: number;
  /** The posterior's flow and its steps (flowSteps is ignored without one). */
  flow: FlowKind;
  flowSteps: number;
  /** The decoder likelihood; absent (older callers): a sigmoid image head, as Bernoulli and Gaussian have. */
  decoder?: DecoderChoice;
  /**
   * What the networks that read the image were trained on (config encoderInputs); absent:
   * 'unit'. A centred model's exported encoder (and classifier) still take pixels in
   * [0, 1] and centre them in their first layer, as the trainer does.
   */
  encoderInput?: EncoderInput;
}

export interface ExportNetworks {
  networks: Network[];
  /** Width of the one-hot label input (0: none). */
  classes: number;
  /** IAF: width of the encoder's flow_context (0: none). */
  flowContext: number;
  /** VQ-VAE: codebook size K, code dimension e and code positions L per image. */
  codes: { size: number; dim: number; positions: number; grid: [number, number] } | null;
  /** VQ-VAE: whether the prior was trained (else codes are uniform and no prior is exported). */
  priorTrained: boolean;
}

/**
 * The parameters of a checkpoint the export reads, by name: the model's ("mlp/enc1/w",
 * "cls/cls1/w", "vq/tocode/f"), the VQ prior's ("prior/made1/w") and the VQ-VAE's EMA
 * state as stored ("ema/codebook", "prior_adam_step").
 */
export function exportParams(tensors: readonly CheckpointTensor[]): Map<string, CheckpointTensor> {
  const params = new Map<string, CheckpointTensor>();
  for (const tensor of tensors) {
    const match = /^(?:param|prior)\/\d+:(.+)$/.exec(tensor.name);
    if (match) params.set(match[1]!, tensor);
    else if (tensor.name === 'ema/codebook' || tensor.name === 'prior_adam_step') params.set(tensor.name, tensor);
  }
  return params;
}

/**
 * A declared model's tensors with a checkpoint's values: every declared parameter must be
 * there with its declared shape (else the error names it), constants come from the
 * declaration.
 */
function bind(model: ModelDecl, params: ReadonlyMap<string, CheckpointTensor>): (name: string) => CheckpointTensor {
  const tensors = new Map<string, CheckpointTensor>();
  for (const p of model.params) tensors.set(p.name, requireParam(params, `${model.prefix}/${p.name}`, p.shape));
  for (const c of model.constants) tensors.set(c.name, { name: c.name, shape: c.shape, values: c.values });
  return (name) => tensors.get(name)!;
}

/** The export of a declared network: its inputs, optional nodes before it (a codebook lookup), its layers, then export-only nodes after. */
function exportNetwork(
  declared: NetworkDecl,
  tensor: (name: string) => CheckpointTensor,
  options: { inputs?: NetworkInput[]; before?: (b: NetworkBuilder) => void; sigmoid?: string; after?: (b: NetworkBuilder) => string[]; image?: ImageHead } = {},
): Network {
  const b = new NetworkBuilder(declared.name, options.inputs ?? declared.inputs);
  options.before?.(b);
  lowerNetwork(b, declared, tensor);
  if (options.image?.decoder.decoder === 'logistic') {
    // The image first: whoever reads the first output gets pixels, as from every other decoder.
    return b.build([mixtureMeanOf(b, options.image), ...declared.outputs]);
  }
  if (options.sigmoid !== undefined) sigmoidOf(b, options.sigmoid);
  return b.build([...declared.outputs, ...(options.after?.(b) ?? [])]);
}

/** What a decoder's image output is made from: its likelihood, and the image's size. */
interface ImageHead {
  decoder: DecoderChoice;
  height: number;
  width: number;
  channels: number;
}

/** A 1×1 convolution with a fixed filter [1, 1, inC, outC] and no bias. */
function fixedConv(b: NetworkBuilder, name: string, input: string, filter: Float32Array, inC: number, outC: number, activation: 'linear' | 'sigmoid'): string {
  return b.add(
    name,
    {
      kind: 'conv',
      filter: { name: `${name}/filter`, shape: [1, 1, inC, outC], values: filter },
      bias: { name: `${name}/bias`, shape: [outC], values: new Float32Array(outC) },
      stride: 1,
      activation,
    },
    input,
  );
}

/**
 * The logistic mixture's mean, as the engine computes it (src-worker/objectives/logistic.ts):
 * x_mean = Σ_k softmax(logits)_k · sigmoid(locations_k) per sub-pixel, from `x_params`
 * [H, W, 3KC] laid out per channel c as [K logits, K locations, K log scales]. Made of
 * plain layers every runtime has: fixed 1×1 convolutions pick the logits and the
 * locations (sigmoid), a softmax over K (a reshape to [H, W, C, K] and back), a product,
 * and a fixed 1×1 convolution sums over k.
 */
function mixtureMeanOf(b: NetworkBuilder, image: ImageHead): string {
  const { height: H, width: W, channels: C } = image;
  const K = mixtureComponentsOf(image.decoder);
  const P = decoderHead(image.decoder, C).channels;
  const pickLogits = new Float32Array(P * C * K);
  const pickLocations = new Float32Array(P * C * K);
  const sumOverK = new Float32Array(C * K * C);
  for (let c = 0; c < C; c++) {
    for (let k = 0; k < K; k++) {
      const out = c * K + k;
      pickLogits[(c * LOGISTIC_PARAMS * K + k) * C * K + out] = 1;
      pickLocations[(c * LOGISTIC_PARAMS * K + K + k) * C * K + out] = 1;
      sumOverK[out * C + c] = 1;
    }
  }
  const params = 'x_params';
  const logits = b.add('x_mix_logits_grid', { kind: 'reshape', shape: [H, W, C, K] }, fixedConv(b, 'x_mix_logits', params, pickLogits, P, C * K, 'linear'));
  const weights = b.add('x_mix_weights', { kind: 'reshape', shape: [H, W, C * K] }, b.add('x_mix_softmax', { kind: 'softmax' }, logits));
  const locations = fixedConv(b, 'x_mix_locations', params, pickLocations, P, C * K, 'sigmoid');
  const weighted = b.add('x_mix_weighted', { kind: 'multiply' }, weights, locations);
  return fixedConv(b, 'x_mean', weighted, sumOverK, C * K, C, 'linear');
}

/**
 * The exported decoders give the mean, sigmoid of the raw output the engine computes: the
 * sigmoid goes into the activation of the weighted layer that makes `output` (through
 * reshapes and a crop).
 */
function sigmoidOf(b: NetworkBuilder, output: string): void {
  let node = b.nodeOf(output);
  while (node && (node.op.kind === 'reshape' || node.op.kind === 'flatten' || node.op.kind === 'crop')) node = b.nodeOf(node.inputs[0]!);
  const op = node?.op;
  if (!node || !op || (op.kind !== 'dense' && op.kind !== 'conv' && op.kind !== 'deconv') || op.activation !== 'linear') {
    throw new Error(`"${output}" does not end in a linear weighted layer, so its sigmoid cannot be folded in`);
  }
  node.op = { ...op, activation: 'sigmoid' };
}

/**
 * The conv stack a checkpoint was trained with, read off its parameters under `prefix`:
 * one stage per `conv<k>/f` (its output channels), the residual blocks of the deepest
 * stage S (`res<S>a/f`, `res<S>_2a/f`, …), normalisation when `norm1/g` is (classic: conv1, conv2 of 32 and 64 channels).
 */
function convPlanOf(params: ReadonlyMap<string, CheckpointTensor>, prefix: string, image: { width: number; height: number }): ConvPlan {
  const channels: number[] = [];
  for (let k = 1; params.has(`${prefix}/conv${k}/f`); k++) channels.push(params.get(`${prefix}/conv${k}/f`)!.shape[3]!);
  if (channels.length === 0) requireParam(params, `${prefix}/conv1/f`);
  let resBlocks = 0;
  while (params.has(`${prefix}/${resKey('res', channels.length, resBlocks + 1)}a/f`)) resBlocks++;
  return convPlanOfChannels(channels, resBlocks, params.has(`${prefix}/norm1/g`), image);
}

/** Encoder, decoder, IAF steps and (M2) classifier of the Gaussian-latent families. */
function gaussianNetworks(spec: ExportSpec, params: ReadonlyMap<string, CheckpointTensor>): ExportNetworks {
  const { width, height, channels, latent: d, model } = spec;
  const image = { width, height, channels };
  const p = (name: string): CheckpointTensor => requireParam(params, `${model}/${name}`);

  // The label width is what the decoder's first layer reads beyond z.
  const classes = p(model === 'mlp' ? 'dec1/w' : 'dec/w').shape[0]! - d;
  const conditional = spec.family === 'cvae' || spec.family === 'm2';
  if (conditional ? classes < 2 : classes !== 0) {
    throw new Error(`the decoder reads ${classes} label inputs beside z, which does not fit family '${spec.family}'`);
  }
  const hidden = p('head/w').shape[0]!;
  if (p('head/w').shape[1] !== 2 * d) throw new Error(`encoder head has ${p('head/w').shape[1]} outputs, expected 2 × latent = ${2 * d}`);
  const extra =
    spec.flow === 'planar'
      ? { size: spec.flowSteps * (2 * d + 1), name: 'flow_params' }
      : spec.flow === 'iaf'
        ? { size: iafContext(d), name: 'flow_context' }
        : null;
  const output = spec.decoder ? decoderHead(spec.decoder, channels) : undefined;
  const conv = model === 'conv' ? convPlanOf(params, model, image) : undefined;
  const vae = gaussianArchitecture({ model, image, latent: d, hidden, classes: conditional ? classes : 0, extra, output, conv, input: spec.encoderInput });
  const tensor = bind(vae, params);
  const [encoder, decoder] = vae.networks as [NetworkDecl, NetworkDecl];
  const imageHead = spec.decoder ? { decoder: spec.decoder, ...image } : undefined;
  const networks = [exportNetwork(encoder, tensor), exportNetwork(decoder, tensor, { sigmoid: 'x_mean', image: imageHead })];

  if (spec.flow === 'iaf') {
    const iaf = iafArchitecture(spec.flowSteps, d);
    const steps = bind(iaf, params);
    networks.push(...iaf.networks.map((step) => exportNetwork(step, steps)));
  }
  if (spec.family === 'm2') {
    const out = requireParam(params, 'cls/clsout/w');
    if (out.shape[1] !== classes) throw new Error(`the classifier has ${out.shape[1]} classes, the decoder ${classes}`);
    const convClassifier = params.has('cls/conv1/f');
    const cls = classifierArchitecture(
      convClassifier ? 'conv' : 'mlp',
      image,
      out.shape[0]!,
      classes,
      convClassifier ? convPlanOf(params, 'cls', image) : undefined,
      spec.encoderInput,
    );
    networks.push(exportNetwork(cls.networks[0]!, bind(cls, params)));
  }
  return { networks, classes: conditional ? classes : 0, flowContext: extra?.name === 'flow_context' ? extra.size : 0, codes: null, priorTrained: false };
}

/** Encoder (with the nearest-code scores), decoder from code indices, and the MADE prior of a VQ-VAE. */
function vqNetworks(spec: ExportSpec, params: ReadonlyMap<string, CheckpointTensor>): ExportNetworks {
  const { width, height, channels, model } = spec;
  const image = { width, height, channels };
  const codebook = requireParam(params, 'ema/codebook');
  const [K, e] = codebook.shape as [number, number];
  let positions = 0;
  let hidden = 0;
  if (model === 'mlp') {
    const head = requireParam(params, 'vq/head/w');
    positions = head.shape[1]! / e;
    if (!Number.isInteger(positions)) throw new Error(`the encoder head's ${head.shape[1]} outputs are not whole codes of ${e}`);
    hidden = head.shape[0]!;
  }
  const conv = model === 'conv' ? convPlanOf(params, 'vq', image) : undefined;
  const { positions: L, grid } = vqGrid({ model, image, positions, conv });
  const output = spec.decoder ? decoderHead(spec.decoder, channels) : undefined;
  const vq = vqArchitecture({ model, image, hidden, codeDim: e, positions, output, conv, input: spec.encoderInput });
  const tensor = bind(vq, params);
  const [encoderDecl, decoderDecl] = vq.networks as [NetworkDecl, NetworkDecl];

  // argmin_k ‖z − e_k‖² = argmax_k (2 zᵀe_k − ‖e_k‖²): a dense layer with kernel 2Eᵀ and bias −‖e_k‖².
  const scoreKernel = new Float32Array(e * K);
  const scoreBias = new Float32Array(K);
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < e; j++) {
      const v = codebook.values[k * e + j]!;
      scoreKernel[j * K + k] = 2 * v;
      scoreBias[k] = scoreBias[k]! - v * v;
    }
  }
  const encoder = exportNetwork(encoderDecl, tensor, {
    after: (b) => [
      b.dense(
        'code_scores',
        'z_e',
        { name: 'code_scores/kernel', shape: [e, K], values: scoreKernel },
        { name: 'code_scores/bias', shape: [K], values: scoreBias },
        'linear',
      ),
    ],
  });
  // The decoder takes code indices: the codebook lookup makes the z_q the declared decoder reads.
  const decoder = exportNetwork(decoderDecl, tensor, {
    inputs: [{ name: 'codes', shape: [L], dtype: 'int32' }],
    before: (b) => void b.add('z_q', { kind: 'embedding', table: codebook }, 'codes'),
    sigmoid: 'x_mean',
    image: spec.decoder ? { decoder: spec.decoder, ...image } : undefined,
  });

  const priorTrained = (params.get('prior_adam_step')?.values[0] ?? 0) > 0;
  const networks = [encoder, decoder];
  if (priorTrained) {
    // The masks are folded into the weights: the exported prior is two plain dense layers.
    const prior = madePriorArchitecture(L, K, requireParam(params, 'prior/made1/w').shape[1]!);
    networks.push(exportNetwork(prior.networks[0]!, bind(prior, params)));
  }
  return { networks, classes: 0, flowContext: 0, codes: { size: K, dim: e, positions: L, grid }, priorTrained };
}

export function buildExportNetworks(spec: ExportSpec, params: ReadonlyMap<string, CheckpointTensor>): ExportNetworks {
  return spec.family === 'vqvae' ? vqNetworks(spec, params) : gaussianNetworks(spec, params);
}

/** The networks an export of a family holds, as the UI lists them (the VQ prior only once trained). */
export function exportedNetworks(family: ModelFamily): string[] {
  if (family === 'm2') return ['encoder', 'decoder', 'classifier'];
  if (family === 'vqvae') return ['encoder', 'decoder', 'code prior'];
  return ['encoder', 'decoder'];
}
