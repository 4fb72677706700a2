import { convDesignOf, encoderInputOf, type RunConfig } from '@shared/config';
import { ApiError } from '@shared/errors';
import { familyOf } from '@shared/families';
import { runSizeSpec, type ModelSizeSpec } from '@shared/model-size';
import type { VaeSpec } from '../model/vae';
import type { ImageSet } from './images';

/**
 * The network a run config asks for on a data set. A conditional VAE gets one class per
 * label of the data set (labels are 0…C−1 in the packed file, −1 unlabelled): every
 * image must carry one, or the model would have nothing to condition on.
 */
export function modelSpec(
  config: Pick<RunConfig, 'architecture' | 'latent' | 'hidden' | 'family' | 'convArch' | 'convWidth' | 'convResBlocks' | 'convNorm' | 'encoderInput'>,
  images: ImageSet,
): VaeSpec {
  const spec: VaeSpec = {
    kind: config.architecture,
    image: images.shape,
    latent: config.latent,
    hidden: config.hidden,
    conv: convDesignOf(config),
    // Only a centred run names it: an old run's spec stays what it was.
    ...(encoderInputOf(config) === 'centred' && { input: 'centred' as const }),
  };
  // A family that uses labels (cVAE, M2) conditions encoder and decoder on y (M2 hides most in training).
  if (familyOf(config).labels === 'none') return spec;
  return { ...spec, classes: classCount(images) };
}

/**
 * The size of what a run trains on a data set (decoder head, flow, labels, classifier) and
 * how often a step runs the model per image: what the memory check and the thread count
 * read (@shared/model-size runSizeSpec, the same rule as the run form's figures).
 */
export function trainingSizeOf(config: RunConfig, images: ImageSet): { spec: ModelSizeSpec; passes: number } {
  return runSizeSpec(config, images.shape, modelSpec(config, images).classes ?? 0);
}

/** Number of classes of a fully labelled image set; refuses unlabelled images. */
export function classCount(images: ImageSet): number {
  const labels = images.labels;
  let max = -1;
  let unlabelled = 0;
  for (let i = 0; i < images.count; i++) {
    const label = labels?.[i] ?? -1;
    if (label < 0) unlabelled++;
    else if (label > max) max = label;
  }
  if (unlabelled > 0) {
    throw new ApiError(
      'invalid_input',
      `A conditional or semi-supervised model needs the dataset's labels (M2 hides most of them itself); ${unlabelled} of ${images.count} images have none. Import the dataset with subfolders as labels, or use family 'vae'.`,
      { field: 'family' },
    );
  }
  const classes = Math.max(max + 1, images.classes ?? 0);
  if (classes < 2) {
    throw new ApiError('invalid_input', "A conditional or semi-supervised model needs at least 2 classes; this dataset has 1. Use family 'vae'.", { field: 'family' });
  }
  return classes;
}
