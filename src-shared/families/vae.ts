import { architectureRunName, gaussianRefusal, GAUSSIAN_ANSWERS, GAUSSIAN_LEGEND, type FamilyDescriptor } from './descriptor';

/** The plain VAE (Kingma & Welling 2014): a Gaussian latent, the labels unused. */
export const vae: FamilyDescriptor = {
  name: 'VAE',
  shortName: 'VAE',
  description: 'Unsupervised: the labels are not used.',
  labels: 'none',
  engine: 'gaussian',
  ownSettings: [],
  ignoredSettings: [],
  answers: GAUSSIAN_ANSWERS,
  refusal: gaussianRefusal,
  inpaintBlocker: null,
  exploreTab: 'traverse',
  legend: GAUSSIAN_LEGEND,
  latentField: { label: 'Latent size' },
  summary: () => null,
  runName: architectureRunName,
};
