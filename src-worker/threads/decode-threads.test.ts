import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runConfigSchema, type RunConfig } from '@shared/config';
import { createRng } from '../engine/random';
import { decodeAll, manifoldCodes, samples, SAMPLES_STREAM } from '../inference/explore';
import type { InferContext } from '../inference/ops';
import type { ModelSession } from '../inference/session';
import { syntheticImages, useBackend } from '../testing/setup';
import { createTrainer } from '../train/engine-trainer';
import { gatherBatch, gatherLabels, type ImageSet } from '../train/images';
import type { VaeTrainer } from '../train/trainer';

/**
 * Explore's sample grids and 2-D manifold: what one thread decoded before the decoding
 * could split over threads (inference/fixtures/single-thread-decodes.json, recorded with
 * RECORD_DECODE_FIXTURE=1 on the code before the change), bit for bit.
 */
const SCRIPT = process.env['VAE_TRAIN_THREAD_JS'] ?? resolve(import.meta.dirname, '../../out/main/train-thread.js');
const FIXTURE_PATH = resolve(import.meta.dirname, '../inference/fixtures/single-thread-decodes.json');
const RECORD = process.env['RECORD_DECODE_FIXTURE'] === '1';

interface Case {
  config: Partial<RunConfig>;
  size: number;
  channels: 1 | 3;
}
const CASES: Record<string, Case> = {
  'mlp-8x8': { config: {}, size: 8, channels: 1 },
  'conv-16x16': { config: { architecture: 'conv', hidden: 16 }, size: 16, channels: 1 },
  'conv-16x16x3-logistic': { config: { architecture: 'conv', hidden: 16, decoder: 'logistic' }, size: 16, channels: 3 },
  'cvae-8x8': { config: { family: 'cvae' }, size: 8, channels: 1 },
};
interface Recorded {
  samples: string;
  samplesGrid: string;
  manifold: string;
}
const FIXTURE = (RECORD ? {} : JSON.parse(readFileSync(FIXTURE_PATH, 'utf8'))) as Record<string, Recorded>;

const digest = (values: Float32Array | string): string =>
  createHash('sha256')
    .update(typeof values === 'string' ? values : new Uint8Array(values.buffer, values.byteOffset, values.byteLength))
    .digest('hex')
    .slice(0, 24);

function imagesOf(c: Case): ImageSet & { labels: Int32Array; classes: number } {
  return { ...syntheticImages(40, c.size, c.size, c.channels), labels: Int32Array.from({ length: 40 }, (_, i) => i % 3), classes: 3 };
}

/** The fixture's model: latent 2 (so it has a manifold), five steps from the seed's initial weights. */
async function fixtureModel(c: Case, images: ImageSet): Promise<VaeTrainer> {
  const config = runConfigSchema.parse({ hidden: 32, latent: 2, batchSize: 8, seed: 11, ...c.config });
  const trainer = createTrainer(config, images) as VaeTrainer;
  const rows = Int32Array.from({ length: 40 }, (_, i) => i);
  for (let s = 0; s < 5; s++) {
    await trainer.step(gatherBatch(images, rows, s * 8, s * 8 + 8), 8, trainer.classes > 0 ? gatherLabels(images, rows, s * 8, s * 8 + 8) : undefined);
  }
  return trainer;
}

const ctx: InferContext = { partial: () => {}, shouldStop: () => false, yieldToEventLoop: () => Promise.resolve() };
const sessionOf = (trainer: VaeTrainer, images: ImageSet): ModelSession => ({ trainer, images, threads: () => null }) as unknown as ModelSession;

/** 144 samples (Explore's most) at temperature 0.8 and a 30 × 30 manifold (its most: four decoder batches). */
async function decodes(session: ModelSession): Promise<Recorded> {
  const classes = session.trainer.classes;
  const labelsFor = (n: number): Int32Array | undefined => (classes > 0 ? Int32Array.from({ length: n }, (_, i) => i % classes) : undefined);
  const codes = createRng(7, SAMPLES_STREAM).normals(144 * 2, 0.8);
  const grid = await samples(session, { op: 'samples', count: 144, temperature: 0.8, seed: 7 }, ctx);
  return {
    samples: digest(await decodeAll(session, codes, 144, ctx, labelsFor(144))),
    samplesGrid: digest(grid.gridDataUrl),
    manifold: digest(await decodeAll(session, manifoldCodes(30), 900, ctx, labelsFor(900))),
  };
}

beforeAll(async () => {
  if (!existsSync(SCRIPT)) throw new Error(`${SCRIPT} is missing: run \`npm run build\` first`);
  await useBackend('wasm');
});

describe("Explore's decoding across threads", () => {
  it('one thread gives the sample grids and manifolds recorded before threads existed', async () => {
    const recorded: Record<string, Recorded> = {};
    for (const [name, c] of Object.entries(CASES)) {
      const images = imagesOf(c);
      const trainer = await fixtureModel(c, images);
      try {
        recorded[name] = await decodes(sessionOf(trainer, images));
        if (!RECORD) expect(recorded[name], name).toEqual(FIXTURE[name]);
      } finally {
        trainer.dispose();
      }
    }
    if (RECORD) writeFileSync(FIXTURE_PATH, `${JSON.stringify(recorded, null, 1)}\n`);
  });
});
