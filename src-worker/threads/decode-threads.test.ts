import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runConfigSchema, type RunConfig } from '@shared/config';
import { createRng } from '../engine/random';
import { decodeAll, decodeRows, decodeThreadsFor, manifoldCodes, MIN_DECODE_WORK_PER_THREAD, samples, SAMPLES_STREAM } from '../inference/explore';
import type { InferContext } from '../inference/ops';
import type { LatentThreads, ModelSession } from '../inference/session';
import { activationsPerImage } from '../model/memory';
import { modelSpec } from '../train/model-spec';
import { startThreadsWithWeights } from './inference-threads';
import type { InferenceReplicas } from './replica-pool';
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
const configOf = (c: Case): RunConfig => runConfigSchema.parse({ hidden: 32, latent: 2, batchSize: 8, seed: 11, ...c.config });
async function fixtureModel(c: Case, images: ImageSet): Promise<VaeTrainer> {
  const trainer = createTrainer(configOf(c), images) as VaeTrainer;
  const rows = Int32Array.from({ length: 40 }, (_, i) => i);
  for (let s = 0; s < 5; s++) {
    await trainer.step(gatherBatch(images, rows, s * 8, s * 8 + 8), 8, trainer.classes > 0 ? gatherLabels(images, rows, s * 8, s * 8 + 8) : undefined);
  }
  return trainer;
}

/** Inference threads holding `trainer`'s weights, written once (as a model session starts them). */
const threadsFor = (config: RunConfig, images: ImageSet, trainer: VaeTrainer, count: number): Promise<InferenceReplicas> =>
  startThreadsWithWeights(trainer, count, { spec: modelSpec(config, images), config }, 'wasm', SCRIPT);

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

  it('two and three threads decode them bit for bit, every thread taking its share', async () => {
    for (const [name, c] of Object.entries(CASES)) {
      const images = imagesOf(c);
      const config = configOf(c);
      const trainer = await fixtureModel(c, images);
      const classes = trainer.classes;
      const labelsFor = (n: number): Int32Array | undefined => (classes > 0 ? Int32Array.from({ length: n }, (_, i) => i % classes) : undefined);
      try {
        for (const count of name === 'cvae-8x8' ? [2, 3] : [2]) {
          const pool = await threadsFor(config, images, trainer, count);
          const asked = new Set<number>();
          const watched: LatentThreads = {
            count: pool.count,
            encodeMean: (...a) => pool.encodeMean(...a),
            decodeMean: (thread, ...a) => {
              asked.add(thread);
              return pool.decodeMean(thread, ...a);
            },
          };
          try {
            const samplesCodes = createRng(7, SAMPLES_STREAM).normals(144 * 2, 0.8);
            const threaded = {
              samples: digest(await decodeRows(trainer, samplesCodes, 144, ctx, labelsFor(144), watched, count)),
              manifold: digest(await decodeRows(trainer, manifoldCodes(30), 900, ctx, labelsFor(900), watched, count)),
            };
            expect(threaded, `${name} on ${count} threads`).toEqual({ samples: FIXTURE[name]!.samples, manifold: FIXTURE[name]!.manifold });
            expect([...asked].sort(), `${name}: the threads that decoded`).toEqual(Array.from({ length: count }, (_, i) => i));
          } finally {
            pool.close();
          }
        }
      } finally {
        trainer.dispose();
      }
    }
  });

  it('a thread that dies during a sample grid fails that request with the reason; the session then decodes on its own thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vae-decode-thread-'));
    const c = CASES['conv-16x16']!;
    const images = imagesOf(c);
    const trainer = await fixtureModel(c, images);
    try {
      const dies = join(dir, 'dies.mjs');
      writeFileSync(dies, "import { parentPort } from 'node:worker_threads';\nparentPort.postMessage({ type: 'ready' });\nparentPort.on('message', () => process.exit(9));\n");
      const pool = await startThreadsWithWeights(trainer, 2, { spec: modelSpec(configOf(c), images), config: configOf(c) }, 'wasm', dies);
      // As a model session answers: its threads until one has failed, then none.
      const session = { trainer, images, threads: () => (pool.failed() === null ? pool : null) } as unknown as ModelSession;
      try {
        const request = { op: 'samples', count: 144, temperature: 0.8, seed: 7 } as const;
        await expect(samples(session, request, ctx)).rejects.toThrow(/thread \d exited \(code 9\)/);
        expect(digest((await samples(session, request, ctx)).gridDataUrl)).toBe(FIXTURE['conv-16x16']!.samplesGrid);
      } finally {
        pool.close();
      }
    } finally {
      trainer.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a session splits only where each thread gets work enough; the threads answer its sample grid', async () => {
    const pool = { count: 8 };
    const spec = (size: number, channels: 1 | 3, kind: 'mlp' | 'conv') => ({ kind, image: { width: size, height: size, channels }, latent: 16, hidden: 256 });
    expect(decodeThreadsFor(null, spec(64, 3, 'conv'), 144)).toBe(1);
    expect(decodeThreadsFor(pool, spec(64, 3, 'conv'), 1)).toBe(1);
    for (const [s, rows] of [
      [spec(28, 1, 'mlp'), 144],
      [spec(28, 1, 'conv'), 144],
      [spec(64, 3, 'conv'), 144],
      [spec(64, 3, 'conv'), 16],
    ] as const) {
      expect(decodeThreadsFor(pool, s, rows)).toBe(Math.max(1, Math.min(8, rows, Math.floor((rows * activationsPerImage(s)) / MIN_DECODE_WORK_PER_THREAD))));
    }
    // Through decodeAll: a model whose 144 samples are work enough goes to the session's threads.
    const c: Case = { config: { architecture: 'conv', hidden: 16 }, size: 16, channels: 1 };
    const images = imagesOf(c);
    const trainer = await fixtureModel(c, images);
    const pool2 = await threadsFor(configOf(c), images, trainer, 2);
    let decodes = 0;
    try {
      const session = { trainer, images, threads: () => ({ ...pool2, count: 2, decodeMean: (...a: Parameters<InferenceReplicas['decodeMean']>) => (decodes++, pool2.decodeMean(...a)) }) } as unknown as ModelSession;
      // 144 conv 16×16 codes hold work for two threads at the measured threshold.
      expect(144 * activationsPerImage(trainer.model.spec)).toBeGreaterThanOrEqual(2 * MIN_DECODE_WORK_PER_THREAD);
      const grid = await samples(session, { op: 'samples', count: 144, temperature: 0.8, seed: 7 }, ctx);
      expect(digest(grid.gridDataUrl)).toBe(FIXTURE['conv-16x16']!.samplesGrid);
      expect(decodes).toBe(2);
    } finally {
      pool2.close();
      trainer.dispose();
    }
  });
});
