import { formatShare, GAUSSIAN_FAMILY, type FamilyDescriptor } from './descriptor';

/**
 * Semi-supervised M2 (Kingma et al. 2014): the cVAE's q(z|x,y) and p(x|z,y) plus a
 * classifier q(y|x), trained with only labelFraction of the training labels kept; y is
 * summed out for the others.
 */
export const m2: FamilyDescriptor = {
  ...GAUSSIAN_FAMILY,
  name: 'Semi-supervised M2 (some labels)',
  shortName: 'semi-supervised M2 model',
  description: 'Kingma 2014: a classifier q(y|x) learns from the kept labels and the unlabelled images; test accuracy is reported.',
  labels: 'some',
  ownSettings: ['labelFraction', 'classifierWeight', 'classifier'],
  exclusiveSettings: ['classifier'],
  ignoredSettings: [],
  summary: (config) => `M2, ${formatShare(config.labelFraction)} labels`,
  refine(config, refuse) {
    // M2 sums the ELBO over labels; only β(t) on the KL of z carries over to it.
    if (config.objective !== 'beta' || config.freeBits > 0) {
      refuse(config.objective !== 'beta' ? 'objective' : 'freeBits', "family 'm2' trains the ELBO (β and KL warm-up allowed), not capacity annealing or free bits");
    }
    if (config.classifier === 'conv' && config.architecture !== 'conv') {
      // Its convolutions need the conv model's image sides (multiples of 4).
      refuse('classifier', "a conv classifier comes with architecture 'conv'; use classifier 'mlp'");
    }
  },
  // A stored M2 names its classifier: one stored without predates conv classifiers (an MLP).
  stored: (config) => ({ ...config, classifier: config.classifier ?? 'mlp' }),
};
