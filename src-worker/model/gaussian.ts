import { convPlan } from '@shared/conv';
import { gaussianArchitecture } from '@shared/model-export/architectures';
import { tf } from '../engine/tf';
import type { Rng } from '../engine/random';
import { buildModel } from './build';
import { classesOf, conditionOf, extraOutputsOf, inputSize, type Vae, type VaeSpec } from './vae';

/**
 * The VAE of the Gaussian-latent families, MLP or conv, as declared in
 * src-shared/model-export/architectures.ts (the export writes the same declaration).
 * A conditional one (spec.classes C) reads [x, y] and [z, y]; extra encoder outputs (flow
 * parameters) come from the last hidden layer through their own head.
 */
export function createGaussianVae(spec: VaeSpec, rng: Rng): Vae {
  const D = inputSize(spec.image);
  const extra = extraOutputsOf(spec);
  const head = spec.output ?? { channels: spec.image.channels, name: 'x_mean' as const };
  /** Raw decoder outputs per image: one per sub-pixel, or the mixture's parameters. */
  const outputs = spec.image.width * spec.image.height * head.channels;
  const model = buildModel(
    gaussianArchitecture({
      model: spec.kind,
      image: spec.image,
      latent: spec.latent,
      hidden: spec.hidden,
      classes: classesOf(spec),
      extra: extra > 0 ? { size: extra, name: 'extra' } : null,
      output: head,
      conv: spec.kind === 'conv' ? convPlan(spec.conv ?? null, spec.image) : undefined,
      input: spec.input,
    }),
    rng,
  );
  /** The network's inputs: the image or code, and the one-hot labels of a conditional model. */
  const inputs = (name: 'x' | 'z', value: tf.Tensor2D, y: tf.Tensor2D | undefined): Record<string, tf.Tensor> => {
    const condition = conditionOf(spec, y, value.shape[0]);
    return condition === null ? { [name]: value } : { [name]: value, y: condition };
  };
  const heads = extra > 0 ? ['mu', 'log_var', 'extra'] : ['mu', 'log_var'];

  return {
    spec,
    inputSize: D,
    variables: model.variables,
    encode: (x, y) =>
      tf.tidy(() => {
        const [mu, logVar] = model.run('encoder', x.shape[0], inputs('x', x, y), ['mu', 'log_var']) as tf.Tensor2D[];
        return { mu: mu!, logVar: logVar! };
      }),
    encodeExtra: (x, y) =>
      tf.tidy(() => {
        const [mu, logVar, out] = model.run('encoder', x.shape[0], inputs('x', x, y), heads) as tf.Tensor2D[];
        return { mu: mu!, logVar: logVar!, extra: out ?? (tf.zeros([x.shape[0], 0]) as tf.Tensor2D) };
      }),
    decode: (z, y) => tf.tidy(() => model.run('decoder', z.shape[0], inputs('z', z, y), [head.name], [[z.shape[0], outputs]])[0] as tf.Tensor2D),
    dispose: () => model.dispose(),
  };
}
