import { tf } from '../engine/tf';
import type { Rng } from '../engine/random';
import { ParamSet } from './params';
import { conv2d, deconv2d, dense, splitHead, withCondition } from './layers';
import { classesOf, conditionOf, CONV_CHANNELS, CONV_DOWNSAMPLE, CONV_KERNEL, extraOutputsOf, inputSize, type Vae, type VaeSpec } from './vae';

/**
 * Small convolutional VAE. Encoder: two 4×4 stride-2 convolutions (32, 64 channels),
 * dense to h, dense to (μ, log σ²). Decoder mirrors it with two stride-2 transposed
 * convolutions; kernel 4 with stride 2 avoids the checkerboard that 3×3 kernels leave.
 * Needs sides divisible by 4 (checked in checkVaeSpec). A conditional one (spec.classes
 * C) appends the one-hot y to the flattened conv features and to z; extra encoder
 * outputs (flow parameters) have their own head on the hidden layer, created last.
 */
export function createConvVae(spec: VaeSpec, rng: Rng): Vae {
  const { width: W, height: H, channels: C } = spec.image;
  const { hidden: h, latent: d } = spec;
  const [c1, c2] = CONV_CHANNELS;
  const k = CONV_KERNEL;
  const h4 = H / CONV_DOWNSAMPLE;
  const w4 = W / CONV_DOWNSAMPLE;
  const flat = h4 * w4 * c2;
  const D = inputSize(spec.image);
  const cls = classesOf(spec);
  const e = extraOutputsOf(spec);

  const params = new ParamSet(rng, 'conv');
  const conv1 = { f: params.conv('conv1/f', k, C, c1, 'he'), b: params.bias('conv1/b', c1) };
  const conv2 = { f: params.conv('conv2/f', k, c1, c2, 'he'), b: params.bias('conv2/b', c2) };
  const enc = { w: params.dense('enc/w', flat + cls, h, 'he'), b: params.bias('enc/b', h) };
  const head = { w: params.dense('head/w', h, 2 * d, 'glorot'), b: params.bias('head/b', 2 * d) };
  const dec = { w: params.dense('dec/w', d + cls, h, 'he'), b: params.bias('dec/b', h) };
  const unflat = { w: params.dense('unflat/w', h, flat, 'he'), b: params.bias('unflat/b', flat) };
  const deconv1 = { f: params.convTranspose('deconv1/f', k, 2, c2, c1, 'he'), b: params.bias('deconv1/b', c1) };
  const deconv2 = { f: params.convTranspose('deconv2/f', k, 2, c1, C, 'glorot'), b: params.bias('deconv2/b', C) };
  const extraHead = e > 0 ? { w: params.dense('extra/w', h, e, 'small'), b: params.bias('extra/b', e) } : null;

  /** The hidden layer the heads read: convolutions, flatten, [·, y], dense. */
  const features = (x: tf.Tensor2D, y: tf.Tensor2D | undefined): tf.Tensor2D =>
    tf.tidy(() => {
      const n = x.shape[0];
      const a = conv2d(tf.reshape(x, [n, H, W, C]) as tf.Tensor4D, conv1, 2, true);
      const b = conv2d(a, conv2, 2, true);
      const flatFeatures = withCondition(tf.reshape(b, [n, flat]) as tf.Tensor2D, conditionOf(spec, y, n));
      return dense(flatFeatures, enc.w, enc.b, true);
    });

  return {
    spec,
    inputSize: D,
    variables: params.variables,
    encode: (x, y) => tf.tidy(() => splitHead(dense(features(x, y), head.w, head.b, false), d)),
    encodeExtra: (x, y) =>
      tf.tidy(() => {
        const f = features(x, y);
        const extra = extraHead ? dense(f, extraHead.w, extraHead.b, false) : tf.zeros([x.shape[0], 0]);
        return { ...splitHead(dense(f, head.w, head.b, false), d), extra: extra as tf.Tensor2D };
      }),
    decode: (z, y) =>
      tf.tidy(() => {
        const n = z.shape[0];
        const a = dense(withCondition(z, conditionOf(spec, y, n)), dec.w, dec.b, true);
        const b = tf.reshape(dense(a, unflat.w, unflat.b, true), [n, h4, w4, c2]) as tf.Tensor4D;
        const c = deconv2d(b, deconv1, [n, H / 2, W / 2, c1], true);
        const out = deconv2d(c, deconv2, [n, H, W, C], false);
        return tf.reshape(out, [n, D]) as tf.Tensor2D;
      }),
    dispose: () => params.dispose(),
  };
}
