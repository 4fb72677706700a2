import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runConfigSchema, type RunConfig } from '@shared/config';
import { wasmBinaryDir } from '../io/wasm-files';
import { syntheticImages, useBackend } from '../testing/setup';
import { DataParallelTrainer } from '../train/data-parallel';
import { createTrainer, type EngineTrainer } from '../train/engine-trainer';
import { iwaeBound, type IwaeControl, type IwaeThreads } from '../train/evaluate';
import { gatherBatch, gatherLabels } from '../train/images';
import { modelSpec } from '../train/model-spec';
import { VaeTrainer } from '../train/trainer';
import { startReplicaThreads, type InferenceReplicas } from './replica-pool';
import { startThreadsWithWeights } from './inference-threads';

/**
 * The test IWAE bound spread over real worker threads (out/main/train-thread.js: `npm
 * run build` first). One thread must give the figures recorded before threads existed
 * (fixtures/single-thread-iwae.json), and any thread count the same figures exactly.
 */
const SCRIPT = process.env['VAE_TRAIN_THREAD_JS'] ?? resolve(import.meta.dirname, '../../out/main/train-thread.js');
const FIXTURE = JSON.parse(readFileSync(resolve(import.meta.dirname, '../train/fixtures/single-thread-iwae.json'), 'utf8')) as Record<
  string,
  { config: Partial<RunConfig>; k: number; indices: number; meanLogLikelihood: number }
>;
const images = { ...syntheticImages(40, 8, 8), labels: Int32Array.from({ length: 40 }, (_, i) => i % 3), classes: 3 };
const wasm = () => ({ backend: 'wasm' as const, ...(wasmBinaryDir() ? { wasmDir: wasmBinaryDir()! } : {}), script: SCRIPT });

/** The fixture's model: five steps from the seed's initial weights, as it was recorded. */
async function fixtureModel(extra: Partial<RunConfig>): Promise<{ config: RunConfig; trainer: EngineTrainer }> {
  const config = runConfigSchema.parse({ hidden: 32, latent: 3, batchSize: 8, seed: 11, ...extra });
  const trainer = createTrainer(config, images);
  const rows = Int32Array.from({ length: 40 }, (_, i) => i);
  for (let s = 0; s < 5; s++) {
    await trainer.step(gatherBatch(images, rows, s * 8, s * 8 + 8), 8, trainer.classes > 0 ? gatherLabels(images, rows, s * 8, s * 8 + 8) : undefined);
  }
  return { config, trainer };
}

/** Inference threads holding `trainer`'s weights, written once. */
const threadsFor = (config: RunConfig, trainer: VaeTrainer, count: number, script = SCRIPT): Promise<InferenceReplicas> =>
  startThreadsWithWeights(trainer, count, { spec: modelSpec(config, images), config }, 'wasm', script);

const control = (extra: Partial<IwaeControl> = {}): IwaeControl => ({ shouldStop: () => false, yieldToEventLoop: () => Promise.resolve(), now: () => performance.now(), ...extra });
const indicesOf = (count: number): Int32Array => Int32Array.from({ length: count }, (_, i) => (i * 7) % 40);

beforeAll(async () => {
  if (!existsSync(SCRIPT)) throw new Error(`${SCRIPT} is missing: run \`npm run build\` first`);
  await useBackend('wasm');
});

describe('the IWAE bound across threads', () => {
  it('one thread gives the bound recorded before threads existed, and two or three threads give it bit for bit', async () => {
    for (const [name, { config: extra, k, indices, meanLogLikelihood }] of Object.entries(FIXTURE)) {
      const { config, trainer } = await fixtureModel(extra);
      try {
        const single = await iwaeBound(trainer, images, indicesOf(indices), config, k, control());
        expect(single!.meanLogLikelihood, name).toBe(meanLogLikelihood);
        for (const count of name === 'mlp-bernoulli' ? [2, 3] : [2]) {
          const threads = await threadsFor(config, trainer as VaeTrainer, count);
          const spread: number[] = [];
          // Which thread computed each batch: every one of them did some.
          const used = new Set<number>();
          const watched: IwaeThreads = {
            count: threads.count,
            logLikelihood: (thread, ...rest) => {
              used.add(thread);
              return threads.logLikelihood(thread, ...rest);
            },
          };
          try {
            const result = await iwaeBound(trainer, images, indicesOf(indices), config, k, control({ threads: watched, progress: (p) => spread.push(p.done) }));
            expect(result!.meanLogLikelihood, `${name} on ${count} threads`).toBe(meanLogLikelihood);
            expect(result!.images).toBe(indices);
            // Progress still counts up to every image, in order.
            expect(spread.at(-1)).toBe(indices);
            expect([...spread].sort((a, b) => a - b)).toEqual(spread);
            if (indices >= 16 * count) expect(used.size, name).toBe(count);
          } finally {
            threads.close();
          }
        }
      } finally {
        trainer.dispose();
      }
    }
  });

  it('at the end of data-parallel training the bound runs on the training replicas, at their weights, with the one-thread figure', async () => {
    const config = runConfigSchema.parse({ hidden: 32, latent: 3, batchSize: 8, seed: 4 });
    const spec = modelSpec(config, images);
    const local = new VaeTrainer(spec, config);
    const trainer = new DataParallelTrainer(local, await startReplicaThreads(2, { spec, config, shapes: local.parameterShapes() }, wasm()));
    try {
      const rows = Int32Array.from({ length: 40 }, (_, i) => i);
      for (let s = 0; s < 3; s++) await trainer.step(gatherBatch(images, rows, s * 8, s * 8 + 8), 8);
      const threads = await trainer.iwaeThreads!();
      expect(threads.count).toBe(2);
      const spread = await iwaeBound(trainer, images, indicesOf(40), config, 9, control({ threads }));
      // The local trainer, brought up to the shared weights, computes it alone.
      const alone = await iwaeBound(trainer, images, indicesOf(40), config, 9, control());
      expect(spread!.meanLogLikelihood).toBe(alone!.meanLogLikelihood);
      expect(Number.isFinite(alone!.meanLogLikelihood)).toBe(true);
    } finally {
      trainer.dispose();
    }
  });

  it('a stop is answered after the batches handed out, with a partial figure over the images read', async () => {
    const { config, trainer } = await fixtureModel({});
    const threads = await threadsFor(config, trainer as VaeTrainer, 2);
    try {
      let checks = 0;
      // k 1000: 2 images per batch, 40 images in 20 batches (6 handed out at a time); stop at the first check.
      const result = await iwaeBound(trainer, images, indicesOf(40), config, 1000, control({ threads, shouldStop: () => ++checks >= 1 }));
      expect(result!.partial).toBe(true);
      expect(result!.images).toBe(12);
      expect(checks).toBe(1);
    } finally {
      threads.close();
      trainer.dispose();
    }
  });

  it('a thread that dies during the bound fails it with the reason, and the pool says it failed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vae-iwae-thread-'));
    const { config, trainer } = await fixtureModel({});
    try {
      const dies = join(dir, 'dies.mjs');
      writeFileSync(dies, "import { parentPort } from 'node:worker_threads';\nparentPort.postMessage({ type: 'ready' });\nparentPort.on('message', () => process.exit(9));\n");
      const threads = await threadsFor(config, trainer as VaeTrainer, 2, dies);
      try {
        await expect(iwaeBound(trainer, images, indicesOf(40), config, 8, control({ threads }))).rejects.toThrow(/thread \d exited \(code 9\)/);
        // A model session asks this before its next request, and runs that one on its own thread.
        expect(threads.failed()?.message).toMatch(/thread \d exited \(code 9\)/);
      } finally {
        threads.close();
      }
    } finally {
      trainer.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
