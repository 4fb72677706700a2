import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runConfigSchema, upgradeStoredConfig, type RunConfig } from '@shared/config';
import { splitIndices } from '@shared/random';
import { syntheticImages, useBackend } from '../testing/setup';
import { train } from './loop';
import { modelSpec } from './model-spec';

/**
 * Runs stored before the encoder input existed keep their meaning: a config without the
 * field trains to the losses recorded before it existed (single-thread-losses.json, train()
 * on wasm), bit for bit, as does one that names 'unit'; a centred one trains to other
 * losses (the setting is not a no-op), still finite.
 */
const FIXTURE = JSON.parse(readFileSync(resolve(import.meta.dirname, 'fixtures/single-thread-losses.json'), 'utf8')) as {
  cases: Record<string, Partial<RunConfig>>;
  losses: Record<string, [number, number, number][]>;
};

const labelled = () => ({ ...syntheticImages(40, 8, 8), labels: Int32Array.from({ length: 40 }, (_, i) => i % 3), classes: 3 });
const configOf = (extra: object): RunConfig => runConfigSchema.parse({ hidden: 32, latent: 3, batchSize: 8, epochs: 2, validationFraction: 0.25, ...extra });

/** [step, kind, value] of every loss (kind 0) and val_elbo (kind 1), single-threaded, as the fixture holds them. */
async function losses(config: RunConfig): Promise<[number, number, number][]> {
  const images = labelled();
  const out: [number, number, number][] = [];
  await train({
    config,
    images,
    split: splitIndices(images.count, config.validationFraction, config.seed),
    listener: {
      metrics: (batch) => {
        for (const p of batch) if (p.name === 'loss' || p.name === 'val_elbo') out.push([p.step, p.name === 'loss' ? 0 : 1, p.value]);
      },
      progress: () => {},
      epoch: () => {},
      image: () => {},
      checkpoint: () => {},
    },
    shouldStop: () => false,
    yieldToEventLoop: () => Promise.resolve(),
  });
  return out;
}

beforeAll(async () => {
  await useBackend('wasm');
});

describe('encoder input', () => {
  it('a stored config without it reads as not centred, and its model spec is the one it always was', () => {
    for (const extra of Object.values(FIXTURE.cases)) {
      const config = configOf(extra);
      expect(config.encoderInput).toBeUndefined();
      expect(upgradeStoredConfig(extra)).not.toHaveProperty('encoderInput');
      expect(modelSpec(config, labelled())).not.toHaveProperty('input');
    }
  });

  it('a config without it, and one naming unit, train to the losses recorded before it existed, bit for bit; centred trains to others', async () => {
    for (const [name, extra] of Object.entries(FIXTURE.cases)) {
      expect(await losses(configOf(extra)), name).toEqual(FIXTURE.losses[name]);
    }
    for (const name of ['mlp-vae', 'conv-vae']) {
      const extra = FIXTURE.cases[name]!;
      expect(await losses(configOf({ ...extra, encoderInput: 'unit' })), `${name} unit`).toEqual(FIXTURE.losses[name]);
      const centred = await losses(configOf({ ...extra, encoderInput: 'centred' }));
      expect(centred.map(([step, kind]) => [step, kind]), `${name} centred`).toEqual(FIXTURE.losses[name]!.map(([step, kind]) => [step, kind]));
      expect(centred.every(([, , value]) => Number.isFinite(value))).toBe(true);
      // Every loss differs, the first step's included: the encoder answers otherwise from the same initial weights.
      expect(centred.filter(([, , value], i) => value === FIXTURE.losses[name]![i]![2])).toEqual([]);
    }
  }, 120_000);
});
