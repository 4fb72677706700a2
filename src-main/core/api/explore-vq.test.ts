// Explore on a VQ-VAE through the core and the real built worker (`npm run build`
// first): code grids drawn from the learned prior (or uniformly when the run never
// trained it), an image's code grid with resampled continuations, and refusals of the
// continuous-latent pictures naming the op.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appPaths } from '../../paths';
import type { Core } from '../core';
import { pngSize, tempDir, testCore, writeImageFolder } from '../testing';

let dir: ReturnType<typeof tempDir>;
let core: Core;
let vqRun = 0;
let uniformRun = 0;
const K = 8;
const L = 6;

beforeAll(async () => {
  if (!existsSync(appPaths.workerEntry)) throw new Error(`${appPaths.workerEntry} is missing: run "npm run build" first`);
  dir = tempDir();
  core = testCore(join(dir.path, 'home'), { workerEntry: appPaths.workerEntry, maxConcurrentRuns: 2 });
  await writeImageFolder(join(dir.path, 'shapes'), ['a', 'b', 'c'], 20, { size: 8 });
  const project = await core.call('projects.create', { name: 'vq' });
  const dataset = await core.call('datasets.import', { projectId: project.id, folder: join(dir.path, 'shapes'), size: 8, testFraction: 0.2 });
  const config = { architecture: 'mlp', family: 'vqvae', hidden: 16, codePositions: L, batchSize: 16, backend: 'cpu', codebookSize: K, codeDim: 2 } as const;
  const vq = await core.call('runs.create', { projectId: project.id, datasetId: dataset.id, config: { ...config, epochs: 3, priorEpochs: 1 } });
  const uniform = await core.call('runs.create', { projectId: project.id, datasetId: dataset.id, config: { ...config, epochs: 1, priorEpochs: 0 } });
  await Promise.all([core.runs.settled(vq.id), core.runs.settled(uniform.id)]);
  for (const id of [vq.id, uniform.id]) {
    const run = await core.call('runs.get', { runId: id });
    expect(run.status, JSON.stringify(run.error)).toBe('finished');
  }
  vqRun = vq.id;
  uniformRun = uniform.id;
}, 180_000);
afterAll(async () => {
  await core?.close();
  dir?.cleanup();
});

describe('Explore on a VQ-VAE', () => {
  it('opens with its code grid: codebook size, grid shape, whether the prior trained, a code cost per position', async () => {
    const info = await core.call('explore.info', { runId: vqRun });
    expect(info).toMatchObject({ family: 'vqvae', latent: L, classes: 0, vq: { codebookSize: K, grid: [1, L], priorTrained: true } });
    expect(info.klPerDim).toHaveLength(L);
    // −log π(k_i | k_<i) ≥ 0 for each position, and ordered most costly first.
    expect(info.klPerDim.every((c) => c >= 0 && Number.isFinite(c))).toBe(true);
    expect(info.klPerDim[info.dimsByKl[0]!]).toBeGreaterThanOrEqual(info.klPerDim[info.dimsByKl[L - 1]!]!);
    expect((await core.call('explore.info', { runId: uniformRun })).vq).toEqual({ codebookSize: K, grid: [1, L], priorTrained: false });
  });

  it('samples code grids from the learned prior: decoded images that change with the seed', async () => {
    const a = await core.call('explore.samples', { runId: vqRun, count: 9, seed: 1 });
    expect(a).toMatchObject({ count: 9, cols: 3, prior: 'learned' });
    expect(await pngSize(a.gridDataUrl)).toEqual([3 * 10 + 2, 3 * 10 + 2]);
    const again = await core.call('explore.samples', { runId: vqRun, count: 9, seed: 1 });
    expect(again.gridDataUrl).toBe(a.gridDataUrl);
    const b = await core.call('explore.samples', { runId: vqRun, count: 9, seed: 2 });
    expect(b.gridDataUrl).not.toBe(a.gridDataUrl);
  });

  it('at temperature 0 takes the most likely code at each position: every seed gives the same grids', async () => {
    // Exactly the same only at T = 0 (argmax); at T = 0.01 two codes whose logits differ by
    // less than ~0.05 nats may still swap, so that case is checked on a prior with known margins (made.test.ts).
    const a = await core.call('explore.samples', { runId: vqRun, count: 4, seed: 1, temperature: 0 });
    const b = await core.call('explore.samples', { runId: vqRun, count: 4, seed: 99, temperature: 0 });
    expect(b.gridDataUrl).toBe(a.gridDataUrl);
  });

  it('an untrained prior samples uniformly and says so', async () => {
    const a = await core.call('explore.samples', { runId: uniformRun, count: 4, seed: 1 });
    const b = await core.call('explore.samples', { runId: uniformRun, count: 4, seed: 2 });
    expect(a.prior).toBe('uniform');
    expect(b.gridDataUrl).not.toBe(a.gridDataUrl);
  });

  it("reads an image's code grid and resamples the positions from a chosen one, keeping the earlier ones", async () => {
    const { images } = await core.call('explore.images', { runId: vqRun, count: 1 });
    const index = images[0]!.index;
    const result = await core.call('explore.codes', { runId: vqRun, index, from: 2, count: 5, seed: 3 });
    expect(result).toMatchObject({ index, grid: [1, L], codebookSize: K, from: 2, prior: 'learned' });
    expect(result.codes).toHaveLength(L);
    expect(result.codes.every((k) => Number.isInteger(k) && k >= 0 && k < K)).toBe(true);
    expect(result.cost).toHaveLength(L);
    expect(await pngSize(result.reconstructionDataUrl)).toEqual([8, 8]);
    expect(await pngSize(result.imageDataUrl)).toEqual([8, 8]);
    expect(result.variations).toHaveLength(5);
    for (const variation of result.variations) {
      expect(variation).toHaveLength(L);
      expect(variation.slice(0, 2)).toEqual(result.codes.slice(0, 2));
      expect(variation.every((k) => k >= 0 && k < K)).toBe(true);
    }
    expect(await pngSize(result.stripDataUrl)).toEqual([5 * 10 + 2, 10 + 2]);
    // The same request draws the same variations; the codes of the image do not depend on the seed.
    const again = await core.call('explore.codes', { runId: vqRun, index, from: 2, count: 5, seed: 3 });
    expect(again.variations).toEqual(result.variations);
    const other = await core.call('explore.codes', { runId: vqRun, index, from: 0, count: 5, seed: 4 });
    expect(other.codes).toEqual(result.codes);
    await expect(core.call('explore.codes', { runId: vqRun, index, from: L })).rejects.toMatchObject({ code: 'invalid_input', details: { field: 'from' } });
  });

  it('refuses the continuous-latent pictures, naming the op, and inpainting with its own message', async () => {
    const refusal = { code: 'invalid_input', details: { field: 'op' } };
    await expect(core.call('explore.traverse', { runId: vqRun })).rejects.toMatchObject(refusal);
    await expect(core.call('explore.traverse', { runId: vqRun })).rejects.toThrow(/Traversals .* VQ-VAE/);
    await expect(core.call('explore.latentMap', { runId: vqRun })).rejects.toMatchObject(refusal);
    await expect(core.call('explore.interpolate', { runId: vqRun, from: 0, to: 1 })).rejects.toMatchObject(refusal);
    await expect(core.call('inpaint.evaluate', { runId: vqRun, mask: 'top', images: 4, iterations: 2 })).rejects.toThrow(/VQ-VAE: Inpaint works on continuous latents/);
  });

});
