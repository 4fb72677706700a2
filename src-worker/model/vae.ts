import type { EncoderInput } from '@shared/config';
import type { DecoderHead } from '@shared/likelihood';
import { ApiError } from '@shared/errors';
import { convMisfit } from '@shared/conv';
import { CONV_CHANNELS, CONV_DOWNSAMPLE, CONV_KERNEL } from '@shared/model-export/architectures';
import { modelParameterCount, type ModelSizeSpec } from '@shared/model-size';
import type { tf } from '../engine/tf';

/** Pixel layout of the data set the model is built for (HWC, as packed). */
export type ImageShape = ModelSizeSpec['image'];

/**
 * A Gaussian-latent VAE's sizes: model kind, image, latent d, hidden width, the conv
 * design (`conv`, null or absent: classic), and for a conditional VAE the number of
 * classes C of the one-hot label y that encoder and decoder take beside x and z (0 or
 * absent: unconditional); `extraOutputs`: encoder outputs per image besides (μ, log σ²),
 * from the last hidden layer (a flow's amortized parameters).
 */
export type VaeSpec = ModelSizeSpec & {
  /** The decoder's last layer (src-shared/likelihood.ts decoderHead); absent: one raw value per image channel. */
  output?: DecoderHead;
  /** What the encoder (and M2's classifier) reads (@shared/config encoderInputs); absent: 'unit'. */
  input?: EncoderInput;
};

/** The one-hot width a spec's encoder and decoder expect (0 when unconditional). */
export const classesOf = (spec: VaeSpec): number => spec.classes ?? 0;
export const extraOutputsOf = (spec: VaeSpec): number => spec.extraOutputs ?? 0;

export interface Posterior {
  mu: tf.Tensor2D;
  /** log σ², predicted instead of σ so the network output is unconstrained. */
  logVar: tf.Tensor2D;
}

/**
 * A VAE seen from the objectives and the training loop: flat images in, flat decoder
 * outputs out, whatever the architecture does inside.
 */
export interface Vae {
  readonly spec: VaeSpec;
  /** Pixels per image, D = width · height · channels. */
  readonly inputSize: number;
  readonly variables: tf.Variable[];
  /**
   * x: [N, D] in [0, 1], HWC order per row. y: one-hot labels [N, classes], required
   * by a conditional model (spec.classes > 0), ignored otherwise.
   */
  encode(x: tf.Tensor2D, y?: tf.Tensor2D): Posterior;
  /** encode, plus the encoder's extra outputs [N, spec.extraOutputs] (width 0 when it has none). */
  encodeExtra(x: tf.Tensor2D, y?: tf.Tensor2D): Posterior & { extra: tf.Tensor2D };
  /** z: [N, latent] (and y as in encode) → raw decoder output [N, D] (logits, or the pre-sigmoid mean). */
  decode(z: tf.Tensor2D, y?: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

/** Beyond this, Adam's state alone needs gigabytes and the wasm heap runs out. */
export const MAX_PARAMETERS = 40_000_000;

export { inputSize } from '@shared/model-size';

export { CONV_CHANNELS, CONV_DOWNSAMPLE, CONV_KERNEL };

/** Count the parameters a spec would create, from its declaration, without allocating anything. */
export const parameterCount = (spec: VaeSpec): number => modelParameterCount(spec);

const invalid = (field: string, message: string): ApiError => new ApiError('invalid_input', message, { field });

/**
 * The label input of a conditional model: y must be given (one-hot, [N, classes]) when
 * the model has classes, and is dropped when it has none.
 */
export function conditionOf(spec: VaeSpec, y: tf.Tensor2D | undefined, rows: number): tf.Tensor2D | null {
  const classes = classesOf(spec);
  if (classes === 0) return null;
  if (y === undefined) {
    throw new ApiError('invalid_input', 'This conditional VAE needs the class label of every image it encodes or decodes; none was given.', {
      field: 'labels',
    });
  }
  if (y.shape[0] !== rows || y.shape[1] !== classes) {
    throw new ApiError('invalid_input', `labels: expected [${rows}, ${classes}] one-hot rows, got [${y.shape.join(', ')}]`, { field: 'labels' });
  }
  return y;
}

/**
 * Reject specs that cannot train, naming the field to change, before any tensor exists.
 * The run config schema already bounds each number; this checks them against the data.
 */
export function checkVaeSpec(spec: VaeSpec): void {
  const { width, height, channels } = spec.image;
  if (!Number.isInteger(spec.latent) || spec.latent < 1) {
    throw invalid('latent', `latent must be a whole number ≥ 1 (got ${spec.latent}).`);
  }
  if (!Number.isInteger(spec.hidden) || spec.hidden < 1) {
    throw invalid('hidden', `hidden must be a whole number ≥ 1 (got ${spec.hidden}).`);
  }
  const classes = classesOf(spec);
  if (!Number.isInteger(classes) || classes < 0 || classes === 1) {
    throw invalid(
      'family',
      `A conditional VAE needs images of at least 2 labelled classes (found ${classes}). Import the dataset with subfolders as labels, or use family 'vae'.`,
    );
  }
  if (width < 1 || height < 1 || (channels !== 1 && channels !== 3)) {
    throw invalid('datasetPath', `The dataset has unusable images (${width}×${height}×${channels}).`);
  }
  const misfit = spec.kind === 'conv' ? convMisfit(spec.image, spec.conv ?? null) : null;
  if (misfit) throw invalid('architecture', `${misfit} Use architecture 'mlp' or re-import the dataset at another size.`);
  const count = parameterCount(spec);
  if (count > MAX_PARAMETERS) {
    throw invalid(
      'hidden',
      `This model would have ${(count / 1e6).toFixed(1)} M parameters (limit ${MAX_PARAMETERS / 1e6} M); ` +
        `lower hidden (now ${spec.hidden})${spec.kind === 'mlp' ? " or use architecture 'conv'" : ''}.`,
    );
  }
}
