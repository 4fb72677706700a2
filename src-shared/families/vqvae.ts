import { DEFAULT_CODE_GRID } from '../conv';
import type { InferOp } from '../inference';
import type { FamilyDescriptor } from './descriptor';

const REFUSALS: Partial<Record<InferOp, string>> = {
  traverse: 'Traversals move one dimension of a continuous latent',
  latentMap: 'The latent map plots continuous posterior means',
  interpolate: 'Interpolation follows a path through a continuous latent',
  generateClass: 'Generating a class needs a conditional VAE',
  swapClass: 'Swapping the class needs a conditional VAE',
};

/**
 * VQ-VAE (van den Oord 2017): a grid of discrete codes from a learned codebook (EMA
 * updates, commitment β, dead-code restarts), then an autoregressive prior over the
 * code grid, trained in the run's last priorEpochs epochs, to generate.
 */
export const vqvae: FamilyDescriptor = {
  name: 'VQ-VAE (discrete codes)',
  shortName: 'VQ-VAE',
  description:
    'van den Oord 2017: a grid of codes from an EMA codebook, then an autoregressive prior to sample from. Conv: an 8×8 grid at 32–256 px (classic: size/4); MLP: “latent” positions.',
  labels: 'none',
  engine: 'codes',
  ownSettings: ['codebookSize', 'codeDim', 'commitment', 'codebookDecay', 'priorEpochs', 'codePositions', 'codeGrid'],
  exclusiveSettings: ['codeGrid'],
  // Discrete codes: no Gaussian latent to size, flow, or whose KL to anneal or floor.
  ignoredSettings: ['latent', 'objective', 'beta', 'klWarmupSteps', 'freeBits', 'capacityMax', 'capacitySteps', 'capacityGamma', 'flow', 'flowSteps'],
  answers: ['images', 'samples', 'codes'],
  refusal: (op) =>
    `${REFUSALS[op] ?? `The request ${op} works on a continuous latent`}; this model is a VQ-VAE with a grid of discrete codes (ask for its samples or codes instead).`,
  inpaintBlocker:
    "Inpaint works on continuous latents and does not support a VQ-VAE's code grid yet; its reconstructions, prior samples and codebook usage are on the run page.",
  exploreTab: 'samples',
  legend: { kl: 'code cost', perDim: 'Code cost per position', testBound: 'bound with the code prior' },
  objectiveNote: 'A VQ-VAE has no Gaussian KL: it trains −log p(x|z_q) + β·commitment, and its KL to the prior is −log p(codes).',
  summary: (config) => `VQ-VAE, ${config.codebookSize} codes`,
  runName: (config) => `${config.architecture}-vq${config.codebookSize}`,
  // A new scaled-conv VQ run names its code grid: one stored without it quantised at the last stage.
  stored: (config) =>
    config.architecture === 'conv' && config.convArch !== undefined && config.convArch !== 'classic' ? { ...config, codeGrid: config.codeGrid ?? DEFAULT_CODE_GRID } : config,
  refine(config, refuse) {
    if (config.flow !== 'none') refuse('flow', "family 'vqvae' has discrete codes; a posterior flow applies to Gaussian latents");
    if (config.objective !== 'beta' || config.beta !== 1 || config.klWarmupSteps > 0 || config.freeBits > 0) {
      refuse(
        config.objective !== 'beta' ? 'objective' : config.beta !== 1 ? 'beta' : config.klWarmupSteps > 0 ? 'klWarmupSteps' : 'freeBits',
        "family 'vqvae' trains reconstruction + commitment; β, warm-up, free bits and capacity apply to a Gaussian KL",
      );
    }
    if (config.priorEpochs >= config.epochs) {
      refuse('priorEpochs', `the prior trains in the last priorEpochs of the ${config.epochs} epochs; leave at least one for the autoencoder`);
    }
  },
};
