import { createRng, STREAM } from '../engine/random';
import { createConvVae } from './conv';
import { createMlpVae } from './mlp';
import { checkVaeSpec, type Vae, type VaeSpec } from './vae';

/** Validate the spec against the data, then build it with seeded weights. */
export function createVae(spec: VaeSpec, seed: number): Vae {
  checkVaeSpec(spec);
  const rng = createRng(seed, STREAM.init);
  return spec.kind === 'conv' ? createConvVae(spec, rng) : createMlpVae(spec, rng);
}
