import { createRng, STREAM } from '../engine/random';
import { createGaussianVae } from './gaussian';
import { checkVaeSpec, type Vae, type VaeSpec } from './vae';

/** Validate the spec against the data, then build it with seeded weights. */
export function createVae(spec: VaeSpec, seed: number): Vae {
  checkVaeSpec(spec);
  return createGaussianVae(spec, createRng(seed, STREAM.init));
}
