import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { runConfigSchema, type RunConfig } from '@shared/config';
import { createRng } from '../engine/random';
import { createImputer } from '../impute/imputer';
import { chainThreadsFor, type ChainThreads } from '../impute/chain';
import { syntheticImages, useBackend } from '../testing/setup';
import { createTrainer } from '../train/engine-trainer';
import { gatherBatch, gatherLabels } from '../train/images';
import { modelSpec } from '../train/model-spec';
import type { VaeTrainer } from '../train/trainer';
import type { InferenceReplicas } from './replica-pool';
import { startThreadsWithWeights } from './inference-threads';

/**
 * Imputation's chains split over real worker threads (out/main/train-thread.js: `npm run
 * build` first). One thread must give the snapshots recorded before threads existed
 * (impute/fixtures/single-thread-chains.json), and two or three threads the same ones bit
 * for bit: every chain's noise is drawn by the coordinator, and the rows come back in order,
 * whether a request carries one iteration or several.
 */
const SCRIPT = process.env['VAE_TRAIN_THREAD_JS'] ?? resolve(import.meta.dirname, '../../out/main/train-thread.js');
const FIXTURE = JSON.parse(readFileSync(resolve(import.meta.dirname, '../impute/fixtures/single-thread-chains.json'), 'utf8')) as Record<
  string,
  { config: Partial<RunConfig>; method: 'pseudo-gibbs' | 'metropolis'; labels: number[] | null; snapshots: string[]; latents: string }
>;
const images = { ...syntheticImages(40, 8, 8), labels: Int32Array.from({ length: 40 }, (_, i) => i % 3), classes: 3 };
const digest = (values: Float32Array | null): string =>
  values === null ? 'null' : createHash('sha256').update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength)).digest('hex').slice(0, 24);

/** The fixture's model: five steps from the seed's initial weights. */
async function fixtureModel(extra: Partial<RunConfig>): Promise<{ config: RunConfig; trainer: VaeTrainer }> {
  const config = runConfigSchema.parse({ hidden: 32, latent: 3, batchSize: 8, seed: 11, ...extra });
  const trainer = createTrainer(config, images) as VaeTrainer;
  const rows = Int32Array.from({ length: 40 }, (_, i) => i);
  for (let s = 0; s < 5; s++) {
    await trainer.step(gatherBatch(images, rows, s * 8, s * 8 + 8), 8, trainer.classes > 0 ? gatherLabels(images, rows, s * 8, s * 8 + 8) : undefined);
  }
  return { config, trainer };
}

const threadsFor = (config: RunConfig, trainer: VaeTrainer, count: number): Promise<InferenceReplicas> =>
  startThreadsWithWeights(trainer, count, { spec: modelSpec(config, images), config }, 'wasm', SCRIPT);

/** Six iterations of the fixture's imputation, each snapshot's digest, and the chains' codes. */
async function impute(trainer: VaeTrainer, method: 'pseudo-gibbs' | 'metropolis', labels: number[] | null, threads: ChainThreads | null): Promise<{ snapshots: string[]; latents: string }> {
  const missing = new Uint8Array(2 * 64);
  for (let i = 0; i < 2 * 64; i++) missing[i] = i % 64 < 40 ? 1 : 0;
  const imputer = createImputer(
    {
      model: trainer.model,
      decoder: trainer.decoder,
      x: gatherBatch(images, Int32Array.from([3, 17]), 0, 2),
      n: 2,
      missing,
      init: new Float32Array(64).fill(0.25),
      ...(labels ? { labels } : {}),
      classifier: trainer.classifier,
    },
    { method, samples: 5, proposals: 8, iterations: 6, rng: createRng(9), threads },
  );
  try {
    const snapshots: string[] = [];
    for (let i = 0; i < 6; i++) {
      await imputer.step();
      const s = await imputer.snapshot();
      snapshots.push([digest(s.mean), digest(s.std), digest(s.samples), digest(s.classProbabilities), String(s.diagnostic?.value ?? null)].join(' '));
    }
    return { snapshots, latents: digest((await imputer.latents()).z) };
  } finally {
    imputer.dispose();
  }
}

beforeAll(async () => {
  if (!existsSync(SCRIPT)) throw new Error(`${SCRIPT} is missing: run \`npm run build\` first`);
  await useBackend('wasm');
});

describe('imputation chains across threads', () => {
  it('one thread gives the snapshots recorded before threads existed; two and three threads give them bit for bit', async () => {
    for (const [name, { config: extra, method, labels, snapshots, latents }] of Object.entries(FIXTURE)) {
      const { config, trainer } = await fixtureModel(extra);
      try {
        expect(await impute(trainer, method, labels, null), name).toEqual({ snapshots, latents });
        for (const count of name === 'm2-metropolis-inferred' ? [2, 3] : [2]) {
          const threads = await threadsFor(config, trainer, count);
          let steps = 0;
          let requests = 0;
          const watched: ChainThreads = {
            count: threads.count,
            openChains: (...a) => threads.openChains(...a),
            stepChains: (...a) => {
              steps += a[2].length;
              requests++;
              return threads.stepChains(...a);
            },
            closeChains: (...a) => threads.closeChains(...a),
          };
          // A clock that stands still: every iteration looks instant, so after the first
          // request the rest of the six go in one (as fast iterations do), deterministically.
          const clock = vi.spyOn(performance, 'now').mockReturnValue(0);
          try {
            expect(await impute(trainer, method, labels, watched), `${name} on ${count} threads`).toEqual({ snapshots, latents });
            // Every iteration went to every thread: the threads did the work, five of the six in one request each.
            expect(steps).toBe(6 * count);
            expect(requests).toBe(2 * count);
          } finally {
            clock.mockRestore();
            threads.close();
          }
        }
      } finally {
        trainer.dispose();
      }
    }
  });
});

describe('closing the threads', () => {
  it('fails a request still out instead of leaving it waiting for ever', async () => {
    const { config, trainer } = await fixtureModel({});
    const threads = await threadsFor(config, trainer, 2);
    try {
      const batch = gatherBatch(images, Int32Array.from({ length: 8 }, (_, i) => i), 0, 8);
      const out = threads.logLikelihood(0, batch, 8, 4, trainer.iwaeNoise(8, 4, createRng(3)));
      threads.close();
      await expect(out).rejects.toThrow(/closed/);
    } finally {
      threads.close();
      trainer.dispose();
    }
  }, 15_000);
});

describe('when Inpaint splits the chains', () => {
  const pool = { count: 8, openChains: () => Promise.resolve(), stepChains: () => Promise.reject(new Error('unused')), closeChains: () => {} } as ChainThreads;
  const spec = (size: number, channels: 1 | 3, kind: 'mlp' | 'conv') => ({ kind, image: { width: size, height: size, channels }, latent: 16, hidden: 256 });

  it('where each thread gets work enough: large conv models, over at most one thread per chain; never an MLP at 28×28', () => {
    expect(chainThreadsFor(pool, spec(28, 1, 'mlp'), 1, 16)).toBeNull();
    expect(chainThreadsFor(pool, spec(28, 1, 'conv'), 1, 16)).toBeNull();
    expect(chainThreadsFor(pool, spec(64, 3, 'conv'), 1, 6)?.count).toBe(2);
    expect(chainThreadsFor(pool, spec(64, 3, 'conv'), 1, 16)?.count).toBe(7);
    expect(chainThreadsFor(pool, spec(64, 3, 'conv'), 40, 4)?.count).toBe(4);
    expect(chainThreadsFor(null, spec(64, 3, 'conv'), 1, 16)).toBeNull();
  });
});
