import type { ClassifierKind, ArchitectureKind, EncoderInput } from '../config';
import type { DecoderHead } from '../likelihood';
import { CLASSIC_CONV_CHANNELS, CONV_DOWNSAMPLE, CONV_STRIDE, convPlan, type ConvPlan } from '../conv';
import { madeDegreeMasks, madeMasks, IAF_GATE_BIAS } from '../made-masks';
import type { Activation, NetworkInput } from './graph';
import type { ConstDecl, Init, Layer, LayerNode, ModelDecl, NetworkDecl, ParamDecl } from './layers';

/**
 * Every network of the app, declared once from its sizes: the trainer builds its
 * variables and runs these (src-worker/model/build.ts), the export lowers them with a
 * checkpoint's values (networks.ts). Parameter names and their order are those of the
 * checkpoints ("mlp/enc1/w" is stored as "param/0:mlp/enc1/w"; the order is also the
 * order the seed's draws are made in), so they must not change.
 *
 * Inputs and outputs are per example and channels-last, as the export has them: images
 * [H, W, C], vectors [n]. Decoders end in raw outputs (logits, or the pre-sigmoid mean);
 * the export adds the sigmoid. A logistic mixture decoder ends in its parameters
 * (`x_params`, src-shared/likelihood.ts) and the export adds the head to its mean.
 */

export interface ImageSize {
  width: number;
  height: number;
  channels: number;
}

/**
 * Conv stacks: 4×4 stride-2 convolutions, as many and as wide as @shared/conv's plan says
 * (classic: two, 32 and 64 channels). Residual blocks sit at the deepest resolution (end
 * of the encoder, start of the decoder, as in van den Oord 2017's VQ-VAE), where they
 * are cheap: on this app's CPU backends a 3×3 convolution's gradient at full resolution
 * cost more than the whole stride-2 stack (src-worker/README.md). Each is a 3×3
 * convolution to half the channels, ReLU, a 1×1 convolution back (starting small, so the
 * block starts near the identity), added to its input. The layer norm's ε.
 */
export const CONV_CHANNELS = CLASSIC_CONV_CHANNELS;
export const CONV_KERNEL = 4;
export const NORM_EPSILON = 1e-5;
export { CONV_DOWNSAMPLE, CONV_STRIDE };

/** The context width h the encoder gives an IAF posterior, and its MADE's hidden width. */
export const iafContext = (latent: number): number => 2 * latent;
export const iafHidden = (latent: number): number => Math.min(256, Math.max(16, 4 * latent));

/** A planar flow's amortized parameters per image for `steps` steps on a d-dim latent: u (d), w (d), b (1) each. */
export const planarFlowParameters = (latent: number, steps: number): number => steps * (2 * latent + 1);

const imageShape = (image: ImageSize): number[] => [image.height, image.width, image.channels];

/**
 * The decoder's last layer (src-shared/likelihood.ts decoderHead): its channels per pixel
 * and name. Absent: one raw value per image channel, `x_mean`, as every model before the
 * logistic mixture.
 */
const headOf = (image: ImageSize, output: DecoderHead | undefined): DecoderHead => output ?? { channels: image.channels, name: 'x_mean' };
const headShape = (image: ImageSize, head: DecoderHead): number[] => [image.height, image.width, head.channels];

/** Collects a model's parameters (in creation order), constants and networks. */
class ModelBuilder {
  readonly params: ParamDecl[] = [];
  readonly constants: ConstDecl[] = [];
  readonly networks: NetworkDecl[] = [];
  constructor(readonly prefix: string) {}

  param(name: string, shape: number[], init: Init, fanIn: number, fanOut: number): string {
    this.params.push({ name, shape, init, fanIn, fanOut });
    return name;
  }

  bias(name: string, size: number): string {
    return this.param(name, [size], 'zeros', size, size);
  }

  /** A decoder head's bias `name` of `size` values: zeros, or its initialBias repeated over the pixels. */
  headBias(name: string, size: number, head: DecoderHead): string {
    const pattern = head.initialBias;
    if (pattern === undefined) return this.bias(name, size);
    if (pattern.length !== head.channels) throw new Error(`${this.prefix}/${name}: ${pattern.length} initial biases for ${head.channels} channels`);
    this.params.push({ name, shape: [size], init: 'values', fanIn: size, fanOut: size, values: Array.from({ length: size }, (_, i) => pattern[i % pattern.length]!) });
    return name;
  }

  constant(name: string, shape: number[], values: Float32Array): string {
    this.constants.push({ name, shape, values });
    return name;
  }

  /** `key/w` [fanIn, fanOut] and `key/b` (a decoder head's: its initial bias). */
  dense(key: string, fanIn: number, fanOut: number, init: Init, head?: DecoderHead): { w: string; b: string } {
    const w = this.param(`${key}/w`, [fanIn, fanOut], init, fanIn, fanOut);
    return { w, b: head === undefined ? this.bias(`${key}/b`, fanOut) : this.headBias(`${key}/b`, fanOut, head) };
  }

  /** `key/f` [k, k, inC, outC] and `key/b`. */
  conv(key: string, k: number, inC: number, outC: number, init: Init): { f: string; b: string } {
    return { f: this.param(`${key}/f`, [k, k, inC, outC], init, k * k * inC, k * k * outC), b: this.bias(`${key}/b`, outC) };
  }

  /**
   * `key/f` [k, k, outC, inC] (tfjs' layout for conv2dTranspose) and `key/b`. With stride s
   * each output pixel sees only k²/s² taps per input channel: that is its fan-in.
   */
  deconv(key: string, k: number, stride: number, inC: number, outC: number, init: Init, head?: DecoderHead): { f: string; b: string } {
    const taps = (k * k) / (stride * stride);
    const f = this.param(`${key}/f`, [k, k, outC, inC], init, taps * inC, taps * outC);
    return { f, b: head === undefined ? this.bias(`${key}/b`, outC) : this.headBias(`${key}/b`, outC, head) };
  }

  /** `key/g` [c] (ones) and `key/b` [c] (zeros): a layer norm's scale and shift. */
  norm(key: string, c: number): { g: string; b: string } {
    return { g: this.param(`${key}/g`, [c], 'ones', c, c), b: this.bias(`${key}/b`, c) };
  }

  build(): ModelDecl {
    return { prefix: this.prefix, params: this.params, constants: this.constants, networks: this.networks };
  }
}

/** Builds one network node by node; each method returns the node's name. */
class NetBuilder {
  private readonly nodes: LayerNode[] = [];
  constructor(
    private readonly name: string,
    private readonly inputs: NetworkInput[],
  ) {}

  add(name: string, layer: Layer, ...inputs: string[]): string {
    this.nodes.push({ name, layer, inputs });
    return name;
  }

  /** `input` cut into parts of `sizes`, named `outputs`. */
  split(name: string, input: string, sizes: number[], outputs: string[]): string[] {
    this.nodes.push({ name, layer: { kind: 'split', sizes }, inputs: [input], outputs });
    return outputs;
  }

  dense(name: string, input: string, p: { w: string; b: string }, activation: Activation): string {
    return this.add(name, { kind: 'dense', kernels: [{ param: p.w }], bias: p.b, activation }, input);
  }

  conv(name: string, input: string, p: { f: string; b: string }, stride: number, activation: Activation): string {
    return this.add(name, { kind: 'conv', filter: p.f, bias: p.b, stride, activation }, input);
  }

  deconv(name: string, input: string, p: { f: string; b: string }, activation: Activation): string {
    return this.add(name, { kind: 'deconv', filter: p.f, bias: p.b, stride: CONV_STRIDE, activation }, input);
  }

  norm(name: string, input: string, p: { g: string; b: string }, activation: Activation): string {
    return this.add(name, { kind: 'norm', gamma: p.g, beta: p.b, epsilon: NORM_EPSILON, activation }, input);
  }

  /** [x, y] when there is a label input, else x. */
  withLabel(name: string, x: string, conditional: boolean): string {
    return conditional ? this.add(name, { kind: 'concat' }, x, 'y') : x;
  }

  build(outputs: string[]): NetworkDecl {
    return { name: this.name, inputs: this.inputs, nodes: this.nodes, outputs };
  }
}

const float = (name: string, shape: number[]): NetworkInput => ({ name, shape, dtype: 'float32' });

/**
 * What a centred encoder input does to the pixels (config.ts encoderInputs): x·2 − 1, [0, 1]
 * to [−1, 1]. The one place the rule is written: every network that reads the image takes
 * its input through imageInput, so the trainer, the exports (tfjs Rescaling, ONNX Mul and
 * Add) and the parameter counts follow it.
 */
export const ENCODER_INPUT_RESCALE = { scale: 2, offset: -1 } as const;

/** The image value `x` (or its flattened `value`) as the network's first layer reads it: as it is, or centred. */
function imageInput(net: NetBuilder, input: EncoderInput | undefined, value = 'x'): string {
  return (input ?? 'unit') === 'centred' ? net.add(`${value}_centred`, { kind: 'rescale', ...ENCODER_INPUT_RESCALE }, value) : value;
}

/** The parameter key of residual block n of stage k: res<k>, res<k>_2, … (dres in the decoder). */
export const resKey = (kind: 'res' | 'dres', k: number, n: number): string => (n === 1 ? `${kind}${k}` : `${kind}${k}_${n}`);

/** x + 1×1(ReLU(3×3(x))), parameters `key`a and `key`b, nodes named with `nodes` before. */
function residualBlock(m: ModelBuilder, net: NetBuilder, key: string, nodes: string, x: string, c: number): string {
  const hidden = Math.max(1, Math.ceil(c / 2));
  const a = m.conv(`${key}a`, 3, c, hidden, 'he');
  const b = m.conv(`${key}b`, 1, hidden, c, 'small');
  const h = net.conv(`${nodes}${key}a`, x, a, 1, 'relu');
  return net.add(`${nodes}${key}`, { kind: 'add' }, x, net.conv(`${nodes}${key}b`, h, b, 1, 'linear'));
}

/**
 * The encoder's stride-2 stages from `x` (inC channels): per stage k, parameters
 * conv<k> [, norm<k>], and after the deepest stage S the residual blocks res<S>a,
 * res<S>b (res<S>_2a, … for more); nodes named the same after `nodes`. Returns the last
 * stage's output, the plan's grid.
 */
function encoderStack(m: ModelBuilder, net: NetBuilder, plan: ConvPlan, inC: number, x: string, nodes = ''): string {
  let y = x;
  let c = inC;
  plan.channels.forEach((out, i) => {
    const k = i + 1;
    const conv = m.conv(`conv${k}`, CONV_KERNEL, c, out, 'he');
    const norm = plan.norm ? m.norm(`norm${k}`, out) : null;
    y = net.conv(`${nodes}conv${k}`, y, conv, CONV_STRIDE, norm ? 'linear' : 'relu');
    if (norm) y = net.norm(`${nodes}norm${k}`, y, norm, 'relu');
    if (k === plan.channels.length) for (let n = 1; n <= plan.resBlocks; n++) y = residualBlock(m, net, resKey('res', k, n), nodes, y, out);
    c = out;
  });
  return y;
}

/**
 * The decoder's stride-2 transposed stages from the grid `u` to the image: per stage j
 * (deepest first), parameters [dres1a, dres1b, … before the first,] deconv<j> [, dnorm<j>]; the last
 * gives the decoder head's channels (headOf), linear, under its name, its bias starting at the head's
 * initialBias, cropped to the image when the grid was rounded up.
 */
function decoderStack(m: ModelBuilder, net: NetBuilder, plan: ConvPlan, image: ImageSize, u: string, head: DecoderHead): string {
  const S = plan.channels.length;
  const full = [plan.grid[0] * CONV_STRIDE ** S, plan.grid[1] * CONV_STRIDE ** S];
  const crop = full[0] !== image.height || full[1] !== image.width;
  let y = u;
  for (let j = 1; j <= S; j++) {
    const inC = plan.channels[S - j]!;
    const last = j === S;
    const out = last ? head.channels : plan.channels[S - j - 1]!;
    if (j === 1) for (let n = 1; n <= plan.resBlocks; n++) y = residualBlock(m, net, resKey('dres', j, n), '', y, inC);
    const deconv = m.deconv(`deconv${j}`, CONV_KERNEL, CONV_STRIDE, inC, out, last ? 'glorot' : 'he', last ? head : undefined);
    const norm = !last && plan.norm ? m.norm(`dnorm${j}`, out) : null;
    y = net.deconv(last ? (crop ? `${head.name}_full` : head.name) : `deconv${j}`, y, deconv, last || norm ? 'linear' : 'relu');
    if (norm) y = net.norm(`dnorm${j}`, y, norm, 'relu');
  }
  return crop ? net.add(head.name, { kind: 'crop', height: image.height, width: image.width }, y) : y;
}

export interface GaussianArchitecture {
  model: ArchitectureKind;
  image: ImageSize;
  latent: number;
  hidden: number;
  /** Width of the one-hot label input y (0: unconditional). */
  classes: number;
  /** Extra encoder outputs from the last hidden layer (a flow's parameters or context), and their name. */
  extra: { size: number; name: string } | null;
  /** The decoder's last layer; absent: one value per image channel, `x_mean`. */
  output?: DecoderHead;
  /** The conv stack (architecture 'conv'); absent: classic. */
  conv?: ConvPlan | undefined;
  /** What the encoder reads (config.ts encoderInputs); absent: 'unit', the pixels as they are. */
  input?: EncoderInput | undefined;
}

/** The conv plan an architecture uses: the one given, else classic's for the image. */
const planOf = (conv: ConvPlan | undefined, image: ImageSize): ConvPlan => conv ?? convPlan(null, image);

/**
 * The VAE of every Gaussian-latent family (vae, cvae, m2), networks `encoder`
 * x [, y] → mu, log_var [, extra] and `decoder` z [, y] → x_mean (raw). Parameters under
 * the model kind ("mlp/…", "conv/…").
 *   mlp:  D [+ C] → h → h → 2d (μ, log σ²) and d [+ C] → h → h → D, ReLU between.
 *   conv: the plan's 4×4 stride-2 stages (classic: two, 32 and 64 channels), flatten
 *         [, y], dense to h, dense to (μ, log σ²); the decoder mirrors it with stride-2
 *         transposed convolutions (kernel 4 with stride 2 leaves no checkerboard).
 * The extra head comes from the last hidden layer and is created after every other
 * weight, so the rest starts as the plain model of the seed.
 */
export function gaussianArchitecture(a: GaussianArchitecture): ModelDecl {
  const { image, latent: d, hidden: h, classes: c } = a;
  const conditional = c > 0;
  const m = new ModelBuilder(a.model);
  const label = (inputs: NetworkInput[]): NetworkInput[] => (conditional ? [...inputs, float('y', [c])] : inputs);
  const enc = new NetBuilder('encoder', label([float('x', imageShape(image))]));
  const dec = new NetBuilder('decoder', label([float('z', [d])]));
  const out = headOf(image, a.output);
  let hiddenOut: string;
  let head: { w: string; b: string };
  if (a.model === 'mlp') {
    const D = image.width * image.height * image.channels;
    const enc1 = m.dense('enc1', D + c, h, 'he');
    const enc2 = m.dense('enc2', h, h, 'he');
    head = m.dense('head', h, 2 * d, 'glorot');
    const dec1 = m.dense('dec1', d + c, h, 'he');
    const dec2 = m.dense('dec2', h, h, 'he');
    // The MLP's output bias starts at zero even for a logistic head: see LOGISTIC_INITIAL_LOG_SCALE.
    const outP = m.dense('out', h, image.width * image.height * out.channels, 'glorot');
    const x = enc.withLabel('x_y', imageInput(enc, a.input, enc.add('x_flat', { kind: 'flatten' }, 'x')), conditional);
    hiddenOut = enc.dense('enc2', enc.dense('enc1', x, enc1, 'relu'), enc2, 'relu');
    const a2 = dec.dense('dec2', dec.dense('dec1', dec.withLabel('z_y', 'z', conditional), dec1, 'relu'), dec2, 'relu');
    dec.add(out.name, { kind: 'reshape', shape: headShape(image, out) }, dec.dense('out', a2, outP, 'linear'));
  } else {
    const plan = planOf(a.conv, image);
    const top = plan.channels.at(-1)!;
    const grid = [plan.grid[0], plan.grid[1], top];
    const flat = plan.grid[0] * plan.grid[1] * top;
    const b = encoderStack(m, enc, plan, image.channels, imageInput(enc, a.input));
    const encP = m.dense('enc', flat + c, h, 'he');
    head = m.dense('head', h, 2 * d, 'glorot');
    const decP = m.dense('dec', d + c, h, 'he');
    const unflat = m.dense('unflat', h, flat, 'he');
    hiddenOut = enc.dense('enc', enc.withLabel('features_y', enc.add('features', { kind: 'flatten' }, b), conditional), encP, 'relu');
    const u = dec.dense('unflat', dec.dense('dec', dec.withLabel('z_y', 'z', conditional), decP, 'relu'), unflat, 'relu');
    decoderStack(m, dec, plan, image, dec.add('unflatten', { kind: 'reshape', shape: grid }, u), out);
  }
  const headOut = enc.dense('head', hiddenOut, head, 'linear');
  const outputs = enc.split('head_split', headOut, [d, d], ['mu', 'log_var']);
  if (a.extra !== null && a.extra.size > 0) {
    // Small weights: the flow starts near its identity.
    outputs.push(enc.dense(a.extra.name, hiddenOut, m.dense('extra', h, a.extra.size, 'small'), 'linear'));
  }
  m.networks.push(enc.build(outputs), dec.build([out.name]));
  return m.build();
}

/**
 * q(y|x) of the semi-supervised M2 model, network `classifier` x → logits, parameters
 * under "cls/". mlp: D → h → h → C. conv: the conv encoder's stack (the plan's stride-2
 * stages; classic: two, 32 and 64 channels), flatten → h → C.
 */
export function classifierArchitecture(kind: ClassifierKind, image: ImageSize, hidden: number, classes: number, conv?: ConvPlan, input?: EncoderInput): ModelDecl {
  const m = new ModelBuilder('cls');
  const net = new NetBuilder('classifier', [float('x', imageShape(image))]);
  let features: string;
  if (kind === 'mlp') {
    const cls1 = m.dense('cls1', image.width * image.height * image.channels, hidden, 'he');
    const cls2 = m.dense('cls2', hidden, hidden, 'he');
    features = net.dense('cls2', net.dense('cls1', imageInput(net, input, net.add('x_flat', { kind: 'flatten' }, 'x')), cls1, 'relu'), cls2, 'relu');
  } else {
    const plan = planOf(conv, image);
    const b = encoderStack(m, net, plan, image.channels, imageInput(net, input), 'cls_');
    const dense = m.dense('dense', plan.grid[0] * plan.grid[1] * plan.channels.at(-1)!, hidden, 'he');
    features = net.dense('cls_dense', net.add('cls_features', { kind: 'flatten' }, b), dense, 'relu');
  }
  const out = m.dense('clsout', hidden, classes, 'glorot');
  m.networks.push(net.build([net.dense('logits', features, out, 'linear')]));
  return m.build();
}

/**
 * An inverse autoregressive flow's steps (Kingma et al. 2016), networks `iaf_step<k>`
 * z, h → m, s, parameters under "iaf/step<k>/": per step a MADE over z (masked, in
 * reversed order on odd steps) plus the encoder's context h gives the hidden layer, and
 * m and s depend on z_<j only; s includes IAF_GATE_BIAS, so σ = sigmoid(s) and
 * z ← σ ⊙ z + (1 − σ) ⊙ m (src-worker/model/posterior-flow.ts).
 */
export function iafArchitecture(steps: number, latent: number): ModelDecl {
  const d = latent;
  const c = iafContext(d);
  const h = iafHidden(d);
  const m = new ModelBuilder('iaf');
  for (let k = 0; k < steps; k++) {
    const masks = madeDegreeMasks(d, h, k % 2 === 1);
    const p = (name: string, rows: number, cols: number, init: Init): string => m.param(`step${k}/${name}`, [rows, cols], init, rows, cols);
    const w1 = p('w1', d, h, 'he');
    const c1 = p('c1', c, h, 'he');
    const b1 = m.bias(`step${k}/b1`, h);
    // Small output weights: each step starts close to z ← sigmoid(IAF_GATE_BIAS)·z, almost the identity.
    const wm = p('wm', h, d, 'small');
    const bm = m.bias(`step${k}/bm`, d);
    const ws = p('ws', h, d, 'small');
    const bs = m.bias(`step${k}/bs`, d);
    const mask1 = m.constant(`step${k}/mask1`, [d, h], masks.input);
    const mask2 = m.constant(`step${k}/mask2`, [h, d], masks.output);
    const net = new NetBuilder(`iaf_step${k}`, [float('z', [d]), float('h', [c])]);
    const hidden = net.add('hidden', { kind: 'dense', kernels: [{ param: w1, mask: mask1 }, { param: c1 }], bias: b1, activation: 'relu' }, 'z', 'h');
    const mOut = net.add('m', { kind: 'dense', kernels: [{ param: wm, mask: mask2 }], bias: bm, activation: 'linear' }, hidden);
    const sOut = net.add('s', { kind: 'dense', kernels: [{ param: ws, mask: mask2 }], bias: bs, activation: 'linear', biasOffset: IAF_GATE_BIAS }, hidden);
    m.networks.push(net.build([mOut, sOut]));
  }
  return m.build();
}

export interface VqArchitecture {
  model: ArchitectureKind;
  image: ImageSize;
  hidden: number;
  codeDim: number;
  /** Positions L of the MLP's code grid (the conv grid is the conv plan's). */
  positions: number;
  /** The decoder's last layer; absent: one value per image channel, `x_mean`. */
  output?: DecoderHead;
  /** The conv stack (architecture 'conv'); absent: classic. */
  conv?: ConvPlan | undefined;
  /** What the encoder reads (config.ts encoderInputs); absent: 'unit'. */
  input?: EncoderInput | undefined;
}

/** Code positions L per image and the grid [rows, cols] they are drawn as. */
export function vqGrid(a: Pick<VqArchitecture, 'model' | 'image' | 'positions' | 'conv'>): { positions: number; grid: [number, number] } {
  if (a.model === 'mlp') return { positions: a.positions, grid: [1, a.positions] };
  const grid: [number, number] = [...planOf(a.conv, a.image).grid];
  return { positions: grid[0] * grid[1], grid };
}

/**
 * The VQ-VAE's encoder x → z_e [L, e] and decoder z_q [L, e] → x_mean (raw), parameters
 * under "vq/" (van den Oord 2017).
 *   conv: the plan's stride-2 stages (classic: two, 32 and 64 channels) and a 1×1
 *         convolution to e: the plan's grid ((H/4)×(W/4) for classic); the decoder
 *         mirrors it.
 *   mlp:  D → h → h → L·e; the decoder mirrors it.
 */
export function vqArchitecture(a: VqArchitecture): ModelDecl {
  const { image, hidden: h, codeDim: e } = a;
  const { positions: L, grid } = vqGrid(a);
  const m = new ModelBuilder('vq');
  const enc = new NetBuilder('encoder', [float('x', imageShape(image))]);
  const dec = new NetBuilder('decoder', [float('z_q', [L, e])]);
  const last = headOf(image, a.output);
  if (a.model === 'mlp') {
    const D = image.width * image.height * image.channels;
    const enc1 = m.dense('enc1', D, h, 'he');
    const enc2 = m.dense('enc2', h, h, 'he');
    const head = m.dense('head', h, L * e, 'glorot');
    const dec1 = m.dense('dec1', L * e, h, 'he');
    const dec2 = m.dense('dec2', h, h, 'he');
    const out = m.dense('out', h, image.width * image.height * last.channels, 'glorot');
    const b = enc.dense('enc2', enc.dense('enc1', imageInput(enc, a.input, enc.add('x_flat', { kind: 'flatten' }, 'x')), enc1, 'relu'), enc2, 'relu');
    enc.add('z_e', { kind: 'reshape', shape: [L, e] }, enc.dense('head', b, head, 'linear'));
    const a2 = dec.dense('dec2', dec.dense('dec1', dec.add('z_q_flat', { kind: 'reshape', shape: [L * e] }, 'z_q'), dec1, 'relu'), dec2, 'relu');
    dec.add(last.name, { kind: 'reshape', shape: headShape(image, last) }, dec.dense('out', a2, out, 'linear'));
  } else {
    const plan = planOf(a.conv, image);
    const top = plan.channels.at(-1)!;
    const b = encoderStack(m, enc, plan, image.channels, imageInput(enc, a.input));
    const toCode = m.conv('tocode', 1, top, e, 'glorot');
    const fromCode = m.conv('fromcode', 1, e, top, 'he');
    enc.conv('z_e', b, toCode, 1, 'linear');
    const g = dec.conv('fromcode', dec.add('z_q_grid', { kind: 'reshape', shape: [grid[0], grid[1], e] }, 'z_q'), fromCode, 1, 'relu');
    decoderStack(m, dec, plan, image, g, last);
  }
  m.networks.push(enc.build(['z_e']), dec.build([last.name]));
  return m.build();
}

/**
 * The VQ-VAE's prior over its code grid: MADE (Germain et al. 2015), network `prior`
 * codes_onehot [L·K] → logits [L, K], parameters under "prior/". A ReLU hidden layer and
 * an output layer with masked weights make the logits of position i depend only on the
 * codes of positions < i (raster order).
 */
export function madePriorArchitecture(positions: number, codes: number, hidden: number): ModelDecl {
  const L = positions;
  const K = codes;
  const m = new ModelBuilder('prior');
  const made1 = m.dense('made1', L * K, hidden, 'he');
  const made2 = m.dense('made2', hidden, L * K, 'glorot');
  const masks = madeMasks(L, K, hidden);
  const mask1 = m.constant('made1/mask', [L * K, hidden], masks.input);
  const mask2 = m.constant('made2/mask', [hidden, L * K], masks.output);
  const net = new NetBuilder('prior', [float('codes_onehot', [L * K])]);
  const a = net.add('made1', { kind: 'dense', kernels: [{ param: made1.w, mask: mask1 }], bias: made1.b, activation: 'relu' }, 'codes_onehot');
  const b = net.add('made2', { kind: 'dense', kernels: [{ param: made2.w, mask: mask2 }], bias: made2.b, activation: 'linear' }, a);
  m.networks.push(net.build([net.add('logits', { kind: 'reshape', shape: [L, K] }, b)]));
  return m.build();
}

/** Parameters a declaration creates. */
export const declaredParameters = (model: ModelDecl): number => model.params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
