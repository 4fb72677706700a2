import type { CheckpointTensor } from '../checkpoint-format';
import type { FlowKind, ModelFamily, ModelKind } from '../config';
import { IAF_GATE_BIAS, madeDegreeMasks, madeMasks } from '../made-masks';
import { CONV_DOWNSAMPLE, CONV_STRIDE } from '../conv';
import { NetworkBuilder, requireParam, type Activation, type Network, type NetworkInput } from './graph';

/**
 * Which networks a trained model exports and what each computes, for every family. They
 * must compute exactly what src-worker/model/{mlp,conv,classifier,vq,made}.ts compute;
 * the round-trip tests (src-worker/model/export-roundtrip.test.ts) run each export in
 * plain tfjs and in onnxruntime against the engine, so an architecture change that is
 * not mirrored here fails there.
 *
 *   vae, cvae, m2   encoder  x [, y] → mu, log_var [, flow_params | flow_context]   q0(z|x[, y])
 *   with an IAF     iaf_step<k>  z, h → m, s                         one autoregressive step each
 *                   decoder  z [, y] → x_mean                        sigmoid of the decoder output
 *   m2              classifier x → logits                            q(y|x) = softmax(logits)
 *   vqvae           encoder  x → z_e, code_scores                    code = argmax of code_scores
 *                   decoder  codes (int32) → x_mean                  codebook lookup inside
 *                   prior    codes_onehot → logits [L, K]            MADE, autoregressive in raster order
 * y is the one-hot class; flow_params are the planar flow's per-image (u, w, b) per step,
 * flow_context the IAF's per-image context h.
 */
export interface ExportSpec {
  family: ModelFamily;
  model: ModelKind;
  width: number;
  height: number;
  channels: 1 | 3;
  latent: number;
  /** The posterior's flow and its steps (flowSteps is ignored without one). */
  flow: FlowKind;
  flowSteps: number;
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

/** A dense head [h, 2d] as μ = columns 0..d−1 and log σ² = columns d..2d−1. */
function splitHead(kernel: CheckpointTensor, bias: CheckpointTensor, latent: number): { mu: [CheckpointTensor, CheckpointTensor]; logVar: [CheckpointTensor, CheckpointTensor] } {
  const [rows, cols] = kernel.shape as [number, number];
  if (cols !== 2 * latent) throw new Error(`encoder head has ${cols} outputs, expected 2 × latent = ${2 * latent}`);
  const part = (from: number, name: string): [CheckpointTensor, CheckpointTensor] => {
    const k = new Float32Array(rows * latent);
    for (let r = 0; r < rows; r++) k.set(kernel.values.subarray(r * cols + from, r * cols + from + latent), r * latent);
    return [
      { name: `${name}/kernel`, shape: [rows, latent], values: k },
      { name: `${name}/bias`, shape: [latent], values: bias.values.slice(from, from + latent) },
    ];
  };
  return { mu: part(0, 'mu'), logVar: part(latent, 'log_var') };
}

function conv(b: NetworkBuilder, name: string, input: string, filter: CheckpointTensor, bias: CheckpointTensor, stride: number, activation: Activation): string {
  return b.add(name, { kind: 'conv', filter, bias, stride, activation }, input);
}

function deconv(b: NetworkBuilder, name: string, input: string, filter: CheckpointTensor, bias: CheckpointTensor, activation: Activation): string {
  return b.add(name, { kind: 'deconv', filter, bias, stride: CONV_STRIDE, activation }, input);
}

/** Encoder, decoder and (M2) classifier of the Gaussian-latent families. */
function gaussianNetworks(spec: ExportSpec, params: ReadonlyMap<string, CheckpointTensor>): ExportNetworks {
  const { width: W, height: H, channels: C, latent: d, model } = spec;
  const image = [H, W, C];
  const p = (name: string, shape?: number[]): CheckpointTensor => requireParam(params, `${model}/${name}`, shape);
  const dense = (b: NetworkBuilder, name: string, input: string, activation: Activation, key = name): string =>
    b.dense(name, input, p(`${key}/w`), p(`${key}/b`), activation);

  // The label width is what the decoder's first layer reads beyond z.
  const classes = p(model === 'mlp' ? 'dec1/w' : 'dec/w').shape[0]! - d;
  const conditional = spec.family === 'cvae' || spec.family === 'm2';
  if (conditional ? classes < 2 : classes !== 0) {
    throw new Error(`the decoder reads ${classes} label inputs beside z, which does not fit family '${spec.family}'`);
  }
  const withLabel = (inputs: NetworkInput[]): NetworkInput[] => (conditional ? [...inputs, { name: 'y', shape: [classes], dtype: 'float32' }] : inputs);

  const enc = new NetworkBuilder('encoder', withLabel([{ name: 'x', shape: image, dtype: 'float32' }]));
  let hidden: string;
  if (model === 'mlp') {
    const flat = enc.add('x_flat', { kind: 'flatten' }, 'x');
    const input = conditional ? enc.add('x_y', { kind: 'concat' }, flat, 'y') : flat;
    hidden = dense(enc, 'enc2', dense(enc, 'enc1', input, 'relu'), 'relu');
  } else {
    const a = conv(enc, 'conv1', 'x', p('conv1/f'), p('conv1/b'), CONV_STRIDE, 'relu');
    const flat = enc.add('features', { kind: 'flatten' }, conv(enc, 'conv2', a, p('conv2/f'), p('conv2/b'), CONV_STRIDE, 'relu'));
    hidden = dense(enc, 'enc', conditional ? enc.add('features_y', { kind: 'concat' }, flat, 'y') : flat, 'relu');
  }
  const h = p('head/w').shape[0]!;
  const head = splitHead(p('head/w', [h, 2 * d]), p('head/b', [2 * d]), d);
  const outputs = [enc.dense('mu', hidden, ...head.mu, 'linear'), enc.dense('log_var', hidden, ...head.logVar, 'linear')];
  if (spec.flow === 'planar') {
    const width = spec.flowSteps * (2 * d + 1);
    outputs.push(enc.dense('flow_params', hidden, p('extra/w', [h, width]), p('extra/b', [width]), 'linear'));
  }
  if (spec.flow === 'iaf') outputs.push(enc.dense('flow_context', hidden, p('extra/w'), p('extra/b'), 'linear'));
  const encoder = enc.build(outputs);

  const dec = new NetworkBuilder('decoder', withLabel([{ name: 'z', shape: [d], dtype: 'float32' }]));
  const zIn = conditional ? dec.add('z_y', { kind: 'concat' }, 'z', 'y') : 'z';
  let decoder: Network;
  if (model === 'mlp') {
    const out = dense(dec, 'out', dense(dec, 'dec2', dense(dec, 'dec1', zIn, 'relu'), 'relu'), 'sigmoid');
    decoder = dec.build([dec.add('x_mean', { kind: 'reshape', shape: image }, out)]);
  } else {
    const c2 = p('conv2/f').shape[3]!;
    const unflat = dense(dec, 'unflat', dense(dec, 'dec', zIn, 'relu'), 'relu');
    const grid = dec.add('unflatten', { kind: 'reshape', shape: [H / CONV_DOWNSAMPLE, W / CONV_DOWNSAMPLE, c2] }, unflat);
    const up = deconv(dec, 'deconv1', grid, p('deconv1/f'), p('deconv1/b'), 'relu');
    decoder = dec.build([deconv(dec, 'x_mean', up, p('deconv2/f'), p('deconv2/b'), 'sigmoid')]);
  }

  const networks = [encoder, decoder];
  if (spec.flow === 'iaf') networks.push(...iafSteps(spec, params, p('extra/w').shape[1]!));
  if (spec.family === 'm2') {
    const cls = new NetworkBuilder('classifier', [{ name: 'x', shape: image, dtype: 'float32' }]);
    const q = (name: string): [CheckpointTensor, CheckpointTensor] => [requireParam(params, `cls/${name}/w`), requireParam(params, `cls/${name}/b`)];
    let hidden: string;
    if (params.has('cls/conv1/f')) {
      // The conv classifier: the encoder's conv stack, flatten, one hidden layer.
      const f = (name: string): [CheckpointTensor, CheckpointTensor] => [requireParam(params, `cls/${name}/f`), requireParam(params, `cls/${name}/b`)];
      const a = conv(cls, 'cls_conv1', 'x', ...f('conv1'), CONV_STRIDE, 'relu');
      const flat = cls.add('cls_features', { kind: 'flatten' }, conv(cls, 'cls_conv2', a, ...f('conv2'), CONV_STRIDE, 'relu'));
      hidden = cls.dense('cls_dense', flat, ...q('dense'), 'relu');
    } else {
      const a = cls.dense('cls1', cls.add('x_flat', { kind: 'flatten' }, 'x'), ...q('cls1'), 'relu');
      hidden = cls.dense('cls2', a, ...q('cls2'), 'relu');
    }
    const logits = cls.dense('logits', hidden, ...q('clsout'), 'linear');
    if (requireParam(params, 'cls/clsout/w').shape[1] !== classes) throw new Error(`the classifier has ${requireParam(params, 'cls/clsout/w').shape[1]} classes, the decoder ${classes}`);
    networks.push(cls.build([logits]));
  }
  return { networks, classes: conditional ? classes : 0, flowContext: spec.flow === 'iaf' ? p('extra/w').shape[1]! : 0, codes: null, priorTrained: false };
}

/**
 * An IAF posterior's steps (src-worker/model/posterior-flow.ts), one network each:
 * [z, h] → hidden → m and s, the masks folded into the weights and the gate bias into
 * s, so that σ = sigmoid(s) and z ← σ ⊙ z + (1 − σ) ⊙ m.
 */
function iafSteps(spec: ExportSpec, params: ReadonlyMap<string, CheckpointTensor>, context: number): Network[] {
  const d = spec.latent;
  return Array.from({ length: spec.flowSteps }, (_, k) => {
    const q = (name: string, shape?: number[]): CheckpointTensor => requireParam(params, `iaf/step${k}/${name}`, shape);
    const hidden = q('w1').shape[1]!;
    const masks = madeDegreeMasks(d, hidden, k % 2 === 1);
    const w1 = q('w1', [d, hidden]);
    const c1 = q('c1', [context, hidden]);
    // [z, h]·[W1 ⊙ M1; C1]: the masked z rows, then the context rows.
    const kernel = new Float32Array((d + context) * hidden);
    kernel.set(w1.values.map((v, i) => v * masks.input[i]!));
    kernel.set(c1.values, d * hidden);
    const masked = (name: string): CheckpointTensor => {
      const w = q(name, [hidden, d]);
      return { ...w, values: w.values.map((v, i) => v * masks.output[i]!) };
    };
    const step = new NetworkBuilder(`iaf_step${k}`, [
      { name: 'z', shape: [d], dtype: 'float32' },
      { name: 'h', shape: [context], dtype: 'float32' },
    ]);
    const a = step.dense('hidden', step.add('z_h', { kind: 'concat' }, 'z', 'h'), { name: 'hidden/kernel', shape: [d + context, hidden], values: kernel }, q('b1', [hidden]), 'relu');
    const gate = q('bs', [d]);
    return step.build([
      step.dense('m', a, masked('wm'), q('bm', [d]), 'linear'),
      step.dense('s', a, masked('ws'), { ...gate, values: gate.values.map((v) => v + IAF_GATE_BIAS) }, 'linear'),
    ]);
  });
}

/** Encoder (with the nearest-code scores), decoder from code indices, and the MADE prior of a VQ-VAE. */
function vqNetworks(spec: ExportSpec, params: ReadonlyMap<string, CheckpointTensor>): ExportNetworks {
  const { width: W, height: H, channels: C, model } = spec;
  const image = [H, W, C];
  const p = (name: string, shape?: number[]): CheckpointTensor => requireParam(params, `vq/${name}`, shape);
  const codebook = requireParam(params, 'ema/codebook');
  const [K, e] = codebook.shape as [number, number];

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

  const enc = new NetworkBuilder('encoder', [{ name: 'x', shape: image, dtype: 'float32' }]);
  let L: number;
  let grid: [number, number];
  let ze: string;
  if (model === 'mlp') {
    L = p('head/w').shape[1]! / e;
    if (!Number.isInteger(L)) throw new Error(`the encoder head's ${p('head/w').shape[1]} outputs are not whole codes of ${e}`);
    grid = [1, L];
    const a = enc.dense('enc1', enc.add('x_flat', { kind: 'flatten' }, 'x'), p('enc1/w'), p('enc1/b'), 'relu');
    const head = enc.dense('head', enc.dense('enc2', a, p('enc2/w'), p('enc2/b'), 'relu'), p('head/w'), p('head/b'), 'linear');
    ze = enc.add('z_e', { kind: 'reshape', shape: [L, e] }, head);
  } else {
    grid = [H / CONV_DOWNSAMPLE, W / CONV_DOWNSAMPLE];
    L = grid[0] * grid[1];
    const a = conv(enc, 'conv1', 'x', p('conv1/f'), p('conv1/b'), CONV_STRIDE, 'relu');
    const b = conv(enc, 'conv2', a, p('conv2/f'), p('conv2/b'), CONV_STRIDE, 'relu');
    ze = conv(enc, 'z_e', b, p('tocode/f'), p('tocode/b'), 1, 'linear');
  }
  const scores = enc.dense(
    'code_scores',
    ze,
    { name: 'code_scores/kernel', shape: [e, K], values: scoreKernel },
    { name: 'code_scores/bias', shape: [K], values: scoreBias },
    'linear',
  );
  const encoder = enc.build([ze, scores]);

  const dec = new NetworkBuilder('decoder', [{ name: 'codes', shape: [L], dtype: 'int32' }]);
  const zq = dec.add('z_q', { kind: 'embedding', table: codebook }, 'codes');
  let decoder: Network;
  if (model === 'mlp') {
    const flat = dec.add('z_q_flat', { kind: 'reshape', shape: [L * e] }, zq);
    const a = dec.dense('dec1', flat, p('dec1/w'), p('dec1/b'), 'relu');
    const out = dec.dense('out', dec.dense('dec2', a, p('dec2/w'), p('dec2/b'), 'relu'), p('out/w'), p('out/b'), 'sigmoid');
    decoder = dec.build([dec.add('x_mean', { kind: 'reshape', shape: image }, out)]);
  } else {
    const g = dec.add('z_q_grid', { kind: 'reshape', shape: [grid[0], grid[1], e] }, zq);
    const a = conv(dec, 'fromcode', g, p('fromcode/f'), p('fromcode/b'), 1, 'relu');
    const b = deconv(dec, 'deconv1', a, p('deconv1/f'), p('deconv1/b'), 'relu');
    decoder = dec.build([deconv(dec, 'x_mean', b, p('deconv2/f'), p('deconv2/b'), 'sigmoid')]);
  }

  const priorTrained = (params.get('prior_adam_step')?.values[0] ?? 0) > 0;
  const networks = [encoder, decoder];
  if (priorTrained) {
    // The masks are folded into the weights: the exported prior is two plain dense layers.
    const w1 = requireParam(params, 'prior/made1/w');
    const w2 = requireParam(params, 'prior/made2/w');
    const hidden = w1.shape[1]!;
    requireParam(params, 'prior/made1/w', [L * K, hidden]);
    const masks = madeMasks(L, K, hidden);
    const masked = (w: CheckpointTensor, mask: Float32Array): CheckpointTensor => ({ ...w, values: w.values.map((v, i) => v * mask[i]!) });
    const pr = new NetworkBuilder('prior', [{ name: 'codes_onehot', shape: [L * K], dtype: 'float32' }]);
    const a = pr.dense('made1', 'codes_onehot', masked(w1, masks.input), requireParam(params, 'prior/made1/b'), 'relu');
    const flat = pr.dense('made2', a, masked(w2, masks.output), requireParam(params, 'prior/made2/b'), 'linear');
    networks.push(pr.build([pr.add('logits', { kind: 'reshape', shape: [L, K] }, flat)]));
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
