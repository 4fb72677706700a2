import { GAUSSIAN_FAMILY, type FamilyDescriptor } from './descriptor';

/**
 * Conditional VAE (Sohn 2015) on the dataset's folder labels: q(z|x,y) and p(x|z,y),
 * a one-hot y concatenated to the encoder's features and to z. Every image needs a label.
 */
export const cvae: FamilyDescriptor = {
  ...GAUSSIAN_FAMILY,
  name: 'Conditional VAE (labels)',
  shortName: 'conditional VAE',
  description: 'Encoder and decoder see the folder label; Explore can generate a chosen class.',
  labels: 'all',
  ownSettings: [],
  ignoredSettings: [],
  summary: () => 'conditional',
};
