import { ApiError } from '@shared/errors';
import { convMisfit } from '@shared/conv';
import type { ModelKind } from '@shared/config';
import { tf } from '../engine/tf';
import type { Rng } from '../engine/random';
import { ParamSet } from './params';
import { conv2d, deconv2d, dense } from './layers';
import { CONV_CHANNELS, CONV_DOWNSAMPLE, CONV_KERNEL, inputSize, type ImageShape } from './vae';

/**
 * The VQ-VAE's encoder and decoder (van den Oord 2017). The encoder maps an image to a
 * grid of L continuous vectors z_e of dimension `codeDim`; each is replaced by its
 * nearest codebook vector (see objectives/vq.ts) and the decoder maps the grid back.
 *   conv: two 4×4 stride-2 convolutions (32, 64) and a 1×1 convolution to codeDim: an
 *         (H/4)×(W/4) grid; the decoder mirrors it.
 *   mlp:  D → h → h → L·codeDim, L = `positions`; the decoder mirrors it.
 */
export interface VqSpec {
  kind: ModelKind;
  image: ImageShape;
  hidden: number;
  codeDim: number;
  /** Grid positions of the MLP (the conv grid is (H/4)·(W/4)). */
  positions: number;
}

export interface VqNetworks {
  readonly spec: VqSpec;
  readonly inputSize: number;
  /** Positions L per image. */
  readonly positions: number;
  /** Grid shape [rows, cols] for pictures of codes (mlp: [1, L]). */
  readonly grid: [number, number];
  readonly variables: tf.Variable[];
  /** x [N, D] → z_e [N·L, codeDim], positions of one image together. */
  encode(x: tf.Tensor2D): tf.Tensor2D;
  /** z [N·L, codeDim] → raw decoder output [N, D]. */
  decode(z: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

export function vqPositions(spec: Pick<VqSpec, 'kind' | 'image' | 'positions'>): number {
  return spec.kind === 'conv' ? (spec.image.width / CONV_DOWNSAMPLE) * (spec.image.height / CONV_DOWNSAMPLE) : spec.positions;
}

export function checkVqSpec(spec: VqSpec): void {
  const misfit = spec.kind === 'conv' ? convMisfit(spec.image) : null;
  if (misfit) throw new ApiError('invalid_input', misfit, { field: 'model' });
}

export function createVqNetworks(spec: VqSpec, rng: Rng): VqNetworks {
  checkVqSpec(spec);
  const D = inputSize(spec.image);
  const e = spec.codeDim;
  const L = vqPositions(spec);
  const params = new ParamSet(rng, 'vq');
  if (spec.kind === 'mlp') {
    const h = spec.hidden;
    const enc1 = { w: params.dense('enc1/w', D, h, 'he'), b: params.bias('enc1/b', h) };
    const enc2 = { w: params.dense('enc2/w', h, h, 'he'), b: params.bias('enc2/b', h) };
    const head = { w: params.dense('head/w', h, L * e, 'glorot'), b: params.bias('head/b', L * e) };
    const dec1 = { w: params.dense('dec1/w', L * e, h, 'he'), b: params.bias('dec1/b', h) };
    const dec2 = { w: params.dense('dec2/w', h, h, 'he'), b: params.bias('dec2/b', h) };
    const out = { w: params.dense('out/w', h, D, 'glorot'), b: params.bias('out/b', D) };
    return {
      spec,
      inputSize: D,
      positions: L,
      grid: [1, L],
      variables: params.variables,
      encode: (x) =>
        tf.tidy(() => {
          const a = dense(dense(x, enc1.w, enc1.b, true), enc2.w, enc2.b, true);
          return tf.reshape(dense(a, head.w, head.b, false), [x.shape[0] * L, e]) as tf.Tensor2D;
        }),
      decode: (z) =>
        tf.tidy(() => {
          const flat = tf.reshape(z, [z.shape[0] / L, L * e]) as tf.Tensor2D;
          return dense(dense(dense(flat, dec1.w, dec1.b, true), dec2.w, dec2.b, true), out.w, out.b, false);
        }),
      dispose: () => params.dispose(),
    };
  }
  const { width: W, height: H, channels: C } = spec.image;
  const [c1, c2] = CONV_CHANNELS;
  const k = CONV_KERNEL;
  const h4 = H / CONV_DOWNSAMPLE;
  const w4 = W / CONV_DOWNSAMPLE;
  const conv1 = { f: params.conv('conv1/f', k, C, c1, 'he'), b: params.bias('conv1/b', c1) };
  const conv2 = { f: params.conv('conv2/f', k, c1, c2, 'he'), b: params.bias('conv2/b', c2) };
  const toCode = { f: params.conv('tocode/f', 1, c2, e, 'glorot'), b: params.bias('tocode/b', e) };
  const fromCode = { f: params.conv('fromcode/f', 1, e, c2, 'he'), b: params.bias('fromcode/b', c2) };
  const deconv1 = { f: params.convTranspose('deconv1/f', k, 2, c2, c1, 'he'), b: params.bias('deconv1/b', c1) };
  const deconv2 = { f: params.convTranspose('deconv2/f', k, 2, c1, C, 'glorot'), b: params.bias('deconv2/b', C) };
  return {
    spec,
    inputSize: D,
    positions: L,
    grid: [h4, w4],
    variables: params.variables,
    encode: (x) =>
      tf.tidy(() => {
        const n = x.shape[0];
        const a = conv2d(tf.reshape(x, [n, H, W, C]) as tf.Tensor4D, conv1, 2, true);
        const b = conv2d(a, conv2, 2, true);
        return tf.reshape(conv2d(b, toCode, 1, false), [n * L, e]) as tf.Tensor2D;
      }),
    decode: (z) =>
      tf.tidy(() => {
        const n = z.shape[0] / L;
        const a = conv2d(tf.reshape(z, [n, h4, w4, e]) as tf.Tensor4D, fromCode, 1, true);
        const b = deconv2d(a, deconv1, [n, H / 2, W / 2, c1], true);
        return tf.reshape(deconv2d(b, deconv2, [n, H, W, C], false), [n, D]) as tf.Tensor2D;
      }),
    dispose: () => params.dispose(),
  };
}
