import type { ArchitectureKind } from './config';
import { convPlan, type ConvDesign } from './conv';
import { declaredParameters, gaussianArchitecture } from './model-export/architectures';

/**
 * The size of a Gaussian-latent VAE (vae, cvae, m2) before anything is allocated: its
 * parameters (counted from its declaration) and the floats one training step holds per
 * image. The worker's memory check and the run form both read these, so the number the
 * form shows is the number training is refused by.
 */
export interface ModelSizeSpec {
  kind: ArchitectureKind;
  image: { width: number; height: number; channels: 1 | 3 };
  latent: number;
  hidden: number;
  /** One-hot label width of a conditional model (0 or absent: none). */
  classes?: number;
  /** Extra encoder outputs (a flow's parameters). */
  extraOutputs?: number;
  /** The conv design (architecture 'conv'); null or absent: classic. */
  conv?: ConvDesign | undefined;
}

export const inputSize = (image: ModelSizeSpec['image']): number => image.width * image.height * image.channels;

export function modelParameterCount(spec: ModelSizeSpec): number {
  const { image, latent, hidden } = spec;
  const extra = spec.extraOutputs ?? 0;
  return declaredParameters(
    gaussianArchitecture({
      model: spec.kind,
      image,
      latent,
      hidden,
      classes: spec.classes ?? 0,
      extra: extra > 0 ? { size: extra, name: 'extra' } : null,
      conv: spec.kind === 'conv' ? convPlan(spec.conv ?? null, image) : undefined,
    }),
  );
}

/** Floats every layer outputs for one image, input and reconstruction included. */
export function activationsPerImage(spec: ModelSizeSpec): number {
  const pixels = inputSize(spec.image);
  const { latent: d, hidden: h } = spec;
  const middle = h + 2 * d + (spec.extraOutputs ?? 0) + d + (spec.classes ?? 0) + h;
  if (spec.kind === 'mlp') return pixels + h + middle + h + pixels;
  const plan = convPlan(spec.conv ?? null, spec.image);
  // Each stage's output at its size; a norm adds its output (and the pre-norm one); a
  // residual block (deepest stage) its half-width hidden layer, the 1×1's output and the sum.
  let stages = 0;
  let rows = spec.image.height;
  let cols = spec.image.width;
  for (const c of plan.channels) {
    rows = Math.ceil(rows / 2);
    cols = Math.ceil(cols / 2);
    stages += rows * cols * c * (plan.norm ? 2 : 1);
  }
  const top = plan.channels.at(-1)!;
  stages += plan.resBlocks * rows * cols * (Math.ceil(top / 2) + 2 * top);
  return pixels + stages + middle + stages + pixels;
}

/**
 * A lower bound of the bytes one training step needs, in float32s: weights, their
 * gradients and Adam's two moments, plus every layer's output for the batch, once for the
 * forward pass and once for its gradient. `passes`: how many times a step runs the model
 * on each image (M2: once per class).
 */
export function trainingBytes(spec: ModelSizeSpec, batch: number, passes = 1): number {
  return 4 * (4 * modelParameterCount(spec) + 2 * batch * passes * activationsPerImage(spec));
}
