import type { RunConfig } from '@shared/config';
import type { Rng } from '../engine/random';

/**
 * Denoising input corruption, done on the flat batch before it becomes a tensor so
 * the draws come from a seeded stream (reproducible, resumable) on every backend.
 * Returns a new array; the clean batch stays untouched for the likelihood.
 *   gaussian: x̃ = clip(x + σ·ε, 0, 1)
 *   mask:     each pixel (all its channels together) is set to 0 with probability p
 */
export function corruptBatch(
  batch: Float32Array,
  channels: number,
  config: Pick<RunConfig, 'denoise' | 'denoiseSigma' | 'denoiseMaskProb'>,
  rng: Rng,
): Float32Array {
  const out = Float32Array.from(batch);
  if (config.denoise === 'gaussian') {
    for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, out[i]! + config.denoiseSigma * rng.normal()));
  } else if (config.denoise === 'mask') {
    for (let p = 0; p < out.length; p += channels) {
      if (rng.uniform() < config.denoiseMaskProb) out.fill(0, p, p + channels);
    }
  }
  return out;
}
