import { tf } from '../engine/tf';
import type { Rng } from '../engine/random';
import { ParamSet } from './params';
import { dense, splitHead } from './layers';
import { inputSize, type Vae, type VaeSpec } from './vae';

/**
 * Fully connected VAE: D → h → h → 2d (μ, log σ²) and d → h → h → D, ReLU between.
 * The default for small images; the fastest path on every backend.
 */
export function createMlpVae(spec: VaeSpec, rng: Rng): Vae {
  const D = inputSize(spec.image);
  const { hidden: h, latent: d } = spec;
  const params = new ParamSet(rng, 'mlp');
  const enc1 = { w: params.dense('enc1/w', D, h, 'he'), b: params.bias('enc1/b', h) };
  const enc2 = { w: params.dense('enc2/w', h, h, 'he'), b: params.bias('enc2/b', h) };
  const head = { w: params.dense('head/w', h, 2 * d, 'glorot'), b: params.bias('head/b', 2 * d) };
  const dec1 = { w: params.dense('dec1/w', d, h, 'he'), b: params.bias('dec1/b', h) };
  const dec2 = { w: params.dense('dec2/w', h, h, 'he'), b: params.bias('dec2/b', h) };
  const out = { w: params.dense('out/w', h, D, 'glorot'), b: params.bias('out/b', D) };

  return {
    spec,
    inputSize: D,
    variables: params.variables,
    encode: (x) =>
      tf.tidy(() => {
        const a = dense(x, enc1.w, enc1.b, true);
        const b = dense(a, enc2.w, enc2.b, true);
        return splitHead(dense(b, head.w, head.b, false), d);
      }),
    decode: (z) =>
      tf.tidy(() => {
        const a = dense(z, dec1.w, dec1.b, true);
        const b = dense(a, dec2.w, dec2.b, true);
        return dense(b, out.w, out.b, false);
      }),
    dispose: () => params.dispose(),
  };
}
