import { architectureRunName, gaussianRefusal, GAUSSIAN_ANSWERS, GAUSSIAN_LEGEND, type FamilyDescriptor } from './descriptor';

/**
 * Conditional VAE (Sohn 2015) on the dataset's folder labels: q(z|x,y) and p(x|z,y),
 * a one-hot y concatenated to the encoder's features and to z. Every image needs a label.
 */
export const cvae: FamilyDescriptor = {
  name: 'Conditional VAE (labels)',
  shortName: 'conditional VAE',
  description: 'Encoder and decoder see the folder label; Explore can generate a chosen class.',
  labels: 'all',
  engine: 'gaussian',
  ownSettings: [],
  ignoredSettings: [],
  answers: GAUSSIAN_ANSWERS,
  refusal: gaussianRefusal,
  inpaintBlocker: null,
  exploreTab: 'traverse',
  legend: GAUSSIAN_LEGEND,
  latentField: { label: 'Latent size' },
  summary: () => 'conditional',
  runName: architectureRunName,
};
