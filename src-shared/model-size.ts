import { classifierKindOf, type ArchitectureKind, type RunConfig } from './config';
import { convDesignOf, convPlan, type ConvDesign } from './conv';
import { familyOf } from './families';
import { decoderHead, type DecoderHead } from './likelihood';
import {
  classifierArchitecture,
  declaredParameters,
  gaussianArchitecture,
  iafArchitecture,
  iafContext,
  planarFlowParameters,
} from './model-export/architectures';

/**
 * The size of a Gaussian-latent VAE (vae, cvae, m2) before anything is allocated: its
 * parameters (counted from its declaration) and the floats one training step holds per
 * image. The worker's memory check and the run form both read these (through
 * runSizeSpec), so the number the form shows is the number training is refused by.
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
  /** The decoder's last layer (src-shared/likelihood.ts decoderHead); absent: one raw value per image channel. */
  output?: DecoderHead;
  /** Trained parameters outside the VAE's networks: a learned decoder variance, IAF steps, M2's classifier. */
  otherParameters?: number;
}

/**
 * The old generation, MiB, that every V8 isolate that trains or infers starts with: the
 * worker process's own (its command line, src-main/core/jobs/spawn.ts) and each training
 * or inference thread's (src-worker/threads/isolate-heap.ts, where why). V8 otherwise
 * sizes a small heap's limit from what is live (≈ 15 MB), and a training step's
 * promoted objects then bring back a full collection every step or more.
 */
export const ISOLATE_OLD_SPACE_MIB = 64;

/** The V8 flag that gives an isolate ISOLATE_OLD_SPACE_MIB of old generation from its start. */
export const ISOLATE_OLD_SPACE_FLAG = `--initial-old-space-size=${ISOLATE_OLD_SPACE_MIB}`;

/**
 * The JavaScript heap an isolate that trains or infers may fill before V8 collects it,
 * bytes: the memory check counts it for the worker process and for each of its threads.
 */
export const THREAD_JS_HEAP_BYTES = ISOLATE_OLD_SPACE_MIB * 1024 ** 2;

export const inputSize = (image: ModelSizeSpec['image']): number => image.width * image.height * image.channels;

export function modelParameterCount(spec: ModelSizeSpec): number {
  const { image, latent, hidden } = spec;
  const extra = spec.extraOutputs ?? 0;
  return (
    declaredParameters(
      gaussianArchitecture({
        model: spec.kind,
        image,
        latent,
        hidden,
        classes: spec.classes ?? 0,
        extra: extra > 0 ? { size: extra, name: 'extra' } : null,
        ...(spec.output && { output: spec.output }),
        conv: spec.kind === 'conv' ? convPlan(spec.conv ?? null, image) : undefined,
      }),
    ) + (spec.otherParameters ?? 0)
  );
}

/** Floats every layer outputs for one image, input and reconstruction (the decoder head's channels per pixel) included. */
export function activationsPerImage(spec: ModelSizeSpec): number {
  const pixels = inputSize(spec.image);
  const outputs = spec.image.width * spec.image.height * (spec.output?.channels ?? spec.image.channels);
  const { latent: d, hidden: h } = spec;
  const middle = h + 2 * d + (spec.extraOutputs ?? 0) + d + (spec.classes ?? 0) + h;
  if (spec.kind === 'mlp') return pixels + h + middle + h + outputs;
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
  // The decoder's last stage outputs the head's channels, not the image's (its mirror of the input).
  return pixels + stages + middle + stages + outputs;
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

/** What runSizeSpec reads of a run config. */
export type SizeConfig = Pick<
  RunConfig,
  | 'architecture'
  | 'family'
  | 'latent'
  | 'hidden'
  | 'flow'
  | 'flowSteps'
  | 'decoder'
  | 'mixtureComponents'
  | 'decoderVariance'
  | 'convArch'
  | 'convWidth'
  | 'convResBlocks'
  | 'convNorm'
  | 'classifier'
>;

/**
 * The size of the model a Gaussian-latent run trains on images of this size, the one
 * rule the worker's memory check and the form's figures share: the decoder's head (a
 * logistic mixture's 3·K outputs per sub-pixel), a learned decoder variance, a flow's
 * encoder outputs and IAF steps, a conditional family's label input (`classes`: the
 * dataset's), M2's classifier, and how often a step runs the model per image (M2: once
 * per class). A VQ-VAE has none of these; its figures here are those of the Gaussian
 * model of the same stack.
 */
export function runSizeSpec(config: SizeConfig, image: ModelSizeSpec['image'], classes: number): { spec: ModelSizeSpec; passes: number } {
  const family = familyOf(config);
  const gaussian = family.engine !== 'codes';
  const flow = gaussian && config.flowSteps > 0 ? config.flow : 'none';
  const labels = gaussian && family.labels !== 'none' ? classes : 0;
  const pixels = inputSize(image);
  const variance = config.decoder === 'gaussian' ? (config.decoderVariance === 'per-pixel' ? pixels : config.decoderVariance === 'global' ? 1 : 0) : 0;
  const iaf = flow === 'iaf' ? declaredParameters(iafArchitecture(config.flowSteps, config.latent)) : 0;
  const semiSupervised = gaussian && family.labels === 'some' && labels >= 2;
  const conv = config.architecture === 'conv' ? convDesignOf(config) : null;
  const classifier = semiSupervised
    ? declaredParameters(
        classifierArchitecture(classifierKindOf(config), image, config.hidden, labels, config.architecture === 'conv' ? convPlan(conv, image) : undefined),
      )
    : 0;
  const extra = flow === 'iaf' ? iafContext(config.latent) : flow === 'planar' ? planarFlowParameters(config.latent, config.flowSteps) : 0;
  const spec: ModelSizeSpec = {
    kind: config.architecture,
    image,
    latent: config.latent,
    hidden: config.hidden,
    conv,
    output: decoderHead(config, image.channels),
    ...(labels > 0 && { classes: labels }),
    ...(extra > 0 && { extraOutputs: extra }),
    ...(variance + iaf + classifier > 0 && { otherParameters: variance + iaf + classifier }),
  };
  return { spec, passes: semiSupervised ? labels : 1 };
}
