import { GAUSSIAN_FAMILY, type FamilyDescriptor } from './descriptor';

/** The plain VAE (Kingma & Welling 2014): a Gaussian latent, the labels unused. */
export const vae: FamilyDescriptor = {
  ...GAUSSIAN_FAMILY,
  name: 'VAE',
  shortName: 'VAE',
  description: 'Unsupervised: the labels are not used.',
  labels: 'none',
  ownSettings: [],
  ignoredSettings: [],
  summary: () => null,
};
