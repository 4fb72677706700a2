import type { ClassifierKind } from '@shared/config';
import { tf } from '../engine/tf';
import type { Rng } from '../engine/random';
import { ParamSet } from './params';
import { conv2d, dense } from './layers';
import { CONV_CHANNELS, CONV_DOWNSAMPLE, CONV_KERNEL, inputSize, type VaeSpec } from './vae';

/**
 * q(y|x) of the semi-supervised M2 model, ReLU between layers.
 * - `mlp`: D → h → h → C logits (parameters `cls/cls1`, `cls/cls2`, `cls/clsout`).
 * - `conv` (conv models): the conv VAE's encoder stack — two 4×4 stride-2 convolutions
 *   (32, 64 channels) — then flatten → h → C (`cls/conv1`, `cls/conv2`, `cls/dense`,
 *   `cls/clsout`). On the 28×28 digits it was not more accurate than the MLP at the
 *   bench's budget (src-worker/README.md); it is there for larger images, where an MLP
 *   of the pixels must learn every position separately.
 */
export interface Classifier {
  readonly kind: ClassifierKind;
  readonly variables: tf.Variable[];
  /** x: [N, D] → class logits [N, C]. */
  logits(x: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

export function createClassifier(spec: VaeSpec, classes: number, rng: Rng, kind: ClassifierKind): Classifier {
  const h = spec.hidden;
  const params = new ParamSet(rng, 'cls');
  if (kind === 'mlp') {
    const l1 = { w: params.dense('cls1/w', inputSize(spec.image), h, 'he'), b: params.bias('cls1/b', h) };
    const l2 = { w: params.dense('cls2/w', h, h, 'he'), b: params.bias('cls2/b', h) };
    const out = { w: params.dense('clsout/w', h, classes, 'glorot'), b: params.bias('clsout/b', classes) };
    return {
      kind,
      variables: params.variables,
      logits: (x) => tf.tidy(() => dense(dense(dense(x, l1.w, l1.b, true), l2.w, l2.b, true), out.w, out.b, false)),
      dispose: () => params.dispose(),
    };
  }
  const { width: W, height: H, channels: C } = spec.image;
  const [c1, c2] = CONV_CHANNELS;
  const flat = (H / CONV_DOWNSAMPLE) * (W / CONV_DOWNSAMPLE) * c2;
  const conv1 = { f: params.conv('conv1/f', CONV_KERNEL, C, c1, 'he'), b: params.bias('conv1/b', c1) };
  const conv2 = { f: params.conv('conv2/f', CONV_KERNEL, c1, c2, 'he'), b: params.bias('conv2/b', c2) };
  const hidden = { w: params.dense('dense/w', flat, h, 'he'), b: params.bias('dense/b', h) };
  const out = { w: params.dense('clsout/w', h, classes, 'glorot'), b: params.bias('clsout/b', classes) };
  return {
    kind,
    variables: params.variables,
    logits: (x) =>
      tf.tidy(() => {
        const n = x.shape[0];
        const features = conv2d(conv2d(tf.reshape(x, [n, H, W, C]) as tf.Tensor4D, conv1, 2, true), conv2, 2, true);
        return dense(dense(tf.reshape(features, [n, flat]) as tf.Tensor2D, hidden.w, hidden.b, true), out.w, out.b, false);
      }),
    dispose: () => params.dispose(),
  };
}
