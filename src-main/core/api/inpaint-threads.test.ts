// Inpainting through the core and the real built worker (`npm run build` first), on a
// model session whose imputation chains spread over worker threads: two runs that train
// the same weights (batches too small to split, so training is one thread for both) and
// differ only in their `threads` setting answer the same seeded imputation with the
// same pictures, and Explore says how many threads each session holds. A conv model on
// 48×48 images with 10 chains: enough work per iteration that Inpaint splits the chains
// (impute/chain.ts chainThreadsFor), and its sample grids and manifold split their codes
// (inference/explore.ts decodeThreadsFor).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeMask, makeMask } from '@shared/pixel-mask';
import { appPaths } from '../../paths';
import type { Core } from '../core';
import { settledFinished, tempDir, testCore, writeImageFolder } from '../testing';

let dir: ReturnType<typeof tempDir>;
let core: Core;
const runs: Record<1 | 2, number> = { 1: 0, 2: 0 };

beforeAll(async () => {
  if (!existsSync(appPaths.workerEntry)) throw new Error(`${appPaths.workerEntry} is missing: run "npm run build" first`);
  dir = tempDir();
  core = testCore(join(dir.path, 'home'), { workerEntry: appPaths.workerEntry, maxConcurrentRuns: 2 });
  await writeImageFolder(join(dir.path, 'shapes'), ['a', 'b'], 12, { size: 48 });
  const project = await core.call('projects.create', { name: 'threads' });
  const dataset = await core.call('datasets.import', { projectId: project.id, folder: join(dir.path, 'shapes'), size: 48, testFraction: 0 });
  const config = { architecture: 'conv', hidden: 16, latent: 2, epochs: 1, batchSize: 16, iwaeSamples: 2, seed: 3 } as const;
  for (const threads of [1, 2] as const) {
    const run = await core.call('runs.create', { projectId: project.id, datasetId: dataset.id, config: { ...config, threads } });
    await settledFinished(core, run.id);
    runs[threads] = run.id;
  }
}, 180_000);
afterAll(async () => {
  await core?.close();
  dir?.cleanup();
});

describe('inpainting on a session with threads', () => {
  it('gives the one-thread imputation on two threads, picture for picture', async () => {
    expect(await core.call('explore.info', { runId: runs[1] })).toMatchObject({ threads: 1 });
    expect(await core.call('explore.info', { runId: runs[2] })).toMatchObject({ threads: 2 });
    const mask = encodeMask(makeMask('top', 48, 48, () => 0.5));
    const frames = [];
    for (const threads of [1, 2] as const) {
      for (const method of ['metropolis', 'pseudo-gibbs'] as const) {
        frames.push(
          await core.call('inpaint.run', { runId: runs[threads], jobId: `t${threads}-${method}`, image: { index: 0 }, mask, method, iterations: 3, samples: 10, seed: 4 }),
        );
      }
    }
    const [oneMetropolis, oneGibbs, twoMetropolis, twoGibbs] = frames.map((frame) => frame);
    for (const [one, two] of [
      [oneMetropolis!, twoMetropolis!],
      [oneGibbs!, twoGibbs!],
    ] as const) {
      expect(two.meanDataUrl).toBe(one.meanDataUrl);
      expect(two.uncertaintyDataUrl).toBe(one.uncertaintyDataUrl);
      expect(two.maxStd).toBe(one.maxStd);
      expect(two.sampleDataUrls).toEqual(one.sampleDataUrls);
      expect(two.sampleDataUrls).toHaveLength(10);
    }
    expect(twoMetropolis!.diagnostic).toEqual(oneMetropolis!.diagnostic);
    expect(twoMetropolis!.meanDataUrl).not.toBe(twoGibbs!.meanDataUrl);
  });
});

describe("Explore's latent map on a session with threads", () => {
  it('encodes on the threads with the one-thread numbers', async () => {
    const one = await core.call('explore.latentMap', { runId: runs[1], max: 20, manifoldSteps: 5 });
    const two = await core.call('explore.latentMap', { runId: runs[2], max: 20, manifoldSteps: 5 });
    expect(two).toEqual(one);
  });

  it('decodes its sample grid and manifold on the threads with the one-thread pictures', async () => {
    // 144 (and 12 × 12) codes of this 48×48 conv model are work enough to split (inference/explore.ts decodeThreadsFor).
    const one = await core.call('explore.samples', { runId: runs[1], count: 144, temperature: 0.9, seed: 5 });
    const two = await core.call('explore.samples', { runId: runs[2], count: 144, temperature: 0.9, seed: 5 });
    expect(two.gridDataUrl).toBe(one.gridDataUrl);
    const mapOne = await core.call('explore.latentMap', { runId: runs[1], max: 10, manifoldSteps: 12 });
    const mapTwo = await core.call('explore.latentMap', { runId: runs[2], max: 10, manifoldSteps: 12 });
    expect(mapTwo.manifold?.gridDataUrl).toBe(mapOne.manifold?.gridDataUrl);
    expect(mapOne.manifold?.steps).toBe(12);
  });
});
