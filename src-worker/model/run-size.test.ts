import { beforeAll, describe, expect, it } from 'vitest';
import { runConfigSchema, type RunConfigInput } from '@shared/config';
import { activationsPerImage, modelParameterCount, runSizeSpec } from '@shared/model-size';
import { useBackend } from '../testing/setup';
import { VaeTrainer } from '../train/trainer';
import { modelSpec } from '../train/model-spec';
import type { ImageSet } from '../train/images';

/**
 * The parameter count the form shows and the memory check reads (runSizeSpec) is the
 * number of weights the trainer really creates, for every decoder head and family: a
 * logistic mixture's 3·K outputs per sub-pixel, a learned variance, flows, labels, M2's
 * classifier. Before, the mixture's extra output channels were left out.
 */
const IMAGE = { width: 16, height: 16, channels: 3 as const };
const CLASSES = 3;
const images = {
  shape: IMAGE,
  count: CLASSES,
  labels: Int32Array.from({ length: CLASSES }, (_, i) => i),
  classes: CLASSES,
} as unknown as ImageSet;

/** Weights of the trainer a run builds: every parameter tensor of its state (Adam's moments and RNGs left out). */
const trained = async (input: RunConfigInput): Promise<number> => {
  const config = runConfigSchema.parse({ latent: 4, hidden: 16, ...input });
  const t = new VaeTrainer(modelSpec(config, images), config);
  try {
    return (await t.exportState()).tensors.filter((x) => x.name.startsWith('param/')).reduce((n, x) => n + x.values.length, 0);
  } finally {
    t.dispose();
  }
};

const counted = (input: RunConfigInput): number => {
  const config = runConfigSchema.parse({ latent: 4, hidden: 16, ...input });
  return modelParameterCount(runSizeSpec(config, IMAGE, CLASSES).spec);
};

describe('model size of a run: every weight the trainer creates, for every decoder and family', () => {
  beforeAll(() => useBackend('cpu'));

  const cases: [string, RunConfigInput][] = [
    ['mlp, Bernoulli', { architecture: 'mlp' }],
    ['mlp, logistic mixture K=5', { architecture: 'mlp', decoder: 'logistic', mixtureComponents: 5 }],
    ['classic conv, logistic K=1', { architecture: 'conv', convArch: 'classic', decoder: 'logistic' }],
    ['scaled conv, logistic K=3', { architecture: 'conv', convArch: 'medium', decoder: 'logistic', mixtureComponents: 3 }],
    ['gaussian, per-pixel variance', { architecture: 'mlp', decoder: 'gaussian', decoderVariance: 'per-pixel' }],
    ['gaussian, one learned variance', { architecture: 'conv', convArch: 'small', decoder: 'gaussian', decoderVariance: 'global' }],
    ['planar flow', { architecture: 'mlp', flow: 'planar', flowSteps: 3 }],
    ['IAF', { architecture: 'conv', convArch: 'small', flow: 'iaf', flowSteps: 2 }],
    ['conditional VAE, logistic', { architecture: 'mlp', family: 'cvae', decoder: 'logistic', mixtureComponents: 2 }],
    ['M2 with a conv classifier', { architecture: 'conv', convArch: 'small', family: 'm2', classifier: 'conv' }],
  ];
  for (const [name, input] of cases) {
    it(name, async () => {
      expect(counted(input)).toBe(await trained(input));
    });
  }

  it('a mixture head costs its parameters and its output activations in the memory figure', () => {
    const bernoulli = runConfigSchema.parse({ architecture: 'conv', convArch: 'medium' });
    const mixture = runConfigSchema.parse({ architecture: 'conv', convArch: 'medium', decoder: 'logistic', mixtureComponents: 5 });
    const image = { width: 64, height: 64, channels: 3 as const };
    const a = runSizeSpec(bernoulli, image, 0).spec;
    const b = runSizeSpec(mixture, image, 0).spec;
    // 3·K = 15 outputs per sub-pixel instead of 1: the reconstruction alone is 14·D more floats per image.
    expect(activationsPerImage(b) - activationsPerImage(a)).toBe(14 * 64 * 64 * 3);
    expect(modelParameterCount(b)).toBeGreaterThan(modelParameterCount(a));
  });
});

