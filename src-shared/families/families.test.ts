import { describe, expect, it } from 'vitest';
import { runConfigObject, runConfigSchema } from '../config';
import { convFits, convMisfit, convPlan, convStages } from '../conv';
import { FAMILIES, labelsBlocker, modelFamilies, ownerOf, settingApplies } from './index';

const settings = Object.keys(runConfigObject.shape);
const labelled = { settings: { labels: true }, labels: ['a', 'b'] };

describe('family registry', () => {
  it('names only real settings, each owned by at most one family', () => {
    for (const id of modelFamilies) {
      const f = FAMILIES[id];
      for (const s of [...f.ownSettings, ...f.ignoredSettings, ...(f.exclusiveSettings ?? [])]) expect(settings, `${id}: ${s}`).toContain(s);
      for (const s of f.ownSettings) expect(ownerOf(s)).toBe(id);
    }
  });

  it('applies a family-owned setting only to its family, and the choices decide the rest', () => {
    const base = { architecture: 'mlp', flow: 'none', decoder: 'bernoulli', objective: 'beta', denoise: 'none', lrDecay: 'none' } as const;
    expect(settingApplies('codebookSize', { ...base, family: 'vqvae' })).toBe(true);
    expect(settingApplies('codebookSize', { ...base, family: 'vae' })).toBe(false);
    expect(settingApplies('labelFraction', { ...base, family: 'm2' })).toBe(true);
    expect(settingApplies('beta', { ...base, family: 'vqvae' })).toBe(false);
    // A VQ-VAE reads no objective, so a capacity choice left over does not bring in capacity settings.
    expect(settingApplies('capacityMax', { ...base, family: 'vqvae', objective: 'capacity' })).toBe(false);
    expect(settingApplies('capacityMax', { ...base, family: 'vae', objective: 'capacity' })).toBe(true);
    expect(settingApplies('klWarmupSteps', { ...base, family: 'vae', objective: 'capacity' })).toBe(false);
    expect(settingApplies('gaussianSigma', { ...base, family: 'vae', decoder: 'gaussian' })).toBe(true);
  });

  it('needs two labels for every family that uses them', () => {
    for (const id of modelFamilies) {
      const uses = FAMILIES[id].labels !== 'none';
      expect(labelsBlocker({ family: id }, labelled)).toBeNull();
      expect(labelsBlocker({ family: id }, { settings: { labels: false } }) !== null).toBe(uses);
      expect(labelsBlocker({ family: id }, { settings: { labels: true }, labels: ['a'] }) !== null).toBe(uses);
    }
  });

  it('keeps the family refinements of the schema', () => {
    expect(runConfigSchema.safeParse({ family: 'vae', classifier: 'mlp' }).success).toBe(false);
    expect(runConfigSchema.safeParse({ family: 'm2', objective: 'capacity' }).success).toBe(false);
    expect(runConfigSchema.safeParse({ family: 'm2', classifier: 'conv', architecture: 'mlp' }).success).toBe(false);
    expect(runConfigSchema.safeParse({ family: 'vqvae', flow: 'planar' }).success).toBe(false);
    expect(runConfigSchema.safeParse({ family: 'vqvae', epochs: 5, priorEpochs: 5 }).success).toBe(false);
    expect(runConfigSchema.safeParse({ family: 'vqvae', epochs: 6, priorEpochs: 5 }).success).toBe(true);
  });
});

describe('the conv rule', () => {
  it('takes sides that are multiples of 4 from 8 up, and says why not otherwise', () => {
    expect(convFits({ width: 8, height: 8 })).toBe(true);
    expect(convFits({ width: 28, height: 12 })).toBe(true);
    for (const [width, height] of [[4, 4], [10, 10], [28, 30]] as const) {
      expect(convFits({ width, height })).toBe(false);
      expect(convMisfit({ width, height })).toMatch(new RegExp(`multiple of 4.*${width}×${height}`));
    }
    expect(convMisfit({ width: 16, height: 16 })).toBeNull();
  });

  it('scaled: one stride-2 stage per halving (28 → 2, 32 → 3, 64 → 4, 128 → 5, 256 → 6), any side from 8 px', () => {
    expect([28, 32, 64, 128, 256].map((side) => convStages({ width: side, height: side }))).toEqual([2, 3, 4, 5, 6]);
    // The shorter side decides; odd sides round up stage by stage and the decoder crops back.
    expect(convStages({ width: 100, height: 36 })).toBe(3);
    const medium = { width: 32, resBlocks: 1, norm: 'layer' as const };
    expect(convPlan(medium, { width: 100, height: 36 })).toEqual({ channels: [32, 64, 128], resBlocks: 1, norm: true, grid: [5, 13] });
    expect(convPlan(medium, { width: 256, height: 256 }).channels).toEqual([32, 64, 128, 256, 256, 256]);
    expect(convFits({ width: 30, height: 9 }, medium)).toBe(true);
    expect(convMisfit({ width: 30, height: 6 }, medium)).toMatch(/at least 8×8 px.*30×6/);
    // Classic stays what stored conv runs meant.
    expect(convPlan(null, { width: 28, height: 28 })).toEqual({ channels: [32, 64], resBlocks: 0, norm: false, grid: [7, 7] });
  });
});
