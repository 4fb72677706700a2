import { tf } from '../engine/tf';
import type { Rng } from '../engine/random';
import { ParamSet } from './params';
import { dense, splitHead, withCondition } from './layers';
import { classesOf, conditionOf, extraOutputsOf, inputSize, type Vae, type VaeSpec } from './vae';

/**
 * Fully connected VAE: D → h → h → 2d (μ, log σ²) and d → h → h → D, ReLU between.
 * The default for small images; the fastest path on every backend. A conditional one
 * (spec.classes C) reads [x, y] and [z, y]: D + C → h and d + C → h. Extra encoder
 * outputs (flow parameters) come from the last hidden layer through their own head,
 * created after every other weight so the rest starts as the plain model of the seed.
 */
export function createMlpVae(spec: VaeSpec, rng: Rng): Vae {
  const D = inputSize(spec.image);
  const { hidden: h, latent: d } = spec;
  const c = classesOf(spec);
  const e = extraOutputsOf(spec);
  const params = new ParamSet(rng, 'mlp');
  const enc1 = { w: params.dense('enc1/w', D + c, h, 'he'), b: params.bias('enc1/b', h) };
  const enc2 = { w: params.dense('enc2/w', h, h, 'he'), b: params.bias('enc2/b', h) };
  const head = { w: params.dense('head/w', h, 2 * d, 'glorot'), b: params.bias('head/b', 2 * d) };
  const dec1 = { w: params.dense('dec1/w', d + c, h, 'he'), b: params.bias('dec1/b', h) };
  const dec2 = { w: params.dense('dec2/w', h, h, 'he'), b: params.bias('dec2/b', h) };
  const out = { w: params.dense('out/w', h, D, 'glorot'), b: params.bias('out/b', D) };
  const extraHead = e > 0 ? { w: params.dense('extra/w', h, e, 'small'), b: params.bias('extra/b', e) } : null;

  const features = (x: tf.Tensor2D, y: tf.Tensor2D | undefined): tf.Tensor2D =>
    tf.tidy(() => {
      const a = dense(withCondition(x, conditionOf(spec, y, x.shape[0])), enc1.w, enc1.b, true);
      return dense(a, enc2.w, enc2.b, true);
    });

  return {
    spec,
    inputSize: D,
    variables: params.variables,
    encode: (x, y) => tf.tidy(() => splitHead(dense(features(x, y), head.w, head.b, false), d)),
    encodeExtra: (x, y) =>
      tf.tidy(() => {
        const b = features(x, y);
        const extra = extraHead ? dense(b, extraHead.w, extraHead.b, false) : tf.zeros([x.shape[0], 0]);
        return { ...splitHead(dense(b, head.w, head.b, false), d), extra: extra as tf.Tensor2D };
      }),
    decode: (z, y) =>
      tf.tidy(() => {
        const a = dense(withCondition(z, conditionOf(spec, y, z.shape[0])), dec1.w, dec1.b, true);
        const b = dense(a, dec2.w, dec2.b, true);
        return dense(b, out.w, out.b, false);
      }),
    dispose: () => params.dispose(),
  };
}
